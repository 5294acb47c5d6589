"""Directory entries as organisations send them: a FHIR Organization under its SOR code."""

from __future__ import annotations

import orjson

from hub.domain.identifiers import SOR_SYSTEM


def directory_entry(resource_id: str, sor: str, name: str) -> bytes:
    """An active Organization ``resource_id`` naming the organisation ``sor`` ``name``."""
    return orjson.dumps(
        {
            "resourceType": "Organization",
            "id": resource_id,
            "identifier": [{"system": SOR_SYSTEM, "value": sor}],
            "active": True,
            "name": name,
        }
    )
