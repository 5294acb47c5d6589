"""Rundbordsmøder on the page: convene, answer, record the plan, follow the actions.

Everything shown comes from ``hub.services.round_table`` (reads through the consent choke
point, audited); every change goes through its service functions, which write
through intake like any message and return once the change is stored.

It is over 400 lines because it holds the rundbordsmøde pages of the page: the convene
form, answers, the plan form and action updates, which share their form parsing and
error display.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hub import clock
from hub.domain.consent import PROPOSED_START_EXTENSION, SECTOR_ROLE_SYSTEM
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.round_table import (
    ACTION_STATUSES,
    CLOSED_MEETING,
    FINISHED_ACTION,
    RoundTableError,
    is_overdue,
    plan_of,
)
from hub.domain.summaries import DANISH_TIME
from hub.services.consent.read import Disclosure
from hub.services.intake import Rejected
from hub.services.round_table import (
    ActionRequest,
    ConveneRequest,
    ParticipantRequest,
    RoundTableView,
    convene,
    record_plan,
    respond,
    round_tables,
    update_action,
)
from web import labels
from web.coverage import meeting_coverage
from web.directory import (
    OrganisationNames,
    organisation_names,
    organisations,
    search_organisations,
)
from web.patient import expired, format_cpr, patient_cpr
from web.rendering import form_list, form_text, page, redirect, render, web_hub
from web.session import SignedIn

ACTION_ROWS = 3  # empty action rows the plan form offers
MESSAGES = {
    "indkaldt": "Rundbordsmødet er indkaldt. Deltagerne kan nu svare.",
    "svar": "Dit svar er registreret.",
    "plan": "Planen er registreret.",
    "handling": "Handlingen er opdateret.",
}


@dataclass(frozen=True)
class ParticipantLine:
    org: str
    name: str | None
    sector: str | None
    role: str | None
    required: bool
    response: str
    proposed_start: str | None
    consent_covers: bool | None  # None: not for this viewer to know


@dataclass(frozen=True)
class ActionLine:
    task_id: str
    description: str
    owner_org: str
    owner_name: str | None
    due: str | None
    status: str
    overdue: bool
    notes: list[str]
    may_update: bool


@dataclass(frozen=True)
class PlanBlock:
    goals: list[str]
    tovholder_org: str | None
    tovholder_name: str | None
    actions: list[ActionLine]
    versions: int


@dataclass(frozen=True)
class MeetingBlock:
    id: str
    status: str
    start: str | None
    minutes: int | None
    reason: str | None
    invitation_only: bool
    convener_org: str
    convener_name: str | None
    convener_sector: str
    participants: list[ParticipantLine]
    mine: ParticipantLine | None
    is_convener: bool
    may_plan: bool
    closed: bool
    plan: PlanBlock | None
    cpr: str | None


def _participant(
    entry: dict[str, Any], coverage: dict[str, bool] | None, names: OrganisationNames
) -> ParticipantLine:
    actor = entry.get("actor") or {}
    org = str((actor.get("identifier") or {}).get("value") or "")
    concept = (entry.get("type") or [{}])[0]
    sector = next(
        (
            c.get("code")
            for c in concept.get("coding") or []
            if c.get("system") == SECTOR_ROLE_SYSTEM
        ),
        None,
    )
    proposed = next(
        (
            e.get("valueDateTime")
            for e in entry.get("extension") or []
            if e.get("url") == PROPOSED_START_EXTENSION
        ),
        None,
    )
    return ParticipantLine(
        org=org,
        name=names.name(org, actor.get("display")),
        sector=sector,
        role=concept.get("text"),
        required=entry.get("required", "required") == "required",
        response=str(entry.get("status") or "needs-action"),
        proposed_start=proposed,
        consent_covers=coverage.get(org) if coverage is not None else None,
    )


def _action(
    disclosure: Disclosure,
    viewer_org: str,
    convener: str,
    tovholder: str | None,
    now: datetime,
    names: OrganisationNames,
) -> ActionLine:
    content = disclosure.content
    owner = content.get("owner") or {}
    owner_org = str((owner.get("identifier") or {}).get("value") or "")
    due = ((content.get("restriction") or {}).get("period") or {}).get("end")
    status = str(content.get("status") or "")
    return ActionLine(
        task_id=disclosure.stored.id,
        description=str(content.get("description") or ""),
        owner_org=owner_org,
        owner_name=names.name(owner_org, owner.get("display")),
        due=due,
        status=status,
        overdue=is_overdue(status, due, now),
        notes=[str(n.get("text") or "") for n in content.get("note") or []],
        may_update=viewer_org in (owner_org, convener, tovholder) and status not in FINISHED_ACTION,
    )


def meeting_block(
    view: RoundTableView, viewer_org: str, now: datetime, names: OrganisationNames
) -> MeetingBlock:
    """A meeting as the page shows it, organisations named by ``names``."""
    content = view.appointment.content
    participants = [
        _participant(p, view.coverage, names)
        for p in content.get("participant") or []
        if ((p.get("actor") or {}).get("identifier") or {}).get("system") == SOR_SYSTEM
    ]
    plan = None
    tovholder = None
    if view.plan is not None:
        goals, tovholder, tovholder_name = plan_of(view.plan.care_plan.content)
        plan = PlanBlock(
            goals=list(goals),
            tovholder_org=tovholder,
            tovholder_name=names.name(tovholder, tovholder_name),
            actions=[
                _action(a, viewer_org, view.convener_org, tovholder, now, names)
                for a in view.plan.actions
            ],
            versions=len(view.plan.history),
        )
    status = str(content.get("status") or "")
    convener = next((p for p in participants if p.org == view.convener_org), None)
    return MeetingBlock(
        id=view.appointment.stored.id,
        status=status,
        start=content.get("start"),
        minutes=content.get("minutesDuration"),
        reason=None if view.invitation_only else (content.get("reasonCode") or [{}])[0].get("text"),
        invitation_only=view.invitation_only,
        convener_org=view.convener_org,
        convener_name=convener.name if convener else names.name(view.convener_org),
        convener_sector=view.convener_sector,
        participants=participants,
        mine=next((p for p in participants if p.org == viewer_org), None),
        is_convener=viewer_org == view.convener_org,
        may_plan=not view.invitation_only and viewer_org in (view.convener_org, tovholder),
        closed=status in CLOSED_MEETING,
        plan=plan,
        cpr=view.cpr,
    )


def local_time(value: str) -> str | None:
    """A ``datetime-local`` form value (Danish time) as ISO 8601 with its offset."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RoundTableError(f"{value!r} er ikke et tidspunkt") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DANISH_TIME)
    return moment.isoformat()


async def _render(
    request: Request,
    session: SignedIn,
    cpr: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    message: str | None = None,
) -> Response:
    hub = web_hub(request)
    views = await round_tables(hub.engine, session.principal, cpr, policy=hub.policy)
    now = clock.now()
    candidates = await organisations(hub.engine)
    names = await organisation_names(hub.engine, candidates)
    meetings = [meeting_block(v, session.principal.org, now, names) for v in views]
    own = session.principal.org
    search_text = request.query_params.get("organisation", "").strip()
    found = [d for d in search_organisations(names.directory, search_text, now) if d.sor != own]
    # An organisation the search found is listed there, not twice.
    listed = {d.sor for d in found}
    directory = [d for d in candidates if d.sor != own and d.sor not in listed]
    return render(
        request,
        "rundbord.html",
        session.principal,
        status_code=status_code,
        tab="rundbord",
        ref=request.path_params["ref"],
        cpr=format_cpr(cpr),
        meetings=sorted(meetings, key=lambda m: (m.closed, m.start or "")),
        directory=directory,
        search_text=search_text,
        found=found,
        coverage=await meeting_coverage(
            hub.engine, session.principal, cpr, [*found, *directory], hub.policy
        ),
        sectors=labels.SECTORS,
        action_rows=ACTION_ROWS,
        action_statuses=ACTION_STATUSES,
        error=error,
        message=message,
    )


def _back(request: Request, message: str) -> Response:
    return redirect(request, f"/patient/{request.path_params['ref']}/rundbord?besked={message}")


@page
async def round_table_page(request: Request, session: SignedIn) -> Response:
    cpr = patient_cpr(request)
    if cpr is None:
        return expired(request, session)
    message = MESSAGES.get(request.query_params.get("besked", ""))
    return await _render(request, session, cpr, message=message)


def _invited(form: FormData) -> list[ParticipantRequest]:
    invited = []
    for value in form_list(form, "deltager"):
        sector, _, rest = value.partition("|")
        org, _, name = rest.partition("|")
        # A search result without a sector in the directory has its own sector field.
        sector = sector or form_text(form, f"sektor_{org}")
        if not sector:
            who = f"{name} (SOR {org})" if name else f"SOR {org}"
            raise RoundTableError(f"vælg sektoren for {who}")
        role = form_text(form, f"rolle_{org}") or None
        invited.append(ParticipantRequest(org=org, sector=sector, role=role, name=name or None))
    for index in (1, 2):
        org = form_text(form, f"ny_sor_{index}")
        if org:
            invited.append(
                ParticipantRequest(
                    org=org,
                    sector=form_text(form, f"ny_sektor_{index}"),
                    role=form_text(form, f"ny_rolle_{index}") or None,
                    name=form_text(form, f"ny_navn_{index}") or None,
                )
            )
    return invited


async def _carry_out(
    request: Request, session: SignedIn, cpr: str, message: str, change: Any
) -> Response:
    try:
        await change
    except (RoundTableError, Rejected) as error:
        return await _render(
            request, session, cpr, status_code=422, error=f"Det lykkedes ikke: {error}"
        )
    return _back(request, message)


@page
async def convene_meeting(request: Request, session: SignedIn) -> Response:
    cpr = patient_cpr(request)
    if cpr is None:
        return expired(request, session)
    form = await request.form()
    hub = web_hub(request)
    try:
        minutes = int(form_text(form, "varighed") or 60)
        the_request = ConveneRequest(
            cpr=cpr,
            reason=form_text(form, "aarsag"),
            participants=_invited(form),
            proposed_start=local_time(form_text(form, "tidspunkt")),
            minutes=minutes,
            role=form_text(form, "min_rolle") or None,
        )
    except (RoundTableError, ValueError) as error:
        return await _render(
            request, session, cpr, status_code=422, error=f"Det lykkedes ikke: {error}"
        )
    return await _carry_out(
        request,
        session,
        cpr,
        "indkaldt",
        convene(hub.engine, hub.intake, session.principal, the_request, policy=hub.policy),
    )


@page
async def answer(request: Request, session: SignedIn) -> Response:
    cpr = patient_cpr(request)
    if cpr is None:
        return expired(request, session)
    form = await request.form()
    hub = web_hub(request)
    response = form_text(form, "svar")
    try:
        proposed = (
            local_time(form_text(form, "andet_tidspunkt")) if response == "tentative" else None
        )
    except RoundTableError as error:
        return await _render(
            request, session, cpr, status_code=422, error=f"Det lykkedes ikke: {error}"
        )
    return await _carry_out(
        request,
        session,
        cpr,
        "svar",
        respond(
            hub.engine,
            hub.intake,
            session.principal,
            request.path_params["meeting"],
            response,
            proposed,
            policy=hub.policy,
        ),
    )


@page
async def plan(request: Request, session: SignedIn) -> Response:
    cpr = patient_cpr(request)
    if cpr is None:
        return expired(request, session)
    form = await request.form()
    hub = web_hub(request)
    goals = [line for line in form_text(form, "maal").splitlines() if line.strip()]
    descriptions = form.getlist("handling")
    owners = form.getlist("ansvarlig")
    dues = form.getlist("frist")
    actions = [
        ActionRequest(description=str(d).strip(), responsible_org=str(o), due=str(f) or None)
        for d, o, f in zip(descriptions, owners, dues, strict=False)
        if str(d).strip()
    ]
    return await _carry_out(
        request,
        session,
        cpr,
        "plan",
        record_plan(
            hub.engine,
            hub.intake,
            session.principal,
            request.path_params["meeting"],
            goals,
            actions,
            form_text(form, "tovholder"),
            policy=hub.policy,
        ),
    )


@page
async def change_action(request: Request, session: SignedIn) -> Response:
    cpr = patient_cpr(request)
    if cpr is None:
        return expired(request, session)
    form = await request.form()
    hub = web_hub(request)
    return await _carry_out(
        request,
        session,
        cpr,
        "handling",
        update_action(
            hub.engine,
            hub.intake,
            session.principal,
            request.path_params["task"],
            form_text(form, "status"),
            form_text(form, "note") or None,
            policy=hub.policy,
        ),
    )


@page
async def my_meetings(request: Request, session: SignedIn) -> Response:
    message = MESSAGES.get(request.query_params.get("besked", ""))
    return await _my_meetings(request, session, message=message)


async def _my_meetings(
    request: Request, session: SignedIn, *, error: str | None = None, message: str | None = None
) -> Response:
    hub = web_hub(request)
    views = await round_tables(hub.engine, session.principal, policy=hub.policy)
    now = clock.now()
    names = await organisation_names(hub.engine, await organisations(hub.engine))
    meetings = [
        (
            meeting_block(v, session.principal.org, now, names),
            hub.refs.of(v.cpr) if v.cpr else None,
        )
        for v in views
    ]
    return render(
        request,
        "mine_moeder.html",
        session.principal,
        status_code=422 if error else 200,
        meetings=meetings,
        error=error,
        message=message,
    )


@page
async def answer_invitation(request: Request, session: SignedIn) -> Response:
    """An answer from the list of one's meetings: also for an invitation, which names
    no patient to open."""
    form = await request.form()
    hub = web_hub(request)
    response = form_text(form, "svar")
    try:
        proposed = (
            local_time(form_text(form, "andet_tidspunkt")) if response == "tentative" else None
        )
        await respond(
            hub.engine,
            hub.intake,
            session.principal,
            request.path_params["meeting"],
            response,
            proposed,
            policy=hub.policy,
        )
    except (RoundTableError, Rejected) as error:
        return await _my_meetings(request, session, error=f"Det lykkedes ikke: {error}")
    return redirect(request, "/rundbord?besked=svar")
