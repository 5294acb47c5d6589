"""How the facts of a period become figures.

**Scope and privacy.** A figure over the facts of the caller's own data controller
(``hub.domain.controllers``: a region, a kommune, a general practice) is exact, never
suppressed: a controller always sees what it holds itself, so counting it tells it
nothing new. A figure over every controller's facts (the all-sector aggregate) needs
the aggregate role, and then any figure resting on fewer than ``MIN_REPORTED`` facts
or patients is suppressed (no value, ``suppressed``).

Every figure but the plain SQL counts is computed from the cases of ``cases`` (a count
is how many, a mean or median over their values), so the audit list behind a figure is
exactly what it counts.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.domain.indicators.cases import Case, cases_of_period, waiting_days
from hub.domain.indicators.definitions import COUNTED_KINDS, DEFINITION_BY_NAME, DEFINITIONS
from hub.domain.indicators.facts import MIN_REPORTED
from hub.domain.indicators.period import FactsOfPeriod, Window

ALL_SECTORS = "all-sectors"
OWN_CONTROLLER = "own-controller"


@dataclass(frozen=True)
class Scope:
    """Whose facts a figure rests on: one data controller's own (exact), or every
    controller's (the all-sector aggregate, suppressed below ``MIN_REPORTED``)."""

    controller: str | None  # None: every controller's facts (aggregate role)
    kommune: str | None = None  # only residents of this municipality

    @property
    def suppresses(self) -> bool:
        return self.controller is None

    @property
    def name(self) -> str:
        """``all-sectors``, or ``own-controller:<controller>`` (exports, CSV)."""
        return ALL_SECTORS if self.controller is None else f"{OWN_CONTROLLER}:{self.controller}"


@dataclass(frozen=True)
class Indicator:
    name: str
    value: float | None
    unit: str
    definition: str
    suppressed: bool
    kommune: str | None = None
    group: str | None = None  # a diagnosis group (careHomeAdmissionsByDiagnosisGroup)


def figure(
    name: str,
    value: float | None,
    basis: int,
    scope: Scope,
    kommune: str | None = None,
    group: str | None = None,
) -> Indicator:
    """An indicator, suppressed when an aggregate rests on fewer than MIN_REPORTED facts."""
    definition = DEFINITION_BY_NAME[name]
    suppressed = scope.suppresses and basis < MIN_REPORTED
    if value is not None and not suppressed:
        value = round(value, 2)
    return Indicator(
        name,
        None if suppressed else value,
        definition.unit,
        definition.definition,
        suppressed,
        kommune,
        group,
    )


_MEANS = frozenset(
    {
        "plannedAdmissionsMeanLengthOfStay",
        "meanLengthOfStay",
        "meanDaysFlagToRoundTable",
    }
)
_MEDIANS = frozenset({"medianLengthOfStay", "medianDaysFlagToRoundTable"})
_PER_KOMMUNE = frozenset({"faerdigbehandlingsdage", "careHomeAdmissions"})
_BY_GROUP = "careHomeAdmissionsByDiagnosisGroup"


def compute(window: Window, scope: Scope, facts: FactsOfPeriod, now: datetime) -> list[Indicator]:
    """Every indicator of ``window`` from the facts of ``scope``."""
    cases = cases_of_period(window, facts, now)
    out = [
        figure(name, float(facts.counts.get(kind, 0)), facts.counts.get(kind, 0), scope)
        for name, kind in COUNTED_KINDS.items()
    ]
    for definition in DEFINITIONS:
        name = definition.name
        if name in COUNTED_KINDS or name == _BY_GROUP:
            continue
        of_name = cases[name]
        if name in _PER_KOMMUNE:
            out += _per_kommune(name, scope, of_name)
        elif name in _MEANS or name in _MEDIANS:
            values = [c.value for c in of_name if c.value is not None]
            average = statistics.fmean if name in _MEANS else statistics.median
            out.append(figure(name, average(values) if values else None, len(values), scope))
        else:
            out.append(figure(name, len(of_name), len(of_name), scope))
    out += _by_diagnosis_group(scope, cases["careHomeAdmissions"])
    order = {d.name: i for i, d in enumerate(DEFINITIONS)}
    return sorted(out, key=lambda i: (order[i.name], i.kommune or "", i.group or ""))


def _per_kommune(name: str, scope: Scope, cases: Sequence[Case]) -> list[Indicator]:
    """A figure per residence municipality: færdigbehandlingsdage sum the days (the
    basis is the patients), care-home admissions count the admissions."""
    totals: dict[str | None, float] = defaultdict(float)
    patients: dict[str | None, set[str]] = defaultdict(set)
    for case in cases:
        totals[case.kommune] += case.value if case.value is not None else 1
        patients[case.kommune].add(case.patient_key)
    basis: dict[str | None, int] = {
        kommune: len(patients[kommune]) if name == "faerdigbehandlingsdage" else int(total)
        for kommune, total in totals.items()
    }
    if scope.kommune is not None:
        totals.setdefault(scope.kommune, 0.0)
    if not totals:
        return [figure(name, 0.0, 0, scope, kommune=None)]
    return [
        figure(name, total, basis.get(kommune, 0), scope, kommune)
        for kommune, total in sorted(totals.items(), key=lambda item: item[0] or "")
    ]


def _by_diagnosis_group(scope: Scope, cases: Sequence[Case]) -> list[Indicator]:
    counts: dict[tuple[str | None, str], int] = defaultdict(int)
    for case in cases:
        for group in case.groups:
            counts[(case.kommune, group)] += 1
    return [
        figure(_BY_GROUP, float(count), count, scope, kommune, group)
        for (kommune, group), count in sorted(
            counts.items(), key=lambda i: (i[0][0] or "", i[0][1])
        )
    ]


__all__ = [
    "ALL_SECTORS",
    "OWN_CONTROLLER",
    "FactsOfPeriod",
    "Indicator",
    "Scope",
    "Window",
    "compute",
    "figure",
    "waiting_days",
]
