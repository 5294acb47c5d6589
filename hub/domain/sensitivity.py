"""Security labels the hub puts on what it receives, so consent can treat it as sensitive."""

from __future__ import annotations

from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson

ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

PSYCHIATRY_LABEL: FhirJson = {
    "system": ACT_CODE_SYSTEM,
    "code": "PSY",
    "display": "psychiatry information sensitivity",
}
"""HL7's sensitivity label for psychiatric information, on everything psychiatry sends."""


def labelled(resource: FhirJson, sector: Sector) -> FhirJson:
    """``resource`` with the sensitivity labels its sending sector calls for.

    Everything a psychiatry sender provides is labelled, whatever the message said:
    the label follows from who sent it (the token), not from the message content.
    """
    if sector is not Sector.PSYCHIATRY:
        return resource
    meta = dict(resource.get("meta") or {})
    security = [dict(label) for label in meta.get("security") or []]
    if not any(
        label.get("system") == ACT_CODE_SYSTEM and label.get("code") == "PSY" for label in security
    ):
        security.append(dict(PSYCHIATRY_LABEL))
    meta["security"] = security
    return {**resource, "meta": meta}


def is_psychiatric(resource: FhirJson) -> bool:
    return any(
        label.get("system") == ACT_CODE_SYSTEM and label.get("code") == "PSY"
        for label in (resource.get("meta") or {}).get("security") or []
    )
