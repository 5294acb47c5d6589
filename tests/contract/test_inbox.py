"""Each organisation's inbox, on SQLite and PostgreSQL.

Messages are applied by the real projection with the observers a hub composes (facts,
round-table index, pathway events, inbox), and the alert scanner is run at chosen
times on a pinned clock, so every item kind can be made to arrive. Each item is read
back through ``read_inbox`` (consent and audit) and through an inbox subscription's
numbered deliveries, and the adversaries (another kommune, a hospital nobody wrote to,
a forger of addresses) are shown nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.inbox import InboxFiler
from consumers.pathway_events import PathwayEventDeriver
from consumers.pathway_facts import PathwayFactsObserver
from consumers.projection import ResourceProjection
from consumers.round_table_index import RoundTableIndexer
from hub import clock
from hub.bootstrap import units_over
from hub.domain import pathway_codes as codes
from hub.domain.alerts import AlertRules
from hub.domain.cohort import CohortRule
from hub.domain.consent import DEFAULT_POLICY, MUNICIPALITY_SYSTEM
from hub.domain.events import InboundEvent
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_patient_key, patient_resource_id
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.domain.webhook_payload import event_of, notification_bundle
from hub.domain.webhook_targets import WebhookTargetRules
from hub.runtime.alert_scanner import AlertScanner
from hub.services import webhook_targets
from hub.services.auth import Principal
from hub.services.consent.record import ConsentRequest, consent_resource
from hub.services.inbox.feed import open_inbox_feed, register_inbox_webhook
from hub.services.inbox.read import InboxError, InboxItem, read_inbox, set_state
from hub.services.pathway_events import PathwayEventMessage, render_deliveries
from hub.services.pathway_status import read_pathway_status
from hub.store.tables import audit_events
from hub.store.unit_of_work import UnitOfWork
from schema.inbox import InboxEvent, InboxItemType
from tests.contract.test_alert_delivery import ready_for_discharge
from tests.contract.test_facts_store import at, patient, subject

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
CPR = "0303709995"
HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "epj")
RANDERS = Principal("randers-visitation", Sector.MUNICIPALITY, "730000001", kommune="730")
RANDERS_NURSING = Principal("randers-sygepleje", Sector.MUNICIPALITY, "730000002", kommune="730")
AARHUS = Principal("aarhus-visitation", Sector.MUNICIPALITY, "751000001", kommune="751")
OTHER_HOSPITAL = Principal("epj-2", Sector.HOSPITAL, "200000002")
GP = Principal("laege", Sector.GP, "300000003")


@pytest.fixture
def pinned() -> Iterator[clock.FixedClock]:
    fixed = clock.FixedClock(START)
    previous = webhook_targets.installed()
    # The receiver's name is the test's own: allowed without a look-up.
    webhook_targets.install(WebhookTargetRules.parse("omsorg.randers.example", require_https=True))
    with clock.using(fixed):
        yield fixed
    webhook_targets.install(previous)


async def send(
    engine: AsyncEngine,
    sender: Sender,
    resources: Sequence[FhirJson],
    scanner: AlertScanner,
    *,
    patient_key: str = cpr_patient_key(CPR),
) -> None:
    observers = [
        RoundTableIndexer(),
        PathwayFactsObserver(CohortRule()),
        PathwayEventDeriver(DEFAULT_POLICY),
        InboxFiler(DEFAULT_POLICY),
        scanner,
    ]
    event = InboundEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        format="fhir",
        trigger="fhir:transaction",
        received_at=clock.now(),
        sender=sender,
        patient_key=patient_key,
        resources=list(resources),
        occurred_at=clock.now(),
    )
    async with UnitOfWork(engine) as uow:
        await ResourceProjection(observers=observers).handle(event, uow)
        await uow.commit()


def sor(code: str) -> FhirJson:
    return {"identifier": {"system": SOR_SYSTEM, "value": code}}


def referral(performer: str, *, deferred_to: datetime | None = None) -> FhirJson:
    request: FhirJson = {
        "resourceType": "ServiceRequest",
        "id": "ref-1",
        "status": "active",
        "intent": "order",
        "subject": subject(CPR),
        "performer": [sor(performer)],
        "reasonCode": [{"text": "Misbrugsbehandling efter udskrivelse"}],
    }
    if deferred_to is not None:
        request["id"] = "ref-later"
        request["occurrenceDateTime"] = deferred_to.isoformat()
    return request


def letter(recipient: str) -> FhirJson:
    return {
        "resourceType": "Communication",
        "id": "letter-1",
        "status": "completed",
        "subject": subject(CPR),
        "recipient": [sor(recipient)],
        "payload": [{"contentString": "Patienten udskrives torsdag; medicinliste vedlagt."}],
    }


def meeting(start: datetime, *participants: str) -> FhirJson:
    return {
        "resourceType": "Appointment",
        "id": "meeting-1",
        "status": "booked",
        "serviceType": [{"coding": [codes.ROUND_TABLE.coding()]}],
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "participant": [
            {"actor": {"identifier": {"system": CPR_SYSTEM, "value": CPR}}, "status": "accepted"},
            {"actor": sor(HOSPITAL.org), "status": "accepted"},
            *({"actor": sor(org), "status": "needs-action"} for org in participants),
        ],
    }


def plan() -> FhirJson:
    return {
        "resourceType": "CarePlan",
        "id": "plan-1",
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [codes.ROUND_TABLE.coding()]}],
        "subject": subject(CPR),
        "description": "Bolig før behandling",
        "extension": [
            {
                "url": "urn:brobygger:extension:round-table",
                "valueReference": {"reference": "Appointment/meeting-1"},
            }
        ],
    }


def action(owner: str, due: datetime) -> FhirJson:
    return {
        "resourceType": "Task",
        "id": "action-1",
        "status": "requested",
        "intent": "plan",
        "basedOn": [{"reference": "CarePlan/plan-1"}],
        "for": subject(CPR),
        "owner": sor(owner),
        "description": "Find botilbud",
        "restriction": {"period": {"end": due.date().isoformat()}},
    }


def proposal() -> FhirJson:
    return {
        "resourceType": "Task",
        "id": "proposal-1",
        "status": "requested",
        "intent": "proposal",
        "code": {"coding": [codes.ROUND_TABLE.coding()]},
        "for": subject(CPR),
        "description": "Rundbordsmøde foreslået: 3 akutte indlæggelser på 6 måneder",
        "restriction": {
            "recipient": [
                {"identifier": {"system": MUNICIPALITY_SYSTEM, "value": "0730"}},
            ]
        },
    }


def stay(id: str, klass: str, start: datetime, end: datetime | None) -> FhirJson:
    encounter: FhirJson = {
        **(
            {"type": [{"coding": [codes.VIRTUAL_DISCHARGE_MEETING.coding()]}]}
            if klass == "VR"
            else {}
        ),
        "resourceType": "Encounter",
        "id": id,
        "status": "finished" if end else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": subject(CPR),
        "period": {"start": at(start), **({"end": at(end)} if end else {})},
    }
    return encounter


async def inbox(engine: AsyncEngine, reader: Principal, **filters: object) -> list[InboxItem]:
    return await read_inbox(units_over(engine), reader, policy=DEFAULT_POLICY, **filters)  # type: ignore[arg-type]


def kinds(items: Sequence[InboxItem]) -> list[str]:
    return sorted(item.kind for item in items)


async def test_each_kind_of_item_reaches_the_organisation_that_must_act(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    scanner = AlertScanner(
        units_over(engine), DEFAULT_POLICY, AlertRules(ready_for_discharge_days=3)
    )
    feed = await open_inbox_feed(units_over(engine), RANDERS, None)
    hook, _ = await register_inbox_webhook(
        units_over(engine), RANDERS_NURSING, url="https://omsorg.randers.example/inbox", kinds=None
    )
    # The hospital's ADT says where the patient lives; the patient lets Randers see
    # the hospital's data (the færdigbehandlet Flag is no notification).
    permit = consent_resource(
        ConsentRequest(cpr=CPR, decision="permit", sectors=["municipality"]),
        Principal("nurse", Sector.HOSPITAL, HOSPITAL.org),
        "p1",
        "active",
    )
    await send(engine, HOSPITAL, [patient(CPR), {**permit, "id": "permit-1"}], scanner)

    # A referral and a letter to Randers' visitation; one deferred to three months on.
    later = START + timedelta(days=90)
    await send(
        engine,
        HOSPITAL,
        [referral(RANDERS.org), referral(RANDERS.org, deferred_to=later), letter(RANDERS.org)],
        scanner,
    )
    # A rundbordsmøde with its plan, an action for Randers; then it is moved.
    when = START + timedelta(days=7)
    await send(engine, HOSPITAL, [meeting(when, RANDERS.org)], scanner)
    await send(engine, HOSPITAL, [plan(), action(RANDERS.org, START + timedelta(days=2))], scanner)
    await send(engine, HOSPITAL, [meeting(when + timedelta(days=1), RANDERS.org)], scanner)
    # The cohort rule's proposal, to the residence kommune.
    await send(engine, HOSPITAL, [proposal()], scanner)
    # Kom godt hjem: a virtual discharge meeting during the stay, then the discharge.
    admitted = START + timedelta(hours=1)
    await send(engine, HOSPITAL, [stay("stay-1", "IMP", admitted, None)], scanner)
    await send(
        engine,
        HOSPITAL,
        [stay("vdm-1", "VR", admitted + timedelta(days=1), admitted + timedelta(days=1, hours=1))],
        scanner,
    )
    discharged = admitted + timedelta(days=2)
    await send(engine, HOSPITAL, [stay("stay-1", "IMP", admitted, discharged)], scanner)
    # Færdigbehandlet four days ago, and still waiting.
    await send(engine, HOSPITAL, [ready_for_discharge(CPR, START - timedelta(days=4))], scanner)

    pinned.advance(timedelta(days=4))
    await scanner.scan()

    shown = await inbox(engine, RANDERS)
    assert kinds(shown) == [
        "action-assigned",
        "action-overdue",
        "cohort-proposal",
        "correspondence",
        "faerdigbehandlet-waiting",
        "reception-visit-due",
        "reception-visit-missing",
        "referral",
        "round-table-changed",
        "round-table-invitation",
        "round-table-plan",
    ]
    by_kind = {item.kind: item for item in shown}
    assert by_kind["referral"].title == "Henvisning: Misbrugsbehandling efter udskrivelse"
    assert by_kind["referral"].resource == "ServiceRequest/" + str(
        (by_kind["referral"].content or {})["id"]
    )
    assert by_kind["correspondence"].title.startswith("Korrespondance: Patienten udskrives")
    assert by_kind["round-table-changed"].title.startswith("Rundbordsmøde flyttet til ")
    assert "venter stadig" in by_kind["faerdigbehandlet-waiting"].title
    assert all(item.cpr == CPR and item.state == "new" for item in shown)
    # Randers' whole kommune shares kommune-addressed items; not what was sent to the
    # visitation by SOR code.
    assert kinds(await inbox(engine, RANDERS_NURSING)) == [
        "cohort-proposal",
        "faerdigbehandlet-waiting",
        "reception-visit-due",
        "reception-visit-missing",
    ]
    # Nobody else: another kommune, a hospital nobody wrote to, the GP.
    for outsider in (AARHUS, OTHER_HOSPITAL, GP):
        assert await inbox(engine, outsider) == []

    # The deferred referral arrives on its day, by feed as well.
    pinned.advance(later - clock.now() + timedelta(hours=1))
    await scanner.scan()
    referrals = await inbox(engine, RANDERS, kinds=["referral"])
    assert [(item.content or {}).get("id") for item in referrals] == ["ref-later", "ref-1"]

    # The feed numbered every item in order; the webhook those to the kommune.
    async with UnitOfWork(engine) as uow:
        deliveries = await uow.subscriptions.deliveries_after(feed.id, 0, 100)
        subscription = await uow.subscriptions.get(feed.id)
        assert subscription is not None
        messages = await render_deliveries(
            uow, DEFAULT_POLICY, subscription, deliveries, readers=[RANDERS]
        )
        hooked = await uow.subscriptions.deliveries_after(hook.id, 0, 100)
        await uow.commit()
    assert [m.event_number for m in messages] == list(range(1, 13))
    assert sorted(m.kind for m in messages) == sorted([*kinds(shown), "referral"])
    assert all(not m.withheld and m.item is not None for m in messages)
    assert len(hooked) == 4


async def test_an_organisation_moves_its_items_on_and_nobody_else_can(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    scanner = AlertScanner(units_over(engine), DEFAULT_POLICY, AlertRules())
    await send(engine, HOSPITAL, [patient(CPR), referral(RANDERS.org)], scanner)
    (item,) = await inbox(engine, RANDERS)

    for stranger in (AARHUS, OTHER_HOSPITAL, RANDERS_NURSING):
        with pytest.raises(InboxError) as refused:
            await set_state(
                units_over(engine), stranger, item.id, "done", None, policy=DEFAULT_POLICY
            )
        assert refused.value.code == "no-such-item"
    with pytest.raises(InboxError) as refused:
        await set_state(
            units_over(engine), RANDERS, item.id, "declined", "  ", policy=DEFAULT_POLICY
        )
    assert refused.value.code == "reason-required"

    seen = await set_state(
        units_over(engine), RANDERS, item.id, "seen", None, policy=DEFAULT_POLICY
    )
    assert seen.state == "seen"
    hospital = Principal("nurse", Sector.HOSPITAL, HOSPITAL.org)
    status = await read_pathway_status(units_over(engine), hospital, CPR)
    assert [r.id for r in status.status.open_referrals] == ["ref-1"]
    declined = await set_state(
        units_over(engine),
        RANDERS,
        item.id,
        "declined",
        "Borgeren er flyttet",
        policy=DEFAULT_POLICY,
    )
    assert (declined.state, declined.state_reason) == ("declined", "Borgeren er flyttet")
    with pytest.raises(InboxError) as refused:
        await set_state(units_over(engine), RANDERS, item.id, "done", None, policy=DEFAULT_POLICY)
    assert refused.value.code == "item-closed"
    # Declined by the one it was sent to: no longer open on the pathway.
    status = await read_pathway_status(units_over(engine), hospital, CPR)
    assert status.status.open_referrals == ()
    assert [i.state for i in await inbox(engine, RANDERS, states=["declined"])] == ["declined"]
    assert await inbox(engine, RANDERS, states=["new"]) == []


async def test_an_address_names_no_one_the_sender_may_not_tell(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    """A refusal withdraws an item that was filed; a municipality's own message to
    itself files nothing; an item is read under the real reader, audited."""
    scanner = AlertScanner(units_over(engine), DEFAULT_POLICY, AlertRules())
    randers_sender = Sender(Sector.MUNICIPALITY, RANDERS.org, RANDERS.sub)
    await send(engine, HOSPITAL, [patient(CPR), letter(RANDERS.org)], scanner)
    await send(engine, randers_sender, [{**letter(RANDERS.org), "id": "own-note"}], scanner)
    (item,) = await inbox(engine, RANDERS)
    assert item.resource == "Communication/letter-1"
    async with engine.connect() as connection:
        audited = await connection.scalar(
            select(func.count())
            .select_from(audit_events)
            .where(audit_events.c.action == "inbox.read", audit_events.c.sub == RANDERS.sub)
        )
    assert audited == 1

    refusal = consent_resource(
        ConsentRequest(cpr=CPR, decision="deny", sectors=["municipality"]),
        Principal("nurse", Sector.HOSPITAL, HOSPITAL.org),
        "p1",
        "active",
    )
    await send(engine, HOSPITAL, [{**refusal, "id": "refusal-1"}], scanner)
    assert await inbox(engine, RANDERS) == []


async def test_an_organisation_invited_without_consent_learns_of_the_meeting_only(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    scanner = AlertScanner(units_over(engine), DEFAULT_POLICY, AlertRules())
    when = START + timedelta(days=7)
    await send(engine, HOSPITAL, [patient(CPR), meeting(when, GP.org)], scanner)
    await send(engine, HOSPITAL, [plan(), meeting(when + timedelta(hours=2), GP.org)], scanner)

    shown = await inbox(engine, GP)
    assert kinds(shown) == ["round-table-changed", "round-table-invitation"]
    for item in shown:
        assert item.cpr is None
        assert CPR not in str(item.content) and CPR not in item.title
        assert CPR[:6] not in str(item.to_json())
    # The plan was filed to the GP too, but the patient's consent does not cover it.
    assert await inbox(engine, GP, kinds=["round-table-plan"]) == []


# --- a patient known only by a replacement number --------------------------------------

REPLACEMENT_SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
REPLACEMENT_NUMBER = "0703921VJ5"
REPLACEMENT_KEY = f"{REPLACEMENT_SYSTEM}|{REPLACEMENT_NUMBER}"


def replacement_patient() -> FhirJson:
    return {
        "resourceType": "Patient",
        "id": patient_resource_id(REPLACEMENT_KEY),
        "identifier": [{"system": REPLACEMENT_SYSTEM, "value": REPLACEMENT_NUMBER}],
        "address": [{"use": "home", "district": "730"}],
    }


def about_replacement_patient(resource: FhirJson) -> FhirJson:
    """``resource`` about the replacement-number patient instead of ``CPR``."""
    reference = {"reference": f"Patient/{patient_resource_id(REPLACEMENT_KEY)}"}
    shown: FhirJson = {
        key: reference if key in ("subject", "for") else value for key, value in resource.items()
    }
    for participant in shown.get("participant", []):
        if participant["actor"].get("identifier", {}).get("system") == CPR_SYSTEM:
            participant["actor"] = {
                "identifier": {"system": REPLACEMENT_SYSTEM, "value": REPLACEMENT_NUMBER}
            }
    return shown


async def told(engine: AsyncEngine, reader: Principal, feed_id: str) -> list[PathwayEventMessage]:
    """What ``reader``'s inbox feed sends."""
    async with UnitOfWork(engine) as uow:
        deliveries = await uow.subscriptions.deliveries_after(feed_id, 0, 100)
        subscription = await uow.subscriptions.get(feed_id)
        assert subscription is not None
        messages = await render_deliveries(
            uow, DEFAULT_POLICY, subscription, deliveries, readers=[reader]
        )
        await uow.commit()
    return messages


async def test_a_replacement_number_is_told_where_a_cpr_would_be_and_hidden_with_it(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    """The letter's addressee is told the patient's replacement number (no CPR); the GP
    invited to the meeting without the patient's consent is told neither, by read, by
    GraphQL and by its feed."""
    scanner = AlertScanner(units_over(engine), DEFAULT_POLICY, AlertRules())
    randers_feed = await open_inbox_feed(units_over(engine), RANDERS, None)
    gp_feed = await open_inbox_feed(units_over(engine), GP, None)
    when = START + timedelta(days=7)
    resources = [replacement_patient(), letter(RANDERS.org), meeting(when, GP.org)]
    await send(
        engine,
        HOSPITAL,
        [about_replacement_patient(r) for r in resources],
        scanner,
        patient_key=REPLACEMENT_KEY,
    )
    identifier = {"system": REPLACEMENT_SYSTEM, "value": REPLACEMENT_NUMBER}

    (letter_item,) = await inbox(engine, RANDERS, kinds=["correspondence"])
    assert letter_item.cpr is None
    assert letter_item.to_json()["patient"] == identifier
    shown = InboxItemType.from_item(letter_item).patient
    assert shown is not None and (shown.system, shown.value) == tuple(identifier.values())
    (message,) = [m for m in await told(engine, RANDERS, randers_feed.id) if m.item]
    sent = message.to_json()
    assert sent["patient"] == identifier and sent["cpr"] is None
    assert sent["item"]["patient"] == identifier
    assert event_of(notification_bundle(sent, sent_at=clock.now()))["patient"] == identifier
    live = InboxEvent.from_message(message).item
    assert live is not None and live.patient == shown

    (invitation,) = await inbox(engine, GP)
    assert invitation.kind == "round-table-invitation"
    assert invitation.cpr is None and invitation.patient_key is None
    assert InboxItemType.from_item(invitation).patient is None
    (gp_message,) = await told(engine, GP, gp_feed.id)
    assert gp_message.kind == "round-table-invitation" and not gp_message.withheld
    gp_sent = gp_message.to_json()
    assert gp_sent["patient"] is None and gp_sent["cpr"] is None
    assert gp_sent["item"]["patient"] is None
    assert REPLACEMENT_NUMBER not in str(notification_bundle(gp_sent, sent_at=clock.now()))
    gp_live = InboxEvent.from_message(gp_message).item
    assert gp_live is not None and gp_live.patient is None and gp_live.cpr is None
