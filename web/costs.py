"""The indicators page's cost section: Triple Aim's cost per capita, in Danish kroner.

Every amount comes from ``hub.services.costs.read_costs``, which scopes the figures as the
indicators are scoped (own data controller's facts exact; every sector's with the
aggregate role, suppressed below five) and audits the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from starlette.requests import Request

from hub.domain.costs import danish_amount
from hub.services.auth import Principal
from hub.services.costs import CostReport, read_costs
from web.rendering import web_hub

CATEGORY_NAMES = {
    "hospital": "Indlæggelser (DRG-takst, ellers sengedagstakst)",
    "outpatient": "Ambulante besøg",
    "municipal": "Kommunale ydelser og koordinering",
}


def kroner(amount: Decimal | None) -> str:
    """An amount as the page shows it (``1.234,50 kr.``; ``–`` for none)."""
    return "–" if amount is None else danish_amount(amount)


def months(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}".replace(".", ",")


@dataclass(frozen=True)
class CostSection:
    """What ``_omkostninger.html`` shows (included by the indicators page)."""

    report: CostReport

    @property
    def categories(self) -> list[tuple[str, str]]:
        return [(CATEGORY_NAMES[c], kroner(a)) for c, a in self.report.period.by_category]

    @staticmethod
    def kroner(amount: Decimal | None) -> str:
        return kroner(amount)

    @staticmethod
    def months(value: float | None) -> str:
        return months(value)


async def cost_section(
    request: Request,
    who: Principal,
    first: date,
    last: date,
    *,
    kommune: str | None,
    all_sectors: bool | None,
) -> CostSection | None:
    """The section's figures, or None when the deployment has no tariffs."""
    tariffs = web_hub(request).tariffs
    if tariffs is None:
        return None
    report = await read_costs(
        web_hub(request).units,
        who,
        tariffs,
        first,
        last,
        kommune=kommune,
        all_sectors=all_sectors,
    )
    return CostSection(report)
