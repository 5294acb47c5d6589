"""``/.well-known/smart-configuration`` (SMART App Launch v2), published when the hub signs
in through an OpenID Connect issuer (``HUB_OIDC_ISSUER``).

A SMART app finds there where to authorize and get tokens: the issuer's own endpoints,
read from its discovery document (re-read hourly), since the hub issues no tokens in
production. The scopes it names are those the REST interface applies.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from hub.config import OidcSettings

_DISCOVERY_SECONDS = 3600
_TIMEOUT = 10.0
SCOPES_SUPPORTED = (
    "openid",
    "fhirUser",
    "launch/patient",
    "patient/*.rs",
    "user/*.rs",
    "system/*.rs",
    "patient/*.read",
    "user/*.read",
    "system/*.read",
)
CAPABILITIES = (
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "context-standalone-patient",
    "sso-openid-connect",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
)


class IssuerUnavailable(Exception):
    """The issuer's discovery document could not be read, or names another issuer."""


class SmartConfiguration:
    """The document, from the issuer's discovery document."""

    def __init__(
        self, settings: OidcSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._issuer = settings.issuer
        self._transport = transport
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def document(self) -> dict[str, Any]:
        discovery = await self._discovery()
        document: dict[str, Any] = {
            "issuer": self._issuer,
            "jwks_uri": discovery["jwks_uri"],
            "authorization_endpoint": discovery["authorization_endpoint"],
            "token_endpoint": discovery["token_endpoint"],
            "grant_types_supported": [
                g
                for g in discovery.get("grant_types_supported")
                or ["authorization_code", "client_credentials"]
                if g in ("authorization_code", "client_credentials")
            ],
            "response_types_supported": ["code"],
            "scopes_supported": list(SCOPES_SUPPORTED),
            "capabilities": list(CAPABILITIES),
            "code_challenge_methods_supported": ["S256"],
        }
        for optional in (
            "token_endpoint_auth_methods_supported",
            "introspection_endpoint",
            "revocation_endpoint",
            "end_session_endpoint",
        ):
            if optional in discovery:
                document[optional] = discovery[optional]
        return document

    async def _discovery(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < _DISCOVERY_SECONDS:
            return self._cached[1]
        url = f"{self._issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(transport=self._transport, timeout=_TIMEOUT) as client:
                response = await client.get(url)
                response.raise_for_status()
                discovery = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise IssuerUnavailable(f"discovery at {url} failed: {error}") from None
        if not isinstance(discovery, dict) or discovery.get("issuer") != self._issuer:
            raise IssuerUnavailable(f"discovery at {url} names another issuer")
        missing = [
            name
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")
            if not isinstance(discovery.get(name), str)
        ]
        if missing:
            raise IssuerUnavailable(f"discovery at {url} has no {', '.join(missing)}")
        self._cached = (now, discovery)
        return discovery
