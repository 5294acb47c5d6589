"""``GET /fhir/{type}/{id}``, ``…/_history`` and ``…/_history/{vid}``.

All three go through ``hub.services.resource_read``, which answers a hidden resource
exactly as a missing one, after the same steps; here both become the same 404.
"""

from __future__ import annotations

import re
from email.utils import format_datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from hub.domain.smart_scopes import READ
from hub.domain.timeline import fhir_instant
from hub.services.consent.read import Disclosure
from hub.services.resource_read import read_resource, read_versions
from schema.fhir.bundles import full_url
from schema.fhir.context import FhirContext
from schema.fhir.formats import etag_of, fhir_response, media_type, not_modified
from schema.fhir.outcomes import FhirError, not_found
from schema.fhir.scopes import narrowed_to

READ_ACTION = "fhir.read"
HISTORY_ACTION = "fhir.history.read"
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _resource_headers(content: dict[str, Any]) -> dict[str, str]:
    headers = {"ETag": etag_of(content)}
    meta = content.get("meta")
    if isinstance(meta, dict) and isinstance(meta.get("lastUpdated"), str):
        instant = fhir_instant(meta["lastUpdated"])
        if instant is not None:
            headers["Last-Modified"] = format_datetime(instant, usegmt=True)
    return headers


def _shown(request: Request, content: dict[str, Any]) -> Response:
    kind = media_type(request)
    headers = _resource_headers(content)
    if not_modified(request, headers["ETag"]):
        return fhir_response(request, None, status=304, headers=headers)
    return fhir_response(request, content, headers=headers, kind=kind)


async def read(request: Request, context: FhirContext) -> Response:
    resource_type, resource_id = context.known_type(request), request.path_params["id"]
    principal = await context.principal(request)
    within = await narrowed_to(context.units, principal, resource_type, READ)
    if not _ID.match(resource_id):
        raise not_found(resource_type, resource_id)
    found = await read_resource(
        context.units,
        principal,
        resource_type,
        resource_id,
        policy=context.policy,
        action=READ_ACTION,
        within=within,
    )
    if found is None:
        raise not_found(resource_type, resource_id)
    return _shown(request, found.content)


async def _versions(request: Request, context: FhirContext) -> list[Disclosure]:
    resource_type, resource_id = context.known_type(request), request.path_params["id"]
    principal = await context.principal(request)
    within = await narrowed_to(context.units, principal, resource_type, READ)
    if not _ID.match(resource_id):
        raise not_found(resource_type, resource_id)
    versions = await read_versions(
        context.units,
        principal,
        resource_type,
        resource_id,
        policy=context.policy,
        action=HISTORY_ACTION,
        within=within,
    )
    if not versions:
        raise not_found(resource_type, resource_id)
    return versions


def _version_of(disclosure: Disclosure) -> str:
    meta = disclosure.content.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    return version if isinstance(version, str) else str(disclosure.stored.version_id)


async def history(request: Request, context: FhirContext) -> Response:
    kind = media_type(request)
    versions = await _versions(request, context)
    base = context.base(request)
    newest_first = list(reversed(versions))
    entries = []
    for disclosure in newest_first:
        version = _version_of(disclosure)
        created = version == "1"
        entry: dict[str, Any] = {
            "fullUrl": full_url(base, disclosure),
            "resource": disclosure.content,
            "request": {
                "method": "POST" if created else "PUT",
                "url": f"{disclosure.content['resourceType']}/{disclosure.content['id']}",
            },
            "response": {
                "status": "201 Created" if created else "200 OK",
                "etag": f'W/"{version}"',
            },
        }
        entries.append(entry)
    bundle = {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(entries),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": entries,
    }
    return fhir_response(request, bundle, kind=kind)


async def vread(request: Request, context: FhirContext) -> Response:
    media_type(request)
    wanted = request.path_params["vid"]
    try:
        versions = await _versions(request, context)
    except FhirError as error:
        if error.status != 404:
            raise
        versions = []
    found = next((v for v in versions if _version_of(v) == wanted), None)
    if found is None:
        resource_type, resource_id = request.path_params["type"], request.path_params["id"]
        raise not_found(resource_type, f"{resource_id}/_history/{wanted}")
    return _shown(request, found.content)
