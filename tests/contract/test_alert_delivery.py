"""Alerts delivered through the pathway event subscriptions, on SQLite and PostgreSQL.

Resources are applied by the real projection with the facts observer (and the alert
scanner listening, as composed in a hub); the scanner is run at chosen times, so the
passage of time that raises an alert is the test's to control.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.pathway_facts import PathwayFactsObserver
from consumers.projection import ResourceProjection
from hub.bootstrap import units_over
from hub.domain import pathway_codes as codes
from hub.domain.alerts import AlertRules
from hub.domain.cohort import CohortRule
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.events import InboundEvent
from hub.domain.identifiers import cpr_patient_key
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.runtime.alert_scanner import AlertScanner
from hub.services.auth import Principal
from hub.services.consent.record import ConsentRequest, consent_resource
from hub.services.pathway_events import PathwayEventMessage, render_deliveries
from hub.store.pathway_event_subscriptions import PENDING, WEBHOOK, WEBSOCKET
from hub.store.tables import audit_events, pathway_events
from hub.store.unit_of_work import UnitOfWork
from tests.contract.test_facts_store import at, patient, subject
from tests.support.subscriptions import RANDERS, randers_subscription

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "epj")
RANDERS_SENDER = Sender(Sector.MUNICIPALITY, "730-sundhed", "randers-omsorg")
HOSPITAL_SENDER = Sender(Sector.HOSPITAL, "100000001", "adt")
ALERT_KINDS = (
    "alert-faerdigbehandlet-waiting",
    "alert-reception-visit-missing",
    "alert-round-table-action-overdue",
)
RULES = AlertRules(ready_for_discharge_days=3)
PLANNED, WAITING = "0101709995", "0202709995"


def scanner(engine: AsyncEngine) -> AlertScanner:
    return AlertScanner(units_over(engine), DEFAULT_POLICY, RULES)


async def send(
    engine: AsyncEngine,
    sender: Sender,
    cpr: str,
    resources: Sequence[FhirJson],
    when: datetime,
    listening: AlertScanner | None = None,
) -> None:
    observers = [PathwayFactsObserver(CohortRule()), *([listening] if listening else [])]
    projection = ResourceProjection(observers=observers)
    event = InboundEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        format="fhir",
        trigger="fhir:transaction",
        received_at=when,
        sender=sender,
        patient_key=cpr_patient_key(cpr),
        resources=list(resources),
        occurred_at=when,
    )
    async with UnitOfWork(engine) as uow:
        await projection.handle(event, uow)
        await uow.commit()


async def rendered(engine: AsyncEngine, subscription_id: str) -> list[PathwayEventMessage]:
    async with UnitOfWork(engine) as uow:
        subscription = await uow.subscriptions.get(subscription_id)
        assert subscription is not None
        deliveries = await uow.subscriptions.deliveries_after(subscription_id, 0, 100)
        messages = await render_deliveries(uow, DEFAULT_POLICY, subscription, deliveries)
        await uow.commit()
    return messages


async def logged_alerts(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            await connection.scalar(
                select(func.count())
                .select_from(pathway_events)
                .where(pathway_events.c.kind.like("alert-%"))
            )
            or 0
        )


def round_table_plan(due: str) -> list[FhirJson]:
    plan: FhirJson = {
        "resourceType": "CarePlan",
        "id": "plan-1",
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": codes.PATHWAY_EVENTS, "code": "rundbordsmoede"}]}],
        "subject": subject(PLANNED),
    }
    action: FhirJson = {
        "resourceType": "Task",
        "id": "action-1",
        "basedOn": [{"reference": "CarePlan/plan-1"}],
        "status": "requested",
        "intent": "plan",
        "for": subject(PLANNED),
        "restriction": {"period": {"end": due}},
    }
    return [patient(PLANNED), plan, action]


def ready_for_discharge(cpr: str, since: datetime) -> FhirJson:
    """The hospital's færdigbehandlet Flag for ``cpr``, active ``since``."""
    return {
        "resourceType": "Flag",
        "id": "flag-ready",
        "status": "active",
        "code": {"coding": [codes.READY_FOR_DISCHARGE.coding()]},
        "subject": subject(cpr),
        "period": {"start": at(since)},
    }


async def plan_due_on_10_november(engine: AsyncEngine) -> None:
    """Randers' round-table plan for the planned patient, an action due 10 November 2026."""
    # The hospital's ADT says where the patient lives (Randers), as only it may.
    await send(
        engine, HOSPITAL_SENDER, PLANNED, [patient(PLANNED)], datetime(2026, 10, 1, tzinfo=UTC)
    )
    # The municipality's own plan: it always sees what it wrote itself.
    await send(
        engine,
        RANDERS_SENDER,
        PLANNED,
        round_table_plan("2026-11-10"),
        datetime(2026, 11, 1, tzinfo=UTC),
    )


async def test_an_alert_that_becomes_due_is_delivered_once_to_those_who_asked(
    engine: AsyncEngine,
) -> None:
    alerts = await randers_subscription(engine, WEBHOOK, ALERT_KINDS)
    discharges = await randers_subscription(engine, WEBSOCKET, ("discharge",))
    await plan_due_on_10_november(engine)

    assert await scanner(engine).scan(datetime(2026, 11, 10, 12, tzinfo=UTC)) == []
    running = scanner(engine)
    (logged,) = await running.scan(datetime(2026, 11, 12, 9, tzinfo=UTC))
    assert logged.kind == "alert-round-table-action-overdue"
    assert (logged.resource_type, logged.resource_id) == ("Task", "action-1")
    assert await running.scan(datetime(2026, 11, 12, 10, tzinfo=UTC)) == []
    # A restarted process looks back over the whole window and finds it logged already.
    assert await scanner(engine).scan(datetime(2026, 11, 13, 9, tzinfo=UTC)) == []
    assert await logged_alerts(engine) == 1

    async with UnitOfWork(engine) as uow:
        (delivery,) = await uow.subscriptions.deliveries_after(alerts, 0, 10)
        assert await uow.subscriptions.deliveries_after(discharges, 0, 10) == []
    assert (delivery.event_number, delivery.status) == (1, PENDING)
    (message,) = await rendered(engine, alerts)
    assert message.withheld is False
    assert (message.kind, message.cpr, message.resource) == (
        "alert-round-table-action-overdue",
        PLANNED,
        "Task/action-1",
    )
    # The due date lasts the whole Danish day: overdue from midnight, Danish time.
    assert message.at == datetime(2026, 11, 10, 23, tzinfo=UTC)
    assert (
        message.message is not None and "Handling fra rundbordsmøde overskredet" in message.message
    )
    assert message.to_json()["message"] == message.message


async def test_two_scanners_at_once_log_an_alert_once(engine: AsyncEngine) -> None:
    alerts = await randers_subscription(engine, WEBHOOK, ALERT_KINDS)
    await plan_due_on_10_november(engine)
    now = datetime(2026, 11, 12, 9, tzinfo=UTC)
    found = await asyncio.gather(scanner(engine).scan(now), scanner(engine).scan(now))
    assert sorted(len(logged) for logged in found) == [0, 1]
    async with UnitOfWork(engine) as uow:
        assert len(await uow.subscriptions.deliveries_after(alerts, 0, 10)) == 1


async def test_a_late_flag_and_a_refusal_after_the_alert_withholds_it(engine: AsyncEngine) -> None:
    alerts = await randers_subscription(engine, WEBHOOK, ALERT_KINDS)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    running = scanner(engine)
    assert await running.scan(now - timedelta(minutes=1)) == []
    # The hospital's færdigbehandlet Flag, shared with the municipality by consent, is sent
    # five days late: overdue the moment it is stored, long before the scanned interval.
    permit = consent_resource(
        ConsentRequest(cpr=WAITING, decision="permit", sectors=["municipality"]),
        Principal("nurse", Sector.HOSPITAL, HOSPITAL.org),
        "p1",
        "active",
    )
    flag = ready_for_discharge(WAITING, now - timedelta(days=5))
    resources = [patient(WAITING), {**permit, "id": "permit-1"}, flag]
    await send(engine, HOSPITAL, WAITING, resources, now, listening=running)
    (logged,) = await running.scan(now)
    assert (logged.kind, logged.resource_id) == ("alert-faerdigbehandlet-waiting", "flag-ready")
    assert logged.at == now - timedelta(days=2)

    (shown,) = await rendered(engine, alerts)
    assert (shown.withheld, shown.cpr, shown.resource) == (False, WAITING, "Flag/flag-ready")
    assert shown.message is not None and "venter stadig (5 dage)" in shown.message

    # The patient refuses all sharing after the alert was numbered.
    refusal = consent_resource(
        ConsentRequest(cpr=WAITING, decision="deny"), RANDERS, "r1", "active"
    )
    await send(engine, HOSPITAL, WAITING, [{**refusal, "id": "refusal-1"}], now)
    (withheld,) = await rendered(engine, alerts)
    assert withheld.withheld and withheld.event_number == 1
    assert withheld.kind == "alert-faerdigbehandlet-waiting"
    assert (withheld.cpr, withheld.message, withheld.resource, withheld.at) == (None,) * 4
    async with engine.connect() as connection:
        outcomes = (
            await connection.scalars(
                select(audit_events.c.outcome)
                .where(audit_events.c.action == "pathway-event.delivered")
                .order_by(audit_events.c.id)
            )
        ).all()
    assert outcomes == ["success", "denied"]


async def test_an_alert_the_owner_may_not_see_is_not_numbered(engine: AsyncEngine) -> None:
    alerts = await randers_subscription(engine, WEBHOOK, ALERT_KINDS)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    flag = ready_for_discharge(WAITING, now - timedelta(days=5))
    # No consent: the hospital's Flag is none of the municipality's business.
    await send(engine, HOSPITAL, WAITING, [patient(WAITING), flag], now - timedelta(days=5))
    (logged,) = await scanner(engine).scan(now)
    assert logged.kind == "alert-faerdigbehandlet-waiting"
    async with UnitOfWork(engine) as uow:
        assert await uow.subscriptions.deliveries_after(alerts, 0, 10) == []
