"""Triple Aim's third aim, cost per capita: what the hub's facts cost at the deployment's tariffs.

**Tariffs.** The deployment names a CSV file of tariffs (``parse_tariffs``). Each row
prices one thing and says where the price comes from and for which year:

* ``drg``: a hospital stay grouped to the DRG group in ``code`` (the stay's DRG code is
  carried as ``hub.domain.indicators.facts.DRG_EXTENSION``), per stay;
* ``bed-day``: a stay without a DRG code, or whose group has no tariff, per bed-day
  (calendar days from admission to discharge, Danish time, at least one);
* a fact kind (``COSTED_KINDS``): an outpatient visit, a home-care grant (§ 83), an aid
  granted (§ 112), a contact with the addiction centre …, per unit.

A fact is priced by the newest tariff whose year is not after the fact's year (else the
oldest there is). Only finished stays are priced; a fact no tariff prices is counted as
unpriced, never as nothing.

**Before and after inclusion.** A cohort member's inclusion is the start of the cohort
Flag's period (``COHORT_MEMBER``). The evaluation compares the ``MONTHS_BEFORE`` months
before it with the time after it, up to ``MONTHS_AFTER`` months and never beyond today,
each normalised per member-month (a month is ``MONTH_DAYS`` days). A fact belongs to
the time it happened (a stay to its admission): the admission that met the rule is after.

**Scope.** As the indicators (``hub.domain.indicators.figures``): a controller's own
figures rest only on the facts its own data controller holds, cohort flags included, and
are exact; the all-sector aggregate is suppressed when it rests on fewer than
``MIN_REPORTED`` patients or members.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from hub.domain.indicators.facts import (
    ADDICTION_CONTACT,
    AID_GRANTED,
    COHORT_MEMBER,
    DANISH_TIME,
    HOME_CARE_GRANTED,
    HOSPITAL_STAY,
    MIN_REPORTED,
    NOT_COUNTING,
    OUTPATIENT_VISIT,
    OUTREACH_CONVERSATION,
    RECEPTION_VISIT,
    ROUND_TABLE_HELD,
    SOCIAL_SERVICES,
    VIRTUAL_MEETING,
    FactRow,
)
from hub.domain.indicators.figures import Scope, Window

DRG = "drg"
BED_DAY = "bed-day"

COSTED_KINDS: Mapping[str, str] = {
    OUTPATIENT_VISIT: "visit",
    HOME_CARE_GRANTED: "grant",
    AID_GRANTED: "grant",
    SOCIAL_SERVICES: "offer",
    ADDICTION_CONTACT: "contact",
    OUTREACH_CONVERSATION: "conversation",
    RECEPTION_VISIT: "visit",
    VIRTUAL_MEETING: "meeting",
    ROUND_TABLE_HELD: "meeting",
}
"""The fact kinds priced per unit, and their unit (a hospital stay is priced by DRG or bed-day)."""

FACT_KINDS = (HOSPITAL_STAY, *COSTED_KINDS)
"""Every fact kind that costs something."""

TARIFF_TYPES = (DRG, BED_DAY, *COSTED_KINDS)
COLUMNS = ("type", "code", "amount", "unit", "source", "year")
"""The tariff file's header, in this order."""

CATEGORIES: Mapping[str, str] = {
    HOSPITAL_STAY: "hospital",
    OUTPATIENT_VISIT: "outpatient",
    **{kind: "municipal" for kind in COSTED_KINDS if kind != OUTPATIENT_VISIT},
}
"""Where a cost falls: hospital stays, outpatient visits, municipal (and coordinating) services."""

MONTHS_BEFORE = 12
MONTHS_AFTER = 12
MONTH_DAYS = 365.25 / 12
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("100000000")


class TariffError(ValueError):
    """A tariff file the hub cannot use; the message names the line and the column."""


@dataclass(frozen=True)
class Tariff:
    type: str  # DRG, BED_DAY or a fact kind of COSTED_KINDS
    code: str | None  # the DRG group (DRG only)
    amount: Decimal  # DKK
    unit: str
    source: str
    year: int
    line: int = 0


@dataclass(frozen=True)
class TariffTable:
    """A deployment's tariffs, by type and code, each kind sorted by year."""

    tariffs: tuple[Tariff, ...]
    name: str = ""

    def price(self, type_: str, code: str | None, year: int) -> Tariff | None:
        """The tariff of ``type_``/``code`` for ``year``: the newest not after it, else
        the oldest."""
        found = sorted(
            (t for t in self.tariffs if t.type == type_ and t.code == code), key=lambda t: t.year
        )
        if not found:
            return None
        earlier = [t for t in found if t.year <= year]
        return earlier[-1] if earlier else found[0]

    @property
    def sources(self) -> list[tuple[str, int]]:
        """Each source and year the tariffs cite, once, in file order."""
        return list(dict.fromkeys((t.source, t.year) for t in self.tariffs))


def parse_tariffs(text: str, name: str = "tariffs") -> TariffTable:
    """The tariffs of a CSV file: comma-separated, with the header ``COLUMNS``, amounts
    in DKK with a decimal point (``45678.50``). Refused (``TariffError``) with the first
    problem, naming its line and column."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), strict=True)
    try:
        rows = list(reader)
    except csv.Error as error:
        raise TariffError(f"{name}: line {reader.line_num}: not CSV ({error})") from None
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if tuple(header) != COLUMNS:
        raise TariffError(f"{name}: line 1: the header must be {','.join(COLUMNS)}")
    seen: dict[tuple[str, str | None, int], int] = {}
    tariffs: list[Tariff] = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        tariff = _tariff(name, number, row)
        key = (tariff.type, tariff.code, tariff.year)
        if key in seen:
            raise TariffError(
                f"{name}: line {number}: the same tariff as line {seen[key]} "
                f"({tariff.type} {tariff.code or ''} {tariff.year})".replace("  ", " ")
            )
        seen[key] = number
        tariffs.append(tariff)
    if not tariffs:
        raise TariffError(f"{name}: no tariffs")
    return TariffTable(tuple(tariffs), name)


def _tariff(name: str, line: int, row: Sequence[str]) -> Tariff:
    def refuse(column: str, reason: str) -> TariffError:
        return TariffError(f"{name}: line {line}, column {column}: {reason}")

    if len(row) != len(COLUMNS):
        raise TariffError(
            f"{name}: line {line}: {len(row)} columns, "
            f"expected {len(COLUMNS)} ({','.join(COLUMNS)})"
        )
    type_, code, amount_text, unit, source, year_text = (cell.strip() for cell in row)
    if type_ not in TARIFF_TYPES:
        raise refuse("type", f"{type_!r} is none of {', '.join(TARIFF_TYPES)}")
    if type_ == DRG and not code:
        raise refuse("code", "a drg tariff names its DRG group")
    if type_ != DRG and code:
        raise refuse("code", f"only a drg tariff has a code, not {type_}")
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or not Decimal(0) <= amount < _MAX_AMOUNT:
        raise refuse(
            "amount", f"{amount_text!r} is no amount in DKK (digits and a decimal point: 1234.50)"
        )
    if not unit:
        raise refuse("unit", "empty")
    if not source:
        raise refuse("source", "say where the tariff comes from")
    if not (len(year_text) == 4 and year_text.isdigit() and 2000 <= int(year_text) <= 2100):
        raise refuse("year", f"{year_text!r} is no year (2000–2100)")
    return Tariff(type_, code.upper() or None, amount, unit, source, int(year_text), line)


# --- pricing facts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """What one fact cost (``amount`` None: no tariff prices it)."""

    fact: FactRow
    amount: Decimal | None
    tariff: Tariff | None
    basis: str  # DRG, BED_DAY or the fact kind

    @property
    def category(self) -> str:
        return CATEGORIES[self.fact.kind]


def bed_days(admitted: datetime, discharged: datetime) -> int:
    """Calendar days from admission to discharge (Danish time), at least one."""
    days = (
        discharged.astimezone(DANISH_TIME).date() - admitted.astimezone(DANISH_TIME).date()
    ).days
    return max(1, days)


def cost_of(fact: FactRow, tariffs: TariffTable) -> Cost | None:
    """The cost of ``fact`` (None: a fact that costs nothing, or not yet: a stay not finished)."""
    if fact.kind not in FACT_KINDS or fact.at is None or fact.status in NOT_COUNTING:
        return None
    year = fact.at.astimezone(DANISH_TIME).year
    if fact.kind != HOSPITAL_STAY:
        tariff = tariffs.price(fact.kind, None, year)
        return Cost(fact, tariff.amount if tariff else None, tariff, fact.kind)
    if fact.end_at is None:
        return None
    if fact.related:
        tariff = tariffs.price(DRG, fact.related.upper(), year)
        if tariff is not None:
            return Cost(fact, tariff.amount, tariff, DRG)
    tariff = tariffs.price(BED_DAY, None, year)
    if tariff is None:
        return Cost(fact, None, None, BED_DAY)
    return Cost(fact, tariff.amount * bed_days(fact.at, fact.end_at), tariff, BED_DAY)


def in_scope(fact: FactRow, scope: Scope) -> bool:
    """Whether a figure of ``scope`` may rest on ``fact`` (as ``hub.store.facts.in_scope``)."""
    if scope.controller is not None and fact.controller != scope.controller:
        return False
    return scope.kommune is None or fact.kommune == scope.kommune


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodCosts:
    """What a period's facts cost: in all, per patient with a cost, by category."""

    total: Decimal | None
    patients: int  # patients with a priced fact
    per_patient: Decimal | None
    by_category: tuple[tuple[str, Decimal], ...]
    unpriced: int  # facts no tariff prices
    suppressed: bool


@dataclass(frozen=True)
class CohortCosts:
    """The cohort members included in a period: what they cost before and after inclusion."""

    members: int
    before_total: Decimal | None
    before_member_months: float | None
    before_per_member_month: Decimal | None
    after_total: Decimal | None
    after_member_months: float | None
    after_per_member_month: Decimal | None
    suppressed: bool


def period_costs(facts: Iterable[FactRow], tariffs: TariffTable, scope: Scope) -> PeriodCosts:
    """The cost of ``facts`` (those of the period, in ``scope``)."""
    costs = [c for f in facts if in_scope(f, scope) and (c := cost_of(f, tariffs)) is not None]
    priced = [c for c in costs if c.amount is not None]
    patients = len({c.fact.patient_key for c in priced})
    suppressed = scope.suppresses and patients < MIN_REPORTED
    if suppressed:
        return PeriodCosts(None, 0, None, (), 0, True)
    total = sum((c.amount for c in priced if c.amount is not None), Decimal(0))
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    for cost in priced:
        by_category[cost.category] += cost.amount or Decimal(0)
    order = list(dict.fromkeys(CATEGORIES.values()))
    return PeriodCosts(
        _money(total),
        patients,
        _money(total / patients) if patients else None,
        tuple((c, _money(by_category[c])) for c in order if c in by_category),
        len(costs) - len(priced),
        False,
    )


@dataclass(frozen=True)
class Inclusion:
    patient_key: str
    at: datetime


def inclusions(flags: Iterable[FactRow], window: Window, scope: Scope) -> list[Inclusion]:
    """Each patient's first inclusion in ``scope`` (a cohort flag still counting) in ``window``."""
    first: dict[str, datetime] = {}
    for flag in flags:
        if flag.kind != COHORT_MEMBER or flag.status in NOT_COUNTING or flag.at is None:
            continue
        if not in_scope(flag, scope):
            continue
        if flag.patient_key not in first or flag.at < first[flag.patient_key]:
            first[flag.patient_key] = flag.at
    return sorted(
        (Inclusion(key, at) for key, at in first.items() if window.holds(at)),
        key=lambda i: (i.at, i.patient_key),
    )


def cohort_costs(
    included: Sequence[Inclusion],
    facts_by_patient: Mapping[str, Sequence[FactRow]],
    tariffs: TariffTable,
    scope: Scope,
    now: datetime,
) -> CohortCosts:
    """Before and after inclusion, per member-month, for the ``included`` members."""
    members = len(included)
    if scope.suppresses and members < MIN_REPORTED:
        return CohortCosts(0, None, None, None, None, None, None, True)
    if not members:
        return CohortCosts(0, None, None, None, None, None, None, False)
    before = after = Decimal(0)
    months_before = months_after = 0.0
    for inclusion in included:
        start = inclusion.at - timedelta(days=MONTHS_BEFORE * MONTH_DAYS)
        end = min(now, inclusion.at + timedelta(days=MONTHS_AFTER * MONTH_DAYS))
        months_before += MONTHS_BEFORE
        months_after += max(0.0, (end - inclusion.at).total_seconds() / 86_400 / MONTH_DAYS)
        for fact in facts_by_patient.get(inclusion.patient_key, ()):
            if not in_scope(fact, scope) or fact.at is None:
                continue
            cost = cost_of(fact, tariffs)
            if cost is None or cost.amount is None:
                continue
            if start <= fact.at < inclusion.at:
                before += cost.amount
            elif inclusion.at <= fact.at < end:
                after += cost.amount
    return CohortCosts(
        members,
        _money(before),
        round(months_before, 2),
        _money(before / Decimal(months_before)),
        _money(after),
        round(months_after, 2),
        _money(after / Decimal(str(months_after))) if months_after > 0 else None,
        False,
    )


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT)


def danish_amount(amount: Decimal) -> str:
    """An amount as Danish writes it: ``1.234,50 kr.``"""
    sign = "-" if amount < 0 else ""
    whole, _, cents = f"{abs(_money(amount)):.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{'.'.join(groups)},{cents} kr."
