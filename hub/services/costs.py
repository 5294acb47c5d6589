"""Cost per capita and per cohort member, read from the derived facts (hub.domain.costs).

The tariffs are the deployment's file (``HUB_COST_TARIFFS``), read and checked once when
the hub is built (``configured_tariffs``: a bad file stops the hub, naming the line and
column)
and then used by every cost read of the process.

Who gets which figures is decided as for the indicators (``hub.services.indicators``):
an organisation's own figures rest only on its own data controller's facts — its stays,
visits and services, and its own cohort flags — exact; every controller's facts need the
token role ``indicators:aggregate`` and are suppressed below five patients or members. A
cost is never built from another controller's facts for an organisation, not even of a
patient whose records a consent would show it. A read is audited (``costs.read``, no
patient).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from hub import clock
from hub.config import ConfigError
from hub.domain.costs import (
    FACT_KINDS,
    CohortCosts,
    PeriodCosts,
    TariffError,
    TariffTable,
    cohort_costs,
    inclusions,
    parse_tariffs,
    period_costs,
)
from hub.domain.indicators import COHORT_MEMBER, Scope, Window
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.indicators import scope_for, window_of
from hub.services.unit_of_work import FactsUnitOfWork, FiguresUnits


class TariffFileError(ConfigError):
    """The configured tariff file cannot be read or used."""


def load_tariffs(path: Path) -> TariffTable:
    """The tariffs of the file at ``path`` (``TariffFileError`` naming the line and column)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TariffFileError(f"HUB_COST_TARIFFS: {path} cannot be read: {error}") from None
    try:
        return parse_tariffs(text, str(path))
    except TariffError as error:
        raise TariffFileError(f"HUB_COST_TARIFFS: {error}") from None


def configured_tariffs(path: Path | None) -> TariffTable | None:
    """The deployment's tariffs, read and checked (none configured: no cost figures)."""
    return None if path is None else load_tariffs(path)


@dataclass(frozen=True)
class CostReport:
    first: date
    last: date
    scope: Scope
    tariffs: TariffTable
    period: PeriodCosts
    cohort: CohortCosts


async def compute_costs(
    uow: FactsUnitOfWork, tariffs: TariffTable, window: Window, scope: Scope, now: datetime
) -> tuple[PeriodCosts, CohortCosts]:
    """The costs of ``window`` in ``scope`` (not audited), the facts narrowed in SQL."""
    facts = uow.facts
    of_period = await facts.select(FACT_KINDS, scope, at_from=window.start, at_to=window.end)
    flags = await facts.select([COHORT_MEMBER], scope, at_from=window.start, at_to=window.end)
    included = inclusions(flags, window, scope)
    # The members' own facts around their inclusion; scoped again by the rules.
    members = await facts.for_patients({i.patient_key for i in included}, FACT_KINDS)
    return (
        period_costs(of_period, tariffs, scope),
        cohort_costs(included, members, tariffs, scope, now),
    )


async def read_costs(
    units: FiguresUnits,
    viewer: Principal,
    tariffs: TariffTable,
    first: date,
    last: date,
    *,
    kommune: str | None = None,
    all_sectors: bool | None = None,
    now: datetime | None = None,
) -> CostReport:
    """The costs ``viewer`` may have for the period; the read is audited.

    Refused (``IndicatorQueryError``) as the indicators are: a bad period or kommune, or
    the aggregate asked for without the role."""
    window = window_of(first, last)
    scope = scope_for(viewer, kommune, all_sectors)
    async with units() as uow:
        period, cohort = await compute_costs(uow, tariffs, window, scope, now or clock.now())
        await record_access(
            uow, viewer, action="costs.read", patient_key=None, disclosed=[], purpose="HOPERAT"
        )
        await uow.commit()
    return CostReport(first, last, scope, tariffs, period, cohort)
