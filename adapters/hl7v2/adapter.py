"""The HL7 v2 adapter: ADT bytes in, validated FHIR Patient and Encounter out; ORU^R01
result messages in, Observations out (see ``observations``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.fhirtools import validated
from adapters.hl7v2.encounter import build_encounter
from adapters.hl7v2.events import read_event
from adapters.hl7v2.header import PROCESSING_IDS, Header, read_header
from adapters.hl7v2.link import build_link
from adapters.hl7v2.message import V2Message
from adapters.hl7v2.observations import read_observations
from adapters.hl7v2.parsing import parse_payload
from adapters.hl7v2.patient import build_patient
from hub.domain.translation import (
    FhirJson,
    Sender,
    Translation,
    TranslationError,
    refusing_the_unexpected,
)


class Hl7v2Adapter:
    """Translate HL7 v2 ADT and ORU^R01 messages (one, or a batch) into FHIR R4 resources.

    Each ADT message yields one Translation holding its Patient, then its Encounter
    (A04 and A08 may carry the Patient only, see ``encounter``; A40 and A47 carry the
    replacement number's Patient record linking it to a CPR number, see ``link``); an
    ORU^R01 one holding
    its Observations.
    ``local_timezone`` (an IANA zone name) is the zone of v2 times sent without a
    UTC offset; ``processing_ids`` the MSH-11 processing ids accepted (HL7 table
    0103: ``P`` production, ``T`` training, ``D`` debugging).
    """

    format: str = "hl7v2"

    def __init__(
        self,
        local_timezone: str = "Europe/Copenhagen",
        processing_ids: frozenset[str] = frozenset({"P"}),
    ) -> None:
        try:
            self._zone = ZoneInfo(local_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {local_timezone!r}") from exc
        ids = frozenset(code.upper() for code in processing_ids)
        if not ids or not ids <= PROCESSING_IDS.keys():
            raise ValueError(
                "processing ids must be a non-empty set of P (production), T (training) "
                f"and D (debugging); got {sorted(processing_ids)}"
            )
        self._processing_ids = ids

    def translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        """Translate a payload, accepting or refusing it whole."""
        with refusing_the_unexpected("HL7 v2"):
            return self._translate(raw, sender)

    def _translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        payload = parse_payload(raw)
        total = len(payload.messages)
        translations = []
        for position, message in enumerate(payload.messages, start=1):
            try:
                translations.append(self._message(message, sender))
            except TranslationError as exc:
                if not payload.is_batch:
                    raise
                control_id = message.msh.value(10)
                label = f" (MSH-10 {control_id!r})" if control_id else ""
                raise TranslationError(
                    f"message {position} of {total} in the batch{label}: {exc.what}; "
                    "the whole batch is refused",
                    exc.where,
                ) from exc
        return translations

    def _message(self, message: V2Message, sender: Sender) -> Translation:
        header = read_header(message, self._processing_ids, self._zone)
        if message.msh.value(9, 1).upper() == "ORU":
            return self._results(message, sender, header)
        event = read_event(message)
        if event.links:
            patient_key, patient = build_link(message, sender, self._zone)
        else:
            patient_key, patient = build_patient(message, sender, self._zone)
        encounter = (
            None
            if event.links
            else build_encounter(
                message, event, sender, patient_key, str(patient["id"]), self._zone
            )
        )
        resources: list[FhirJson] = [validated(patient, round_trip=False)]
        if encounter is not None:
            resources.append(validated(encounter, round_trip=False))
        return Translation(
            patient_key=patient_key,
            resources=resources,
            event=f"ADT^{event.trigger}",
            source_id=header.source_id,
            facts={"trigger": event.trigger, "version": header.version},
            occurred_at=header.occurred_at,
            occurred_at_where=header.occurred_at_where,
            declared_sender=header.declared_sender,
        )

    def _results(self, message: V2Message, sender: Sender, header: Header) -> Translation:
        patient_key, observations = read_observations(message, sender, self._zone)
        return Translation(
            patient_key=patient_key,
            resources=[validated(observation, round_trip=False) for observation in observations],
            event="ORU^R01",
            source_id=header.source_id,
            facts={"trigger": "R01", "version": header.version},
            occurred_at=header.occurred_at,
            occurred_at_where=header.occurred_at_where,
            declared_sender=header.declared_sender,
        )
