"""OpenID Connect sign-in: the authorization-code flow with PKCE, as a confidential client.

The protocol is Authlib's Starlette client (``StarletteOAuth2App``): it reads the
provider's discovery document, builds the authorization request with ``state``,
``nonce`` and a PKCE (S256) challenge, redeems the code at the token endpoint with the
client's credentials and the verifier, and checks the ID token: its signature against
the provider's JWKS (fetched again when a token names a key it has not seen, as after
a key rotation) and its claims (``iss``, ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``,
``at_hash``).

What stays the hub's own:

- **The pending sign-in.** Authlib's Starlette client would keep state, nonce and
  verifier in Starlette's session; the hub keeps no session. They live in the browser,
  sealed: encrypted and authenticated (Fernet) with a key derived from the client
  secret, which every ``hub serve`` process of a deployment shares, and refused after
  ``PENDING_SECONDS``. The callback's ``state`` must be the sealed one.
- **Policy.** The discovery document must name the configured issuer (Discovery §4.3),
  and is read again hourly; ID tokens must be signed with an asymmetric algorithm the
  hub accepts (never ``none`` or a MAC keyed by the client secret); times are checked
  against the hub's clock (``hub.clock``) with a minute's leeway.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oidc.core import CodeIDToken
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.errors import JoseError

from hub import clock
from hub.config import OidcSettings

with warnings.catch_warnings():
    # Authlib prefers the httpx2 package and warns when it uses httpx, which the hub
    # already has; the fallback is supported in the version constraints.txt pins.
    warnings.filterwarnings(
        "ignore", message="The httpx module is deprecated", category=AuthlibDeprecationWarning
    )
    from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App

PENDING_SECONDS = 600  # time from the sign-in click to the provider's redirect back
_DISCOVERY_SECONDS = 3600  # a provider's endpoints rarely move; re-read hourly
_ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
_HTTP_TIMEOUT = 10.0
_CLOCK_SKEW_SECONDS = 60
# What reaching the provider can fail with: the transport, an HTTP error status, or a
# body that is not the JSON asked for.
_UNREACHABLE = (httpx.HTTPError, OSError, ValueError)


class OidcError(Exception):
    """A sign-in the provider or the hub refused; the message says why (for the log)."""


class ProviderUnavailable(OidcError):
    """The provider could not be reached or answered something that is not OIDC."""


@dataclass(frozen=True)
class PendingSignIn:
    """What the callback must find again: proof that this browser started this sign-in."""

    state: str
    nonce: str
    code_verifier: str
    next_page: str

    def answers(self, state: str) -> bool:
        """Whether a callback carrying ``state`` is the answer to this sign-in."""
        return secrets.compare_digest(self.state.encode(), state.encode())


@dataclass(frozen=True)
class SignInTokens:
    """The provider's answer, its ID token verified."""

    id_token: str
    access_token: str | None


class _IdToken(CodeIDToken):  # type: ignore[misc]  # Authlib is untyped
    """Authlib's ID-token checks, with "now" read from the hub's clock."""

    def validate(self, now: int | None = None, leeway: int = 0) -> None:
        super().validate(now=int(clock.now().timestamp()), leeway=leeway)

    @classmethod
    def came_with(cls, access_token: str | None) -> Callable[..., _IdToken]:
        """The claims of an ID token that came with ``access_token``.

        Authlib checks ``at_hash`` against the access token only when it picks the
        claims class itself; given one (for the clock), it must be handed the token.
        """

        def claims(
            payload: dict[str, Any], header: dict[str, Any], options: Any, params: dict[str, Any]
        ) -> _IdToken:
            if access_token is not None:
                params = {**params, "access_token": access_token}
            return cls(payload, header, options, params)

        return claims


class OidcClient:
    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._sealer = Fernet(_sealing_key(settings.client_secret))
        self._provider: StarletteOAuth2App = OAuth().register(
            "region",
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
            client_kwargs={
                "scope": " ".join(settings.scopes),
                "code_challenge_method": "S256",
                "timeout": _HTTP_TIMEOUT,
            },
        )
        self._discovered_at: float | None = None
        self._lock = asyncio.Lock()

    # -- the pending sign-in, sealed into a cookie ------------------------------------

    def seal(self, pending: PendingSignIn) -> str:
        payload = orjson.dumps(
            {
                "state": pending.state,
                "nonce": pending.nonce,
                "verifier": pending.code_verifier,
                "next": pending.next_page,
            }
        )
        return self._sealer.encrypt(payload).decode("ascii")

    def unseal(self, sealed: str) -> PendingSignIn:
        try:
            payload = orjson.loads(
                self._sealer.decrypt(sealed.encode("ascii"), ttl=PENDING_SECONDS)
            )
            return PendingSignIn(
                state=str(payload["state"]),
                nonce=str(payload["nonce"]),
                code_verifier=str(payload["verifier"]),
                next_page=str(payload["next"]),
            )
        except (InvalidToken, UnicodeEncodeError, orjson.JSONDecodeError, KeyError, TypeError):
            raise OidcError("the pending sign-in is missing, expired or not this hub's") from None

    # -- the protocol --------------------------------------------------------------

    async def start(self, next_page: str) -> tuple[str, PendingSignIn]:
        """The provider's authorization URL, and the sign-in the callback must answer."""
        await self._metadata()
        # Authlib draws the state, the nonce and the PKCE verifier.
        request = await self._provider.create_authorization_url(self.settings.redirect_url)
        pending = PendingSignIn(
            state=request["state"],
            nonce=request["nonce"],
            code_verifier=request["code_verifier"],
            next_page=next_page,
        )
        return str(request["url"]), pending

    async def finish(self, pending: PendingSignIn, *, code: str) -> SignInTokens:
        """Redeem the callback's code (its state checked already) and verify the ID token."""
        await self._metadata()
        try:
            answer = await self._provider.fetch_access_token(
                redirect_uri=self.settings.redirect_url,
                code=code,
                code_verifier=pending.code_verifier,
            )
        except OAuthError as error:
            # An expired or reused code, a wrong verifier: the provider's own words.
            raise OidcError(
                f"the token endpoint refused the code: {error.error} {error.description or ''}"
            ) from None
        except _UNREACHABLE as error:
            raise ProviderUnavailable(f"the token endpoint could not be reached: {error}") from None
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError("the token endpoint answered without an ID token")
        access_token = answer.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            access_token = None
        try:
            await self._provider.parse_id_token(
                answer,
                nonce=pending.nonce,
                claims_options={
                    "iss": {"essential": True, "value": self.settings.issuer},
                    "aud": {"essential": True, "value": self.settings.client_id},
                    "nonce": {"essential": True},
                },
                claims_cls=_IdToken.came_with(access_token),
                leeway=_CLOCK_SKEW_SECONDS,
            )
        except JoseError as error:
            raise OidcError(f"the ID token is not acceptable: {error}") from None
        except _UNREACHABLE as error:
            raise ProviderUnavailable(f"the provider's keys could not be read: {error}") from None
        return SignInTokens(id_token=id_token, access_token=access_token)

    @property
    def after_sign_out_url(self) -> str | None:
        """The page's sign-in form, next to the registered callback, to come back to."""
        suffix = "/oidc/callback"
        redirect = self.settings.redirect_url
        return redirect.removesuffix(suffix) + "/log-ind" if redirect.endswith(suffix) else None

    async def end_session_url(self) -> str | None:
        """Where to sign out at the provider too, when it offers that (RP-initiated logout)."""
        try:
            metadata = await self._metadata()
        except ProviderUnavailable:
            return None
        end_session = metadata.get("end_session_endpoint")
        if not isinstance(end_session, str) or not end_session:
            return None
        parameters = {"client_id": self.settings.client_id}
        if self.after_sign_out_url is not None:
            parameters["post_logout_redirect_uri"] = self.after_sign_out_url
        separator = "&" if "?" in end_session else "?"
        return f"{end_session}{separator}{urlencode(parameters)}"

    async def _metadata(self) -> dict[str, Any]:
        """The provider's discovery document as Authlib holds it, checked and current."""
        async with self._lock:
            stale = (
                self._discovered_at is not None
                and time.monotonic() - self._discovered_at > _DISCOVERY_SECONDS
            )
            if stale:
                # Read again, and the keys with it.
                self._provider.server_metadata.clear()
                self._discovered_at = None
            if self._discovered_at is not None:
                return dict(self._provider.server_metadata)
            try:
                metadata: dict[str, Any] = await self._provider.load_server_metadata()
                _check_discovery(metadata, self.settings.issuer)
                # Authlib verifies with the algorithms the document names: only the
                # hub's, then. It authenticates with the method its client is given.
                metadata["id_token_signing_alg_values_supported"] = _id_token_algorithms(metadata)
                self._provider.client_kwargs["token_endpoint_auth_method"] = _client_auth(metadata)
            except _UNREACHABLE as error:
                self._provider.server_metadata.clear()
                raise ProviderUnavailable(f"discovery failed: {error}") from None
            except ProviderUnavailable:
                self._provider.server_metadata.clear()
                raise
            self._discovered_at = time.monotonic()
            return dict(metadata)


def _check_discovery(metadata: dict[str, Any], issuer: str) -> None:
    # OpenID Connect Discovery §4.3: the document must name the issuer asked for, or a
    # look-alike could hand out its own endpoints.
    if metadata.get("issuer") != issuer:
        raise ProviderUnavailable(
            f"discovery names issuer {metadata.get('issuer')!r}, not {issuer!r}"
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = metadata.get(name)
        if not isinstance(value, str) or not value:
            raise ProviderUnavailable(f"discovery has no {name}")


def _id_token_algorithms(metadata: dict[str, Any]) -> list[str]:
    """The provider's ID-token algorithms the hub accepts (RS256 when it names none)."""
    offered = metadata.get("id_token_signing_alg_values_supported")
    if not isinstance(offered, list):
        return ["RS256"]  # the default OpenID Connect Core names
    accepted = [alg for alg in offered if alg in _ID_TOKEN_ALGORITHMS]
    if not accepted:
        raise ProviderUnavailable(
            f"the provider signs ID tokens with {json.dumps(offered)}, none of which the hub "
            f"accepts ({', '.join(_ID_TOKEN_ALGORITHMS)})"
        )
    return accepted


def _client_auth(metadata: dict[str, Any]) -> str:
    """How the client authenticates at the token endpoint: Basic, else in the form."""
    methods = metadata.get("token_endpoint_auth_methods_supported")
    if not isinstance(methods, list):
        return "client_secret_basic"  # the default the specification names
    for method in ("client_secret_basic", "client_secret_post"):
        if method in methods:
            return method
    raise ProviderUnavailable(
        "the token endpoint takes neither client_secret_basic nor client_secret_post"
    )


def _sealing_key(client_secret: str) -> bytes:
    # A key of its own, derived: the secret itself never signs anything the browser holds.
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"brobygger coordinators' page: pending OIDC sign-in",
    ).derive(client_secret.encode("utf-8"))
    return base64.urlsafe_b64encode(key)
