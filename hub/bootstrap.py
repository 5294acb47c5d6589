"""The composition root: the one place that wires core, adapters and consumers together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fhir import FhirAdapter
from adapters.hl7v2 import Hl7v2Adapter
from adapters.medcom import MedComAdapter
from adapters.oioxml import OioxmlAdapter
from consumers.acknowledgements import AcknowledgementRecorder
from consumers.inbox import InboxFiler
from consumers.pathway_events import PathwayEventDeriver
from consumers.pathway_facts import PathwayFactsObserver
from consumers.patient_link_index import PatientLinkIndexer
from consumers.projection import ProjectionObserver, ResourceProjection
from consumers.round_table_index import RoundTableIndexer
from hub import clock
from hub.bus.embedded import EmbeddedBus
from hub.bus.kafka import KafkaBus
from hub.config import TOPIC_INBOUND, Settings
from hub.domain.consent import Policy
from hub.domain.costs import TariffTable
from hub.domain.directory import Organisation
from hub.domain.translation import Adapter, AdapterRegistry
from hub.ports import Bus
from hub.runtime.alert_scanner import AlertScanner
from hub.runtime.consumer_runner import ConsumerRunner
from hub.runtime.outbox_relay import OutboxRelay
from hub.runtime.pathway_event_feed import PathwayEventFeed
from hub.runtime.pathway_event_webhooks import WebhookSender
from hub.services.consent.read import load_policy
from hub.services.costs import configured_tariffs
from hub.services.directory import directory_cache
from hub.services.intake import IntakeService
from hub.services.offers import CONFIRMATION_FORMAT, OfferConfirmations
from hub.services.patient_link_record import LINK_FORMAT, PatientLinkRecords
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def build_adapters(settings: Settings) -> AdapterRegistry:
    adapters: list[Adapter] = [
        Hl7v2Adapter(
            local_timezone=settings.local_timezone, processing_ids=settings.hl7v2_processing_ids
        ),
        MedComAdapter(),
        OioxmlAdapter(local_timezone=settings.local_timezone),
        FhirAdapter(),
    ]
    return {adapter.format: adapter for adapter in adapters}


def units_over(engine: AsyncEngine) -> UnitOfWorkFactory[UnitOfWork]:
    """The factory the services open their units of work with: the store's, on ``engine``."""
    # The edges pass it to services that ask only for the ports (``FiguresUnits``):
    # mypy checks there that the store's unit of work conforms.
    return partial(UnitOfWork, engine)


def build_bus(settings: Settings, engine: AsyncEngine) -> Bus:
    if settings.kafka_bootstrap:
        return KafkaBus(
            settings.kafka_bootstrap,
            topics=[TOPIC_INBOUND],
            partitions=settings.kafka_topic_partitions,
            session_timeout_ms=settings.kafka_session_timeout_ms,
        )
    return EmbeddedBus(engine)


@dataclass
class Hub:
    """One hub process's parts and the background tasks that move messages along."""

    settings: Settings
    engine: AsyncEngine
    units: UnitOfWorkFactory[UnitOfWork]
    """Opens a unit of work on the hub's store (what the services take): one factory for
    the hub's lifetime, shared by its workers and edges, so what is cached per factory
    (the organisation directory, ``hub.services.directory``) is shared too."""
    bus: Bus
    relay: OutboxRelay
    intake: IntakeService
    consumers: list[ConsumerRunner]
    policy: Policy
    webhooks: WebhookSender | None = None  # runs wherever the consumers run
    feed: PathwayEventFeed | None = None  # live pathway events for this process's websockets
    alert_scanner: AlertScanner | None = None  # runs wherever the consumers run
    tariffs: TariffTable | None = None  # the deployment's cost tariffs (HUB_COST_TARIFFS)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def open(self) -> None:
        """Bring the schema up to date and connect to the bus."""
        await upgrade(self.engine)
        await self.bus.start()

    def start_background(self, *, relay: bool, consumers: bool) -> None:
        if relay:
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="relay"))
        if consumers:
            for runner in self.consumers:
                self._tasks.append(
                    asyncio.create_task(runner.run(self._stop), name=runner.handler.name)
                )
            if self.webhooks is not None:
                self._tasks.append(
                    asyncio.create_task(self.webhooks.run(self._stop), name=self.webhooks.name)
                )
            if self.alert_scanner is not None:
                scanner = self.alert_scanner
                self._tasks.append(asyncio.create_task(scanner.run(self._stop), name=scanner.name))

    async def organisation(self, org: str) -> Organisation | None:
        """The organisation directory's entry of ``org`` (None when it does not know it,
        or cannot be read: the caller is then known by its token alone)."""
        try:
            directory = await directory_cache(self.units).directory()
        except Exception:
            log.exception("the organisation directory could not be read")
            return None
        return directory.by_sor(org, clock.now())

    async def controller_of(self, org: str) -> str | None:
        """The data controller the organisation directory names for ``org``, if any."""
        found = await self.organisation(org)
        return found.controller if found else None

    def start_feed(self) -> None:
        """Follow the websocket feeds (where GraphQL is served)."""
        if self.feed is not None:
            self._tasks.append(asyncio.create_task(self.feed.run(self._stop), name="feed"))

    async def close(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=15)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            except Exception:
                log.exception("background task %s failed", task.get_name())
        self._tasks.clear()
        await self.bus.stop()
        await self.engine.dispose()


def freeze_startup_heap() -> None:
    """Keep what start-up loaded out of the garbage collector's full passes.

    The schema, the FHIR models and the adapters live as long as the process; left in
    the collected generations, every full pass walks them all and stalls the event
    loop for tens of milliseconds (seen as the pathway query's p99).
    """
    gc.collect()
    gc.freeze()


def build_hub(settings: Settings) -> Hub:
    engine = create_engine(settings.database_url)
    units = units_over(engine)
    bus = build_bus(settings, engine)
    relay = OutboxRelay(units, bus, engine=engine)  # engine: lock and LISTEN
    intake = IntakeService(
        units,
        build_adapters(settings),
        own={CONFIRMATION_FORMAT: OfferConfirmations(), LINK_FORMAT: PatientLinkRecords()},
        on_accepted=relay.wake,
    )
    policy = load_policy(settings.consent_policy_file)
    tariffs = configured_tariffs(settings.cost_tariffs)  # checked now: a bad file stops the hub
    feed = PathwayEventFeed(units, policy, listen_on=engine)
    webhooks = WebhookSender(units, policy, settings.webhooks)

    def materialised() -> None:
        # New numbered events: the websocket feed and the webhook sender look at once.
        feed.wake()
        webhooks.wake()

    alert_scanner = AlertScanner(
        units,
        policy,
        settings.alerts,
        interval_seconds=settings.alert_scan_seconds,
        on_logged=materialised,
        offers_unconfirmed_after=timedelta(days=settings.offer_confirm_days),
        slice_patients=settings.alert_scan_slice_patients,
        slice_pause_seconds=settings.alert_scan_slice_pause_seconds,
    )
    observers: list[ProjectionObserver] = [
        RoundTableIndexer(),
        PatientLinkIndexer(),
        PathwayFactsObserver(settings.cohort, policy=policy, on_published=relay.wake),
        PathwayEventDeriver(policy, on_committed=materialised),
        InboxFiler(policy, on_committed=materialised),
        alert_scanner,  # hears of alert facts stored late, for its next scan
    ]
    consumers = [
        ConsumerRunner(units, bus, ResourceProjection(observers=observers)),
        ConsumerRunner(units, bus, AcknowledgementRecorder()),
    ]
    return Hub(
        settings,
        engine,
        units,
        bus,
        relay,
        intake,
        consumers,
        policy,
        webhooks,
        feed,
        alert_scanner,
        tariffs=tariffs,
    )
