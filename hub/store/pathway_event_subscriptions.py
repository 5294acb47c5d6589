"""Subscriptions to pathway events and their numbered deliveries.

A subscription's events are numbered 1, 2, 3 … (``event_number``) in the order they
were materialised, and the number is taken from the subscription row in the same
transaction as the delivery row: concurrent writers wait for each other on that row,
so the numbers commit in order and a reader that sees number N also sees every
number before it. A consumer batch numbers its events' deliveries together
(``append_deliveries``): one such UPDATE per subscription takes all its numbers.

It is over 400 lines because the subscriptions and their numbered deliveries are
written together (the number is taken from the subscription row); splitting them
would split that one rule.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from hub import clock
from hub.store.repository import Repository
from hub.store.tables import subscription_deliveries, subscriptions

RESIDENTS = "residents"  # a kommune's residents' pathway events
INBOX = "inbox"  # the owner organisation's inbox items

WEBSOCKET = "websocket"
WEBHOOK = "webhook"
ACTIVE = "active"
OFF = "off"

PENDING = "pending"  # a webhook delivery not yet accepted by the receiver
LOGGED = "logged"  # a websocket delivery: kept for catching up, nothing to send
DELIVERED = "delivered"
DEAD = "dead"


@dataclass(frozen=True)
class SubscriptionRecord:
    id: str
    channel: str  # websocket, webhook
    owner_sub: str
    owner_sector: str
    owner_org: str
    owner_kommune: str | None
    kommune: str  # whose residents' events
    kinds: tuple[str, ...]
    endpoint: str | None  # webhook URL
    secret: str | None  # webhook signing secret
    feed_key: str | None  # a websocket feed's (owner, kommune, kinds)
    status: str  # active, off
    last_event_number: int
    created_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    scope: str = RESIDENTS


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    subscription_id: str
    event_number: int
    pathway_event_seq: int
    patient_key: str
    created_at: datetime
    status: str  # pending, delivered, dead (webhooks); logged (websockets)
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    # When the current round of webhook attempts began, if not at created_at.
    retry_since: datetime | None = None


@dataclass(frozen=True)
class KeptDelivery:
    """A delivery decided for a pathway event that is kept back with it
    (``PathwayEvents.append_later``): numbered when the event is written."""

    subscription_id: str
    status: str  # pending (webhooks), logged (websockets)
    created_at: datetime


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to number: a just-logged pathway event's, for one subscription."""

    pathway_event_seq: int
    patient_key: str
    kept: KeptDelivery


async def append_deliveries(connection: AsyncConnection, wanted: Sequence[NewDelivery]) -> int:
    """Number each of ``wanted`` into its subscription, in the order given; how many.

    Per subscription one UPDATE takes its next numbers at once (subscriptions in id
    order, so concurrent writers lock them in the same order), then one INSERT (an
    executemany) writes every delivery. The events are newly logged, so none of them
    has a delivery yet.
    """
    by_subscription: dict[str, list[NewDelivery]] = {}
    for delivery in wanted:
        by_subscription.setdefault(delivery.kept.subscription_id, []).append(delivery)
    rows: list[dict[str, Any]] = []
    for subscription_id in sorted(by_subscription):
        mine = by_subscription[subscription_id]
        numbered = await connection.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(last_event_number=subscriptions.c.last_event_number + len(mine))
            .returning(subscriptions.c.last_event_number)
        )
        last = int(numbered.scalar_one())
        rows.extend(
            {
                "subscription_id": subscription_id,
                "event_number": last - len(mine) + n,
                "pathway_event_seq": delivery.pathway_event_seq,
                "patient_key": delivery.patient_key,
                "created_at": delivery.kept.created_at,
                "status": delivery.kept.status,
                "attempts": 0,
                "next_attempt_at": None,
                "last_error": None,
                "delivered_at": None,
            }
            for n, delivery in enumerate(mine, start=1)
        )
    if rows:
        await connection.execute(insert(subscription_deliveries), rows)
    return len(rows)


def _subscription(row: Any) -> SubscriptionRecord:
    values = dict(row._mapping)
    values["kinds"] = tuple(values["kinds"] or ())
    return SubscriptionRecord(**values)


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(**row._mapping)


class Subscriptions(Repository):
    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        # ``active_for`` within one transaction: a consumer batch asks the same many times.
        self._active: dict[tuple[str | None, frozenset[str]], list[SubscriptionRecord]] = {}

    # --- subscriptions -------------------------------------------------------------

    async def create(
        self,
        *,
        id: str,
        channel: str,
        owner_sub: str,
        owner_sector: str,
        owner_org: str,
        owner_kommune: str | None,
        kommune: str,
        kinds: Sequence[str],
        endpoint: str | None = None,
        secret: str | None = None,
        feed_key: str | None = None,
        created_at: datetime | None = None,
        scope: str = RESIDENTS,
    ) -> SubscriptionRecord:
        values: dict[str, Any] = {
            "id": id,
            "channel": channel,
            "owner_sub": owner_sub,
            "owner_sector": owner_sector,
            "owner_org": owner_org,
            "owner_kommune": owner_kommune,
            "kommune": kommune,
            "kinds": list(kinds),
            "endpoint": endpoint,
            "secret": secret,
            "feed_key": feed_key,
            "status": ACTIVE,
            "last_event_number": 0,
            "created_at": created_at or clock.now(),
            "scope": scope,
        }
        await self._connection.execute(insert(subscriptions).values(**values))
        return SubscriptionRecord(
            **{**values, "kinds": tuple(kinds)}, lease_owner=None, lease_until=None
        )

    async def get(self, subscription_id: str) -> SubscriptionRecord | None:
        result = await self._connection.execute(
            select(subscriptions).where(subscriptions.c.id == subscription_id)
        )
        row = result.first()
        return _subscription(row) if row else None

    async def by_feed_key(self, feed_key: str) -> SubscriptionRecord | None:
        result = await self._connection.execute(
            select(subscriptions).where(subscriptions.c.feed_key == feed_key)
        )
        row = result.first()
        return _subscription(row) if row else None

    async def owned_by(self, sector: str, org: str) -> list[SubscriptionRecord]:
        """An organisation's active subscriptions, oldest first."""
        result = await self._connection.execute(
            select(subscriptions)
            .where(
                subscriptions.c.owner_sector == sector,
                subscriptions.c.owner_org == org,
                subscriptions.c.status == ACTIVE,
            )
            .order_by(subscriptions.c.created_at, subscriptions.c.id)
        )
        return [_subscription(row) for row in result.all()]

    async def set_status(self, subscription_id: str, status: str) -> None:
        await self._connection.execute(
            update(subscriptions).where(subscriptions.c.id == subscription_id).values(status=status)
        )

    async def active_for(
        self, *, kommune: str | None, owner_orgs: Collection[str]
    ) -> list[SubscriptionRecord]:
        """Active subscriptions for ``kommune``'s residents or owned by one of ``owner_orgs``."""
        key = (kommune, frozenset(owner_orgs))
        if key not in self._active:
            self._active[key] = await self._active_for(kommune, owner_orgs)
        return self._active[key]

    async def _active_for(
        self, kommune: str | None, owner_orgs: Collection[str]
    ) -> list[SubscriptionRecord]:
        conditions: list[ColumnElement[bool]] = []
        if kommune is not None:
            conditions.append(subscriptions.c.kommune == kommune)
        if owner_orgs:
            conditions.append(subscriptions.c.owner_org.in_(list(owner_orgs)))
        return await self._active_of_scope(RESIDENTS, conditions)

    async def inbox_of(
        self, *, orgs: Collection[str], kommuner: Collection[str]
    ) -> list[SubscriptionRecord]:
        """Active inbox subscriptions owned by one of ``orgs``, or by a municipal
        organisation of one of ``kommuner``."""
        conditions: list[ColumnElement[bool]] = []
        if orgs:
            conditions.append(subscriptions.c.owner_org.in_(list(orgs)))
        if kommuner:
            conditions.append(
                and_(
                    subscriptions.c.owner_sector == "municipality",
                    subscriptions.c.owner_kommune.in_(list(kommuner)),
                )
            )
        return await self._active_of_scope(INBOX, conditions)

    async def _active_of_scope(
        self, scope: str, conditions: Sequence[ColumnElement[bool]]
    ) -> list[SubscriptionRecord]:
        """Active subscriptions of ``scope`` meeting any of ``conditions`` (none: none)."""
        if not conditions:
            return []
        result = await self._connection.execute(
            select(subscriptions)
            .where(
                subscriptions.c.status == ACTIVE,
                subscriptions.c.scope == scope,
                or_(*conditions),
            )
            .order_by(subscriptions.c.id)
        )
        return [_subscription(row) for row in result.all()]

    async def any_active(self) -> bool:
        """Whether any subscription to residents' pathway events is active at all."""
        result = await self._connection.execute(
            select(subscriptions.c.id)
            .where(subscriptions.c.status == ACTIVE, subscriptions.c.scope == RESIDENTS)
            .limit(1)
        )
        return result.first() is not None

    async def positions(self, subscription_ids: Collection[str]) -> dict[str, tuple[int, str]]:
        """Each subscription's last event number and status (for the feed reader's poll)."""
        if not subscription_ids:
            return {}
        result = await self._connection.execute(
            select(
                subscriptions.c.id, subscriptions.c.last_event_number, subscriptions.c.status
            ).where(subscriptions.c.id.in_(list(subscription_ids)))
        )
        return {row.id: (int(row.last_event_number), str(row.status)) for row in result.all()}

    async def lease(
        self, subscription_id: str, owner: str, until: datetime, *, now: datetime | None = None
    ) -> bool:
        """Take (or extend) the right to work on a subscription until ``until``.

        Granted when nobody holds it, ``owner`` already does, or the holder's lease ran out.
        """
        now = now or clock.now()
        result = await self._connection.execute(
            update(subscriptions)
            .where(
                subscriptions.c.id == subscription_id,
                or_(
                    subscriptions.c.lease_owner.is_(None),
                    subscriptions.c.lease_owner == owner,
                    subscriptions.c.lease_until.is_(None),
                    subscriptions.c.lease_until < now,
                ),
            )
            .values(lease_owner=owner, lease_until=until)
        )
        return bool(result.rowcount)

    # --- numbered deliveries ---------------------------------------------------------

    async def append_delivery(
        self,
        subscription_id: str,
        *,
        pathway_event_seq: int,
        patient_key: str,
        status: str,
        created_at: datetime | None = None,
    ) -> DeliveryRecord | None:
        """Give the subscription its next event; None if it already has this pathway event."""
        existing = await self._connection.execute(
            select(subscription_deliveries.c.id).where(
                subscription_deliveries.c.subscription_id == subscription_id,
                subscription_deliveries.c.pathway_event_seq == pathway_event_seq,
            )
        )
        if existing.first() is not None:
            return None
        # The row lock this UPDATE takes orders concurrent writers: numbers commit in order.
        numbered = await self._connection.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription_id)
            .values(last_event_number=subscriptions.c.last_event_number + 1)
            .returning(subscriptions.c.last_event_number)
        )
        number = int(numbered.scalar_one())
        created_at = created_at or clock.now()
        values: dict[str, Any] = {
            "subscription_id": subscription_id,
            "event_number": number,
            "pathway_event_seq": pathway_event_seq,
            "patient_key": patient_key,
            "created_at": created_at,
            "status": status,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": None,
            "delivered_at": None,
        }
        inserted = await self._connection.execute(
            insert(subscription_deliveries).values(**values).returning(subscription_deliveries.c.id)
        )
        return DeliveryRecord(id=int(inserted.scalar_one()), **values)

    async def deliveries_after(
        self, subscription_id: str, after_number: int, limit: int
    ) -> list[DeliveryRecord]:
        """The subscription's events numbered above ``after_number``, in order."""
        result = await self._connection.execute(
            select(subscription_deliveries)
            .where(
                subscription_deliveries.c.subscription_id == subscription_id,
                subscription_deliveries.c.event_number > after_number,
            )
            .order_by(subscription_deliveries.c.event_number)
            .limit(limit)
        )
        return [_delivery(row) for row in result.all()]

    async def pending_webhook_heads(self, now: datetime, limit: int) -> list[DeliveryRecord]:
        """The oldest pending delivery of each active webhook subscription, when it is due.

        Only a subscription's head is offered, so its events go out in number order
        (and so each patient's in the order they happened).
        """
        heads = (
            select(
                subscription_deliveries.c.subscription_id,
                func.min(subscription_deliveries.c.event_number).label("event_number"),
            )
            .where(subscription_deliveries.c.status == PENDING)
            .group_by(subscription_deliveries.c.subscription_id)
            .subquery()
        )
        result = await self._connection.execute(
            select(subscription_deliveries)
            .join(
                heads,
                and_(
                    heads.c.subscription_id == subscription_deliveries.c.subscription_id,
                    heads.c.event_number == subscription_deliveries.c.event_number,
                ),
            )
            .join(subscriptions, subscriptions.c.id == subscription_deliveries.c.subscription_id)
            .where(
                subscriptions.c.channel == WEBHOOK,
                subscriptions.c.status == ACTIVE,
                or_(
                    subscription_deliveries.c.next_attempt_at.is_(None),
                    subscription_deliveries.c.next_attempt_at <= now,
                ),
            )
            .order_by(subscription_deliveries.c.created_at, subscription_deliveries.c.id)
            .limit(limit)
        )
        return [_delivery(row) for row in result.all()]

    async def mark_delivered(self, delivery_id: int, at: datetime) -> None:
        await self._set_delivery(
            delivery_id, status=DELIVERED, delivered_at=at, next_attempt_at=None
        )

    async def schedule_retry(
        self, delivery_id: int, attempts: int, next_attempt_at: datetime, error: str
    ) -> None:
        await self._set_delivery(
            delivery_id, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error
        )

    async def mark_dead(self, delivery_id: int, error: str) -> None:
        await self._set_delivery(delivery_id, status=DEAD, last_error=error, next_attempt_at=None)

    async def _set_delivery(self, delivery_id: int, **values: Any) -> None:
        """Set columns of the one delivery ``delivery_id``."""
        await self._connection.execute(
            update(subscription_deliveries)
            .where(subscription_deliveries.c.id == delivery_id)
            .values(**values)
        )

    async def reset_after(
        self, subscription_id: str, after_number: int, *, now: datetime | None = None
    ) -> int:
        """Send a webhook subscription's events numbered above ``after_number`` again.

        Each gets a full round of attempts from ``now``. Returns how many deliveries
        are pending again.
        """
        result = await self._connection.execute(
            update(subscription_deliveries)
            .where(
                subscription_deliveries.c.subscription_id == subscription_id,
                subscription_deliveries.c.event_number > after_number,
                subscription_deliveries.c.status != LOGGED,
            )
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=None,
                last_error=None,
                delivered_at=None,
                retry_since=now or clock.now(),
            )
        )
        return int(result.rowcount)
