"""Filing inbox items to their addressees, and numbering them into their inbox feeds."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from hub import clock
from hub.domain.consent import (
    SOR_IDENTITY,
    Item,
    Policy,
    Viewer,
    addressees,
    notified_organisations,
)
from hub.domain.inbox import ALERT_ITEMS, Filing, InboxKind, item_kind_of, kommune_identity
from hub.domain.person import residence
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson
from hub.store.directory import OrganisationDirectory
from hub.store.inbox import InboxItemRecord
from hub.store.pathway_event_subscriptions import LOGGED, PENDING, WEBHOOK
from hub.store.pathway_events import PathwayEventRecord
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

# --- who an item goes to ----------------------------------------------------------------


def identities_of(viewer: Viewer) -> frozenset[str]:
    """Every identity an item may be addressed to the viewer by."""
    return viewer.addresses


def message_addressees(content: FhirJson, resource_type: str) -> frozenset[str]:
    """Whom a message is addressed to, as addressed disclosure reads it."""
    probe = Item(resource_type, str(content.get("id") or ""), "", "", content)
    return addressees(probe)


async def file_items(
    uow: UnitOfWork,
    *,
    filings: Iterable[Filing],
    patient_key: str,
    subject: StoredResource,
    event_id: str,
    at: datetime | None,
    now: datetime,
) -> list[InboxItemRecord]:
    """Log each filing as a pathway event of its kind and file it to its addressees."""
    filed: list[InboxItemRecord] = []
    for filing in filings:
        logged = await uow.pathway_events.append(
            patient_key=patient_key,
            kind=filing.kind.value,
            resource_type=subject.resource_type,
            resource_id=subject.id,
            version_id=subject.version_id,
            at=at,
            recorded_at=now,
            sector=subject.sector,
            org=subject.org,
            event_id=event_id,
        )
        if logged is None:
            continue  # this version filed it already
        filed += await file_event(uow, logged, filing.addressees, due_at=filing.due_at, now=now)
    return filed


async def file_event(
    uow: UnitOfWork,
    event: PathwayEventRecord,
    to: Collection[str],
    *,
    due_at: datetime | None = None,
    now: datetime,
) -> list[InboxItemRecord]:
    """File ``event`` to each addressee of ``to``; number those due now into their
    inbox subscriptions."""
    due = due_at if due_at is not None and due_at > now else now
    items: list[InboxItemRecord] = []
    for recipient in sorted(to):
        item = await uow.inbox.file(
            recipient=recipient,
            pathway_event_seq=event.seq,
            patient_key=event.patient_key,
            kind=item_kind(event.kind),
            resource_type=event.resource_type,
            resource_id=event.resource_id,
            created_at=now,
            due_at=due,
            announced=due <= now,
        )
        if item is not None:
            items.append(item)
    if due <= now:
        await _number(uow, items, now)
    return items


def item_kind(event_kind: str) -> str:
    kind = item_kind_of(event_kind)
    assert kind is not None, f"{event_kind} is no inbox item"
    return kind.value


async def announce_due(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Number the items whose day has come (deferred referrals) into their addressees'
    inbox subscriptions. Returns how many items were announced."""
    now = now or clock.now()
    due = await uow.inbox.due_unannounced(now, 500)
    await _number(uow, due, now)
    await uow.inbox.mark_announced([item.id for item in due])
    return len(due)


async def _number(uow: UnitOfWork, items: Sequence[InboxItemRecord], now: datetime) -> int:
    numbered = 0
    glns = [i.recipient.split(":", 1)[1] for i in items if i.recipient.startswith("gln:")]
    sor_of_gln = await OrganisationDirectory(uow.connection).sor_of_glns(glns) if glns else {}
    for item in items:
        kind, _, value = item.recipient.partition(":")
        if kind == "kommune":
            found = await uow.subscriptions.inbox_of(orgs=(), kommuner=(value,))
        elif kind == SOR_IDENTITY:
            found = await uow.subscriptions.inbox_of(orgs=(value,), kommuner=())
        elif value in sor_of_gln:
            found = await uow.subscriptions.inbox_of(orgs=(sor_of_gln[value],), kommuner=())
        else:
            found = []
        for subscription in found:
            if item.kind not in subscription.kinds:
                continue
            delivery = await uow.subscriptions.append_delivery(
                subscription.id,
                pathway_event_seq=item.pathway_event_seq,
                patient_key=item.patient_key,
                status=PENDING if subscription.channel == WEBHOOK else LOGGED,
                created_at=now,
            )
            numbered += delivery is not None
    return numbered


async def file_alert(uow: UnitOfWork, policy: Policy, event: PathwayEventRecord) -> int:
    """File a logged alert to the party that must act on it (``hub.domain.inbox``)."""
    kind = ALERT_ITEMS.get(event.kind)
    if kind is None:
        return 0
    subject = await uow.resources.get(event.resource_type, event.resource_id)
    if subject is None:
        return 0
    if kind is InboxKind.ACTION_OVERDUE:
        to = message_addressees(subject.content, subject.resource_type) - {
            f"{SOR_IDENTITY}:{subject.org}"
        }
    else:
        to = await _municipality_to_act(uow, policy, subject, event.patient_key, kind)
    items = await file_event(uow, event, to, now=event.recorded_at)
    return len(items)


async def _municipality_to_act(
    uow: UnitOfWork, policy: Policy, subject: StoredResource, patient_key: str, kind: InboxKind
) -> frozenset[str]:
    """The municipal party that must act: for a reception visit (and a high TOBS score,
    of the stay the Observation names) the home nursing the hospital notified of the
    stay, else (and for færdigbehandlet, which the residence kommune pays for) the
    residence kommune."""
    stay: StoredResource | None = subject
    if kind is InboxKind.TOBS_HIGH:
        stay = await _named_stay(uow, subject, patient_key)
    if stay is not None and kind in _TO_HOME_NURSING:
        notified = notified_organisations(stay.content)
        if notified:
            return frozenset(f"{SOR_IDENTITY}:{org}" for org in notified)
    patients = await uow.resources.for_patient(patient_key, resource_types=("Patient",))
    kommune = residence(patients, policy)
    return frozenset({kommune_identity(kommune)}) if kommune else frozenset()


_TO_HOME_NURSING = frozenset(
    {InboxKind.RECEPTION_VISIT_DUE, InboxKind.RECEPTION_VISIT_MISSING, InboxKind.TOBS_HIGH}
)


async def _named_stay(
    uow: UnitOfWork, observation: StoredResource, patient_key: str
) -> StoredResource | None:
    """The stay (Encounter) an Observation names, when it is the same patient's."""
    reference = (observation.content.get("encounter") or {}).get("reference")
    if not isinstance(reference, str) or not reference.startswith("Encounter/"):
        return None
    stay = await uow.resources.get("Encounter", reference.removeprefix("Encounter/"))
    return stay if stay is not None and stay.patient_key == patient_key else None


async def file_reception_visit_due(
    uow: UnitOfWork, policy: Policy, stay: StoredResource, *, event_id: str, now: datetime
) -> list[InboxItemRecord]:
    """At the discharge of a "Kom godt hjem" patient: the reception visit is due."""
    assert stay.patient_key is not None
    to = await _municipality_to_act(
        uow, policy, stay, stay.patient_key, InboxKind.RECEPTION_VISIT_DUE
    )
    if not to:
        return []
    end = (stay.content.get("period") or {}).get("end")
    return await file_items(
        uow,
        filings=[Filing(InboxKind.RECEPTION_VISIT_DUE, to)],
        patient_key=stay.patient_key,
        subject=stay,
        event_id=event_id,
        at=_instant(end),
        now=now,
    )


def _instant(value: Any) -> datetime | None:
    try:
        return fhir_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None
