"""Alerts as pure rules over pathway facts: what is overdue at a given moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.domain.alerts import (
    READY_FOR_DISCHARGE_WAITING,
    RECEPTION_VISIT_MISSING,
    ROUND_TABLE_ACTION_OVERDUE,
    AlertRules,
    alerts,
)
from hub.domain.indicators import (
    HOSPITAL_STAY,
    READY_FOR_DISCHARGE,
    RECEPTION_VISIT,
    ROUND_TABLE_ACTION,
    ROUND_TABLE_PLAN,
    VIRTUAL_MEETING,
    FactRow,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
RULES = AlertRules(reception_visit_hours=24, ready_for_discharge_days=3)


def fact(kind: str, patient: str, at: datetime, resource: str, **extra: Any) -> FactRow:
    return FactRow(kind, resource, patient, "hospital", "1", "730", at, **extra)


def discharge(patient: str, hours_ago: float) -> list[FactRow]:
    end = NOW - timedelta(hours=hours_ago)
    return [
        fact(
            HOSPITAL_STAY,
            patient,
            end - timedelta(days=3),
            f"Encounter/s-{patient}",
            end_at=end,
            status="finished",
        ),
        fact(VIRTUAL_MEETING, patient, end - timedelta(hours=4), f"Encounter/m-{patient}"),
    ]


def kinds(facts: list[FactRow], rules: AlertRules = RULES) -> list[tuple[str, str]]:
    return [(a.kind, a.patient_key) for a in alerts(facts, NOW, rules)]


def test_a_kom_godt_hjem_discharge_without_a_reception_visit_after_24_hours() -> None:
    facts = [*discharge("late", 30), *discharge("early", 20), *discharge("visited", 30)]
    facts.append(fact(RECEPTION_VISIT, "visited", NOW - timedelta(hours=10), "Encounter/v"))
    (alert,) = alerts(facts, NOW, RULES)
    assert (alert.kind, alert.patient_key) == (RECEPTION_VISIT_MISSING, "late")
    assert alert.since == NOW - timedelta(hours=6)
    assert alert.evidence == ("Encounter/s-late", "Encounter/m-late")
    assert alert.notification_enough == frozenset({"Encounter/s-late"})
    # Not a "Kom godt hjem" patient without the virtual discharge meeting.
    assert kinds([discharge("plain", 30)[0]]) == []
    # The hours are configuration.
    assert kinds(facts, AlertRules(reception_visit_hours=36)) == []


def test_a_faerdigbehandlet_patient_still_waiting_after_the_configured_days() -> None:
    def ready(patient: str, days_ago: int, **extra: Any) -> FactRow:
        values = {"status": "active"} | extra
        return fact(
            READY_FOR_DISCHARGE,
            patient,
            NOW - timedelta(days=days_ago),
            f"Flag/{patient}",
            **values,
        )

    facts = [
        ready("waiting", 4),
        ready("recent", 2),
        ready("ended", 9, end_at=NOW - timedelta(days=1)),
    ]
    assert kinds(facts) == [(READY_FOR_DISCHARGE_WAITING, "waiting")]
    assert kinds(facts, AlertRules(ready_for_discharge_days=1)) == [
        (READY_FOR_DISCHARGE_WAITING, "waiting"),
        (READY_FOR_DISCHARGE_WAITING, "recent"),
    ]


def test_an_overdue_round_table_action_that_is_not_done() -> None:
    plan = fact(ROUND_TABLE_PLAN, "p", NOW - timedelta(days=30), "CarePlan/rt", status="active")

    def action(name: str, due_days: int, status: str, plan_ref: str = "CarePlan/rt") -> FactRow:
        return fact(
            ROUND_TABLE_ACTION,
            "p",
            NOW + timedelta(days=due_days),
            f"Task/{name}",
            status=status,
            related=plan_ref,
        )

    facts = [
        plan,
        action("overdue", -2, "in-progress"),
        action("done", -2, "completed"),
        action("rejected", -2, "rejected"),
        action("upcoming", 2, "requested"),
        action("other-plan", -2, "requested", plan_ref="CarePlan/not-a-round-table"),
    ]
    (alert,) = alerts(facts, NOW, RULES)
    assert alert.kind == ROUND_TABLE_ACTION_OVERDUE
    assert alert.evidence == ("Task/overdue", "CarePlan/rt")
