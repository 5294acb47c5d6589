"""The webhook sender: posts each webhook subscription's pathway events to its URL.

Per subscription, strictly in ``eventNumber`` order: the lowest pending delivery (the
head) goes out first, and until it is delivered or given up nothing after it does.
That keeps each patient's events in order, and a receiver that fails holds up only its
own subscription. A subscription is leased (``subscriptions.lease_owner/lease_until``)
before it is posted to, so two hub processes never post one subscription at once.

Each attempt renders the delivery afresh with ``render_deliveries``: consent is
decided when the event goes out, not when it was derived, and every attempt is
audited as a disclosure (a receiver may have read a body it then answered 500 to).
The recipient the audit names is the subscription itself (``subscription:<id>``, with
its URL), on behalf of its owner organisation: no token of the owner's asked for it.

2xx is delivered. Anything else, or no answer within the timeout, is retried with
exponential back-off (``hub.domain.webhook_policy``) for at least the give-up time
(24 hours by default); then the delivery is dead: it is kept as a dead letter (stage
``webhook``; ``hub deadletters replay`` makes it pending again, see
``hub.services.pathway_event_redelivery``), an ERROR is logged
naming the subscription and event number, and the subscription moves on to its next
event.

The sender wakes at once when this process materialised deliveries (``wake``), and
polls every ``HUB_WEBHOOK_POLL_SECONDS`` for those another process materialised.

Posts go through one client, whose pool keeps connections to receivers open between
posts. Every connection it opens is to an address the rules allow
(``hub.runtime.webhook_transport``): a receiver whose name now resolves to a loopback,
link-local or private address (or an http URL where https is required) is not posted
to; that attempt fails with the reason, and is retried or given up as any other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import partial

import httpx
import orjson

from hub import clock
from hub.config import WebhookSettings
from hub.domain.consent import Policy
from hub.domain.webhook_payload import notification_bundle
from hub.domain.webhook_policy import next_attempt_at, signature
from hub.runtime.waiting import wait_until_set
from hub.runtime.webhook_transport import CheckedTransport, refused_before_connecting
from hub.services.metrics import WEBHOOK_ATTEMPTS
from hub.services.pathway_events import render_deliveries
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.services.webhook_targets import Resolver, resolve_host
from hub.store.dead_letters import STAGE_WEBHOOK
from hub.store.pathway_event_subscriptions import (
    ACTIVE,
    PENDING,
    WEBHOOK,
    DeliveryRecord,
    SubscriptionRecord,
)
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

DEAD_LETTER_FORMAT = "pathway-event"
USER_AGENT = "Brobygger-Webhook/1"
HEADS_PER_ROUND = 200
"""At most this many subscriptions' heads are picked up per round."""
_IDLE_AFTER_ERROR_SECONDS = 1.0


class Outcome(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


class WebhookSender:
    """Posts pending webhook deliveries; ``run(stop)`` until ``stop`` is set."""

    name = "webhook-sender"

    def __init__(
        self,
        units: UnitOfWorkFactory[UnitOfWork],
        policy: Policy,
        settings: WebhookSettings,
        *,
        resolve: Resolver = resolve_host,
    ) -> None:
        self._units = units
        self._policy = policy
        self._settings = settings
        self._resolve = resolve
        self._wake = asyncio.Event()
        # Unique per process and start: a restarted process must not take old leases
        # for its own.
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Long enough for one attempt and its bookkeeping; renewed before every attempt.
        self._lease = timedelta(seconds=max(30.0, 3 * settings.timeout_seconds))

    def wake(self) -> None:
        """New deliveries were materialised in this process: look now, not at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        # One task per subscription being posted to: a receiver that hangs until the
        # timeout holds up its own subscription only, never the others' next events.
        working: dict[str, asyncio.Task[bool]] = {}
        async with httpx.AsyncClient(
            timeout=self._settings.timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=CheckedTransport(self._settings.targets, resolve=self._resolve),
        ) as client:
            try:
                while not stop.is_set():
                    # Cleared before looking, so a wake during the look is not lost.
                    self._wake.clear()
                    try:
                        await self.start_due(client, stop, working)
                    except Exception:
                        # A database outage is waited out: the heads stay pending.
                        log.exception("looking for due webhook deliveries failed; trying again")
                        await wait_until_set(stop, _IDLE_AFTER_ERROR_SECONDS)
                        continue
                    await _wait_any(stop, self._wake, self._settings.poll_seconds)
            finally:
                if working:
                    await asyncio.gather(*working.values(), return_exceptions=True)

    async def start_due(
        self,
        client: httpx.AsyncClient,
        stop: asyncio.Event,
        working: dict[str, asyncio.Task[bool]],
    ) -> None:
        """Start posting to every subscription whose head is due and that nobody here works on."""
        now = clock.now()
        async with self._units() as uow:
            heads = await uow.subscriptions.pending_webhook_heads(now, HEADS_PER_ROUND)
        for head in heads:
            if len(working) >= self._settings.concurrency:
                return
            if head.subscription_id in working:
                continue
            task = asyncio.create_task(
                self._drain(client, head, stop), name=f"webhook {head.subscription_id}"
            )
            working[head.subscription_id] = task
            task.add_done_callback(partial(self._drained, working, head.subscription_id))

    def _drained(
        self, working: dict[str, asyncio.Task[bool]], subscription_id: str, task: asyncio.Task[bool]
    ) -> None:
        working.pop(subscription_id, None)
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            log.error("posting to webhook %s failed", subscription_id, exc_info=error)
        elif task.result():
            # It moved on: events that arrived meanwhile are due now, not at the next poll.
            self._wake.set()

    async def _drain(
        self, client: httpx.AsyncClient, head: DeliveryRecord, stop: asyncio.Event
    ) -> bool:
        """Deliver ``head`` and then, in order, what follows it while it is due.

        True when the subscription moved on (its last attempt delivered or gave up).
        """
        after = head.event_number - 1
        moved_on = posted = False
        try:
            while not stop.is_set():
                prepared = await self._prepare(head.subscription_id, after)
                if prepared is None:
                    return moved_on
                posted = True
                outcome = await self._post(client, prepared)
                if outcome is Outcome.RETRY:
                    return False
                moved_on = True
                after = prepared.delivery.event_number
            return moved_on
        finally:
            if posted:
                await self._release(head.subscription_id)

    async def _release(self, subscription_id: str) -> None:
        """Let the lease run out now: any process may take the subscription's next event.

        Otherwise a restarted process (a new owner) would wait out its own old lease.
        """
        try:
            async with self._units() as uow:
                await uow.subscriptions.lease(subscription_id, self.owner, clock.now())
                await uow.commit()
        except Exception:
            log.warning("could not release the lease of webhook %s", subscription_id, exc_info=True)

    async def _prepare(self, subscription_id: str, after: int) -> _Prepared | None:
        """Lease the subscription and render its delivery numbered after ``after``, if due.

        One transaction: the lease, the check that the delivery is still the due head
        (another process may have posted it since it was looked up), the consent
        decision and its audit record, which commits before the body leaves the hub.
        """
        now = clock.now()
        async with self._units() as uow:
            if not await uow.subscriptions.lease(subscription_id, self.owner, now + self._lease):
                return None  # another process posts to it
            subscription = await uow.subscriptions.get(subscription_id)
            if subscription is None or not _is_live_webhook(subscription):
                return None
            following = await uow.subscriptions.deliveries_after(subscription_id, after, 1)
            if not following or not _due(following[0], now):
                return None
            delivery = following[0]
            # No readers: audited under the subscription itself, the one told.
            (message,) = await render_deliveries(
                uow, self._policy, subscription, [delivery], readers=None, now=now
            )
            await uow.commit()
        body = orjson.dumps(notification_bundle(message.to_json(), sent_at=now))
        headers = {
            "Content-Type": "application/json",
            "X-Brobygger-Subscription": subscription.id,
            "X-Brobygger-Event-Number": str(delivery.event_number),
        }
        if subscription.secret:
            headers["X-Brobygger-Signature"] = signature(subscription.secret, body)
        return _Prepared(subscription, delivery, body, headers)

    async def _post(self, client: httpx.AsyncClient, prepared: _Prepared) -> Outcome:
        """Post one rendered delivery and record what came of it."""
        endpoint = prepared.subscription.endpoint
        assert endpoint is not None
        error = refused_before_connecting(endpoint, self._settings.targets)
        try:
            if error is None:
                response = await client.post(
                    endpoint, content=prepared.body, headers=prepared.headers
                )
                if not 200 <= response.status_code < 300:
                    error = f"HTTP {response.status_code} from the receiver"
        except httpx.HTTPError as failure:
            error = (
                f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
            )
        if error is None:
            return await self._delivered(prepared.delivery)
        return await self._failed(prepared.subscription, prepared.delivery, error)

    async def _delivered(self, delivery: DeliveryRecord) -> Outcome:
        async with self._units() as uow:
            await uow.subscriptions.mark_delivered(delivery.id, clock.now())
            await uow.commit()
        WEBHOOK_ATTEMPTS[Outcome.DELIVERED.value] += 1
        return Outcome.DELIVERED

    async def _failed(
        self, subscription: SubscriptionRecord, delivery: DeliveryRecord, error: str
    ) -> Outcome:
        failures = delivery.attempts + 1
        now = clock.now()
        async with self._units() as uow:
            retry_at = next_attempt_at(
                failures,
                window_start=delivery.retry_since or delivery.created_at,
                now=now,
                schedule=self._settings.retry,
                jitter=random.random(),  # noqa: S311 (spreading retries, not a secret)
            )
            if retry_at is not None:
                await uow.subscriptions.schedule_retry(delivery.id, failures, retry_at, error)
                await uow.commit()
                WEBHOOK_ATTEMPTS["failed"] += 1
                log.warning(
                    "webhook %s event %d failed (%s); attempt %d, next at %s",
                    subscription.id,
                    delivery.event_number,
                    error,
                    failures,
                    retry_at.isoformat(timespec="seconds"),
                )
                return Outcome.RETRY
            what = f"gave up after {failures} attempts: {error}"
            await uow.subscriptions.mark_dead(delivery.id, what)
            dead_letter_id = await uow.dead_letters.add(
                stage=STAGE_WEBHOOK,
                format=DEAD_LETTER_FORMAT,
                # What identifies the delivery, not what it said: a replay renders it
                # again under the consent in force then, and no patient data waits here.
                raw=orjson.dumps(
                    {
                        "subscriptionId": subscription.id,
                        "eventNumber": delivery.event_number,
                        "deliveryId": delivery.id,
                        "endpoint": subscription.endpoint,
                        "attempts": failures,
                        "createdAt": delivery.created_at.isoformat(),
                    },
                    option=orjson.OPT_INDENT_2,
                ),
                what=what,
                where=f"subscription {subscription.id} event {delivery.event_number}",
                event_id=f"webhook-delivery:{delivery.id}",
            )
            await uow.commit()
        WEBHOOK_ATTEMPTS[Outcome.DEAD.value] += 1
        log.error(
            "webhook %s event %d is dead after %d attempts (%s): dead letter %s; "
            "the subscription moves on to its next event",
            subscription.id,
            delivery.event_number,
            failures,
            error,
            dead_letter_id,
        )
        return Outcome.DEAD


@dataclass(frozen=True)
class _Prepared:
    """A delivery rendered for its attempt: what is posted, and to whom."""

    subscription: SubscriptionRecord
    delivery: DeliveryRecord
    body: bytes
    headers: dict[str, str]


def _is_live_webhook(subscription: SubscriptionRecord) -> bool:
    return (
        subscription.channel == WEBHOOK
        and subscription.status == ACTIVE
        and bool(subscription.endpoint)
    )


def _due(delivery: DeliveryRecord, now: datetime) -> bool:
    return delivery.status == PENDING and (
        delivery.next_attempt_at is None or delivery.next_attempt_at <= now
    )


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Until ``stop`` or ``wake`` is set, or ``seconds`` have passed."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
