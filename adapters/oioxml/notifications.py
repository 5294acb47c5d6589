"""DIS20 admission and DIS17 discharge notices (Sygehusadvis) to Patient and Encounter.

* The stay: both notices carry ``Letter/NotificationIdentifier``, the notice
  identifier MedCom maps to the stay's episode-of-care identifier. It is the only
  key the two share (a DIS17 carries the discharge time but not the admission
  time), so the Encounter id is ``resource_id("Encounter", sender org,
  "medcom-notification", NotificationIdentifier)`` and it is mandatory. The
  sending organisation is the authenticated one (the identifier is only unique
  per sender); the identifier is kept as Encounter.identifier under
  ``urn:brobygger:notification-id:<sender SOR code>``.
* DIS20: status ``in-progress``, class inpatient (``IMP``: the notices concern
  admissions, and ``EpisodeOfCareStatusCode`` ``indlagt`` says so), period.start
  from ``Admission``. ``EpisodeOfCareStatusCode`` ``doed`` (died) marks the patient
  deceased and the stay ``finished``.
* DIS17: status ``finished``, period.end from ``Discharge``;
  ``EpisodeOfCareStatusCode`` becomes hospitalization.dischargeDisposition
  (``udskrevet_til_hjemmet`` home, ``udskrevet_til_andet`` other, ``flyttet_til_sygehus``
  and ``flyttet_til_sygehusafd`` another healthcare facility, ``doed`` expired and
  the patient deceased, ``uoplyst`` not stated).
* ``StatusCode`` ``annulleretbrev``: a cancelled admission notice marks the
  Encounter ``entered-in-error``; a cancelled discharge notice puts it back
  ``in-progress`` without an end.
* serviceProvider: the authenticated sending organisation by SOR code, displayed
  with the Sender block's names.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from adapters.oioxml.document import Node
from adapters.oioxml.letter import CANCELLED, LetterContext, Mapped
from adapters.oioxml.parties import organisation_display
from adapters.oioxml.patient import build_patient
from adapters.oioxml.timestamps import read_date_time
from hub.domain.identifiers import SOR_SYSTEM, patient_resource_id, resource_id

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
INPATIENT = {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"}
DIED = "doed"

ADMISSION_STATUSES = ("indlagt", DIED)
# EpisodeOfCareStatusCode of a DIS17 -> discharge-disposition code and display.
DISCHARGE_STATUSES: dict[str, tuple[str, str] | None] = {
    "udskrevet_til_hjemmet": ("home", "Home"),
    "udskrevet_til_andet": ("oth", "Other"),
    "flyttet_til_sygehusafd": ("other-hcf", "Other healthcare facility"),
    "flyttet_til_sygehus": ("other-hcf", "Other healthcare facility"),
    DIED: ("exp", "Expired"),
    "uoplyst": None,
}


def notification_identifier_system(org: str) -> str:
    return f"urn:brobygger:notification-id:{quote(org, safe='')}"


def map_admission(letter: LetterContext) -> Mapped:
    """DIS20 (NotificationOfAdmission, Indlæggelsesadvis)."""
    status_code = _episode_status(letter.node, ADMISSION_STATUSES)
    cancelled = letter.header.status_code == CANCELLED
    died = status_code == DIED and not cancelled
    key, patient = build_patient(letter.node.required("Patient"), letter.sender, deceased=died)
    encounter = _encounter(letter, key)
    encounter["status"] = "entered-in-error" if cancelled else "finished" if died else "in-progress"
    admitted = read_date_time(letter.node.required("Admission"), letter.zone)
    encounter["period"] = {"start": admitted.fhir}
    return Mapped(key, [patient, encounter], _facts(status_code), _partial(patient, encounter))


def map_discharge(letter: LetterContext) -> Mapped:
    """DIS17 (NotificationOfDischarge, Udskrivningsadvis)."""
    status_code = _episode_status(letter.node, tuple(DISCHARGE_STATUSES))
    cancelled = letter.header.status_code == CANCELLED
    died = status_code == DIED and not cancelled
    key, patient = build_patient(letter.node.required("Patient"), letter.sender, deceased=died)
    encounter = _encounter(letter, key)
    discharged = read_date_time(letter.node.required("Discharge"), letter.zone)
    if cancelled:
        encounter["status"] = "in-progress"
    else:
        encounter["status"] = "finished"
        encounter["period"] = {"end": discharged.fhir}
        disposition = DISCHARGE_STATUSES.get(status_code)
        if disposition is not None:
            code, display = disposition
            encounter["hospitalization"] = {
                "dischargeDisposition": {
                    "coding": [{"system": DISCHARGE_DISPOSITION, "code": code, "display": display}],
                    "text": status_code,
                }
            }
    return Mapped(key, [patient, encounter], _facts(status_code), _partial(patient, encounter))


def _encounter(letter: LetterContext, patient_key: str) -> dict[str, Any]:
    notification = letter.node.required("Letter").required_value("NotificationIdentifier")
    org = letter.sender.org
    provider: dict[str, Any] = {"identifier": {"system": SOR_SYSTEM, "value": org}}
    display = organisation_display(letter.node.required("Sender"))
    if display:
        provider["display"] = display
    return {
        "resourceType": "Encounter",
        "id": resource_id("Encounter", org, "medcom-notification", notification),
        "identifier": [{"system": notification_identifier_system(org), "value": notification}],
        "class": INPATIENT,
        "subject": {"reference": f"Patient/{patient_resource_id(patient_key)}"},
        "serviceProvider": provider,
    }


def _partial(*resources: dict[str, Any]) -> frozenset[str]:
    """A notice names the patient and one end of the stay, not all that is known of them:
    a DIS17 does not repeat the admission time, nor either notice the address."""
    return frozenset(f"{r['resourceType']}/{r['id']}" for r in resources)


def _episode_status(letter: Node, allowed: tuple[str, ...]) -> str:
    patient = letter.required("Patient")
    return patient.coded_value("EpisodeOfCareStatusCode", allowed, f"allowed in a {letter.name}")


def _facts(status_code: str) -> dict[str, str]:
    return {"episode_of_care_status": status_code} if status_code else {}
