"""A translated message as the event intake publishes for it, projected straight into a store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.projection import ProjectionObserver, ResourceProjection
from hub.domain.events import InboundEvent
from hub.domain.translation import Sender, Translation
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock


def inbound_event(
    format: str,
    translation: Translation,
    sender: Sender,
    *,
    trigger: str | None = None,
    occurred_at: datetime | None = None,
) -> InboundEvent:
    """The event for ``translation`` (its own trigger unless ``trigger``), received now."""
    return InboundEvent(
        event_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        format=format,
        trigger=trigger or translation.event,
        received_at=clock.now(),
        sender=sender,
        patient_key=translation.patient_key,
        resources=list(translation.resources),
        occurred_at=occurred_at,
    )


def published_event(
    format: str,
    translation: Translation,
    sender: Sender,
    *,
    message_id: str | None = None,
    event_id: str | None = None,
    partial: frozenset[str] = frozenset(),
) -> InboundEvent:
    """The event for ``translation`` with its trigger, source id and time at the source,
    received now (``partial``: the resources it is to say it knows only part of)."""
    message_id = message_id or str(uuid.uuid4())
    return InboundEvent(
        event_id=event_id or str(uuid.uuid4()),
        message_id=message_id,
        format=format,
        trigger=translation.event,
        received_at=clock.now(),
        sender=sender,
        patient_key=translation.patient_key,
        resources=translation.resources,
        occurred_at=translation.occurred_at,
        source_id=translation.source_id,
        partial=partial,
    )


async def project(
    engine: AsyncEngine, event: InboundEvent, observers: Sequence[ProjectionObserver] = ()
) -> None:
    """Store ``event``'s resources, with ``observers``, in a unit of work of its own."""
    async with UnitOfWork(engine) as uow:
        await ResourceProjection(observers=observers).handle(event, uow)
        await uow.commit()
