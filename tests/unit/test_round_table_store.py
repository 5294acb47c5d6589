"""The round-table index and reads through consent, in the store, on SQLite and PostgreSQL.

Resources are the real fhir-format translation of what the hub writes for a meeting,
applied by the real projection with the index observer, as the consumer applies them.
"""

from __future__ import annotations

from dataclasses import replace

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fhir import FhirAdapter
from consumers.round_table_index import RoundTableIndexer
from hub.bootstrap import units_over
from hub.domain.round_table import (
    Action,
    Meeting,
    Participant,
    Plan,
    appointment,
    care_plan,
    meeting_id,
    new_meeting,
    task,
)
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.services.auth import Principal
from hub.services.consent.record import ConsentRequest, consent_resource
from hub.services.round_table import round_tables
from hub.store.round_table import CONVENER, PARTICIPANT
from hub.store.tables import audit_events
from hub.store.unit_of_work import UnitOfWork
from tests.support.inbound_events import inbound_event, project

CPR = "1507709994"
REASON = "Gentagne akutte indlaeggelser"
HOSPITAL, MUNICIPALITY, GP = "100000001", "730-sundhed", "555555555"
CONVENER_SYSTEM = Sender(Sector.HOSPITAL, HOSPITAL, "roundtables")
HOSPITAL_STAFF = Principal("afd-m3", Sector.HOSPITAL, HOSPITAL)
MUNICIPAL_STAFF = Principal("randers", Sector.MUNICIPALITY, MUNICIPALITY, kommune="730")
GP_STAFF = Principal("lægehus", Sector.GP, GP)


def meeting(*invited: Participant) -> Meeting:
    return new_meeting(
        "k1",
        CPR,
        REASON,
        Participant(HOSPITAL, Sector.HOSPITAL),
        invited or (Participant(MUNICIPALITY, Sector.MUNICIPALITY), Participant(GP, Sector.GP)),
        "2025-12-01T10:00:00+01:00",
        None,
    )


def put(resource: FhirJson, system: str, value: str) -> FhirJson:
    url = f"{resource['resourceType']}?identifier={system}|{value}"
    return {"resource": resource, "request": {"method": "PUT", "url": url}}


async def apply(engine: AsyncEngine, *entries: FhirJson) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}
    (translation,) = FhirAdapter().translate(orjson.dumps(bundle), CONVENER_SYSTEM)
    event = inbound_event("fhir", translation, CONVENER_SYSTEM)
    await project(engine, event, [RoundTableIndexer()])


async def consent_to(engine: AsyncEngine, organisations: list[str]) -> None:
    """The patient's consent, recorded at the hospital, to ``organisations`` seeing it all."""
    consent = consent_resource(
        ConsentRequest(cpr=CPR, decision="permit", organisations=organisations),
        HOSPITAL_STAFF,
        "c1",
        "active",
    )
    await apply(engine, put(consent, "urn:brobygger:consent", "c1"))


async def convene_with_plan(engine: AsyncEngine, convened: Meeting) -> None:
    plan = Plan(
        convened.key,
        ("Stabil bolig",),
        MUNICIPALITY,
        (Action("a1", "Bostøtte", MUNICIPALITY, due="2025-12-15", authored="2025-11-22"),),
    )
    # The hospital's own stay: its basis for convening about the patient.
    stay = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": convened.cpr}},
        "period": {"start": "2025-11-01T08:00:00+01:00", "end": "2025-11-04T12:00:00+01:00"},
    }
    await apply(
        engine,
        put(stay, "urn:brobygger:visit", "v1"),
        put(appointment(convened), "urn:brobygger:round-table", convened.key),
        put(care_plan(plan, convened, "2025-11-22"), "urn:brobygger:round-table-plan", "k1"),
        put(task(plan.actions[0], convened.key, CPR), "urn:brobygger:round-table-action", "a1"),
    )


async def test_the_index_follows_the_meeting_and_every_listing_goes_through_consent(
    engine: AsyncEngine,
) -> None:
    convened = meeting()
    await convene_with_plan(engine, convened)
    the_id = meeting_id(HOSPITAL, "k1")
    async with UnitOfWork(engine) as uow:
        assert [(m.appointment_id, m.role) for m in await uow.round_tables.for_org(HOSPITAL)] == [
            (the_id, CONVENER)
        ]
        assert [(m.appointment_id, m.role) for m in await uow.round_tables.for_org(GP)] == [
            (the_id, PARTICIPANT)
        ]

    # No consent yet: the invited see the invitation, and nothing of the plan.
    for staff in (GP_STAFF, MUNICIPAL_STAFF):
        (invitation,) = await round_tables(units_over(engine), staff)
        assert invitation.invitation_only and invitation.cpr is None and invitation.plan is None
        assert REASON not in orjson.dumps(invitation.appointment.content).decode()
        assert CPR not in orjson.dumps(invitation.appointment.content).decode()
    (convener_view,) = await round_tables(units_over(engine), HOSPITAL_STAFF)
    assert convener_view.coverage == {HOSPITAL: True, MUNICIPALITY: False, GP: False}
    assert convener_view.plan is not None and convener_view.cpr == CPR

    # The patient consents to the municipality: decided at read time, it now sees it all.
    await consent_to(engine, [MUNICIPALITY])
    (full,) = await round_tables(units_over(engine), MUNICIPAL_STAFF, CPR)
    assert not full.invitation_only and full.cpr == CPR and full.coverage is None
    assert full.plan is not None and [a.content["description"] for a in full.plan.actions] == [
        "Bostøtte"
    ]
    # The GP still has only the invitation, and only in its own list: asked by CPR
    # number, nothing answers, so trying numbers cannot tell whose meeting it is.
    (gp_view,) = await round_tables(units_over(engine), GP_STAFF)
    assert gp_view.invitation_only
    assert await round_tables(units_over(engine), GP_STAFF, CPR) == []

    # The GP is dropped from the meeting: the index and its listing forget it; the same
    # version applied again changes nothing.
    revised = replace(convened, participants=convened.participants[:2])
    for _ in range(2):
        await apply(engine, put(appointment(revised), "urn:brobygger:round-table", "k1"))
    assert await round_tables(units_over(engine), GP_STAFF) == []
    async with UnitOfWork(engine) as uow:
        assert await uow.round_tables.for_org(GP) == []
        assert len(await uow.round_tables.for_org(MUNICIPALITY)) == 1
        stored = await uow.resources.get("Appointment", the_id)
        reads = (
            await uow.connection.execute(
                select(audit_events.c.org).where(audit_events.c.action == "roundtable.read")
            )
        ).all()
    assert stored is not None and stored.version_id == 2
    # Every listing that showed something, and every look-up by CPR number, was audited;
    # the GP's empty list of its own meetings not.
    assert sorted(org for (org,) in reads) == sorted(
        [GP, MUNICIPALITY, HOSPITAL, MUNICIPALITY, GP, GP]
    )
