"""``GET /fhir/metadata``: the CapabilityStatement, made from the same tables the search
and read handlers use, so that it says exactly what the hub does."""

from __future__ import annotations

from typing import Any

from hub import clock
from hub.domain.fhir_search import COMMON, PARAMETERS, RESOURCE_TYPES, include_values
from schema.fhir.offers import OFFER_TYPE
from schema.fhir.offers import SEARCH_PARAMETERS as OFFER_PARAMETERS
from schema.fhir.outcomes import INGEST_PATH

FHIR_VERSION = "4.0.1"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
_SECURITY = "http://terminology.hl7.org/CodeSystem/restful-security-service"

_DOCUMENTATION = {
    "patient": "The patient the resource is about: Patient/<id>, or :identifier=<CPR system>|<CPR>",
    "subject": "As patient: the hub's subjects are patients",
    "_id": "The resource's id",
    "_lastUpdated": "When the version shown was stored (not selected for a resource shown "
    "without its meta, as a hospital notification is)",
}


def _search_params(resource_type: str) -> list[dict[str, Any]]:
    params = []
    for parameter in (*PARAMETERS[resource_type], *COMMON):
        described: dict[str, Any] = {
            "name": parameter.name,
            "definition": parameter.definition,
            "type": parameter.type,
        }
        text = _DOCUMENTATION.get(parameter.name) or parameter.expression
        described["documentation"] = text
        params.append(described)
    return params


def _resource(resource_type: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "type": resource_type,
        "interaction": [
            {"code": code} for code in ("read", "vread", "history-instance", "search-type")
        ],
        "versioning": "versioned",
        "readHistory": True,
        "updateCreate": False,
        "conditionalCreate": False,
        "conditionalRead": "not-match",
        "conditionalUpdate": False,
        "conditionalDelete": "not-supported",
        "searchParam": _search_params(resource_type),
    }
    includes = include_values(resource_type)
    if includes:
        resource["searchInclude"] = includes
    if resource_type == "Patient":
        resource["operation"] = [{"name": "everything", "definition": EVERYTHING}]
    return resource


def _offers() -> dict[str, Any]:
    """The offers directory (schema/fhir/offers.py): read and search, no patient data."""
    return {
        "type": OFFER_TYPE,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [
            {"name": name, "type": kind, "documentation": text}
            for name, (kind, text) in OFFER_PARAMETERS.items()
        ],
    }


def capability_statement(base: str, *, smart: bool) -> dict[str, Any]:
    """What the hub's FHIR REST interface supports; ``smart`` when it publishes
    ``/.well-known/smart-configuration`` (an OpenID Connect issuer is configured)."""
    security: dict[str, Any] = {
        "cors": False,
        "description": (
            "Every request needs a bearer token (Authorization: Bearer). What a token "
            "reads is what the patient's consent lets its organisation see; SMART on FHIR "
            "scopes (patient/*.rs, user/Encounter.rs, system/*.rs …) on the token narrow "
            "it further, never widen it."
        ),
    }
    if smart:
        security["service"] = [{"coding": [{"system": _SECURITY, "code": "SMART-on-FHIR"}]}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": clock.now().date().isoformat(),
        "publisher": "Brobygger",
        "kind": "instance",
        "software": {"name": "Brobygger"},
        "implementation": {
            "description": "Brobygger: each sector's consented view of the patient's pathway",
            "url": base,
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Reads only: read, vread, history, search and Patient/$everything. "
                    f"Writes go to the message intake, POST {INGEST_PATH}."
                ),
                "security": security,
                "resource": [*(_resource(t) for t in RESOURCE_TYPES), _offers()],
            }
        ],
    }
