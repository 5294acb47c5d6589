"""What every page handler shares: the hub's services, sign-in, CSRF and templates."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from hub.domain.consent import Policy
from hub.domain.costs import TariffTable
from hub.domain.offers import DEFAULT_CONFIRM_PERIOD
from hub.domain.summaries import danish_date, danish_time, span
from hub.services.auth import Principal, TokenVerifier
from hub.services.directory import current_directory
from hub.services.intake import IntakeService
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork
from web import labels
from web.forms import NOTHING, FormKeeper, Kept, forget_kept
from web.oidc import OidcClient
from web.patient_ref import PatientRefs
from web.session import (
    CSRF_FIELD,
    CsrfError,
    SignedIn,
    check_csrf,
    csrf_token,
    lapsed_identity,
    remember_csrf,
    signed_in,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class WebHub:
    """The services the page calls: the same the GraphQL resolvers call."""

    units: UnitOfWorkFactory[UnitOfWork]  # opens a unit of work: what the services take
    intake: IntakeService
    policy: Policy
    verifier: TokenVerifier
    refs: PatientRefs
    templates: Jinja2Templates
    oidc: OidcClient | None = None  # production sign-in; None: a pasted token (development)
    forms: FormKeeper = field(default_factory=FormKeeper)
    tariffs: TariffTable | None = None  # the deployment's cost tariffs, if any
    offer_confirm_period: timedelta = DEFAULT_CONFIRM_PERIOD  # HUB_OFFER_CONFIRM_DAYS


def templates() -> Jinja2Templates:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        dato=danish_date, tid=danish_time, periode=span, sektor=labels.sector, tal=labels.number
    )
    environment.globals["labels"] = labels
    return Jinja2Templates(env=environment)


def web_hub(request: Request) -> WebHub:
    hub: WebHub = request.app.state.web
    return hub


def href(request: Request, path: str) -> str:
    """An address inside the page, wherever it is mounted."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/") + path


def render(
    request: Request,
    template: str,
    who: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    hub = web_hub(request)
    kept: Kept = context.pop("kept", None) or getattr(request.state, "kept", None) or NOTHING

    def typed(action: str) -> Kept:
        """What was typed into the form sent to ``action`` (nothing for another form)."""
        return kept if kept.action == action else NOTHING

    response = hub.templates.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "csrf": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "oidc": hub.oidc is not None,
            # The signed-in user's organisation by name (``page`` looks it up).
            "own_name": getattr(request.state, "own_name", None),
            "person_name": getattr(request.state, "person_name", None),
            "href": lambda path: href(request, path),
            "typed": typed,
            "restored": getattr(request.state, "restored", False),
            **context,
        },
        status_code=status_code,
    )
    remember_csrf(response, request)
    if getattr(request.state, "restored", False):
        forget_kept(response, request)
    return response


def redirect(request: Request, path: str) -> Response:
    return RedirectResponse(href(request, path), status_code=303)


Handler = Callable[[Request, SignedIn], Awaitable[Response]]


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A handler for signed-in users only; a form POST must pass the CSRF check."""

    async def endpoint(request: Request) -> Response:
        hub = web_hub(request)
        session = await signed_in(request, hub.verifier)
        path = request.url.path.removeprefix(request.scope.get("root_path", ""))
        if session is None:
            if request.method == "GET":
                return redirect(request, f"/log-ind?videre={quote(path)}")
            return await _sign_in_again(request, path)
        directory = await current_directory(hub.units)
        request.state.own_name = directory.name_of(session.principal.org)
        request.state.person_name = session.name
        if request.method == "POST":
            try:
                check_csrf(request, await request.form())
            except CsrfError:
                return forbidden(request, session.principal)
        elif (
            kept := hub.forms.restore(request, session.principal.sub, session.principal.org)
        ) is not None:
            request.state.kept = kept
            request.state.restored = True
        return await handler(request, session)

    return endpoint


# A form is sent to its page's path or below it; after signing in again the user goes
# back to that page. (POST path pattern → the page showing the form.)
_FORM_PAGES = (
    (re.compile(r"^(/patient/[^/]+)/(samtykke)(/.*)?$"), r"\1/\2"),
    (re.compile(r"^(/patient/[^/]+)/(rundbord|handling)(/.*)?$"), r"\1/rundbord"),
    (re.compile(r"^/rundbord/.*$"), "/rundbord"),
)


def form_page(path: str) -> str:
    """The page a form sent to ``path`` is on (the start page for the others)."""
    for pattern, page_path in _FORM_PAGES:
        if pattern.match(path):
            return pattern.sub(page_path, path)
    return "/"


async def _sign_in_again(request: Request, path: str) -> Response:
    """A form sent after the sign-in ran out: keep what was typed (for the same user)
    and send the user to sign in, then back to the form's page."""
    back = form_page(path)
    response = redirect(request, f"/log-ind?videre={quote(back)}&udloebet=1")
    identity = lapsed_identity(request)
    if identity is None or path == "/log-ud":
        return response
    form = await request.form()
    if not web_hub(request).forms.keep(response, request, Kept.of(path, form), *identity):
        log.info("a form sent after the sign-in ran out was too large to keep")
    return response


def forbidden(request: Request, who: Principal | None) -> Response:
    return render(
        request,
        "fejl.html",
        who,
        status_code=403,
        title="Formularen kunne ikke modtages",
        detail=(
            "Formularen kom ikke fra denne side (CSRF-beskyttelse). "
            "Hent siden igen og send formularen derfra."
        ),
    )


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def form_list(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def html_error(message: str) -> HTMLResponse:
    return HTMLResponse(message, status_code=400)
