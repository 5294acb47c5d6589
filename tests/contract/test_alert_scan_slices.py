"""The alert scanner looks at its patients in slices, one transaction each, on SQLite
and PostgreSQL: every patient's alert is still logged and delivered once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import hub.runtime.alert_scanner as alert_scanner
from hub.bootstrap import units_over
from hub.domain import pathway_codes as codes
from hub.domain.alerts import Alert, AlertRules
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.translation import FhirJson
from hub.runtime.alert_scanner import AlertScanner
from hub.store.pathway_event_subscriptions import WEBHOOK
from hub.store.unit_of_work import UnitOfWork
from tests.contract.test_alert_delivery import (
    ALERT_KINDS,
    HOSPITAL_SENDER,
    RANDERS_SENDER,
    RULES,
    logged_alerts,
    send,
)
from tests.contract.test_facts_store import patient, subject
from tests.support.subscriptions import randers_subscription

PATIENTS = [f"010170999{n}" for n in range(5)]


def overdue_action(cpr: str, n: int) -> list[FhirJson]:
    """The kommune's rundbordsmøde plan for ``cpr`` and an action due 10 November."""
    plan: FhirJson = {
        "resourceType": "CarePlan",
        "id": f"plan-{n}",
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": codes.PATHWAY_EVENTS, "code": "rundbordsmoede"}]}],
        "subject": subject(cpr),
    }
    action: FhirJson = {
        "resourceType": "Task",
        "id": f"action-{n}",
        "basedOn": [{"reference": f"CarePlan/plan-{n}"}],
        "status": "requested",
        "intent": "plan",
        "for": subject(cpr),
        "restriction": {"period": {"end": "2026-11-10"}},
    }
    return [plan, action]


async def test_a_scan_in_slices_logs_every_patients_alert_once(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts = await randers_subscription(engine, WEBHOOK, ALERT_KINDS)
    for n, cpr in enumerate(PATIENTS):
        await send(engine, HOSPITAL_SENDER, cpr, [patient(cpr)], datetime(2026, 10, 1, tzinfo=UTC))
        await send(
            engine, RANDERS_SENDER, cpr, overdue_action(cpr, n), datetime(2026, 11, 1, tzinfo=UTC)
        )
    looked_at: list[list[str]] = []
    real = alert_scanner.alerts_of_patients

    async def counted(
        uow: UnitOfWork, rules: AlertRules, patient_keys: Iterable[str], now: datetime
    ) -> list[Alert]:
        looked_at.append(list(patient_keys))
        return await real(uow, rules, patient_keys, now)

    monkeypatch.setattr(alert_scanner, "alerts_of_patients", counted)
    scanner = AlertScanner(
        units_over(engine), DEFAULT_POLICY, RULES, slice_patients=2, slice_pause_seconds=0
    )

    logged = await scanner.scan(datetime(2026, 11, 12, 9, tzinfo=UTC))

    assert sorted(record.resource_id for record in logged) == [f"action-{n}" for n in range(5)]
    # Never more than a slice of patients in one transaction, every patient in one.
    assert [len(keys) for keys in looked_at] == [2, 2, 1]
    assert len({key for keys in looked_at for key in keys}) == len(PATIENTS)
    async with UnitOfWork(engine) as uow:
        delivered = await uow.subscriptions.deliveries_after(alerts, 0, 100)
    assert len(delivered) == len(PATIENTS)
    # A second scanner (a restart) finds them all logged already.
    again = AlertScanner(
        units_over(engine), DEFAULT_POLICY, RULES, slice_patients=3, slice_pause_seconds=0
    )
    assert await again.scan(datetime(2026, 11, 12, 10, tzinfo=UTC)) == []


async def test_a_slice_that_fails_is_scanned_again_and_none_is_logged_twice(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, cpr in enumerate(PATIENTS):
        await send(engine, HOSPITAL_SENDER, cpr, [patient(cpr)], datetime(2026, 10, 1, tzinfo=UTC))
        await send(
            engine, RANDERS_SENDER, cpr, overdue_action(cpr, n), datetime(2026, 11, 1, tzinfo=UTC)
        )
    real = alert_scanner.alerts_of_patients
    calls = 0

    async def second_fails(
        uow: UnitOfWork, rules: AlertRules, patient_keys: Iterable[str], now: datetime
    ) -> list[Alert]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("the database went away")
        return await real(uow, rules, patient_keys, now)

    monkeypatch.setattr(alert_scanner, "alerts_of_patients", second_fails)
    scanner = AlertScanner(
        units_over(engine), DEFAULT_POLICY, RULES, slice_patients=2, slice_pause_seconds=0
    )
    with pytest.raises(ConnectionError):
        await scanner.scan(datetime(2026, 11, 12, 9, tzinfo=UTC))
    assert await logged_alerts(engine) == 2  # the first slice was committed

    later = await scanner.scan(datetime(2026, 11, 12, 9, 1, tzinfo=UTC))

    assert sorted(record.resource_id for record in later) == ["action-2", "action-3", "action-4"]
    assert await logged_alerts(engine) == len(PATIENTS)
