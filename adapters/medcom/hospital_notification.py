"""HospitalNotification (advis om sygehusophold) to the hub's Patient and Encounter.

* The Encounter is the MessageHeader's focus; the Patient its subject.
* The event comes from MedCom's code table (see ``notifications``).
* Encounter id and identifiers: the stay's episode-of-care identifiers (see
  ``episodes``); MedCom's ``episodeOfCare`` holds a logical reference to an
  EpisodeOfCare the hub does not keep, so the identifiers become
  ``Encounter.identifier``.
* status: as derived; class and period as sent.
* serviceProvider: the hospital, by SOR code (else GLN), as a logical reference.
* Leave periods: MedCom's leave-period extension (``valuePeriod``) becomes an
  ``Encounter.statusHistory`` entry with status ``onleave`` and that period, in
  plain FHIR R4. A leave still open when the stay is finished (discharged or
  deceased while on leave) is closed at the stay's end.
* hospitalization.dischargeDisposition: where the stay's end took the patient.
  MedCom's HospitalNotification carries no discharge disposition of its own; its
  event is the destination. SLHJ (and RE_SLHJ) is "slut, hjem": activity
  ``discharge-inpatient-home`` / ``discharge-emergency-home``, the FHIR code ``home``;
  MORS is the patient's death, ``exp``. Any other notification, a cancelled
  discharge (AN_SLHJ) among them, carries none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.fhirtools import validated
from adapters.medcom.bundle import Entry, MessageBundle
from adapters.medcom.elements import (
    JsonObject,
    items,
    objects,
    optional_object,
    optional_text,
    required_object,
    required_text,
)
from adapters.medcom.episodes import encounter_id, episode_identifiers, stay_identifier
from adapters.medcom.header import Header
from adapters.medcom.notifications import FINISHED, ONLEAVE, Notification, Situation, derive
from adapters.medcom.organisations import logical_reference, sor_code
from adapters.medcom.patient import hub_patient, is_deceased, read_identity
from hub.domain.consent import NOTIFIED_EXTENSION
from hub.domain.identifiers import SOR_SYSTEM, patient_resource_id
from hub.domain.translation import FhirJson, TranslationError

LEAVE_PERIOD_EXTENSION = "leave-period-extension"  # MedCom's URL ends so (and is misspelt)
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
HOME = {"system": DISCHARGE_DISPOSITION, "code": "home", "display": "Home"}
EXPIRED = {"system": DISCHARGE_DISPOSITION, "code": "exp", "display": "Expired"}


@dataclass(frozen=True)
class HospitalNotification:
    patient_key: str
    patient: FhirJson
    encounter: FhirJson
    notification: Notification


def read_hospital_notification(
    bundle: MessageBundle, header: Header, org: str
) -> HospitalNotification:
    encounter = bundle.focus("Encounter", "HospitalNotification")
    patient = bundle.resolve(
        encounter.resource.get("subject"), f"{encounter.path}.subject", "Patient"
    )
    identity = read_identity(patient)
    patient_key = identity.key
    encounter_class = _class(encounter)
    status_where = f"{encounter.path}.status"
    status = required_text(encounter.resource.get("status"), status_where, "Encounter.status")
    period = _period(encounter)
    leaves = _leave_periods(encounter)
    if status == ONLEAVE and not any(leave.get("start") for leave in leaves):
        raise TranslationError(
            "Encounter.status is onleave but the leave-period extension gives no start "
            "(MedCom invariant medcom-hospitalNotification-6)",
            f"{encounter.path}.extension",
        )
    notification = derive(
        Situation(
            activity=header.activity,
            activity_where=f"{header.provenance.path}.activity",
            encounter_class=str(encounter_class.get("code")),
            class_where=f"{encounter.path}.class",
            status=status,
            status_where=status_where,
            deceased=is_deceased(patient),
            deceased_where=f"{patient.path}.deceased",
            revises_earlier=_revises_earlier(header.provenance),
            has_end=bool(period.get("end")),
        )
    )
    identifiers = episode_identifiers(encounter)
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": encounter_id(stay_identifier(identifiers), org),
        "identifier": identifiers,
        "status": notification.status,
        "class": encounter_class,
        "subject": {"reference": f"Patient/{patient_resource_id(patient_key)}"},
        "period": period,
    }
    history = _status_history(leaves, notification.status, period)
    if history:
        resource["statusHistory"] = history
    provider = _service_provider(bundle, encounter)
    if provider is not None:
        resource["serviceProvider"] = provider
    disposition = _discharge_disposition(notification, header.activity)
    if disposition is not None:
        resource["hospitalization"] = {"dischargeDisposition": {"coding": [disposition]}}
    notified = _notified(bundle)
    if notified:
        resource["extension"] = notified
    return HospitalNotification(
        patient_key,
        validated(hub_patient(patient, identity), at=patient.path),
        validated(resource, at=encounter.path),
        notification,
    )


def _notified(bundle: MessageBundle) -> list[dict[str, Any]]:
    """The organisations the hospital addressed this notification to, by SOR code.

    A HospitalNotification goes to the patient's residence municipality; who it was
    addressed to is what entitles that municipality to see the stay's notification
    fields (the consent policy's notification basis).
    """
    notified: list[dict[str, Any]] = []
    destinations = items(bundle.header.resource.get("destination"), "MessageHeader.destination")
    for index, destination in enumerate(destinations):
        where = f"MessageHeader.destination[{index}].receiver"
        if not isinstance(destination, dict) or destination.get("receiver") is None:
            continue
        sor = sor_code(bundle.resolve(destination["receiver"], where, "Organization"))
        extension = {
            "url": NOTIFIED_EXTENSION,
            "valueIdentifier": {"system": SOR_SYSTEM, "value": sor},
        }
        if sor is not None and extension not in notified:
            notified.append(extension)
    return notified


def _discharge_disposition(notification: Notification, activity: str) -> dict[str, str] | None:
    """Where the stay's end took the patient, as the notification's event says."""
    if notification.event == "MORS":
        return dict(EXPIRED)
    if notification.status == FINISHED and activity.endswith("-home"):
        return dict(HOME)  # SLHJ, RE_SLHJ: discharge-{inpatient,emergency}-home
    return None


def _class(encounter: Entry) -> JsonObject:
    where = f"{encounter.path}.class"
    coding = required_object(encounter.resource.get("class"), where, "Encounter.class")
    required_text(coding.get("code"), f"{where}.code", "the Encounter.class code")
    return {key: coding[key] for key in ("system", "code", "display") if key in coding}


def _period(encounter: Entry) -> JsonObject:
    where = f"{encounter.path}.period"
    period = required_object(encounter.resource.get("period"), where, "Encounter.period")
    required_text(period.get("start"), f"{where}.start", "the start of the stay")
    return {key: period[key] for key in ("start", "end") if period.get(key) is not None}


def _leave_periods(encounter: Entry) -> list[JsonObject]:
    where = f"{encounter.path}.extension"
    leaves = []
    for index, extension in objects(encounter.resource.get("extension"), where):
        url = optional_text(extension.get("url"), f"{where}[{index}].url") or ""
        if not url.endswith(LEAVE_PERIOD_EXTENSION):
            continue
        period = required_object(
            extension.get("valuePeriod"), f"{where}[{index}].valuePeriod", "the leave period"
        )
        leaves.append({key: period[key] for key in ("start", "end") if period.get(key) is not None})
    return leaves


def _status_history(
    leaves: list[JsonObject], status: str, period: JsonObject
) -> list[dict[str, Any]]:
    history = []
    for leave in leaves:
        if not leave:
            continue
        leave = dict(leave)
        if status == FINISHED and "end" not in leave and "end" in period:
            leave["end"] = period["end"]
        history.append({"status": ONLEAVE, "period": leave})
    return history


def _revises_earlier(provenance: Entry) -> bool:
    where = f"{provenance.path}.entity"
    return any(
        optional_text(entity.get("role"), f"{where}[{index}].role") == "revision"
        for index, entity in objects(provenance.resource.get("entity"), where)
    )


def _service_provider(bundle: MessageBundle, encounter: Entry) -> dict[str, Any] | None:
    where = f"{encounter.path}.serviceProvider"
    if optional_object(encounter.resource.get("serviceProvider"), where) is None:
        return None
    return logical_reference(
        bundle.resolve(encounter.resource["serviceProvider"], where, "Organization")
    )
