"""A small OpenID Connect provider in the test process, on loopback, for signing in.

It serves what a region's provider serves to the hub — discovery, its JWKS (RS256, a key
generated per run), ``/authorize`` (which signs in ``user`` at once and redirects back
with a code), ``/token`` (confidential client, PKCE S256 checked, each code good once)
and ``/logout`` — and can be told to answer with a faulty ID token, to see the hub refuse
it, or to rotate its signing key.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route

from tests.support import clock
from tests.support.services import free_port

HUB_AUDIENCE = "brobygger"
KEY_ID = "fake-idp-key-1"  # the first signing key's; a rotation brings another


class IdTokenFault(Enum):
    """What can be wrong with the ID token the provider hands out."""

    TAMPERED = "tampered"  # claims changed after signing
    WRONG_NONCE = "nonce"
    NO_NONCE = "no-nonce"
    WRONG_AUDIENCE = "audience"
    WRONG_ISSUER = "issuer"  # signed by the provider, naming another issuer
    WRONG_AT_HASH = "at_hash"  # bound to another access token than the one sent with it


@dataclass
class FakeIdentityProvider:
    issuer: str
    client_id: str = "brobygger-ui"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    redirect_url: str = ""  # the one redirect URI registered for the client
    # The hub's claims of whoever signs in next (sector, org, kommune, roles).
    user: dict[str, Any] = field(default_factory=dict)
    id_token_fault: IdTokenFault | None = None
    # Whether /authorize first shows a sign-in form (as a real provider does, so the
    # redirect back starts on the provider's own page) or redirects back at once.
    login_form: bool = False
    # Where browsers reach /authorize and /logout, when that is another site than the
    # issuer's address the hub uses (as a browser sees a provider on another domain).
    front_channel: str | None = None
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)
    _key: rsa.RSAPrivateKey = field(default_factory=lambda: _new_key())
    _key_id: str = KEY_ID

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def browser_base(self) -> str:
        """The issuer as browsers address it (``/authorize``, ``/logout``)."""
        if self.front_channel is None:
            return self.issuer
        return self.front_channel + urlsplit(self.issuer).path

    def by_loopback(self, url: str) -> str:
        """A front-channel address rewritten to where the provider really listens."""
        return url.replace(self.browser_base, self.issuer, 1)

    def rotate_key(self) -> None:
        """Sign with a new key from now on; the JWKS publishes only the new one."""
        self._key = _new_key()
        self._key_id = f"fake-idp-key-{secrets.token_hex(4)}"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/authorize/login", self._login, methods=["POST"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/logout", self._logout),
            ]
        )

    async def _discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.browser_base}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": self.jwks_url,
                "end_session_endpoint": f"{self.browser_base}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def _jwks(self, _request: Request) -> Response:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        key = {**public, "kid": self._key_id, "use": "sig", "alg": "RS256"}
        return JSONResponse({"keys": [key]})

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        problems = [
            name
            for name, ok in (
                ("client_id", query.get("client_id") == self.client_id),
                ("redirect_uri", query.get("redirect_uri") == self.redirect_url),
                ("response_type", query.get("response_type") == "code"),
                ("scope", "openid" in query.get("scope", "").split()),
                ("code_challenge_method", query.get("code_challenge_method") == "S256"),
                ("code_challenge", bool(query.get("code_challenge"))),
                ("state", bool(query.get("state"))),
                ("nonce", bool(query.get("nonce"))),
            )
            if not ok
        ]
        if problems:
            return PlainTextResponse(f"bad authorization request: {problems}", status_code=400)
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "challenge": query["code_challenge"],
            "nonce": query["nonce"],
            "redirect_uri": query["redirect_uri"],
        }
        back = f"{self.redirect_url}?{urlencode({'code': code, 'state': query['state']})}"
        if not self.login_form:
            return RedirectResponse(back, status_code=302)
        return HTMLResponse(
            '<!doctype html><html lang="da"><title>Regionens login</title>'
            f'<form method="post" action="{self.browser_base}/authorize/login">'
            f'<input type="hidden" name="back" value="{html.escape(back)}">'
            "<button>Log ind</button></form></html>"
        )

    async def _login(self, request: Request) -> Response:
        form = await request.form()
        return RedirectResponse(str(form["back"]), status_code=302)

    async def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self._codes.pop(str(form.get("code", "")), None)  # a code is good once
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
            or challenge != grant["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access_token = self.access_token(self.user)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": 600,
                "access_token": access_token,
                "id_token": self._id_token(grant["nonce"], access_token),
            }
        )

    async def _logout(self, _request: Request) -> Response:
        return PlainTextResponse("Du er logget ud hos regionen.")

    def access_token(self, claims: dict[str, Any]) -> str:
        """An access token for the hub (audience ``brobygger``) carrying ``claims``."""
        return self._sign({"aud": HUB_AUDIENCE, **claims})

    def _id_token(self, nonce: str, access_token: str) -> str:
        fault = self.id_token_fault
        # As providers do (OpenID Connect Core §3.1.3.6): the ID token names the access
        # token it came with, by the left half of its SHA-256.
        bound_to = "another-access-token" if fault is IdTokenFault.WRONG_AT_HASH else access_token
        half = hashlib.sha256(bound_to.encode()).digest()[:16]
        claims = {
            "aud": "another-client" if fault is IdTokenFault.WRONG_AUDIENCE else self.client_id,
            "sub": self.user["sub"],
            "nonce": "not-the-nonce" if fault is IdTokenFault.WRONG_NONCE else nonce,
            "at_hash": base64.urlsafe_b64encode(half).rstrip(b"=").decode(),
        }
        if fault is IdTokenFault.NO_NONCE:
            del claims["nonce"]
        if fault is IdTokenFault.WRONG_ISSUER:
            claims["iss"] = self.issuer.replace("/realms/region", "/realms/another")
        token = self._sign(claims)
        if fault is IdTokenFault.TAMPERED:
            # Another subject in the payload, the original signature kept.
            header, payload, signature = token.split(".")
            signed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            forged = json.dumps({**signed, "sub": "someone-else"}).encode()
            encoded = base64.urlsafe_b64encode(forged).rstrip(b"=").decode()
            token = f"{header}.{encoded}.{signature}"
        return token

    def _sign(self, claims: dict[str, Any]) -> str:
        now = clock.now()
        return jwt.encode(
            {"iss": self.issuer, "iat": now, "exp": now + timedelta(minutes=10), **claims},
            self._key,
            algorithm="RS256",
            headers={"kid": self._key_id},
        )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextmanager
def fake_identity_provider(
    front_channel_host: str | None = None,
) -> Iterator[FakeIdentityProvider]:
    """The provider served by uvicorn on a free loopback port, stopped afterwards."""
    port = free_port()
    provider = FakeIdentityProvider(
        issuer=f"http://127.0.0.1:{port}/realms/region",
        front_channel=f"http://{front_channel_host}:{port}" if front_channel_host else None,
    )
    config = uvicorn.Config(
        _under_issuer_path(provider), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-idp", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake identity provider did not start"
        time.sleep(0.02)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _under_issuer_path(provider: FakeIdentityProvider) -> Starlette:
    # Providers such as Keycloak put each realm under a path; the hub must cope.
    return Starlette(routes=[Mount("/realms/region", provider.app())])
