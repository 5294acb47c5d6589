"""Each organisation's inbox: what is addressed to it, or falls to it to act on.

Read page by page (``inbox``), followed live over the GraphQL websocket (``inbox``
subscription, numbered like discharge events, with ``after: N`` to catch up), or
posted to a webhook (``registerInboxWebhook``). The organisation moves each item on
with ``setInboxItemState``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeAlias

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from hub.domain.inbox import InboxKind, InboxState
from hub.runtime.pathway_event_feed import FeedClosed
from hub.services.inbox.feed import (
    inbox_subscriptions,
    open_inbox_feed,
    register_inbox_webhook,
)
from hub.services.inbox.read import MAX_PAGE, InboxError, InboxItem, read_inbox, set_state
from hub.services.pathway_events import PathwayEventMessage
from hub.store.pathway_event_subscriptions import SubscriptionRecord
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.live_feed import live_feed
from schema.patients import PatientIdentifier

# The domain's own enums, so that a kind added there is at once a value here.
strawberry.enum(
    InboxKind, name="InboxItemKind", description="What the item asks of the organisation."
)
strawberry.enum(
    InboxState, name="InboxItemState", description="Where the organisation is with the item."
)
InboxItemKindValue: TypeAlias = InboxKind
InboxItemStateValue: TypeAlias = InboxState


@strawberry.type(name="InboxItem", description="One item of your organisation's inbox.")
class InboxItemType:
    id: strawberry.ID
    kind: InboxItemKindValue
    state: InboxItemStateValue
    state_reason: str | None = strawberry.field(description="Why it was declined.")
    state_at: datetime | None
    title: str = strawberry.field(description="The item in a line, in Danish.")
    cpr: str | None = strawberry.field(
        description=(
            "Null when you may not see whose it is, and for a patient known only by a "
            "replacement number."
        )
    )
    patient: PatientIdentifier | None = strawberry.field(
        description=(
            "The patient's CPR number or replacement number (erstatningspersonnummer), "
            "as an identifier; null wherever cpr is withheld."
        )
    )
    resource: str = strawberry.field(description="What the item is about, as Type/id.")
    content: JSON | None = strawberry.field(
        description="That resource as FHIR R4 JSON, as you may see it (null for an alert)."
    )
    created_at: datetime

    @classmethod
    def from_item(cls, item: InboxItem) -> InboxItemType:
        return cls(
            id=strawberry.ID(str(item.id)),
            kind=InboxItemKindValue(item.kind),
            state=InboxItemStateValue(item.state),
            state_reason=item.state_reason,
            state_at=item.state_at,
            title=item.title,
            cpr=item.cpr,
            patient=PatientIdentifier.of(item.patient_key),
            resource=item.resource,
            content=JSON(item.content) if item.content is not None else None,
            created_at=item.created_at,
        )


@strawberry.type(description="One numbered item of an inbox feed.")
class InboxEvent:
    subscription_id: strawberry.ID
    event_number: int = strawberry.field(
        description="Goes up by one per item of this feed: a jump is a gap."
    )
    kind: InboxItemKindValue
    withheld: bool = strawberry.field(
        description="You may no longer see this item: its number is kept, nothing else is told."
    )
    item: InboxItemType | None

    @classmethod
    def from_message(cls, message: PathwayEventMessage) -> InboxEvent:
        data = message.item
        item = None
        if data is not None:
            item = InboxItemType(
                id=strawberry.ID(str(data["id"])),
                kind=InboxItemKindValue(data["kind"]),
                state=InboxItemStateValue(data["state"]),
                state_reason=data.get("stateReason"),
                state_at=None,
                title=str(data["title"]),
                cpr=data.get("cpr"),
                patient=_identifier(data.get("patient")),
                resource=str(data["resource"]),
                content=JSON(data["content"]) if data.get("content") is not None else None,
                created_at=datetime.fromisoformat(str(data["createdAt"])),
            )
        return cls(
            subscription_id=strawberry.ID(message.subscription_id),
            event_number=message.event_number,
            kind=InboxItemKindValue(message.kind),
            withheld=message.withheld,
            item=item,
        )


def _identifier(shown: object) -> PatientIdentifier | None:
    """The ``patient`` of an item's JSON (``InboxItem.to_json``) as the output type."""
    if not isinstance(shown, dict):
        return None
    return PatientIdentifier(system=str(shown["system"]), value=str(shown["value"]))


@strawberry.input(description="A webhook the hub POSTs each new inbox item to.")
class InboxWebhookInput:
    url: str = strawberry.field(description="https (http only in development).")
    kinds: list[InboxItemKindValue] | None = strawberry.field(
        default=None, description="Which items (default: all)."
    )
    secret: str | None = strawberry.field(
        default=None,
        description="Your signing secret (16 characters or more); left out, the hub makes one.",
    )


@contextmanager
def _inbox_errors() -> Iterator[None]:
    """An inbox refusal as a GraphQL error with its machine code in ``extensions``."""
    try:
        yield
    except InboxError as refused:
        raise GraphQLError(str(refused), extensions={"code": refused.code}) from None


def _kinds(kinds: list[InboxItemKindValue] | None) -> list[str] | None:
    return None if kinds is None else [kind.value for kind in kinds]


async def resolve_inbox(
    info: HubInfo,
    first: int = 50,
    after: strawberry.ID | None = None,
    states: list[InboxItemStateValue] | None = None,
    kinds: list[InboxItemKindValue] | None = None,
) -> list[InboxItemType]:
    context = info.context
    with _inbox_errors():
        if after is not None and not str(after).isdigit():
            raise InboxError("bad-cursor", "after must be the id of an item")
        items = await read_inbox(
            context.units,
            context.viewer,
            policy=context.policy,
            first=first,
            after=int(after) if after is not None else None,
            states=None if states is None else [s.value for s in states],
            kinds=_kinds(kinds),
        )
    return [InboxItemType.from_item(item) for item in items]


async def resolve_set_state(
    info: HubInfo, id: strawberry.ID, state: InboxItemStateValue, reason: str | None = None
) -> InboxItemType:
    context = info.context
    with _inbox_errors():
        if not str(id).isdigit():
            raise InboxError("no-such-item", f"no inbox item {id} of yours")
        item = await set_state(
            context.units, context.viewer, int(id), state.value, reason, policy=context.policy
        )
    return InboxItemType.from_item(item)


@strawberry.type(description="A subscription to your organisation's inbox.")
class InboxSubscriptionInfo:
    id: strawberry.ID
    channel: str = strawberry.field(description="websocket or webhook.")
    kinds: list[InboxItemKindValue]
    url: str | None = strawberry.field(description="The webhook's URL.")
    status: str
    last_event_number: int = strawberry.field(description="The newest item number so far.")
    secret: str | None = strawberry.field(
        default=None,
        description="The webhook signing secret: given once, when the hub generated it.",
    )

    @classmethod
    def from_record(
        cls, record: SubscriptionRecord, *, secret: str | None = None
    ) -> InboxSubscriptionInfo:
        return cls(
            id=strawberry.ID(record.id),
            channel=record.channel,
            kinds=[InboxItemKindValue(kind) for kind in record.kinds],
            url=record.endpoint,
            status=record.status,
            last_event_number=record.last_event_number,
            secret=secret,
        )


async def resolve_register_webhook(
    info: HubInfo, input: InboxWebhookInput
) -> InboxSubscriptionInfo:
    context = info.context
    with _inbox_errors():
        created, secret = await register_inbox_webhook(
            context.units,
            context.viewer,
            url=input.url,
            kinds=_kinds(input.kinds),
            secret=input.secret,
        )
    return InboxSubscriptionInfo.from_record(
        created, secret=secret if input.secret is None else None
    )


async def resolve_inbox_subscriptions(info: HubInfo) -> list[InboxSubscriptionInfo]:
    context = info.context
    found = await inbox_subscriptions(context.units, context.viewer)
    return [InboxSubscriptionInfo.from_record(record) for record in found]


async def resolve_inbox_events(
    info: HubInfo,
    kinds: list[InboxItemKindValue] | None = None,
    after: int | None = None,
) -> AsyncGenerator[InboxEvent, None]:
    context = info.context
    live = live_feed(context, after)
    with _inbox_errors():
        feed = await open_inbox_feed(context.units, context.viewer, _kinds(kinds))
    with refusals_as_errors(FeedClosed):
        # Live items are rendered once per selection for every connection that shares
        # it (``hub.entrypoints.shared_frames``): what an item shows is the feed's.
        async for event in live.listen(feed, context.viewer, after, InboxEvent.from_message):
            yield event


@strawberry.type
class InboxQuery:
    inbox: list[InboxItemType] = strawberry.field(
        resolver=resolve_inbox,
        description=(
            "Your organisation's inbox, newest first: what is addressed to it or falls to it "
            f"to act on, as you may see it now. At most `first` (1–{MAX_PAGE}) items; "
            "`after` (an item id) pages on."
        ),
    )
    inbox_subscriptions: list[InboxSubscriptionInfo] = strawberry.field(
        resolver=resolve_inbox_subscriptions,
        description=(
            "Your organisation's inbox feeds and webhooks "
            "(turn one off with unregisterDischargeSubscription)."
        ),
    )


@strawberry.type
class InboxMutation:
    set_inbox_item_state: InboxItemType = strawberry.field(
        resolver=resolve_set_state,
        description=(
            "Move one of your items on: SEEN, DONE, or DECLINED with a reason. "
            "DONE and DECLINED are final."
        ),
    )
    register_inbox_webhook: InboxSubscriptionInfo = strawberry.field(
        resolver=resolve_register_webhook,
        description="Have the hub POST each new item of your organisation's inbox to `url`.",
    )


@strawberry.type
class InboxSubscription:
    inbox: AsyncGenerator[InboxEvent, None] = strawberry.subscription(
        resolver=resolve_inbox_events,
        description=(
            "Your organisation's new inbox items as they arrive, numbered in its durable "
            "feed for these kinds (default: all). `after: N` first replays every item after "
            "N, then continues live, with no gap and no duplicate."
        ),
    )
