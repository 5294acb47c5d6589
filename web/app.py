"""The coordinators' page as an ASGI application, mounted under ``/ui`` by
``hub.entrypoints.asgi``."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import OidcSettings
from hub.domain.consent import Policy
from hub.domain.costs import TariffTable
from hub.domain.offers import DEFAULT_CONFIRM_PERIOD
from hub.services.auth import TokenVerifier
from hub.services.intake import IntakeService
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork
from web import (
    consent,
    indicator_cases,
    indicators,
    offers,
    oidc_sign_in,
    round_table,
    sign_in,
    worklist,
)
from web import patient as patient_pages
from web.oidc import OidcClient
from web.patient_ref import PatientRefs
from web.rendering import WebHub, render, templates, web_hub
from web.session import signed_in

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    # No script at all, nothing from elsewhere, never inside another site's frame.
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    # Same-origin: forms then carry their Origin (checked against CSRF); no other site
    # learns the page's addresses.
    "referrer-policy": "same-origin",
    # Patient data stays out of shared caches and the browser's back-forward cache.
    "cache-control": "no-store",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self._app(scope, receive, with_headers)


def _sign_in_routes(oidc: OidcClient | None) -> list[Route]:
    if oidc is None:
        # Development: a pasted token (the one ``hub token`` prints).
        return [Route("/log-ind", sign_in.sign_in, methods=["POST"])]
    # Production: only the region's login; a pasted token is not a way in.
    return [
        Route("/oidc/log-ind", oidc_sign_in.start, methods=["GET"]),
        Route("/oidc/callback", oidc_sign_in.callback, methods=["GET"]),
    ]


async def not_found(request: Request, error: Exception) -> Response:
    """A page that does not exist (or an HTTP error of the page's own), in Danish."""
    status = error.status_code if isinstance(error, HTTPException) else 404
    if status != 404:
        return render(
            request,
            "fejl.html",
            None,
            status_code=status,
            title="Siden kunne ikke vises",
            detail="Forespørgslen kunne ikke bruges. Gå tilbage, og prøv igen.",
        )
    # Signed in: the page's menu, to go on from.
    session = await signed_in(request, web_hub(request).verifier)
    if session is not None:
        request.state.person_name = session.name
    return render(
        request,
        "fejl.html",
        session.principal if session is not None else None,
        status_code=404,
        title="Siden findes ikke",
        detail=(
            "Adressen peger ikke på en side i Brobygger. Måske er linket forkert eller for "
            "gammelt; start fra arbejdslisten."
        ),
    )


async def server_error(request: Request, error: Exception) -> Response:
    """An error of the hub's own, in Danish: nothing of it is shown, it is logged."""
    log.error("the page failed: %s", type(error).__name__, exc_info=error)
    return render(
        request,
        "fejl.html",
        None,
        status_code=500,
        title="Der skete en fejl i Brobygger",
        detail=(
            "Siden kunne ikke vises på grund af en fejl hos Brobygger, ikke noget du gjorde. "
            "Hvis du var ved at gemme noget, så tjek om det blev gemt, før du prøver igen. "
            "Varer det ved, så kontakt driften."
        ),
    )


def create_web_app(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    policy: Policy,
    verifier: TokenVerifier,
    oidc: OidcSettings | None = None,
    tariffs: TariffTable | None = None,
    offer_confirm_period: timedelta = DEFAULT_CONFIRM_PERIOD,
) -> ASGIApp:
    patient = "/patient/{ref}"
    oidc_client = OidcClient(oidc) if oidc is not None else None
    app = Starlette(
        routes=[
            Route("/", patient_pages.home, methods=["GET"]),
            Route("/log-ind", sign_in.sign_in_form, methods=["GET"]),
            *_sign_in_routes(oidc_client),
            Route("/log-ud", sign_in.sign_out, methods=["POST"]),
            Route("/soeg", patient_pages.search, methods=["POST"]),
            Route("/arbejdsliste/{item}", worklist.move_on, methods=["POST"]),
            Route(patient, patient_pages.patient, methods=["GET"]),
            Route(f"{patient}/samtykke", consent.consent_page, methods=["GET"]),
            Route(f"{patient}/samtykke", consent.record, methods=["POST"]),
            Route(f"{patient}/samtykke/tilbagekald", consent.revoke, methods=["POST"]),
            Route(f"{patient}/rundbord", round_table.round_table_page, methods=["GET"]),
            Route(f"{patient}/rundbord", round_table.convene_meeting, methods=["POST"]),
            Route(f"{patient}/rundbord/{{meeting}}/svar", round_table.answer, methods=["POST"]),
            Route(f"{patient}/rundbord/{{meeting}}/plan", round_table.plan, methods=["POST"]),
            Route(f"{patient}/rundbord/{{meeting}}/styr", round_table.manage, methods=["POST"]),
            Route(f"{patient}/handling/{{task}}", round_table.change_action, methods=["POST"]),
            Route("/rundbord", round_table.my_meetings, methods=["GET"]),
            Route("/rundbord/{meeting}/svar", round_table.answer_invitation, methods=["POST"]),
            Route("/tilbud", offers.offers_page, methods=["GET"]),
            Route("/tilbud/{id}/bekraeft", offers.confirm, methods=["POST"]),
            Route("/indikatorer", indicators.indicators_page, methods=["GET"]),
            Route("/indikatorer.csv", indicators.indicators_csv, methods=["GET"]),
            Route("/indikatorer-data.csv", indicators.indicators_data_csv, methods=["GET"]),
            Route("/indikatorer/sager", indicator_cases.cases_page, methods=["GET"]),
            Route("/indikatorer/sager.csv", indicator_cases.cases_csv, methods=["GET"]),
            Route("/indikatorer/sager-data.csv", indicator_cases.cases_data_csv, methods=["GET"]),
            Route("/indikatorer/sager.json", indicator_cases.cases_json, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={HTTPException: not_found, 500: server_error},
    )
    app.state.web = WebHub(
        units,
        intake,
        policy,
        verifier,
        PatientRefs(),
        templates(),
        oidc=oidc_client,
        tariffs=tariffs,
        offer_confirm_period=offer_confirm_period,
    )
    return SecurityHeaders(app)
