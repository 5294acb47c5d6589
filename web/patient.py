"""Finding a patient, and the patient's status panel and cross-sector timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.summaries import DANISH_TIME, summarise
from hub.domain.timeline import timeline_fields
from hub.services.consent.read import Disclosure
from hub.services.offers import ReferralOffers, referral_offers
from hub.services.pathway import PATHWAY_TYPES, PathwayFilter, PathwayQueryError, read_pathway
from hub.services.pathway_status import read_pathway_status
from web import labels
from web.cpr_input import parse_patient
from web.directory import OrganisationNames, organisation_names, organisations
from web.rendering import form_text, page, redirect, render, web_hub
from web.session import SignedIn
from web.worklist import MESSAGES as worklist_messages
from web.worklist import worklist

PAGE_SIZE = 50


@dataclass(frozen=True)
class TimelineEntry:
    sector: str
    resource_type: str
    summary: str
    start: str | None
    end: str | None
    status: str | None


def timeline_entry(
    disclosure: Disclosure, names: OrganisationNames, offers: ReferralOffers | None = None
) -> TimelineEntry:
    """An entry as the viewer may see it: from the disclosed content only, with the
    organisations its summary names by SOR code named from the directory, and the offer
    a referral names by the offer's name."""
    fields = timeline_fields(disclosure.content)
    named = offers.named(disclosure.content, disclosure.stored.org)[0] if offers else None
    return TimelineEntry(
        sector=disclosure.stored.sector,
        resource_type=disclosure.stored.resource_type,
        summary=names.in_text(summarise(named or disclosure.content)),
        start=fields.start,
        end=fields.end,
        status=fields.status,
    )


def patient_name(patient: Disclosure | None) -> str | None:
    if patient is None:
        return None
    for name in patient.content.get("name") or []:
        text = name.get("text") or " ".join([*(name.get("given") or []), name.get("family") or ""])
        if text.strip():
            return str(text).strip()
    return None


def format_cpr(cpr: str) -> str:
    return f"{cpr[:6]}-{cpr[6:]}"


def number_shown(patient: str) -> tuple[str, str]:
    """How the page names the patient's number: its label and the number itself."""
    if "|" in patient:
        return "erstatningspersonnummer", patient.partition("|")[2]
    return "CPR", format_cpr(patient)


@page
async def home(request: Request, session: SignedIn) -> Response:
    message = worklist_messages.get(request.query_params.get("besked", ""))
    rows = await worklist(request, session.principal)
    return render(request, "forside.html", session.principal, rows=rows, message=message)


@page
async def search(request: Request, session: SignedIn) -> Response:
    form = await request.form()
    # Any valid number leads to the patient's page: an unknown patient and one the user
    # may not see look the same there (nothing to see), never "no such patient".
    typed = parse_patient(form_text(form, "cpr"), form_text(form, "nummertype"))
    if typed.cpr is None:
        return render(
            request,
            "forside.html",
            session.principal,
            status_code=422,
            error=typed.message,
            cpr_value=form_text(form, "cpr"),
            kind_value=form_text(form, "nummertype"),
            rows=await worklist(request, session.principal),
        )
    return redirect(request, f"/patient/{web_hub(request).refs.of(typed.cpr)}")


def patient_cpr(request: Request) -> str | None:
    """The patient the address's reference names: a CPR number, or a replacement number
    (erstatningspersonnummer) as ``<system>|<value>``; None when it is no longer valid."""
    return web_hub(request).refs.patient(request.path_params["ref"])


def expired(request: Request, session: SignedIn) -> Response:
    return render(
        request,
        "forside.html",
        session.principal,
        status_code=404,
        error="Linket til patienten er udløbet. Søg patienten frem igen.",
    )


def render_patient_tab(
    request: Request,
    template: str,
    session: SignedIn,
    cpr: str,
    tab: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """One of the patient's tabs: the patient's reference and number, then ``context``."""
    number_label, number = number_shown(cpr)
    return render(
        request,
        template,
        session.principal,
        status_code=status_code,
        tab=tab,
        ref=request.path_params["ref"],
        cpr=number,
        number_label=number_label,
        **context,
    )


def patient_page(
    handler: Callable[[Request, SignedIn, str], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A ``page`` about the patient the address's reference names, given to ``handler``
    as ``patient_cpr`` tells it; a reference no longer valid shows ``expired`` instead."""

    @page
    async def endpoint(request: Request, session: SignedIn) -> Response:
        cpr = patient_cpr(request)
        if cpr is None:
            return expired(request, session)
        return await handler(request, session, cpr)

    return endpoint


def _day(value: str, *, end: bool) -> datetime | None:
    if not value:
        return None
    day = date.fromisoformat(value)
    if end:
        return datetime.combine(day + timedelta(days=1), time(), DANISH_TIME) - timedelta(
            microseconds=1
        )
    return datetime.combine(day, time(), DANISH_TIME)


@patient_page
async def patient(request: Request, session: SignedIn, cpr: str) -> Response:
    hub = web_hub(request)
    params = request.query_params
    chosen_sectors = [s for s in params.getlist("sektor") if s]
    chosen_types = [t for t in params.getlist("type") if t]
    error = None
    try:
        where = PathwayFilter.of(
            resource_types=chosen_types or None,
            sectors=chosen_sectors or None,
            period_from=_day(params.get("fra", ""), end=False),
            period_to=_day(params.get("til", ""), end=True),
        )
    except (PathwayQueryError, ValueError):
        where = PathwayFilter()
        error = "Filteret kunne ikke bruges: fra-datoen skal ligge før til-datoen."
    after = params.get("efter") or None
    try:
        view = await read_pathway(
            hub.units,
            session.principal,
            cpr,
            PAGE_SIZE,
            after=after,
            where=where,
            policy=hub.policy,
        )
    except PathwayQueryError:
        view = await read_pathway(
            hub.units, session.principal, cpr, PAGE_SIZE, where=where, policy=hub.policy
        )
    status = await read_pathway_status(hub.units, session.principal, cpr, policy=hub.policy)
    names = await organisation_names(hub.units, await organisations(hub.units))
    offers = await referral_offers(hub.units, [e.content for e in view.entries])
    filters = [("sektor", s) for s in chosen_sectors] + [("type", t) for t in chosen_types]
    filters += [(k, params[k]) for k in ("fra", "til") if params.get(k)]
    return render_patient_tab(
        request,
        "patient.html",
        session,
        cpr,
        "forloeb",
        name=patient_name(view.patient),
        status=status.status,
        entries=[timeline_entry(e, names, offers) for e in view.entries],
        names=names,
        has_more=view.has_more,
        end_cursor=view.end_cursor,
        filters=filters,
        chosen_sectors=chosen_sectors,
        chosen_types=chosen_types,
        period_from=params.get("fra", ""),
        period_to=params.get("til", ""),
        pathway_types=PATHWAY_TYPES,
        sectors=labels.SECTORS,
        error=error,
    )
