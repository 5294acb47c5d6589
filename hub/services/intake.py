"""Intake: the one path by which messages enter the hub (HTTP, CLI and replay alike).

A payload is translated at the edge, once. If it is acceptable, the raw bytes and one
outbox record per patient event are written in one transaction, and only then is the
sender told it was accepted. If not, the raw bytes are kept as a dead letter with the
adapter's precise error, and the sender is told what and where.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hub import clock
from hub.config import TOPIC_INBOUND
from hub.domain.events import EventDecodeError, InboundEvent
from hub.domain.ownership import NotOwner
from hub.domain.person import owned_record, owned_reference
from hub.domain.sectors import Sector
from hub.domain.senders import check_declared_sender
from hub.domain.sensitivity import labelled
from hub.domain.translation import (
    Adapter,
    AdapterRegistry,
    Sender,
    Translation,
    TranslationError,
    fingerprint,
)
from hub.ports import BusRecord
from hub.services.intake_writer import IntakeWriter, Submission
from hub.services.metrics import IntakeCounters
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.dead_letters import STAGE_CONSUMER, STAGE_INTAKE, DeadLetter
from hub.store.messages import Earlier, NewMessage
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


REUSED_MESSAGE_ID = "message id"
"""The ``where`` of a refusal for a message id already used for something else."""


@dataclass(frozen=True)
class Accepted:
    message_id: str
    events: int
    duplicate: bool = False


class UnknownFormat(LookupError):
    def __init__(self, format: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown format {format!r}; known: {', '.join(sorted(known))}")
        self.format = format


class Rejected(Exception):
    """The payload was not accepted; it is kept as dead letter ``dead_letter_id``."""

    def __init__(
        self, what: str, where: str | None, dead_letter_id: str, *, internal: bool
    ) -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.what = what
        self.where = where
        self.dead_letter_id = dead_letter_id
        self.internal = internal  # the hub failed, not the sender


class NotReplayable(LookupError):
    pass


class IntakeService:
    """Accepts payloads, keeps the refused ones as dead letters and replays them.

    ``units`` opens the store's unit of work: intake writes the inbound messages, the
    outbox and the dead letters, which the port (``hub.services.unit_of_work``) does not
    declare.
    """

    def __init__(
        self,
        units: UnitOfWorkFactory[UnitOfWork],
        adapters: AdapterRegistry,
        *,
        own: AdapterRegistry | None = None,
        on_accepted: Callable[[], None] = lambda: None,
        topic: str = TOPIC_INBOUND,
    ) -> None:
        self._units = units
        self._adapters = adapters
        # The hub's own formats (e.g. an offer's confirmation): sent only by the hub's
        # services through ``accept_own``, never taken from a sender, but replayable.
        self._own: AdapterRegistry = own or {}
        self._on_accepted = on_accepted
        self._topic = topic
        self._writer = IntakeWriter(units)
        self.counters = IntakeCounters()

    @property
    def formats(self) -> list[str]:
        return sorted(self._adapters)

    async def accept(self, format: str, raw: bytes, sender: Sender) -> Accepted:
        """Translate and durably accept ``raw``; raises Rejected or UnknownFormat."""
        return await self._counted(format, raw, sender, self._adapters)

    async def accept_own(self, format: str, raw: bytes, sender: Sender) -> Accepted:
        """As ``accept``, for a message of one of the hub's own formats (``own``)."""
        return await self._counted(format, raw, sender, self._own)

    async def _counted(
        self, format: str, raw: bytes, sender: Sender, adapters: AdapterRegistry
    ) -> Accepted:
        try:
            accepted = await self._accept(format, raw, sender, adapters)
        except Rejected:
            self.counters.rejected[format] += 1
            raise
        if accepted.duplicate:
            self.counters.duplicates[format] += 1
        else:
            self.counters.accepted[format] += 1
        return accepted

    async def was_accepted(self, format: str, sender: Sender, source_id: str) -> bool:
        """Whether this sender's message ``source_id`` was accepted before."""
        async with self._units() as uow:
            earlier = await uow.inbound.find_resent(
                format=format, sender_org=sender.org, source_id=source_id
            )
        return earlier is not None

    async def _accept(
        self, format: str, raw: bytes, sender: Sender, adapters: AdapterRegistry
    ) -> Accepted:
        adapter = adapters.get(format)
        if adapter is None:
            raise UnknownFormat(format, list(adapters))
        try:
            # Parsing and FHIR validation are CPU work: keep them off the event loop.
            translations = await asyncio.to_thread(translate, adapter, raw, sender)
        except TranslationError as error:
            dead_letter_id = await self._dead_letter(format, raw, sender, error.what, error.where)
            raise Rejected(error.what, error.where, dead_letter_id, internal=False) from error
        except Exception as error:
            what = f"the {format} adapter failed ({type(error).__name__}: {error})"
            dead_letter_id = await self._dead_letter(format, raw, sender, what, None)
            log.exception("adapter %s failed; kept as dead letter %s", format, dead_letter_id)
            raise Rejected(what, None, dead_letter_id, internal=True) from error
        if not translations:
            what = "the payload holds no message"
            dead_letter_id = await self._dead_letter(format, raw, sender, what, None)
            raise Rejected(what, None, dead_letter_id, internal=False)
        return await self._store(format, raw, sender, translations)

    async def _store(
        self, format: str, raw: bytes, sender: Sender, translations: Sequence[Translation]
    ) -> Accepted:
        # A re-send is recognised by the one source id its parts share (a batch of
        # separately numbered messages has none).
        foreign = await self._foreign(translations, sender)
        if foreign is not None:
            dead_letter_id = await self._dead_letter(
                format, raw, sender, str(foreign), foreign.where
            )
            raise Rejected(str(foreign), foreign.where, dead_letter_id, internal=False)
        source_id = _shared({translation.source_id for translation in translations})
        content = fingerprint(translations)
        message_id = str(uuid.uuid4())
        received_at = clock.now()
        message = NewMessage(
            message_id=message_id,
            format=format,
            sender=sender,
            source_id=source_id,
            raw=raw,
            received_at=received_at,
            fingerprint=content,
        )
        records = self._records(message_id, format, sender, translations, received_at)
        earlier = await self._writer.write(Submission(message, records))
        if earlier is not None:
            return await self._resent(format, raw, sender, content, earlier)
        self._on_accepted()
        return Accepted(message_id, events=len(translations))

    async def _foreign(
        self, translations: Sequence[Translation], sender: Sender
    ) -> NotOwner | None:
        """The first resource the translations would write that another organisation owns."""
        keys = {(r["resourceType"], r["id"]) for t in translations for r in t.resources}
        async with self._units(autocommit=True) as uow:  # a read only
            await uow.resources.prefetch(keys)
            for resource_type, resource_id in sorted(keys):
                stored = await uow.resources.get(resource_type, resource_id)
                if stored is not None and stored.org != sender.org:
                    return NotOwner(resource_type, resource_id, stored.org, sender.org)
        return None

    def _records(
        self,
        message_id: str,
        format: str,
        sender: Sender,
        translations: Sequence[Translation],
        received_at: datetime,
    ) -> list[BusRecord]:
        records = []
        for index, translation in enumerate(translations):
            event = InboundEvent(
                event_id=f"{message_id}/{index}",
                message_id=message_id,
                format=format,
                trigger=translation.event,
                received_at=received_at,
                sender=sender,
                patient_key=translation.patient_key,
                resources=translation.resources,
                occurred_at=translation.occurred_at,
                source_id=translation.source_id,
                partial=translation.partial,
            )
            records.append(
                BusRecord(self._topic, translation.patient_key, event.event_id, event.to_bytes())
            )
        return records

    async def _resent(
        self, format: str, raw: bytes, sender: Sender, content: str, earlier: Earlier
    ) -> Accepted:
        """A message whose id was seen before: a re-send (no second effect) or a re-used id."""
        if earlier.fingerprint in (None, content):
            return Accepted(earlier.message_id, events=0, duplicate=True)
        # Taking it as a re-send would silently drop what it says.
        what = (
            f"message id {earlier.source_id} was already used by this sender for a message "
            f"that said something else (accepted as {earlier.message_id}); a re-send must "
            "repeat the message unchanged, and a new message needs a new message id"
        )
        dead_letter_id = await self._dead_letter(format, raw, sender, what, REUSED_MESSAGE_ID)
        raise Rejected(what, REUSED_MESSAGE_ID, dead_letter_id, internal=False)

    async def _dead_letter(
        self, format: str, raw: bytes, sender: Sender, what: str, where: str | None
    ) -> str:
        async with self._units() as uow:
            dead_letter_id = await uow.dead_letters.add(
                stage=STAGE_INTAKE, format=format, raw=raw, what=what, where=where, sender=sender
            )
            await uow.commit()
        return dead_letter_id

    async def replay(self, dead_letter_id: str) -> Accepted:
        """Take a dead letter through the path it failed on again.

        Intake dead letters are translated again (the adapter may have been fixed);
        consumer dead letters are re-published with their original event id, so only
        the consumers that had not applied them do so now.
        """
        async with self._units() as uow:
            letter = await uow.dead_letters.get(dead_letter_id)
        if letter is None:
            raise NotReplayable(f"no dead letter {dead_letter_id}")
        if letter.status != "open":
            raise NotReplayable(f"dead letter {dead_letter_id} was already replayed")
        if letter.stage == STAGE_CONSUMER:
            return await self._republish(letter)
        sender = _sender_of(letter)
        adapter = self._adapters.get(letter.format) or self._own.get(letter.format)
        if adapter is None:
            raise UnknownFormat(letter.format, list(self._adapters))
        try:
            translations = await asyncio.to_thread(translate, adapter, letter.raw, sender)
        except TranslationError as error:
            async with self._units() as uow:
                await uow.dead_letters.record_failed_replay(letter.id, error.what, error.where)
                await uow.commit()
            raise Rejected(error.what, error.where, letter.id, internal=False) from error
        accepted = await self._store(letter.format, letter.raw, sender, translations)
        async with self._units() as uow:
            await uow.dead_letters.mark_replayed(letter.id, accepted.message_id)
            await uow.commit()
        return accepted

    async def _republish(self, letter: DeadLetter) -> Accepted:
        try:
            event = InboundEvent.from_bytes(letter.raw)
        except EventDecodeError as error:
            raise NotReplayable(f"dead letter {letter.id} is not an event: {error}") from error
        async with self._units() as uow:
            await uow.outbox.add(
                topic=self._topic,
                key=event.patient_key,
                event_id=event.event_id,
                payload=letter.raw,
            )
            await uow.dead_letters.mark_replayed(letter.id, event.message_id)
            await uow.commit()
        self._on_accepted()
        return Accepted(event.message_id, events=1)


def _shared(values: set[str | None]) -> str | None:
    return values.pop() if len(values) == 1 else None


FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far ahead of the hub's clock a message's own time may lie (clocks drift a little)."""


def translate(adapter: Adapter, raw: bytes, sender: Sender) -> list[Translation]:
    """What intake makes of ``raw`` from ``sender``: the adapter's translations, checked
    against the sender and the clock, labelled for consent, with the sender's Patient
    record under the sender's own id.

    Raises ``TranslationError`` (the sender's fault, with where) as intake would refuse
    the payload. Pure CPU work and nothing is stored: intake runs it off the event loop;
    whatever builds the events intake would publish (the benchmarks) calls it directly.
    """
    translations = []
    latest = clock.now() + FUTURE_TOLERANCE
    for translation in adapter.translate(raw, sender):
        check_declared_sender(translation.declared_sender, sender)
        if translation.occurred_at is not None and translation.occurred_at > latest:
            raise TranslationError(
                f"the message's own time {translation.occurred_at.isoformat()} lies in the "
                f"future (the hub's clock says {clock.now().isoformat(timespec='seconds')}); "
                "a message can only report what has already happened",
                translation.occurred_at_where,
            )
        key = translation.patient_key
        resources = [
            owned_record(labelled(resource, sender.sector), key, sender.org)
            for resource in translation.resources
        ]
        partial = frozenset(owned_reference(ref, key, sender.org) for ref in translation.partial)
        translations.append(replace(translation, resources=resources, partial=partial))
    return translations


def _sender_of(letter: DeadLetter) -> Sender:
    if letter.sender_sector is None or letter.sender_org is None:
        raise NotReplayable(f"dead letter {letter.id} has no recorded sender")
    return Sender(
        Sector(letter.sender_sector),
        letter.sender_org,
        letter.sender_sub or "",
        frozenset(letter.sender_aliases or ()),
        letter.sender_controller or "",
    )
