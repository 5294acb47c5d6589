"""The coordinators' page as an ASGI application, mounted by ``hub.app`` under ``/ui``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth import TokenVerifier
from hub.config import OidcSettings
from hub.domain.consent_policy import Policy
from hub.intake import IntakeService
from schema.web import (
    pages_auth,
    pages_consent,
    pages_indicators,
    pages_oidc,
    pages_patient,
    pages_roundtable,
)
from schema.web.oidc import OidcClient
from schema.web.patient_ref import PatientRefs
from schema.web.rendering import WebHub, templates

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
        return [Route("/log-ind", pages_auth.sign_in, methods=["POST"])]
    # Production: only the region's login; a pasted token is not a way in.
    return [
        Route("/oidc/log-ind", pages_oidc.start, methods=["GET"]),
        Route("/oidc/callback", pages_oidc.callback, methods=["GET"]),
    ]


def create_web_app(
    engine: AsyncEngine,
    intake: IntakeService,
    policy: Policy,
    verifier: TokenVerifier,
    oidc: OidcSettings | None = None,
) -> ASGIApp:
    patient = "/patient/{ref}"
    oidc_client = OidcClient(oidc) if oidc is not None else None
    app = Starlette(
        routes=[
            Route("/", pages_patient.home, methods=["GET"]),
            Route("/log-ind", pages_auth.sign_in_form, methods=["GET"]),
            *_sign_in_routes(oidc_client),
            Route("/log-ud", pages_auth.sign_out, methods=["POST"]),
            Route("/soeg", pages_patient.search, methods=["POST"]),
            Route(patient, pages_patient.patient, methods=["GET"]),
            Route(f"{patient}/samtykke", pages_consent.consent_page, methods=["GET"]),
            Route(f"{patient}/samtykke", pages_consent.record, methods=["POST"]),
            Route(f"{patient}/samtykke/tilbagekald", pages_consent.revoke, methods=["POST"]),
            Route(f"{patient}/rundbord", pages_roundtable.round_table_page, methods=["GET"]),
            Route(f"{patient}/rundbord", pages_roundtable.convene_meeting, methods=["POST"]),
            Route(
                f"{patient}/rundbord/{{meeting}}/svar", pages_roundtable.answer, methods=["POST"]
            ),
            Route(f"{patient}/rundbord/{{meeting}}/plan", pages_roundtable.plan, methods=["POST"]),
            Route(f"{patient}/handling/{{task}}", pages_roundtable.change_action, methods=["POST"]),
            Route("/rundbord", pages_roundtable.my_meetings, methods=["GET"]),
            Route("/rundbord/{meeting}/svar", pages_roundtable.answer_invitation, methods=["POST"]),
            Route("/indikatorer", pages_indicators.indicators_page, methods=["GET"]),
            Route("/indikatorer.csv", pages_indicators.indicators_csv, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
    app.state.web = WebHub(
        engine, intake, policy, verifier, PatientRefs(), templates(), oidc=oidc_client
    )
    return SecurityHeaders(app)
