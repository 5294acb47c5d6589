"""Delivered events tell the stay as of the event, through the consent choke point.

On SQLite and PostgreSQL alike: the real HL7 v2 and plain FHIR translations, applied
by the real projection with the pathway event observer, then read as a subscriber
catching up reads them (``events_after``) or as a webhook is sent (``render_deliveries``).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fhir import FhirAdapter
from hub.bootstrap import units_over
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.events import InboundEvent
from hub.domain.identifiers import cpr_patient_key
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.auth import Principal
from hub.services.consent.record import ConsentRequest, consent_resource
from hub.services.pathway_events import PathwayEventMessage, events_after, render_deliveries
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.pathway_event_subscriptions import WEBHOOK, WEBSOCKET
from hub.store.tables import pathway_events, resource_versions
from hub.store.unit_of_work import UnitOfWork
from tests.conftest import REPO
from tests.contract.test_subscriptions_store import (
    CPR,
    HOSPITAL,
    apply,
    inbound,
)
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.inbound_events import published_event
from tests.support.subscriptions import RANDERS, randers_subscription
from tests.unit.test_pathway_events_destination import with_pv1

BOTH = ("admission", "discharge")
WARD_CLERK = Principal("ward-clerk", Sector.HOSPITAL, HOSPITAL.org)


def admission(visit: str = "V1") -> InboundEvent:
    return inbound(adt("A01", cpr=CPR, visit=visit, kommune="730", recorded="20261101080000"))


def discharge(visit: str = "V1") -> InboundEvent:
    message = adt(
        "A03",
        cpr=CPR,
        visit=visit,
        kommune="730",
        discharged="20261104113000",
        recorded="20261104113000",
    )
    return inbound(with_pv1(message, f36="01^Udskrevet til eget hjem^HL70112", f37="HJEM"))


async def pull(engine: AsyncEngine, subscription_id: str) -> list[PathwayEventMessage]:
    return await events_after(
        units_over(engine), RANDERS, subscription_id, 0, 100, policy=DEFAULT_POLICY
    )


async def record(engine: AsyncEngine, decision: str, **fields: Any) -> None:
    """A consent the hospital records for its data (the custodian that may permit)."""
    request = ConsentRequest(cpr=CPR, decision=decision, **fields)
    consent = consent_resource(request, WARD_CLERK, decision, "active")
    async with UnitOfWork(engine) as uow:
        await uow.resources.save(
            {**consent, "id": f"consent-{decision}"},
            patient_key=cpr_patient_key(CPR),
            sector="hospital",
            org=HOSPITAL.org,
            event_id=f"consent-{decision}",
        )
        await uow.commit()


async def test_an_admission_caught_up_after_the_discharge_shows_the_stay_as_admitted(
    engine: AsyncEngine,
) -> None:
    feed = await randers_subscription(engine, WEBSOCKET, BOTH)
    await apply(engine, admission())
    (live,) = await pull(engine, feed)
    await apply(engine, discharge())
    caught_up, discharged = await pull(engine, feed)

    assert caught_up.kind == "admission" and caught_up.encounter is not None
    assert caught_up.encounter["status"] == "in-progress"
    assert "end" not in caught_up.encounter["period"]
    assert caught_up.to_json() == live.to_json()  # catching up tells what live delivery told
    assert caught_up.disclosed == (f"Encounter/{caught_up.encounter_id}/_history/1",)

    assert discharged.encounter is not None
    assert discharged.encounter["status"] == "finished"
    assert discharged.encounter["period"]["end"] == "2026-11-04T11:30:00+01:00"
    assert discharged.disclosed == (f"Encounter/{discharged.encounter_id}/_history/2",)


async def test_the_discharge_carries_its_destination_to_whoever_may_see_the_stay(
    engine: AsyncEngine,
) -> None:
    hook = await randers_subscription(engine, WEBHOOK, BOTH)
    await apply(engine, admission())
    await apply(engine, discharge())

    # The residence municipality's notification basis: the notification fields only.
    _, notified = await pull(engine, hook)
    assert notified.encounter is not None
    assert set(notified.encounter) == {
        "resourceType",
        "id",
        "status",
        "class",
        "period",
        "serviceProvider",
    }

    # Under the patient's consent to share the hospital's data with the municipality.
    await record(engine, "permit", organisations=[RANDERS.org])
    admitted, discharged = await pull(engine, hook)
    assert discharged.encounter is not None
    assert discharged.encounter["hospitalization"] == {
        "dischargeDisposition": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0112",
                    "code": "01",
                    "display": "Udskrevet til eget hjem",
                }
            ]
        },
        "destination": {"display": "HJEM"},
    }
    assert discharged.encounter["location"][0]["location"] == {"display": "MED3 (RHR)"}
    assert "reasonCode" not in discharged.encounter and "meta" not in discharged.encounter
    assert admitted.encounter is not None and "hospitalization" not in admitted.encounter

    # A snapshot is never shown to one who may not see the stay now.
    await record(engine, "deny")
    subscription = await _subscription(engine, hook)
    async with UnitOfWork(engine) as uow:
        deliveries = await uow.subscriptions.deliveries_after(hook, 0, 10)
        rendered = await render_deliveries(uow, DEFAULT_POLICY, subscription, deliveries)
        await uow.commit()
    assert [(m.withheld, m.encounter, m.cpr) for m in rendered] == [(True, None, None)] * 2


async def _subscription(engine: AsyncEngine, subscription_id: str) -> Any:
    async with UnitOfWork(engine) as uow:
        found = await uow.subscriptions.get(subscription_id)
    assert found is not None
    return found


def fhir_event(payload: bytes, sender: Sender) -> InboundEvent:
    (translation,) = [
        t
        for t in FhirAdapter().translate(payload, sender)
        if any(r["resourceType"] == "Encounter" for r in t.resources)
    ]
    return published_event("fhir", translation, sender)


async def test_visits_that_are_no_stays_log_no_event(engine: AsyncEngine) -> None:
    """The addiction centre's visit and the municipal reception visit (the worked examples),
    and a hospital's outpatient visit: finished, with an end, and no DISCHARGE."""
    await randers_subscription(
        engine, WEBHOOK, ("admission", "discharge", "leave-start", "leave-end")
    )
    randers = Sender(Sector.MUNICIPALITY, "478941000016003", "randers-omsorg", frozenset())
    examples = REPO / "docs" / "examples" / "municipal"
    for name in ("rusmiddelcenter-kontakt-opnaaet.json", "kom-godt-hjem-modtagebesoeg.json"):
        await apply(engine, fhir_event((examples / name).read_bytes(), randers))
    meeting: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": "vum-1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
        "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": CPR}},
        "period": {"start": "2026-11-03T13:00:00+01:00", "end": "2026-11-03T13:45:00+01:00"},
    }
    await apply(engine, fhir_event(orjson.dumps(meeting), HOSPITAL))
    for trigger, discharged in (("A01", ""), ("A03", "20261101084000")):
        message = adt(trigger, cpr=CPR, visit="AMB1", patient_class="O", discharged=discharged)
        await apply(engine, inbound(message))
    async with engine.connect() as connection:
        logged = await connection.scalar(select(func.count()).select_from(pathway_events))
    assert logged == 0


async def test_events_logged_before_revision_0010_get_the_state_of_their_version(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    await upgrade(engine, "0009")
    key, stay = cpr_patient_key(CPR), "stay-1"
    admitted: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": stay,
        "status": "in-progress",
        "class": {"code": "IMP"},
        "period": {"start": "2026-11-01T08:00:00+01:00"},
        "reasonCode": [{"text": "kept out of the state"}],
    }
    discharged = {**admitted, "status": "finished", "period": {**admitted["period"], "end": "x"}}
    at = clock.now()
    common = {"patient_key": key, "sector": "hospital", "org": HOSPITAL.org}
    async with engine.begin() as connection:
        await connection.execute(
            insert(resource_versions),
            [
                {"resource_type": "Encounter", "id": stay, "version_id": number, "content": body}
                | {"last_updated": at, "controller": "region", "event_id": f"e{number}"}
                | common
                for number, body in ((1, admitted), (2, discharged))
            ],
        )
        await connection.execute(
            insert(pathway_events),
            [
                {"kind": kind, "resource_type": "Encounter", "resource_id": stay}
                | {"version_id": number, "at": at, "recorded_at": at, "event_id": f"e{number}"}
                | common
                for kind, number in (
                    ("admission", 1),
                    ("discharge", 2),
                    ("alert-reception-visit-missing", 2),
                )
            ],
        )
    await upgrade(engine)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(pathway_events.c.kind, pathway_events.c.state).order_by(pathway_events.c.seq)
            )
        ).all()
    await engine.dispose()
    states = {row.kind: row.state for row in rows}
    assert states["admission"] == {k: v for k, v in admitted.items() if k != "reasonCode"}
    assert states["discharge"]["status"] == "finished"
    assert states["alert-reception-visit-missing"] is None
