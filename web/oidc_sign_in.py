"""Signing in through the region's OpenID Connect provider (production).

The sign-in ends in the same place as the pasted token of development: the token that
carries the hub's claims is checked by the API's ``TokenVerifier`` and kept in the
session cookie, so the page and the API accept exactly the same identities.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hub.config import ClaimsCarrier
from hub.services.auth import TokenError
from web.oidc import (
    PENDING_SECONDS,
    OidcClient,
    OidcError,
    ProviderUnavailable,
)
from web.rendering import href, render, web_hub
from web.session import secure_cookies, set_session, verified_token
from web.sign_in import next_page_inside

log = logging.getLogger(__name__)

PENDING_COOKIE = "brobygger_oidc"

_RETRY = "Prøv at logge ind igen."


def _client(request: Request) -> OidcClient:
    client = web_hub(request).oidc
    assert client is not None, "the OIDC routes exist only when OIDC is configured"
    return client


def _pending_path(request: Request) -> str:
    # Sent back only to the callback, nowhere else on the site.
    return href(request, "/oidc/")


async def start(request: Request) -> Response:
    """Send the browser to the provider, remembering (sealed) what the callback must match."""
    client = _client(request)
    try:
        authorization_url, pending = await client.start(
            next_page_inside(request.query_params.get("videre", "/"))
        )
    except ProviderUnavailable as error:
        log.warning("OIDC sign-in could not start: %s", error)
        return _refused(request, 503, "Regionens login svarer ikke lige nu. " + _RETRY)
    response = RedirectResponse(authorization_url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        client.seal(pending),
        max_age=PENDING_SECONDS,
        httponly=True,
        # Lax, not Strict: the provider's redirect back is a navigation from its site,
        # and the cookie must come along on it.
        samesite="lax",
        secure=secure_cookies(request),
        path=_pending_path(request),
    )
    return response


async def callback(request: Request) -> Response:
    """The provider's redirect back: check state, redeem the code, sign the user in."""
    client = _client(request)
    sealed = request.cookies.get(PENDING_COOKIE)
    query = request.query_params
    if query.get("error"):
        log.info("OIDC provider refused the sign-in: %s", query.get("error"))
        return _refused(request, 401, "Regionens login afviste at logge dig ind. " + _RETRY)
    try:
        if not sealed:
            raise OidcError("no pending sign-in cookie came with the callback")
        pending = client.unseal(sealed)
        if not pending.answers(query.get("state", "")):
            raise OidcError("the callback's state is not the one this browser was sent with")
    except OidcError as error:
        # Someone else's redirect (login CSRF), a replayed one, or one that took too long.
        log.warning("OIDC callback refused: %s", error)
        return _refused(
            request,
            400,
            "Log ind kunne ikke fuldføres: svaret hørte ikke til dette log ind. " + _RETRY,
        )
    code = query.get("code", "")
    if not code:
        return _refused(request, 400, "Regionens login sendte ingen kode tilbage. " + _RETRY)
    try:
        tokens = await client.finish(pending, code=code)
    except ProviderUnavailable as error:
        log.warning("OIDC sign-in could not finish: %s", error)
        return _refused(request, 503, "Regionens login svarer ikke lige nu. " + _RETRY)
    except OidcError as error:
        log.warning("OIDC sign-in refused: %s", error)
        return _refused(
            request, 401, "Log ind kunne ikke godkendes: svaret fra regionens login var ugyldigt."
        )
    carrier = (
        tokens.id_token
        if client.settings.claims_carrier is ClaimsCarrier.ID
        else tokens.access_token
    )
    try:
        if carrier is None:
            raise TokenError("the provider sent no access token")
        who = await verified_token(carrier, web_hub(request).verifier)
    except TokenError as error:
        log.warning("OIDC sign-in: the provider's token is not one the hub accepts: %s", error)
        return _refused(
            request,
            403,
            "Du er logget ind hos regionens login, men din adgang giver ikke adgang til "
            "Brobygger (sektor eller organisation mangler).",
        )
    log.info("signed in through OIDC: %s (%s, %s)", who.sub, who.sector.value, who.org)
    # A page that moves on by itself rather than a redirect: the session cookie is
    # SameSite=Strict, and a browser would not send it on a redirect that began at the
    # provider's site; a navigation this page starts is the page's own.
    response = render(
        request,
        "videre.html",
        None,
        title="Du er logget ind",
        target=href(request, pending.next_page),
    )
    set_session(response, request, carrier)
    _forget_pending(response, request)
    return response


def _refused(request: Request, status_code: int, message: str) -> Response:
    response = render(
        request, "log_ind.html", None, status_code=status_code, next_page="/", error=message
    )
    _forget_pending(response, request)
    return response


def _forget_pending(response: Response, request: Request) -> None:
    # One callback per sign-in: a second use of the same redirect finds nothing to match.
    response.delete_cookie(
        PENDING_COOKIE,
        path=_pending_path(request),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )
