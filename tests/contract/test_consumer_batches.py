"""A polled batch applied in one transaction leaves exactly what one event at a time does.

The projection reads a batch's patients and facts ahead, keeps back the batch's pathway
events and decides at once who receives each; the store it leaves (resources, facts,
the pathway event log in its order, the subscriptions' numbered deliveries with their
statuses, the cohort rule's outbox events) must be the same as when the same records
are applied one by one. Who receives an event is decided as of the event: a refusal, a
withdrawal, a move or a death later in the same batch changes nothing about it.

It is over 400 lines because the fixed cases, the random batches and the log's own
numbering of kept-back deliveries share the messages, subscriptions and comparison.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from consumers.inbox import InboxFiler
from consumers.pathway_events import PathwayEventDeriver
from consumers.pathway_facts import PathwayFactsObserver
from consumers.projection import ResourceProjection
from consumers.round_table_index import RoundTableIndexer
from hub.bootstrap import units_over
from hub.bus.embedded import EmbeddedBus
from hub.config import TOPIC_INBOUND
from hub.domain.cohort import CohortRule
from hub.domain.consent import NOTIFIED_EXTENSION
from hub.domain.events import InboundEvent
from hub.domain.identifiers import SOR_SYSTEM, cpr_patient_key
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.ports import BusRecord, Delivery
from hub.runtime.consumer_runner import ConsumerRunner
from hub.services.intake import translate
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.pathway_event_subscriptions import (
    LOGGED,
    PENDING,
    WEBHOOK,
    WEBSOCKET,
    KeptDelivery,
)
from hub.store.tables import (
    outbox,
    pathway_events,
    pathway_facts,
    resources,
    subscription_deliveries,
)
from hub.store.unit_of_work import UnitOfWork
from tests.conftest import migrated_database_url
from tests.support import clock
from tests.support.consent_worlds import worlds
from tests.support.hl7 import adt
from tests.support.inbound_events import published_event
from tests.support.store_templates import in_store, migrated_template

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))
CPRS = ("0101709995", "0202709995", "0303709995")
NOTIFIED_ORG = "123456789"  # a municipal organisation the hospital notifies of some stays

SUBSCRIPTIONS: tuple[dict[str, Any], ...] = (
    {  # kommune 730's residents' discharges, on a websocket feed
        "id": "sub-730",
        "channel": WEBSOCKET,
        "owner_sub": "kommune-system",
        "owner_sector": Sector.MUNICIPALITY.value,
        "owner_org": "730-sundhed",
        "owner_kommune": "730",
        "kommune": "730",
        "kinds": ["discharge"],
    },
    {  # kommune 730's residents' admissions, discharges and deaths, by webhook
        "id": "hook-730",
        "channel": WEBHOOK,
        "owner_sub": "pleje-system",
        "owner_sector": Sector.MUNICIPALITY.value,
        "owner_org": "730-pleje",
        "owner_kommune": "730",
        "kommune": "730",
        "kinds": ["admission", "death", "discharge"],
        "endpoint": "https://pleje.randers.example/events",
        "secret": "s" * 32,
    },
    {  # an organisation of kommune 101 (nobody here lives there): the stays it is notified of
        "id": "sub-notified",
        "channel": WEBSOCKET,
        "owner_sub": "notified-system",
        "owner_sector": Sector.MUNICIPALITY.value,
        "owner_org": NOTIFIED_ORG,
        "owner_kommune": "101",
        "kommune": "101",
        "kinds": ["discharge"],
    },
)


def hl7_events(raw: bytes, *, notified: bool = False) -> list[InboundEvent]:
    """The events intake publishes for an HL7 message; ``notified``: the hospital
    notified ``NOTIFIED_ORG`` of the stay."""
    message_id = str(uuid.uuid4())
    found = []
    for index, translation in enumerate(translate(Hl7v2Adapter(), raw, HOSPITAL)):
        carried = [
            {**r, "extension": [*(r.get("extension") or []), _notified()]}
            if notified and r["resourceType"] == "Encounter"
            else r
            for r in translation.resources
        ]
        event = published_event(
            "hl7v2",
            translation,
            HOSPITAL,
            message_id=message_id,
            event_id=f"{message_id}/{index}",
            partial=translation.partial,
        )
        found.append(_with_resources(event, carried))
    return found


def _notified() -> FhirJson:
    return {
        "url": NOTIFIED_EXTENSION,
        "valueIdentifier": {"system": SOR_SYSTEM, "value": NOTIFIED_ORG},
    }


def _with_resources(event: InboundEvent, carried: Sequence[FhirJson]) -> InboundEvent:
    return InboundEvent(
        event_id=event.event_id,
        message_id=event.message_id,
        format=event.format,
        trigger=event.trigger,
        received_at=event.received_at,
        sender=event.sender,
        patient_key=event.patient_key,
        resources=list(carried),
        occurred_at=event.occurred_at,
        source_id=event.source_id,
        partial=event.partial,
    )


def consent_event(cpr: str, status: str, at: datetime) -> InboundEvent:
    """The patient's refusal of all sharing, recorded by the hospital (``status``
    active), or that refusal withdrawn (``inactive``): the patient's one Consent."""
    consent = {
        "resourceType": "Consent",
        "id": f"refusal-{cpr}",
        "status": status,
        "scope": {"coding": [{"code": "patient-privacy"}]},
        "dateTime": at.isoformat(timespec="seconds"),
        "provision": {"type": "deny"},
    }
    return InboundEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        format="fhir",
        trigger="consent",
        received_at=clock.now(),
        sender=HOSPITAL,
        patient_key=cpr_patient_key(cpr),
        resources=[consent],
        occurred_at=at,
    )


def moved(cpr: str, kommune: str, at: datetime, *, died: bool = False) -> list[InboundEvent]:
    """An A08 telling the patient's residence ``kommune`` (and, ``died``, their death)."""
    raw = adt("A08", cpr=cpr, visit="", patient_class="", kommune=kommune, recorded=clock.hl7(at))
    if died:  # PID-29 (time of death) and PID-30 (died: Y) after PID-12
        head, pid, tail = raw.decode().partition(f"|{kommune}\r")
        raw = f"{head}|{kommune}{'|' * 17}{clock.hl7(at)}|Y\r{tail}".encode()
        assert pid
    return hl7_events(raw)


def stay_events(
    cpr: str, visit: str, kommune: str, admitted: datetime, discharged: datetime | None, **kw: Any
) -> list[InboundEvent]:
    """The admission (and, with ``discharged``, the discharge) of one stay."""
    common = {"cpr": cpr, "visit": visit, "admitted": clock.hl7(admitted), "kommune": kommune}
    if discharged is None:
        return hl7_events(adt("A01", recorded=clock.hl7(admitted), **common), **kw)
    return hl7_events(
        adt("A03", discharged=clock.hl7(discharged), recorded=clock.hl7(discharged), **common),
        **kw,
    )


def interleaved_stays() -> list[InboundEvent]:
    """Three patients' stays, acute and not, in and out of kommune 730, one moving there
    (and notified to ``NOTIFIED_ORG``): admissions and discharges interleaved as several
    senders' would be."""
    sent: list[InboundEvent] = []
    for stay in range(3):
        admitted = clock.days_from_now(-20 + stay * 6)
        discharged = clock.days_from_now(-18 + stay * 6)
        for phase in (None, discharged):
            for n, cpr in enumerate(CPRS):
                kommune = "730" if n != 2 or stay > 0 else "751"  # the third moves to 730
                common: dict[str, Any] = {
                    "cpr": cpr,
                    "visit": f"V{n}{stay}",
                    "admitted": clock.hl7(admitted),
                    "patient_class": "E" if n != 1 else "I",
                    "kommune": kommune,
                }
                raw = (
                    adt("A01", recorded=clock.hl7(admitted), **common)
                    if phase is None
                    else adt(
                        "A03",
                        discharged=clock.hl7(phase),
                        recorded=clock.hl7(phase),
                        **common,
                    )
                )
                sent.extend(hl7_events(raw, notified=n == 2))
    return sent


def as_deliveries(events: Iterable[InboundEvent]) -> list[Delivery]:
    return [
        Delivery(BusRecord(TOPIC_INBOUND, e.patient_key, e.event_id, e.to_bytes()), 0, offset)
        for offset, e in enumerate(events)
    ]


async def applied(engine: AsyncEngine, records: list[Delivery], *, batched: bool) -> Any:
    """What applying ``records`` leaves in a fresh (migrated) store with the subscriptions."""
    async with UnitOfWork(engine) as uow:
        for subscription in SUBSCRIPTIONS:
            await uow.subscriptions.create(**subscription)
        await uow.commit()
    projection = ResourceProjection(
        observers=[
            RoundTableIndexer(),
            PathwayFactsObserver(CohortRule(admissions_short=2, window_short_days=30)),
            PathwayEventDeriver(),
            InboxFiler(),
        ]
    )
    runner = ConsumerRunner(units_over(engine), EmbeddedBus(engine), projection, retry_delay=0.01)
    if batched:
        assert await runner.apply_batch(records)
    else:
        for record in records:
            assert await runner.apply(record)
    return await left(engine)


async def left(engine: AsyncEngine) -> dict[str, Any]:
    """What the store holds: resources, facts, the log in order, deliveries, outbox."""
    async with engine.connect() as connection:
        log = pathway_events.c
        delivered = subscription_deliveries.c
        facts = [
            tuple(row)
            for row in await connection.execute(
                select(pathway_facts).with_only_columns(
                    *(c for c in pathway_facts.c if c.name != "id")
                )
            )
        ]
        return {
            "resources": sorted(
                tuple(row)
                for row in await connection.execute(
                    select(resources.c.resource_type, resources.c.id, resources.c.version_id)
                )
            ),
            "log": [
                tuple(row)
                for row in await connection.execute(
                    select(
                        log.patient_key,
                        log.kind,
                        log.resource_id,
                        log.version_id,
                        log.at,
                        log.state,
                    ).order_by(log.seq)
                )
            ],
            "facts": sorted(facts, key=repr),
            "deliveries": [
                tuple(row)
                for row in await connection.execute(
                    select(
                        delivered.subscription_id,
                        delivered.event_number,
                        delivered.status,
                        delivered.attempts,
                        log.patient_key,
                        log.resource_id,
                        log.kind,
                    )
                    .join(pathway_events, log.seq == delivered.pathway_event_seq)
                    .order_by(delivered.subscription_id, delivered.event_number)
                )
            ],
            "outbox": sorted(
                tuple(row)
                for row in await connection.execute(select(outbox.c.key, outbox.c.event_id))
            ),
        }


async def both_ways(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str, events: list[InboundEvent]
) -> dict[bool, Any]:
    """What a batch (True) and one event at a time (False) leave, each in a fresh store."""
    records = as_deliveries(events)
    found = {}
    for batched in (True, False):
        engine = create_engine(await migrated_database_url(request, backend, tmp_path))
        try:
            await upgrade(engine)
            found[batched] = await applied(engine, records, batched=batched)
        finally:
            await engine.dispose()
    return found


def told(found: dict[str, Any], subscription_id: str) -> list[tuple[str, str]]:
    """(CPR, kind) of each event numbered into the subscription, in number order."""
    return [
        (patient_key.removeprefix("cpr:"), kind)
        for sub, _, _, _, patient_key, _, kind in found["deliveries"]
        if sub == subscription_id
    ]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_batch_leaves_what_one_event_at_a_time_leaves(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    found = await both_ways(request, tmp_path, backend, interleaved_stays())
    # The case covers what it is about: stays, discharges told to residents' and notified
    # organisations' subscriptions over both channels, a cohort member flagged.
    assert {kind for _, kind, *_ in found[True]["log"]} >= {"admission", "discharge"}
    assert {sub for sub, *_ in found[True]["deliveries"]} == {s["id"] for s in SUBSCRIPTIONS}
    assert {status for _, _, status, *_ in found[True]["deliveries"]} == {LOGGED, PENDING}
    assert found[True]["outbox"]
    assert found[True] == found[False]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_who_is_told_is_decided_as_of_the_event_not_the_end_of_the_batch(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    refused_later, withdrawn_later, moved_away, moved_in, died, refused_then_died = (
        "0101709995",
        "0202709995",
        "0303709995",
        "0404709995",
        "0505709995",
        "0606709995",
    )
    start = clock.days_from_now(-10)

    def at(hours: int) -> datetime:
        return start + timedelta(hours=hours)

    events = [
        consent_event(withdrawn_later, "active", at(0)),
        consent_event(refused_then_died, "active", at(0)),
        *stay_events(refused_later, "V1", "730", at(1), None),
        *stay_events(withdrawn_later, "V2", "730", at(1), None),
        *stay_events(moved_away, "V3", "730", at(1), None),
        *stay_events(moved_in, "V4", "751", at(1), None, notified=True),
        *stay_events(died, "V5", "730", at(1), None),
        *stay_events(refused_then_died, "V6", "730", at(1), None),
        *stay_events(refused_later, "V1", "730", at(1), at(5)),
        *stay_events(withdrawn_later, "V2", "730", at(1), at(5)),
        *stay_events(moved_away, "V3", "730", at(1), at(5)),
        *stay_events(moved_in, "V4", "751", at(1), at(5), notified=True),
        *stay_events(died, "V5", "730", at(1), at(5)),
        *stay_events(refused_then_died, "V6", "730", at(1), at(5)),
        # Later in the same batch:
        consent_event(refused_later, "active", at(6)),
        consent_event(withdrawn_later, "inactive", at(6)),
        *moved(moved_away, "751", at(6)),
        *moved(moved_in, "730", at(6)),
        *moved(died, "730", at(7), died=True),
        *moved(refused_then_died, "730", at(7), died=True),
        *stay_events(moved_in, "V7", "730", at(8), None),
    ]
    found = await both_ways(request, tmp_path, backend, events)
    assert found[True] == found[False]
    # As of each discharge: the refusal recorded after it does not take it back, the
    # refusal withdrawn after it still held it back; who lived in 730 then is told.
    assert told(found[True], "sub-730") == [
        (refused_later, "discharge"),
        (moved_away, "discharge"),
        (died, "discharge"),
    ]
    assert told(found[True], "hook-730") == [
        (refused_later, "admission"),
        (moved_away, "admission"),
        (died, "admission"),
        (refused_later, "discharge"),
        (moved_away, "discharge"),
        (died, "discharge"),
        (died, "death"),  # the refused patient's death is told to nobody
        (moved_in, "admission"),  # living in 730 by the time of this stay
    ]
    # The organisation the hospital notified is told whatever the residence.
    assert told(found[True], "sub-notified") == [(moved_in, "discharge")]


# --- random batches ----------------------------------------------------------------------

PATIENTS = CPRS[:2]


@dataclass(frozen=True)
class Step:
    patient: int
    action: str  # stay (admit, else discharge the open stay), move, refuse, withdraw, die
    kommune: str = "730"


steps = st.lists(
    st.builds(
        Step,
        patient=st.integers(0, len(PATIENTS) - 1),
        action=st.sampled_from(["stay", "stay", "stay", "move", "refuse", "withdraw", "die"]),
        kommune=st.sampled_from(["730", "751"]),
    ),
    min_size=2,  # a batch of one is applied one at a time
    max_size=14,
)


def step_events(chosen: Sequence[Step]) -> list[InboundEvent]:
    """The events of ``chosen``, an hour apart: each patient's stays one after another."""
    start = clock.days_from_now(-10)
    kommune = {cpr: "730" for cpr in PATIENTS}
    open_stay: dict[str, tuple[str, datetime] | None] = {cpr: None for cpr in PATIENTS}
    events: list[InboundEvent] = []
    for n, step in enumerate(chosen):
        cpr, at = PATIENTS[step.patient], start + timedelta(hours=n)
        if step.action == "stay":
            stay = open_stay[cpr]
            notified = step.kommune == "751"  # some stays notified, some not
            if stay is None:
                open_stay[cpr] = (f"V{step.patient}{n}", at)
                events += stay_events(cpr, f"V{step.patient}{n}", kommune[cpr], at, None)
            else:
                open_stay[cpr] = None
                events += stay_events(cpr, stay[0], kommune[cpr], stay[1], at, notified=notified)
        elif step.action in ("move", "die"):
            kommune[cpr] = step.kommune
            events += moved(cpr, step.kommune, at, died=step.action == "die")
        else:
            events.append(
                consent_event(cpr, "active" if step.action == "refuse" else "inactive", at)
            )
    return events


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_template(tmp_path_factory.mktemp("consumer-batches"))


@settings(
    max_examples=worlds(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(chosen=steps)
def test_random_batches_tell_whom_one_event_at_a_time_tells(
    template: Path, chosen: list[Step]
) -> None:
    records = as_deliveries(step_events(chosen))

    async def both() -> tuple[Any, Any]:
        batched = await in_store(template, lambda e: applied(e, records, batched=True))
        one_by_one = await in_store(template, lambda e: applied(e, records, batched=False))
        return batched, one_by_one

    batched, one_by_one = asyncio.run(both())
    assert batched == one_by_one


# --- the log refusing an event kept back ----------------------------------------------


async def test_an_event_the_log_already_has_gets_no_deliveries_and_leaves_no_gap(
    engine: AsyncEngine,
) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.subscriptions.create(**SUBSCRIPTIONS[0])
        entry: dict[str, Any] = {
            "patient_key": cpr_patient_key(CPRS[0]),
            "kind": "discharge",
            "resource_type": "Encounter",
            "resource_id": "stay-1",
            "version_id": 2,
            "at": clock.now(),
            "recorded_at": clock.now(),
            "sector": HOSPITAL.sector.value,
            "org": HOSPITAL.org,
            "event_id": "e1",
        }
        assert await uow.pathway_events.append(**entry) is not None  # logged already
        kept = [KeptDelivery("sub-730", LOGGED, clock.now())]
        uow.pathway_events.append_later(**entry, deliveries=kept)
        uow.pathway_events.append_later(**{**entry, "resource_id": "stay-2"}, deliveries=kept)
        uow.pathway_events.append_later(**{**entry, "resource_id": "stay-3"}, deliveries=kept)
        await uow.pathway_events.flush()
        await uow.commit()
    found = await left(engine)
    assert [
        (number, resource_id) for _, number, _, _, _, resource_id, _ in found["deliveries"]
    ] == [
        (1, "stay-2"),
        (2, "stay-3"),
    ]
    async with UnitOfWork(engine) as uow:
        subscription = await uow.subscriptions.get("sub-730")
    assert subscription is not None and subscription.last_event_number == 2
