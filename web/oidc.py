"""OpenID Connect sign-in: the authorization-code flow with PKCE, as a confidential client.

The protocol is three HTTP requests and one token check, so it is written here over
libraries the hub already has: httpx for discovery and the token endpoint, PyJWT (and
its ``PyJWKClient``) for the ID token, the same library that verifies the API's tokens,
and ``cryptography``'s Fernet to seal the pending sign-in into a cookie.

The pending sign-in (state, nonce, PKCE verifier, the page to go on to) lives in the
browser, sealed: encrypted and authenticated with a key derived from the client secret,
which every ``hub serve`` process of a deployment shares, and refused after
``PENDING_SECONDS``. The hub keeps no session of its own.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.config import OidcSettings
from hub.services.auth import check_token_times, decode_options

PENDING_SECONDS = 600  # time from the sign-in click to the provider's redirect back
_DISCOVERY_SECONDS = 3600  # a provider's endpoints rarely move; re-read hourly
_ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
_HTTP_TIMEOUT = 10.0
_CLOCK_SKEW_SECONDS = 60


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

    @classmethod
    def new(cls, next_page: str) -> PendingSignIn:
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),  # 86 characters: within RFC 7636's 43–128
            next_page=next_page,
        )

    def answers(self, state: str) -> bool:
        """Whether a callback carrying ``state`` is the answer to this sign-in."""
        return secrets.compare_digest(self.state.encode(), state.encode())

    @property
    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Provider:
    """The endpoints of the provider's discovery document the hub uses."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    token_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class SignInTokens:
    """The provider's answer, its ID token verified."""

    id_token: str
    access_token: str | None


class OidcClient:
    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._sealer = Fernet(_sealing_key(settings.client_secret))
        self._provider: Provider | None = None
        self._provider_read_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None
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

    async def authorization_url(self, pending: PendingSignIn) -> str:
        provider = await self.provider()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.settings.client_id,
                "redirect_uri": self.settings.redirect_url,
                "scope": " ".join(self.settings.scopes),
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": pending.code_challenge,
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in provider.authorization_endpoint else "?"
        return f"{provider.authorization_endpoint}{separator}{query}"

    async def finish(self, pending: PendingSignIn, *, code: str) -> SignInTokens:
        """Redeem the callback's code (its state checked already) and verify the ID token."""
        provider = await self.provider()
        answer = await self._redeem(provider, code, pending.code_verifier)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise OidcError("the token endpoint answered without an ID token")
        await self._verify_id_token(id_token, pending.nonce)
        access_token = answer.get("access_token")
        return SignInTokens(
            id_token=id_token,
            access_token=access_token if isinstance(access_token, str) and access_token else None,
        )

    @property
    def after_sign_out_url(self) -> str | None:
        """The page's sign-in form, next to the registered callback, to come back to."""
        suffix = "/oidc/callback"
        redirect = self.settings.redirect_url
        return redirect.removesuffix(suffix) + "/log-ind" if redirect.endswith(suffix) else None

    async def end_session_url(self) -> str | None:
        """Where to sign out at the provider too, when it offers that (RP-initiated logout)."""
        after_sign_out = self.after_sign_out_url
        try:
            provider = await self.provider()
        except ProviderUnavailable:
            return None
        if provider.end_session_endpoint is None:
            return None
        parameters = {"client_id": self.settings.client_id}
        if after_sign_out is not None:
            parameters["post_logout_redirect_uri"] = after_sign_out
        separator = "&" if "?" in provider.end_session_endpoint else "?"
        return f"{provider.end_session_endpoint}{separator}{urlencode(parameters)}"

    async def provider(self) -> Provider:
        async with self._lock:
            fresh = time.monotonic() - self._provider_read_at < _DISCOVERY_SECONDS
            if self._provider is None or not fresh:
                self._provider = await self._discover()
                self._provider_read_at = time.monotonic()
                # Keys are looked up again by the client itself when a new "kid" appears.
                self._jwks = jwt.PyJWKClient(self._provider.jwks_uri, cache_keys=True)
            return self._provider

    async def _discover(self) -> Provider:
        url = f"{self.settings.issuer}/.well-known/openid-configuration"
        document = await self._get_json(url)
        # OpenID Connect Discovery §4.3: the document must name the issuer asked for,
        # or a look-alike could hand out its own endpoints.
        if document.get("issuer") != self.settings.issuer:
            raise ProviderUnavailable(
                f"discovery names issuer {document.get('issuer')!r}, not {self.settings.issuer!r}"
            )
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or not value:
                raise ProviderUnavailable(f"discovery has no {name}")
            endpoints[name] = value
        end_session = document.get("end_session_endpoint")
        methods = document.get("token_endpoint_auth_methods_supported")
        return Provider(
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            jwks_uri=endpoints["jwks_uri"],
            end_session_endpoint=end_session if isinstance(end_session, str) else None,
            token_auth_methods=(
                tuple(m for m in methods if isinstance(m, str))
                if isinstance(methods, list)
                else ("client_secret_basic",)  # the default the specification names
            ),
        )

    async def _redeem(self, provider: Provider, code: str, code_verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.settings.redirect_url,
            "code_verifier": code_verifier,
        }
        auth: httpx.BasicAuth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
        if "client_secret_basic" in provider.token_auth_methods:
            # RFC 6749 §2.3.1: id and secret are form-encoded before they go into Basic.
            auth = httpx.BasicAuth(
                _form_encoded(self.settings.client_id), _form_encoded(self.settings.client_secret)
            )
        elif "client_secret_post" in provider.token_auth_methods:
            form |= {
                "client_id": self.settings.client_id,
                "client_secret": self.settings.client_secret,
            }
        else:
            raise ProviderUnavailable(
                "the token endpoint takes neither client_secret_basic nor client_secret_post"
            )
        try:
            async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
                response = await client.post(
                    provider.token_endpoint,
                    data=form,
                    auth=auth,
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"the token endpoint could not be reached: {error}") from None
        body = _json_object(response)
        if response.status_code != 200:
            # An expired or reused code, a wrong verifier: the provider's own words.
            raise OidcError(
                f"the token endpoint refused the code ({response.status_code}): "
                f"{body.get('error', '')} {body.get('error_description', '')}".strip()
            )
        return body

    async def _verify_id_token(self, id_token: str, nonce: str) -> None:
        assert self._jwks is not None
        jwks = self._jwks
        try:
            # PyJWKClient fetches over blocking HTTP when its cache is cold.
            key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, id_token)
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=_ID_TOKEN_ALGORITHMS,
                audience=self.settings.client_id,
                issuer=self.settings.issuer,
                options=decode_options("iss", "aud", "exp", "iat", "sub"),
            )
            check_token_times(claims, leeway=_CLOCK_SKEW_SECONDS)
        except jwt.PyJWKClientConnectionError as error:
            raise ProviderUnavailable(f"the provider's keys could not be read: {error}") from None
        except jwt.PyJWTError as error:
            raise OidcError(f"the ID token is not acceptable: {error}") from None
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), nonce.encode()):
            raise OidcError("the ID token's nonce is not the one this sign-in was started with")
        # Core §3.1.3.7: a token for several audiences must say it was issued to this one.
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise OidcError("the ID token has several audiences and names another party (azp)")

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=_HTTP_TIMEOUT) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"{url} could not be reached: {error}") from None
        if response.status_code != 200:
            raise ProviderUnavailable(f"{url} answered {response.status_code}")
        return _json_object(response)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise ProviderUnavailable(f"{response.url} did not answer JSON") from None
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"{response.url} did not answer a JSON object")
    return body


def _form_encoded(value: str) -> str:
    return urlencode({"": value})[1:]


def _sealing_key(client_secret: str) -> bytes:
    # A key of its own, derived: the secret itself never signs anything the browser holds.
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"brobygger coordinators' page: pending OIDC sign-in",
    ).derive(client_secret.encode("utf-8"))
    return base64.urlsafe_b64encode(key)
