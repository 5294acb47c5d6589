"""Reading a patient's cross-sector pathway, as one viewer may see it.

The pathway is one timeline of everything the viewer may see about the patient —
stays, referrals, plans, correspondence, meetings, consents and flags — newest first,
each entry with a one-line Danish summary. It can be narrowed by resource type,
sector and period, and is read page by page with an opaque cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from hub.domain.consent import DEFAULT_POLICY, DEFAULT_PURPOSE, Policy
from hub.domain.identifiers import cpr_of, lookup_patient_key, replacement_of
from hub.domain.sectors import Sector
from hub.domain.timeline import timeline_fields
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    OverrideRefused,
    consented_view,
    refuse_unless_clinician,
    viewer_of,
)
from hub.services.patient_links import LinkedView, linked_view
from hub.services.unit_of_work import RecordsUnits

MAX_PAGE_SIZE = 500

PATHWAY_TYPES = (
    "Encounter",
    "ServiceRequest",
    "CarePlan",
    "Task",
    "Communication",
    "Appointment",
    "Consent",
    "Flag",
    "CareTeam",
    "Observation",
)
"""The resource types a pathway shows (everything the hub keeps about a patient but
the Patient itself)."""

# Elements holding a period: a resource timed by one with no end is still going on.
_PERIOD_ELEMENTS = ("period", "occurrencePeriod", "executionPeriod")
_CURSOR_PREFIX = "p1:"


class PathwayQueryError(ValueError):
    """A pathway request the hub will not answer as asked (the caller can fix it)."""


@contextmanager
def override_refusal() -> Iterator[None]:
    """An emergency override the caller may not assert, as the caller's error."""
    try:
        yield
    except OverrideRefused as refused:
        raise PathwayQueryError(str(refused)) from None


@dataclass(frozen=True)
class PathwayFilter:
    """Which entries a pathway read returns; an empty filter returns every entry.

    ``period_from``/``period_to`` keep entries whose time overlaps [from, to]; an
    entry with no time meets no period, and one still going on (a stay without an
    end) lasts until now and beyond.
    """

    resource_types: frozenset[str] | None = None
    sectors: frozenset[str] | None = None
    period_from: datetime | None = None
    period_to: datetime | None = None

    @classmethod
    def of(
        cls,
        resource_types: Collection[str] | None = None,
        sectors: Collection[str] | None = None,
        period_from: datetime | None = None,
        period_to: datetime | None = None,
    ) -> PathwayFilter:
        """A filter checked for what the caller can get wrong."""
        if resource_types is not None:
            unknown = sorted(set(resource_types) - set(PATHWAY_TYPES))
            if unknown:
                raise PathwayQueryError(
                    f"resourceTypes: {', '.join(unknown)} not on a pathway; "
                    f"one of {', '.join(PATHWAY_TYPES)}"
                )
        if sectors is not None:
            known = {s.value for s in Sector}
            unknown = sorted(set(sectors) - known)
            if unknown:
                raise PathwayQueryError(
                    f"sectors: unknown sector {', '.join(unknown)}; "
                    f"one of {', '.join(sorted(known))}"
                )
        for name, value in (("from", period_from), ("to", period_to)):
            if value is not None and value.tzinfo is None:
                raise PathwayQueryError(
                    f"{name} must carry a UTC offset, e.g. 2026-11-22T00:00:00+01:00"
                )
        if period_from and period_to and period_to < period_from:
            raise PathwayQueryError("to must not be before from")
        return cls(
            frozenset(resource_types) if resource_types is not None else None,
            frozenset(sectors) if sectors is not None else None,
            period_from,
            period_to,
        )

    def admits(self, entry: Disclosure) -> bool:
        if (
            self.resource_types is not None
            and entry.stored.resource_type not in self.resource_types
        ):
            return False
        if self.sectors is not None and entry.stored.sector not in self.sectors:
            return False
        if self.period_from is None and self.period_to is None:
            return True
        span = _span(entry)
        if span is None:
            return False
        start, end, ongoing = span
        if self.period_to is not None and start > self.period_to:
            return False
        return ongoing or self.period_from is None or end >= self.period_from


@dataclass(frozen=True)
class PathwayView:
    cpr: str | None  # None for a patient known only by a replacement number
    patient: Disclosure | None
    entries: list[Disclosure]
    has_more: bool  # more entries exist beyond the page; never silently cut off
    end_cursor: str | None = None  # where the next page starts (after the last entry)
    replacement: tuple[str, str] | None = None  # (system, value) of a replacement number
    # Replacement numbers linked to the CPR number whose records the viewer is shown
    # (hub.services.patient_links); their entries are among ``entries``.
    linked: tuple[tuple[str, str], ...] = ()


async def read_pathway(
    units: RecordsUnits,
    viewer: Principal,
    cpr: str,
    first: int | None = None,
    *,
    after: str | None = None,
    where: PathwayFilter | None = None,
    purpose: str = DEFAULT_PURPOSE,
    override_reason: str | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> PathwayView:
    """The patient's resources ``viewer`` may see, newest first; the read is audited.

    Everything goes through ``hub.services.consent.read``: what is not shown is not counted in
    ``has_more`` either. ``after`` is the ``end_cursor`` of the page before; the
    order (time, then type and id) does not depend on when a resource was stored,
    so a walk through the pages meets every entry once. ``cpr`` is a CPR number, or
    the replacement number of a patient without one as ``<system>|<value>``. A CPR
    number's pathway also lists the records of replacement numbers linked to it, each
    as consent allows the viewer (``hub.services.patient_links``).
    """
    patient_key = patient_key_of(cpr)
    if first is not None and not 1 <= first <= MAX_PAGE_SIZE:
        raise PathwayQueryError(f"first must be between 1 and {MAX_PAGE_SIZE}")
    position = _read_cursor(after) if after is not None else None
    page_size = first or MAX_PAGE_SIZE
    # Reads and their one audit record: no transaction needed (``UnitOfWorkFactory``).
    async with units(autocommit=True) as uow:
        with override_refusal():
            await refuse_unless_clinician(
                uow, viewer, override_reason, action="pathway.read", patient_key=patient_key
            )
        reader = viewer_of(viewer, purpose=purpose, override_reason=override_reason)
        view = await consented_view(uow, reader, patient_key, policy=policy)
        number = cpr_of(patient_key)
        linked = (
            await linked_view(uow, reader, number, policy=policy)
            if number is not None
            else LinkedView((), [], [], 0)
        )
        admitted = where or PathwayFilter()
        ordered = sorted(
            (e for e in [*view.entries, *linked.entries] if admitted.admits(e)), key=_order
        )
        if position is not None:
            ordered = [e for e in ordered if _order(e) > position]
        entries = ordered[:page_size]
        has_more = len(ordered) > page_size
        await record_access(
            uow,
            viewer,
            action="pathway.read",
            patient_key=patient_key,
            disclosed=[*view.person_sources, *(d.stored for d in entries)],
            withheld=view.withheld + linked.withheld,
            purpose=purpose,
            override_reason=override_reason,
            # Asked and shown nothing although there was something: a refusal.
            outcome=(
                "denied"
                if (view.withheld or linked.withheld) and not (view.patient or entries)
                else "success"
            ),
        )
        await uow.commit()
    return PathwayView(
        cpr=cpr_of(patient_key),
        patient=view.patient,
        entries=entries,
        has_more=has_more,
        end_cursor=_cursor(entries[-1]) if entries else after,
        replacement=replacement_of(patient_key),
        linked=linked.numbers,
    )


def patient_key_of(cpr: str) -> str:
    """The patient key of a CPR number, or of a replacement number (erstatningspersonnummer)
    given as ``<system>|<value>``; PathwayQueryError when it is neither."""
    patient_key = lookup_patient_key(cpr)
    if patient_key is not None:
        return patient_key
    if "|" in cpr:
        raise PathwayQueryError(
            "a replacement number must be <system>|<value> with a system under "
            "urn:oid:1.2.208.176.1.6.1 and a value of 1-64 letters, digits, '.' and '-'"
        )
    raise PathwayQueryError("cpr must be a CPR number: 10 digits, DDMMYYSSSS")


# Sort key: entries with a time first, newest first; then type and id.
_OrderKey = tuple[int, int, str, str]


def _order(entry: Disclosure) -> _OrderKey:
    # From the shown content, so a cursor holds nothing the viewer was not shown.
    start = timeline_fields(entry.content).start_instant
    newest_first = -int(start.timestamp() * 1_000_000) if start else 0
    return (0 if start else 1, newest_first, entry.stored.resource_type, entry.stored.id)


def _cursor(entry: Disclosure) -> str:
    raw = json.dumps(list(_order(entry)), separators=(",", ":")).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> _OrderKey:
    bad = PathwayQueryError("after must be an endCursor of this pathway")
    if not cursor.startswith(_CURSOR_PREFIX):
        raise bad
    encoded = cursor[len(_CURSOR_PREFIX) :]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        raise bad from None
    if not (
        isinstance(decoded, list)
        and len(decoded) == 4
        and all(type(v) is int for v in decoded[:2])
        and all(isinstance(v, str) for v in decoded[2:])
    ):
        raise bad
    return (decoded[0], decoded[1], decoded[2], decoded[3])


def _span(entry: Disclosure) -> tuple[datetime, datetime, bool] | None:
    """When the entry's time begins and ends, and whether it is still going on."""
    fields = timeline_fields(entry.content)
    start, end = fields.start_instant, fields.end_instant
    first, last = start or end, end or start
    if first is None or last is None:
        return None
    timed_by_period = any(
        isinstance(entry.content.get(name), dict) and entry.content[name].get("start")
        for name in _PERIOD_ELEMENTS
    )
    return first, last, end is None and timed_by_period
