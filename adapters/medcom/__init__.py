"""MedCom FHIR messages (HospitalNotification, CareCommunication, Acknowledgement) to FHIR R4."""

from adapters.medcom.adapter import MedComAdapter

__all__ = ["MedComAdapter"]
