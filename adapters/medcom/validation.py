"""Validate an output resource, pointing any error back at the message element it came from."""

from __future__ import annotations

import re
from typing import Any

from adapters.fhirtools import validated
from hub.domain.translation import FhirJson, TranslationError

_INDEX = re.compile(r"\.([0-9]+)(?=\.|$)")


def checked(resource: dict[str, Any], source: str) -> FhirJson:
    """``resource`` validated against R4B. ``source`` is the path of the message
    resource it was made from (``Bundle.entry[2].resource(Encounter)``): a failure
    at ``Encounter.period.0`` is reported at ``<source>.period[0]``."""
    try:
        return validated(resource)
    except TranslationError as exc:
        kind = str(resource.get("resourceType"))
        where = exc.where or kind
        inner = where[len(kind) :] if where.startswith(kind) else ""
        raise TranslationError(exc.what, source + _INDEX.sub(r"[\1]", inner)) from exc
