"""Bearer tokens: who is calling, from which sector and organisation.

In development the hub signs and verifies its own tokens with a key generated
under the var directory (or given in HUB_TOKEN_SIGNING_KEY). In production tokens
come from the region's identity provider and are verified against its JWKS.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from jwt.types import Options

from hub import clock
from hub.config import Settings
from hub.domain.controllers import ControllerError, checked_controller, default_controller
from hub.domain.directory import Organisation
from hub.domain.identifiers import normalise_cpr
from hub.domain.sectors import Sector
from hub.domain.senders import GLN, KINDS, SOR
from hub.domain.translation import Sender

_KOMMUNE = re.compile(r"^\d{3}$")
# A role name as identity providers write them ("auditor", "urn:…:auditor"); no spaces.
_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")
_HS_ALGORITHM = "HS256"
_JWKS_ALGORITHMS = ["RS256", "ES256", "PS256"]
DEV_KEY_FILE = "dev-signing-key"


class TokenError(Exception):
    """A missing, malformed, expired or unacceptable bearer token."""


@dataclass(frozen=True)
class Principal:
    """The caller, as its token says."""

    sub: str
    sector: Sector
    org: str  # SOR code
    kommune: str | None = None  # 3-digit municipality code, for municipal callers
    # Further names the caller's messages may give their sender ("gln:…", "hl7:…").
    aliases: frozenset[str] = frozenset()
    # What the caller may do beyond its sector's reading ("auditor": every access log).
    roles: frozenset[str] = frozenset()
    # The citizen's own CPR number, on a token a patient uses to see their own data.
    cpr: str | None = None
    # The caller's data controller (hub.domain.controllers): the token's ``controller``
    # claim, else the organisation directory's, else its kommune or its organisation.
    controller: str = ""
    # The organisation's location numbers ("gln:…") in the directory: messages addressed
    # to them are addressed to the caller (never names it may send as: that is aliases).
    located_at: frozenset[str] = frozenset()
    # OAuth scopes (the ``scope`` claim); SMART ones narrow what the FHIR REST interface
    # reads for the token (hub.domain.smart_scopes), never widen it.
    scopes: frozenset[str] = frozenset()
    # The SMART launch context's patient (the ``patient`` claim): a FHIR Patient id.
    launch_patient: str | None = None

    def __post_init__(self) -> None:
        if not self.controller:
            default = default_controller(self.sector, self.org, self.kommune)
            object.__setattr__(self, "controller", default)

    def as_sender(self) -> Sender:
        return Sender(self.sector, self.org, self.sub, self.aliases, self.controller)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    sector = claims.get("sector")
    org = claims.get("org")
    kommune = claims.get("kommune")
    if not isinstance(sub, str) or not sub:
        raise TokenError("token has no subject (sub)")
    try:
        parsed_sector = Sector(str(sector))
    except ValueError:
        known = ", ".join(s.value for s in Sector)
        raise TokenError(f"token sector must be one of {known}") from None
    if not isinstance(org, str) or not org:
        raise TokenError("token has no organisation (org)")
    if kommune is not None and (not isinstance(kommune, str) or not _KOMMUNE.match(kommune)):
        raise TokenError("token kommune must be a 3-digit municipality code")
    if parsed_sector is Sector.MUNICIPALITY and kommune is None:
        raise TokenError("a municipality token must name its kommune")
    return Principal(
        sub=sub,
        sector=parsed_sector,
        org=org,
        kommune=kommune,
        aliases=_aliases(claims.get("aliases")),
        roles=_roles(claims.get("roles")),
        cpr=_cpr(claims.get("cpr")),
        controller=_controller(claims.get("controller"), parsed_sector, kommune),
        scopes=_scopes(claims.get("scope")),
        launch_patient=_launch_patient(claims.get("patient")),
    )


_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")  # RFC 6749's scope-token
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _scopes(claim: Any) -> frozenset[str]:
    """The ``scope`` claim: space-separated (RFC 8693), or a list as some providers send."""
    if claim is None:
        return frozenset()
    scopes = claim.split() if isinstance(claim, str) else claim
    return _names(scopes, _SCOPE, "token scope must be space-separated scopes, e.g. 'user/*.rs'")


def _launch_patient(claim: Any) -> str | None:
    if claim is None:
        return None
    if not isinstance(claim, str) or not _FHIR_ID.match(claim):
        raise TokenError("token patient must be a FHIR Patient id")
    return claim


def _controller(claim: Any, sector: Sector, kommune: str | None) -> str:
    if claim is None:
        return ""
    if not isinstance(claim, str):
        raise TokenError("token controller must be a string such as 'kommune:730'")
    try:
        return checked_controller(claim, sector, kommune)
    except ControllerError as error:
        raise TokenError(f"token {error}") from None


def _aliases(claim: Any) -> frozenset[str]:
    if claim is None:
        return frozenset()
    if not isinstance(claim, list) or not all(isinstance(alias, str) for alias in claim):
        raise TokenError("token aliases must be a list of 'kind:value' strings")
    for alias in claim:
        kind, _, value = alias.partition(":")
        if kind not in KINDS or kind == SOR or not value:
            raise TokenError(
                f"token alias {alias!r} must be 'gln:<GLN>' or 'hl7:<sending facility>'"
            )
    return frozenset(claim)


def _roles(claim: Any) -> frozenset[str]:
    if claim is None:
        return frozenset()
    return _names(claim, _ROLE, "token roles must be a list of role names (e.g. ['auditor'])")


def _names(claim: Any, pattern: re.Pattern[str], refusal: str) -> frozenset[str]:
    """A claim that must be a list of strings each matching ``pattern``, as a set."""
    if not isinstance(claim, list) or not all(
        isinstance(name, str) and pattern.match(name) for name in claim
    ):
        raise TokenError(refusal)
    return frozenset(claim)


def _cpr(claim: Any) -> str | None:
    if claim is None:
        return None
    normalised = normalise_cpr(claim) if isinstance(claim, str) else None
    if normalised is None:
        raise TokenError("token cpr must be a CPR number: 10 digits, DDMMYYSSSS")
    return normalised


def dev_signing_key(settings: Settings) -> str:
    """The configured signing key, or the one generated under the var directory."""
    if settings.token_signing_key:
        return settings.token_signing_key
    path = settings.var_dir / DEV_KEY_FILE
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _write_private(path: Path, content: str) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.touch(mode=0o600)
    temporary.write_text(content)
    temporary.replace(path)


def decode_options(*required: str) -> Options:
    """PyJWT's options with its time checks off: it reads the machine's time, and the
    hub checks ``exp``, ``nbf`` and ``iat`` against its own clock (``check_token_times``)."""
    return {
        "require": list(required),
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
    }


def check_token_times(claims: dict[str, Any], *, leeway: float = 0) -> None:
    """Refuse a token that has expired, or is not yet valid, by the hub's clock."""
    now = clock.now().timestamp()
    for claim in ("exp", "nbf", "iat"):
        if claim not in claims:
            continue
        try:
            value = int(claims[claim])
        except (ValueError, TypeError, OverflowError):
            raise jwt.DecodeError(f"the {claim} claim must be an integer") from None
        if claim == "exp" and value <= now - leeway:
            raise jwt.ExpiredSignatureError("Signature has expired")
        if claim != "exp" and value > now + leeway:
            raise jwt.ImmatureSignatureError(f"The token is not yet valid ({claim})")


DirectoryLookup = Callable[[str], Awaitable[Organisation | None]]
"""The organisation directory's entry of a SOR code, if it knows it."""


class TokenVerifier:
    def __init__(self, settings: Settings, *, directory: DirectoryLookup | None = None) -> None:
        self._directory = directory
        self._issuer = settings.token_issuer
        self._audience = settings.token_audience
        self._jwks: jwt.PyJWKClient | None = None
        self._key: str | None = None
        if settings.token_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.token_jwks_url, cache_keys=True)
        else:
            self._key = dev_signing_key(settings)

    async def verify(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer …`` header value."""
        if not authorization:
            raise TokenError("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenError("expected 'Authorization: Bearer <token>'")
        token = token.strip()
        try:
            if self._jwks is not None:
                # PyJWKClient fetches over blocking HTTP when its cache is cold.
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
                claims = jwt.decode(
                    token,
                    signing_key.key,
                    algorithms=_JWKS_ALGORITHMS,
                    audience=self._audience,
                    issuer=self._issuer,
                    options=decode_options("exp", "sub"),
                )
            else:
                assert self._key is not None
                claims = jwt.decode(
                    token,
                    self._key,
                    algorithms=[_HS_ALGORITHM],
                    audience=self._audience,
                    issuer=self._issuer,
                    options=decode_options("exp", "sub"),
                )
            check_token_times(claims)
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {error}") from None
        principal = principal_from_claims(claims)
        found = await self._directory(principal.org) if self._directory else None
        if found is None:
            return principal
        # The directory's location numbers address the organisation too (a letter sent to
        # it by GLN reaches it); and without a controller claim, its controller is the
        # directory's (the SOR institution owner). Whom it may send as stays the token's.
        located = frozenset(f"{GLN}:{gln}" for gln in found.glns)
        claimed = "controller" in claims or principal.sector is Sector.MUNICIPALITY
        controller = principal.controller if claimed else found.controller
        return replace(principal, located_at=located, controller=controller)


class TokenIssuer:
    """Issues development tokens; production tokens come from the identity provider."""

    def __init__(self, settings: Settings) -> None:
        if settings.token_jwks_url:
            raise TokenError(
                "this hub verifies tokens from an identity provider (HUB_TOKEN_JWKS_URL); "
                "ask it for a token"
            )
        self._key = dev_signing_key(settings)
        self._issuer = settings.token_issuer
        self._audience = settings.token_audience

    def issue(
        self,
        *,
        sector: Sector,
        org: str,
        sub: str,
        kommune: str | None = None,
        aliases: frozenset[str] = frozenset(),
        roles: frozenset[str] = frozenset(),
        cpr: str | None = None,
        controller: str | None = None,
        scopes: frozenset[str] = frozenset(),
        launch_patient: str | None = None,
        ttl: timedelta = timedelta(hours=12),
    ) -> str:
        now = clock.now()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": sub,
            "sector": sector.value,
            "org": org,
            "iat": now,
            "exp": now + ttl,
        }
        if kommune is not None:
            claims["kommune"] = kommune
        if aliases:
            claims["aliases"] = sorted(aliases)
        if roles:
            claims["roles"] = sorted(roles)
        if cpr is not None:
            claims["cpr"] = cpr
        if controller is not None:
            claims["controller"] = controller
        if scopes:
            claims["scope"] = " ".join(sorted(scopes))
        if launch_patient is not None:
            claims["patient"] = launch_patient
        principal_from_claims({**claims})  # refuse to issue what would not verify
        return jwt.encode(claims, self._key, algorithm=_HS_ALGORITHM)
