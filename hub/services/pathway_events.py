"""Subscriptions to pathway events: registration, materialisation and rendering.

A municipal system subscribes to its residents' discharges (and, if it asks,
admissions, leaves, deaths and alerts) by websocket or webhook. Each subscription has
a durable, numbered feed:

- **Materialising** (:func:`materialise`, called by the projection observer in the
  projection's transaction, right after the pathway event is logged): every active
  subscription for the patient's residence kommune, or owned by an organisation the
  hospital notified of the stay, that wants the event's kind and whose owner the
  consent policy lets see the resource gets the event as its next number. Who that is
  (:func:`receiving`) is decided on the patient's records as they stand as of the
  event; a consumer batch decides it on the records it read ahead and followed, and
  numbers the batch's deliveries together as it logs its events.
- **Rendering** (:func:`render_deliveries`, by the websocket feed and the webhook
  sender alike): what a delivery tells is decided again when it is delivered, through
  ``hub.services.consent.read`` as every read is, and audited. A refusal recorded after the event
  was numbered withholds it: the number stays (so the receiver sees no gap) but no
  patient data goes out. An event of a stay shows the stay as of the event (the state
  logged with it), never as it is now, so catching up tells what live delivery told;
  that state is shown only to an owner who may see the stay now, and only as much of
  it as ``consented_versions`` shows of a past version. The audit names whoever is
  told: the token that pulled the page or opened the websocket, or, for a webhook, the
  subscription itself on behalf of its owner organisation; the subscription is named
  in the record either way.

An alert (``hub.runtime.alert_scanner`` logs it when it becomes due) is numbered and rendered
the same way, but shown only to an owner who may see what it rests on, exactly as the
``alerts`` query decides (``hub.services.indicators.alert_evidence``).

It is over 400 lines because registering, numbering and rendering pathway events decide
consent the same way and share the subscription's records; they are kept together so
that a delivery is always judged as its numbering was.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from hub import clock
from hub.domain.alerts import Alert
from hub.domain.consent import (
    DEFAULT_PURPOSE,
    NOTIFICATION_FIELDS,
    Policy,
    Viewer,
    Visibility,
    decide,
    notified_organisations,
)
from hub.domain.identifiers import CPR_SYSTEM, cpr_of, is_patient_key
from hub.domain.pathway_events import (
    DISCHARGE_KINDS,
    STATE_FIELDS,
    PathwayEventKind,
    alert_kind_of,
    shown_state,
)
from hub.domain.person import residence
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson
from hub.services.audit import DENIED, SUCCESS, Via, record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    PatientView,
    consented_versions,
    consented_view,
    consents_of,
    item_of,
)
from hub.services.indicators import alert_evidence, logged_alert
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.services.webhook_targets import WebhookTargetError, check_webhook_url
from hub.store.pathway_event_subscriptions import (
    ACTIVE,
    INBOX,
    LOGGED,
    OFF,
    PENDING,
    WEBHOOK,
    WEBSOCKET,
    DeliveryRecord,
    SubscriptionRecord,
)
from hub.store.pathway_events import PathwayEventRecord
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

DELIVERED_ACTION = "pathway-event.delivered"
MAX_PAGE = 500
"""The most events one pull (``dischargeEventsAfter``) returns."""


class SubscriptionError(ValueError):
    """A subscription request the hub will not carry out as asked (the caller can fix it)."""


@dataclass(frozen=True)
class PathwayEventMessage:
    """One numbered event of a subscription, as its owner may see it when delivered."""

    subscription_id: str
    event_number: int
    kind: str
    cpr: str | None  # None when withheld
    encounter_id: str | None  # None when withheld
    at: datetime | None
    withheld: bool  # consent no longer lets the owner see it: number kept, no patient data
    encounter: FhirJson | None  # the stay as of the event, as the owner may see it
    # An alert's text and the resource it rests on ("Type/id"); None for other events.
    message: str | None = None
    resource: str | None = None
    # An inbox item (``hub.services.inbox.InboxItem.to_json``); None for other events.
    item: dict[str, Any] | None = None
    # For the hub's own audit records, never sent: whom the event is about, and the
    # resource versions it discloses (``Type/id/_history/v``).
    patient_key: str | None = field(default=None, repr=False)
    disclosed: tuple[str, ...] = field(default=(), repr=False)

    def told_patient(self) -> dict[str, str] | None:
        """The patient as the event tells them (``patient_identifier``): never when
        withheld; for an inbox item, as the item does (its CPR's rule)."""
        if self.withheld:
            return None
        if self.item is not None:
            shown = self.item.get("patient")
            return dict(shown) if isinstance(shown, dict) else None
        return patient_identifier(self.patient_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "subscriptionId": self.subscription_id,
            "eventNumber": self.event_number,
            "kind": self.kind,
            "cpr": self.cpr,
            "patient": self.told_patient(),
            "encounterId": self.encounter_id,
            "at": self.at.isoformat() if self.at else None,
            "withheld": self.withheld,
            "encounter": self.encounter,
            "message": self.message,
            "resource": self.resource,
            **({"item": self.item} if self.item is not None else {}),
        }


def patient_identifier(patient_key: str | None) -> dict[str, str] | None:
    """The identifier a payload names a patient by, ``{"system", "value"}``: the CPR
    number under the CPR system, else the replacement number (or other identifier) the
    key is made of; None for no key or one that names no patient."""
    if not patient_key or not is_patient_key(patient_key):
        return None
    cpr = cpr_of(patient_key)
    if cpr is not None:
        return {"system": CPR_SYSTEM, "value": cpr}
    system, bar, value = patient_key.partition("|")
    return {"system": system, "value": value} if bar and system and value else None


@dataclass(frozen=True)
class RegisteredWebhook:
    subscription: SubscriptionRecord
    secret: str  # shown once, at registration


# --- who subscribes to what -------------------------------------------------------------


def subscription_recipient(subscription: SubscriptionRecord) -> Principal:
    """The subscription itself as the one told (a webhook's receiver), on behalf of its
    owner organisation: the audit log names it ``subscription:<id>``."""
    return Principal(
        sub=f"subscription:{subscription.id}",
        sector=Sector(subscription.owner_sector),
        org=subscription.owner_org,
        kommune=subscription.owner_kommune,
    )


def subscription_via(subscription: SubscriptionRecord, *, recipient: bool = False) -> Via:
    """The subscription as the audit record names it: what the data went through, or
    (``recipient``) where it went."""
    return Via(
        reference=f"Subscription/{subscription.id}",
        channel=subscription.channel,
        owner_sub=subscription.owner_sub,
        owner_org=subscription.owner_org,
        endpoint=subscription.endpoint,
        recipient=recipient,
    )


def owner_viewer(subscription: SubscriptionRecord) -> Viewer:
    """What the consent policy decides by: the owner organisation, for treatment."""
    return Viewer(
        sector=Sector(subscription.owner_sector),
        org=subscription.owner_org,
        kommune=subscription.owner_kommune,
        purpose=DEFAULT_PURPOSE,
    )


def check_kinds(kinds: Iterable[str] | None) -> tuple[str, ...]:
    """The kinds asked for, sorted and without repeats; discharges when none are named."""
    chosen = set(kinds) if kinds is not None else set(DISCHARGE_KINDS)
    known = {kind.value for kind in PathwayEventKind}
    unknown = chosen - known
    if unknown:
        raise SubscriptionError(
            f"unknown event kinds {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    if not chosen:
        raise SubscriptionError("kinds must name at least one kind of event")
    return tuple(sorted(chosen))


def check_subscriber(caller: Principal, kommune: str) -> None:
    """Only a municipality may subscribe, and only to its own residents' events."""
    if not (len(kommune) == 3 and kommune.isdigit()):
        raise SubscriptionError("kommune must be a 3-digit municipality code")
    if caller.sector is not Sector.MUNICIPALITY or caller.kommune != kommune:
        raise SubscriptionError(
            f"only a municipality token of kommune {kommune} may subscribe to its events"
        )


def feed_key(caller: Principal, kommune: str, kinds: Sequence[str]) -> str:
    """One durable websocket feed per (owner organisation, kommune, kinds)."""
    return f"{caller.sector.value}|{caller.org}|{kommune}|{','.join(sorted(kinds))}"


async def open_websocket_feed(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    kommune: str,
    kinds: Iterable[str] | None,
) -> SubscriptionRecord:
    """The caller's durable websocket feed for ``kommune`` and ``kinds``, created on first use.

    From its creation on, the feed is materialised whether or not anyone is connected,
    so a subscriber that reconnects keeps its numbering and can catch up.
    """
    check_subscriber(caller, kommune)
    chosen = check_kinds(kinds)
    key = feed_key(caller, kommune, chosen)
    for _ in range(2):
        async with units() as uow:
            found = await uow.subscriptions.by_feed_key(key)
            if found is not None and found.status == ACTIVE:
                return found
            if found is not None:
                await uow.subscriptions.set_status(found.id, ACTIVE)
                await uow.commit()
                return await _reread(units, found.id)
            try:
                created = await _create_owned(uow, caller, WEBSOCKET, kommune, chosen, feed_key=key)
                await uow.commit()
                return created
            except IntegrityError:
                continue  # another connection created it at the same moment: use that one
    raise SubscriptionError("the feed could not be opened; try again")


async def _reread(units: UnitOfWorkFactory[UnitOfWork], subscription_id: str) -> SubscriptionRecord:
    async with units() as uow:
        found = await uow.subscriptions.get(subscription_id)
    assert found is not None
    return found


async def register_webhook(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    *,
    kommune: str,
    url: str,
    kinds: Iterable[str] | None,
    secret: str | None = None,
) -> RegisteredWebhook:
    """A webhook subscription: the hub POSTs each event, signed with ``secret``.

    Without a secret the hub generates one; it is returned here and never shown again.
    """
    check_subscriber(caller, kommune)
    chosen = check_kinds(kinds)
    try:
        endpoint = await check_webhook_url(url)
    except WebhookTargetError as refused:
        raise SubscriptionError(str(refused)) from refused
    if secret is not None and len(secret.strip()) < 16:
        raise SubscriptionError("secret must be at least 16 characters (or leave it out)")
    signing_secret = secret.strip() if secret is not None else secrets.token_urlsafe(32)
    async with units() as uow:
        created = await _create_owned(
            uow, caller, WEBHOOK, kommune, chosen, endpoint=endpoint, secret=signing_secret
        )
        await uow.commit()
    return RegisteredWebhook(created, signing_secret)


async def _create_owned(
    uow: UnitOfWork,
    caller: Principal,
    channel: str,
    kommune: str,
    kinds: Sequence[str],
    *,
    feed_key: str | None = None,
    endpoint: str | None = None,
    secret: str | None = None,
) -> SubscriptionRecord:
    """A new subscription to ``kommune``'s residents' events, owned by the caller."""
    return await uow.subscriptions.create(
        id=str(uuid.uuid4()),
        channel=channel,
        owner_sub=caller.sub,
        owner_sector=caller.sector.value,
        owner_org=caller.org,
        owner_kommune=caller.kommune,
        kommune=kommune,
        kinds=kinds,
        endpoint=endpoint,
        secret=secret,
        feed_key=feed_key,
    )


async def owned_subscriptions(
    units: UnitOfWorkFactory[UnitOfWork], caller: Principal
) -> list[SubscriptionRecord]:
    """The caller's organisation's active subscriptions to residents' pathway events
    (websocket feeds and webhooks); its inbox's are ``hub.services.inbox``'s."""
    async with units() as uow:
        found = await uow.subscriptions.owned_by(caller.sector.value, caller.org)
    return [s for s in found if s.scope != INBOX]


def _owned(subscription: SubscriptionRecord | None, caller: Principal) -> bool:
    return (
        subscription is not None
        and subscription.status == ACTIVE
        and subscription.owner_sector == caller.sector.value
        and subscription.owner_org == caller.org
    )


def may_read(subscription: SubscriptionRecord | None, caller: Principal) -> bool:
    """Whether ``caller`` may read the subscription's events: a token of its owner
    organisation and sector that could have subscribed to it, i.e. of its kommune
    (any token of the owner organisation, for its inbox)."""
    return (
        subscription is not None
        and _owned(subscription, caller)
        and (subscription.scope == INBOX or caller.kommune == subscription.kommune)
    )


async def unregister(
    units: UnitOfWorkFactory[UnitOfWork], caller: Principal, subscription_id: str
) -> None:
    """Turn a subscription off; only its owner organisation may."""
    async with units() as uow:
        found = await uow.subscriptions.get(subscription_id)
        if not _owned(found, caller):
            # The same answer whether it does not exist or is someone else's.
            raise SubscriptionError(f"no subscription {subscription_id} of yours")
        await uow.subscriptions.set_status(subscription_id, OFF)
        await uow.commit()


async def events_after(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    subscription_id: str,
    after: int,
    first: int,
    *,
    policy: Policy,
) -> list[PathwayEventMessage]:
    """The subscription's numbered events after ``after``, rendered now and audited as
    read by ``caller`` (through the subscription).

    Only a token of the subscription's owner organisation and kommune may read them;
    anyone else is told there is no such subscription of theirs.
    """
    if not 1 <= first <= MAX_PAGE:
        raise SubscriptionError(f"first must be between 1 and {MAX_PAGE}")
    if after < 0:
        raise SubscriptionError("after must be 0 or more")
    async with units() as uow:
        found = await uow.subscriptions.get(subscription_id)
        if found is None or not may_read(found, caller):
            raise SubscriptionError(f"no subscription {subscription_id} of yours")
        deliveries = await uow.subscriptions.deliveries_after(found.id, after, first)
        messages = await render_deliveries(uow, policy, found, deliveries, readers=[caller])
        await uow.commit()
    return messages


# --- materialising ----------------------------------------------------------------------


async def materialise(
    uow: UnitOfWork,
    policy: Policy,
    event: PathwayEventRecord,
    *,
    now: datetime | None = None,
) -> list[DeliveryRecord]:
    """Number ``event`` into every subscription that should receive it (in ``uow``)."""
    now = now or clock.now()
    if not await _may_have_subscribers(uow, policy, event):
        return []
    # An alert rests on a resource of its own type (a Flag, a Task) as well.
    resource_types = tuple(dict.fromkeys((*SUBSCRIBED_RECORDS, event.resource_type)))
    stored = await uow.resources.for_patient(event.patient_key, resource_types=resource_types)
    if _subject(stored, event.resource_type, event.resource_id) is None:
        return []
    alert = await _logged_alert(uow, event)
    if alert is None and alert_kind_of(event.kind):
        return []  # what the alert rested on was withdrawn before it was numbered
    materialised: list[DeliveryRecord] = []
    for subscription in await receiving(
        uow,
        policy,
        kind=event.kind,
        resource_type=event.resource_type,
        resource_id=event.resource_id,
        patient_key=event.patient_key,
        stored=stored,
        alert=alert,
        now=now,
    ):
        delivery = await uow.subscriptions.append_delivery(
            subscription.id,
            pathway_event_seq=event.seq,
            patient_key=event.patient_key,
            status=delivery_status(subscription),
            created_at=now,
        )
        if delivery is not None:
            materialised.append(delivery)
    return materialised


SUBSCRIBED_RECORDS = ("Patient", "Consent", "Encounter")
"""The patient's records that decide who receives a pathway event (:func:`receiving`):
where they live, their consents, their stays."""


def delivery_status(subscription: SubscriptionRecord) -> str:
    """A new delivery's status: pending for a webhook to send, logged for a websocket feed."""
    return PENDING if subscription.channel == WEBHOOK else LOGGED


def _subject(
    stored: Sequence[StoredResource], resource_type: str, resource_id: str
) -> StoredResource | None:
    return next(
        (s for s in stored if s.resource_type == resource_type and s.id == resource_id), None
    )


async def receiving(
    uow: UnitOfWork,
    policy: Policy,
    *,
    kind: str,
    resource_type: str,
    resource_id: str,
    patient_key: str,
    stored: Sequence[StoredResource],
    alert: Alert | None = None,
    now: datetime,
) -> list[SubscriptionRecord]:
    """The active subscriptions that receive an event of ``kind`` about the resource
    ``resource_type/resource_id`` of ``patient_key``, decided on ``stored``: the
    patient's records (:data:`SUBSCRIBED_RECORDS`, and the subject's) as they stand
    as of the event. An alert's (``alert``) is decided as the ``alerts`` query decides.

    A subscription receives it when it is for the patient's residence kommune, or owned
    by an organisation the stay notified, wants ``kind``, and its owner may see the
    subject (of a death: the patient or one of their stays).
    """
    consents = consents_of(stored)
    kommune = residence([s for s in stored if s.resource_type == "Patient"], policy)
    subject = _subject(stored, resource_type, resource_id)
    if subject is None:
        return []
    encounters = [s for s in stored if s.resource_type == "Encounter"]
    notified = (
        notified_organisations(subject.content) if subject.resource_type == "Encounter" else ()
    )
    candidates = await uow.subscriptions.active_for(kommune=kommune, owner_orgs=notified)
    chosen: list[SubscriptionRecord] = []
    for subscription in candidates:
        if kind not in subscription.kinds:
            continue
        viewer = owner_viewer(subscription)

        def visible(resource: StoredResource, viewer: Viewer = viewer) -> bool:
            decided = decide(
                viewer, item_of(resource), consents, patient_kommune=kommune, now=now, policy=policy
            )
            return decided is not Visibility.HIDDEN

        if alert is not None:
            # Whoever may see what the alert rests on, as the ``alerts`` query decides.
            owner_view = await consented_view(uow, viewer, patient_key, policy=policy, now=now)
            seen = alert_evidence(alert, owner_view) is not None
        elif subject.resource_type == "Patient":
            # A death is news to whoever may see the patient or one of their stays.
            seen = visible(subject) or any(visible(encounter) for encounter in encounters)
        else:
            seen = visible(subject)
        if seen:
            chosen.append(subscription)
    return chosen


async def _may_have_subscribers(uow: UnitOfWork, policy: Policy, event: PathwayEventRecord) -> bool:
    """Whether any active subscription could want ``event``: a cheap look (the subject
    from the projection's cache, the patient's records) before the full one."""
    subject = await uow.resources.get(event.resource_type, event.resource_id)
    if subject is None:
        return True  # not where the hub keeps it: let the full look decide
    patients = await uow.resources.for_patient(event.patient_key, resource_types=("Patient",))
    notified = (
        notified_organisations(subject.content) if subject.resource_type == "Encounter" else ()
    )
    kommune = residence(patients, policy)
    candidates = await uow.subscriptions.active_for(kommune=kommune, owner_orgs=notified)
    return any(event.kind in subscription.kinds for subscription in candidates)


# --- rendering at delivery time ---------------------------------------------------------


async def render_deliveries(
    uow: UnitOfWork,
    policy: Policy,
    subscription: SubscriptionRecord,
    deliveries: Sequence[DeliveryRecord],
    *,
    readers: Iterable[Principal] | None = None,
    now: datetime | None = None,
) -> list[PathwayEventMessage]:
    """What each delivery tells its subscription's owner now, audited in ``uow``.

    Consent is decided again, through ``hub.services.consent.read``, for the owner
    organisation: an event the owner may no longer see is withheld (its number and
    kind only) and audited as denied.

    Each delivery is audited under whoever is told: once per distinct principal of
    ``readers`` (the token that pulled the page, the tokens of the websockets it goes
    to; none when nobody is told yet, the caller audits then), or, without
    ``readers``, under the subscription itself (:func:`subscription_recipient`, a
    webhook's receiver). The subscription is named in every record.
    """
    now = now or clock.now()
    if readers is None:
        told = [
            (subscription_recipient(subscription), subscription_via(subscription, recipient=True))
        ]
    else:
        via = subscription_via(subscription)
        told = [(reader, via) for reader in dict.fromkeys(readers)]
    if subscription.scope == INBOX:
        # An inbox's items, rendered by the inbox (imported here: it builds on this module).
        from hub.services.inbox.feed import render_inbox_messages

        return await render_inbox_messages(uow, policy, subscription, deliveries, told, now)
    events = await uow.pathway_events.get_many([d.pathway_event_seq for d in deliveries])
    viewer = owner_viewer(subscription)
    views: dict[str, PatientView] = {}
    states: dict[int, Disclosure] = {}
    messages: list[PathwayEventMessage] = []
    for delivery in deliveries:
        event = events[delivery.pathway_event_seq]
        if event.patient_key not in views:
            views[event.patient_key] = await consented_view(
                uow, viewer, event.patient_key, policy=policy, now=now
            )
            same_patient = [e for e in events.values() if e.patient_key == event.patient_key]
            states |= await _states_as_of_events(
                uow, viewer, views[event.patient_key], same_patient, policy=policy, now=now
            )
        view = views[event.patient_key]
        alert = await _logged_alert(uow, event)
        if alert is not None:
            evidence = alert_evidence(alert, view)
            disclosed = None if evidence is None else [d.stored for d in evidence]
            encounter = None
        elif alert_kind_of(event.kind):
            disclosed, encounter = None, None  # what it rested on was withdrawn
        else:
            disclosed, encounter = _disclosed(view, event, states)
        if disclosed is None:
            messages.append(
                PathwayEventMessage(
                    subscription.id,
                    delivery.event_number,
                    event.kind,
                    None,
                    None,
                    None,
                    True,
                    None,
                    patient_key=event.patient_key,
                )
            )
            await _audit_delivered(
                uow, told, event.patient_key, [], withheld=view.withheld, outcome=DENIED
            )
            continue
        messages.append(
            PathwayEventMessage(
                subscription_id=subscription.id,
                event_number=delivery.event_number,
                kind=event.kind,
                cpr=cpr_of(event.patient_key),
                encounter_id=encounter.stored.id if encounter else None,
                at=event.at,
                withheld=False,
                encounter=_shown_encounter(encounter, event),
                message=alert.message if alert else None,
                resource=f"{event.resource_type}/{event.resource_id}" if alert else None,
                patient_key=event.patient_key,
                disclosed=tuple(
                    f"{r.resource_type}/{r.id}/_history/{r.version_id}" for r in disclosed
                ),
            )
        )
        await _audit_delivered(uow, told, event.patient_key, disclosed, outcome=SUCCESS)
    return messages


async def _audit_delivered(
    uow: UnitOfWork,
    told: Sequence[tuple[Principal, Via]],
    patient_key: str,
    disclosed: Sequence[StoredResource],
    *,
    withheld: int = 0,
    outcome: str,
) -> None:
    """Record one delivered event under each principal told (and the way it went)."""
    for principal, via in told:
        await record_access(
            uow,
            principal,
            action=DELIVERED_ACTION,
            patient_key=patient_key,
            disclosed=disclosed,
            withheld=withheld,
            outcome=outcome,
            via=via,
        )


async def _logged_alert(uow: UnitOfWork, event: PathwayEventRecord) -> Alert | None:
    """The alert an alert event delivers, told from the facts; None if they no longer hold it."""
    kind = alert_kind_of(event.kind)
    if kind is None:
        return None
    return await logged_alert(
        uow,
        kind,
        event.patient_key,
        f"{event.resource_type}/{event.resource_id}",
        since=event.at or event.recorded_at,
        raised_at=event.recorded_at,
    )


async def _states_as_of_events(
    uow: UnitOfWork,
    viewer: Viewer,
    view: PatientView,
    events: Iterable[PathwayEventRecord],
    *,
    policy: Policy,
    now: datetime,
) -> dict[int, Disclosure]:
    """What ``viewer`` is shown of each event's stay as of the event, by event ``seq``.

    Only of a stay the viewer may see now (in ``view``), and through the consent choke
    point as a past version of it (``consented_versions``); of a stay it sees only the
    notification fields of now, no more than those. An event missing from the answer
    is withheld.
    """
    current = {e.stored.id: e for e in view.entries if e.stored.resource_type == "Encounter"}
    versions: list[StoredResource] = []
    seq_of: dict[int, int] = {}
    for event in events:
        now_shown = current.get(event.resource_id) if event.resource_type == "Encounter" else None
        if now_shown is None or event.state is None:
            continue
        version = replace(now_shown.stored, version_id=event.version_id, content=event.state)
        versions.append(version)
        seq_of[id(version)] = event.seq
    if not versions:
        return {}
    states: dict[int, Disclosure] = {}
    for shown in await consented_versions(uow, viewer, versions, policy=policy, now=now):
        fields = STATE_FIELDS if current[shown.stored.id].visibility.whole else NOTIFICATION_FIELDS
        content = shown_state({k: v for k, v in shown.content.items() if k in fields})
        states[seq_of[id(shown.stored)]] = replace(shown, content=content)
    return states


def _shown_encounter(encounter: Disclosure | None, event: PathwayEventRecord) -> FhirJson | None:
    """The stay an event shows: as of the event, else (an event logged without its state,
    before revision 0010) the notification fields of the stay now."""
    if encounter is None:
        return None
    if event.state is not None:
        return encounter.content
    return {k: v for k, v in encounter.content.items() if k in NOTIFICATION_FIELDS}


def _disclosed(
    view: PatientView, event: PathwayEventRecord, states: dict[int, Disclosure]
) -> tuple[list[StoredResource] | None, Disclosure | None]:
    """What the event discloses to the viewer (None: withheld), and its visible Encounter:
    as of the event when its state was logged (``states``), else as it is now."""
    if event.resource_type == "Encounter" and event.state is not None:
        as_of = states.get(event.seq)
        return (None, None) if as_of is None else ([as_of.stored], as_of)
    if event.resource_type == "Encounter":
        for entry in view.entries:
            if entry.stored.resource_type == "Encounter" and entry.stored.id == event.resource_id:
                return [entry.stored], entry
        return None, None
    if event.resource_type == "Patient":
        stays = [e for e in view.entries if e.stored.resource_type == "Encounter"]
        if view.patient is None and not stays:
            return None, None
        return view.person_sources, None
    return None, None
