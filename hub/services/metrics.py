"""Prometheus metrics: what came in, what was refused, and what still waits.

Counts that live in the database (open dead letters, unpublished outbox records)
are read at scrape time, so every process reports the same truth; intake counters
are per process, as Prometheus counters usually are.
"""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from hub import clock
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork
from hub.store.webhook_deliveries import WebhookBacklog, WebhookDeliveries

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class IntakeCounters:
    """Payloads accepted, refused and recognised as re-sends, per format."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()


WEBHOOK_ATTEMPTS: Counter[str] = Counter()
"""This process's webhook attempts by outcome: delivered, failed (to be retried), dead."""


class _Snapshot:
    def __init__(self, families: list[GaugeMetricFamily | CounterMetricFamily]) -> None:
        self._families = families

    def collect(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
        return self._families


async def render(units: UnitOfWorkFactory[UnitOfWork], counters: IntakeCounters) -> bytes:
    """The metrics in Prometheus' text format. ``units`` opens the store's unit of work:
    the dead letters, the outbox and the webhook deliveries are not on the port."""
    async with units() as uow:
        open_letters = await uow.dead_letters.count_open()
        pending = await uow.outbox.count_pending()
        webhooks = await WebhookDeliveries(uow.connection).backlog()
    dead = GaugeMetricFamily(
        "brobygger_dead_letters_open",
        "Dead letters waiting to be fixed and replayed",
        labels=["stage", "format"],
    )
    for (stage, format), count in sorted(open_letters.items()):
        dead.add_metric([stage, format], count)
    outbox = GaugeMetricFamily(
        "brobygger_outbox_pending", "Accepted events not yet published to the bus"
    )
    outbox.add_metric([], pending)
    families: list[GaugeMetricFamily | CounterMetricFamily] = [dead, outbox]
    families += webhook_families(webhooks)
    for name, help, counter in (
        ("brobygger_intake_accepted", "Payloads accepted", counters.accepted),
        (
            "brobygger_intake_rejected",
            "Payloads refused and kept as dead letters",
            counters.rejected,
        ),
        ("brobygger_intake_duplicates", "Re-sent payloads recognised", counters.duplicates),
    ):
        family = CounterMetricFamily(name, help, labels=["format"])
        for format, count in sorted(counter.items()):
            family.add_metric([format], count)
        families.append(family)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)


def webhook_families(
    backlog: list[WebhookBacklog],
) -> list[GaugeMetricFamily | CounterMetricFamily]:
    """Webhook delivery health: the backlog from the database, attempts from this process.

    Summed over the subscriptions, never labelled by one: a subscription's id is how its
    owner reads and redelivers its events, and metrics travel to places (scrapers,
    dashboards, alert mails) that are not the hub's. Which subscription is behind is in
    the hub's log and in ``hub deadletters list``.
    """
    now = clock.now()
    waiting = [row for row in backlog if row.pending]
    ages = [
        (now - row.oldest_pending_at).total_seconds()
        for row in waiting
        if row.oldest_pending_at is not None
    ]
    families: list[GaugeMetricFamily | CounterMetricFamily] = [
        GaugeMetricFamily(
            "brobygger_webhook_backlog",
            "Pathway events not yet delivered to webhook subscriptions",
            value=sum(row.pending for row in backlog),
        ),
        GaugeMetricFamily(
            "brobygger_webhook_retrying",
            "Undelivered events whose delivery has failed at least once",
            value=sum(row.retrying for row in backlog),
        ),
        GaugeMetricFamily(
            "brobygger_webhook_oldest_pending_seconds",
            "Age of the oldest undelivered event of any subscription (0 when none waits)",
            value=max([0.0, *ages]),
        ),
        GaugeMetricFamily(
            "brobygger_webhook_subscriptions_behind",
            "Webhook subscriptions with at least one undelivered event",
            value=len(waiting),
        ),
        GaugeMetricFamily(
            "brobygger_webhook_dead",
            "Events given up on (dead letters) over all webhook subscriptions",
            value=sum(row.dead for row in backlog),
        ),
    ]
    attempts = CounterMetricFamily(
        "brobygger_webhook_deliveries",
        "Webhook delivery attempts by outcome (delivered, failed, dead) in this process",
        labels=["outcome"],
    )
    for outcome, count in sorted(WEBHOOK_ATTEMPTS.items()):
        attempts.add_metric([outcome], count)
    return [*families, attempts]
