"""Raw bytes to the entries of a plain FHIR payload: one resource, or a Bundle of type
transaction, batch or collection, in FHIR JSON or FHIR XML.

* FHIR JSON is parsed with orjson; FHIR XML (a body starting with ``<``) is read by
  ``adapters.fhirtools.read_fhir_xml`` into the same FHIR JSON (refusing elements
  FHIR does not define); either way each resource is validated when translated.
* A Bundle of another type is refused at ``Bundle.type``: a ``message`` or
  ``document`` has its own standard (a MessageHeader or Composition first) and is not
  plain FHIR, and search results and responses are answers, not news.
* Transaction and batch entries must say what to do (``request``). POST and PUT are
  accepted. DELETE is refused: the hub keeps every version of what it was told and
  never erases part of a patient's pathway on a sender's request, because the pathway
  must stay auditable; a sender withdraws a resource by sending it again with a
  status that says so (``entered-in-error``, or ``cancelled``/``revoked``/
  ``inactive`` as its type allows). GET and HEAD are reads, which the hub answers
  through its GraphQL pathway; PATCH is refused because the hub stores whole
  resources (send the whole resource with PUT).
* A collection's entries carry no ``request`` (FHIR invariant bdl-3).
* ``source_id`` is ``Bundle.identifier`` (``system|value``); ``occurred_at`` is
  ``Bundle.timestamp`` or, for a single resource, ``meta.lastUpdated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from adapters.fhirtools import read_fhir_xml
from hub.domain.translation import TranslationError

BUNDLE_TYPES = ("transaction", "batch", "collection")
SINGLE = "resource"  # the payload kind of one bare resource

_UTF8_BOM = b"\xef\xbb\xbf"
_METHODS_REFUSED = {
    "DELETE": (
        "DELETE is not accepted: the hub keeps every version of what it was told and "
        "never erases part of a patient's pathway on a sender's request. To withdraw the "
        "resource, send it again with PUT and a status that says so (entered-in-error, or "
        "cancelled, revoked or inactive as its type allows)"
    ),
    "GET": "GET is a read; the hub answers reads through its GraphQL pathway, not at intake",
    "HEAD": "HEAD is a read; the hub answers reads through its GraphQL pathway, not at intake",
    "PATCH": "PATCH is not accepted: the hub stores whole resources; send the whole resource "
    "with PUT",
}


@dataclass(frozen=True)
class Entry:
    """One resource of the payload and what the sender asked the hub to do with it."""

    position: int | None  # index in Bundle.entry; None for a bare resource
    resource: dict[str, Any]
    full_url: str | None
    method: str | None  # POST or PUT in a transaction or batch, else None
    url: str | None  # request.url
    if_none_exist: str | None  # request.ifNoneExist (conditional create)

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])

    @property
    def where(self) -> str:
        """The FHIR path of the resource, e.g. ``Bundle.entry[2].resource(Encounter)``."""
        if self.position is None:
            return self.resource_type
        return f"Bundle.entry[{self.position}].resource({self.resource_type})"

    @property
    def entry_where(self) -> str:
        return "" if self.position is None else f"Bundle.entry[{self.position}]"


@dataclass(frozen=True)
class Payload:
    kind: str  # "transaction", "batch", "collection" or SINGLE
    entries: tuple[Entry, ...]
    source_id: str | None
    occurred_at: datetime | None
    occurred_at_where: str | None = None


def read_payload(raw: bytes) -> Payload:
    """The entries of ``raw``, or TranslationError saying what is wrong and where."""
    document = _parse(raw)
    kind = document.get("resourceType")
    if not isinstance(kind, str) or not kind:
        raise TranslationError(
            "the JSON object has no resourceType, so it is not a FHIR resource", "resourceType"
        )
    if kind != "Bundle":
        meta = document.get("meta")
        updated = meta.get("lastUpdated") if isinstance(meta, dict) else None
        return Payload(
            kind=SINGLE,
            entries=(Entry(None, document, None, None, None, None),),
            source_id=None,
            occurred_at=_instant(updated, f"{kind}.meta.lastUpdated"),
            occurred_at_where=f"{kind}.meta.lastUpdated",
        )
    bundle_type = document.get("type")
    if bundle_type not in BUNDLE_TYPES:
        raise TranslationError(
            f"Bundle.type {bundle_type!r} is not accepted as plain FHIR: expected one of "
            f"{', '.join(BUNDLE_TYPES)} (a message or document Bundle belongs to its own "
            "message standard's format)",
            "Bundle.type",
        )
    raw_entries = document.get("entry")
    if raw_entries is None or raw_entries == []:
        raise TranslationError("the Bundle holds no entries", "Bundle.entry")
    if not isinstance(raw_entries, list):
        raise TranslationError("Bundle.entry must be a list", "Bundle.entry")
    entries = tuple(
        _entry(position, item, bundle_type) for position, item in enumerate(raw_entries)
    )
    return Payload(
        kind=bundle_type,
        entries=entries,
        source_id=_source_id(document.get("identifier")),
        occurred_at=_instant(document.get("timestamp"), "Bundle.timestamp"),
        occurred_at_where="Bundle.timestamp",
    )


def _parse(raw: bytes) -> dict[str, Any]:
    body = raw.strip()
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :].lstrip()
    if not body:
        raise TranslationError("the payload is empty: expected a FHIR resource", "payload")
    if body.startswith(b"<"):
        return read_fhir_xml(body)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise TranslationError(
            f"the payload is neither FHIR JSON nor FHIR XML: {exc}", "payload"
        ) from exc
    if not isinstance(document, dict):
        raise TranslationError(
            f"the JSON is a {type(document).__name__}, not a FHIR resource (an object)",
            "payload",
        )
    return document


def _entry(position: int, item: Any, bundle_type: str) -> Entry:
    where = f"Bundle.entry[{position}]"
    if not isinstance(item, dict):
        raise TranslationError("a Bundle entry must be an object", where)
    request = item.get("request")
    method = url = if_none_exist = None
    if bundle_type == "collection":
        if request is not None:
            raise TranslationError(
                "an entry of a collection Bundle must not carry request (FHIR bdl-3); "
                "send a transaction or batch Bundle to say what to do",
                f"{where}.request",
            )
    else:
        method, url, if_none_exist = _request(request, bundle_type, where)
    resource = item.get("resource")
    if not isinstance(resource, dict):
        raise TranslationError(
            "the entry carries no resource"
            if resource is None
            else "the entry's resource must be an object",
            f"{where}.resource",
        )
    kind = resource.get("resourceType")
    if not isinstance(kind, str) or not kind:
        raise TranslationError("the resource has no resourceType", f"{where}.resource")
    full_url = item.get("fullUrl")
    if full_url is not None and (not isinstance(full_url, str) or not full_url):
        raise TranslationError("fullUrl must be a non-empty string", f"{where}.fullUrl")
    return Entry(position, resource, full_url, method, url, if_none_exist)


def _request(request: Any, bundle_type: str, where: str) -> tuple[str, str, str | None]:
    if not isinstance(request, dict):
        raise TranslationError(
            f"an entry of a {bundle_type} Bundle must say what to do: request.method "
            "(POST or PUT) and request.url",
            f"{where}.request",
        )
    method = request.get("method")
    if not isinstance(method, str) or not method:
        raise TranslationError(
            "request.method is missing: expected POST or PUT", f"{where}.request.method"
        )
    if method in _METHODS_REFUSED:
        raise TranslationError(_METHODS_REFUSED[method], f"{where}.request.method")
    if method not in ("POST", "PUT"):
        raise TranslationError(
            f"request.method {method!r} is not an HTTP verb of FHIR: expected POST or PUT",
            f"{where}.request.method",
        )
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise TranslationError(
            "request.url is missing: expected the resource type (POST) or Type/id (PUT)",
            f"{where}.request.url",
        )
    if_none_exist = request.get("ifNoneExist")
    if if_none_exist is not None and (not isinstance(if_none_exist, str) or method != "POST"):
        raise TranslationError(
            "request.ifNoneExist must be a search string, and only on POST",
            f"{where}.request.ifNoneExist",
        )
    return method, url, if_none_exist


def _source_id(identifier: Any) -> str | None:
    if not isinstance(identifier, dict):
        return None
    value = identifier.get("value")
    if not isinstance(value, str) or not value:
        return None
    system = identifier.get("system")
    return f"{system}|{value}" if isinstance(system, str) and system else value


def _instant(value: Any, where: str) -> datetime | None:
    """A FHIR instant as a timezone-aware datetime (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TranslationError("must be a FHIR instant (a string)", where)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TranslationError(
            f"{value!r} is not a FHIR instant (YYYY-MM-DDThh:mm:ss with a time zone)", where
        ) from exc
    if moment.tzinfo is None or "T" not in value:
        raise TranslationError(
            f"{value!r} is not a FHIR instant: it needs a time and a time zone "
            "(e.g. 2025-03-10T14:05:00+01:00)",
            where,
        )
    return moment


def url_path(url: str) -> tuple[str, str]:
    """``request.url`` split into its path (without leading slash) and query."""
    parts = urlsplit(url)
    return parts.path.lstrip("/"), parts.query
