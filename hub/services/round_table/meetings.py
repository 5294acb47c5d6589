"""Convening, answering and moving a meeting."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection

from hub import clock
from hub.domain.consent import DEFAULT_POLICY, Item, Policy, Viewer, relatives_permitted
from hub.domain.round_table import (
    Meeting,
    Participant,
    Relative,
    RoundTableError,
    cancelled,
    held,
    may_manage,
    may_respond,
    meeting_id,
    meeting_of,
    moved_to_proposal,
    new_meeting,
    not_past,
    placed,
    rescheduled,
    responded,
    still_open,
)
from hub.services.auth import Principal
from hub.services.consent.read import consents_of
from hub.services.intake import IntakeService
from hub.services.patient_keys import named_of, patient_key_named
from hub.services.round_table.read import _read_back
from hub.services.round_table.shared import (
    NO_BASIS,
    NOT_FOUND,
    ConveneRequest,
    RoundTableView,
    _audit_denied,
    _meeting_for,
    _on_behalf,
    _one_at_a_time,
    _participant,
    _put_meeting,
    _send,
    _wait_for,
    holds_data,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork


async def convene(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    request: ConveneRequest,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """Convene a meeting about a patient; the caller's organisation is its convener.

    The convener needs a basis of its own: its data controller holds data about the
    patient (a coordinator's controller is its employer). Otherwise nothing is written
    and the refusal is audited, so convening cannot probe whose consent covers whom.
    """
    patient_key = patient_key_named(request.cpr, RoundTableError)
    invited = [_participant(p) for p in request.participants]
    convener = Participant(caller.org, caller.sector, role=request.role)
    key = str(uuid.uuid4())
    meeting = new_meeting(
        key,
        named_of(patient_key),
        request.reason,
        convener,
        invited,
        request.proposed_start,
        request.minutes,
        place=request.place,
        video_link=request.video_link,
        relatives=[Relative(r.name, r.relation) for r in request.relatives],
    )
    if meeting.start is not None:
        not_past(meeting.start, clock.now())
    async with units() as uow:
        if not await holds_data(uow, caller, patient_key):
            await _audit_denied(uow, caller, "roundtable.create", patient_key)
            raise RoundTableError(NO_BASIS, "no-basis")
        if meeting.relatives:
            await _check_relatives(uow, caller, patient_key, invited)
    await _send(intake, caller.as_sender(), [_put_meeting(meeting)])
    the_id = meeting_id(caller.org, key)
    await _stored(units, the_id, meeting)
    return await _read_back(units, caller, the_id, "roundtable.create", policy)


async def respond(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    response: str,
    proposed_start: str | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The caller's organisation accepts, declines or proposes another time."""
    async with _one_at_a_time(the_id):
        stored, meeting = await _meeting_for(units, caller, the_id, policy)
        if not may_respond(meeting, caller.org):
            raise RoundTableError(NOT_FOUND.format(the_id), "no-such-meeting")
        still_open(meeting)
        changed = responded(meeting, caller.org, response, proposed_start)
        proposed = changed.participant(caller.org)
        if proposed is not None and proposed.proposed_start is not None:
            not_past(proposed.proposed_start, clock.now(), "proposed-time-in-past")
        await _send(intake, _on_behalf(stored, caller), [_put_meeting(changed)])
        await _stored(units, the_id, changed)
    return await _read_back(units, caller, the_id, "roundtable.update", policy)


async def reschedule(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    start: str,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The convener moves the meeting to ``start``; participants are asked again."""
    return await _convener_change(
        units, intake, caller, the_id, lambda m: rescheduled(m, start), policy
    )


async def move_to_proposal(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    proposer_org: str,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The convener moves the meeting to the time ``proposer_org`` proposed, in one step."""
    return await _convener_change(
        units, intake, caller, the_id, lambda m: moved_to_proposal(m, proposer_org), policy
    )


async def cancel(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    reason: str,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The convener cancels the meeting, giving a reason its participants read."""
    return await _convener_change(
        units, intake, caller, the_id, lambda m: cancelled(m, reason), policy
    )


async def mark_held(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    attended: Collection[str],
    decisions: str,
    relatives_attended: Collection[str] = (),
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The convener records that the meeting was held: who took part and the decisions
    (the referat, on the Appointment; see ``hub.domain.round_table``)."""
    return await _convener_change(
        units,
        intake,
        caller,
        the_id,
        lambda m: held(m, attended, relatives_attended, decisions),
        policy,
    )


async def set_place(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    place: str | None,
    video_link: str | None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The convener sets where the meeting is held, or the video-meeting link."""
    return await _convener_change(
        units, intake, caller, the_id, lambda m: placed(m, place, video_link), policy
    )


async def _convener_change(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    change: Callable[[Meeting], Meeting],
    policy: Policy,
) -> RoundTableView:
    """A change only the convener makes, to an open meeting; a participant is refused
    (``not-convener``), anyone else told there is no such meeting. A refusal changes
    nothing."""
    async with _one_at_a_time(the_id):
        _, meeting = await _meeting_for(units, caller, the_id, policy)
        if not may_manage(meeting, caller.org):
            raise RoundTableError("only the convener changes the meeting", "not-convener")
        still_open(meeting)
        changed = change(meeting)
        if changed.start is not None and changed.start != meeting.start:
            not_past(changed.start, clock.now())
        if changed != meeting:
            await _send(intake, caller.as_sender(), [_put_meeting(changed)])
            await _stored(units, the_id, changed)
    return await _read_back(units, caller, the_id, "roundtable.update", policy)


async def _stored(units: UnitOfWorkFactory[UnitOfWork], the_id: str, meeting: Meeting) -> None:
    """Wait until the store holds ``meeting`` as the Appointment ``the_id``."""
    await _wait_for(
        units,
        "Appointment",
        the_id,
        lambda s: meeting_of(s.content, meeting.cpr).normalised() == meeting.normalised(),
    )


async def _check_relatives(
    uow: UnitOfWork, caller: Principal, patient_key: str, invited: list[Participant]
) -> None:
    """Relatives take part only when the patient's consent names relatives for every
    invited organisation outside the convener's data controller (rule 6 of
    ``hub.domain.consent``): otherwise nothing is written."""
    stored = await uow.resources.for_patient(patient_key, resource_types=("Consent",))
    consents = consents_of(stored)
    meeting = Item(
        "Appointment", "-", caller.sector.value, caller.org, {}, controller=caller.controller
    )
    now = clock.now()
    refused = [
        p.org
        for p in invited
        if not relatives_permitted(Viewer(sector=p.sector, org=p.org), meeting, consents, now)
    ]
    if refused:
        raise RoundTableError(
            "the patient's consent does not name relatives for "
            f"{', '.join(refused)}: relatives cannot take part",
            "relatives-not-consented",
            orgs=refused,
        )
