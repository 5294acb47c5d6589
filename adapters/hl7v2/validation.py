"""Validate built resources against the FHIR R4B models and return their JSON."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from hub.domain.translation import FhirJson, TranslationError

_MODELS: dict[str, Any] = {"Patient": Patient, "Encounter": Encounter}


def validated(resource: dict[str, Any]) -> FhirJson:
    """``resource`` as FHIR JSON after a round trip through its R4B model.

    A validation failure becomes a TranslationError whose ``where`` is the FHIR
    path of the first offending element (e.g. ``Patient.name.0.family``).
    """
    kind = str(resource["resourceType"])
    try:
        model = _MODELS[kind].model_validate(resource)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        raise TranslationError(
            f"the {kind} built from this message is not valid FHIR R4: {error['msg']}",
            f"{kind}.{path}" if path else kind,
        ) from exc
    dumped: FhirJson = model.model_dump(mode="json", exclude_none=True)
    return dumped
