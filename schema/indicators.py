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
            scope=(
                IndicatorScope.ALL_SECTORS
                if scope.controller is None
                else IndicatorScope.OWN_CONTROLLER
            ),
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
    flag: JSON = strawberry.field(description="The Flag as FHIR R4 JSON.")


@strawberry.type(description="Something overdue about a patient.")
class PathwayAlert:
    kind: str = strawberry.field(
        description=(
            "`reception-visit-missing`, `faerdigbehandlet-waiting` or `round-table-action-overdue`."
        )
    )
    cpr: str | None
    since: str = strawberry.field(description="When it became overdue (ISO 8601, UTC).")
    message: str
    resources: list[str] = strawberry.field(description="The resources it rests on (Type/id).")


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
    all_sectors = None if scope is None else scope is IndicatorScope.ALL_SECTORS
    with refusals_as_errors(IndicatorQueryError):
        used, figures = await read_indicators(
            context.engine, context.viewer, from_, to, kommune=kommune, all_sectors=all_sectors
        )
    return [Indicator.of(figure, used) for figure in figures]


async def resolve_cohort_members(
    info: HubInfo, kommune: str | None = None, first: int = 100
) -> list[CohortMember]:
    context = info.context
    with refusals_as_errors(IndicatorQueryError):
        members = await read_cohort_members(
            context.engine, context.viewer, kommune=kommune, first=first, policy=context.policy
        )
    return [
        CohortMember(
            cpr=member.cpr,
            flagged_at=member.flagged_at,
            reason=member.reason,
            sector=member.flag.stored.sector,
            flag=JSON(member.flag.content),
        )
        for member in members
    ]


async def resolve_alerts(info: HubInfo, kommune: str | None = None) -> list[PathwayAlert]:
    context = info.context
    with refusals_as_errors(IndicatorQueryError):
        shown = await read_alerts(
            context.engine, context.viewer, _alert_rules(), kommune=kommune, policy=context.policy
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
