"""The hub's pathway-event codes inside a resource (hub.domain.pathway_codes).

A coding of the hub's own CodeSystem with a code the hub does not know would never
be counted, silently; it is refused instead, so the sender hears of the typo.
"""

from __future__ import annotations

from typing import Any

from hub.domain.pathway_codes import PATHWAY_EVENT_BY_CODE, PATHWAY_EVENTS
from hub.domain.translation import TranslationError


def pathway_events(resource: dict[str, Any], where: str) -> list[str]:
    """The pathway-event codes anywhere in ``resource``, in order of appearance."""
    found: list[str] = []
    _collect(resource, where, found)
    return found


def _collect(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, list):
        for position, item in enumerate(node):
            _collect(item, f"{path}[{position}]", found)
        return
    if not isinstance(node, dict):
        return
    if node.get("system") == PATHWAY_EVENTS and "code" in node:
        code = node["code"]
        if not isinstance(code, str) or code not in PATHWAY_EVENT_BY_CODE:
            raise TranslationError(
                f"{code!r} is not a code of the hub's pathway-event CodeSystem "
                f"{PATHWAY_EVENTS} (its codes: {', '.join(PATHWAY_EVENT_BY_CODE)})",
                f"{path}.code",
            )
        if code not in found:
            found.append(code)
        return
    for key, value in node.items():
        if isinstance(value, dict | list):
            _collect(value, f"{path}.{key}", found)
