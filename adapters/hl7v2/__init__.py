"""HL7 v2 ADT (A01, A02, A03, A04, A05, A08, A11, A13) to FHIR R4 Patient and Encounter."""

from adapters.hl7v2.adapter import Hl7v2Adapter

__all__ = ["Hl7v2Adapter"]
