"""Every corpus message, through its adapter and through intake into the store.

Parametrised over the corpus directory: a file added there is tested on the next
run. Accepted files must yield FHIR that hangs together (at most one hub Patient per
patient, everything else pointing at it) and the same output every time;
refused files must be refused at the element ``corpus.REFUSED`` names.
"""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.acknowledgements import AcknowledgementRecorder
from consumers.projection import ResourceProjection
from hub.bootstrap import build_adapters, units_over
from hub.bus.embedded import EmbeddedBus
from hub.config import TOPIC_INBOUND, Settings
from hub.domain.identifiers import CPR_SYSTEM, cpr_of, is_patient_key
from hub.domain.person import owned_record
from hub.domain.translation import Adapter, Translation, TranslationError
from hub.runtime.consumer_runner import ConsumerRunner
from hub.runtime.outbox_relay import OutboxRelay
from hub.services.intake import IntakeService, Rejected
from hub.store.tables import resources
from hub.store.unit_of_work import UnitOfWork
from tests.conformance.corpus import (
    EVENTS,
    FORMAT_OF_DIRECTORY,
    CorpusFile,
    corpus_files,
    patient_reference,
    sender_for,
    stream_outcomes,
)
from tests.conftest import CORPUS

pytestmark = pytest.mark.corpus

ADAPTERS = build_adapters(Settings.from_env({}))
FILES = corpus_files()
ACCEPTED = [file for file in FILES if file.refusal is None]
REFUSED = [file for file in FILES if file.refusal is not None]


def translate(file: CorpusFile) -> list[Translation]:
    adapter: Adapter = ADAPTERS[file.format]
    provisional = sender_for([])
    return list(adapter.translate(file.path.read_bytes(), provisional))


def test_every_corpus_directory_has_a_format() -> None:
    directories = {path.name for path in CORPUS.iterdir() if path.is_dir()}
    assert directories <= set(FORMAT_OF_DIRECTORY), "give new corpus directories a format"
    assert {file.format for file in FILES} <= set(ADAPTERS)


@pytest.mark.parametrize("file", ACCEPTED, ids=str)
def test_valid_message_is_accepted_as_coherent_fhir(file: CorpusFile) -> None:
    translations = translate(file)
    assert translations, "an accepted payload yields at least one message"
    assert translate(file) == translations, "translating again must give the same output"
    if file.name in EVENTS:
        assert [t.event for t in translations] == [EVENTS[file.name]]
    for translation in translations:
        if file.format in ("medcom", "oioxml"):
            assert translation.declared_sender is not None, "these formats name their sender"
        if not is_patient_key(translation.patient_key):
            continue
        reference = patient_reference(translation.patient_key)
        patients = [r for r in translation.resources if r["resourceType"] == "Patient"]
        # Correspondence names its patient but is no source of demographics: no Patient.
        assert len(patients) <= 1, "at most one hub Patient per patient message"
        for patient in patients:
            assert f"Patient/{patient['id']}" == reference
            identifiers = {(i.get("system"), i.get("value")) for i in patient.get("identifier", [])}
            cpr = cpr_of(translation.patient_key)
            if cpr is not None:
                assert (CPR_SYSTEM, cpr) in identifiers
            else:  # a patient the sender knows only by its own identifier (HL7 v2 only)
                assert file.format == "hl7v2"
                assert tuple(translation.patient_key.split("|", 1)) in identifiers
        for resource in translation.resources:
            if resource["resourceType"] not in ("Patient", "Organization", "HealthcareService"):
                assert reference.encode() in orjson.dumps(resource), (
                    f"{resource['resourceType']} does not point at the patient"
                )


@pytest.mark.parametrize("file", REFUSED, ids=str)
def test_invalid_message_is_refused_with_its_reason(file: CorpusFile) -> None:
    refusal = file.refusal
    assert refusal is not None
    with pytest.raises(TranslationError) as refused:
        translate(file)
    assert refused.value.where == refusal.where
    assert refusal.because in refused.value.what


async def consume(engine: AsyncEngine, bus: EmbeddedBus) -> None:
    for handler in (ResourceProjection(), AcknowledgementRecorder()):
        runner = ConsumerRunner(units_over(engine), bus, handler, retry_delay=0.01)
        subscription = bus.subscribe(handler.name, [TOPIC_INBOUND])
        await subscription.start()
        await runner.drain(subscription, max_wait=0.2)
        await subscription.stop()


async def stored_references(engine: AsyncEngine) -> set[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(resources.c.resource_type, resources.c.id))
        return {(row.resource_type, row.id) for row in rows}


async def test_the_whole_corpus_as_one_stream_into_the_store(sqlite_engine: AsyncEngine) -> None:
    """Every file, in order, into one hub: accepted ones are stored, the rest are kept
    as dead letters with their reason, and no consumer fails on anything accepted."""
    bus = EmbeddedBus(sqlite_engine, poll_interval=0.01)
    await bus.start()
    intake = IntakeService(units_over(sqlite_engine), ADAPTERS)
    expected = stream_outcomes(FILES)
    accepted: list[Translation] = []
    for file in FILES:
        translations = translate(file) if file.refusal is None else []
        sender = sender_for(translations)
        refusal = expected[file]
        if refusal is None:
            await intake.accept(file.format, file.path.read_bytes(), sender)
            # Ids are namespaced by the sending organisation: translate as this sender.
            accepted += [
                # Each organisation keeps its own Patient record.
                replace(
                    t,
                    resources=[owned_record(r, t.patient_key, sender.org) for r in t.resources],
                )
                for t in ADAPTERS[file.format].translate(file.path.read_bytes(), sender)
            ]
        else:
            with pytest.raises(Rejected) as rejected:
                await intake.accept(file.format, file.path.read_bytes(), sender)
            assert rejected.value.where == refusal.where, str(file)
            assert refusal.because in rejected.value.what, str(file)
    await OutboxRelay(units_over(sqlite_engine), bus, engine=sqlite_engine).drain()
    await consume(sqlite_engine, bus)
    await bus.stop()

    stored = await stored_references(sqlite_engine)
    for translation in accepted:
        for resource in translation.resources:
            assert (resource["resourceType"], resource["id"]) in stored
    async with UnitOfWork(sqlite_engine) as uow:
        letters = await uow.dead_letters.list(limit=None)
        acknowledgements = await uow.acknowledgements.list(limit=1000)
    assert [letter for letter in letters if letter.stage == "consumer"] == []
    assert len(letters) == sum(1 for outcome in expected.values() if outcome is not None)
    acknowledgement_files = [f for f in ACCEPTED if f.path.parent.name == "medcom-acknowledgement"]
    assert len(acknowledgements) >= len(acknowledgement_files)
