"""Cost per capita and per cohort member (Triple Aim): the costs part of the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from hub.services.costs import read_costs
from hub.services.indicators import AGGREGATE_ROLE, IndicatorQueryError
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.indicators import IndicatorScope, all_sectors_asked, scope_used


def _dkk(amount: Decimal | None) -> float | None:
    return None if amount is None else float(amount)


@strawberry.type(description="What one category of the period's facts cost, in DKK.")
class CostCategory:
    category: str = strawberry.field(
        description="`hospital` (stays), `outpatient` (visits) or `municipal` (services)."
    )
    amount: float


@strawberry.type(description="A tariff source the figures are priced by.")
class TariffSource:
    source: str
    year: int


@strawberry.type(
    description=(
        "What the period's facts cost at the deployment's tariffs, and what the cohort "
        "members included in the period cost before and after inclusion. Amounts in DKK; "
        "null when suppressed."
    )
)
class CostReport:
    scope: IndicatorScope
    controller: str | None = strawberry.field(
        description="The data controller whose own figures these are; null in the aggregate."
    )
    suppressed: bool = strawberry.field(
        description="The period's figures rest on fewer than 5 patients (aggregate only)."
    )
    total: float | None = strawberry.field(description="Every priced fact of the period.")
    patients: int = strawberry.field(description="Patients with a priced fact in the period.")
    per_patient: float | None = strawberry.field(description="`total` per patient.")
    by_category: list[CostCategory]
    unpriced: int = strawberry.field(description="Facts of the period no tariff prices.")
    cohort_suppressed: bool = strawberry.field(
        description="The cohort figures rest on fewer than 5 members (aggregate only)."
    )
    cohort_members: int = strawberry.field(
        description="Cohort members whose inclusion (the flag's period.start) is in the period."
    )
    before_per_member_month: float | None = strawberry.field(
        description="Their cost in the 12 months before inclusion, per member-month."
    )
    after_per_member_month: float | None = strawberry.field(
        description=(
            "Their cost from inclusion, up to 12 months and never beyond today, per member-month."
        )
    )
    before_member_months: float | None
    after_member_months: float | None
    sources: list[TariffSource]


async def resolve_costs(
    info: HubInfo,
    from_: Annotated[date, strawberry.argument(name="from")],
    to: date,
    kommune: str | None = None,
    scope: IndicatorScope | None = None,
) -> CostReport | None:
    tariffs = info.context.tariffs
    if tariffs is None:
        return None
    context = info.context
    all_sectors = all_sectors_asked(scope)
    with refusals_as_errors(IndicatorQueryError):
        report = await read_costs(
            context.units,
            context.viewer,
            tariffs,
            from_,
            to,
            kommune=kommune,
            all_sectors=all_sectors,
        )
    period, cohort = report.period, report.cohort
    return CostReport(
        scope=scope_used(report.scope),
        controller=report.scope.controller,
        suppressed=period.suppressed,
        total=_dkk(period.total),
        patients=period.patients,
        per_patient=_dkk(period.per_patient),
        by_category=[CostCategory(category=c, amount=float(a)) for c, a in period.by_category],
        unpriced=period.unpriced,
        cohort_suppressed=cohort.suppressed,
        cohort_members=cohort.members,
        before_per_member_month=_dkk(cohort.before_per_member_month),
        after_per_member_month=_dkk(cohort.after_per_member_month),
        before_member_months=cohort.before_member_months,
        after_member_months=cohort.after_member_months,
        sources=[TariffSource(source=s, year=y) for s, y in report.tariffs.sources],
    )


@strawberry.type
class CostQuery:
    costs: CostReport | None = strawberry.field(
        resolver=resolve_costs,
        description=(
            "Triple Aim's cost per capita for the days `from`–`to` (inclusive, Danish time), "
            "priced by the deployment's tariff file (null when none is configured). Scoped "
            f"as `indicators`: the caller's own data controller's facts, or with the role "
            f"`{AGGREGATE_ROLE}` every controller's (suppressed below 5). Audited."
        ),
    )
