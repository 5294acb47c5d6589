"""FHIR XML in, the same resource as FHIR JSON out, read without trusting the XML."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from lxml import etree
from pydantic import ValidationError

from hub.domain.translation import FhirJson, TranslationError

FHIR_NAMESPACE = "http://hl7.org/fhir"


def _parser() -> etree.XMLParser:
    # No DTDs, entities or network: a message cannot make the hub read files or URLs
    # (XXE) or expand itself into gigabytes.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_fhir_xml(raw: bytes) -> FhirJson:
    """Parse a FHIR XML resource (any type) into FHIR JSON, or raise TranslationError."""
    try:
        root = etree.fromstring(raw, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise TranslationError(f"the XML is not well-formed: {exc}", f"line {exc.lineno}") from exc
    qname = etree.QName(root)
    if qname.namespace != FHIR_NAMESPACE:
        raise TranslationError(
            f"the root element {qname.localname} is not in the FHIR namespace {FHIR_NAMESPACE}",
            qname.localname,
        )
    try:
        model_class: Any = get_fhir_model_class(qname.localname)
    except (KeyError, ValueError) as exc:
        raise TranslationError(
            f"{qname.localname} is not a FHIR R4 resource type", qname.localname
        ) from exc
    try:
        model = model_class.model_validate_xml(raw, xmlparser=_parser())
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        raise TranslationError(
            f"the {qname.localname} is not valid FHIR R4: {error['msg']}",
            f"{qname.localname}.{path}" if path else qname.localname,
        ) from exc
    except KeyError as exc:
        # fhir.resources names the element it does not know, and only that.
        raise TranslationError(
            f"element <{exc.args[0]}> is not part of FHIR R4 here", qname.localname
        ) from exc
    except (ValueError, TypeError) as exc:
        raise TranslationError(f"not FHIR R4 XML: {exc}", qname.localname) from exc
    dumped: FhirJson = model.model_dump(mode="json", exclude_none=True)
    return dumped
