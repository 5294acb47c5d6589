"""The published corpus's letters and referrals land in their addressees' inboxes.

Every message of the corpus and of ``tests/samples/`` the hub accepts goes through
intake into one store with the real inbox observer (``consumers.inbox``); then every
stored Communication (MedCom CareCommunication, OIOXML letters) has filed one
correspondence item to each recipient it names, and every active ServiceRequest (an
OIOXML referral) one referral item to each performer, and nothing to its own sender.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.inbox import InboxFiler
from consumers.pathway_events import PathwayEventDeriver
from hub.bootstrap import units_over
from hub.domain.consent import DEFAULT_POLICY, SOR_IDENTITY
from hub.services.inbox.filing import message_addressees
from hub.services.intake import IntakeService, Rejected
from hub.store.tables import inbox_items, resources
from tests.conformance.corpus import sender_for
from tests.conformance.test_corpus import ADAPTERS
from tests.conformance.test_event_table import files
from tests.support.projection import project_everything

pytestmark = pytest.mark.corpus


async def test_every_letter_and_referral_reaches_each_addressee_and_never_its_sender(
    sqlite_engine: AsyncEngine,
) -> None:
    intake = IntakeService(units_over(sqlite_engine), ADAPTERS)
    for file in files():
        body = file.path.read_bytes()
        translations = list(ADAPTERS[file.format].translate(body, sender_for([])))
        try:
            await intake.accept(file.format, body, sender_for(translations))
        except Rejected:
            continue
    await project_everything(
        sqlite_engine, [PathwayEventDeriver(DEFAULT_POLICY), InboxFiler(DEFAULT_POLICY)]
    )
    async with sqlite_engine.connect() as connection:
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
