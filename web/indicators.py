"""Indicators for the caller's permitted scope: figures, monthly trends and CSV.

Every figure comes from ``hub.services.indicators.read_indicators`` — which decides the scope
(the caller's own figures: its data controller's facts, exact; every sector's with the
aggregate role, small figures suppressed) and audits the read — once for the whole
period and once per month of it for the trend.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hub import clock
from hub.domain.indicators import Indicator, Scope
from hub.domain.summaries import DANISH_TIME
from hub.services.auth import Principal
from hub.services.directory import current_directory
from hub.services.indicators import AGGREGATE_ROLE, IndicatorQueryError, read_indicators
from web import labels
from web.charts import Bar, bar_chart
from web.rendering import page, render, web_hub
from web.session import SignedIn

MAX_MONTHS = 12


@dataclass(frozen=True)
class Month:
    first: date
    last: date

    @property
    def short(self) -> str:
        return labels.MONTHS[self.first.month - 1]

    @property
    def label(self) -> str:
        return f"{self.short} {self.first.year}"


@dataclass(frozen=True)
class IndicatorRow:
    name: str
    title: str
    kommune: str | None
    value: float | None
    unit: str
    suppressed: bool
    definition: str
    chart: Markup
    monthly: list[tuple[Month, float | None]]


@dataclass(frozen=True)
class Figures:
    first: date
    last: date
    scope: Scope
    total: list[Indicator]
    months: list[tuple[Month, list[Indicator]]]


def months_of(first: date, last: date) -> list[Month]:
    """The calendar months the period touches (the last ``MAX_MONTHS``), cut to it."""
    months = []
    start = first.replace(day=1)
    while start <= last:
        following = (start + timedelta(days=32)).replace(day=1)
        months.append(Month(max(start, first), min(following - timedelta(days=1), last)))
        start = following
    return months[-MAX_MONTHS:]


def _default_period() -> tuple[date, date]:
    today = clock.now().astimezone(DANISH_TIME).date()
    first = today.replace(day=1)
    for _ in range(MAX_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, today


def _period(request: Request) -> tuple[date, date]:
    default_first, default_last = _default_period()
    params = request.query_params
    try:
        first = date.fromisoformat(params["fra"]) if params.get("fra") else default_first
        last = date.fromisoformat(params["til"]) if params.get("til") else default_last
    except ValueError:
        raise IndicatorQueryError("datoerne skal skrives som åååå-mm-dd") from None
    return first, last


def _all_sectors(request: Request, who: Principal) -> bool | None:
    wanted = request.query_params.get("omfang")
    if wanted == "alle":
        return True
    if wanted == "egen":
        return False
    return None if AGGREGATE_ROLE in who.roles else False


async def controller_label(request: Request, controller: str) -> str:
    """The data controller as the page names it: ``kommune 730``, or the name the
    organisation directory gives a SOR code, with the code."""
    kind, _, value = controller.partition(":")
    if kind == "kommune":
        return f"kommune {value}"
    if kind == "sor":
        name = (await current_directory(web_hub(request).engine)).name_of(value)
        if name:
            return f"{name} ({controller})"
    return controller


async def figures(request: Request, who: Principal) -> Figures:
    hub = web_hub(request)
    first, last = _period(request)
    kommune = request.query_params.get("kommune") or None
    all_sectors = _all_sectors(request, who)
    scope, total = await read_indicators(
        hub.engine, who, first, last, kommune=kommune, all_sectors=all_sectors
    )
    months = []
    for month in months_of(first, last):
        _, figures_of_month = await read_indicators(
            hub.engine, who, month.first, month.last, kommune=kommune, all_sectors=all_sectors
        )
        months.append((month, figures_of_month))
    return Figures(first, last, scope, total, months)


def rows_of(shown: Figures) -> list[IndicatorRow]:
    by_key: dict[tuple[str, str | None], list[tuple[Month, float | None]]] = defaultdict(list)
    for month, of_month in shown.months:
        values = {(i.name, i.kommune): i.value for i in of_month}
        for indicator in shown.total:
            key = (indicator.name, indicator.kommune)
            by_key[key].append((month, values.get(key)))
    rows = []
    for indicator in shown.total:
        title = labels.indicator(indicator.name)
        if indicator.kommune:
            title = f"{title}, kommune {indicator.kommune}"
        monthly = by_key[(indicator.name, indicator.kommune)]
        rows.append(
            IndicatorRow(
                name=indicator.name,
                title=title,
                kommune=indicator.kommune,
                value=indicator.value,
                unit=labels.unit(indicator.unit),
                suppressed=indicator.suppressed,
                definition=indicator.definition,
                chart=bar_chart(f"{title} pr. måned", [Bar(m.short, v) for m, v in monthly]),
                monthly=monthly,
            )
        )
    return rows


@page
async def indicators_page(request: Request, session: SignedIn) -> Response:
    who = session.principal
    params = request.query_params
    common: dict[str, Any] = {
        "period_from": params.get("fra", ""),
        "period_to": params.get("til", ""),
        "kommune": params.get("kommune", ""),
        "may_aggregate": AGGREGATE_ROLE in who.roles,
        "query": str(request.url.query),
    }
    try:
        shown = await figures(request, who)
    except IndicatorQueryError as error:
        return render(
            request,
            "indikatorer.html",
            who,
            status_code=422,
            error=f"Tallene kunne ikke beregnes: {error}",
            rows=[],
            **common,
        )
    controller = shown.scope.controller
    return render(
        request,
        "indikatorer.html",
        who,
        rows=rows_of(shown),
        first=shown.first,
        last=shown.last,
        all_sectors=controller is None,
        controller=None if controller is None else await controller_label(request, controller),
        **{**common, "period_from": shown.first.isoformat(), "period_to": shown.last.isoformat()},
    )


def _csv_number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@page
async def indicators_csv(request: Request, session: SignedIn) -> Response:
    try:
        shown = await figures(request, session.principal)
    except IndicatorQueryError as error:
        return Response(f"{error}\n", status_code=422, media_type="text/plain; charset=utf-8")
    scope = shown.scope.name
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["from", "to", "scope", "name", "title", "kommune", "value", "unit", "suppressed"]
    )
    periods = [(shown.first, shown.last, shown.total)] + [
        (month.first, month.last, of_month) for month, of_month in shown.months
    ]
    for first, last, indicators in periods:
        for i in indicators:
            writer.writerow(
                [
                    first.isoformat(),
                    last.isoformat(),
                    scope,
                    i.name,
                    labels.indicator(i.name),
                    i.kommune or "",
                    _csv_number(i.value),
                    i.unit,
                    "true" if i.suppressed else "false",
                ]
            )
    filename = f"indikatorer-{shown.first.isoformat()}-{shown.last.isoformat()}.csv"
    return Response(
        # A byte order mark, so spreadsheet programs read æ, ø and å as UTF-8.
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
