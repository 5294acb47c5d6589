"""Signing in and out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from hub.auth import TokenError
from schema.web.rendering import forbidden, form_text, page, redirect, render, web_hub
from schema.web.session import (
    CsrfError,
    SignedIn,
    check_csrf,
    clear_session,
    set_session,
    verified_token,
)


def _next_page(value: str) -> str:
    # Only a path of this page: never an address elsewhere (open redirect).
    # ("/\\host" is "//host" to a browser.)
    inside = value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if inside else "/"


async def sign_in_form(request: Request) -> Response:
    return render(
        request,
        "log_ind.html",
        None,
        next_page=_next_page(request.query_params.get("videre", "/")),
    )


async def sign_in(request: Request) -> Response:
    form = await request.form()
    try:
        check_csrf(request, form)
    except CsrfError:
        return forbidden(request, None)
    token = form_text(form, "token")
    next_page = _next_page(form_text(form, "videre") or "/")
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
    response = redirect(request, "/log-ind")
    clear_session(response, request)
    return response
