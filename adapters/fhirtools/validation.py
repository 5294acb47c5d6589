"""Validate resources against the FHIR R4B models and return their JSON."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from hub.domain.translation import FhirJson, TranslationError


@cache
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def validated(
    resource: dict[str, Any], *, at: str | None = None, round_trip: bool = True
) -> FhirJson:
    """``resource`` as FHIR JSON after a round trip through its R4B model.

    A validation failure becomes a TranslationError whose ``where`` is the FHIR
    path of the first offending element (``Patient.name[0].family``), or, given
    ``at`` (where in the message the resource came from, e.g.
    ``Bundle.entry[2].resource(Encounter)``), that path continued from there.

    The models accept some values in a lax form (``"true"`` for a boolean) and the
    round trip writes them properly; it costs twice the validation. An adapter that
    builds a resource entirely itself, with proper JSON types, may pass
    ``round_trip=False`` to get a copy of its input once validated (its tests must
    show the two agree); anything copied from a sender's payload needs the round trip.
    """
    kind = str(resource.get("resourceType") or "")
    try:
        model_class = _model(kind)
    except (KeyError, ValueError) as exc:
        where = f"{at}.resourceType" if at else "resourceType"
        raise TranslationError(f"{kind!r} is not a FHIR R4 resource type", where) from exc
    try:
        model = model_class.model_validate(resource)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
        )
        raise TranslationError(
            f"the {kind} is not valid FHIR R4: {error['msg']}", f"{at or kind}{path}"
        ) from exc
    if not round_trip:
        copied: FhirJson = orjson.loads(orjson.dumps(resource))
        return copied
    dumped: FhirJson = model.model_dump(mode="json", exclude_none=True)
    return dumped
