"""Scores on the pathway: what an Observation's score says, as pure rules.

Hospitals send two scores (``hub.domain.observation_codes``): the "Kom godt hjem"
follow-up screening and TOBS. A score counts while its Observation is ``final``,
``amended`` or ``corrected`` and carries a number (``valueQuantity.value``); a
preliminary, registered, cancelled or entered-in-error one does not. A corrected
result replaces the version it corrects (same id), so it is always the newest word.

* **Kom godt hjem eligibility.** The domain's frailest patients have a follow-up
  screening score *over* the threshold (``HUB_KOM_GODT_HJEM_SCORE``, default 31). The
  latest screening during a stay decides for that stay: one that names the stay
  (``encounter``), or one that names no stay and was observed between its start and its
  end (or since its start while it is open). A screening naming another stay belongs to
  that one.
* **TOBS alert level** (``HUB_ALERT_TOBS_SCORE``, default 3, ``hub.domain.alerts``): a
  TOBS score at or over it calls for home nursing to look at the patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.domain.observation_codes import FOLLOW_UP_SCREENING, OBSERVATIONS, TOBS, ObservationCode
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

KOM_GODT_HJEM_SCORE = 31
"""The default threshold: a follow-up screening score over it makes a stay "Kom godt hjem"."""

TOBS_ALERT_SCORE = 3
"""The default TOBS level at or over which home nursing is alerted."""

COUNTING_STATUSES = frozenset({"final", "amended", "corrected"})
"""Observation statuses with which a score counts."""


@dataclass(frozen=True)
class Score:
    """One counting score of an Observation."""

    code: ObservationCode
    value: float
    observed_at: datetime | None  # effectiveDateTime
    encounter: str | None  # "Encounter/<id>" the Observation names, if any


def score_of(observation: FhirJson) -> Score | None:
    """The score an Observation gives, or None when it gives none that counts."""
    if observation.get("resourceType") != "Observation":
        return None
    if observation.get("status") not in COUNTING_STATUSES:
        return None
    code = observation_code(observation)
    quantity = observation.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if code is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    observed = _instant(observation.get("effectiveDateTime"))
    return Score(code, float(value), observed, _encounter(observation))


def observation_code(observation: FhirJson) -> ObservationCode | None:
    """Which of the hub's scores an Observation is, by its code in the hub's CodeSystem."""
    concept = observation.get("code")
    for coding in concept.get("coding") or [] if isinstance(concept, dict) else []:
        if not isinstance(coding, dict) or coding.get("system") != OBSERVATIONS:
            continue
        if coding.get("code") == FOLLOW_UP_SCREENING.code:
            return FOLLOW_UP_SCREENING
        if coding.get("code") == TOBS.code:
            return TOBS
    return None


def kom_godt_hjem_eligible(score: float, threshold: float = KOM_GODT_HJEM_SCORE) -> bool:
    """Whether a follow-up screening score makes the stay "Kom godt hjem" (over the threshold)."""
    return score > threshold


def tobs_alerts(score: float, level: float = TOBS_ALERT_SCORE) -> bool:
    """Whether a TOBS score calls for an alert (at or over the level)."""
    return score >= level


@dataclass(frozen=True)
class Screening:
    """A follow-up screening score and where it belongs, whatever it was read from."""

    value: float
    observed_at: datetime | None
    encounter: str | None
    source: str  # "Observation/<id>"


def screening_during(
    stay: str,
    start: datetime | None,
    end: datetime | None,
    screenings: Iterable[Screening],
) -> Screening | None:
    """The latest screening of the stay ``stay`` ("Encounter/<id>"), which decides for it.

    One naming the stay belongs to it; one naming no stay belongs to it when observed
    within [start, end] (from start on while ``end`` is None); one naming another stay
    does not.
    """
    during: list[Screening] = []
    for screening in screenings:
        if screening.encounter is not None:
            if screening.encounter == stay:
                during.append(screening)
            continue
        at = screening.observed_at
        if at is None or start is None or at < start or (end is not None and at > end):
            continue
        during.append(screening)
    return max(
        during,
        key=lambda s: (s.observed_at is not None, s.observed_at or start or _EPOCH, s.source),
        default=None,
    )


def _encounter(observation: FhirJson) -> str | None:
    reference = (observation.get("encounter") or {}).get("reference")
    if isinstance(reference, str) and reference.startswith("Encounter/"):
        return reference
    return None


def _instant(value: Any) -> datetime | None:
    try:
        return fhir_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None


_EPOCH = datetime.fromisoformat("0001-01-02T00:00:00+00:00")
