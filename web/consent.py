"""The consent overview (what is shared with whom, until when) and the consent form.

Consents are read like any pathway entry (``hub.services.pathway.read_pathway``, through the
consent choke point, audited) and recorded or revoked through ``hub.services.consent.record`` —
the same path as ``recordConsent``/``revokeConsent`` in GraphQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub import clock
from hub.domain.consent import (
    PSYCHIATRY_LABEL,
    RELATIVES_CLASS,
    SECTOR_ROLE_SYSTEM,
)
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.summaries import DANISH_TIME, party_display, sor_code
from hub.services.consent.read import Disclosure
from hub.services.consent.record import (
    CONSENT_IDENTIFIER_SYSTEM,
    ConsentError,
    ConsentRequest,
    record_consent,
    revoke_consent,
)
from hub.services.intake import Rejected
from hub.services.pathway import PATHWAY_TYPES, PathwayFilter, read_pathway
from web import labels, refusals
from web.dates import danish, form_date
from web.directory import (
    OrganisationNames,
    organisation_names,
    organisations,
    unknown_organisations,
)
from web.forms import Kept
from web.patient import patient_page, render_patient_tab
from web.rendering import form_list, form_text, redirect, web_hub
from web.session import SignedIn

MESSAGES = {
    "registreret": "Samtykket er registreret og gælder fra {fra}.",
    "frabedt": (
        "Frabedelsen er registreret og gælder fra {fra}: det, den omfatter, deles ikke med "
        "de valgte."
    ),
    "tilbagekaldt": "Samtykket er tilbagekaldt og gælder ikke længere.",
}


def confirmation(message: str, start: str) -> str | None:
    """The confirmation of ``message`` (a MESSAGES key), from the day it applies."""
    text = MESSAGES.get(message)
    if text is None:
        return None
    try:
        day = form_date(start)
    except ValueError:
        day = None
    today = clock.now().astimezone(DANISH_TIME).date()
    return text.format(fra=danish(day) if day is not None and day > today else "nu")


@dataclass(frozen=True)
class ConsentLine:
    """One consent or refusal, as the viewer may see it."""

    permit: bool
    active: bool
    recorded: str | None
    recorded_by_org: str | None  # the recording organisation's SOR code
    recorded_by_name: str | None  # its name, when known
    recorded_by_sector: str
    organisations: list[tuple[str, str | None]]  # SOR code, name when known
    sectors: list[str]
    purposes: list[str]
    data: list[str]
    period_start: str | None
    period_end: str | None
    data_start: str | None
    data_end: str | None
    exceptions: int
    revoke_key: str | None  # set when the viewer's organisation may revoke it


def consent_line(disclosure: Disclosure, viewer_org: str, names: OrganisationNames) -> ConsentLine:
    content = disclosure.content
    provision: dict[str, Any] = content.get("provision") or {}
    orgs: list[tuple[str, str | None]] = []
    sectors: list[str] = []
    for actor in provision.get("actor") or []:
        reference = actor.get("reference") or {}
        identifier = reference.get("identifier") or {}
        if identifier.get("system") == SOR_SYSTEM and identifier.get("value"):
            org = str(identifier["value"])
            orgs.append((org, names.name(org, reference.get("display"))))
        for coding in (actor.get("role") or {}).get("coding") or []:
            if coding.get("system") == SECTOR_ROLE_SYSTEM and coding.get("code"):
                sectors.append(labels.sector(str(coding["code"])))
    data = [
        "pårørende"
        if c.get("code") == RELATIVES_CLASS
        else labels.resource_type(str(c.get("code")))
        for c in provision.get("class") or []
        if c.get("code")
    ]
    if any(c.get("code") == PSYCHIATRY_LABEL for c in provision.get("securityLabel") or []):
        data.append("psykiatridata")
    period = provision.get("period") or {}
    data_period = provision.get("dataPeriod") or {}
    key = next(
        (
            str(i["value"])
            for i in content.get("identifier") or []
            if i.get("system") == CONSENT_IDENTIFIER_SYSTEM and i.get("value")
        ),
        None,
    )
    active = content.get("status") == "active"
    own = disclosure.stored.org == viewer_org  # only its recorder (or the patient) revokes it
    recorder = next(iter(content.get("organization") or []), None)
    # The organisation the consent names as its recorder, else the one that stored it.
    given = party_display(recorder)
    recorder_org = sor_code(recorder) or (None if given else disclosure.stored.org)
    return ConsentLine(
        permit=provision.get("type") != "deny",
        active=active,
        recorded=content.get("dateTime"),
        recorded_by_org=recorder_org,
        recorded_by_name=names.name(recorder_org, given),
        recorded_by_sector=disclosure.stored.sector,
        organisations=orgs,
        sectors=sectors,
        purposes=[
            labels.PURPOSES.get(str(p.get("code")), str(p.get("code")))
            for p in provision.get("purpose") or []
        ],
        data=data,
        period_start=period.get("start"),
        period_end=period.get("end"),
        data_start=data_period.get("start"),
        data_end=data_period.get("end"),
        exceptions=len(provision.get("provision") or []),
        revoke_key=key if (own and active) else None,
    )


async def _render(
    request: Request,
    session: SignedIn,
    cpr: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    message: str | None = None,
    kept: Kept | None = None,
) -> Response:
    hub = web_hub(request)
    view = await read_pathway(
        hub.units,
        session.principal,
        cpr,
        where=PathwayFilter.of(resource_types=["Consent"]),
        policy=hub.policy,
    )
    directory = await organisations(hub.units)
    names = await organisation_names(hub.units, directory)
    lines = [consent_line(d, session.principal.org, names) for d in view.entries]
    return render_patient_tab(
        request,
        "samtykke.html",
        session,
        cpr,
        "samtykke",
        status_code=status_code,
        consents=sorted(lines, key=lambda c: (not c.active, c.recorded or ""), reverse=False),
        directory=directory,
        sectors=labels.SECTORS,
        purposes=labels.PURPOSES,
        data_types=[(t, labels.resource_type(t)) for t in PATHWAY_TYPES if t != "Consent"],
        error=error,
        message=message,
        kept=kept,
    )


@patient_page
async def consent_page(request: Request, session: SignedIn, cpr: str) -> Response:
    params = request.query_params
    message = confirmation(params.get("besked", ""), params.get("fra", ""))
    return await _render(request, session, cpr, message=message)


@patient_page
async def record(request: Request, session: SignedIn, cpr: str) -> Response:
    form = await request.form()
    kept = Kept.sent(request, form)

    async def refused(error: str) -> Response:
        return await _render(request, session, cpr, status_code=422, error=error, kept=kept)

    extra = [o.strip() for o in form_text(form, "andre_sor").replace(";", ",").split(",")]
    orgs = list(dict.fromkeys([*form_list(form, "organisation"), *(o for o in extra if o)]))
    sectors = form_list(form, "sektor")
    decision = form_text(form, "beslutning")
    if not orgs and not sectors:
        return await refused(
            "Vælg mindst én organisation eller sektor, samtykket eller frabedelsen gælder."
        )
    hub = web_hub(request)
    unknown = await unknown_organisations(hub.units, session.principal, extra)
    if unknown:
        return await refused(
            f"Organisationsregistret kender ikke SOR-koden {', '.join(unknown)}. Vælg "
            "organisationen på listen, eller skriv SOR-koden fra registret."
            if len(unknown) == 1
            else f"Organisationsregistret kender ikke SOR-koderne {', '.join(unknown)}. Vælg "
            "organisationerne på listen, eller skriv SOR-koderne fra registret."
        )
    try:
        start, end = form_date(form_text(form, "fra")), form_date(form_text(form, "til"))
    except ValueError:
        return await refused("En dato kunne ikke læses. Skriv datoen som dd.mm.åååå.")
    request_ = ConsentRequest(
        cpr=cpr,
        decision=decision,
        organisations=orgs,
        sectors=sectors,
        purposes=form_list(form, "formaal"),
        resource_types=form_list(form, "data"),
        psychiatry=form_text(form, "psykiatri") == "ja",
        relatives=form_text(form, "paaroerende") == "ja",
        start=start.isoformat() if start else None,
        end=end.isoformat() if end else None,
    )
    try:
        await record_consent(hub.units, hub.intake, session.principal, request_)
    except (ConsentError, Rejected) as error:
        what = "Frabedelsen" if decision == "deny" else "Samtykket"
        return await refused(
            f"{what} blev ikke registreret. {refusals.in_danish(error, refusals.CONSENT)}"
        )
    message = "frabedt" if decision == "deny" else "registreret"
    applies = f"&fra={start.isoformat()}" if start else ""
    return redirect(
        request, f"/patient/{request.path_params['ref']}/samtykke?besked={message}{applies}"
    )


@patient_page
async def revoke(request: Request, session: SignedIn, cpr: str) -> Response:
    form = await request.form()
    hub = web_hub(request)
    try:
        await revoke_consent(
            hub.units, hub.intake, session.principal, cpr, form_text(form, "noegle")
        )
    except (ConsentError, Rejected) as error:
        return await _render(
            request,
            session,
            cpr,
            status_code=422,
            error=(
                f"Samtykket blev ikke tilbagekaldt. {refusals.in_danish(error, refusals.CONSENT)}"
            ),
        )
    return redirect(request, f"/patient/{request.path_params['ref']}/samtykke?besked=tilbagekaldt")
