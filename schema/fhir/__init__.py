"""The FHIR R4 REST interface: one module per concept (capabilities, search, bundles,
read and history, $everything, OperationOutcomes, formats, SMART scopes)."""

from schema.fhir.app import create_fhir_app, smart_configuration_endpoint
from schema.fhir.scopes import RefusingSmartScopes

__all__ = ["RefusingSmartScopes", "create_fhir_app", "smart_configuration_endpoint"]
