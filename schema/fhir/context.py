"""What every FHIR REST handler gets: the store's units of work, the consent policy and the
token verifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from starlette.requests import Request

from hub.domain.consent import Policy
from hub.domain.fhir_search import RESOURCE_TYPES
from hub.services.auth import Principal, TokenError, TokenVerifier
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork
from schema.fhir.outcomes import unauthorized, unknown_type


@dataclass(frozen=True)
class FhirContext:
    units: UnitOfWorkFactory[UnitOfWork]  # what the services take (hub.bootstrap.units_over)
    policy: Policy
    verifier: TokenVerifier
    zone: tzinfo  # the hub's local time zone: search dates without an offset are in it
    smart: bool  # /.well-known/smart-configuration is published

    async def principal(self, request: Request) -> Principal:
        try:
            return await self.verifier.verify(request.headers.get("authorization"))
        except TokenError as error:
            raise unauthorized(str(error)) from None

    def known_type(self, request: Request) -> str:
        resource_type: str = request.path_params["type"]
        if resource_type not in RESOURCE_TYPES:
            raise unknown_type(resource_type)
        return resource_type

    @staticmethod
    def base(request: Request) -> str:
        """The FHIR base URL the request came in under (…/fhir)."""
        root = request.scope.get("root_path", "")
        return str(request.url.replace(path=root, query="", fragment="")).rstrip("/")
