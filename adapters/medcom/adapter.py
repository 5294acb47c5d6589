"""The MedCom adapter: MedCom FHIR messages (JSON or XML) in, validated hub resources out."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.medcom.acknowledgement import read_acknowledgement
from adapters.medcom.bundle import MessageBundle
from adapters.medcom.care_communication import read_care_communication
from adapters.medcom.header import (
    ACKNOWLEDGEMENT,
    CARE_COMMUNICATION,
    HOSPITAL_NOTIFICATION,
    Header,
    read_header,
)
from adapters.medcom.hospital_notification import read_hospital_notification
from adapters.medcom.payload import read_bundle
from hub.domain.identifiers import message_key
from hub.domain.translation import (
    FhirJson,
    Sender,
    Translation,
    refusing_the_unexpected,
)


class MedComAdapter:
    """Translate one MedCom FHIR message: HospitalNotification, CareCommunication or
    Acknowledgement, in FHIR JSON or FHIR XML. Each message yields one Translation."""

    format: str = "medcom"

    def translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        """Translate a payload, accepting or refusing it whole."""
        with refusing_the_unexpected("MedCom"):
            return [self._translate(raw, sender)]

    def _translate(self, raw: bytes, sender: Sender) -> Translation:
        bundle = MessageBundle(read_bundle(raw))
        header = read_header(bundle)
        if header.event == HOSPITAL_NOTIFICATION:
            notification = read_hospital_notification(bundle, header, sender.org)
            event = notification.notification.event
            facts = {"event": event, "activity": header.activity}
            if notification.notification.status_sent != notification.notification.status:
                facts["encounter_status_sent"] = notification.notification.status_sent
            return _translation(
                bundle,
                header,
                patient_key=notification.patient_key,
                event=event,
                resources=[notification.patient, notification.encounter],
                facts=facts,
            )
        if header.event == CARE_COMMUNICATION:
            correspondence = read_care_communication(bundle, header, sender)
            return _translation(
                bundle,
                header,
                patient_key=correspondence.patient_key,
                event="care-communication",
                resources=[correspondence.communication],
                facts=correspondence.facts,
            )
        assert header.event == ACKNOWLEDGEMENT
        acknowledgement = read_acknowledgement(bundle, header, sender)
        return _translation(
            bundle,
            header,
            patient_key=message_key(acknowledgement.acknowledged),
            event="acknowledgement",
            resources=acknowledgement.resources,
            facts={
                "event": "acknowledgement",
                "code": acknowledgement.code,
                "acknowledges": acknowledgement.acknowledged,
            },
        )


def _translation(
    bundle: MessageBundle,
    header: Header,
    *,
    patient_key: str,
    event: str,
    resources: Sequence[FhirJson],
    facts: dict[str, str],
) -> Translation:
    return Translation(
        patient_key=patient_key,
        resources=list(resources),
        event=event,
        source_id=bundle.header_id,
        facts=facts,
        occurred_at=header.occurred_at,
        occurred_at_where=header.occurred_at_where,
        declared_sender=header.declared_sender,
    )
