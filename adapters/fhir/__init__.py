"""Plain FHIR R4 (a resource, or a transaction, batch or collection Bundle) to the hub's
resources, grouped by patient."""

from adapters.fhir.adapter import FhirAdapter

__all__ = ["FhirAdapter"]
