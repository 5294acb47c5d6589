"""Legacy MedCom OIOXML letters (DIS20, DIS17, DIS91, REF01) to FHIR R4."""

from adapters.oioxml.adapter import OioxmlAdapter

__all__ = ["OioxmlAdapter"]
