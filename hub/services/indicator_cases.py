"""The cases behind an indicator (its audit list), as the caller may see them.

A list rests on exactly the facts its figure rests on (``hub.services.indicators``:
the caller's own data controller's facts, or every controller's with the aggregate role)
and on the same cases (``hub.domain.indicators.cases``). Unlike a figure, a list names
patients, so each case then goes through the consent choke point
(``hub.services.consent.read``), patient by patient: a case is listed only when the
caller may see every resource it rests on — a hospital stay may be seen as a hospital
notification (the list shows only its times), anything else must be shown whole. A
case the caller may not see is left out without a trace, as if it did not exist, and so
is every case of a patient the caller may not see (no Patient record shown to it): a
list names the patient of each case. A case of a
per-municipality figure (and every case, when the list is narrowed to a municipality)
only when the Patient the caller may see lives there. Reading a list is audited
(``indicator-cases.read``): once for the list, and once per patient shown, naming the
resource versions disclosed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from hub import clock
from hub.domain.consent import DEFAULT_POLICY, Policy, residence_kommune
from hub.domain.identifiers import cpr_of
from hub.domain.indicators import (
    COUNTED_KINDS,
    DEFINITION_BY_NAME,
    HOSPITAL_STAY,
    Case,
    Scope,
    cases_of_period,
)
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import Disclosure, consented_view, viewer_of
from hub.services.indicators import (
    IndicatorQueryError,
    facts_of_period,
    scope_for,
    window_of,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

MAX_CASES = 2000
"""The most cases one list gives (``truncated`` says when there were more)."""

CASES_READ = "indicator-cases.read"
PURPOSE = "HOPERAT"
"""An audit list serves quality assurance (healthcare operations), not treatment: a
consent limited to treatment does not open another controller's cases to it."""

_SEEN_AS_NOTIFICATION = frozenset({HOSPITAL_STAY})
"""Facts whose resource may be seen cut to a hospital notification: the list shows only
the stay's times, which a notification tells."""


@dataclass(frozen=True)
class CaseResource:
    """One resource a listed case rests on, as far as the list shows it."""

    role: str  # "stay", "readmission", or the fact's kind
    reference: str  # Type/id
    at: datetime | None
    end_at: datetime | None
    sector: str
    org: str


@dataclass(frozen=True)
class ShownCase:
    indicator: str
    cpr: str | None
    kommune: str | None
    value: float | None
    groups: tuple[str, ...]
    resources: tuple[CaseResource, ...]


@dataclass(frozen=True)
class CaseList:
    name: str
    first: date
    last: date
    scope: Scope
    cases: list[ShownCase]
    truncated: bool


async def read_indicator_cases(
    units: UnitOfWorkFactory[UnitOfWork],
    viewer: Principal,
    name: str,
    first: date,
    last: date,
    *,
    kommune: str | None = None,
    all_sectors: bool | None = None,
    group: str | None = None,
    most: int = MAX_CASES,
    policy: Policy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> CaseList:
    """The cases behind indicator ``name`` of the period that ``viewer`` may see; audited.

    ``group`` narrows the care-home admissions to one diagnosis group; at most ``most``
    cases (``truncated`` says there were more).
    """
    if not 1 <= most <= MAX_CASES:
        raise IndicatorQueryError(f"first must be between 1 and {MAX_CASES}", "bad-first")
    if name not in DEFINITION_BY_NAME:
        raise IndicatorQueryError(f"there is no indicator {name!r}", "unknown-indicator")
    window = window_of(first, last)
    scope = scope_for(viewer, kommune, all_sectors)
    now = now or clock.now()
    listed = "careHomeAdmissions" if name == "careHomeAdmissionsByDiagnosisGroup" else name
    shown: list[ShownCase] = []
    truncated = False
    async with units() as uow:
        facts = await facts_of_period(uow, window, scope)
        if listed in COUNTED_KINDS:
            rows = await uow.facts.select(
                [COUNTED_KINDS[listed]], scope, at_from=window.start, at_to=window.end
            )
            facts = replace(facts, counted=rows)
        cases = [
            c
            for c in cases_of_period(window, facts, now)[listed]
            if group is None or group in c.groups
        ]
        by_patient: dict[str, list[Case]] = defaultdict(list)
        for case in cases:
            by_patient[case.patient_key].append(case)
        await record_access(
            uow, viewer, action=CASES_READ, patient_key=None, disclosed=[], purpose=PURPOSE
        )
        for patient_key, of_patient in by_patient.items():
            view = await consented_view(
                uow, viewer_of(viewer, purpose=PURPOSE), patient_key, policy=policy
            )
            if view.patient is None:
                continue  # a case of a patient the caller may not see is not listed
            lives_in = residence_kommune(view.patient.content)
            if kommune is not None and lives_in != kommune:
                continue
            visible = {_reference(d): d for d in view.entries}
            allowed = [c for c in of_patient if _may_see(c, visible, lives_in)]
            if not allowed:
                continue
            if len(shown) + len(allowed) > most:
                truncated = True
                break
            disclosed = {
                row.resource: visible[row.resource].stored
                for case in allowed
                for _, row in case.facts
            }
            await record_access(
                uow,
                viewer,
                action=CASES_READ,
                patient_key=patient_key,
                disclosed=list(disclosed.values()),
                purpose=PURPOSE,
            )
            shown += [_shown(case, cpr_of(patient_key), lives_in) for case in allowed]
        await uow.commit()
    shown.sort(key=lambda c: (c.resources[0].at or _EPOCH, c.resources[0].reference))
    return CaseList(name, first, last, scope, shown, truncated)


def _may_see(case: Case, visible: dict[str, Disclosure], lives_in: str | None) -> bool:
    if case.kommune is not None and case.kommune != lives_in:
        return False  # the residence it is counted under is not one the caller may see
    for _, row in case.facts:
        disclosure = visible.get(row.resource)
        if disclosure is None:
            return False
        if not disclosure.visibility.whole and row.kind not in _SEEN_AS_NOTIFICATION:
            return False
    return True


def _shown(case: Case, cpr: str | None, lives_in: str | None) -> ShownCase:
    return ShownCase(
        indicator=case.indicator,
        cpr=cpr,
        kommune=case.kommune or lives_in,
        value=None if case.value is None else round(case.value, 2),
        groups=case.groups,
        resources=tuple(
            CaseResource(role, row.resource, row.at, row.end_at, row.sector, row.org)
            for role, row in case.facts
        ),
    )


def _reference(disclosure: Disclosure) -> str:
    return f"{disclosure.stored.resource_type}/{disclosure.stored.id}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
