"""Alerts: pathway facts that call for someone to act, as pure rules.

Four alerts, each computed from the derived facts (``hub.domain.indicators``) and the
current time, so the same function answers the ``alerts`` query and feeds the alert
scanner (``hub.runtime.alert_scanner``), which delivers each alert once through the pathway
event subscriptions:

* **Reception visit missing** — a "Kom godt hjem" patient (a virtual discharge meeting
  was held during the stay) was discharged more than ``reception_visit_hours`` ago and
  no reception visit after the discharge has been reported. Discharges older than
  ``reception_lookback_days`` are no longer raised.
* **Færdigbehandlet, still waiting** — a færdigbehandlet Flag that is still active and
  open, declared more than ``ready_for_discharge_days`` ago.
* **Round-table action overdue** — a Task based on a rundbordsmøde CarePlan whose due
  date (``restriction.period.end``) has passed and that is not completed, cancelled,
  failed, rejected or entered in error.
* **TOBS high** — a TOBS score (``hub.domain.scores``) at or over ``tobs_score``
  (HUB_ALERT_TOBS_SCORE, default 3: the domain text names no level, and 3 is where the
  TOBS scheme first asks for more frequent observation and a nurse's assessment),
  written by a hospital or psychiatry sender, observed within ``reception_lookback_days``.
  Raised once per Observation: it is due at the observation time, so a corrected
  version with the same time (a lower score, or a higher one) raises nothing new, and a
  score first sent under the level and corrected to one at or over it raises it then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.domain.indicators import (
    HOSPITAL_STAY,
    READY_FOR_DISCHARGE,
    RECEPTION_VISIT,
    ROUND_TABLE_ACTION,
    ROUND_TABLE_PLAN,
    TOBS_SCORE,
    VIRTUAL_MEETING,
    FactRow,
)
from hub.domain.scores import TOBS_ALERT_SCORE, tobs_alerts
from hub.domain.sectors import Sector
from hub.domain.summaries import danish_time, score_text

RECEPTION_VISIT_MISSING = "reception-visit-missing"
READY_FOR_DISCHARGE_WAITING = "faerdigbehandlet-waiting"
ROUND_TABLE_ACTION_OVERDUE = "round-table-action-overdue"
TOBS_HIGH = "tobs-high"
ALERT_KINDS = (
    RECEPTION_VISIT_MISSING,
    READY_FOR_DISCHARGE_WAITING,
    ROUND_TABLE_ACTION_OVERDUE,
    TOBS_HIGH,
)

FACT_KINDS = frozenset(
    {
        HOSPITAL_STAY,
        VIRTUAL_MEETING,
        RECEPTION_VISIT,
        READY_FOR_DISCHARGE,
        ROUND_TABLE_ACTION,
        ROUND_TABLE_PLAN,
        TOBS_SCORE,
    }
)
"""The kinds of facts the alerts are computed from."""

TASK_STATUS_DA = {
    "draft": "kladde",
    "requested": "anmodet",
    "received": "modtaget",
    "accepted": "accepteret",
    "ready": "klar",
    "in-progress": "i gang",
    "on-hold": "sat i bero",
}
"""An open action's status as the alert's Danish text names it."""

CLOSED_TASK_STATUSES = frozenset(
    {"completed", "cancelled", "failed", "rejected", "entered-in-error"}
)


@dataclass(frozen=True)
class AlertRules:
    """When each alert is raised (configuration: HUB_ALERT_*)."""

    reception_visit_hours: int = 24
    reception_lookback_days: int = 30
    ready_for_discharge_days: int = 3
    tobs_score: int = TOBS_ALERT_SCORE


@dataclass(frozen=True)
class Alert:
    """Something overdue about one patient, and the resources it rests on."""

    kind: str
    patient_key: str
    since: datetime  # when it became overdue
    message: str
    evidence: tuple[str, ...]  # "Type/id" of the resources the alert is derived from
    kommune: str | None = None
    # Evidence of which the alert uses only what a hospital notification tells (status,
    # period): a viewer with the notification basis for it sees enough.
    notification_enough: frozenset[str] = frozenset()


def alerts(facts: Iterable[FactRow], now: datetime, rules: AlertRules) -> list[Alert]:
    """Every alert the facts raise at ``now``, oldest first.

    ``facts`` must hold the hospital stays, virtual discharge meetings, reception visits,
    færdigbehandlet Flags and round-table plans and actions the alerts look at; facts of
    other kinds are ignored.
    """
    by_kind: dict[str, list[FactRow]] = defaultdict(list)
    for fact in facts:
        by_kind[fact.kind].append(fact)
    raised = [
        *_reception_visits_missing(by_kind, now, rules),
        *_still_waiting(by_kind[READY_FOR_DISCHARGE], now, rules),
        *_overdue_actions(by_kind[ROUND_TABLE_ACTION], by_kind[ROUND_TABLE_PLAN], now),
        *_tobs_high(by_kind[TOBS_SCORE], now, rules),
    ]
    return sorted(raised, key=lambda alert: (alert.since, alert.kind, alert.evidence))


def _reception_visits_missing(
    by_kind: dict[str, list[FactRow]], now: datetime, rules: AlertRules
) -> Iterable[Alert]:
    within = timedelta(hours=rules.reception_visit_hours)
    oldest = now - timedelta(days=rules.reception_lookback_days)
    meetings = _grouped(by_kind[VIRTUAL_MEETING])
    visits = _grouped(by_kind[RECEPTION_VISIT])
    for stay in by_kind[HOSPITAL_STAY]:
        end = stay.end_at
        if stay.status != "finished" or end is None or stay.at is None:
            continue
        if not oldest <= end <= now - within:
            continue
        meeting = _meeting_during(stay, meetings[stay.patient_key])
        if meeting is None:
            continue  # not a "Kom godt hjem" patient
        if any(v.at is not None and v.at >= end for v in visits[stay.patient_key]):
            continue
        yield _reception_visit_missing(stay, meeting, within)


def _meeting_during(stay: FactRow, meetings: Iterable[FactRow]) -> FactRow | None:
    """The virtual discharge meeting held during the stay, which makes it "Kom godt hjem"."""
    if stay.at is None or stay.end_at is None:
        return None
    start, end = stay.at, stay.end_at
    return next((m for m in meetings if m.at and start <= m.at <= end), None)


def _reception_visit_missing(stay: FactRow, meeting: FactRow, within: timedelta) -> Alert:
    assert stay.end_at is not None
    hours = round(within / timedelta(hours=1))
    return Alert(
        RECEPTION_VISIT_MISSING,
        stay.patient_key,
        stay.end_at + within,
        f"Kom godt hjem: intet modtagebesøg registreret inden for {hours} timer "
        f"efter udskrivelsen {danish_time(stay.end_at.isoformat())}",
        (stay.resource, meeting.resource),
        stay.kommune,
        frozenset({stay.resource}),
    )


def _still_waiting(ready: Sequence[FactRow], now: datetime, rules: AlertRules) -> Iterable[Alert]:
    allowed = timedelta(days=rules.ready_for_discharge_days)
    for flag in ready:
        if flag.status != "active" or flag.end_at is not None or flag.at is None:
            continue
        if now - flag.at <= allowed:
            continue
        yield _still_waiting_alert(flag, allowed, now)


def _still_waiting_alert(flag: FactRow, allowed: timedelta, now: datetime) -> Alert:
    assert flag.at is not None
    waited = (now - flag.at).days
    return Alert(
        READY_FOR_DISCHARGE_WAITING,
        flag.patient_key,
        flag.at + allowed,
        f"Færdigbehandlet siden {danish_time(flag.at.isoformat())} og venter stadig "
        f"({waited} {'dag' if waited == 1 else 'dage'})",
        (flag.resource,),
        flag.kommune,
    )


def _overdue_actions(
    actions: Sequence[FactRow], plans: Sequence[FactRow], now: datetime
) -> Iterable[Alert]:
    round_tables = {plan.resource for plan in plans if plan.status not in ("revoked",)}
    for action in actions:
        if action.related not in round_tables or action.at is None:
            continue
        if action.status in CLOSED_TASK_STATUSES or action.at >= now:
            continue
        yield _overdue_action(action)


def _overdue_action(action: FactRow) -> Alert:
    assert action.at is not None
    return Alert(
        ROUND_TABLE_ACTION_OVERDUE,
        action.patient_key,
        action.at,
        f"Handling fra rundbordsmøde overskredet siden {danish_time(action.at.isoformat())} "
        f"({TASK_STATUS_DA.get(action.status or '', 'ukendt status')})",
        (action.resource, str(action.related)),
        action.kommune,
    )


_SCORING_SECTORS = frozenset({Sector.HOSPITAL.value, Sector.PSYCHIATRY.value})


def _tobs_high(scores: Sequence[FactRow], now: datetime, rules: AlertRules) -> Iterable[Alert]:
    oldest = now - timedelta(days=rules.reception_lookback_days)
    for score in scores:
        if score.at is None or score.value is None or score.sector not in _SCORING_SECTORS:
            continue
        if not oldest <= score.at <= now or not tobs_alerts(score.value, rules.tobs_score):
            continue
        yield _tobs_alert(score)


def _tobs_alert(score: FactRow) -> Alert:
    assert score.at is not None
    assert score.value is not None
    return Alert(
        TOBS_HIGH,
        score.patient_key,
        score.at,
        f"TOBS {score_text(score.value)} målt {danish_time(score.at.isoformat())}: "
        "tidlig opsporing af begyndende sygdom, vurder borgeren",
        (score.resource,),
        score.kommune,
    )


def alert_as_raised(
    kind: str, subject: str, facts: Iterable[FactRow], *, since: datetime, raised_at: datetime
) -> Alert | None:
    """The alert of ``kind`` about ``subject`` ("Type/id") that was raised at ``raised_at``,
    overdue since ``since``, told from the patient's facts as they are now.

    For delivering an alert after it was raised: it is told as it was raised, even if
    what followed has settled it since (a visit reported late, an action completed),
    because the receiver is owed every alert in order. None when the facts no longer
    hold what the alert rests on (the resource was withdrawn): there is nothing to tell.
    """
    rows = list(facts)

    def fact(fact_kind: str) -> FactRow | None:
        return next((f for f in rows if f.kind == fact_kind and f.resource == subject), None)

    if kind == RECEPTION_VISIT_MISSING:
        stay = fact(HOSPITAL_STAY)
        if stay is None or stay.end_at is None or since <= stay.end_at:
            return None
        meeting = _meeting_during(stay, (f for f in rows if f.kind == VIRTUAL_MEETING))
        return _reception_visit_missing(stay, meeting, since - stay.end_at) if meeting else None
    if kind == READY_FOR_DISCHARGE_WAITING:
        flag = fact(READY_FOR_DISCHARGE)
        if flag is None or flag.at is None or since < flag.at:
            return None
        return _still_waiting_alert(flag, since - flag.at, raised_at)
    if kind == ROUND_TABLE_ACTION_OVERDUE:
        action = fact(ROUND_TABLE_ACTION)
        if action is None or action.at is None or action.related is None:
            return None
        return _overdue_action(action)
    if kind == TOBS_HIGH:
        score = fact(TOBS_SCORE)
        if score is None or score.at is None or score.value is None:
            return None
        return _tobs_alert(score)
    return None


def _grouped(rows: Iterable[FactRow]) -> dict[str, list[FactRow]]:
    grouped: dict[str, list[FactRow]] = defaultdict(list)
    for row in rows:
        grouped[row.patient_key].append(row)
    return grouped
