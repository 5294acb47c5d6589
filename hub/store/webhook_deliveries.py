"""What the webhook sender needs of ``subscription_deliveries`` beyond the Subscriptions repository.

Making one dead delivery pending again (its dead letter replayed), and the backlog
figures ``/metrics`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, select, update

from hub.store.pathway_event_subscriptions import ACTIVE, DEAD, PENDING, WEBHOOK
from hub.store.repository import Repository
from hub.store.tables import subscription_deliveries, subscriptions


@dataclass(frozen=True)
class WebhookBacklog:
    """One webhook subscription's undelivered events, as ``/metrics`` shows them."""

    subscription_id: str
    pending: int
    retrying: int  # pending deliveries that have failed at least once
    dead: int
    oldest_pending_at: datetime | None


class WebhookDeliveries(Repository):
    async def repend(self, delivery_id: int, now: datetime) -> bool:
        """Make a dead delivery pending again, due now, with a fresh retry window."""
        result = await self._connection.execute(
            update(subscription_deliveries)
            .where(
                subscription_deliveries.c.id == delivery_id,
                subscription_deliveries.c.status == DEAD,
            )
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                retry_since=now,
                delivered_at=None,
            )
        )
        return result.rowcount == 1

    async def backlog(self) -> list[WebhookBacklog]:
        """Pending, retrying and dead deliveries per active webhook subscription."""
        deliveries = subscription_deliveries.c
        is_pending = deliveries.status == PENDING
        result = await self._connection.execute(
            select(
                subscriptions.c.id,
                func.count().filter(is_pending),
                func.count().filter(and_(is_pending, deliveries.attempts > 0)),
                func.count().filter(deliveries.status == DEAD),
                func.min(deliveries.created_at).filter(is_pending),
            )
            .select_from(
                subscriptions.outerjoin(
                    subscription_deliveries, deliveries.subscription_id == subscriptions.c.id
                )
            )
            .where(subscriptions.c.channel == WEBHOOK, subscriptions.c.status == ACTIVE)
            .group_by(subscriptions.c.id)
            .order_by(subscriptions.c.id)
        )
        return [
            WebhookBacklog(
                subscription_id=row[0],
                pending=int(row[1] or 0),
                retrying=int(row[2] or 0),
                dead=int(row[3] or 0),
                oldest_pending_at=_utc(row[4]),
            )
            for row in result.all()
        ]


def _utc(value: datetime | str | None) -> datetime | None:
    """An aggregate over a UTC column, UTC-aware whatever the backend hands back."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
