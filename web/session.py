"""Signing in to the page: the bearer token in a cookie, and CSRF protection of forms.

The page holds no session of its own. The cookie carries the caller's bearer token
(in development the one ``hub token`` prints) and every request verifies it with the
same ``TokenVerifier`` as the API, so an expired or revoked token ends access at once.
The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page
sends it) and Secure when the page is served over https.

Every form POST carries a CSRF token that must equal a second, random cookie
(double submit): another site can neither read that cookie nor set it, so it cannot
forge a form the hub would take. The Origin header, when the browser sends one, must
be the page's own as well.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hub.services.auth import Principal, TokenError, TokenVerifier

SESSION_COOKIE = "brobygger_session"
CSRF_COOKIE = "brobygger_csrf"
CSRF_FIELD = "csrf"


class CsrfError(Exception):
    """A form POST without the CSRF token of the browser that loaded the form."""


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    token: str
    name: str | None = None  # the person's name, when the token gives one


async def signed_in(request: Request, verifier: TokenVerifier) -> SignedIn | None:
    """Who the cookie's token says the caller is; None when absent, expired or bad."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal = await verifier.verify(f"Bearer {token}")
    except TokenError:
        return None
    return SignedIn(principal, token, person_name(_claims(token)))


def person_name(claims: dict[str, Any]) -> str | None:
    """The person's name from OpenID Connect's standard claims: ``name``, else
    ``given_name`` and ``family_name``; None when the token names no person."""
    name = claims.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip()[:100]
    parts = [claims.get("given_name"), claims.get("family_name")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return joined[:100] or None


def lapsed_identity(request: Request) -> tuple[str, str] | None:
    """(sub, org) of the session cookie's token, read without checking it: for a token
    that has run out, to hand what its user typed back to that same user only, once a
    verified token names them again. Never a way in."""
    token = request.cookies.get(SESSION_COOKIE)
    claims = _claims(token) if token else {}
    sub, org = claims.get("sub"), claims.get("org")
    return (sub, org) if isinstance(sub, str) and isinstance(org, str) else None


def _claims(token: str) -> dict[str, Any]:
    """A token's claims, unchecked: only ever read after ``verifier.verify`` or to
    compare with a verified principal."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


async def verified_token(token: str, verifier: TokenVerifier) -> Principal:
    """The principal of a pasted token (raises ``TokenError``)."""
    cleaned = token.strip()
    if cleaned.lower().startswith("bearer "):
        cleaned = cleaned[len("bearer ") :].strip()
    return await verifier.verify(f"Bearer {cleaned}")


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


def set_private_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    """Set a cookie no script reads and no other site's page sends (Secure over https)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/",
    )


def delete_private_cookie(response: Response, request: Request, name: str) -> None:
    """Delete a cookie ``set_private_cookie`` set."""
    response.delete_cookie(
        name, path="/", httponly=True, samesite="strict", secure=secure_cookies(request)
    )


def set_session(response: Response, request: Request, token: str) -> None:
    cleaned = token.strip()
    if cleaned.lower().startswith("bearer "):
        cleaned = cleaned[len("bearer ") :].strip()
    set_private_cookie(response, request, SESSION_COOKIE, cleaned)


def clear_session(response: Response, request: Request) -> None:
    delete_private_cookie(response, request, SESSION_COOKIE)


def csrf_token(request: Request) -> str:
    """The browser's CSRF token: its cookie's value, or a new one ``remember_csrf`` sets."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing:
        return existing
    fresh: str | None = request.scope.get("state", {}).get("new_csrf")
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})["new_csrf"] = fresh
    return fresh


def remember_csrf(response: Response, request: Request) -> None:
    """Set the CSRF cookie when this response's forms carry a new token."""
    fresh = request.scope.get("state", {}).get("new_csrf")
    if fresh and not request.cookies.get(CSRF_COOKIE):
        set_private_cookie(response, request, CSRF_COOKIE, fresh)


def check_csrf(request: Request, form: FormData) -> None:
    """Refuse a form POST that did not come from a form this hub served this browser."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfError("the form was sent from another site")
    cookie = request.cookies.get(CSRF_COOKIE) or ""
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not secrets.compare_digest(cookie, sent):
        raise CsrfError("the form's CSRF token is missing or wrong")
