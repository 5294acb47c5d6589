"""Subscriptions to an organisation's inbox: its websocket feeds and webhooks, and what
their deliveries tell."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from hub import clock
from hub.domain.consent import DEFAULT_PURPOSE, Policy, Viewer
from hub.domain.inbox import InboxKind
from hub.domain.sectors import Sector
from hub.services.audit import DENIED, SUCCESS, Via, record_access
from hub.services.auth import Principal
from hub.services.consent.read import PatientView
from hub.services.inbox.filing import identities_of, item_kind
from hub.services.inbox.read import InboxError, InboxItem, check_values, render_item
from hub.services.pathway_events import DELIVERED_ACTION, PathwayEventMessage
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.services.webhook_targets import WebhookTargetError, check_webhook_url
from hub.store.directory import OrganisationDirectory
from hub.store.inbox import InboxItemRecord
from hub.store.pathway_event_subscriptions import (
    ACTIVE,
    INBOX,
    WEBHOOK,
    WEBSOCKET,
    DeliveryRecord,
    SubscriptionRecord,
)
from hub.store.pathway_events import PathwayEventRecord
from hub.store.unit_of_work import UnitOfWork

# --- subscriptions' deliveries ----------------------------------------------------------


def owner_identities(subscription: SubscriptionRecord, glns: Iterable[str]) -> frozenset[str]:
    viewer = _owner_viewer(subscription, glns)
    return identities_of(viewer)


def _owner_viewer(subscription: SubscriptionRecord, glns: Iterable[str]) -> Viewer:
    return Viewer(
        sector=Sector(subscription.owner_sector),
        org=subscription.owner_org,
        kommune=subscription.owner_kommune,
        purpose=DEFAULT_PURPOSE,
        aliases=frozenset(f"gln:{gln}" for gln in glns),
    )


@dataclass(frozen=True)
class RenderedItem:
    """A delivery of an inbox subscription: its item as the owner may see it, or None
    (withheld)."""

    delivery: DeliveryRecord
    event: PathwayEventRecord
    item: InboxItem | None


async def render_item_deliveries(
    uow: UnitOfWork,
    policy: Policy,
    subscription: SubscriptionRecord,
    deliveries: Sequence[DeliveryRecord],
    *,
    told: Sequence[tuple[Principal, Via]],
    now: datetime | None = None,
) -> list[RenderedItem]:
    """What each delivery of an inbox subscription tells its owner now, audited in
    ``uow`` for each of ``told``."""
    now = now or clock.now()
    organisation = await OrganisationDirectory(uow.connection).get(subscription.owner_org)
    viewer = _owner_viewer(subscription, organisation.glns if organisation else ())
    identities = identities_of(viewer)
    events = await uow.pathway_events.get_many([d.pathway_event_seq for d in deliveries])
    views: dict[str, PatientView] = {}
    rendered: list[RenderedItem] = []
    for delivery in deliveries:
        event = events[delivery.pathway_event_seq]
        record = await _owner_item(uow, event.seq, identities)
        item = (
            None
            if record is None
            else await render_item(uow, policy, viewer, record, now=now, views=views)
        )
        rendered.append(RenderedItem(delivery, event, item))
        for principal, via in told:
            await record_access(
                uow,
                principal,
                action=DELIVERED_ACTION,
                patient_key=event.patient_key,
                disclosed=list(item.disclosed) if item else [],
                outcome=SUCCESS if item else DENIED,
                via=via,
            )
    return rendered


async def _owner_item(
    uow: UnitOfWork, seq: int, identities: frozenset[str]
) -> InboxItemRecord | None:
    return await uow.inbox.for_event(seq, identities)


async def render_inbox_messages(
    uow: UnitOfWork,
    policy: Policy,
    subscription: SubscriptionRecord,
    deliveries: Sequence[DeliveryRecord],
    told: Sequence[tuple[Principal, Via]],
    now: datetime,
) -> list[PathwayEventMessage]:
    """An inbox subscription's deliveries as the messages its channels send."""
    rendered = await render_item_deliveries(
        uow, policy, subscription, deliveries, told=told, now=now
    )
    messages: list[PathwayEventMessage] = []
    for shown in rendered:
        item = shown.item
        messages.append(
            PathwayEventMessage(
                subscription_id=subscription.id,
                event_number=shown.delivery.event_number,
                kind=item.kind if item else item_kind(shown.event.kind),
                cpr=item.cpr if item else None,
                encounter_id=None,
                at=shown.event.at if item else None,
                withheld=item is None,
                encounter=None,
                message=item.title if item else None,
                resource=item.resource if item else None,
                item=item.to_json() if item else None,
                patient_key=shown.event.patient_key,
                disclosed=tuple(
                    f"{r.resource_type}/{r.id}/_history/{r.version_id}"
                    for r in (item.disclosed if item else ())
                ),
            )
        )
    return messages


# --- subscribing ------------------------------------------------------------------------


def check_item_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    """The item kinds asked for, sorted; every kind when none are named."""
    known = [kind.value for kind in InboxKind]
    chosen = set(kinds) if kinds is not None else set(known)
    check_values(chosen, known, "kind")
    if not chosen:
        raise InboxError("no-kinds", "kinds must name at least one kind of item")
    return tuple(sorted(chosen))


def inbox_feed_key(caller: Principal, kinds: Sequence[str]) -> str:
    """One durable inbox feed per (owner organisation, kinds)."""
    return f"inbox|{caller.sector.value}|{caller.org}|{','.join(sorted(kinds))}"


async def open_inbox_feed(
    units: UnitOfWorkFactory[UnitOfWork], caller: Principal, kinds: Iterable[str] | None
) -> SubscriptionRecord:
    """The caller's organisation's durable inbox feed for ``kinds``, created on first use:
    from then on it is numbered whether or not anyone is connected."""
    chosen = check_item_kinds(kinds)
    key = inbox_feed_key(caller, chosen)
    for _ in range(2):
        async with units() as uow:
            found = await uow.subscriptions.by_feed_key(key)
            if found is not None:
                if found.status != ACTIVE:
                    await uow.subscriptions.set_status(found.id, ACTIVE)
                    await uow.commit()
                    found = await uow.subscriptions.get(found.id)
                assert found is not None
                return found
            try:
                created = await uow.subscriptions.create(
                    **_owned_by(caller),
                    channel=WEBSOCKET,
                    kinds=chosen,
                    feed_key=key,
                )
                await uow.commit()
                return created
            except IntegrityError:
                continue  # another connection created it at the same moment
    raise InboxError("try-again", "the feed could not be opened; try again")


async def register_inbox_webhook(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    *,
    url: str,
    kinds: Iterable[str] | None,
    secret: str | None = None,
) -> tuple[SubscriptionRecord, str]:
    """Have the hub POST the caller's organisation's inbox items to ``url``, signed with
    ``secret`` (generated, and returned here once, when not given)."""
    chosen = check_item_kinds(kinds)
    try:
        endpoint = await check_webhook_url(url)
    except WebhookTargetError as refused:
        raise InboxError("bad-url", str(refused)) from refused
    if secret is not None and len(secret.strip()) < 16:
        raise InboxError("short-secret", "secret must be at least 16 characters (or leave it out)")
    signing_secret = secret.strip() if secret is not None else secrets.token_urlsafe(32)
    async with units() as uow:
        created = await uow.subscriptions.create(
            **_owned_by(caller),
            channel=WEBHOOK,
            kinds=chosen,
            endpoint=endpoint,
            secret=signing_secret,
        )
        await uow.commit()
    return created, signing_secret


async def inbox_subscriptions(
    units: UnitOfWorkFactory[UnitOfWork], caller: Principal
) -> list[SubscriptionRecord]:
    """The caller's organisation's active inbox subscriptions."""
    async with units() as uow:
        found = await uow.subscriptions.owned_by(caller.sector.value, caller.org)
    return [s for s in found if s.scope == INBOX]


def _owned_by(caller: Principal) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "owner_sub": caller.sub,
        "owner_sector": caller.sector.value,
        "owner_org": caller.org,
        "owner_kommune": caller.kommune,
        "kommune": caller.kommune or "",
        "scope": INBOX,
    }
