"""Webhook delivery control: send a webhook subscription's events again."""

from __future__ import annotations

import strawberry

from hub.services.pathway_event_redelivery import RedeliveryError, redeliver
from schema.context import HubInfo
from schema.errors import refusals_as_errors


@strawberry.type(description="Events made pending again for a webhook.")
class WebhookRedelivery:
    subscription_id: strawberry.ID
    after: int
    pending: int = strawberry.field(
        description="How many events (numbered after `after`) will be posted again."
    )
    last_event_number: int = strawberry.field(
        description="The subscription's newest event number so far."
    )


async def resolve_redeliver(
    info: HubInfo, subscription_id: strawberry.ID, after: int
) -> WebhookRedelivery:
    context = info.context
    with refusals_as_errors(RedeliveryError):
        done = await redeliver(context.units, context.viewer, str(subscription_id), after)
    return WebhookRedelivery(
        subscription_id=strawberry.ID(done.subscription_id),
        after=done.after,
        pending=done.pending,
        last_event_number=done.last_event_number,
    )


@strawberry.type
class WebhookMutation:
    redeliver_discharge_events: WebhookRedelivery = strawberry.field(
        resolver=resolve_redeliver,
        description=(
            "Post every event numbered after `after` to your webhook again, in order, "
            "under the consent in force when each goes out (0: every event). Only the "
            "organisation that registered the webhook may ask."
        ),
    )
