"""Sending webhook events again: on the owner's request, or a dead letter replayed.

Both only make deliveries pending again, with a fresh retry window; the webhook sender
(``hub.runtime.pathway_event_webhooks``) posts them, rendered under the consent in force
when they go out.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from hub import clock
from hub.services.auth import Principal
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.dead_letters import STAGE_WEBHOOK, DeadLetter
from hub.store.pathway_event_subscriptions import ACTIVE, WEBHOOK, SubscriptionRecord
from hub.store.unit_of_work import UnitOfWork
from hub.store.webhook_deliveries import WebhookDeliveries


class RedeliveryError(ValueError):
    """A redelivery request the hub will not carry out as asked (the caller can fix it)."""


async def replay_dead_delivery(units: UnitOfWorkFactory[UnitOfWork], letter: DeadLetter) -> int:
    """Make the delivery of a webhook dead letter pending again; its delivery id."""
    if letter.stage != STAGE_WEBHOOK or letter.status != "open":
        raise RedeliveryError(f"dead letter {letter.id} is not an open webhook dead letter")
    try:
        delivery_id = int(orjson.loads(letter.raw)["deliveryId"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise RedeliveryError(f"dead letter {letter.id} names no delivery") from None
    async with units() as uow:
        if not await WebhookDeliveries(uow.connection).repend(delivery_id, clock.now()):
            raise RedeliveryError(f"delivery {delivery_id} of {letter.id} is no longer dead")
        await uow.dead_letters.mark_replayed(letter.id, f"webhook-delivery:{delivery_id}")
        await uow.commit()
    return delivery_id


@dataclass(frozen=True)
class Redelivery:
    subscription_id: str
    after: int
    pending: int  # events made pending again
    last_event_number: int  # the subscription's newest event so far


async def redeliver(
    units: UnitOfWorkFactory[UnitOfWork], caller: Principal, subscription_id: str, after: int
) -> Redelivery:
    """Make every event numbered after ``after`` pending again for the caller's webhook."""
    if after < 0:
        raise RedeliveryError("after must be 0 or more (0 sends every event again)")
    now = clock.now()
    async with units() as uow:
        subscription = await uow.subscriptions.get(subscription_id)
        if subscription is None or not _owned_by(subscription, caller):
            # Someone else's subscription looks exactly like a missing one.
            raise RedeliveryError(f"you have no subscription {subscription_id}")
        if subscription.channel != WEBHOOK:
            raise RedeliveryError(
                f"subscription {subscription_id} is not a webhook; "
                "read its events again with the pull query"
            )
        pending = await uow.subscriptions.reset_after(subscription_id, after, now=now)
        await uow.commit()
    return Redelivery(subscription_id, after, pending, subscription.last_event_number)


def _owned_by(subscription: SubscriptionRecord, caller: Principal) -> bool:
    """The organisation that registered a subscription owns it (any of its systems)."""
    return subscription.status == ACTIVE and (
        subscription.owner_sector,
        subscription.owner_org,
    ) == (caller.sector.value, caller.org)
