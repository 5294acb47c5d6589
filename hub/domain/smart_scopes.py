"""SMART on FHIR scopes (App Launch v2, and v1's ``.read``/``.write``/``.*``), as pure rules.

A token may carry scopes such as ``patient/*.rs``, ``user/Encounter.rs`` or
``system/*.rs``. They only ever narrow what the token may read: what the consent rules
let its organisation see stays the most it can see. A token with no SMART scope is not
narrowed (the hub's own tokens, an identity provider's ``openid profile``).

* ``patient/…`` grants reach only the patient in the token's launch context (its
  ``patient`` claim, or the ``cpr`` of a citizen's own token); without one they grant
  nothing.
* ``user/…`` and ``system/…`` grant what the caller's organisation may see.
* Permissions: ``r`` read (read, vread, history, ``$everything``), ``s`` search;
  ``c``, ``u``, ``d`` are writes, which the REST interface does not take. v2 letters
  must come in the order ``cruds``; v1's ``read`` is ``rs``.
* A scope with a query (``patient/Observation.rs?category=…``) is a narrower grant than
  the hub can check, so it grants nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

READ = "r"
SEARCH = "s"

_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)$")
_V2 = re.compile(r"^c?r?u?d?s?$")
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}

PATIENT_CONTEXT = "patient"


@dataclass(frozen=True)
class Scope:
    context: str  # patient, user or system
    resource_type: str  # a type, or "*"
    permissions: frozenset[str]

    def grants(self, resource_type: str, permission: str) -> bool:
        return self.resource_type in ("*", resource_type) and permission in self.permissions


def parse_scope(text: str) -> Scope | None:
    """The SMART scope ``text`` is, or None for anything else (``openid``, ``launch``,
    a scope with a query, malformed permissions)."""
    match = _SCOPE.match(text)
    if match is None:
        return None
    context, resource_type, permissions = match.groups()
    if permissions in _V1:
        return Scope(context, resource_type, _V1[permissions])
    if permissions and _V2.match(permissions):
        return Scope(context, resource_type, frozenset(permissions))
    return None


def is_smart(text: str) -> bool:
    """Whether ``text`` is shaped as a SMART resource scope (``context/Type.perms…``),
    granted or not: such a scope makes the token a narrowed one."""
    return bool(re.match(r"^(patient|user|system)/", text))


@dataclass(frozen=True)
class Grant:
    """What a token's scopes let it do with one resource type."""

    allowed: bool
    patient_only: bool  # only the patient in the token's launch context


@dataclass(frozen=True)
class Scopes:
    """A token's scopes; ``narrowing`` is False when it carries no SMART scope at all."""

    scopes: tuple[Scope, ...]
    narrowing: bool

    @classmethod
    def of(cls, texts: frozenset[str]) -> Scopes:
        parsed = tuple(s for s in (parse_scope(t) for t in sorted(texts)) if s is not None)
        return cls(parsed, any(is_smart(t) for t in texts))

    def grant(self, resource_type: str, permission: str) -> Grant:
        if not self.narrowing:
            return Grant(allowed=True, patient_only=False)
        granting = [s for s in self.scopes if s.grants(resource_type, permission)]
        if not granting:
            return Grant(allowed=False, patient_only=False)
        return Grant(allowed=True, patient_only=all(s.context == PATIENT_CONTEXT for s in granting))
