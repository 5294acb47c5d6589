"""Reading an organisation's inbox under consent, and moving its items on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hub import clock
from hub.domain.alerts import Alert
from hub.domain.consent import Policy, Viewer, Visibility
from hub.domain.identifiers import cpr_of, is_patient_key
from hub.domain.inbox import ALERT_ITEMS, InboxKind, InboxState, InboxStateError, next_state, title
from hub.domain.translation import FhirJson
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import Disclosure, PatientView, consented_view, viewer_of
from hub.services.inbox.filing import identities_of
from hub.services.indicators import alert_evidence, logged_alert
from hub.services.pathway_events import patient_identifier
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.inbox import InboxItemRecord
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

READ_ACTION = "inbox.read"
INVITATION_ITEMS = frozenset(
    {InboxKind.ROUND_TABLE_INVITATION.value, InboxKind.ROUND_TABLE_CHANGED.value}
)
"""What an organisation invited without the patient's consent is told of: the meeting."""
MAX_PAGE = 200
"""The most items one ``inbox`` read returns."""


class InboxError(ValueError):
    """A request about the inbox the hub will not carry out; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class InboxItem:
    """One item as its reader may see it."""

    id: int
    kind: str
    state: str
    state_reason: str | None
    state_at: datetime | None
    created_at: datetime
    due_at: datetime
    cpr: str | None
    # The patient's key (``cpr:<CPR>`` or a replacement number's ``<system>|<value>``);
    # None exactly where ``cpr`` is withheld too.
    patient_key: str | None
    resource: str  # "Type/id"
    title: str  # Danish
    content: FhirJson | None  # the resource as the reader may see it (None for an alert)
    evidence: tuple[str, ...] = ()  # an alert's resources, "Type/id"
    disclosed: tuple[StoredResource, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "stateReason": self.state_reason,
            "title": self.title,
            "cpr": self.cpr,
            "patient": patient_identifier(self.patient_key),
            "resource": self.resource,
            "content": self.content,
            "createdAt": self.created_at.isoformat(),
        }


# --- reading ----------------------------------------------------------------------------


async def read_inbox(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    *,
    policy: Policy,
    first: int = 50,
    after: int | None = None,
    states: Collection[str] | None = None,
    kinds: Collection[str] | None = None,
) -> list[InboxItem]:
    """The caller's organisation's items, newest first, as it may see them now; audited."""
    if not 1 <= first <= MAX_PAGE:
        raise InboxError("bad-page-size", f"first must be between 1 and {MAX_PAGE}")
    check_values(states, [s.value for s in InboxState], "state")
    check_values(kinds, [k.value for k in InboxKind], "kind")
    viewer = viewer_of(caller)
    now = clock.now()
    shown: list[InboxItem] = []
    async with units() as uow:
        cursor = after
        views: dict[str, PatientView] = {}  # one consented view per patient on the page
        # Hidden items are skipped, so read on until the page is full or none are left.
        while len(shown) < first:
            batch = await uow.inbox.for_recipients(
                identities_of(viewer),
                now=now,
                after=cursor,
                limit=first * 2,
                states=states,
                kinds=kinds,
            )
            if not batch:
                break
            cursor = batch[-1].id
            seen: set[tuple[int, str]] = set()
            for record in batch:
                if (record.pathway_event_seq, record.kind) in seen:
                    continue  # addressed to the reader twice (by SOR and GLN)
                seen.add((record.pathway_event_seq, record.kind))
                item = await render_item(uow, policy, viewer, record, now=now, views=views)
                if item is None:
                    continue
                shown.append(item)
                await record_access(
                    uow,
                    caller,
                    action=READ_ACTION,
                    patient_key=record.patient_key,
                    disclosed=list(item.disclosed),
                )
                if len(shown) == first:
                    break
        await uow.commit()
    return shown


def check_values(given: Collection[str] | None, known: Sequence[str], what: str) -> None:
    unknown = sorted(set(given or ()) - set(known))
    if unknown:
        raise InboxError(
            f"unknown-{what}", f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}"
        )


async def render_item(
    uow: UnitOfWork,
    policy: Policy,
    viewer: Viewer,
    record: InboxItemRecord,
    *,
    now: datetime,
    views: dict[str, PatientView] | None = None,
) -> InboxItem | None:
    """``record`` as ``viewer`` may see it now; None when it may not."""
    if record.kind == InboxKind.OFFER_UNCONFIRMED.value:
        return await _offer_item(uow, viewer, record)
    cache = views if views is not None else {}
    if record.patient_key not in cache:
        cache[record.patient_key] = await consented_view(
            uow, viewer, record.patient_key, policy=policy, now=now, invitations=True
        )
    view = cache[record.patient_key]
    reference = f"{record.resource_type}/{record.resource_id}"
    alert = await _alert_of(uow, record)
    if alert is not None:
        evidence = alert_evidence(alert, view)
        if evidence is None:
            return None
        return _item(record, title(record.kind, None, alert_text=alert.message), None, evidence)
    if record.kind in {k.value for k in ALERT_ITEMS.values()}:
        return None  # what the alert rested on was withdrawn
    entry = next((e for e in view.entries if _reference(e) == reference), None)
    if entry is None:
        return None
    if entry.visibility is Visibility.INVITATION:
        # Invited without the patient's consent: the meeting, never whose it is.
        if record.kind not in INVITATION_ITEMS:
            return None
        item = _item(record, title(record.kind, entry.content), entry.content, [entry])
        return replace(item, cpr=None, patient_key=None)
    return _item(record, title(record.kind, entry.content), entry.content, [entry])


async def _offer_item(uow: UnitOfWork, viewer: Viewer, record: InboxItemRecord) -> InboxItem | None:
    """An offer its owner has not confirmed: no patient data, shown to the owner only."""
    offer = await uow.resources.get(record.resource_type, record.resource_id)
    if offer is None or offer.org != viewer.org or offer.patient_key is not None:
        return None
    return _item(record, title(record.kind, offer.content), offer.content, [])


def _item(
    record: InboxItemRecord,
    heading: str,
    content: FhirJson | None,
    disclosed: Sequence[Disclosure],
) -> InboxItem:
    return InboxItem(
        id=record.id,
        kind=record.kind,
        state=record.state,
        state_reason=record.state_reason,
        state_at=record.state_at,
        created_at=record.created_at,
        due_at=record.due_at,
        cpr=cpr_of(record.patient_key),
        patient_key=record.patient_key if is_patient_key(record.patient_key) else None,
        resource=f"{record.resource_type}/{record.resource_id}",
        title=heading,
        content=content,
        evidence=tuple(_reference(d) for d in disclosed),
        disclosed=tuple(d.stored for d in disclosed),
    )


def _reference(disclosure: Disclosure) -> str:
    return f"{disclosure.stored.resource_type}/{disclosure.stored.id}"


async def _alert_of(uow: UnitOfWork, record: InboxItemRecord) -> Alert | None:
    events = await uow.pathway_events.get_many([record.pathway_event_seq])
    event = events.get(record.pathway_event_seq)
    if event is None or event.kind not in ALERT_ITEMS:
        return None
    return await logged_alert(
        uow,
        event.kind.removeprefix("alert-"),
        event.patient_key,
        f"{event.resource_type}/{event.resource_id}",
        since=event.at or event.recorded_at,
        raised_at=event.recorded_at,
    )


# --- moving an item on ------------------------------------------------------------------


async def set_state(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    item_id: int,
    state: str,
    reason: str | None,
    *,
    policy: Policy,
) -> InboxItem:
    """Move one of the caller's items on (``hub.domain.inbox.next_state``).

    Anyone else's item, or one the caller may not see, is answered as missing.
    """
    viewer = viewer_of(caller)
    now = clock.now()
    async with units() as uow:
        record = await uow.inbox.get(item_id)
        shown = None
        if record is not None and record.recipient in identities_of(viewer):
            shown = await render_item(uow, policy, viewer, record, now=now)
        if record is None or shown is None or record.due_at > now:
            raise InboxError("no-such-item", f"no inbox item {item_id} of yours")
        try:
            target, kept = next_state(record.state, state, reason)
        except InboxStateError as refused:
            raise InboxError(refused.code, str(refused)) from refused
        moved = await uow.inbox.set_state(
            item_id,
            state=target.value,
            reason=kept,
            by=caller.sub,
            org=caller.org,
            at=now,
            expected=record.state,
        )
        if not moved:
            raise InboxError("state-changed", "punktet blev ændret samtidig; prøv igen")
        await uow.commit()
    return InboxItem(
        **{
            **shown.__dict__,
            "state": target.value,
            "state_reason": kept,
            "state_at": now,
        }
    )
