"""The FHIR R4 REST interface, mounted at ``/fhir`` by ``hub.entrypoints.asgi``.

Reads only — read, vread, history, search and ``Patient/$everything`` — through the
same consent choke point and audit as GraphQL. Writes answer 405 and point to the
message intake (``POST /ingest/fhir``). See docs/fhir-rest.md.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.config import OidcSettings
from hub.domain.consent import Policy
from hub.services.auth import TokenVerifier
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork
from schema.fhir.capabilities import capability_statement
from schema.fhir.context import FhirContext
from schema.fhir.everything import patient_everything
from schema.fhir.formats import fhir_response, media_type
from schema.fhir.offers import read_offer, search_offers
from schema.fhir.outcomes import FhirError, operation_outcome, writes_elsewhere
from schema.fhir.read import history, read, vread
from schema.fhir.search import search_type
from schema.fhir.smart import IssuerUnavailable, SmartConfiguration

log = logging.getLogger(__name__)

Handler = Callable[[Request, FhirContext], Awaitable[Response]]
_READS = ("GET", "HEAD")
_ALL = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _endpoint(
    handler: Handler | None, context: FhirContext, *, reads: tuple[str, ...] = _READS
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            if request.method not in reads:
                raise writes_elsewhere(request.method)
            if handler is None:
                raise FhirError(
                    404,
                    "not-supported",
                    f"{request.url.path} is not a FHIR interaction the hub serves",
                )
            return await handler(request, context)
        except FhirError as error:
            return fhir_response(
                request, error.outcome(), status=error.status, headers=error.headers
            )
        except Exception:
            log.exception("FHIR request %s %s failed", request.method, request.url.path)
            return fhir_response(
                request, operation_outcome("exception", "Unexpected error."), status=500
            )

    return endpoint


async def _metadata(request: Request, context: FhirContext) -> Response:
    kind = media_type(request)
    statement = capability_statement(context.base(request), smart=context.smart)
    return fhir_response(request, statement, kind=kind)


def create_fhir_app(
    units: UnitOfWorkFactory[UnitOfWork],
    policy: Policy,
    verifier: TokenVerifier,
    *,
    local_timezone: str,
    oidc: OidcSettings | None,
) -> Starlette:
    context = FhirContext(units, policy, verifier, ZoneInfo(local_timezone), oidc is not None)

    def route(path: str, handler: Handler | None, reads: tuple[str, ...] = _READS) -> Route:
        return Route(path, _endpoint(handler, context, reads=reads), methods=list(_ALL))

    return Starlette(
        routes=[
            route("/metadata", _metadata),
            route("/Patient/{id}/$everything", patient_everything),
            route("/HealthcareService/_search", search_offers, reads=("GET", "HEAD", "POST")),
            route("/HealthcareService/{id}", read_offer),
            route("/HealthcareService", search_offers),
            route("/{type}/_search", search_type, reads=("GET", "HEAD", "POST")),
            route("/{type}/{id}/_history/{vid}", vread),
            route("/{type}/{id}/_history", history),
            route("/{type}/{id}", read),
            route("/{type}", search_type),
            route("/{rest:path}", None),
        ]
    )


def smart_configuration_endpoint(
    oidc: OidcSettings,
) -> Callable[[Request], Awaitable[Response]]:
    """``GET /.well-known/smart-configuration``, from the issuer's discovery document."""
    configuration = SmartConfiguration(oidc)

    async def endpoint(_request: Request) -> Response:
        try:
            return JSONResponse(await configuration.document())
        except IssuerUnavailable as error:
            log.warning("smart-configuration: %s", error)
            return JSONResponse({"error": "the identity provider is unreachable"}, status_code=503)

    return endpoint
