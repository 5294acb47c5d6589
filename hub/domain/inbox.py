"""The inbox: what is addressed to an organisation, or falls to it to act on (pure rules).

Every organisation has an inbox. An item lands in it when a stored version, or the
passage of time, gives the organisation something to do:

- ``referral``: an active ServiceRequest, to its performers, from the date it is
  deferred to;
- ``correspondence``: a Communication (CareCommunication, an OIOXML letter), to its
  recipients;
- ``round-table-invitation``: a rundbordsmøde Appointment, to each newly invited
  organisation; ``round-table-changed``: the meeting moved, given another place or
  video link, cancelled or held (its referat), to its participants;
  ``round-table-plan``: its plan or its safety plan (sikkerhedsplan) written or
  changed, to its participants;
- ``action-assigned``: a Task with a new owner (a plan action), to the owner;
  ``action-overdue`` (an alert): the action past its due date, to the owner;
- ``reception-visit-due``: the discharge of a "Kom godt hjem" patient, and
  ``reception-visit-missing`` (an alert): no reception visit reported in time, to the
  home nursing the hospital notified, else the residence kommune;
- ``faerdigbehandlet-waiting`` (an alert): to the residence kommune, which pays;
- ``tobs-high`` (an alert): a TOBS score at or over the alert level, to the home
  nursing the hospital notified of the stay the score names, else the residence kommune;
- ``cohort-proposal``: the cohort rule proposes a rundbordsmøde, to the organisations
  whose stays met it and the residence kommune.
- ``offer-unconfirmed``: an offer (HealthcareService) its owner has not confirmed for
  the configured period, to the owner (``hub.services.offers``).

(docs/events.md has the same as a table.)

An item is addressed to an identity: ``sor:<code>`` or ``gln:<number>`` (one
organisation), or ``kommune:<code>`` (every organisation of that municipality). An
organisation never gets an item for what it wrote itself. Which of its items an
organisation is shown is decided when it reads them, by the consent rules: a message
addressed to it under the addressed-disclosure rule, the hub's alerts and proposals
when it may see what they rest on.

The organisation moves each item on: ``new`` → ``seen`` → ``done``, or ``declined``
with a reason. ``done`` and ``declined`` are final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain.alerts import (
    READY_FOR_DISCHARGE_WAITING,
    RECEPTION_VISIT_MISSING,
    ROUND_TABLE_ACTION_OVERDUE,
    TOBS_HIGH,
)
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.pathway_codes import ROUND_TABLE
from hub.domain.safety_plan import is_safety_plan
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

KOMMUNE_IDENTITY = "kommune"
_DANISH = ZoneInfo("Europe/Copenhagen")

Addressees = Callable[[FhirJson], frozenset[str]]
"""Names the identities a message is addressed to (the consent policy's ``addressees``)."""


class InboxKind(StrEnum):
    REFERRAL = "referral"
    CORRESPONDENCE = "correspondence"
    ROUND_TABLE_INVITATION = "round-table-invitation"
    ROUND_TABLE_CHANGED = "round-table-changed"
    ROUND_TABLE_PLAN = "round-table-plan"
    ACTION_ASSIGNED = "action-assigned"
    ACTION_OVERDUE = "action-overdue"
    RECEPTION_VISIT_DUE = "reception-visit-due"
    RECEPTION_VISIT_MISSING = "reception-visit-missing"
    FAERDIGBEHANDLET_WAITING = "faerdigbehandlet-waiting"
    COHORT_PROPOSAL = "cohort-proposal"
    OFFER_UNCONFIRMED = "offer-unconfirmed"  # hub.domain.offers: to the owner
    TOBS_HIGH = "tobs-high"


ALERT_ITEMS: Mapping[str, InboxKind] = {
    f"alert-{RECEPTION_VISIT_MISSING}": InboxKind.RECEPTION_VISIT_MISSING,
    f"alert-{READY_FOR_DISCHARGE_WAITING}": InboxKind.FAERDIGBEHANDLET_WAITING,
    f"alert-{ROUND_TABLE_ACTION_OVERDUE}": InboxKind.ACTION_OVERDUE,
    f"alert-{TOBS_HIGH}": InboxKind.TOBS_HIGH,
}
"""The alerts (pathway event kinds) that are also items, for the party that must act."""

LOGGED_KINDS: frozenset[str] = frozenset(
    kind.value for kind in InboxKind if kind not in ALERT_ITEMS.values()
)
"""The items logged as pathway events of their own kind (the rest are alerts)."""


def item_kind_of(event_kind: str) -> InboxKind | None:
    """The inbox item a logged pathway event is, if any."""
    if event_kind in ALERT_ITEMS:
        return ALERT_ITEMS[event_kind]
    return InboxKind(event_kind) if event_kind in LOGGED_KINDS else None


class InboxState(StrEnum):
    NEW = "new"
    SEEN = "seen"
    DONE = "done"
    DECLINED = "declined"


FINAL_STATES = frozenset({InboxState.DONE, InboxState.DECLINED})
MAX_REASON = 500


class InboxStateError(ValueError):
    """A state change the hub will not make; ``code`` is machine-readable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def next_state(current: str, wanted: str, reason: str | None) -> tuple[InboxState, str | None]:
    """The state an item moves to, and the reason kept with it; refused when not allowed."""
    try:
        target = InboxState(wanted)
    except ValueError:
        raise InboxStateError("unknown-state", f"ukendt tilstand {wanted!r}") from None
    if InboxState(current) in FINAL_STATES:
        raise InboxStateError("item-closed", "punktet er allerede afsluttet")
    if target is InboxState.NEW:
        raise InboxStateError("state-backwards", "et punkt kan ikke blive nyt igen")
    text = (reason or "").strip()
    if target is InboxState.DECLINED and not text:
        raise InboxStateError("reason-required", "en afvisning skal have en begrundelse")
    if len(text) > MAX_REASON:
        raise InboxStateError("reason-too-long", f"begrundelsen må højst være {MAX_REASON} tegn")
    return target, text or None


def kommune_identity(kommune: str) -> str:
    return f"{KOMMUNE_IDENTITY}:{kommune}"


@dataclass(frozen=True)
class Filing:
    """Items of one kind a stored version gives, and to whom."""

    kind: InboxKind
    addressees: frozenset[str]
    due_at: datetime | None = None  # not before (a deferred referral)


_CLOSED_REFERRAL = frozenset({"completed", "revoked", "entered-in-error"})
_CLOSED_COMMUNICATION = frozenset({"entered-in-error", "not-done"})
_CLOSED_MEETING = frozenset({"cancelled", "entered-in-error", "fulfilled", "noshow"})
_CLOSED_TASK = frozenset({"completed", "cancelled", "failed", "rejected", "entered-in-error"})


def filings(
    resource_type: str,
    previous: FhirJson | None,
    current: FhirJson,
    *,
    addressees_of: Addressees,
    author: str,
    meeting_participants: Iterable[str] = (),
) -> list[Filing]:
    """The items the change from ``previous`` (None: first version) to ``current`` files.

    ``addressees_of(content)`` names the identities a message is addressed to (the
    consent policy's, so the inbox and addressed disclosure agree); ``author`` is the
    writing organisation's identity (``sor:<code>``), which never files to itself;
    ``meeting_participants`` are the identities of a plan's meeting's participants.
    """
    filed: list[Filing] = []
    if resource_type == "ServiceRequest":
        filed = _referral(previous, current, addressees_of)
    elif resource_type == "Communication":
        filed = _new_addressees(
            InboxKind.CORRESPONDENCE, previous, current, addressees_of, _CLOSED_COMMUNICATION
        )
    elif resource_type == "Task":
        filed = _task(previous, current, addressees_of)
    elif resource_type == "Appointment" and is_round_table_meeting(current):
        filed = _meeting(previous, current)
    elif resource_type == "CarePlan" and is_meeting_plan(current):
        filed = _plan(previous, current, meeting_participants)
    return [
        Filing(f.kind, f.addressees - {author}, f.due_at) for f in filed if f.addressees - {author}
    ]


def _referral(
    previous: FhirJson | None, current: FhirJson, addressees_of: Addressees
) -> list[Filing]:
    if current.get("status") != "active":
        return []
    active = previous is not None and previous.get("status") == "active"
    before = addressees_of(previous) if previous is not None and active else frozenset()
    new = addressees_of(current) - before
    return [Filing(InboxKind.REFERRAL, new, deferred_to(current))] if new else []


def deferred_to(service_request: FhirJson) -> datetime | None:
    """The date a referral is deferred to ("call the citizen in three months"), if any."""
    value = (service_request.get("occurrencePeriod") or {}).get("start") or service_request.get(
        "occurrenceDateTime"
    )
    try:
        return fhir_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _new_addressees(
    kind: InboxKind,
    previous: FhirJson | None,
    current: FhirJson,
    addressees_of: Addressees,
    closed: frozenset[str],
) -> list[Filing]:
    if current.get("status") in closed:
        return []
    open_before = previous is not None and previous.get("status") not in closed
    before = addressees_of(previous) if previous is not None and open_before else frozenset()
    new = addressees_of(current) - before
    return [Filing(kind, new)] if new else []


def is_cohort_proposal(task: FhirJson) -> bool:
    return task.get("intent") == "proposal" and _coded(task.get("code"), ROUND_TABLE.code)


def _task(previous: FhirJson | None, current: FhirJson, addressees_of: Addressees) -> list[Filing]:
    kind = InboxKind.COHORT_PROPOSAL if is_cohort_proposal(current) else InboxKind.ACTION_ASSIGNED
    return _new_addressees(kind, previous, current, addressees_of, _CLOSED_TASK)


def is_round_table_meeting(content: FhirJson) -> bool:
    return any(_coded(concept, ROUND_TABLE.code) for concept in content.get("serviceType") or [])


def is_round_table_plan(content: FhirJson) -> bool:
    return any(_coded(concept, ROUND_TABLE.code) for concept in content.get("category") or [])


def is_meeting_plan(content: FhirJson) -> bool:
    """Whether a CarePlan is written at a rundbordsmøde for its participants: the generic
    plan or the safety plan (both filed as ``round-table-plan``)."""
    return is_round_table_plan(content) or is_safety_plan(content)


def _meeting(previous: FhirJson | None, current: FhirJson) -> list[Filing]:
    now_invited = meeting_organisations(current)
    before = meeting_organisations(previous) if previous else frozenset()
    filed = []
    if current.get("status") not in _CLOSED_MEETING and now_invited - before:
        filed.append(Filing(InboxKind.ROUND_TABLE_INVITATION, now_invited - before))
    if previous is not None:
        moved = previous.get("start") != current.get("start")
        placed = _where(previous) != _where(current)
        closed = current.get("status") in ("cancelled", "fulfilled")
        closing = closed and current.get("status") != previous.get("status")
        if ((moved or placed) and current.get("status") not in _CLOSED_MEETING) or closing:
            filed.append(Filing(InboxKind.ROUND_TABLE_CHANGED, now_invited & before))
    return filed


def _where(content: FhirJson) -> tuple[Any, ...]:
    """Where a meeting is held: its place (a Location participant) and video link."""
    places = [
        actor.get("display")
        for p in content.get("participant") or []
        if (actor := p.get("actor") or {}).get("type") == "Location"
    ]
    links = [
        e.get("valueUrl")
        for e in content.get("extension") or []
        if e.get("url") == "urn:brobygger:extension:video-link"
    ]
    return tuple(places), tuple(links)


def meeting_organisations(content: FhirJson) -> frozenset[str]:
    """The identities (``sor:<code>``) of a meeting's organisation participants."""
    found = set()
    for participant in content.get("participant") or []:
        identifier = (participant.get("actor") or {}).get("identifier") or {}
        if identifier.get("system") == SOR_SYSTEM and identifier.get("value"):
            found.add(f"sor:{identifier['value']}")
    return frozenset(found)


def _plan(
    previous: FhirJson | None, current: FhirJson, participants: Iterable[str]
) -> list[Filing]:
    if current.get("status") in ("revoked", "entered-in-error"):
        return []
    shown = ("description", "activity", "status", "author", "extension")
    if previous is not None and all(previous.get(k) == current.get(k) for k in shown):
        return []
    return [Filing(InboxKind.ROUND_TABLE_PLAN, frozenset(participants))]


def _coded(concept: Any, code: str) -> bool:
    if not isinstance(concept, dict):
        return False
    return any(
        isinstance(coding, dict) and coding.get("code") == code
        for coding in concept.get("coding") or []
    )


# --- what an item says ------------------------------------------------------------------


def title(kind: str, content: FhirJson | None, *, alert_text: str | None = None) -> str:
    """The item's Danish heading, from what the reader is shown of its resource."""
    resource = content or {}
    if alert_text:
        return alert_text
    if kind == InboxKind.REFERRAL:
        return f"Henvisning: {_text_of(resource, 'reasonCode', 'code') or 'uden titel'}"
    if kind == InboxKind.CORRESPONDENCE:
        return f"Korrespondance: {_communication_text(resource) or 'uden emne'}"
    if kind == InboxKind.ROUND_TABLE_INVITATION:
        return f"Invitation til rundbordsmøde {_when(resource.get('start'))}".rstrip()
    if kind == InboxKind.ROUND_TABLE_CHANGED:
        if resource.get("status") == "cancelled":
            return "Rundbordsmøde aflyst"
        if resource.get("status") == "fulfilled":
            return "Rundbordsmøde afholdt: referatet kan læses"
        if any(e.get("valueCode") == "place" for e in resource.get("extension") or []):
            return f"Rundbordsmøde {_when(resource.get('start'))}: nyt sted eller videolink"
        return f"Rundbordsmøde flyttet til {_when(resource.get('start'))}".rstrip()
    if kind == InboxKind.ROUND_TABLE_PLAN:
        if is_safety_plan(resource):
            return "Sikkerhedsplan fra rundbordsmøde delt eller ændret"
        return "Plan fra rundbordsmøde delt eller ændret"
    if kind == InboxKind.ACTION_ASSIGNED:
        return f"Handling til jer: {resource.get('description') or 'uden beskrivelse'}"
    if kind == InboxKind.COHORT_PROPOSAL:
        return str(resource.get("description") or "Rundbordsmøde foreslået")
    if kind == InboxKind.OFFER_UNCONFIRMED:
        return f"Tilbud ikke bekræftet i lang tid: {resource.get('name') or 'uden navn'}"
    if kind == InboxKind.RECEPTION_VISIT_DUE:
        end = (resource.get("period") or {}).get("end")
        return f"Kom godt hjem: modtagebesøg inden 24 timer efter udskrivelsen {_when(end)}"
    return kind


def _text_of(resource: FhirJson, *fields: str) -> str | None:
    for name in fields:
        value = resource.get(name)
        for concept in value if isinstance(value, list) else [value]:
            if not isinstance(concept, dict):
                continue
            if concept.get("text"):
                return str(concept["text"])[:120]
            for coding in concept.get("coding") or []:
                if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
                    return str(coding.get("display") or coding.get("code"))[:120]
    return None


def _communication_text(resource: FhirJson) -> str | None:
    topic = _text_of(resource, "topic", "category")
    if topic:
        return topic
    for payload in resource.get("payload") or []:
        if isinstance(payload, dict) and payload.get("contentString"):
            return " ".join(str(payload["contentString"]).split())[:120]
    return None


def _when(value: Any) -> str:
    """A FHIR instant as a Danish reader writes it (dd.mm.åååå kl. tt.mm), else blank."""
    if not isinstance(value, str):
        return ""
    try:
        instant = fhir_instant(value)
    except ValueError:
        return ""
    if instant is None:
        return ""
    local = instant.astimezone(_DANISH)
    return local.strftime("%d.%m.%Y kl. %H.%M")
