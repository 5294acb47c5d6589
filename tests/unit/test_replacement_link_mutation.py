"""GraphQL ``linkReplacementNumber``: an organisation holding records under a replacement
number (erstatningspersonnummer) links it to a CPR number through intake, and the CPR's
pathway then lists those records as consent allows; nobody else can link, and a caller
with no records under the number is answered as for a number the hub does not know.

Run in process on SQLite: the schema, intake (the hub's own ``patient-link`` format)
and the real projection applying the outbox, as the relay and consumers would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.patient_link_index import PatientLinkIndexer
from consumers.projection import ResourceProjection
from hub.bootstrap import units_over
from hub.domain.events import InboundEvent
from hub.domain.identifiers import owned_patient_id, patient_resource_id
from hub.domain.patient_links import with_link
from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.patient_link_record import LINK_FORMAT, PatientLinkRecords
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.tables import inbound_messages
from hub.store.unit_of_work import UnitOfWork
from schema.build import build_schema
from schema.context import HubContext

SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
LINKED = "0703921VJ5"  # the owner links it
OTHER = "1204852AB7"  # someone else's patient
UNKNOWN = "0101013XY9"  # no records anywhere
CPR = "0703921234"

OWNER = Principal("omsorg", Sector.MUNICIPALITY, "400000004", kommune="707")
KOMMUNE = Principal("visitation", Sector.MUNICIPALITY, "730000001", kommune="730")
HOSPITAL = Principal("epj", Sector.HOSPITAL, "100000001")  # authoritative, holds nothing
ELSEWHERE = Principal("sygepleje", Sector.MUNICIPALITY, "706000001", kommune="706")
PATIENT_ONLY = Principal("laege-b", Sector.GP, "300000009")
STRANGER = Principal("laege", Sector.GP, "300000003")

SCHEMA = build_schema(allow_introspection=False)
LINK = """
mutation Link($system: String!, $value: String!, $cpr: String!) {
  linkReplacementNumber(replacement: {system: $system, value: $value}, cpr: $cpr) {
    replacementNumber { system value } cpr effective
  }
}"""
UNLINK = """
mutation Unlink($system: String!, $value: String!) {
  unlinkReplacementNumber(replacement: {system: $system, value: $value}) { cpr effective }
}"""
PATHWAY = """
query P($cpr: String!) {
  pathway(cpr: $cpr) { linkedReplacementNumbers { system value } entries { id } }
}"""


def key(value: str) -> str:
    return f"{SYSTEM}|{value}"


async def save(
    uow: UnitOfWork, resource: dict[str, Any], value: str, who: Principal, n: int
) -> None:
    await uow.resources.save(
        resource,
        patient_key=key(value),
        sector=who.sector.value,
        org=who.org,
        event_id=f"event-{value}-{n}",
        controller=who.controller,
    )


def stay(value: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": f"stay-{name}",
        "status": "in-progress",
        "class": {"code": "HH"},
        "subject": {"reference": f"Patient/{patient_resource_id(key(value))}"},
    }


def record(value: str, who: Principal) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": owned_patient_id(key(value), who.org),
        "identifier": [{"system": SYSTEM, "value": value}],
        "name": [{"family": "Hansen", "given": ["Peter"]}],
    }


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """The owner's record and home-care stay under ``LINKED``; another kommune's stay
    under ``OTHER``; a general practice's Patient record alone under ``LINKED``."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('link') / 'hub.db'}")
    await upgrade(engine)
    async with UnitOfWork(engine) as uow:
        await save(uow, record(LINKED, OWNER), LINKED, OWNER, 1)
        await save(uow, stay(LINKED, "owner"), LINKED, OWNER, 2)
        await save(uow, record(LINKED, PATIENT_ONLY), LINKED, PATIENT_ONLY, 3)
        await save(uow, stay(OTHER, "elsewhere"), OTHER, ELSEWHERE, 4)
        await uow.commit()
    yield engine
    await engine.dispose()


async def drain(engine: AsyncEngine) -> None:
    """Apply what intake put in the outbox, as the relay and the projection would."""
    async with UnitOfWork(engine) as uow:
        records = await uow.outbox.pending(100)
        projection = ResourceProjection(observers=[PatientLinkIndexer()])
        for r in records:
            await projection.handle(InboundEvent.from_bytes(r.payload), uow)
        await uow.outbox.mark_published([r.id for r in records])
        await uow.commit()


async def ask(engine: AsyncEngine, viewer: Principal, query: str, **variables: Any) -> Any:
    """The query's answer, with the outbox applied beside it."""
    intake = IntakeService(units_over(engine), {}, own={LINK_FORMAT: PatientLinkRecords()})
    units = partial(UnitOfWork, engine)
    context = HubContext(viewer=viewer, intake=intake, units=units)
    task = asyncio.create_task(
        SCHEMA.execute(query, variable_values=variables, context_value=context)
    )
    while not task.done():
        await drain(engine)
        await asyncio.sleep(0.01)
    return await task


async def linked_ids(engine: AsyncEngine, viewer: Principal) -> tuple[list[Any], set[str]]:
    result = await ask(engine, viewer, PATHWAY, cpr=CPR)
    assert result.errors is None, result.errors
    pathway = result.data["pathway"]
    return pathway["linkedReplacementNumbers"], {e["id"] for e in pathway["entries"]}


def refusal(result: Any) -> tuple[str, str]:
    assert result.data is None
    [error] = result.errors
    return error.extensions["code"], error.message


async def test_the_owner_links_and_the_cpr_pathway_lists_its_records_to_those_who_may_see_them(
    engine: AsyncEngine,
) -> None:
    assert await linked_ids(engine, OWNER) == ([], set())

    linked = await ask(engine, OWNER, LINK, system=SYSTEM, value=LINKED, cpr="070392-1234")
    assert linked.errors is None, linked.errors
    assert linked.data["linkReplacementNumber"] == {
        "replacementNumber": {"system": SYSTEM, "value": LINKED},
        "cpr": CPR,
        "effective": True,
    }
    numbers, ids = await linked_ids(engine, OWNER)
    assert numbers == [{"system": SYSTEM, "value": LINKED}]
    assert "stay-owner" in ids
    # A viewer without a basis is shown nothing of it through the CPR number.
    assert await linked_ids(engine, STRANGER) == ([], set())
    # The act is an inbound message of the hub's own format, kept like any other.
    async with engine.connect() as connection:
        formats = (await connection.scalars(select(inbound_messages.c.format))).all()
    assert LINK_FORMAT in formats

    unlinked = await ask(engine, OWNER, UNLINK, system=SYSTEM, value=LINKED)
    assert unlinked.errors is None, unlinked.errors
    assert unlinked.data["unlinkReplacementNumber"] == {"cpr": None, "effective": True}
    assert await linked_ids(engine, OWNER) == ([], set())


@pytest.mark.parametrize(
    "caller",
    [KOMMUNE, HOSPITAL, ELSEWHERE, PATIENT_ONLY],
    ids=[
        "another-kommune",
        "authoritative-holding-nothing",
        "owner-of-another-number",
        "patient-record-only",
    ],
)
async def test_anyone_else_cannot_link_and_is_answered_as_for_an_unknown_number(
    engine: AsyncEngine, caller: Principal
) -> None:
    refused = refusal(await ask(engine, caller, LINK, system=SYSTEM, value=LINKED, cpr=CPR))
    missing = refusal(await ask(engine, caller, LINK, system=SYSTEM, value=UNKNOWN, cpr=CPR))
    assert refused == missing
    assert refused[0] == "no-such-patient"
    assert LINKED not in refused[1]
    assert await linked_ids(engine, OWNER) == ([], set())


async def test_a_malformed_link_is_refused_with_its_code(engine: AsyncEngine) -> None:
    async def code(system: str, value: str, cpr: str) -> str:
        result = await ask(engine, OWNER, LINK, system=system, value=value, cpr=cpr)
        return refusal(result)[0]

    assert await code("urn:oid:1.2.3", LINKED, CPR) == "unknown-replacement-system"
    assert await code(f"{SYSTEM}|x", LINKED, CPR) == "unknown-replacement-system"
    assert await code(SYSTEM, "07 03", CPR) == "bad-replacement-number"
    assert await code(SYSTEM, LINKED, "3213709995") == "bad-cpr"


async def test_a_consent_recorded_under_a_number_makes_no_one_its_owner_for_a_link(
    engine: AsyncEngine,
) -> None:
    """Anyone may record a consent or refusal under a number; doing so and then writing
    a linking Patient record (as an accepted A40 from a non-authoritative sender would)
    must not link the number to a CPR number."""
    forged = "2202023CD4"
    consent = {
        "resourceType": "Consent",
        "id": "refusal-forged",
        "status": "active",
        "patient": {"reference": f"Patient/{patient_resource_id(key(forged))}"},
    }
    async with UnitOfWork(engine) as uow:
        await save(uow, consent, forged, KOMMUNE, 1)
        linking = with_link(record(forged, KOMMUNE), CPR)
        await save(uow, linking, forged, KOMMUNE, 2)
        # Indexed as the projection would: the index names candidates, the records decide.
        await uow.patient_links.replace(
            linking["id"], replacement_key=key(forged), cpr=CPR, version_id=1
        )
        await uow.commit()
    numbers, _ = await linked_ids(engine, KOMMUNE)
    assert {"system": SYSTEM, "value": forged} not in numbers
