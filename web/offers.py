"""The offers directory on the page (``/tilbud``): search offers by kommune, category
and free text, each with its contact points and when its owner last confirmed it; the
viewer's own offers carry a button that confirms them (``/tilbud/<id>/bekraeft``).

Offers are no patient data (``hub.domain.offers``): every signed-in user sees them.
Only the owner may confirm one (``hub.services.offers.confirm_offer``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from hub import clock
from hub.domain.offers import OfferSearch, is_stale, kommune_code
from hub.domain.summaries import DANISH_TIME
from hub.services.offers import MAX_FOUND, OfferError, confirm_offer, find_offers
from web.rendering import form_text, page, redirect, render, web_hub
from web.session import SignedIn

MAX_FIELD = 100
SEARCH_FIELDS = ("kommune", "kategori", "tekst")
MESSAGES = {"bekraeftet": "Tilbuddet er bekræftet. Datoen for seneste bekræftelse er opdateret."}
REFUSALS = {
    "no-such-offer": "Tilbuddet findes ikke blandt jeres organisations tilbud.",
    "not-stored-yet": "Bekræftelsen er modtaget, men er ikke gemt endnu. Hent siden igen om lidt.",
}
REFUSED = "Tilbuddet kunne ikke bekræftes. Prøv igen senere."


@page
async def offers_page(request: Request, session: SignedIn) -> Response:
    return await _offers(request, session)


@page
async def confirm(request: Request, session: SignedIn) -> Response:
    """The owner confirms its offer; back to the same search, which shows the new date."""
    form = await request.form()
    search = {name: form_text(form, name)[:MAX_FIELD] for name in SEARCH_FIELDS}
    try:
        hub = web_hub(request)
        await confirm_offer(hub.units, hub.intake, session.principal, request.path_params["id"])
    except OfferError as error:
        return await _offers(request, session, refusal=REFUSALS.get(error.code, REFUSED), **search)
    query = urlencode({**{k: v for k, v in search.items() if v}, "besked": "bekraeftet"})
    return redirect(request, f"/tilbud?{query}")


async def _offers(
    request: Request,
    session: SignedIn,
    *,
    refusal: str | None = None,
    kommune: str | None = None,
    kategori: str | None = None,
    tekst: str | None = None,
) -> Response:
    params = request.query_params
    kommune = (params.get("kommune", "") if kommune is None else kommune).strip()[:MAX_FIELD]
    category = (params.get("kategori", "") if kategori is None else kategori).strip()[:MAX_FIELD]
    text = (params.get("tekst", "") if tekst is None else tekst).strip()[:MAX_FIELD]
    error = None
    if kommune and kommune_code(kommune) is None:
        error = "Kommunekoden skal være tre cifre, fx 730."
    searched = bool(kommune or category or text)
    found = []
    if searched and error is None:
        search = OfferSearch(kommune=kommune or None, category=category or None, text=text)
        found = await find_offers(web_hub(request).units, search, MAX_FOUND)
    now = clock.now()
    rows = [
        {
            "offer": offer,
            "confirmed": offer.last_confirmed.astimezone(DANISH_TIME).strftime("%d.%m.%Y"),
            "stale": is_stale(offer, now, web_hub(request).offer_confirm_period),
            "own": offer.owner == session.principal.org,
        }
        for offer in found
    ]
    return render(
        request,
        "tilbud.html",
        session.principal,
        status_code=422 if error else 409 if refusal else 200,
        kommune=kommune,
        category=category,
        text=text,
        searched=searched,
        rows=rows,
        error=error,
        refusal=refusal,
        message=MESSAGES.get(params.get("besked", "")) if refusal is None else None,
    )
