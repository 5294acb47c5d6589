"""Rundbordsmøder on the page: convene, answer, move, cancel, hold, record the plan
and the sikkerhedsplan (the same address, with ``slags=sikkerhedsplan``), follow the actions.

Everything shown comes from ``hub.services.round_table`` (reads through the consent choke
point, audited); every change goes through its service functions, which write
through intake like any message and return once the change is stored.

It is over 400 lines because it holds the rundbordsmøde pages of the page: the convene
form, answers, the convener's controls, the plan form and action updates, which share
their form parsing and error display.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hub import clock
from hub.domain.pathway_codes import SAFETY_PLAN
from hub.domain.round_table import (
    ACTION_STATUSES,
    CLOSED_MEETING,
    FINISHED_ACTION,
    Meeting,
    Participation,
    Relative,
    RoundTableError,
    is_overdue,
    may_plan,
    meeting_of,
    participations,
    plan_of,
)
from hub.domain.safety_plan import (
    CONTACTS,
    COPING,
    PEOPLE_AND_PLACES,
    SECTION_TITLES,
    SECTIONS,
    WARNING_SIGNS,
    safety_plan_of,
)
from hub.domain.summaries import danish_time
from hub.services.auth import Principal
from hub.services.consent.read import Disclosure
from hub.services.intake import IntakeService, Rejected
from hub.services.patient_keys import named_of
from hub.services.round_table import (
    ActionRequest,
    ConveneRequest,
    ParticipantRequest,
    RoundTableView,
    SafetyPlanRequest,
    cancel,
    convene,
    mark_held,
    move_to_proposal,
    record_plan,
    record_safety_plan,
    respond,
    round_tables,
    set_place,
    update_action,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork
from web import labels, refusals
from web.coverage import meeting_coverage
from web.dates import form_date, form_time
from web.directory import (
    DirectoryEntry,
    OrganisationNames,
    organisation_names,
    organisations,
    search_organisations,
    unknown_organisations,
)
from web.forms import Kept
from web.patient import number_shown, patient_page, render_patient_tab
from web.rendering import form_list, form_text, page, redirect, render, web_hub
from web.session import SignedIn

P = ParamSpec("P")
ACTION_ROWS = 3  # empty action rows the plan form offers
MAX_NEW_ROWS = 30  # rows for organisations by SOR code (MAX_PARTICIPANTS in all)
# A note the hub writes when an action changes: "<status>, by <sector> <org>[: text]".
_NOTE = re.compile(
    r"^(?P<status>[a-z-]+), by (?P<sector>[a-z]+) (?P<org>\S+?)(?:: (?P<text>.*))?$", re.S
)
MESSAGES = {
    "indkaldt": "Rundbordsmødet er indkaldt. Deltagerne kan nu svare.",
    "svar": "Dit svar er registreret.",
    "plan": "Planen er registreret.",
    "sikkerhedsplan": "Sikkerhedsplanen er registreret.",
    "handling": "Handlingen er opdateret.",
    "flyttet": "Mødet er flyttet. Deltagerne er underrettet.",
    "aflyst": "Mødet er aflyst. Deltagerne er underrettet.",
    "afholdt": "Mødet er registreret som afholdt med referat. Deltagerne er underrettet.",
    "sted": "Mødested og videolink er gemt. Deltagerne er underrettet.",
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
    attended: bool | None = None  # once held


@dataclass(frozen=True)
class ActionLine:
    task_id: str
    description: str
    owner_org: str
    owner_name: str | None
    due: str | None
    status: str
    overdue: bool
    notes: list[str]  # in Danish
    may_update: bool


@dataclass(frozen=True)
class PlanBlock:
    goals: list[str]
    tovholder_org: str | None
    tovholder_name: str | None
    actions: list[ActionLine]
    versions: int

    @property
    def current(self) -> int:
        """The actions not cancelled (what the plan still asks for)."""
        return sum(1 for a in self.actions if a.status not in ("cancelled", "entered-in-error"))


@dataclass(frozen=True)
class SafetyPlanBlock:
    """The meeting's sikkerhedsplan: its sections (code, Danish heading, entries) in order."""

    sections: list[tuple[str, str, list[str]]]
    reviews: list[str]  # ISO dates
    tovholder_org: str
    tovholder_name: str | None
    versions: int

    def entries(self, code: str) -> list[str]:
        return next((entries for c, _, entries in self.sections if c == code), [])


def _safety_plan(disclosure: Disclosure, names: OrganisationNames) -> SafetyPlanBlock:
    plan = safety_plan_of(disclosure.content)
    return SafetyPlanBlock(
        sections=[(code, SECTION_TITLES[code], list(e)) for code, e in plan.sections()],
        reviews=list(plan.reviews),
        tovholder_org=plan.tovholder,
        tovholder_name=names.name(plan.tovholder, plan.tovholder_name),
        versions=disclosure.stored.version_id,
    )


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
    may_plan: bool  # the meeting's plan: the convener, or its tovholder (``may_plan``)
    closed: bool
    plan: PlanBlock | None
    cpr: str | None
    place: str | None = None
    video_link: str | None = None
    relatives: tuple[Relative, ...] = ()
    cancel_reason: str | None = None
    referat: str | None = None
    safety_plan: SafetyPlanBlock | None = None
    may_plan_safety: bool = False  # the convener, or the plan's or the safety plan's tovholder

    @property
    def safety_sections(self) -> tuple[tuple[str, str], ...]:
        """The safety plan's text sections (code, Danish heading), for its form."""
        return SECTIONS


def _participant(
    entry: Participation, coverage: dict[str, bool] | None, names: OrganisationNames
) -> ParticipantLine:
    return ParticipantLine(
        org=entry.org,
        name=names.name(entry.org, entry.display),
        sector=entry.sector,
        role=entry.role,
        required=entry.required,
        response=str(entry.status or "needs-action"),
        proposed_start=entry.proposed_start,
        consent_covers=coverage.get(entry.org) if coverage is not None else None,
        attended=entry.attended,
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
        notes=[_note(n, names) for n in content.get("note") or []],
        may_update=viewer_org in (owner_org, convener, tovholder) and status not in FINISHED_ACTION,
    )


def _note(note: dict[str, Any], names: OrganisationNames) -> str:
    """An action's note in Danish: who changed it to what, when, and what they wrote."""
    text = str(note.get("text") or "")
    when = danish_time(note.get("time"))
    found = _NOTE.match(text)
    if found is None:
        return f"{when}: {text}" if when else text
    status = labels.ACTION_STATUSES.get(found["status"], found["status"])
    who = f"{labels.sector(found['sector'])}, {names.label(found['org'])}"
    line = f"{status} ({who})"
    if found["text"]:
        line += f": {found['text']}"
    return f"{when}: {line}" if when else line


def meeting_block(
    view: RoundTableView, viewer_org: str, now: datetime, names: OrganisationNames
) -> MeetingBlock:
    """A meeting as the page shows it, organisations named by ``names``."""
    content = view.appointment.content
    participants = [_participant(p, view.coverage, names) for p in participations(content)]
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
    safety = _safety_plan(view.safety_plan, names) if view.safety_plan is not None else None
    status = str(content.get("status") or "")
    convener = next((p for p in participants if p.org == view.convener_org), None)
    details = _details(content, named_of(view.patient_key) if view.patient_key else None)
    # Each plan's form only to those the service lets write it; an invitation, or a
    # meeting not convened through the hub, offers neither.
    planned = None if view.invitation_only else details
    safety_tovholders = (tovholder, safety.tovholder_org if safety else None)
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
        may_plan=planned is not None and may_plan(planned, tovholder, viewer_org),
        closed=status in CLOSED_MEETING,
        plan=plan,
        cpr=view.cpr,
        place=details.place if details else None,
        video_link=details.video_link if details else None,
        relatives=details.relatives if details else (),
        cancel_reason=details.cancel_reason if details else None,
        referat=details.referat if details else None,
        safety_plan=safety,
        may_plan_safety=planned is not None
        and any(may_plan(planned, t, viewer_org) for t in safety_tovholders),
    )


def _details(content: dict[str, Any], cpr: str | None) -> Meeting | None:
    """Place, link, relatives, cancel reason and referat, as far as the viewer is shown
    them (an invitation shows none of them)."""
    if cpr is None:
        return None
    try:
        return meeting_of(content, cpr)
    except RoundTableError:  # not convened through the hub
        return None


def local_time(value: str) -> str | None:
    """A ``datetime-local`` form value (Danish time) as ISO 8601 with its offset."""
    try:
        moment = form_time(value)
    except ValueError:
        raise RoundTableError(f"{value!r} is not a time", "bad-time") from None
    return moment.isoformat() if moment is not None else None


def danish_refusal(error: Exception, names: OrganisationNames | None = None) -> str:
    """A round-table refusal as the page says it."""
    return "Det lykkedes ikke. " + refusals.in_danish(
        error, refusals.ROUND_TABLE, name_of=names.label if names else None
    )


@dataclass(frozen=True)
class ConveneForm:
    """What the convene form shows besides the typed values."""

    search_text: str
    new_rows: int  # rows for organisations by SOR code


async def _render(
    request: Request,
    session: SignedIn,
    cpr: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    message: str | None = None,
    kept: Kept | None = None,
    convene_form: ConveneForm | None = None,
) -> Response:
    hub = web_hub(request)
    views = await round_tables(hub.units, session.principal, cpr, policy=hub.policy)
    now = clock.now()
    candidates = await organisations(hub.units)
    names = await organisation_names(hub.units, candidates)
    meetings = [meeting_block(v, session.principal.org, now, names) for v in views]
    own = session.principal.org
    shown = convene_form or ConveneForm(request.query_params.get("organisation", "").strip(), 1)
    search_text = shown.search_text
    found = [d for d in search_organisations(names.directory, search_text, now) if d.sor != own]
    # An organisation the search found is listed there, not twice.
    listed = {d.sor for d in found}
    directory = [d for d in candidates if d.sor != own and d.sor not in listed]
    listed |= {d.sor for d in directory}
    # Chosen before (in an earlier search): still chosen, wherever the search is now.
    chosen = [
        entry
        for entry in (_chosen_entry(v) for v in (kept.all("deltager") if kept else ()))
        if entry is not None and entry.sor not in listed
    ]
    return render_patient_tab(
        request,
        "rundbord.html",
        session,
        cpr,
        "rundbord",
        status_code=status_code,
        meetings=sorted(meetings, key=lambda m: (m.closed, m.start or "")),
        directory=directory,
        search_text=search_text,
        found=found,
        chosen=chosen,
        new_rows=shown.new_rows,
        coverage=await meeting_coverage(
            hub.units, session.principal, cpr, [*found, *directory, *chosen], hub.policy
        ),
        sectors=labels.SECTORS,
        action_rows=ACTION_ROWS,
        action_statuses=ACTION_STATUSES,
        error=error,
        message=message,
        kept=kept,
    )


def _chosen_entry(value: str) -> DirectoryEntry | None:
    sector, _, rest = value.partition("|")
    org, _, name = rest.partition("|")
    return DirectoryEntry(org, name or f"SOR {org}", sector) if org else None


def _back(request: Request, message: str) -> Response:
    return redirect(request, f"/patient/{request.path_params['ref']}/rundbord?besked={message}")


@patient_page
async def round_table_page(request: Request, session: SignedIn, cpr: str) -> Response:
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
            raise RoundTableError(f"vælg sektoren for {who}", "sector-missing", orgs=[org])
        role = form_text(form, f"rolle_{org}") or None
        invited.append(ParticipantRequest(org=org, sector=sector, role=role, name=name or None))
    rows = zip(
        _row_values(form, "ny_sor"),
        _row_values(form, "ny_navn"),
        _row_values(form, "ny_sektor"),
        _row_values(form, "ny_rolle"),
        strict=False,
    )
    for org, name, sector, role in rows:
        if org:
            invited.append(
                ParticipantRequest(org=org, sector=sector, role=role or None, name=name or None)
            )
    return invited


def _row_values(form: FormData, name: str) -> list[str]:
    """A repeated field's values, one per row, empty ones included (rows line up)."""
    return [str(v).strip() for v in form.getlist(name)][:MAX_NEW_ROWS]


async def _carry_out(
    request: Request,
    session: SignedIn,
    cpr: str,
    message: str,
    kept: Kept,
    change: Callable[
        Concatenate[UnitOfWorkFactory[UnitOfWork], IntakeService, Principal, P], Awaitable[object]
    ],
    *args: P.args,
    **kwargs: P.kwargs,
) -> Response:
    """Make the ``change`` (a round-table service) as the signed-in user, then go back to
    the page saying ``message``; refused, the page again with the form as typed."""
    hub = web_hub(request)
    try:
        await change(hub.units, hub.intake, session.principal, *args, **kwargs)
    except (RoundTableError, Rejected) as error:
        names = await organisation_names(web_hub(request).units)
        return await _render(
            request,
            session,
            cpr,
            status_code=422,
            error=danish_refusal(error, names),
            kept=kept,
            convene_form=_convene_form(kept) if kept and message == "indkaldt" else None,
        )
    return _back(request, message)


async def _refused(
    request: Request, session: SignedIn, cpr: str, error: RoundTableError, kept: Kept
) -> Response:
    """The page again, with the refusal of what was typed and the form as typed."""
    return await _render(
        request, session, cpr, status_code=422, error=danish_refusal(error), kept=kept
    )


def _convene_form(kept: Kept, more_rows: int = 0) -> ConveneForm:
    rows = max(len(kept.all("ny_sor")), 1) + more_rows
    return ConveneForm(kept.text("organisation").strip(), min(rows, MAX_NEW_ROWS))


@patient_page
async def convene_meeting(request: Request, session: SignedIn, cpr: str) -> Response:
    form = await request.form()
    kept = Kept.sent(request, form)
    hub = web_hub(request)
    step = form_text(form, "handling")
    if step in ("soeg", "flere"):
        # Searching the directory or adding a row: the form again, as typed.
        more = 1 if step == "flere" else 0
        return await _render(
            request, session, cpr, kept=kept, convene_form=_convene_form(kept, more)
        )

    async def refused(error: str) -> Response:
        return await _render(
            request,
            session,
            cpr,
            status_code=422,
            error=error,
            kept=kept,
            convene_form=_convene_form(kept),
        )

    names = await organisation_names(hub.units)
    try:
        minutes_text = form_text(form, "varighed") or "60"
        if not minutes_text.isdigit():
            raise RoundTableError("duration is not a number", "bad-duration")
        invited = _invited(form)
        the_request = ConveneRequest(
            cpr=cpr,
            reason=form_text(form, "aarsag"),
            participants=invited,
            proposed_start=local_time(form_text(form, "tidspunkt")),
            minutes=int(minutes_text),
            role=form_text(form, "min_rolle") or None,
            place=form_text(form, "sted") or None,
            video_link=form_text(form, "videolink") or None,
        )
    except RoundTableError as error:
        return await refused(danish_refusal(error, names))
    typed = [p.org for p in invited if p.org in _row_values(form, "ny_sor")]
    unknown = await unknown_organisations(hub.units, session.principal, typed)
    if unknown:
        return await refused(
            "Det lykkedes ikke. Organisationsregistret kender ikke SOR-koden "
            f"{', '.join(unknown)}. Søg organisationen frem ved navn, eller ret SOR-koden."
        )
    return await _carry_out(
        request, session, cpr, "indkaldt", kept, convene, the_request, policy=hub.policy
    )


def _proposed_start(form: FormData, response: str) -> str | None:
    """The other time an answer proposes: only a tentative answer proposes one."""
    return local_time(form_text(form, "andet_tidspunkt")) if response == "tentative" else None


@patient_page
async def answer(request: Request, session: SignedIn, cpr: str) -> Response:
    form = await request.form()
    kept = Kept.sent(request, form)
    hub = web_hub(request)
    response = form_text(form, "svar")
    try:
        proposed = _proposed_start(form, response)
    except RoundTableError as error:
        return await _refused(request, session, cpr, error, kept)
    meeting = request.path_params["meeting"]
    return await _carry_out(
        request, session, cpr, "svar", kept, respond, meeting, response, proposed, policy=hub.policy
    )


@patient_page
async def plan(request: Request, session: SignedIn, cpr: str) -> Response:
    form = await request.form()
    kept = Kept.sent(request, form)
    hub = web_hub(request)
    if form_text(form, "slags") == SAFETY_PLAN.code:
        return await _safety_plan_form(request, session, cpr, form, kept)
    goals = [line for line in form_text(form, "maal").splitlines() if line.strip()]
    descriptions = form.getlist("handling")
    owners = form.getlist("ansvarlig")
    dues = form.getlist("frist")
    actions = []
    try:
        for d, o, f in zip(descriptions, owners, dues, strict=False):
            if not str(d).strip():
                continue
            due = form_date(str(f))
            if due is None:
                raise RoundTableError("every action needs a due date", "action-due-missing")
            actions.append(
                ActionRequest(
                    description=str(d).strip(), responsible_org=str(o), due=due.isoformat()
                )
            )
    except ValueError as error:
        if not isinstance(error, RoundTableError):
            error = RoundTableError("a due date is not a date", "bad-due")
        return await _refused(request, session, cpr, error, kept)
    tovholder = form_text(form, "tovholder")
    meeting = request.path_params["meeting"]
    return await _carry_out(
        request,
        session,
        cpr,
        "plan",
        kept,
        record_plan,
        meeting,
        goals,
        actions,
        tovholder,
        policy=hub.policy,
    )


def _lines(form: FormData, name: str) -> list[str]:
    return [line for line in form_text(form, name).splitlines() if line.strip()]


async def _safety_plan_form(
    request: Request, session: SignedIn, cpr: str, form: FormData, kept: Kept
) -> Response:
    """The safety-plan form, sent to the plan's address with ``slags=sikkerhedsplan``."""
    hub = web_hub(request)
    try:
        reviews = [d.isoformat() for v in form.getlist("opfoelgning") if (d := form_date(str(v)))]
    except ValueError:
        error = RoundTableError("a review date is not a date", "bad-review-date")
        return await _refused(request, session, cpr, error, kept)
    safety_plan = SafetyPlanRequest(
        warning_signs=_lines(form, WARNING_SIGNS),
        coping=_lines(form, COPING),
        people_and_places=_lines(form, PEOPLE_AND_PLACES),
        contacts=_lines(form, CONTACTS),
        tovholder=form_text(form, "tovholder"),
        reviews=reviews,
    )
    meeting = request.path_params["meeting"]
    return await _carry_out(
        request,
        session,
        cpr,
        "sikkerhedsplan",
        kept,
        record_safety_plan,
        meeting,
        safety_plan,
        policy=hub.policy,
    )


@patient_page
async def change_action(request: Request, session: SignedIn, cpr: str) -> Response:
    form = await request.form()
    hub = web_hub(request)
    task = request.path_params["task"]
    status, note = form_text(form, "status"), form_text(form, "note") or None
    kept = Kept.sent(request, form)
    return await _carry_out(
        request,
        session,
        cpr,
        "handling",
        kept,
        update_action,
        task,
        status,
        note,
        policy=hub.policy,
    )


@page
async def my_meetings(request: Request, session: SignedIn) -> Response:
    message = MESSAGES.get(request.query_params.get("besked", ""))
    return await _my_meetings(request, session, message=message)


async def _my_meetings(
    request: Request,
    session: SignedIn,
    *,
    error: str | None = None,
    message: str | None = None,
    kept: Kept | None = None,
) -> Response:
    hub = web_hub(request)
    views = await round_tables(hub.units, session.principal, policy=hub.policy)
    now = clock.now()
    names = await organisation_names(hub.units, await organisations(hub.units))
    meetings = [
        (
            meeting_block(v, session.principal.org, now, names),
            hub.refs.of(named_of(v.patient_key)) if v.patient_key else None,
            " ".join(number_shown(named_of(v.patient_key))) if v.patient_key else None,
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
        kept=kept,
    )


@page
async def answer_invitation(request: Request, session: SignedIn) -> Response:
    """An answer from the list of one's meetings: also for an invitation, which names
    no patient to open."""
    form = await request.form()
    hub = web_hub(request)
    response = form_text(form, "svar")
    try:
        proposed = _proposed_start(form, response)
        await respond(
            hub.units,
            hub.intake,
            session.principal,
            request.path_params["meeting"],
            response,
            proposed,
            policy=hub.policy,
        )
    except (RoundTableError, Rejected) as error:
        return await _my_meetings(
            request, session, error=danish_refusal(error), kept=Kept.sent(request, form)
        )
    return redirect(request, "/rundbord?besked=svar")


ConvenerChange = Callable[..., Awaitable[object]]
"""A round-table service for the convener's controls (``move_to_proposal``, ``cancel``…)."""

# The convener's controls: ``handling`` → the service and its arguments from the form.
MANAGED: dict[str, tuple[ConvenerChange, Callable[[FormData], tuple[Any, ...]]]] = {
    "flyttet": (move_to_proposal, lambda form: (form_text(form, "deltager"),)),
    "aflyst": (cancel, lambda form: (form_text(form, "begrundelse"),)),
    "afholdt": (
        mark_held,
        lambda form: (
            form_list(form, "deltog"),
            form_text(form, "beslutninger"),
            form_list(form, "paaroerende_deltog"),
        ),
    ),
    "sted": (
        set_place,
        lambda form: (form_text(form, "sted") or None, form_text(form, "videolink") or None),
    ),
}


@patient_page
async def manage(request: Request, session: SignedIn, cpr: str) -> Response:
    """The convener's controls: move to a proposed time, cancel, mark held, set the place.
    ``handling`` names which (the place, when it names none of them); on a refusal the
    form is shown again as typed."""
    form = await request.form()
    kept = Kept.sent(request, form)
    hub = web_hub(request)
    meeting = request.path_params["meeting"]
    step = form_text(form, "handling")
    if step not in MANAGED:
        step = "sted"
    service, arguments = MANAGED[step]
    return await _carry_out(
        request, session, cpr, step, kept, service, meeting, *arguments(form), policy=hub.policy
    )
