"""What the user typed into a form, kept so that no error and no sign-in loses it.

On an error the page shows the form again with ``Kept`` values. When the sign-in has
run out while the user was filling in a form, the form's values are sealed into a
cookie and the user is sent to sign in; back on the form's page (the same user: same
subject and organisation), they are filled in again and the cookie is gone.

Safe to keep, because the cookie is encrypted and authenticated with a key of this
process (``Fernet``; a restart forgets it), HttpOnly, SameSite=Strict, lives ten
minutes, is read once, and is handed back only to the user who typed it: another user
signing in on the same browser never sees it. CSRF tokens and pasted sign-in tokens are
never kept; a form too large for a cookie is not kept (the user is told).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from cryptography.fernet import Fernet, InvalidToken
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from web.session import CSRF_FIELD, delete_private_cookie, set_private_cookie

KEPT_COOKIE = "brobygger_formular"
KEPT_SECONDS = 600
MAX_SEALED = 3800  # bytes: a cookie holds about 4 KB
_NEVER_KEPT = frozenset({CSRF_FIELD, "token"})


@dataclass(frozen=True)
class Kept:
    """A form's typed values (``action``: the path it is sent to), to fill it in again."""

    action: str = ""
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, action: str, form: FormData) -> Kept:
        values: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if name not in _NEVER_KEPT and isinstance(value, str):
                values.setdefault(name, []).append(value)
        return cls(action, {k: tuple(v) for k, v in values.items()})

    @classmethod
    def sent(cls, request: Request, form: FormData) -> Kept:
        """The values of ``form``, kept for the page path the form was sent to."""
        return cls.of(request.url.path.removeprefix(request.scope.get("root_path", "")), form)

    def __bool__(self) -> bool:
        return bool(self.values)

    def text(self, name: str, default: str = "") -> str:
        """The first value typed into ``name``."""
        found = self.values.get(name)
        return found[0] if found else default

    def all(self, name: str) -> tuple[str, ...]:
        return tuple(self.values.get(name, ()))

    def has(self, name: str, value: str) -> bool:
        """Whether ``value`` was chosen in ``name`` (a checkbox, an option)."""
        return value in self.values.get(name, ())

    def at(self, name: str, index: int, default: str = "") -> str:
        """The ``index``-th value of a repeated field (a row of a table of fields)."""
        found = self.values.get(name, ())
        return found[index] if index < len(found) else default


NOTHING = Kept()


class FormKeeper:
    """Seals kept forms into the browser while its user signs in again."""

    def __init__(self) -> None:
        self._fernet = Fernet(Fernet.generate_key())

    def keep(self, response: Response, request: Request, kept: Kept, sub: str, org: str) -> bool:
        """Set the cookie on ``response``; False when the form is too large to keep."""
        sealed = self._fernet.encrypt(
            orjson.dumps({"action": kept.action, "values": kept.values, "who": [sub, org]})
        ).decode()
        if len(sealed) > MAX_SEALED:
            return False
        set_private_cookie(response, request, KEPT_COOKIE, sealed, max_age=KEPT_SECONDS)
        return True

    def restore(self, request: Request, sub: str, org: str) -> Kept | None:
        """The form kept in this browser for the user ``sub`` of ``org``, if any."""
        sealed = request.cookies.get(KEPT_COOKIE)
        if not sealed:
            return None
        try:
            kept = orjson.loads(self._fernet.decrypt(sealed.encode(), ttl=KEPT_SECONDS))
        except (InvalidToken, ValueError):
            return None
        if kept.get("who") != [sub, org]:
            return None  # someone else's typing: never shown to another user
        values = kept.get("values") or {}
        return Kept(
            str(kept.get("action") or ""),
            {str(k): tuple(str(v) for v in vs) for k, vs in values.items()},
        )


def forget_kept(response: Response, request: Request) -> None:
    delete_private_cookie(response, request, KEPT_COOKIE)
