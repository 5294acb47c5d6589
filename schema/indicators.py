"""Indicators, cohort members and alerts: the root fields of the indicators part of the API."""

from __future__ import annotations

from datetime import date
from enum import Enum
from functools import cache
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from hub.config import Settings
from hub.domain.alerts import AlertRules
from hub.domain.indicators import Indicator as IndicatorFigure
from hub.domain.indicators import Scope
from hub.services.indicator_cases import MAX_CASES, read_indicator_cases
from hub.services.indicators import (
    AGGREGATE_ROLE,
    MAX_MEMBERS,
    IndicatorQueryError,
    read_alerts,
    read_cohort_members,
    read_indicators,
)
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.query_cost import page_size

CASES_PAGE = 100
"""The cases ``indicatorCases`` gives without ``first``."""


@strawberry.enum(description="Whose facts a figure rests on.")
class IndicatorScope(Enum):
    OWN_CONTROLLER = strawberry.enum_value(
        "own-controller",
        description=(
            "The caller's own figures: the facts its data controller holds (a region, a "
            "kommune, a general practice), exact, never suppressed."
        ),
    )
    ALL_SECTORS = strawberry.enum_value(
        "all-sectors",
        description=(
            f"Every controller's facts (token role `{AGGREGATE_ROLE}`); figures resting on "
            "fewer than 5 facts or patients suppressed."
        ),
    )


def all_sectors_asked(scope: IndicatorScope | None) -> bool | None:
    """What the caller asked for: every controller's facts, its own, or (None) the default."""
    return None if scope is None else scope is IndicatorScope.ALL_SECTORS


def scope_used(scope: Scope) -> IndicatorScope:
    """The scope the service computed the figures in: all sectors, or one controller's."""
    return IndicatorScope.ALL_SECTORS if scope.controller is None else IndicatorScope.OWN_CONTROLLER


@strawberry.type(description="One indicator of a period.")
class Indicator:
    name: str
    value: float | None = strawberry.field(description="Null when suppressed.")
    unit: str
    definition: str = strawberry.field(description="Which events count, and which codes.")
    suppressed: bool = strawberry.field(
        description=(
            "The value is withheld: a figure of the all-sector aggregate resting on fewer "
            "than 5 facts or patients."
        )
    )
    kommune: str | None = strawberry.field(
        description="The residence municipality a per-municipality figure is for."
    )
    group: str | None = strawberry.field(
        description="The diagnosis group (ICD-10 letter and two digits) a figure is for."
    )
    scope: IndicatorScope
    controller: str | None = strawberry.field(
        description=(
            "The data controller whose own figure this is (`kommune:730`, `sor:…`); null "
            "in the all-sector aggregate."
        )
    )

    @classmethod
    def of(cls, figure: IndicatorFigure, scope: Scope) -> Indicator:
        return cls(
            name=figure.name,
            value=figure.value,
            unit=figure.unit,
            definition=figure.definition,
            suppressed=figure.suppressed,
            kommune=figure.kommune,
            group=figure.group,
            scope=scope_used(scope),
            controller=scope.controller,
        )


@strawberry.type(description="A patient flagged as a member of the Sammen om min vej cohort.")
class CohortMember:
    cpr: str | None
    flagged_at: str | None = strawberry.field(
        description="When the patient met the rule (the flag's period.start)."
    )
    reason: str | None
    sector: str = strawberry.field(description="The sector whose admissions met the rule.")
    criteria: list[str] = strawberry.field(
        description=(
            "The rule's criteria the flag says were met: `alder`, `bopael` (when a residence "
            "set is configured), `akutte-indlaeggelser`, `problemtyper` (when problem types "
            "are required)."
        )
    )
    problem_types: list[str] = strawberry.field(
        description=(
            "The problem types known from the flagging sector's own records: `fysisk`, "
            "`psykisk`, `rusmiddel`, `social`."
        )
    )
    flag: JSON = strawberry.field(description="The Flag as FHIR R4 JSON.")


@strawberry.type(description="Something overdue about a patient.")
class PathwayAlert:
    kind: str = strawberry.field(
        description=(
            "`reception-visit-missing`, `faerdigbehandlet-waiting`, `round-table-action-overdue` "
            "or `tobs-high`."
        )
    )
    cpr: str | None
    since: str = strawberry.field(description="When it became overdue (ISO 8601, UTC).")
    message: str
    resources: list[str] = strawberry.field(description="The resources it rests on (Type/id).")


@strawberry.type(description="A resource an indicator's case rests on.")
class IndicatorCaseResource:
    role: str = strawberry.field(
        description=(
            "`stay` (the stay counted: the discharge, the admission), `readmission` (the "
            "acute stay that readmitted the patient), else the fact's kind "
            "(`virtual-discharge-meeting`, `reception-visit`, `cohort-member` …)."
        )
    )
    reference: str = strawberry.field(description="Type/id.")
    at: str | None = strawberry.field(description="When it began or happened (ISO 8601, UTC).")
    end_at: str | None = strawberry.field(description="When it ended (ISO 8601, UTC).")
    sector: str
    org: str


@strawberry.type(description="One case behind an indicator: a stay, a patient, a meeting …")
class IndicatorCase:
    cpr: str | None = strawberry.field(description="Only when the caller may see the patient.")
    kommune: str | None = strawberry.field(
        description="The residence municipality, as far as the caller may see it."
    )
    value: float | None = strawberry.field(
        description="Days: the length of stay, the days waiting, days to the readmission or "
        "to the rundbordsmøde."
    )
    groups: list[str] = strawberry.field(description="Diagnosis groups of a care-home admission.")
    resources: list[IndicatorCaseResource] = strawberry.field(metadata=page_size(4, 4))


@strawberry.type(
    description="The cases behind an indicator of a period, as the caller may see them."
)
class IndicatorCases:
    name: str
    scope: IndicatorScope
    controller: str | None
    truncated: bool = strawberry.field(
        description=f"More than {MAX_CASES} cases: the rest left out."
    )
    cases: list[IndicatorCase] = strawberry.field(metadata=page_size(CASES_PAGE, MAX_CASES))


async def resolve_indicator_cases(
    info: HubInfo,
    name: str,
    from_: Annotated[date, strawberry.argument(name="from")],
    to: date,
    kommune: str | None = None,
    scope: IndicatorScope | None = None,
    group: str | None = None,
    first: int = CASES_PAGE,
) -> IndicatorCases:
    context = info.context
    all_sectors = all_sectors_asked(scope)
    with refusals_as_errors(IndicatorQueryError):
        listed = await read_indicator_cases(
            context.units,
            context.viewer,
            name,
            from_,
            to,
            kommune=kommune,
            all_sectors=all_sectors,
            group=group,
            most=first,
            policy=context.policy,
        )
    return IndicatorCases(
        name=listed.name,
        scope=scope_used(listed.scope),
        controller=listed.scope.controller,
        truncated=listed.truncated,
        cases=[
            IndicatorCase(
                cpr=c.cpr,
                kommune=c.kommune,
                value=c.value,
                groups=list(c.groups),
                resources=[
                    IndicatorCaseResource(
                        role=r.role,
                        reference=r.reference,
                        at=None if r.at is None else r.at.isoformat(),
                        end_at=None if r.end_at is None else r.end_at.isoformat(),
                        sector=r.sector,
                        org=r.org,
                    )
                    for r in c.resources
                ],
            )
            for c in listed.cases
        ],
    )


@cache
def _alert_rules() -> AlertRules:
    # The process started with these settings, so reading them again cannot fail.
    return Settings.from_env().alerts


async def resolve_indicators(
    info: HubInfo,
    from_: Annotated[date, strawberry.argument(name="from")],
    to: date,
    kommune: str | None = None,
    scope: IndicatorScope | None = None,
) -> list[Indicator]:
    context = info.context
    all_sectors = all_sectors_asked(scope)
    with refusals_as_errors(IndicatorQueryError):
        used, figures = await read_indicators(
            context.units, context.viewer, from_, to, kommune=kommune, all_sectors=all_sectors
        )
    return [Indicator.of(figure, used) for figure in figures]


async def resolve_cohort_members(
    info: HubInfo, kommune: str | None = None, first: int = 100
) -> list[CohortMember]:
    context = info.context
    with refusals_as_errors(IndicatorQueryError):
        members = await read_cohort_members(
            context.units, context.viewer, kommune=kommune, first=first, policy=context.policy
        )
    return [
        CohortMember(
            cpr=member.cpr,
            flagged_at=member.flagged_at,
            reason=member.reason,
            sector=member.flag.stored.sector,
            criteria=list(member.criteria),
            problem_types=list(member.problem_types),
            flag=JSON(member.flag.content),
        )
        for member in members
    ]


async def resolve_alerts(info: HubInfo, kommune: str | None = None) -> list[PathwayAlert]:
    context = info.context
    with refusals_as_errors(IndicatorQueryError):
        shown = await read_alerts(
            context.units, context.viewer, _alert_rules(), kommune=kommune, policy=context.policy
        )
    return [
        PathwayAlert(
            kind=s.alert.kind,
            cpr=s.cpr,
            since=s.alert.since.isoformat(),
            message=s.alert.message,
            resources=list(s.alert.evidence),
        )
        for s in shown
    ]


@strawberry.type
class IndicatorQuery:
    indicators: list[Indicator] = strawberry.field(
        resolver=resolve_indicators,
        description=(
            "The pathway indicators of the days `from`–`to` (inclusive, Danish time). "
            "Without `scope`: over every controller's data for a token with the role "
            f"`{AGGREGATE_ROLE}` (figures resting on fewer than 5 facts suppressed), else "
            "the caller's own figures: its own data controller's data (exact). `kommune` "
            "narrows to residents of one municipality (the residence an authoritative "
            "source gave)."
        ),
    )
    indicator_cases: IndicatorCases = strawberry.field(
        resolver=resolve_indicator_cases,
        description=(
            "The cases behind indicator `name` of the days `from`–`to` (its audit list): "
            "the same facts and scope as `indicators`, each case shown only when the caller "
            "may see every resource it rests on under the patient's consent, the CPR number "
            "only when it may see the patient. `group` narrows care-home admissions to one "
            "diagnosis group. At most `first` cases (default 100, at most 2000; `truncated` says "
            "there were more). Audited per patient shown."
        ),
    )
    cohort_members: list[CohortMember] = strawberry.field(
        resolver=resolve_cohort_members,
        description=(
            "Patients flagged by the cohort rule whose flag the caller may see under the "
            f"patient's consent, newest first; at most `first` (1–{MAX_MEMBERS}). Audited."
        ),
    )
    alerts: list[PathwayAlert] = strawberry.field(
        resolver=resolve_alerts,
        description=(
            "Overdue reception visits, færdigbehandlet patients still waiting and overdue "
            "rundbordsmøde actions, each shown only when the caller may see every resource "
            "it rests on. Audited."
        ),
    )
