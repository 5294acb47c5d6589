"""Indicators, cohort members and alerts, read from the derived facts.

Indicators are aggregates: SQL counts over the facts of a period, and the composite
figures (lengths of stay, readmissions, "Kom godt hjem" visits …) computed in Python
over the few rows the period narrows the facts to. Nothing scans the resources.

Who gets which figures (see ``hub.domain.indicators``): an organisation's figures count
its own data controller's facts (``pathway_facts.controller`` is the caller's
``Principal.controller``), exact, never suppressed; figures over every controller's
facts (the all-sector aggregate) need the token role ``indicators:aggregate`` and are
suppressed below five. Another controller's facts are never added to an organisation's
own figures, not even those a consent would show it: the figures rest on what the
controller holds itself. An indicator read is audited (``indicators.read``, no patient).

Cohort members and alerts name patients: each is shown only when the caller may see,
through ``hub.services.consent.read``, the resources it rests on, and each patient
shown is audited. Nothing here decides visibility by sector: the consent choke point does.

It is over 400 lines because indicators, cohort members, alerts and the export share
the scope and privacy decisions (own controller exact, aggregates suppressed below the
threshold) and the period handling.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hub import clock
from hub.config import kom_godt_hjem_score
from hub.domain.alerts import FACT_KINDS as ALERT_FACTS
from hub.domain.alerts import Alert, AlertRules, alert_as_raised, alerts
from hub.domain.cohort import criteria_of
from hub.domain.consent import DEFAULT_POLICY, Policy, residence_kommune
from hub.domain.controllers import (
    ControllerError,
    checked_controller,
    default_controller,
    kommune_controller,
)
from hub.domain.identifiers import cpr_of
from hub.domain.indicators import (
    CARE_HOME_ADMISSION,
    COHORT_MEMBER,
    COUNTED_KINDS,
    HOSPITAL_STAY,
    KOM_GODT_HJEM_SCREENING,
    NOT_COUNTING,
    READMISSION_WINDOWS,
    READY_FOR_DISCHARGE,
    RECEPTION_VISIT,
    ROUND_TABLE_ACTION,
    ROUND_TABLE_HELD,
    ROUND_TABLE_PLAN,
    SOCIAL_SERVICES,
    SOCIAL_SERVICES_AFTER_DISCHARGE,
    SUBSTANCE_MARKERS,
    TOBS_SCORE,
    VIRTUAL_MEETING,
    FactRow,
    FactsOfPeriod,
    Indicator,
    Scope,
    Window,
    compute,
)
from hub.domain.sectors import Sector
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import Disclosure, PatientView, consented_view, viewer_of
from hub.services.unit_of_work import FactsUnitOfWork, FiguresUnits, UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

AGGREGATE_ROLE = "indicators:aggregate"
"""The token role that may read figures over every controller's facts (the all-sector
aggregate, suppressed below 5)."""

MAX_PERIOD_DAYS = 366 * 5
MAX_MEMBERS = 500


class IndicatorQueryError(ValueError):
    """A request the hub will not answer as asked (the caller can fix it).

    ``code`` names the reason for machines (GraphQL's ``extensions.code``) and for the
    page's Danish wording."""

    def __init__(self, message: str, code: str = "invalid-request") -> None:
        super().__init__(message)
        self.code = code


def scope_for(viewer: Principal, kommune: str | None, all_sectors: bool | None) -> Scope:
    """The scope of ``viewer``'s figures: every controller's (the all-sector aggregate)
    with the aggregate role, else its own data controller's.

    ``all_sectors`` asks for one explicitly; the aggregate without the role is refused
    rather than quietly narrowed.
    """
    _check_kommune(kommune)
    may_aggregate = AGGREGATE_ROLE in viewer.roles
    wants_all = may_aggregate if all_sectors is None else all_sectors
    if wants_all and not may_aggregate:
        raise IndicatorQueryError(
            f"figures over every sector's data need the token role {AGGREGATE_ROLE}",
            "aggregate-role-missing",
        )
    return Scope(None if wants_all else viewer.controller, kommune)


def _check_kommune(kommune: str | None) -> None:
    if kommune is not None and not (len(kommune) == 3 and kommune.isdigit()):
        raise IndicatorQueryError("kommune must be a 3-digit municipality code", "bad-kommune")


def window_of(first: date, last: date) -> Window:
    if last < first:
        raise IndicatorQueryError("to must not be before from", "period-reversed")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise IndicatorQueryError(
            f"a period may span at most {MAX_PERIOD_DAYS} days", "period-too-long"
        )
    return Window(first, last)


async def compute_indicators(
    uow: FactsUnitOfWork, window: Window, scope: Scope, now: datetime | None = None
) -> list[Indicator]:
    """The indicators of ``window`` over the facts of ``scope`` (not audited)."""
    return compute(window, scope, await facts_of_period(uow, window, scope), now or clock.now())


async def facts_of_period(uow: FactsUnitOfWork, window: Window, scope: Scope) -> FactsOfPeriod:
    """The facts the indicators of ``window`` rest on, narrowed in SQL."""
    facts = uow.facts
    counts = await facts.count_by_kind(COUNTED_KINDS.values(), window.start, window.end, scope)
    readmission_horizon = window.end + timedelta(days=max(READMISSION_WINDOWS))
    started = await facts.select(
        [HOSPITAL_STAY], scope, at_from=window.start, at_to=readmission_horizon
    )
    ended = await facts.select([HOSPITAL_STAY], scope, end_from=window.start, end_to=window.end)
    stays = list({row.resource: row for row in (*started, *ended)}.values())
    admitted = [row.at for row in ended if row.at is not None]
    markers = await facts.select(
        [
            *SUBSTANCE_MARKERS,
            SOCIAL_SERVICES,
            VIRTUAL_MEETING,
            RECEPTION_VISIT,
            KOM_GODT_HJEM_SCREENING,
        ],
        scope,
        at_from=min([window.start, *admitted]),
        at_to=window.end + SOCIAL_SERVICES_AFTER_DISCHARGE,
    )
    ready = await facts.select(
        [READY_FOR_DISCHARGE], scope, at_to=window.end, open_or_ending_after=window.start
    )
    flags = await facts.select([COHORT_MEMBER], scope, at_from=window.start, at_to=window.end)
    meetings = await facts.select([ROUND_TABLE_HELD], scope, at_from=window.start)
    care_home = await facts.select(
        [CARE_HOME_ADMISSION], scope, at_from=window.start, at_to=window.end
    )
    return FactsOfPeriod(
        counts,
        stays,
        markers,
        ready,
        flags,
        meetings,
        care_home,
        kom_godt_hjem_score=kom_godt_hjem_score(),
    )


async def read_indicators(
    units: FiguresUnits,
    viewer: Principal,
    first: date,
    last: date,
    *,
    kommune: str | None = None,
    all_sectors: bool | None = None,
) -> tuple[Scope, list[Indicator]]:
    """The indicators ``viewer`` may have for the period; the read is audited."""
    window = window_of(first, last)
    scope = scope_for(viewer, kommune, all_sectors)
    async with units() as uow:
        indicators = await compute_indicators(uow, window, scope)
        await record_access(
            uow, viewer, action="indicators.read", patient_key=None, disclosed=[], purpose="HOPERAT"
        )
        await uow.commit()
    return scope, indicators


# --- cohort members ---------------------------------------------------------------------


@dataclass(frozen=True)
class CohortMember:
    """A flagged patient, as the caller may see the flag."""

    cpr: str | None
    flagged_at: str | None  # the flag's period.start, as written
    reason: str | None
    flag: Disclosure
    criteria: tuple[str, ...] = ()  # the rule's criteria the flag says were met (codes)
    problem_types: tuple[str, ...] = ()  # the problem types it states (codes)


async def read_cohort_members(
    units: UnitOfWorkFactory[UnitOfWork],
    viewer: Principal,
    *,
    kommune: str | None = None,
    first: int = 100,
    policy: Policy = DEFAULT_POLICY,
) -> list[CohortMember]:
    """The cohort members whose flag ``viewer`` may see, newest first; each is audited."""
    _check_kommune(kommune)
    if not 1 <= first <= MAX_MEMBERS:
        raise IndicatorQueryError(f"first must be between 1 and {MAX_MEMBERS}", "bad-first")
    members: list[CohortMember] = []
    async with units() as uow:
        flags = await uow.facts.select([COHORT_MEMBER], Scope(None, kommune))
        by_patient = _grouped(f for f in flags if f.status not in NOT_COUNTING)
        newest_first = sorted(
            by_patient, key=lambda key: max(f.at or _EPOCH for f in by_patient[key]), reverse=True
        )
        for patient_key in newest_first:
            view = await _view(uow, viewer, patient_key, policy)
            if kommune is not None and not _resides_in(view, kommune):
                continue
            wanted = {f.resource for f in by_patient[patient_key]}
            shown = [d for d in view.entries if _reference(d) in wanted]
            if not shown:
                continue
            await record_access(
                uow,
                viewer,
                action="cohort.read",
                patient_key=patient_key,
                disclosed=[d.stored for d in shown],
            )
            for disclosure in shown:
                members.append(_member(patient_key, disclosure))
            if len(members) >= first:
                break
        await uow.commit()
    return members[:first]


def _member(patient_key: str, flag: Disclosure) -> CohortMember:
    content = flag.content
    period = content.get("period") or {}
    criteria, problem_types = criteria_of(content)
    return CohortMember(
        cpr=cpr_of(patient_key),
        flagged_at=period.get("start"),
        reason=(content.get("code") or {}).get("text"),
        flag=flag,
        criteria=tuple(criteria),
        problem_types=tuple(problem_types),
    )


# --- alerts -------------------------------------------------------------------------------


async def pending_alerts(
    uow: FactsUnitOfWork, rules: AlertRules, now: datetime, kommune: str | None = None
) -> list[Alert]:
    """Every alert raised at ``now`` (before any consent). Shown to a caller only through
    ``read_alerts``; delivered to subscriptions by ``hub.runtime.alert_scanner``."""
    scope = Scope(None, kommune)
    facts = uow.facts
    since = now - timedelta(days=rules.reception_lookback_days)
    stays = await facts.select([HOSPITAL_STAY], scope, end_from=since, end_to=now)
    admitted = [row.at for row in stays if row.at is not None]
    around = await facts.select(
        [VIRTUAL_MEETING, RECEPTION_VISIT], scope, at_from=min([since, *admitted])
    )
    ready = await facts.select([READY_FOR_DISCHARGE], scope, at_to=now, open_or_ending_after=now)
    actions = await facts.select([ROUND_TABLE_ACTION], scope, at_to=now)
    plans = await facts.select([ROUND_TABLE_PLAN], Scope(None))
    scores = await facts.select([TOBS_SCORE], scope, at_from=since, at_to=now)
    return alerts([*stays, *around, *ready, *actions, *plans, *scores], now, rules)


async def patients_with_alerts_due(
    uow: FactsUnitOfWork, rules: AlertRules, since: datetime, now: datetime
) -> set[str]:
    """The patients an alert can have become due for in (``since``, ``now``].

    Narrowed in SQL by each alert's due time: stays that ended ``reception_visit_hours``
    before the interval, Flags declared ``ready_for_discharge_days`` before it, actions
    due in it. Whether the alert is raised is for the rules to say (``alerts``).
    """
    everyone = Scope(None)
    within = timedelta(hours=rules.reception_visit_hours)
    waiting = timedelta(days=rules.ready_for_discharge_days)
    oldest_stay = now - timedelta(days=rules.reception_lookback_days)
    stays = await uow.facts.select(
        [HOSPITAL_STAY],
        everyone,
        end_from=max(since - within, oldest_stay),
        end_to=now - within + _INSTANT,
    )
    ready = await uow.facts.select(
        [READY_FOR_DISCHARGE],
        everyone,
        at_from=since - waiting,
        at_to=now - waiting,
        open_or_ending_after=now,
    )
    actions = await uow.facts.select([ROUND_TABLE_ACTION], everyone, at_from=since, at_to=now)
    # A TOBS score is due when observed; one stored late is noted as changed by the scanner.
    scores = await uow.facts.select([TOBS_SCORE], everyone, at_from=since, at_to=now)
    return {row.patient_key for row in (*stays, *ready, *actions, *scores)}


async def alerts_of_patients(
    uow: FactsUnitOfWork, rules: AlertRules, patient_keys: Iterable[str], now: datetime
) -> list[Alert]:
    """Every alert raised at ``now`` about these patients, from each one's own facts."""
    raised: list[Alert] = []
    facts = await uow.facts.for_patients(set(patient_keys), ALERT_FACTS)
    for patient_key in sorted(facts):
        raised += alerts(facts[patient_key], now, rules)
    return raised


async def logged_alert(
    uow: FactsUnitOfWork,
    kind: str,
    patient_key: str,
    subject: str,
    *,
    since: datetime,
    raised_at: datetime,
) -> Alert | None:
    """An alert the scanner logged, told again from the patient's facts (for delivery)."""
    facts = await uow.facts.for_patient(patient_key, ALERT_FACTS)
    return alert_as_raised(kind, subject, facts, since=since, raised_at=raised_at)


def alert_evidence(alert: Alert, view: PatientView) -> list[Disclosure] | None:
    """What of ``alert``'s evidence ``view`` shows, or None when its viewer may not see
    the alert: the same decision as the ``alerts`` query's."""
    visible = {_reference(d): d for d in view.entries}
    if not _may_see_evidence(alert, visible):
        return None
    return [visible[reference] for reference in alert.evidence]


@dataclass(frozen=True)
class ShownAlert:
    alert: Alert
    cpr: str | None


async def read_alerts(
    units: UnitOfWorkFactory[UnitOfWork],
    viewer: Principal,
    rules: AlertRules,
    *,
    kommune: str | None = None,
    policy: Policy = DEFAULT_POLICY,
    now: datetime | None = None,
) -> list[ShownAlert]:
    """The alerts ``viewer`` may see: those whose every resource it may see; audited."""
    _check_kommune(kommune)
    now = now or clock.now()
    shown: list[ShownAlert] = []
    async with units() as uow:
        raised = await pending_alerts(uow, rules, now, kommune)
        by_patient: dict[str, list[Alert]] = defaultdict(list)
        for alert in raised:
            by_patient[alert.patient_key].append(alert)
        for patient_key, patient_alerts in by_patient.items():
            view = await _view(uow, viewer, patient_key, policy)
            if kommune is not None and not _resides_in(view, kommune):
                continue
            visible = {_reference(d): d for d in view.entries}
            allowed = [a for a in patient_alerts if _may_see_evidence(a, visible)]
            if not allowed:
                continue
            evidence = {r for a in allowed for r in a.evidence}
            await record_access(
                uow,
                viewer,
                action="alerts.read",
                patient_key=patient_key,
                disclosed=[visible[r].stored for r in sorted(evidence)],
            )
            shown += [ShownAlert(a, cpr_of(patient_key)) for a in allowed]
        await uow.commit()
    return sorted(shown, key=lambda s: (s.alert.since, s.alert.kind))


def _may_see_evidence(alert: Alert, visible: dict[str, Disclosure]) -> bool:
    """Whether the viewer sees every resource the alert rests on, as much as it uses.

    An alert says what its resources say (a "Kom godt hjem" meeting is one by its
    type), so a resource shown only as a hospital notification is enough only where
    the alert uses nothing but the notification's fields.
    """
    for reference in alert.evidence:
        disclosure = visible.get(reference)
        if disclosure is None:
            return False
        if not disclosure.visibility.whole and (reference not in alert.notification_enough):
            return False
    return True


# --- shared -------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INSTANT = timedelta(microseconds=1)  # makes an exclusive upper bound inclusive


async def _view(
    uow: UnitOfWork, viewer: Principal, patient_key: str, policy: Policy
) -> PatientView:
    return await consented_view(uow, viewer_of(viewer), patient_key, policy=policy)


def _resides_in(view: PatientView, kommune: str) -> bool:
    """Whether the Patient the viewer may see says they live in ``kommune``: a residence
    the viewer could not see is not used to pick patients for it."""
    return view.patient is not None and residence_kommune(view.patient.content) == kommune


def _reference(disclosure: Disclosure) -> str:
    return f"{disclosure.stored.resource_type}/{disclosure.stored.id}"


def _grouped(rows: Iterable[FactRow]) -> dict[str, list[FactRow]]:
    grouped: dict[str, list[FactRow]] = defaultdict(list)
    for row in rows:
        grouped[row.patient_key].append(row)
    return grouped


def parse_day(value: str) -> date:
    """A YYYY-MM-DD date (command line)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise IndicatorQueryError(
            f"expected a date YYYY-MM-DD, got {value!r}", "bad-date"
        ) from None


# --- export ------------------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "json")


def export_controller(
    sector: Sector,
    org: str,
    *,
    kommune: str | None = None,
    claimed: str | None = None,
    known: str | None = None,
) -> str:
    """The data controller whose own figures ``hub indicators --sector --org`` gives,
    named as a token of that organisation would name it.

    ``claimed`` (``--controller``) is checked as a token's claim is; else a municipal
    organisation's controller is its kommune (``kommune``, as a municipal token's
    ``kommune`` claim); else ``known``, the organisation directory's controller of
    ``org``; else the organisation itself (``default_controller``).
    """
    _check_kommune(kommune)
    if claimed is not None:
        # A municipal controller is a kommune; which one, the claim itself says.
        own = claimed.removeprefix("kommune:") if sector is Sector.MUNICIPALITY else kommune
        try:
            return checked_controller(claimed, sector, own)
        except ControllerError as error:
            raise IndicatorQueryError(str(error)) from None
    if sector is Sector.MUNICIPALITY:
        if kommune is None:
            raise IndicatorQueryError(
                "a municipal organisation's own figures are its kommune's: "
                "give --controller kommune:<code> (or --kommune)"
            )
        return kommune_controller(kommune)
    return known or default_controller(sector, org, kommune)


async def export_indicators(
    units: UnitOfWorkFactory[FactsUnitOfWork],
    first: date,
    last: date,
    *,
    kommune: str | None = None,
    controller: str | None = None,
    org: str | None = None,
    format: str = "csv",
) -> str:
    """The indicators of a period as CSV or JSON, for the projects' monthly audit.

    With ``controller`` (see ``export_controller``), that data controller's own
    figures, exact (``org`` names who asked, in the JSON); without, every controller's,
    with figures resting on fewer than 5 facts suppressed — the operator's command line
    gets nothing a token with the aggregate role would not.
    """
    if format not in EXPORT_FORMATS:
        raise IndicatorQueryError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    _check_kommune(kommune)
    window = window_of(first, last)
    scope = Scope(controller, kommune)
    async with units() as uow:
        indicators = await compute_indicators(uow, window, scope)
    scope_name = scope.name
    rows = [
        {
            "name": i.name,
            "value": i.value,
            "unit": i.unit,
            "suppressed": i.suppressed,
            "kommune": i.kommune,
            "group": i.group,
            "definition": i.definition,
        }
        for i in indicators
    ]
    if format == "json":
        document = {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "kommune": kommune,
            "scope": scope_name,
            "controller": controller,
            "org": org,
            "indicators": rows,
        }
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["from", "to", "scope", "name", "kommune", "value", "unit", "suppressed", "group"]
    )
    for row in rows:
        value = row["value"]
        writer.writerow(
            [
                first.isoformat(),
                last.isoformat(),
                scope_name,
                row["name"],
                row["kommune"] or "",
                "" if value is None else f"{value:g}",
                row["unit"],
                "true" if row["suppressed"] else "false",
                row["group"] or "",
            ]
        )
    return out.getvalue()
