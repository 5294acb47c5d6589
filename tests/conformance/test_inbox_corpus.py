"""The published corpus's letters and referrals land in their addressees' inboxes.

Every message of the corpus and of ``tests/samples/`` the hub accepts goes through
intake into one store with the real inbox observer (``consumers.inbox``); then every
stored Communication (MedCom CareCommunication, OIOXML letters) has filed one
correspondence item to each recipient it names, and every active ServiceRequest (an
OIOXML referral) one referral item to each performer, and nothing to its own sender.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from consumers.inbox import InboxFiler
from consumers.pathway_events import PathwayEventDeriver
from consumers.projection import ResourceProjection
from hub.bus.embedded import EmbeddedBus
from hub.config import TOPIC_INBOUND
from hub.domain.consent import DEFAULT_POLICY, SOR_IDENTITY
from hub.runtime.consumer_runner import ConsumerRunner
from hub.runtime.outbox_relay import OutboxRelay
from hub.services.inbox.filing import message_addressees
from hub.services.intake import IntakeService, Rejected
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.tables import inbox_items, resources
from tests.conformance.corpus import sender_for
from tests.conformance.test_corpus import ADAPTERS
from tests.conformance.test_event_table import files

pytestmark = pytest.mark.corpus


async def test_every_letter_and_referral_reaches_each_addressee_and_never_its_sender(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    await upgrade(engine)
    try:
        intake = IntakeService(engine, ADAPTERS)
        for file in files():
            body = file.path.read_bytes()
            translations = list(ADAPTERS[file.format].translate(body, sender_for([])))
            try:
                await intake.accept(file.format, body, sender_for(translations))
            except Rejected:
                continue
        bus = EmbeddedBus(engine, poll_interval=0.01)
        await bus.start()
        await OutboxRelay(engine, bus).drain()
        observers = [PathwayEventDeriver(DEFAULT_POLICY), InboxFiler(DEFAULT_POLICY)]
        projection = ResourceProjection(observers=observers)
        runner = ConsumerRunner(engine, bus, projection, retry_delay=0.01)
        subscription = bus.subscribe(projection.name, [TOPIC_INBOUND])
        await subscription.start()
        await runner.drain(subscription, max_wait=0.2)
        await subscription.stop()
        await bus.stop()
        async with engine.connect() as connection:
            stored = (
                await connection.execute(
                    select(
                        resources.c.resource_type,
                        resources.c.id,
                        resources.c.org,
                        resources.c.content,
                    ).where(resources.c.resource_type.in_(("Communication", "ServiceRequest")))
                )
            ).all()
            filed = {
                (row.resource_type, row.resource_id, row.kind, row.recipient)
                for row in (await connection.execute(select(inbox_items))).all()
            }
    finally:
        await engine.dispose()

    expected = set()
    for row in stored:
        if row.resource_type == "ServiceRequest" and row.content.get("status") != "active":
            continue
        kind = "correspondence" if row.resource_type == "Communication" else "referral"
        for addressee in message_addressees(row.content, row.resource_type):
            if addressee != f"{SOR_IDENTITY}:{row.org}":
                expected.add((row.resource_type, row.id, kind, addressee))
    assert {kind for _, _, kind, _ in expected} == {"correspondence", "referral"}
    assert len(expected) >= 20
    assert filed == expected  # each addressee once; the sender never
