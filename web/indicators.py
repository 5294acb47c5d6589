"""Indicators for the caller's permitted scope: figures, trends over the chosen period,
and CSV for Danish spreadsheets and for machines.

Every figure comes from ``hub.services.indicators.read_indicators`` — which decides the scope
(the caller's own figures: its data controller's facts, exact; every sector's with the
aggregate role, small figures suppressed) and audits the read — once for the whole
period and once per month of it (per quarter for a period over two years) for the
trend. In its own figures an organisation also gets its own rundbordsmøder, plans and
actions (``hub.services.own_figures``); indicators that are nothing all period are
listed by name rather than shown as empty cards.

It is just over 400 lines because the page and both CSV downloads share one reading of
the period and its months or quarters, which is kept in one place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hub import clock
from hub.domain.indicators import DEFINITION_BY_NAME, Indicator, Scope
from hub.domain.own_figures import OwnFigure, RoundTableRecords, own_figures
from hub.domain.summaries import DANISH_TIME
from hub.services.auth import Principal
from hub.services.directory import current_directory
from hub.services.indicators import AGGREGATE_ROLE, IndicatorQueryError, read_indicators
from hub.services.own_figures import read_round_table_records
from web import labels, refusals
from web.charts import Bar, bar_chart
from web.costs import cost_section
from web.csv_text import DANISH_DELIMITER, csv_text
from web.dates import danish, form_date
from web.rendering import page, render, web_hub
from web.session import SignedIn

DEFAULT_MONTHS = 12
MONTHLY_UP_TO = 24  # months; a longer period is shown by quarter


@dataclass(frozen=True)
class Bucket:
    """A month (or a quarter) of the period, cut to it."""

    first: date
    last: date
    quarter: bool = False

    @property
    def short(self) -> str:
        if self.quarter:
            return f"{(self.first.month - 1) // 3 + 1}. kvt."
        return labels.MONTHS[self.first.month - 1]

    @property
    def label(self) -> str:
        if self.quarter:
            return f"{(self.first.month - 1) // 3 + 1}. kvartal {self.first.year}"
        return f"{labels.MONTH_NAMES[self.first.month - 1]} {self.first.year}"


def buckets_of(first: date, last: date) -> list[Bucket]:
    """The calendar months the period touches, cut to it; quarters when there are more
    than ``MONTHLY_UP_TO`` months."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = 1 if months <= MONTHLY_UP_TO else 3
    buckets = []
    start = first.replace(day=1)
    if step == 3:
        start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
    while start <= last:
        following = start
        for _ in range(step):
            following = (following + timedelta(days=32)).replace(day=1)
        buckets.append(
            Bucket(max(start, first), min(following - timedelta(days=1), last), step == 3)
        )
        start = following
    return buckets


def bars(values: list[tuple[Bucket, float | None]]) -> list[Bar]:
    """Chart bars; the year under the first bar and under each year's first."""
    shown = []
    for index, (bucket, value) in enumerate(values):
        new_year = index == 0 or bucket.first.year != values[index - 1][0].first.year
        shown.append(
            Bar(bucket.short, value, str(bucket.first.year) if new_year else None, bucket.label)
        )
    return shown


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
    monthly: list[tuple[Bucket, float | None]]
    group: str | None = None

    @property
    def listable(self) -> bool:
        """Whether the cases behind the figure can be listed (not the own rundbordsmøder)."""
        return self.name in DEFINITION_BY_NAME

    @property
    def is_nothing(self) -> bool:
        """Zero (or nothing to compute) all period, and not suppressed."""
        return not self.suppressed and all(
            v in (None, 0) for v in (self.value, *(v for _, v in self.monthly))
        )


@dataclass(frozen=True)
class Figures:
    first: date
    last: date
    scope: Scope
    total: list[Indicator]
    buckets: list[tuple[Bucket, list[Indicator]]]
    own: list[tuple[Bucket | None, list[OwnFigure]]]  # None: the whole period


def _default_period() -> tuple[date, date]:
    today = clock.now().astimezone(DANISH_TIME).date()
    first = today.replace(day=1)
    for _ in range(DEFAULT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return first, today


def _period(request: Request) -> tuple[date, date]:
    default_first, default_last = _default_period()
    params = request.query_params
    try:
        first = form_date(params.get("fra", "")) or default_first
        last = form_date(params.get("til", "")) or default_last
    except ValueError:
        raise IndicatorQueryError("a date is not a date", "bad-date") from None
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
        name = (await current_directory(web_hub(request).units)).name_of(value)
        if name:
            return f"{name} (SOR {value})"
        return f"SOR {value}"
    return controller


async def figures(request: Request, who: Principal) -> Figures:
    hub = web_hub(request)
    first, last = _period(request)
    kommune = request.query_params.get("kommune") or None
    all_sectors = _all_sectors(request, who)
    scope, total = await read_indicators(
        hub.units, who, first, last, kommune=kommune, all_sectors=all_sectors
    )
    buckets = []
    for bucket in buckets_of(first, last):
        _, of_bucket = await read_indicators(
            hub.units, who, bucket.first, bucket.last, kommune=kommune, all_sectors=all_sectors
        )
        buckets.append((bucket, of_bucket))
    own: list[tuple[Bucket | None, list[OwnFigure]]] = []
    if scope.controller is not None and kommune is None:
        # The organisation's own rundbordsmøder: with its own figures only.
        records: RoundTableRecords = await read_round_table_records(hub.units, who)
        now = clock.now()
        own.append((None, own_figures(records, first, last, now)))
        own += [(b, own_figures(records, b.first, b.last, now)) for b, _ in buckets]
    return Figures(first, last, scope, total, buckets, own)


def _row(
    name: str,
    kommune: str | None,
    value: float | None,
    unit: str,
    suppressed: bool,
    monthly: list[tuple[Bucket, float | None]],
    group: str | None = None,
) -> IndicatorRow:
    title = labels.indicator(name)
    if kommune:
        title = f"{title}, kommune {kommune}"
    if group:
        title = f"{title}, diagnosegruppe {group}"
    return IndicatorRow(
        name=name,
        title=title,
        kommune=kommune,
        value=value,
        unit=labels.unit(unit, value),
        suppressed=suppressed,
        definition=labels.definition(name),
        chart=bar_chart(
            f"{title} pr. {'kvartal' if _quarterly(monthly) else 'måned'}", bars(monthly)
        ),
        monthly=monthly,
        group=group,
    )


def _quarterly(monthly: list[tuple[Bucket, float | None]]) -> bool:
    return bool(monthly) and monthly[0][0].quarter


def rows_of(shown: Figures) -> list[IndicatorRow]:
    Key = tuple[str, str | None, str | None]
    by_key: dict[Key, list[tuple[Bucket, float | None]]] = defaultdict(list)
    for bucket, of_bucket in shown.buckets:
        values = {(i.name, i.kommune, i.group): i.value for i in of_bucket}
        for indicator in shown.total:
            key = (indicator.name, indicator.kommune, indicator.group)
            by_key[key].append((bucket, values.get(key)))
    return [
        _row(
            i.name,
            i.kommune,
            i.value,
            i.unit,
            i.suppressed,
            by_key[(i.name, i.kommune, i.group)],
            i.group,
        )
        for i in shown.total
    ]


def own_rows_of(shown: Figures) -> list[IndicatorRow]:
    if not shown.own:
        return []
    (_, total), *per_bucket = shown.own
    rows = []
    for index, figure in enumerate(total):
        monthly: list[tuple[Bucket, float | None]] = [
            (bucket, float(figures_of[index].value))
            for bucket, figures_of in per_bucket
            if bucket is not None
        ]
        rows.append(_row(figure.name, None, float(figure.value), figure.unit, False, monthly))
    return rows


@page
async def indicators_page(request: Request, session: SignedIn) -> Response:
    who = session.principal
    params = request.query_params
    common: dict[str, Any] = {
        "period_from": params.get("fra", ""),
        "period_to": params.get("til", ""),
        "kommune": params.get("kommune", ""),
        "scope_wanted": params.get("omfang", ""),
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
            error="Tallene kunne ikke beregnes. " + refusals.in_danish(error, refusals.INDICATORS),
            rows=[],
            own_rows=[],
            nothing=[],
            **common,
        )
    controller = shown.scope.controller
    rows = rows_of(shown)
    return render(
        request,
        "indikatorer.html",
        who,
        rows=[r for r in rows if not r.is_nothing],
        own_rows=own_rows_of(shown),
        nothing=[r for r in rows if r.is_nothing],
        first=danish(shown.first),
        last=danish(shown.last),
        by_quarter=bool(shown.buckets) and shown.buckets[0][0].quarter,
        all_sectors=controller is None,
        controller=None if controller is None else await controller_label(request, controller),
        costs=await cost_section(
            request,
            who,
            shown.first,
            shown.last,
            kommune=params.get("kommune") or None,
            all_sectors=_all_sectors(request, who),
        ),
        **{**common, "period_from": shown.first.isoformat(), "period_to": shown.last.isoformat()},
    )


def danish_csv(shown: Figures) -> str:
    """The figures for a Danish spreadsheet: semicolons, decimal commas, Danish headers
    and dates, a byte order mark (UTF-8)."""
    scope = "Alle sektorer" if shown.scope.controller is None else "Egne tal"
    header = [
        "Fra",
        "Til",
        "Omfang",
        "Indikator",
        "Kommune",
        "Værdi",
        "Enhed",
        "Vises ikke (under 5)",
        "Diagnosegruppe",
    ]
    rows: list[list[object]] = []
    periods: list[tuple[date, date, list[Indicator], list[OwnFigure]]] = [
        (shown.first, shown.last, shown.total, shown.own[0][1] if shown.own else [])
    ]
    own_by_bucket = {b: f for b, f in shown.own[1:]}
    periods += [
        (bucket.first, bucket.last, of_bucket, own_by_bucket.get(bucket, []))
        for bucket, of_bucket in shown.buckets
    ]
    for first, last, indicators, own in periods:
        for o in own:
            rows.append(
                [
                    danish(first),
                    danish(last),
                    scope,
                    labels.indicator(o.name),
                    "",
                    labels.number(o.value),
                    labels.unit(o.unit, o.value),
                    "nej",
                    "",
                ]
            )
        for i in indicators:
            rows.append(
                [
                    danish(first),
                    danish(last),
                    scope,
                    labels.indicator(i.name),
                    i.kommune or "",
                    "" if i.value is None else labels.number(i.value),
                    labels.unit(i.unit, i.value),
                    "ja" if i.suppressed else "nej",
                    i.group or "",
                ]
            )
    return csv_text(header, rows, delimiter=DANISH_DELIMITER)


def machine_csv(shown: Figures) -> str:
    """The figures for programs: commas, decimal points, English headers, codes."""
    scope = shown.scope.name
    header = [
        "from",
        "to",
        "scope",
        "name",
        "title",
        "kommune",
        "value",
        "unit",
        "suppressed",
        "group",
    ]
    rows: list[list[object]] = []
    periods = [(shown.first, shown.last, shown.total)] + [
        (bucket.first, bucket.last, of_bucket) for bucket, of_bucket in shown.buckets
    ]
    for first, last, indicators in periods:
        for i in indicators:
            rows.append(
                [
                    first.isoformat(),
                    last.isoformat(),
                    scope,
                    i.name,
                    labels.indicator(i.name),
                    i.kommune or "",
                    "" if i.value is None else f"{i.value:g}",
                    i.unit,
                    "true" if i.suppressed else "false",
                    i.group or "",
                ]
            )
    return csv_text(header, rows)


async def _csv(request: Request, session: SignedIn, *, for_machines: bool) -> Response:
    try:
        shown = await figures(request, session.principal)
    except IndicatorQueryError as error:
        text = (
            f"{error}\n" if for_machines else refusals.in_danish(error, refusals.INDICATORS) + "\n"
        )
        return Response(text, status_code=422, media_type="text/plain; charset=utf-8")
    body = machine_csv(shown) if for_machines else danish_csv(shown)
    kind = "data" if for_machines else "excel"
    filename = f"indikatorer-{kind}-{shown.first.isoformat()}-{shown.last.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@page
async def indicators_csv(request: Request, session: SignedIn) -> Response:
    """For Danish Excel."""
    return await _csv(request, session, for_machines=False)


@page
async def indicators_data_csv(request: Request, session: SignedIn) -> Response:
    """For programs: the CSV as it was before the Danish one."""
    return await _csv(request, session, for_machines=True)
