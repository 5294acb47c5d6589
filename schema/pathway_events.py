"""Discharge (and admission, leave, death) events for municipal systems.

Live over the GraphQL websocket (``dischargeEvents``), registered as webhooks, or
pulled page by page (``dischargeEventsAfter``). Every event carries its
subscription's ``eventNumber``, which goes up by one per event, so a receiver sees
a gap and can ask for everything after the last number it has.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON

from hub.domain.pathway_events import PathwayEventKind
from hub.runtime.pathway_event_feed import FeedClosed
from hub.services.pathway_events import (
    MAX_PAGE,
    PathwayEventMessage,
    SubscriptionError,
    events_after,
    open_websocket_feed,
    owned_subscriptions,
    register_webhook,
    unregister,
)
from hub.store.pathway_event_subscriptions import SubscriptionRecord
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.live_feed import live_feed
from schema.patients import PatientIdentifier


@strawberry.enum(name="PathwayEventKind", description="What happened on the pathway.")
class PathwayEventKindValue(Enum):
    ADMISSION = PathwayEventKind.ADMISSION.value
    DISCHARGE = PathwayEventKind.DISCHARGE.value
    LEAVE_START = PathwayEventKind.LEAVE_START.value
    LEAVE_END = PathwayEventKind.LEAVE_END.value
    DEATH = PathwayEventKind.DEATH.value
    DISCHARGE_CANCELLED = PathwayEventKind.DISCHARGE_CANCELLED.value
    ADMISSION_CANCELLED = PathwayEventKind.ADMISSION_CANCELLED.value
    ALERT_RECEPTION_VISIT_MISSING = strawberry.enum_value(
        PathwayEventKind.ALERT_RECEPTION_VISIT_MISSING.value,
        description="Kom godt hjem: no reception visit reported in time after the discharge.",
    )
    ALERT_FAERDIGBEHANDLET_WAITING = strawberry.enum_value(
        PathwayEventKind.ALERT_FAERDIGBEHANDLET_WAITING.value,
        description="Færdigbehandlet and still waiting after the configured number of days.",
    )
    ALERT_ROUND_TABLE_ACTION_OVERDUE = strawberry.enum_value(
        PathwayEventKind.ALERT_ROUND_TABLE_ACTION_OVERDUE.value,
        description="An action of a rundbordsmøde plan is past its due date.",
    )
    ALERT_TOBS_HIGH = strawberry.enum_value(
        PathwayEventKind.ALERT_TOBS_HIGH.value,
        description="A TOBS score at or over the configured alert level.",
    )


@strawberry.type(description="One numbered event of a subscription.")
class PathwayEvent:
    subscription_id: strawberry.ID
    event_number: int = strawberry.field(
        description="Goes up by one per event of this subscription: a jump is a gap."
    )
    kind: PathwayEventKindValue
    withheld: bool = strawberry.field(
        description=(
            "The patient's consent no longer lets you see this event: its number is kept "
            "so you see no gap, but nothing about the patient is told."
        )
    )
    cpr: str | None = strawberry.field(
        description="Null when withheld, and for a patient known only by a replacement number."
    )
    patient: PatientIdentifier | None = strawberry.field(
        description=(
            "The patient's CPR number or replacement number (erstatningspersonnummer), "
            "as an identifier; null when withheld."
        )
    )
    encounter_id: strawberry.ID | None
    at: datetime | None = strawberry.field(
        description="When it happened, by the hospital; for an alert, when it became due."
    )
    status: str | None = strawberry.field(description="The stay's status as of the event.")
    encounter_class: str | None = strawberry.field(
        name="class", description="The stay's class code (IMP inpatient, EMER, AMB …)."
    )
    period_start: str | None
    period_end: str | None
    service_provider: JSON | None = strawberry.field(description="The hospital, by SOR code.")
    encounter: JSON | None = strawberry.field(
        description=(
            "The Encounter as of the event, as FHIR R4 JSON: its notification fields, "
            "or more under consent."
        )
    )
    message: str | None = strawberry.field(
        default=None, description="An alert's text (null for other kinds and when withheld)."
    )
    resource: str | None = strawberry.field(
        default=None,
        description=(
            "The resource an alert rests on, as Type/id: the stay, the Flag or the action "
            "(null for other kinds and when withheld)."
        ),
    )

    @classmethod
    def from_message(cls, message: PathwayEventMessage) -> PathwayEvent:
        encounter = message.encounter or {}
        period = encounter.get("period") or {}
        return cls(
            subscription_id=strawberry.ID(message.subscription_id),
            event_number=message.event_number,
            kind=PathwayEventKindValue(message.kind),
            withheld=message.withheld,
            cpr=message.cpr,
            patient=PatientIdentifier.told(message.told_patient()),
            encounter_id=strawberry.ID(message.encounter_id) if message.encounter_id else None,
            at=message.at,
            status=encounter.get("status"),
            encounter_class=(encounter.get("class") or {}).get("code"),
            period_start=period.get("start"),
            period_end=period.get("end"),
            service_provider=JSON(encounter["serviceProvider"])
            if "serviceProvider" in encounter
            else None,
            encounter=JSON(message.encounter) if message.encounter is not None else None,
            message=message.message,
            resource=message.resource,
        )


@strawberry.type(description="A subscription to a municipality's residents' pathway events.")
class DischargeSubscriptionInfo:
    id: strawberry.ID
    channel: str = strawberry.field(description="websocket or webhook.")
    kommune: str
    kinds: list[PathwayEventKindValue]
    url: str | None = strawberry.field(description="The webhook's URL.")
    status: str
    last_event_number: int = strawberry.field(description="The newest event number so far.")
    secret: str | None = strawberry.field(
        default=None,
        description=(
            "The webhook signing secret: given once, when the hub generated it at "
            "registration; null ever after."
        ),
    )

    @classmethod
    def from_record(
        cls, record: SubscriptionRecord, *, secret: str | None = None
    ) -> DischargeSubscriptionInfo:
        return cls(
            id=strawberry.ID(record.id),
            channel=record.channel,
            kommune=record.kommune,
            kinds=[PathwayEventKindValue(kind) for kind in record.kinds],
            url=record.endpoint,
            status=record.status,
            last_event_number=record.last_event_number,
            secret=secret,
        )


@strawberry.input(description="A webhook the hub POSTs each event to.")
class DischargeWebhookInput:
    kommune: str
    url: str = strawberry.field(description="http or https; the hub only POSTs to it.")
    kinds: list[PathwayEventKindValue] | None = strawberry.field(
        default=None, description="Which events (default: discharges)."
    )
    secret: str | None = strawberry.field(
        default=None,
        description="Your signing secret (16 characters or more); left out, the hub makes one.",
    )


def _kinds(kinds: list[PathwayEventKindValue] | None) -> list[str] | None:
    return None if kinds is None else [kind.value for kind in kinds]


async def resolve_discharge_events(
    info: HubInfo,
    kommune: str,
    kinds: list[PathwayEventKindValue] | None = None,
    after: int | None = None,
) -> AsyncGenerator[PathwayEvent, None]:
    context = info.context
    live = live_feed(context, after)
    with refusals_as_errors(SubscriptionError):
        feed = await open_websocket_feed(context.units, context.viewer, kommune, _kinds(kinds))
    with refusals_as_errors(FeedClosed):
        async for event in live.listen(feed, context.viewer, after, PathwayEvent.from_message):
            yield event


async def resolve_register_webhook(
    info: HubInfo, input: DischargeWebhookInput
) -> DischargeSubscriptionInfo:
    context = info.context
    with refusals_as_errors(SubscriptionError):
        registered = await register_webhook(
            context.units,
            context.viewer,
            kommune=input.kommune,
            url=input.url,
            kinds=_kinds(input.kinds),
            secret=input.secret,
        )
    generated = registered.secret if input.secret is None else None
    return DischargeSubscriptionInfo.from_record(registered.subscription, secret=generated)


async def resolve_unregister(info: HubInfo, id: strawberry.ID) -> bool:
    context = info.context
    with refusals_as_errors(SubscriptionError):
        await unregister(context.units, context.viewer, str(id))
    return True


async def resolve_subscriptions(info: HubInfo) -> list[DischargeSubscriptionInfo]:
    context = info.context
    found = await owned_subscriptions(context.units, context.viewer)
    return [DischargeSubscriptionInfo.from_record(record) for record in found]


async def resolve_events_after(
    info: HubInfo, subscription_id: strawberry.ID, after: int = 0, first: int = 100
) -> list[PathwayEvent]:
    context = info.context
    with refusals_as_errors(SubscriptionError):
        messages = await events_after(
            context.units,
            context.viewer,
            str(subscription_id),
            after,
            first,
            policy=context.policy,
        )
    return [PathwayEvent.from_message(message) for message in messages]


@strawberry.type
class DischargeQuery:
    discharge_subscriptions: list[DischargeSubscriptionInfo] = strawberry.field(
        resolver=resolve_subscriptions,
        description="Your organisation's subscriptions: websocket feeds and webhooks.",
    )
    discharge_events_after: list[PathwayEvent] = strawberry.field(
        resolver=resolve_events_after,
        description=(
            "The numbered events of one of your subscriptions after `after`, oldest first, "
            f"at most `first` (1–{MAX_PAGE}); consent applied as they are read now."
        ),
    )


@strawberry.type
class DischargeMutation:
    register_discharge_webhook: DischargeSubscriptionInfo = strawberry.field(
        resolver=resolve_register_webhook,
        description=(
            "Have the hub POST your residents' events to `url` (signed with the secret). "
            "Only a municipality token of that kommune may."
        ),
    )
    unregister_discharge_subscription: bool = strawberry.field(
        resolver=resolve_unregister,
        description="Turn one of your organisation's subscriptions off.",
    )


@strawberry.type
class DischargeSubscription:
    discharge_events: AsyncGenerator[PathwayEvent, None] = strawberry.subscription(
        resolver=resolve_discharge_events,
        description=(
            "Your residents' events as they happen (default: discharges), each numbered "
            "in your organisation's durable feed for this kommune and these kinds. "
            "`after: N` first replays every event after N, then continues live, with no "
            "gap and no duplicate. Only a municipality token of that kommune may subscribe."
        ),
    )
