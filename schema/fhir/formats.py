"""How the REST interface speaks: FHIR JSON, ``_format``, ``_pretty``, ``Prefer`` and ETags."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from schema.fhir.outcomes import FhirError

FHIR_JSON = "application/fhir+json"
_JSON_FORMATS = {"json", "application/json", FHIR_JSON}
_XML_FORMATS = {"xml", "text/xml", "application/xml", "application/fhir+xml"}


def media_type(request: Request) -> str:
    """The media type to answer in; 406 for one the hub does not write (XML, Turtle).

    ``_format`` wins over ``Accept`` (FHIR http.html#mime-type): ``json`` and
    ``application/fhir+json`` give FHIR JSON, ``application/json`` plain JSON's type.
    """
    wanted = request.query_params.get("_format")
    if wanted is not None:
        base = wanted.split(";")[0].strip()
        if base in _JSON_FORMATS:
            return "application/json" if base == "application/json" else FHIR_JSON
        raise FhirError(406, "not-supported", f"_format={wanted}: the hub answers in JSON only")
    accept = request.headers.get("accept", "")
    kinds = [part.split(";")[0].strip() for part in accept.split(",") if part.strip()]
    if not kinds or any("json" in kind or kind in ("*/*", "application/*") for kind in kinds):
        return FHIR_JSON
    if any(kind in _XML_FORMATS or kind.startswith(("application/", "text/")) for kind in kinds):
        raise FhirError(
            406, "not-supported", f"Accept: {accept}: the hub answers in FHIR JSON only"
        )
    return FHIR_JSON


def fhir_response(
    request: Request,
    body: dict[str, Any] | None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
) -> Response:
    """``body`` as FHIR JSON (indented with ``_pretty=true``)."""
    option = orjson.OPT_INDENT_2 if request.query_params.get("_pretty") == "true" else 0
    content = b"" if body is None else orjson.dumps(body, option=option)
    return Response(
        content,
        status_code=status,
        media_type=f"{kind or FHIR_JSON}; charset=utf-8" if body is not None else None,
        headers=headers,
    )


def prefers_strict(request: Request) -> bool:
    """``Prefer: handling=strict``: an unknown search parameter is an error, not ignored."""
    return "strict" in _preferences(request).get("handling", ())


def _preferences(request: Request) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            found.setdefault(name.strip().lower(), []).append(value.strip().strip('"').lower())
    return {name: tuple(values) for name, values in found.items()}


def etag_of(resource: dict[str, Any]) -> str:
    """A weak ETag of what the caller is shown: its version, or (shown without its meta,
    as a hospital notification is) a digest of the content itself."""
    meta = resource.get("meta")
    version = meta.get("versionId") if isinstance(meta, dict) else None
    if isinstance(version, str) and version:
        return f'W/"{version}"'
    digest = hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f'W/"{digest[:16]}"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether ``If-None-Match`` already names ``etag`` (then the answer is 304)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    given = {tag.strip() for tag in header.split(",")}
    bare = etag.removeprefix("W/")
    return "*" in given or etag in given or bare in given
