"""Files inbox items from stored versions (``hub.domain.inbox``).

A projection observer: when a stored version addresses something to an organisation
(a referral, a letter, an invitation, a plan, an action, a cohort proposal), or a
"Kom godt hjem" patient is discharged, the items are logged and filed in the
projection's own transaction, so an item exists exactly when the version it comes
from does, and a replay of the bus (which stores no new version) files nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable

from consumers import read_ahead
from hub import clock
from hub.config import kom_godt_hjem_score
from hub.domain.consent import DEFAULT_POLICY, SOR_IDENTITY, Policy
from hub.domain.inbox import filings, is_meeting_plan, meeting_organisations
from hub.domain.indicators import KOM_GODT_HJEM_SCREENING, VIRTUAL_MEETING
from hub.domain.pathway_events import PathwayEventKind, derive_events
from hub.domain.round_table import meeting_reference
from hub.domain.scores import Screening, kom_godt_hjem_eligible, screening_during
from hub.domain.timeline import fhir_instant
from hub.services.inbox.filing import file_items, file_reception_visit_due, message_addressees
from hub.store.notifications import PATHWAY_EVENTS_CHANNEL
from hub.store.resource_changes import ResourceChange
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

FILED_FROM = frozenset({"ServiceRequest", "Communication", "Task", "Appointment", "CarePlan"})


class InboxFiler:
    """Files the items each new version gives (and the reception visit a discharge does)."""

    resource_types: frozenset[str] = FILED_FROM | {"Encounter"}

    def __init__(
        self, policy: Policy = DEFAULT_POLICY, on_committed: Callable[[], None] | None = None
    ) -> None:
        self._policy = policy
        self._on_committed = on_committed  # wakes this process's feed reader and sender

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        current, event = change.current, change.event
        if current.patient_key is None:
            return
        now = clock.now()
        if current.resource_type == "Encounter":
            filed = await self._reception_visit(change, uow)
        else:
            participants: frozenset[str] = frozenset()
            if current.resource_type == "CarePlan" and is_meeting_plan(current.content):
                participants = await self._participants(current, uow)
            found = filings(
                current.resource_type,
                change.previous_content,
                current.content,
                addressees_of=lambda content: message_addressees(content, current.resource_type),
                author=f"{SOR_IDENTITY}:{current.org}",
                meeting_participants=participants,
            )
            filed = bool(found) and bool(
                await file_items(
                    uow,
                    filings=found,
                    patient_key=current.patient_key,
                    subject=current,
                    event_id=event.event_id,
                    at=event.occurred_at,
                    now=now,
                )
            )
        if filed:
            await read_ahead.notify_once_on_commit(uow, PATHWAY_EVENTS_CHANNEL)  # other processes
            if self._on_committed is not None:
                uow.after_commit(self._on_committed)

    async def _participants(self, plan: StoredResource, uow: UnitOfWork) -> frozenset[str]:
        """The identities of the organisations taking part in the plan's meeting."""
        reference = meeting_reference(plan.content)
        if reference is None:
            return frozenset()
        meeting = await uow.resources.get("Appointment", reference.rpartition("/")[2])
        if meeting is None or meeting.patient_key != plan.patient_key:
            return frozenset()
        return meeting_organisations(meeting.content) | {f"{SOR_IDENTITY}:{meeting.org}"}

    async def _reception_visit(self, change: ResourceChange, uow: UnitOfWork) -> bool:
        """Files the reception visit due when the changed stay is a "Kom godt hjem" discharge."""
        stay = change.current
        derived = derive_events(
            change.previous_content,
            stay.content,
            sector=stay.sector,
            occurred_at=change.event.occurred_at,
        )
        if not any(d.kind is PathwayEventKind.DISCHARGE for d in derived):
            return False
        if not await _kom_godt_hjem(stay, uow):
            return False
        return bool(
            await file_reception_visit_due(
                uow, self._policy, stay, event_id=change.event.event_id, now=clock.now()
            )
        )


async def _kom_godt_hjem(stay: StoredResource, uow: UnitOfWork) -> bool:
    """Whether the stay was "Kom godt hjem": a virtual discharge meeting was held during
    it, or its latest follow-up screening score is over HUB_KOM_GODT_HJEM_SCORE."""
    assert stay.patient_key is not None
    period = stay.content.get("period") or {}
    start, end = period.get("start"), period.get("end")
    if not (isinstance(start, str) and isinstance(end, str)):
        return False
    began, ended = fhir_instant(start), fhir_instant(end)
    facts = await uow.facts.for_patient(
        stay.patient_key, (VIRTUAL_MEETING, KOM_GODT_HJEM_SCREENING)
    )
    if any(
        m.kind == VIRTUAL_MEETING
        and m.at is not None
        and began is not None
        and ended is not None
        and began <= m.at <= ended
        for m in facts
    ):
        return True
    # Or its latest follow-up screening score is over the threshold (hub.domain.scores).
    latest = screening_during(
        f"Encounter/{stay.id}",
        began,
        ended,
        (
            Screening(f.value, f.at, f.related, f.resource)
            for f in facts
            if f.kind == KOM_GODT_HJEM_SCREENING and f.value is not None
        ),
    )
    return latest is not None and kom_godt_hjem_eligible(latest.value, kom_godt_hjem_score())
