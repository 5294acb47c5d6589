"""FHIR helpers shared by the adapters: R4B validation and safe FHIR XML reading."""

from adapters.fhirtools.validation import validated
from adapters.fhirtools.xml import read_fhir_xml

__all__ = ["read_fhir_xml", "validated"]
