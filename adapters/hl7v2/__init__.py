"""HL7 v2 ADT (admit A01, discharge A03) to FHIR R4 Patient and Encounter."""

from adapters.hl7v2.adapter import Hl7v2Adapter

__all__ = ["Hl7v2Adapter"]
