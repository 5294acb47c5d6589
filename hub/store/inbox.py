"""Each organisation's inbox items (``hub.domain.inbox``) and the state it sets on them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update

from hub.store.database import insert_unless_there
from hub.store.repository import Repository
from hub.store.tables import inbox_items


@dataclass(frozen=True)
class InboxItemRecord:
    id: int
    recipient: str  # sor:…, gln:…, kommune:…
    pathway_event_seq: int
    patient_key: str
    kind: str
    resource_type: str
    resource_id: str
    created_at: datetime
    due_at: datetime
    announced: bool
    state: str
    state_reason: str | None
    state_by: str | None
    state_org: str | None
    state_at: datetime | None


def _record(row: Any) -> InboxItemRecord:
    return InboxItemRecord(**row._mapping)


class Inbox(Repository):
    async def file(
        self,
        *,
        recipient: str,
        pathway_event_seq: int,
        patient_key: str,
        kind: str,
        resource_type: str,
        resource_id: str,
        created_at: datetime,
        due_at: datetime,
        announced: bool,
    ) -> InboxItemRecord | None:
        """File an item; None when the addressee already has this event's item."""
        values: dict[str, Any] = {
            "recipient": recipient,
            "pathway_event_seq": pathway_event_seq,
            "patient_key": patient_key,
            "kind": kind,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "created_at": created_at,
            "due_at": due_at,
            "announced": announced,
            "state": "new",
            "state_reason": None,
            "state_by": None,
            "state_org": None,
            "state_at": None,
        }
        found = await insert_unless_there(
            self._connection,
            inbox_items,
            values,
            unique=["recipient", "pathway_event_seq"],
            returning=inbox_items.c.id,
        )
        return None if found is None else InboxItemRecord(id=int(found), **values)

    async def get(self, item_id: int) -> InboxItemRecord | None:
        result = await self._connection.execute(
            select(inbox_items).where(inbox_items.c.id == item_id)
        )
        row = result.first()
        return _record(row) if row else None

    async def for_event(
        self, pathway_event_seq: int, recipients: Collection[str]
    ) -> InboxItemRecord | None:
        """The item of a logged event filed to one of ``recipients`` (the first filed)."""
        result = await self._connection.execute(
            select(inbox_items)
            .where(
                inbox_items.c.pathway_event_seq == pathway_event_seq,
                inbox_items.c.recipient.in_(list(recipients)),
            )
            .order_by(inbox_items.c.id)
            .limit(1)
        )
        row = result.first()
        return _record(row) if row else None

    async def for_recipients(
        self,
        recipients: Collection[str],
        *,
        now: datetime,
        after: int | None,
        limit: int,
        states: Collection[str] | None = None,
        kinds: Collection[str] | None = None,
    ) -> list[InboxItemRecord]:
        """The items addressed to any of ``recipients`` that are due by ``now``, newest
        first, below id ``after`` when given (for paging)."""
        conditions = [inbox_items.c.recipient.in_(list(recipients)), inbox_items.c.due_at <= now]
        if after is not None:
            conditions.append(inbox_items.c.id < after)
        if states:
            conditions.append(inbox_items.c.state.in_(list(states)))
        if kinds:
            conditions.append(inbox_items.c.kind.in_(list(kinds)))
        result = await self._connection.execute(
            select(inbox_items)
            .where(and_(*conditions))
            .order_by(inbox_items.c.id.desc())
            .limit(limit)
        )
        return [_record(row) for row in result.all()]

    async def set_state(
        self,
        item_id: int,
        *,
        state: str,
        reason: str | None,
        by: str,
        org: str,
        at: datetime,
        expected: str,
    ) -> bool:
        """Move the item to ``state`` if it is still in ``expected`` (False otherwise)."""
        result = await self._connection.execute(
            update(inbox_items)
            .where(inbox_items.c.id == item_id, inbox_items.c.state == expected)
            .values(state=state, state_reason=reason, state_by=by, state_org=org, state_at=at)
        )
        return bool(result.rowcount)

    async def due_unannounced(self, now: datetime, limit: int) -> list[InboxItemRecord]:
        """Items whose day has come but that are not yet numbered into subscriptions."""
        result = await self._connection.execute(
            select(inbox_items)
            .where(inbox_items.c.announced.is_(False), inbox_items.c.due_at <= now)
            .order_by(inbox_items.c.id)
            .limit(limit)
        )
        return [_record(row) for row in result.all()]

    async def mark_announced(self, item_ids: Sequence[int]) -> None:
        if item_ids:
            await self._connection.execute(
                update(inbox_items)
                .where(inbox_items.c.id.in_(list(item_ids)))
                .values(announced=True)
            )

    async def closed_by_addressee(
        self, resource_type: str, resource_ids: Collection[str]
    ) -> set[str]:
        """Of ``resource_ids``, those an addressee marked done or declined in its inbox."""
        if not resource_ids:
            return set()
        result = await self._connection.execute(
            select(inbox_items.c.resource_id)
            .where(
                inbox_items.c.resource_type == resource_type,
                inbox_items.c.resource_id.in_(list(resource_ids)),
                inbox_items.c.state.in_(("done", "declined")),
            )
            .distinct()
        )
        return {str(row.resource_id) for row in result.all()}
