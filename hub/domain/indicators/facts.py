"""Which facts a stored resource version gives.

What counts is decided by ``hub.domain.pathway_codes``: a resource counts while its
status is not ``entered-in-error``, ``cancelled`` or ``revoked``; an Encounter that is
still ``planned`` has not been held. A hospital stay is an Encounter written by a
hospital or psychiatry sender that carries no pathway-event type and is not
ambulatory, virtual, home health or field (classes ``AMB``, ``VR``, ``HH``, ``FLD``).
A stay that has begun and whose ``hospitalization.admitSource`` says the patient came from
a care home or an institution (``CARE_HOME_ADMIT_SOURCES``) is also a care-home admission,
carrying the diagnosis groups of the stay (``diagnosis_groups``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain import pathway_codes as codes
from hub.domain.admission_type import admission_urgency
from hub.domain.cohort import ROUND_TABLE_CODE
from hub.domain.diagnoses import icd10_group
from hub.domain.observation_codes import FOLLOW_UP_SCREENING
from hub.domain.scores import score_of
from hub.domain.sectors import Sector
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

MIN_REPORTED = 5
"""Figures of the all-sector aggregate resting on fewer facts or patients are suppressed
(a controller's own figures never are)."""

NOT_COUNTING = frozenset({"entered-in-error", "cancelled", "revoked"})
"""Statuses with which a resource no longer counts (pathway_codes)."""

ADMITTED = frozenset({"arrived", "triaged", "in-progress", "onleave", "finished"})
"""Encounter statuses of a stay that has begun."""

_NOT_A_STAY = frozenset({"AMB", "VR", "HH", "FLD"})

# --- fact kinds --------------------------------------------------------------------------

OUTREACH_REFERRAL = "outreach-referral"
OUTREACH_CONVERSATION = "outreach-conversation"
OUTREACH_DECLINED = "outreach-declined"
OUTREACH_UNABLE = "outreach-unable"
ADDICTION_REFERRAL = "addiction-referral"
ADDICTION_CONTACT = "addiction-contact"
HOME_CARE_GRANTED = "home-care-granted"
AID_GRANTED = "aid-granted"
SOCIAL_SERVICES = "social-services-offered"
VIRTUAL_MEETING = "virtual-discharge-meeting"
RECEPTION_VISIT = "reception-visit"
READY_FOR_DISCHARGE = "ready-for-discharge"
ROUND_TABLE_HELD = "round-table-held"
ROUND_TABLE_PLAN = "round-table-plan"
ROUND_TABLE_ACTION = "round-table-action"
COHORT_MEMBER = "cohort-member"
HOSPITAL_STAY = "hospital-stay"
CARE_HOME_ADMISSION = "care-home-admission"
KOM_GODT_HJEM_SCREENING = "kom-godt-hjem-screening"
"""A follow-up screening score (``hub.domain.scores``): value the score, related the stay."""
TOBS_SCORE = "tobs-score"
"""A TOBS score (``hub.domain.scores``): value the score, related the stay it names."""

ADMIT_SOURCE_SYSTEM = "http://terminology.hl7.org/CodeSystem/admit-source"
CARE_HOME_ADMIT_SOURCES = frozenset({"nursing"})
"""admit-source codes of a patient admitted from a care home (plejebolig, plejehjem) or a
residential institution (botilbud): HL7's ``nursing``, "From nursing home"."""


_BY_CODE: Mapping[str, str] = {
    codes.OUTREACH_REFERRAL.code: OUTREACH_REFERRAL,
    codes.OUTREACH_CONVERSATION_HELD.code: OUTREACH_CONVERSATION,
    codes.OUTREACH_CONVERSATION_DECLINED.code: OUTREACH_DECLINED,
    codes.OUTREACH_CONVERSATION_UNABLE.code: OUTREACH_UNABLE,
    codes.ADDICTION_CENTRE_REFERRAL.code: ADDICTION_REFERRAL,
    codes.ADDICTION_CENTRE_CONTACT.code: ADDICTION_CONTACT,
    codes.HOME_CARE_GRANTED_SEL83.code: HOME_CARE_GRANTED,
    codes.AID_GRANTED_SEL112.code: AID_GRANTED,
    codes.SOCIAL_SERVICES_OFFERED.code: SOCIAL_SERVICES,
    codes.VIRTUAL_DISCHARGE_MEETING.code: VIRTUAL_MEETING,
    codes.RECEPTION_VISIT.code: RECEPTION_VISIT,
    codes.READY_FOR_DISCHARGE.code: READY_FOR_DISCHARGE,
    codes.ROUND_TABLE_MEETING.code: ROUND_TABLE_HELD,
    codes.COHORT_MEMBER.code: COHORT_MEMBER,
}
"""The fact kind of each pathway-event code."""

# Which element of which resource carries each kind (pathway_codes' table).
_CARRIED_IN: Mapping[str, tuple[str, frozenset[str]]] = {
    "ServiceRequest": (
        "category",
        frozenset(
            {OUTREACH_REFERRAL, ADDICTION_REFERRAL, HOME_CARE_GRANTED, AID_GRANTED, SOCIAL_SERVICES}
        ),
    ),
    "Encounter": (
        "type",
        frozenset(
            {
                OUTREACH_CONVERSATION,
                ADDICTION_CONTACT,
                VIRTUAL_MEETING,
                RECEPTION_VISIT,
                ROUND_TABLE_HELD,
            }
        ),
    ),
    "Task": ("code", frozenset({OUTREACH_DECLINED, OUTREACH_UNABLE})),
    "Flag": ("code", frozenset({READY_FOR_DISCHARGE, COHORT_MEMBER})),
}

KEPT_WHEN_WITHDRAWN = frozenset({COHORT_MEMBER})
"""Kinds kept (with their status) when their resource stops counting: a withdrawn
cohort flag still records that the hub decided once, so it never flags again."""


@dataclass(frozen=True)
class Fact:
    """One countable thing a resource version says."""

    kind: str
    at: datetime | None
    end_at: datetime | None = None
    value: float | None = None  # length of stay in days
    acute: bool = False
    planned: bool = False
    status: str | None = None
    related: str | None = None  # a round-table action's CarePlan; a flag's reason; diagnoses


@dataclass(frozen=True)
class FactRow:
    """A stored fact with the patient, author and residence it belongs to."""

    kind: str
    resource: str  # "Type/id"
    patient_key: str
    sector: str  # the author's sector and organisation
    org: str
    kommune: str | None
    at: datetime | None
    end_at: datetime | None = None
    value: float | None = None
    acute: bool = False
    planned: bool = False
    status: str | None = None
    related: str | None = None
    controller: str = ""  # the author's data controller (hub.domain.controllers)


# --- deriving facts from a resource -------------------------------------------------------


def derive_facts(resource: FhirJson, sector: str, *, was_planned: bool = False) -> list[Fact]:
    """The facts one stored resource version gives (none when it does not count).

    ``was_planned`` says an earlier version of this Encounter was a planned stay:
    a planned admission stays planned once the patient has arrived.
    """
    kind = str(resource.get("resourceType"))
    status = _str(resource.get("status"))
    withdrawn = status in NOT_COUNTING
    facts = [
        fact
        for fact in _coded_facts(kind, resource, status)
        if not withdrawn or fact.kind in KEPT_WHEN_WITHDRAWN
    ]
    if withdrawn:
        return facts
    if kind == "Encounter" and not _pathway_codes(resource.get("type")):
        stay = _hospital_stay(resource, sector, status, was_planned)
        if stay is not None:
            facts.append(stay)
            if stay.status in ADMITTED and _from_care_home(resource):
                groups = ",".join(diagnosis_groups(resource)) or None
                facts.append(
                    Fact(
                        CARE_HOME_ADMISSION,
                        stay.at,
                        stay.end_at,
                        acute=stay.acute,
                        planned=stay.planned,
                        status=status,
                        related=groups,
                    )
                )
        visit = outpatient_visit(resource, sector, status)
        if visit is not None:
            facts.append(visit)
    elif (
        kind == "Appointment"
        and status == "fulfilled"
        and _has_code(resource.get("serviceType"), ROUND_TABLE_CODE)
    ):
        facts.append(
            Fact(ROUND_TABLE_HELD, fhir_instant(_str(resource.get("start"))), status=status)
        )
    elif kind == "CarePlan" and _has_code(resource.get("category"), ROUND_TABLE_CODE):
        facts.append(Fact(ROUND_TABLE_PLAN, _period_start(resource.get("period")), status=status))
    elif kind == "Task":
        action = _round_table_action(resource, status)
        if action is not None:
            facts.append(action)
    elif kind == "Observation":
        score = score_of(resource)
        if score is not None:
            scored = KOM_GODT_HJEM_SCREENING if score.code == FOLLOW_UP_SCREENING else TOBS_SCORE
            facts.append(
                Fact(
                    scored,
                    score.observed_at,
                    value=score.value,
                    status=status,
                    related=score.encounter,
                )
            )
    return facts


def _coded_facts(kind: str, resource: FhirJson, status: str | None) -> list[Fact]:
    carried = _CARRIED_IN.get(kind)
    if carried is None:
        return []
    element, kinds = carried
    value = resource.get(element)
    found = [
        _BY_CODE[code]
        for code in _pathway_codes(value)
        if code in _BY_CODE and _BY_CODE[code] in kinds
    ]
    if kind == "Encounter" and status == "planned":
        return []  # not held yet
    facts: list[Fact] = []
    for fact_kind in dict.fromkeys(found):
        at, end_at = _when(kind, resource)
        related = None
        if fact_kind == COHORT_MEMBER:
            related = _str((resource.get("code") or {}).get("text"))
        facts.append(Fact(fact_kind, at, end_at, status=status, related=related))
    return facts


def _when(kind: str, resource: FhirJson) -> tuple[datetime | None, datetime | None]:
    if kind == "ServiceRequest":
        at = fhir_instant(_str(resource.get("authoredOn"))) or _period_start(
            resource.get("occurrencePeriod")
        )
        return at or fhir_instant(_str(resource.get("occurrenceDateTime"))), None
    if kind == "Task":
        period = resource.get("executionPeriod") or {}
        at = (
            fhir_instant(_str(period.get("end")))
            or fhir_instant(_str(period.get("start")))
            or fhir_instant(_str(resource.get("authoredOn")))
            or fhir_instant(_str(resource.get("lastModified")))
        )
        return at, None
    period = resource.get("period") or {}
    return fhir_instant(_str(period.get("start"))), fhir_instant(_str(period.get("end")))


def _hospital_stay(
    resource: FhirJson, sector: str, status: str | None, was_planned: bool
) -> Fact | None:
    if sector not in (Sector.HOSPITAL.value, Sector.PSYCHIATRY.value):
        return None
    klass = _str((resource.get("class") or {}).get("code"))
    if klass in _NOT_A_STAY:
        return None
    period = resource.get("period") or {}
    start = fhir_instant(_str(period.get("start")))
    end = fhir_instant(_str(period.get("end"))) if status == "finished" else None
    # Acute or planned from class, priority and admission type together (admission_type).
    urgency = admission_urgency(resource, was_planned=was_planned)
    acute, planned = urgency.acute, urgency.planned
    length = (end - start).total_seconds() / 86_400 if start and end and end >= start else None
    return Fact(
        HOSPITAL_STAY,
        start,
        end,
        length,
        acute=acute,
        planned=planned,
        status=status,
        related=drg_code(resource),
    )


def _from_care_home(resource: FhirJson) -> bool:
    source = (resource.get("hospitalization") or {}).get("admitSource")
    codings = (source or {}).get("coding") or [] if isinstance(source, dict) else []
    return any(
        isinstance(coding, dict)
        and coding.get("code") in CARE_HOME_ADMIT_SOURCES
        and coding.get("system") in (None, ADMIT_SOURCE_SYSTEM)
        for coding in codings
    )


def diagnosis_groups(resource: FhirJson) -> list[str]:
    """The ICD-10 groups (letter and two digits: ``J44``) of an Encounter's diagnoses,
    sorted: its ``reasonCode`` and the Conditions its ``diagnosis`` references among its
    ``contained`` resources, coded in ICD-10 or SKS (``DJ441`` is ``J44``)."""
    concepts: list[Any] = list(resource.get("reasonCode") or [])
    contained = {
        f"#{c.get('id')}": c for c in resource.get("contained") or [] if isinstance(c, dict)
    }
    for diagnosis in resource.get("diagnosis") or []:
        reference = ((diagnosis or {}).get("condition") or {}).get("reference")
        condition = contained.get(reference) if isinstance(reference, str) else None
        if condition is not None and condition.get("resourceType") == "Condition":
            concepts.append(condition.get("code"))
    groups: set[str] = set()
    for concept in concepts:
        for coding in (concept or {}).get("coding") or [] if isinstance(concept, dict) else []:
            group = icd10_group(coding)
            if group:
                groups.add(group)
    return sorted(groups)


def _round_table_action(resource: FhirJson, status: str | None) -> Fact | None:
    plans = [
        reference
        for based_on in resource.get("basedOn") or []
        if isinstance(reference := based_on.get("reference"), str)
        and reference.startswith("CarePlan/")
    ]
    if not plans:
        return None
    due = due_instant(_str(((resource.get("restriction") or {}).get("period") or {}).get("end")))
    return Fact(ROUND_TABLE_ACTION, due, status=status, related=plans[0])


def due_instant(value: str | None) -> datetime | None:
    """When something due at ``value`` becomes overdue: a date is due all that (Danish) day."""
    if not value:
        return None
    if "T" in value:
        return fhir_instant(value)
    instant = fhir_instant(value)
    if instant is None or len(value) != 10:
        return instant
    day = instant.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=DANISH_TIME).astimezone(UTC)


def _pathway_codes(value: Any) -> list[str]:
    return _codes(value, system=codes.PATHWAY_EVENTS)


def _has_code(value: Any, code: str) -> bool:
    return code in _pathway_codes(value)


def _codes(value: Any, *, system: str | None = None) -> list[str]:
    """The codes in ``value``'s CodeableConcept(s), only those of ``system`` if named."""
    concepts = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [
        str(coding["code"])
        for concept in concepts
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if (system is None or coding.get("system") == system) and coding.get("code")
    ]


def _period_start(period: Any) -> datetime | None:
    return fhir_instant(_str(period.get("start"))) if isinstance(period, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- what a stay and a visit cost (hub.domain.costs) ---------------------------------------

OUTPATIENT_VISIT = "outpatient-visit"
"""An ambulatory Encounter (class ``AMB``) a hospital or psychiatry sender held."""

DRG_EXTENSION = "urn:brobygger:extension:drg"
"""The extension of an Encounter naming the DRG group (DkDRG) the stay was grouped to:
``valueCoding.code`` (or ``valueCode``/``valueString``), e.g. ``04MA98``. Kept as the
stay fact's ``related``."""


def drg_code(resource: FhirJson) -> str | None:
    """The DRG group an Encounter carries (``DRG_EXTENSION``), if any."""
    for extension in resource.get("extension") or []:
        if not isinstance(extension, dict) or extension.get("url") != DRG_EXTENSION:
            continue
        coding = extension.get("valueCoding")
        value = coding.get("code") if isinstance(coding, dict) else None
        value = value or extension.get("valueCode") or extension.get("valueString")
        if isinstance(value, str) and value.strip():
            return value.strip().upper()[:40]
    return None


def outpatient_visit(resource: FhirJson, sector: str, status: str | None) -> Fact | None:
    """The outpatient visit an ambulatory hospital or psychiatry Encounter was, once held."""
    if sector not in (Sector.HOSPITAL.value, Sector.PSYCHIATRY.value):
        return None
    if _str((resource.get("class") or {}).get("code")) != "AMB" or status not in ADMITTED:
        return None
    start, end = _when("Encounter", resource)
    return Fact(OUTPATIENT_VISIT, start, end, status=status)
