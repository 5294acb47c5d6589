"""Typed reading of untrusted FHIR JSON: every element may be missing or of the wrong shape.

A MedCom message is parsed into plain Python values; a sender's mistake (a list
where an object belongs, a number where a string belongs) must become a
TranslationError naming the element, never an AttributeError deep in the mapping.
"""

from __future__ import annotations

from typing import Any

from hub.domain.translation import TranslationError

JsonObject = dict[str, Any]


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def optional_object(value: object, where: str) -> JsonObject | None:
    """``value`` when it is a JSON object, None when absent, else TranslationError."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TranslationError(f"expected a JSON object, found {_kind(value)}", where)
    return value


def required_object(value: object, where: str, what: str) -> JsonObject:
    """``value`` as a JSON object; ``what`` names the element when it is missing."""
    found = optional_object(value, where)
    if found is None:
        raise TranslationError(f"{what} is missing", where)
    return found


def items(value: object, where: str) -> list[Any]:
    """``value`` as a list (an absent element is an empty list)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TranslationError(f"expected a JSON list, found {_kind(value)}", where)
    return value


def objects(value: object, where: str) -> list[tuple[int, JsonObject]]:
    """The objects of the list ``value`` with their positions; an item that is not
    an object is refused at ``where[i]``."""
    found = []
    for index, item in enumerate(items(value, where)):
        found.append((index, required_object(item, f"{where}[{index}]", "the item")))
    return found


def optional_text(value: object, where: str) -> str | None:
    """``value`` when it is a non-blank string, None when absent or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TranslationError(f"expected a string, found {_kind(value)}", where)
    return value if value.strip() else None


def required_text(value: object, where: str, what: str) -> str:
    """``value`` as a non-blank string; ``what`` names the element when it is missing."""
    found = optional_text(value, where)
    if found is None:
        raise TranslationError(f"{what} is missing", where)
    return found


def optional_bool(value: object, where: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise TranslationError(f"expected true or false, found {_kind(value)}", where)
    return value
