"""Every record has one owner, against adversaries: random worlds of hostile senders.

Each world has two organisations of every sector and two municipalities (Randers,
730, where the patient lives; and Norddjurs, 707). An honest hospital admits the
patient over HL7 v2, another honest hospital sends a MedCom HospitalNotification, and
the first records the patient's consent. Then adversaries, each with a valid token of
its own, re-use the hospitals' identifiers (visit number, FHIR id, episode of care),
post Patients that move the patient or declare them dead (some timed in the future),
re-send the MedCom bundle as their own, and try to revoke the hospital's consent.
(Recording a consent that grants oneself access is the data-controller rules' concern,
tested with them.)

Afterwards, whatever the adversaries did:

- no stored record changed owner, and none of the honest records changed;
- unless an adversary is itself a source the policy trusts with the residence (a
  hospital or psychiatry), every viewer sees exactly the honest records it saw
  before, as it saw them, the residence (and with it the municipalities'
  notification basis) is unchanged, and nobody is dead;
- every revocation by an outsider was refused, and the consent is in force.

The number of worlds per run is ``BROBYGGER_ADVERSARY_WORLDS`` (100 by default; the
nightly-style run in docs/testing.md uses 10,000).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.pathway_events import PathwayEventDeriver
from consumers.pathway_facts import PathwayFactsObserver
from consumers.projection import ResourceProjection
from hub.bootstrap import build_adapters, units_over
from hub.config import Settings
from hub.domain.cohort import CohortRule
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.events import InboundEvent
from hub.domain.identifiers import cpr_patient_key
from hub.domain.person import has_died, residence
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.auth import Principal
from hub.services.consent.read import consented_view, viewer_of
from hub.services.consent.record import (
    ConsentError,
    ConsentRequest,
    find_consent,
    record_consent,
    revoke_consent,
)
from hub.services.intake import IntakeService, Rejected
from hub.store.database import create_engine
from hub.store.tables import pathway_events
from hub.store.unit_of_work import UnitOfWork
from tests.samples import sample
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.store_templates import in_store, migrated_template


@dataclass(frozen=True)
class Org:
    name: str  # also its HL7 sending facility (MSH-4)
    sector: Sector
    sor: str
    kommune: str | None = None

    @property
    def principal(self) -> Principal:
        return Principal(
            sub=f"{self.name}-system",
            sector=self.sector,
            org=self.sor,
            kommune=self.kommune,
            aliases=frozenset({f"hl7:{self.name}"}),
        )

    @property
    def sender(self) -> Sender:
        return self.principal.as_sender()


ADT_HOSPITAL = Org("RHR", Sector.HOSPITAL, "100000001")
MEDCOM_HOSPITAL = Org("HGH", Sector.HOSPITAL, "265161000016000")
ADVERSARIES = (
    Org("AUH", Sector.HOSPITAL, "200000002"),
    Org("PSYK1", Sector.PSYCHIATRY, "300000003"),
    Org("PSYK2", Sector.PSYCHIATRY, "300000004"),
    Org("RANDERS", Sector.MUNICIPALITY, "730000001", "730"),
    Org("NORDDJURS", Sector.MUNICIPALITY, "707000001", "707"),
    Org("LAEGE1", Sector.GP, "555555551"),
    Org("LAEGE2", Sector.GP, "555555552"),
    Org("KOORD", Sector.COORDINATOR, "999888771"),
)
EVERYONE = (ADT_HOSPITAL, MEDCOM_HOSPITAL, *ADVERSARIES)
SAMPLE_CPR = "1204531118"  # the MedCom sample's patient, replaced by each world's own
REGISTER_SOURCES = (Sector.HOSPITAL, Sector.PSYCHIATRY)  # the documented default
WORLDS = int(os.environ.get("BROBYGGER_ADVERSARY_WORLDS") or "100")

# --- what adversaries do ------------------------------------------------------------------


@dataclass(frozen=True)
class Attack:
    kind: str
    by: Org
    district: str = "707"
    future: bool = False
    deceased: bool = False


attacks = st.builds(
    Attack,
    kind=st.sampled_from(["patient", "visit", "fhir-id", "medcom", "revoke"]),
    by=st.sampled_from(ADVERSARIES),
    district=st.sampled_from(["707", "730", "101"]),
    future=st.booleans(),
    deceased=st.booleans(),
)


@dataclass
class World:
    engine: AsyncEngine
    intake: IntakeService
    cpr: str
    visit: str
    episode: str
    consent_identifier: str = ""

    @property
    def key(self) -> str:
        return cpr_patient_key(self.cpr)


_serials = itertools.count(1000)


def world_cpr() -> str:
    return f"0101{next(_serials) % 100:02d}{next(_serials) % 10000:04d}"


def medcom_notification(world: World, sender: Org) -> bytes:
    """The MedCom sample, about this world's patient and stay, sent by ``sender``."""
    text = sample("medcom/hospitalnotification-stin.json").decode()
    bundle = json.loads(text.replace(SAMPLE_CPR, world.cpr))
    entries = bundle["entry"]
    header = entries[0]["resource"]
    for entry in entries:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            for episode in resource["episodeOfCare"]:
                episode["identifier"]["value"] = world.episode
        if entry["fullUrl"] == header["sender"]["reference"]:
            resource["identifier"] = [{"system": "urn:oid:1.2.208.176.1.1", "value": sender.sor}]
    return orjson.dumps(bundle)


def patient_json(world: World, attack: Attack) -> bytes:
    when = clock.days_from_now(365 * 70) if attack.future else clock.days_from_now(-1)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": "borger",
        "meta": {"lastUpdated": clock.iso(when)},
        "identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": world.cpr}],
        "name": [{"family": "Falsk"}],
        "address": [{"use": "home", "district": attack.district}],
    }
    if attack.deceased:
        patient["deceasedDateTime"] = clock.iso(clock.days_from_now(-1))
    return orjson.dumps(patient)


async def attack(world: World, move: Attack) -> None:
    sender = move.by.sender
    try:
        if move.kind == "patient":
            await world.intake.accept("fhir", patient_json(world, move), sender)
        elif move.kind == "visit":  # the hospital's visit number, under its own facility
            message = adt(
                "A03",
                cpr=world.cpr,
                visit=world.visit,
                kommune=move.district,
                discharged=clock.hl7(clock.days_from_now(-1)),
                recorded=clock.hl7(clock.days_from_now(-1)),
            ).replace(b"|ADT|RHR|", f"|ADT|{move.by.name}|".encode())
            await world.intake.accept("hl7v2", message, sender)
        elif move.kind == "fhir-id":  # the hospital's stored Encounter id, cancelled
            async with UnitOfWork(world.engine) as uow:
                stays = await uow.resources.for_patient(world.key, resource_types=("Encounter",))
            for stay in stays:
                cancelled = {**stay.content, "status": "entered-in-error"}
                cancelled.pop("meta", None)
                await world.intake.accept("fhir", orjson.dumps(cancelled), sender)
        elif move.kind == "medcom":
            await world.intake.accept("medcom", medcom_notification(world, move.by), sender)
        else:
            cpr, identifier = world.cpr, world.consent_identifier.split("|", 1)[1]
            with pytest.raises(ConsentError):
                await revoke_consent(
                    units_over(world.engine),
                    world.intake,
                    move.by.principal,
                    cpr,
                    identifier,
                    wait_seconds=0,
                )
    except Rejected:
        pass  # refused at the door: kept as a dead letter, nothing written
    await apply(world)


# --- the world ----------------------------------------------------------------------------


async def apply(world: World) -> None:
    """Hand what intake accepted to the projection and its observers, in order."""
    projection = ResourceProjection(
        observers=[PathwayFactsObserver(CohortRule()), PathwayEventDeriver(DEFAULT_POLICY)]
    )
    while True:
        async with UnitOfWork(world.engine) as uow:
            pending = await uow.outbox.pending(100)
            if not pending:
                return
            for record in pending:
                await projection.handle(InboundEvent.from_bytes(record.payload), uow)
            await uow.outbox.mark_published([record.id for record in pending])
            await uow.commit()


async def honest_world(engine: AsyncEngine) -> World:
    world = World(
        engine, IntakeService(units_over(engine), ADAPTERS), world_cpr(), "V1", str(uuid.uuid4())
    )
    admitted = clock.hl7(clock.days_from_now(-3))
    admission = adt(
        "A01", cpr=world.cpr, visit=world.visit, kommune="730", admitted=admitted, recorded=admitted
    )
    await world.intake.accept("hl7v2", admission, ADT_HOSPITAL.sender)
    notification = medcom_notification(world, MEDCOM_HOSPITAL)
    await world.intake.accept("medcom", notification, MEDCOM_HOSPITAL.sender)
    await apply(world)  # the hospital holds the stays before it records a consent for them
    request = ConsentRequest(cpr=world.cpr, decision="permit", organisations=["555555551"])
    recorded = await record_consent(
        units_over(engine), world.intake, ADT_HOSPITAL.principal, request, wait_seconds=0
    )
    world.consent_identifier = recorded.identifier
    await apply(world)
    return world


@dataclass(frozen=True)
class Snapshot:
    records: dict[tuple[str, str], tuple[str, Any]]  # (type, id): (owner, content)
    views: dict[str, dict[tuple[str, str], Any]]  # viewer: (type, id): content shown
    residence: str | None
    died: bool
    deaths: int


async def snapshot(world: World) -> Snapshot:
    async with UnitOfWork(world.engine) as uow:
        stored = await uow.resources.for_patient(world.key)
        views = {}
        for org in EVERYONE:
            view = await consented_view(
                uow, viewer_of(org.principal), world.key, policy=DEFAULT_POLICY
            )
            views[org.name] = {
                (d.stored.resource_type, d.stored.id): d.content for d in view.entries
            }
    async with world.engine.connect() as connection:
        deaths = len(
            (
                await connection.execute(
                    select(pathway_events.c.seq).where(
                        pathway_events.c.patient_key == world.key, pathway_events.c.kind == "death"
                    )
                )
            ).all()
        )
    patients = [s for s in stored if s.resource_type == "Patient"]
    return Snapshot(
        records={
            (s.resource_type, s.id): (s.org, {k: v for k, v in s.content.items() if k != "meta"})
            for s in stored
        },
        views=views,
        residence=residence(patients, DEFAULT_POLICY),
        died=has_died(patients, DEFAULT_POLICY),
        deaths=deaths,
    )


def speaks_for_the_register(move: Attack) -> bool:
    """Whether ``move`` writes a Patient record from a source the policy trusts with the
    residence and death (a hospital or psychiatry, whatever its intent): such a source
    may move the patient, and with that who is notified; nobody else can."""
    writes_patient = move.kind in ("patient", "visit", "medcom")
    return writes_patient and move.by.sector in REGISTER_SOURCES


def check(before: Snapshot, after: Snapshot, moves: Sequence[Attack]) -> None:
    assert before.residence == "730"
    for key, (owner, content) in before.records.items():
        assert after.records[key] == (owner, content), key
    if any(speaks_for_the_register(move) for move in moves):
        return
    for viewer, seen in before.views.items():
        honest_now = {k: v for k, v in after.views[viewer].items() if k in before.records}
        assert honest_now == seen, viewer
    assert (after.residence, after.died, after.deaths) == ("730", False, 0)


ADAPTERS = build_adapters(Settings.from_env({}))


@dataclass(frozen=True)
class HonestStore:
    """A store holding the honest world before any adversary moves, copied for each
    world (the honest world is the same in every one; building it takes longer than
    most adversaries' moves)."""

    path: Path
    cpr: str
    visit: str
    episode: str
    consent_identifier: str
    before: Snapshot

    def world(self, engine: AsyncEngine) -> World:
        """The honest world over ``engine``, a copy of this store."""
        intake = IntakeService(units_over(engine), ADAPTERS)
        return World(engine, intake, self.cpr, self.visit, self.episode, self.consent_identifier)


def honest_store(directory: Path) -> HonestStore:
    path = directory / "honest.db"
    shutil.copyfile(migrated_template(directory), path)

    async def build() -> HonestStore:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            world = await honest_world(engine)
            before = await snapshot(world)
        finally:
            await engine.dispose()
        return HonestStore(
            path, world.cpr, world.visit, world.episode, world.consent_identifier, before
        )

    return asyncio.run(build())


async def play(honest: HonestStore, moves: Sequence[Attack]) -> None:
    async def body(engine: AsyncEngine) -> None:
        world = honest.world(engine)
        for move in moves:
            await attack(world, move)
        check(honest.before, await snapshot(world), moves)
        consent = await find_consent(
            units_over(engine), world.cpr, world.consent_identifier.split("|", 1)[1]
        )
        assert consent is not None and consent.content["status"] == "active"
        assert consent.org == ADT_HOSPITAL.sor

    await in_store(honest.path, body)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> HonestStore:
    """The honest world's store, copied for each world."""
    return honest_store(tmp_path_factory.mktemp("ownership"))


@pytest.mark.timeout(900)
@settings(
    max_examples=WORLDS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(moves=st.lists(attacks, min_size=1, max_size=5))
def test_no_adversary_changes_an_owners_record_or_anyones_view(
    honest: HonestStore, moves: list[Attack]
) -> None:
    asyncio.run(play(honest, moves))
