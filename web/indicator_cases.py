"""The cases behind one indicator (its audit list): a page, CSV for Danish spreadsheets,
CSV and JSON for programs.

Every list comes from ``hub.services.indicator_cases.read_indicator_cases``, which uses
the same scope as the figure (``omfang``, ``kommune``), shows a case only when the
caller may see what it rests on, and audits the read under the signed-in person.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.summaries import DANISH_TIME
from hub.services.indicator_cases import CaseList, ShownCase, read_indicator_cases
from hub.services.indicators import IndicatorQueryError
from web import labels, refusals
from web.csv_text import DANISH_DELIMITER, csv_text
from web.dates import danish
from web.indicators import _all_sectors, _period
from web.rendering import page, render, web_hub
from web.session import SignedIn

ROLES = {
    "stay": "Ophold",
    "readmission": "Genindlæggelse",
    "virtual-discharge-meeting": "Virtuelt udskrivningsmøde",
    "reception-visit": "Modtagebesøg",
    "cohort-member": "Markering (Sammen om min vej)",
    "round-table-held": "Rundbordsmøde",
    "ready-for-discharge": "Færdigbehandlet",
    "care-home-admission": "Indlæggelse fra plejebolig",
    "social-services-offered": "Socialfaglig indsats tilbudt",
    "outreach-referral": "Henvisning til fremskudt behandler",
    "outreach-conversation": "Samtale med fremskudt behandler",
    "addiction-referral": "Henvisning til rusmiddelcenter",
}
"""The role of each resource of a case, in Danish; a role not named here is a counted
fact's kind, shown as the indicator's name."""


def role(code: str, indicator: str) -> str:
    return ROLES.get(code) or labels.indicator(indicator)


def moment(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(DANISH_TIME).strftime("%d.%m.%Y kl. %H.%M")


async def _read(request: Request, session: SignedIn) -> CaseList:
    who = session.principal
    first, last = _period(request)
    params = request.query_params
    return await read_indicator_cases(
        web_hub(request).units,
        who,
        params.get("navn", ""),
        first,
        last,
        kommune=params.get("kommune") or None,
        all_sectors=_all_sectors(request, who),
        group=params.get("gruppe") or None,
        policy=web_hub(request).policy,
    )


@page
async def cases_page(request: Request, session: SignedIn) -> Response:
    name = request.query_params.get("navn", "")
    common: dict[str, Any] = {
        "name": name,
        "title": labels.indicator(name),
        "group": request.query_params.get("gruppe", ""),
        "query": str(request.url.query),
        "role": role,
        "moment": moment,
    }
    try:
        listed = await _read(request, session)
    except IndicatorQueryError as error:
        return render(
            request,
            "indikator_sager.html",
            session.principal,
            status_code=422,
            error="Listen kunne ikke vises. " + refusals.in_danish(error, refusals.INDICATORS),
            listed=None,
            **common,
        )
    return render(
        request,
        "indikator_sager.html",
        session.principal,
        listed=listed,
        first=danish(listed.first),
        last=danish(listed.last),
        all_sectors=listed.scope.controller is None,
        definition=labels.definition(name),
        **common,
    )


def danish_csv(listed: CaseList) -> str:
    """One row per resource of each case, for a Danish spreadsheet: semicolons, decimal
    commas, Danish headers and times, a byte order mark."""
    header = [
        "Sag",
        "Indikator",
        "Fra",
        "Til",
        "CPR",
        "Kommune",
        "Værdi (dage)",
        "Diagnosegrupper",
        "Rolle",
        "Ressource",
        "Tidspunkt",
        "Slut",
        "Sektor",
        "Organisation",
    ]
    rows: list[list[object]] = []
    for number, case in enumerate(listed.cases, 1):
        for resource in case.resources:
            rows.append(
                [
                    number,
                    labels.indicator(listed.name),
                    danish(listed.first),
                    danish(listed.last),
                    case.cpr or "",
                    case.kommune or "",
                    "" if case.value is None else labels.number(case.value),
                    ", ".join(case.groups),
                    role(resource.role, listed.name),
                    resource.reference,
                    moment(resource.at),
                    moment(resource.end_at),
                    labels.sector(resource.sector),
                    resource.org,
                ]
            )
    return csv_text(header, rows, delimiter=DANISH_DELIMITER)


def machine_csv(listed: CaseList) -> str:
    """One row per resource of each case, for programs: commas, English headers, codes,
    ISO 8601 times (UTC)."""
    header = [
        "case",
        "name",
        "from",
        "to",
        "scope",
        "cpr",
        "kommune",
        "value",
        "groups",
        "role",
        "resource",
        "at",
        "end",
        "sector",
        "org",
    ]
    rows: list[list[object]] = []
    for number, case in enumerate(listed.cases, 1):
        for resource in case.resources:
            rows.append(
                [
                    number,
                    listed.name,
                    listed.first.isoformat(),
                    listed.last.isoformat(),
                    listed.scope.name,
                    case.cpr or "",
                    case.kommune or "",
                    "" if case.value is None else f"{case.value:g}",
                    " ".join(case.groups),
                    resource.role,
                    resource.reference,
                    "" if resource.at is None else resource.at.isoformat(),
                    "" if resource.end_at is None else resource.end_at.isoformat(),
                    resource.sector,
                    resource.org,
                ]
            )
    return csv_text(header, rows)


def as_json(listed: CaseList) -> str:
    def case(c: ShownCase) -> dict[str, Any]:
        return {
            "cpr": c.cpr,
            "kommune": c.kommune,
            "value": c.value,
            "groups": list(c.groups),
            "resources": [
                {
                    "role": r.role,
                    "reference": r.reference,
                    "at": None if r.at is None else r.at.isoformat(),
                    "end": None if r.end_at is None else r.end_at.isoformat(),
                    "sector": r.sector,
                    "org": r.org,
                }
                for r in c.resources
            ],
        }

    document = {
        "name": listed.name,
        "from": listed.first.isoformat(),
        "to": listed.last.isoformat(),
        "scope": listed.scope.name,
        "kommune": listed.scope.kommune,
        "truncated": listed.truncated,
        "cases": [case(c) for c in listed.cases],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


async def _download(request: Request, session: SignedIn, kind: str) -> Response:
    try:
        listed = await _read(request, session)
    except IndicatorQueryError as error:
        text = str(error) if kind != "excel" else refusals.in_danish(error, refusals.INDICATORS)
        return Response(text + "\n", status_code=422, media_type="text/plain; charset=utf-8")
    if kind == "json":
        body, media, suffix = as_json(listed), "application/json", "json"
    else:
        body = danish_csv(listed) if kind == "excel" else machine_csv(listed)
        media, suffix = "text/csv; charset=utf-8", "csv"
    filename = (
        f"sager-{listed.name}-{kind}-{listed.first.isoformat()}-{listed.last.isoformat()}.{suffix}"
    )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@page
async def cases_csv(request: Request, session: SignedIn) -> Response:
    """For Danish Excel."""
    return await _download(request, session, "excel")


@page
async def cases_data_csv(request: Request, session: SignedIn) -> Response:
    """For programs."""
    return await _download(request, session, "data")


@page
async def cases_json(request: Request, session: SignedIn) -> Response:
    """For programs."""
    return await _download(request, session, "json")
