"""The worklist: the start page shows the organisation's open inbox items.

New referrals and letters, rundbordsmøde invitations and plans, actions, cohort
proposals, færdigbehandlet patients and reception visits due, newest first, each
linked to its patient where the reader may see whose it is. The user moves an item on
(set, færdig, afvist med begrundelse) from the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from hub.services.auth import Principal
from hub.services.inbox.read import InboxError, InboxItem, read_inbox, set_state
from web.rendering import form_text, page, redirect, render, web_hub
from web.session import SignedIn

OPEN_STATES = ("new", "seen")
SHOWN = 100  # items on the start page

KINDS = {
    "referral": "Henvisning",
    "correspondence": "Korrespondance",
    "round-table-invitation": "Invitation til rundbordsmøde",
    "round-table-changed": "Rundbordsmøde ændret",
    "round-table-plan": "Plan fra rundbordsmøde",
    "action-assigned": "Handling til jer",
    "action-overdue": "Handling overskredet",
    "reception-visit-due": "Modtagebesøg skal aflægges",
    "reception-visit-missing": "Modtagebesøg mangler",
    "faerdigbehandlet-waiting": "Færdigbehandlet venter",
    "cohort-proposal": "Forslag om rundbordsmøde",
    "tobs-high": "TOBS-score høj",
}
STATES = {"new": "Ny", "seen": "Set", "done": "Færdig", "declined": "Afvist"}
MESSAGES = {
    "seen": "Punktet er markeret som set.",
    "done": "Punktet er markeret som færdigt.",
    "declined": "Punktet er afvist.",
}
REFUSALS = {
    "reason-required": "Skriv en begrundelse, når du afviser et punkt.",
    "reason-too-long": "Begrundelsen må højst være 500 tegn.",
    "item-closed": "Punktet er allerede afsluttet.",
    "state-changed": "Punktet blev ændret samtidig af en anden. Se listen igen.",
    "no-such-item": "Punktet findes ikke på din arbejdsliste.",
    "unknown-state": "Vælg set, færdig eller afvist.",
    "state-backwards": "Et punkt kan ikke blive nyt igen.",
}


@dataclass(frozen=True)
class Row:
    item: InboxItem
    kind: str  # Danish
    state: str  # Danish
    patient_ref: str | None  # the link to the patient, where the reader may see whose


async def worklist(request: Request, principal: Principal) -> list[Row]:
    """The reader's open items, for the start page."""
    hub = web_hub(request)
    items = await read_inbox(
        hub.units, principal, policy=hub.policy, first=SHOWN, states=OPEN_STATES
    )
    return [
        Row(
            item,
            KINDS.get(item.kind, item.kind),
            STATES.get(item.state, item.state),
            hub.refs.of(item.cpr) if item.cpr else None,
        )
        for item in items
    ]


@page
async def move_on(request: Request, session: SignedIn) -> Response:
    """One item moved on from the worklist."""
    form = await request.form()
    hub = web_hub(request)
    item_id = request.path_params["item"]
    state = form_text(form, "tilstand")
    try:
        if not item_id.isdigit():
            raise InboxError("no-such-item", "no such item")
        await set_state(
            hub.units,
            session.principal,
            int(item_id),
            state,
            form_text(form, "begrundelse") or None,
            policy=hub.policy,
        )
    except InboxError as refused:
        rows = await worklist(request, session.principal)
        return render(
            request,
            "forside.html",
            session.principal,
            status_code=404 if refused.code == "no-such-item" else 422,
            error=REFUSALS.get(refused.code, "Punktet kunne ikke opdateres."),
            rows=rows,
            kept_reason=form_text(form, "begrundelse"),
            kept_item=item_id,
        )
    return redirect(request, f"/?besked={state}")
