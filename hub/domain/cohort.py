"""The "Sammen om min vej" cohort rule: who are the most resource-demanding citizens.

Region Sjælland's project included residents aged 18–70 with either 3 acute admissions
within 6 months or 2 acute admissions within 30 days. The hub applies that rule to the
acute admissions it holds, and flags a patient the moment an admission completes it:
the flag (a FHIR Flag with ``COHORT_MEMBER``) and a proposed rundbordsmøde (a FHIR
Task) are written by the hub, on the bus, like any other message.

Age is read from the CPR number (birth date and the century digit), at the time of the
admission that completes the rule. Thresholds are configuration (``CohortRule``).

The rule is applied to one authoring sector's admissions at a time (see
``hub.services.indicators`` and docs/indicators.md): a flag built from a hospital's and
psychiatry's stays together would tell each of them about the other's stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.domain.consent import MUNICIPALITY_SYSTEM
from hub.domain.identifiers import SOR_SYSTEM, normalise_cpr, resource_id
from hub.domain.pathway_codes import COHORT_MEMBER, ROUND_TABLE
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson

ROUND_TABLE_CODE = ROUND_TABLE.code
"""The rundbordsmøde code (the round-table CarePlan's category, the Appointment's
serviceType, and the hub's proposal Task's code)."""

_DANISH_TIME = ZoneInfo("Europe/Copenhagen")


@dataclass(frozen=True)
class CohortRule:
    """Who belongs to the cohort: an age band and two "acute admissions within" windows."""

    min_age: int = 18
    max_age: int = 70
    admissions_long: int = 3
    window_long_days: int = 183  # six months
    admissions_short: int = 2
    window_short_days: int = 30


@dataclass(frozen=True)
class CohortDecision:
    """A patient meets the rule: when (the admission that completed it) and why."""

    met_at: datetime
    reason: str
    admissions: tuple[datetime, ...]  # the acute admissions that met it, oldest first


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
    cpr: str, acute_admissions: Iterable[datetime], rule: CohortRule
) -> CohortDecision | None:
    """Whether the patient meets ``rule``, judged at the first admission that completes it.

    ``acute_admissions`` are the starts of the patient's acute admissions (any order).
    The patient must be within the age band at that admission.
    """
    born = birth_date(cpr)
    if born is None:
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
                return CohortDecision(
                    met_at=start,
                    reason=(
                        f"{needed} akutte indlæggelser inden for {days} dage "
                        f"(alder {age} år ved den seneste)"
                    ),
                    admissions=tuple(starts[index + 1 - needed : index + 1]),
                )
    return None


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
