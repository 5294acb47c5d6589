"""Raw bytes to the message Bundle as FHIR JSON, whichever of FHIR JSON or FHIR XML was sent.

The format is told by the first byte that is not whitespace (after an optional
UTF-8 byte order mark): ``{`` is FHIR JSON, ``<`` is FHIR XML. FHIR XML is read
into FHIR JSON by ``adapters.fhirtools.read_fhir_xml`` and from then on takes
the same path as JSON, so both renderings of one message translate alike and
errors point at the same FHIR path.
"""

from __future__ import annotations

import orjson

from adapters.fhirtools import read_fhir_xml
from adapters.medcom.elements import JsonObject
from hub.domain.translation import TranslationError

_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"


def read_bundle(raw: bytes) -> JsonObject:
    """The Bundle in ``raw``, or TranslationError when it is not FHIR JSON or XML."""
    body = raw[len(_BOM) :] if raw.startswith(_BOM) else raw
    start = body.lstrip(_WHITESPACE)[:1]
    if start == b"{":
        resource = _read_json(body)
    elif start == b"<":
        resource = _read_xml(body)
    elif not start:
        raise TranslationError("the payload is empty", "payload")
    else:
        raise TranslationError(
            f"the payload is neither FHIR JSON (starting with '{{') nor FHIR XML "
            f"(starting with '<'); it starts with {start!r}",
            "payload",
        )
    kind = resource.get("resourceType")
    if kind != "Bundle":
        raise TranslationError(
            f"a MedCom message is a Bundle, this payload is {kind!r}", "resourceType"
        )
    return resource


def _read_xml(body: bytes) -> JsonObject:
    try:
        return read_fhir_xml(body)
    except TranslationError:
        raise
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        # The FHIR XML reader fails so on elements the FHIR models do not define.
        raise TranslationError(
            f"the FHIR XML cannot be read as FHIR R4 ({type(exc).__name__}: {exc})", "Bundle"
        ) from exc


def _read_json(body: bytes) -> JsonObject:
    try:
        resource = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise TranslationError(
            f"the payload is not well-formed JSON: {exc.msg} (line {exc.lineno}, "
            f"column {exc.colno})",
            f"line {exc.lineno}",
        ) from exc
    if not isinstance(resource, dict):
        raise TranslationError("the payload is not a JSON object", "payload")
    return resource
