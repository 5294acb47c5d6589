"""The alert scanner: logs each pathway alert once, when it becomes due, and delivers it.

Alerts (``hub.domain.alerts``) are raised by the passage of time, not by a message: a
discharge becomes a missing reception visit 24 hours later with nothing stored in
between. So no projection observer can log them; this task looks every
``HUB_ALERT_SCAN_SECONDS`` wherever the consumers run.

Each scan looks only where an alert can have become due since the previous one:

- the facts whose due time falls in the interval since the last scan, narrowed in SQL
  (``hub.services.indicators.patients_with_alerts_due``);
- the patients whose alert facts this process's projection changed since (a
  færdigbehandlet Flag sent days late is overdue the moment it is stored; a TOBS score
  at or over the alert level is due the moment it is stored): the scanner is also a
  projection observer that notes them after each commit.

The first scan after a start looks back ``HUB_ALERT_RECEPTION_LOOKBACK_DAYS``, so
alerts that became due while no scanner ran are caught up. The rules then decide
about those patients alone, and each alert raised is appended to ``pathway_events``
as the event kind ``alert-<kind>`` resting on the resource the alert is about — once:
an alert already logged for that resource, kind and due time is not logged again, by
the next scan, after a restart, or by another process. A scan looks at its patients in
slices of ``HUB_ALERT_SCAN_SLICE_PATIENTS``, one transaction each, pausing
``HUB_ALERT_SCAN_SLICE_PAUSE_MS`` between them: a scan over many patients (those a
backlog's messages changed) then neither holds a connection and the lock for long nor
keeps the process's event loop, and the CPU, from the reads it serves. The slices are
serialised across processes (the PostgreSQL advisory lock below; SQLite's single
writer), and the log's unique constraint catches whatever slips past that. A logged
alert is numbered into the subscriptions that asked for its kind
(``hub.services.pathway_events.materialise``) and filed to the inbox of the party that
must act on it (``hub.services.inbox.file_alert``) in the same transaction, and the
websocket feed and webhook sender are woken. Each scan
also announces the inbox items whose day has come (a referral deferred to today), and
files the offers their owners have not confirmed for the configured period
(``hub.services.offers.file_unconfirmed_offers``) to the owners' inboxes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from hub import clock
from hub.domain.alerts import Alert, AlertRules
from hub.domain.consent import Policy
from hub.domain.offers import DEFAULT_CONFIRM_PERIOD
from hub.domain.pathway_events import alert_event_kind
from hub.runtime.waiting import wait_until_set
from hub.services.inbox.filing import announce_due, file_alert
from hub.services.indicators import alerts_of_patients, patients_with_alerts_due
from hub.services.offers import file_unconfirmed_offers
from hub.services.pathway_events import materialise
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.notifications import PATHWAY_EVENTS_CHANNEL, notify_on_commit
from hub.store.pathway_events import PathwayEventRecord
from hub.store.resource_changes import ResourceChange
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_SCAN_LOCK_ID = 7_301_733
"""PostgreSQL advisory lock held by the one scan running across all hub processes."""

ALERT_RESOURCE_TYPES = frozenset({"Encounter", "Flag", "Task", "CarePlan", "Observation"})
"""The resource types whose facts the alerts are computed from."""


class AlertScanner:
    """Logs and delivers due alerts; ``run(stop)`` scans until ``stop`` is set."""

    name = "alert-scanner"
    resource_types: frozenset[str] = ALERT_RESOURCE_TYPES

    def __init__(
        self,
        units: UnitOfWorkFactory[UnitOfWork],
        policy: Policy,
        rules: AlertRules,
        *,
        interval_seconds: float = 60.0,
        on_logged: Callable[[], None] | None = None,
        offers_unconfirmed_after: timedelta = DEFAULT_CONFIRM_PERIOD,
        slice_patients: int = 50,
        slice_pause_seconds: float = 0.01,
    ) -> None:
        # The store's units of work: the scan's advisory lock is taken on their connection.
        self._units = units
        self._policy = policy
        self._rules = rules
        self._interval = interval_seconds
        # Wakes this process's feed reader and webhook sender once alerts are committed.
        self._on_logged = on_logged
        # Offers unconfirmed this long go to their owner's inbox (hub.services.offers).
        self._offers_unconfirmed_after = offers_unconfirmed_after
        # A scan looks at this many patients per transaction and pauses between them, so
        # a large scan (a backlog's patients) neither holds a connection and the lock
        # long nor keeps the event loop (and the CPU) from the process's other work.
        self._slice_patients = max(1, slice_patients)
        self._slice_pause = slice_pause_seconds
        self._scanned_until: datetime | None = None
        self._changed_patients: set[str] = set()

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        """Projection observer: the patient's alert facts changed; look at them next scan.

        Noted only once the version is committed, so the scan finds its facts.
        """
        patient_key = change.current.patient_key
        if patient_key is not None:
            uow.after_commit(lambda: self._changed_patients.add(patient_key))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.scan()
            except Exception:
                # A database outage is waited out: the next scan covers this interval too.
                log.exception("scanning for due alerts failed; trying again")
            await wait_until_set(stop, self._interval)

    async def scan(self, now: datetime | None = None) -> list[PathwayEventRecord]:
        """Log (and number into the subscriptions) every alert that became due by ``now``.

        Returns the alerts logged by this scan.
        """
        now = now or clock.now()
        since = self._scanned_until or now - timedelta(days=self._rules.reception_lookback_days)
        changed, self._changed_patients = self._changed_patients, set()
        try:
            logged = await self._scan(since, now, changed)
        except BaseException:
            self._changed_patients |= changed
            raise
        self._scanned_until = max(now, since)
        if logged:
            log.info("logged %d alert(s) that became due by %s", len(logged), now.isoformat())
        return logged

    async def _scan(
        self, since: datetime, now: datetime, changed: set[str]
    ) -> list[PathwayEventRecord]:
        async with self._units() as uow:
            due = await patients_with_alerts_due(uow, self._rules, since, now)
        patients = sorted(due | changed)
        logged: list[PathwayEventRecord] = []
        began = time.perf_counter()
        for first in range(0, len(patients), self._slice_patients):
            if first:
                await asyncio.sleep(self._slice_pause)  # whatever else the process serves
            logged += await self._scan_slice(patients[first : first + self._slice_patients], now)
        await self._file_due(now)
        (log.info if patients else log.debug)(
            "alert scan: %d patient(s) in slices of %d, %.0f ms",
            len(patients),
            self._slice_patients,
            (time.perf_counter() - began) * 1000,
        )
        return logged

    async def _scan_slice(self, patients: list[str], now: datetime) -> list[PathwayEventRecord]:
        """Log the alerts of these patients in one transaction."""
        logged: list[PathwayEventRecord] = []
        async with self._units() as uow:
            await self._lock(uow)
            raised = await alerts_of_patients(uow, self._rules, patients, now)
            numbered = False
            for alert in raised:
                record = await self._log_once(uow, alert, now)
                if record is None:
                    continue
                logged.append(record)
                if await materialise(uow, self._policy, record, now=now):
                    numbered = True
                # And to the inbox of the party that must act on it.
                if await file_alert(uow, self._policy, record):
                    numbered = True
            await self._wake_on_commit(uow, numbered)
            await uow.commit()
        return logged

    async def _file_due(self, now: datetime) -> None:
        """Announce the inbox items whose day has come and file unconfirmed offers."""
        async with self._units() as uow:
            await self._lock(uow)
            numbered = False
            # Items whose day has come (a deferred referral) go out now.
            if await announce_due(uow, now):
                numbered = True
            # Offers their owners have not confirmed for long go to the owners' inboxes.
            if await file_unconfirmed_offers(uow, now, self._offers_unconfirmed_after):
                numbered = True
            await self._wake_on_commit(uow, numbered)
            await uow.commit()

    @staticmethod
    async def _lock(uow: UnitOfWork) -> None:
        """Serialise with any other process's scan until this transaction ends."""
        if uow.connection.dialect.name == "postgresql":
            await uow.connection.execute(
                text("SELECT pg_advisory_xact_lock(:id)"), {"id": _SCAN_LOCK_ID}
            )

    async def _wake_on_commit(self, uow: UnitOfWork, numbered: bool) -> None:
        if numbered:
            await notify_on_commit(uow.connection, PATHWAY_EVENTS_CHANNEL)  # other processes
            if self._on_logged is not None:
                uow.after_commit(self._on_logged)  # this process

    async def _log_once(
        self, uow: UnitOfWork, alert: Alert, now: datetime
    ) -> PathwayEventRecord | None:
        """Append ``alert`` to the log unless it is there already (None then)."""
        resource_type, _, resource_id = alert.evidence[0].partition("/")
        kind = alert_event_kind(alert.kind).value
        earlier = await uow.pathway_events.for_resource(resource_type, resource_id)
        # One alert per resource, kind and due time: a new version of the resource that
        # leaves the alert as it was (a note on an overdue action) raises nothing new;
        # one that moves the due time (a new deadline, passed again) does.
        if any(e.kind == kind and e.at == alert.since for e in earlier):
            return None
        subject = await uow.resources.get(resource_type, resource_id)
        if subject is None or subject.patient_key != alert.patient_key:
            return None
        try:
            async with uow.connection.begin_nested():
                return await uow.pathway_events.append(
                    patient_key=alert.patient_key,
                    kind=kind,
                    resource_type=resource_type,
                    resource_id=resource_id,
                    version_id=subject.version_id,
                    at=alert.since,
                    recorded_at=now,
                    sector=subject.sector,
                    org=subject.org,
                    event_id=f"alert:{uuid.uuid4()}",
                )
        except IntegrityError:
            return None  # another scanner logged it at the same moment
