"""The "Sammen om min vej" cohort rule: who are the most resource-demanding citizens.

Region Sjælland's project included residents (of Lolland and Guldborgsund) aged 18–70
with physical, mental, substance or social problems and either 3 acute admissions
within 6 months or 2 acute admissions within 30 days. The hub applies that rule to the
acute admissions it holds, and flags a patient the moment an admission completes it:
the flag (a FHIR Flag with ``COHORT_MEMBER``) and a proposed rundbordsmøde (a FHIR
Task) are written by the hub, on the bus, like any other message.

The criteria (``CohortRule``, all configuration):

* **age**: read from the CPR number (birth date and the century digit), at the time
  of the admission that completes the rule;
* **residence**: the residence municipality an authoritative source gave
  (``Policy.authoritative_sectors``) is one of ``residences``; an empty set accepts any
  residence, a set accepts no unknown one;
* **acute admissions**: the two windows;
* **problem types** (physical, mental, substance, social; ``problem_types``): read
  from what the hub holds, and at least ``min_problem_types`` of them are required
  (default 0: the admissions rule alone, with the problem types known reported).

The Flag states which criteria were met and what the hub found, machine-readably, in
the extension ``COHORT_CRITERIA_EXTENSION`` (see ``criteria_extension``).

The rule is applied to one authoring sector's admissions at a time (see
``hub.services.indicators`` and docs/indicators.md): a flag built from a hospital's and
psychiatry's stays together would tell each of them about the other's stays. The
same holds for the problem types: only the flagging sector's own (same controller,
same sector) records are read for them, so a hospital's flag never says "mental"
because psychiatry or a kommune knows so.

It is over 400 lines because the rule, the problem types it reads and the Flag that
states its criteria are one decision, and splitting them would scatter that decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.domain.consent import MUNICIPALITY_SYSTEM
from hub.domain.diagnoses import icd10_code
from hub.domain.identifiers import SOR_SYSTEM, normalise_cpr, resource_id
from hub.domain.pathway_codes import (
    ADDICTION_CENTRE_CONTACT,
    ADDICTION_CENTRE_REFERRAL,
    COHORT_MEMBER,
    OUTREACH_CONVERSATION_HELD,
    OUTREACH_REFERRAL,
    PATHWAY_EVENTS,
    ROUND_TABLE,
    PathwayCode,
)
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson

ROUND_TABLE_CODE = ROUND_TABLE.code
"""The rundbordsmøde code (the round-table CarePlan's category, the Appointment's
serviceType, and the hub's proposal Task's code)."""

_DANISH_TIME = ZoneInfo("Europe/Copenhagen")


# --- problem types ----------------------------------------------------------------------

PROBLEM_TYPES = "urn:brobygger:codesystem:problem-type"
"""The hub's CodeSystem of the cohort's problem types (canonical URL)."""

PHYSICAL = PathwayCode(PROBLEM_TYPES, "fysisk", "Fysiske problemer")
MENTAL = PathwayCode(PROBLEM_TYPES, "psykisk", "Psykiske problemer")
SUBSTANCE = PathwayCode(PROBLEM_TYPES, "rusmiddel", "Rusmiddelproblemer")
SOCIAL = PathwayCode(PROBLEM_TYPES, "social", "Sociale problemer")
PROBLEM_TYPE_CODES: tuple[PathwayCode, ...] = (PHYSICAL, MENTAL, SUBSTANCE, SOCIAL)
PROBLEM_TYPE_BY_CODE: Mapping[str, PathwayCode] = {c.code: c for c in PROBLEM_TYPE_CODES}

_SUBSTANCE_EVENTS = frozenset(
    code.code
    for code in (
        OUTREACH_REFERRAL,
        OUTREACH_CONVERSATION_HELD,
        ADDICTION_CENTRE_REFERRAL,
        ADDICTION_CENTRE_CONTACT,
    )
)
"""Pathway events that say the patient has a substance problem: referred to or seen by
the outreach counsellor, referred to or in contact with the addiction centre."""

_CODED_ELEMENTS = ("code", "category", "type", "reasonCode", "valueCodeableConcept")
_WITHDRAWN = frozenset({"entered-in-error", "cancelled", "revoked", "inactive", "refuted"})


def icd10_problem_type(code: str) -> PathwayCode | None:
    """The problem type an ICD-10 diagnosis code gives (``F10.2``, ``DF102``, ``J44``).

    F10–F19 (mental and behavioural disorders due to psychoactive substance use) are
    substance problems, the rest of chapter V (F) mental ones; Z55–Z65 (problems
    related to education, work, housing, economy, social environment …) social ones.
    The rest of chapter XXI (Z: contact with health services for other reasons, such
    as an examination) says no problem; every other diagnosis is a physical one.
    """
    normalised = code.strip().upper().replace(".", "")
    if len(normalised) < 3 or not normalised[0].isalpha() or not normalised[1:3].isdigit():
        return None
    letter, number = normalised[0], int(normalised[1:3])
    if letter == "F":
        return SUBSTANCE if 10 <= number <= 19 else MENTAL
    if letter == "Z":
        return SOCIAL if 55 <= number <= 65 else None
    return PHYSICAL


def problem_types(resource: FhirJson, sector: str) -> frozenset[str]:
    """The problem types (codes of ``PROBLEM_TYPES``) one stored resource tells of.

    * a diagnosis: an ICD-10 or SKS diagnosis code (``icd10_problem_type``) in the
      resource's ``code``, ``category``, ``type``, ``reasonCode`` or
      ``valueCodeableConcept`` — an Encounter's or a referral's reason, a Condition;
    * a front-line worker's judgement: a ``PROBLEM_TYPES`` coding in the same
      elements, e.g. a Flag whose ``code`` is ``rusmiddel`` (see docs/indicators.md);
    * psychiatry's contact: any Encounter psychiatry wrote that has begun is a mental
      problem;
    * substance use: a referral to or a conversation with the outreach counsellor, a
      referral to or contact with the addiction centre.

    A resource that no longer counts (withdrawn, refuted, an inactive Flag) or an
    Encounter not yet held tells of none.
    """
    status = resource.get("status")
    verification = _codes_of(resource.get("verificationStatus"))
    if status in _WITHDRAWN or any(code in _WITHDRAWN for _, code in verification):
        return frozenset()
    kind = resource.get("resourceType")
    if kind == "Encounter" and status == "planned":
        return frozenset()
    found: set[str] = set()
    if kind == "Encounter" and sector == Sector.PSYCHIATRY.value:
        found.add(MENTAL.code)
    for element in _CODED_ELEMENTS:
        for system, code in _codes_of(resource.get(element)):
            if system == PROBLEM_TYPES and code in PROBLEM_TYPE_BY_CODE:
                found.add(code)
            elif system == PATHWAY_EVENTS and code in _SUBSTANCE_EVENTS:
                found.add(SUBSTANCE.code)
            elif (diagnosis := icd10_code(system, code)) is not None:
                problem = icd10_problem_type(diagnosis)
                if problem is not None:
                    found.add(problem.code)
    return frozenset(found)


def _codes_of(value: object) -> Iterator[tuple[str, str]]:
    """(system, code) of every coding in a CodeableConcept or a list of them."""
    concepts = value if isinstance(value, list) else [value]
    for concept in concepts:
        if not isinstance(concept, dict):
            continue
        for coding in concept.get("coding") or ():
            if isinstance(coding, dict):
                system, code = coding.get("system"), coding.get("code")
                if isinstance(system, str) and isinstance(code, str):
                    yield system, code


# --- the rule -----------------------------------------------------------------------------

CRITERIA = "urn:brobygger:codesystem:cohort-criterion"
"""The hub's CodeSystem of the cohort rule's criteria (canonical URL)."""

AGE = PathwayCode(CRITERIA, "alder", "Alder")
RESIDENCE = PathwayCode(CRITERIA, "bopael", "Bopælskommune")
ADMISSIONS = PathwayCode(CRITERIA, "akutte-indlaeggelser", "Akutte indlæggelser")
PROBLEMS = PathwayCode(CRITERIA, "problemtyper", "Problemtyper")

COHORT_CRITERIA_EXTENSION = "urn:brobygger:extension:cohort-criteria"
"""The Flag's extension saying which criteria were met and what the hub found."""


@dataclass(frozen=True)
class CohortRule:
    """Who belongs to the cohort: an age band, a residence, two "acute admissions
    within" windows and how many problem types."""

    min_age: int = 18
    max_age: int = 70
    admissions_long: int = 3
    window_long_days: int = 183  # six months
    admissions_short: int = 2
    window_short_days: int = 30
    residences: frozenset[str] = field(default_factory=frozenset)  # 3-digit kommune codes
    min_problem_types: int = 0


@dataclass(frozen=True)
class CohortDecision:
    """A patient meets the rule: when (the admission that completed it) and why."""

    met_at: datetime
    reason: str
    admissions: tuple[datetime, ...]  # the acute admissions that met it, oldest first
    age: int | None = None
    kommune: str | None = None  # the residence, when an authoritative source gave it
    problem_types: tuple[str, ...] = ()  # codes of PROBLEM_TYPES, in PROBLEM_TYPE_CODES order
    criteria: tuple[str, ...] = ()  # codes of CRITERIA met, in the rule's order
    window_days: int | None = None  # the window of the admissions rule that was met


def birth_date(cpr: str) -> date | None:
    """The birth date a CPR number gives (DDMMYY, century from the 7th digit).

    The century digit rule of the CPR office: 0–3 → 1900s; 4 and 9 → 2000s for
    years 00–36, else 1900s; 5–8 → 2000s for years 00–57, else 1800s.
    """
    normalised = normalise_cpr(cpr)
    if normalised is None:
        return None
    day, month, year = int(normalised[0:2]), int(normalised[2:4]), int(normalised[4:6])
    digit = int(normalised[6])
    if digit <= 3:
        century = 1900
    elif digit in (4, 9):
        century = 2000 if year <= 36 else 1900
    else:
        century = 2000 if year <= 57 else 1800
    try:
        return date(century + year, month, day)
    except ValueError:  # 29 February of a year that had none
        return None


def age_at(born: date, on: date) -> int:
    """Whole years of age on ``on``."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def evaluate(
    cpr: str,
    acute_admissions: Iterable[datetime],
    rule: CohortRule,
    *,
    kommune: str | None = None,
    problems: Iterable[str] = (),
) -> CohortDecision | None:
    """Whether the patient meets ``rule``, judged at the first admission that completes it.

    ``acute_admissions`` are the starts of the patient's acute admissions (any order).
    The patient must be within the age band at that admission. ``kommune`` is the
    residence an authoritative source gave (None: unknown), ``problems`` the problem
    types known from the same sector's records.
    """
    born = birth_date(cpr)
    if born is None:
        return None
    if rule.residences and (kommune is None or kommune.zfill(3) not in rule.residences):
        return None
    known = tuple(c.code for c in PROBLEM_TYPE_CODES if c.code in set(problems))
    if len(known) < rule.min_problem_types:
        return None
    starts = sorted(set(acute_admissions))
    windows = (
        (rule.admissions_short, rule.window_short_days),
        (rule.admissions_long, rule.window_long_days),
    )
    for index, start in enumerate(starts):
        age = age_at(born, start.astimezone(_DANISH_TIME).date())
        if not rule.min_age <= age <= rule.max_age:
            continue
        for needed, days in windows:
            if needed < 1 or index + 1 < needed:
                continue
            first = starts[index + 1 - needed]
            if start - first <= timedelta(days=days):
                criteria = [AGE.code, ADMISSIONS.code]
                if rule.residences:
                    criteria.insert(1, RESIDENCE.code)
                if rule.min_problem_types > 0:
                    criteria.append(PROBLEMS.code)
                return CohortDecision(
                    met_at=start,
                    reason=_reason(needed, days, age, kommune, known),
                    admissions=tuple(starts[index + 1 - needed : index + 1]),
                    age=age,
                    kommune=kommune,
                    problem_types=known,
                    criteria=tuple(criteria),
                    window_days=days,
                )
    return None


def _reason(needed: int, days: int, age: int, kommune: str | None, known: Sequence[str]) -> str:
    reason = f"{needed} akutte indlæggelser inden for {days} dage (alder {age} år ved den seneste)"
    if kommune:
        reason += f"; bopæl kommune {kommune}"
    if known:
        names = ", ".join(PROBLEM_TYPE_BY_CODE[code].display.lower() for code in known)
        reason += f"; problemtyper: {names}"
    return reason


def criteria_extension(decision: CohortDecision) -> FhirJson:
    """The Flag's ``COHORT_CRITERIA_EXTENSION``: one ``met`` per criterion met (a
    ``CRITERIA`` coding; residence and problem types only when the rule asks for them),
    then what was found: ``age`` (years), ``residence`` (kommune code, when known),
    ``admissions`` (how many acute admissions) within ``windowDays`` (the rule's window)
    and one ``problemType`` (a ``PROBLEM_TYPES`` coding) per problem type known."""
    by_code = {c.code: c for c in (AGE, RESIDENCE, ADMISSIONS, PROBLEMS)}
    parts: list[FhirJson] = [
        {"url": "met", "valueCoding": by_code[code].coding()} for code in decision.criteria
    ]
    if decision.age is not None:
        parts.append({"url": "age", "valueInteger": decision.age})
    if decision.kommune:
        parts.append({"url": "residence", "valueString": decision.kommune})
    parts.append({"url": "admissions", "valueInteger": len(decision.admissions)})
    if decision.window_days is not None:
        parts.append({"url": "windowDays", "valueInteger": decision.window_days})
    parts.extend(
        {"url": "problemType", "valueCoding": PROBLEM_TYPE_BY_CODE[code].coding()}
        for code in decision.problem_types
    )
    return {"url": COHORT_CRITERIA_EXTENSION, "extension": parts}


def criteria_of(flag: FhirJson) -> tuple[list[str], list[str]]:
    """The criteria met and the problem types a cohort Flag states (codes)."""
    met: list[str] = []
    problems: list[str] = []
    for extension in flag.get("extension") or ():
        if not isinstance(extension, dict) or extension.get("url") != COHORT_CRITERIA_EXTENSION:
            continue
        for part in extension.get("extension") or ():
            coding = part.get("valueCoding") if isinstance(part, dict) else None
            code = coding.get("code") if isinstance(coding, dict) else None
            if not isinstance(code, str):
                continue
            if part.get("url") == "met":
                met.append(code)
            elif part.get("url") == "problemType":
                problems.append(code)
    return met, problems


def cohort_flag_id(patient_key: str, sector: str) -> str:
    """The hub id of the patient's cohort Flag from one sector's admissions."""
    return resource_id("Flag", "brobygger", COHORT_MEMBER.code, sector, patient_key)


def cohort_resources(
    *,
    patient_id: str,
    patient_key: str,
    sector: str,
    decision: CohortDecision,
    involved_orgs: Sequence[str],
    kommune: str | None,
) -> list[FhirJson]:
    """The Flag marking the cohort member and the Task proposing a rundbordsmøde.

    Both are built only from the decision, so writing them again gives the same
    content: a replay finds nothing new to store. The Task is addressed
    (``restriction.recipient``) to the organisations whose admissions met the rule
    and, when known, the residence municipality (by its DK Core code, so it reaches the
    kommune's inbox), unless the admissions were psychiatry's: the kommune is not told
    of those, so it is only named.
    """
    flag_id = cohort_flag_id(patient_key, sector)
    met = decision.met_at.isoformat()
    subject = {"reference": f"Patient/{patient_id}"}
    flag: FhirJson = {
        "resourceType": "Flag",
        "id": flag_id,
        "status": "active",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/flag-category",
                        "code": "admin",
                        "display": "Administrative",
                    }
                ]
            }
        ],
        "extension": [criteria_extension(decision)],
        "code": {"coding": [COHORT_MEMBER.coding()], "text": decision.reason},
        "subject": subject,
        "period": {"start": met},
    }
    recipients: list[FhirJson] = [
        {"identifier": {"system": SOR_SYSTEM, "value": org}} for org in involved_orgs
    ]
    if kommune and sector == Sector.PSYCHIATRY.value:
        # Named, not addressed: psychiatry's admissions are no notification to the
        # kommune, and a proposal addressed to it would tell of them.
        recipients.append({"display": f"Kommune {kommune}"})
    elif kommune:
        recipients.append(
            {
                "identifier": {"system": MUNICIPALITY_SYSTEM, "value": kommune.zfill(4)},
                "display": f"Kommune {kommune}",
            }
        )
    task: FhirJson = {
        "resourceType": "Task",
        "id": resource_id("Task", "brobygger", ROUND_TABLE_CODE, sector, patient_key),
        "status": "requested",
        "intent": "proposal",
        "code": {"coding": [ROUND_TABLE.coding()]},
        "description": f"Rundbordsmøde foreslået: {decision.reason}",
        "focus": {"reference": f"Flag/{flag_id}"},
        "for": subject,
        "authoredOn": met,
    }
    if recipients:
        task["restriction"] = {"recipient": recipients}
    return [flag, task]
