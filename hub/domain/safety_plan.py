"""The sikkerhedsplan (safety plan) of a self-harming young person, as FHIR: pure rules.

A safety plan is written at (or right after) a rundbordsmøde with the young person and
the parents, before discharge. It sits beside the meeting's generic plan
(``hub.domain.round_table``) as a second CarePlan of the same meeting, written like
every resource of the meeting as the convener's (the same authorship, the same
consent: no other disclosure path).

**Shape.** A ``CarePlan`` with

* ``identifier`` ``SAFETY_PLAN_SYSTEM`` | the meeting's key (one safety plan per
  meeting; recording it again is a new version of the same resource);
* ``category`` the pathway code ``sikkerhedsplan`` (``hub.domain.pathway_codes``) —
  and not ``rundbordsmoede``, so it is neither counted nor filed as the meeting's
  generic plan;
* ``ROUND_TABLE_EXTENSION`` pointing at the meeting's Appointment, ``author`` the
  tovholder, ``title`` "Sikkerhedsplan";
* one ``activity`` per entry, with the entry inline in ``activity.detail``:
  ``detail.code`` names its section (CodeSystem ``SECTION_SYSTEM``: ``advarselstegn``
  warning signs, ``mestring`` coping steps, ``personer-og-steder`` people and places
  that help or distract, ``fagpersoner`` professional contacts), ``detail.description``
  the entry's text and ``detail.status`` ``not-started``. A review date is an activity
  of section ``opfoelgning`` with ``detail.scheduledPeriod.start`` the date and status
  ``scheduled``.

Entries keep the order they were written in. Review dates may not lie before today
(Danish time) when the plan is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS, SAFETY_PLAN
from hub.domain.round_table import (
    MAX_GOALS,
    RoundTableError,
    bounded,
    hub_id,
    meeting_extension,
    patient_reference,
)
from hub.domain.translation import FhirJson

SAFETY_PLAN_SYSTEM = "urn:brobygger:round-table-safety-plan"
SECTION_SYSTEM = "urn:brobygger:codesystem:safety-plan-section"

WARNING_SIGNS = "advarselstegn"
COPING = "mestring"
PEOPLE_AND_PLACES = "personer-og-steder"
CONTACTS = "fagpersoner"
REVIEW = "opfoelgning"

SECTIONS: tuple[tuple[str, str], ...] = (
    (WARNING_SIGNS, "Advarselstegn"),
    (COPING, "Det kan jeg selv gøre"),
    (PEOPLE_AND_PLACES, "Personer og steder, der hjælper eller afleder"),
    (CONTACTS, "Fagpersoner jeg kan kontakte"),
)
"""The text sections in the order they are shown, with their Danish headings."""

SECTION_TITLES = {**dict(SECTIONS), REVIEW: "Opfølgning"}
MAX_ENTRIES = MAX_GOALS  # per section
MAX_REVIEWS = 10
_DANISH_TIME = ZoneInfo("Europe/Copenhagen")


@dataclass(frozen=True)
class SafetyPlan:
    """A safety plan: its entries by section, the tovholder and the review dates."""

    meeting_key: str
    warning_signs: tuple[str, ...]
    coping: tuple[str, ...]
    people_and_places: tuple[str, ...]
    contacts: tuple[str, ...]
    tovholder: str  # SOR code
    reviews: tuple[str, ...]  # ISO 8601 dates, earliest first
    tovholder_name: str | None = None

    def sections(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """(section code, entries) for the text sections, in ``SECTIONS`` order."""
        return (
            (WARNING_SIGNS, self.warning_signs),
            (COPING, self.coping),
            (PEOPLE_AND_PLACES, self.people_and_places),
            (CONTACTS, self.contacts),
        )


def new_safety_plan(
    meeting_key: str,
    *,
    warning_signs: Sequence[str],
    coping: Sequence[str],
    people_and_places: Sequence[str],
    contacts: Sequence[str],
    tovholder: str,
    reviews: Sequence[str],
    now: datetime,
    tovholder_name: str | None = None,
) -> SafetyPlan:
    """A checked safety plan: blank entries dropped, texts bounded, warning signs and
    coping steps and at least one review date required, no review date before today."""
    checked = {
        code: _entries(entries, title)
        for (code, title), entries in zip(
            SECTIONS, (warning_signs, coping, people_and_places, contacts), strict=True
        )
    }
    if not checked[WARNING_SIGNS] or not checked[COPING]:
        raise RoundTableError(
            "a safety plan needs at least one warning sign and one coping step",
            "safety-plan-incomplete",
        )
    if not tovholder.strip():
        raise RoundTableError("a safety plan needs a tovholder", "tovholder-missing")
    return SafetyPlan(
        meeting_key=meeting_key,
        warning_signs=checked[WARNING_SIGNS],
        coping=checked[COPING],
        people_and_places=checked[PEOPLE_AND_PLACES],
        contacts=checked[CONTACTS],
        tovholder=tovholder.strip(),
        reviews=checked_reviews(reviews, now),
        tovholder_name=tovholder_name,
    )


def _entries(entries: Sequence[str], title: str) -> tuple[str, ...]:
    kept = tuple(bounded(e, f"an entry of {title!r}") for e in entries if e.strip())
    if len(kept) > MAX_ENTRIES:
        raise RoundTableError(
            f"a section of a safety plan may have at most {MAX_ENTRIES} entries",
            "safety-plan-too-large",
        )
    return kept


def checked_reviews(reviews: Sequence[str], now: datetime) -> tuple[str, ...]:
    """Review dates as ISO dates, earliest first, each once: at least one, none before
    today in Danish time (``now`` from the hub's clock)."""
    days: set[date] = set()
    for value in reviews:
        if not value.strip():
            continue
        try:
            days.add(date.fromisoformat(value.strip()))
        except ValueError:
            raise RoundTableError(
                f"review date {value!r} is not an ISO 8601 date", "bad-review-date"
            ) from None
    if not days:
        raise RoundTableError("a safety plan needs a review date", "review-date-missing")
    if len(days) > MAX_REVIEWS:
        raise RoundTableError(
            f"a safety plan may have at most {MAX_REVIEWS} review dates", "safety-plan-too-large"
        )
    today = now.astimezone(_DANISH_TIME).date()
    past = sorted(d for d in days if d < today)
    if past:
        raise RoundTableError(
            f"review date {past[0].isoformat()} is in the past", "review-date-in-past"
        )
    return tuple(d.isoformat() for d in sorted(days))


# --- FHIR ------------------------------------------------------------------------------


def safety_plan_id(convener_org: str, meeting_key: str) -> str:
    return hub_id("CarePlan", convener_org, SAFETY_PLAN_SYSTEM, meeting_key)


def is_safety_plan(content: Mapping[str, Any]) -> bool:
    """Whether a CarePlan is a safety plan (``category`` ``sikkerhedsplan``)."""
    return any(
        coding.get("system") == PATHWAY_EVENTS and coding.get("code") == SAFETY_PLAN.code
        for concept in content.get("category") or []
        for coding in concept.get("coding") or []
    )


def safety_care_plan(plan: SafetyPlan, cpr: str, created: str) -> FhirJson:
    """The safety plan as the CarePlan the convener writes."""
    activities: list[FhirJson] = [
        _activity(code, {"status": "not-started", "description": entry})
        for code, entries in plan.sections()
        for entry in entries
    ]
    activities += [
        _activity(REVIEW, {"status": "scheduled", "scheduledPeriod": {"start": day}})
        for day in plan.reviews
    ]
    author = {
        "identifier": {"system": SOR_SYSTEM, "value": plan.tovholder},
        "display": plan.tovholder_name or f"SOR {plan.tovholder}",
    }
    return {
        "resourceType": "CarePlan",
        "identifier": [{"system": SAFETY_PLAN_SYSTEM, "value": plan.meeting_key}],
        "extension": [meeting_extension(plan.meeting_key)],
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [SAFETY_PLAN.coding()]}],
        "title": "Sikkerhedsplan",
        "subject": patient_reference(cpr),
        "created": created,
        "author": author,
        "activity": activities,
    }


def _activity(code: str, detail: FhirJson) -> FhirJson:
    concept = {"coding": [{"system": SECTION_SYSTEM, "code": code}], "text": SECTION_TITLES[code]}
    return {"detail": {"code": concept, **detail}}


def safety_plan_of(content: Mapping[str, Any], meeting_key: str = "") -> SafetyPlan:
    """The safety plan a stored CarePlan describes (entries of unknown sections skipped)."""
    entries: dict[str, list[str]] = {code: [] for code in SECTION_TITLES}
    for activity in content.get("activity") or []:
        detail = activity.get("detail") or {}
        code = next(
            (
                str(c.get("code"))
                for c in (detail.get("code") or {}).get("coding") or []
                if c.get("system") == SECTION_SYSTEM
            ),
            None,
        )
        if code == REVIEW:
            day = (detail.get("scheduledPeriod") or {}).get("start")
            if day:
                entries[REVIEW].append(str(day))
        elif code in entries and detail.get("description"):
            entries[code].append(str(detail["description"]))
    author = content.get("author") or {}
    identifier = author.get("identifier") or {}
    org = str(identifier.get("value") or "") if identifier.get("system") == SOR_SYSTEM else ""
    name = author.get("display")
    return SafetyPlan(
        meeting_key=meeting_key,
        warning_signs=tuple(entries[WARNING_SIGNS]),
        coping=tuple(entries[COPING]),
        people_and_places=tuple(entries[PEOPLE_AND_PLACES]),
        contacts=tuple(entries[CONTACTS]),
        tovholder=org,
        reviews=tuple(entries[REVIEW]),
        tovholder_name=None if name == f"SOR {org}" else name,
    )
