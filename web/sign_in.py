"""Signing in and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.services.auth import TokenError
from web.rendering import forbidden, form_text, page, redirect, render, web_hub
from web.session import (
    CsrfError,
    SignedIn,
    check_csrf,
    clear_session,
    set_session,
    verified_token,
)


def next_page_inside(value: str) -> str:
    # Only a path of this page: never an address elsewhere (open redirect).
    # ("/\\host" is "//host" to a browser.)
    inside = value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if inside else "/"


LAPSED = (
    "Din adgang udløb, mens du arbejdede. Log ind igen: du kommer tilbage til siden, og det, "
    "du havde skrevet i formularen, bliver sat ind igen."
)


async def sign_in_form(request: Request) -> Response:
    return render(
        request,
        "log_ind.html",
        None,
        next_page=next_page_inside(request.query_params.get("videre", "/")),
        message=LAPSED if request.query_params.get("udloebet") else None,
    )


async def sign_in(request: Request) -> Response:
    form = await request.form()
    try:
        check_csrf(request, form)
    except CsrfError:
        return forbidden(request, None)
    token = form_text(form, "token")
    next_page = next_page_inside(form_text(form, "videre") or "/")
    try:
        await verified_token(token, web_hub(request).verifier)
    except TokenError:
        return render(
            request,
            "log_ind.html",
            None,
            status_code=401,
            next_page=next_page,
            error="Nøglen kunne ikke godkendes: den er forkert, udløbet eller fra en anden hub.",
        )
    response = redirect(request, next_page)
    set_session(response, request, token)
    return response


@page
async def sign_out(request: Request, _session: SignedIn) -> Response:
    oidc = web_hub(request).oidc
    provider_sign_out = await oidc.end_session_url() if oidc is not None else None
    if provider_sign_out is None:
        response = redirect(request, "/log-ind")
    else:
        # A page that moves on rather than a redirect: the browser holds a form's
        # redirects to the page's own origin (Content-Security-Policy form-action).
        response = render(
            request, "videre.html", None, title="Du er logget ud", target=provider_sign_out
        )
    clear_session(response, request)
    return response
