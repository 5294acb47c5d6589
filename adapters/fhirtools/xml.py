"""FHIR XML in, the same resource as FHIR JSON out, read without trusting the XML.

The XML is parsed by lxml (no DTDs, no entities, no network) and walked once into
the FHIR JSON dict the JSON rendering of the same resource would give, following
the FHIR XML rules: an element's name is its JSON property name, a primitive's
value is its ``value`` attribute (with ``id`` and extensions going to the JSON
``_name`` companion), an element's ``id`` and an extension's ``url`` are
attributes, a resource inside ``<resource>``/``<contained>`` is named by its type
and the narrative's ``<div>`` is XHTML kept as text.

What each element is (which names a type has, which repeat, which are primitives
of which JSON type) is read from the fhir.resources R4B models, once per type.
Every element must be one the type defines, a non-repeating element may appear
only once, a primitive needs a value or an extension, and booleans, integers and
decimals must be written as such; anything else is refused naming its FHIR path.
Values are not validated further here: the JSON that comes out takes the same path
as a message sent as JSON, whose resources the adapters validate against the R4B
models, so the two renderings translate alike and the XML is validated once.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from fhir_core.utils import determine_version_prefix, get_fhir_type_name, is_list_type
from fhir_core.utils import is_primitive_type as _is_primitive
from lxml import etree

from hub.domain.translation import FhirJson, TranslationError

FHIR_NAMESPACE = "http://hl7.org/fhir"
XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"

_FHIR = "{" + FHIR_NAMESPACE + "}"
_DIV = "{" + XHTML_NAMESPACE + "}div"
_VERSION = determine_version_prefix(Resource.__module__)

# The kinds of element.
_PRIMITIVE, _COMPLEX, _RESOURCE, _XHTML = range(4)

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}


def _boolean(value: str) -> Any:
    if value in _BOOLEANS:
        return _BOOLEANS[value]
    raise ValueError(f"{value!r} is not a FHIR boolean (true or false)")


def _integer(value: str) -> Any:
    if _INTEGER.fullmatch(value):
        return int(value)
    raise ValueError(f"{value!r} is not a FHIR integer")


def _decimal(value: str) -> Any:
    if _DECIMAL.fullmatch(value):
        # As orjson reads the same digits in FHIR JSON: 5 an int, 5.0 a float.
        return orjson.loads(value)
    raise ValueError(f"{value!r} is not a FHIR decimal")


# FHIR primitives that FHIR JSON writes as a JSON boolean or number; all others are
# strings.
_CONVERSIONS: dict[str, Callable[[str], Any]] = {
    "boolean": _boolean,
    "integer": _integer,
    "positiveInt": _integer,
    "unsignedInt": _integer,
    "integer64": _integer,
    "decimal": _decimal,
}


@dataclass(frozen=True, slots=True)
class _Element:
    """One element a type defines, as FHIR XML names it."""

    name: str  # the JSON property name (the XML element's local name)
    repeats: bool
    kind: int
    type_name: str  # FHIR type: a primitive (``code``), a data type or ``Resource``
    convert: Callable[[str], Any] | None  # to the JSON type; None for a string
    companion: str  # the JSON property of its id and extensions (``_name``)


@dataclass(frozen=True, slots=True)
class _Type:
    """What one FHIR type may hold in XML."""

    name: str
    by_tag: dict[str, _Element]  # by XML tag ({namespace}name)
    attributes: frozenset[str]  # the XML attributes it takes (``id``, ``url``)


def _parser() -> etree.XMLParser:
    # No DTDs, entities or network: a message cannot make the hub read files or URLs
    # (XXE) or expand itself into gigabytes; a document that declares a DTD at all is
    # refused after parsing.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


_per_thread = threading.local()


def _thread_parser() -> etree.XMLParser:
    """This thread's parser: making one costs as much as parsing a message, and an lxml
    parser is not to be shared between threads."""
    parser: etree.XMLParser | None = getattr(_per_thread, "parser", None)
    if parser is None:
        parser = _per_thread.parser = _parser()
    return parser


def read_fhir_xml(raw: bytes) -> FhirJson:
    """Parse a FHIR XML resource (any type) into FHIR JSON, or raise TranslationError."""
    try:
        root = etree.fromstring(raw, parser=_thread_parser())
    except etree.XMLSyntaxError as exc:
        raise TranslationError(f"the XML is not well-formed: {exc}", f"line {exc.lineno}") from exc
    if root.getroottree().docinfo.internalDTD is not None:  # any <!DOCTYPE ...>
        raise TranslationError(
            "FHIR XML must not carry a document type declaration (DOCTYPE)", "line 1"
        )
    qname = etree.QName(root)
    if qname.namespace != FHIR_NAMESPACE:
        raise TranslationError(
            f"the root element {qname.localname} is not in the FHIR namespace {FHIR_NAMESPACE}",
            qname.localname,
        )
    kind = _resource_type(qname.localname)
    if kind is None:
        raise TranslationError(f"{qname.localname} is not a FHIR R4 resource type", qname.localname)
    return _resource(root, kind, qname.localname)


def _resource(node: Any, kind: _Type, path: str) -> dict[str, Any]:
    read: dict[str, Any] = {"resourceType": kind.name}
    _read_into(read, node, kind, path)
    return read


def _read_into(read: dict[str, Any], node: Any, kind: _Type, path: str) -> None:
    """The attributes and child elements of ``node`` (of FHIR type ``kind``) into ``read``.

    The common primitive (``<name value="..."/>`` and nothing else) is read inline;
    the paths of elements are only spelt out for complex elements and refusals."""
    for attribute, text in node.items():
        if attribute in kind.attributes:
            read[attribute] = text
        elif attribute[0] != "{":  # attributes of other namespaces (xsi:...) are not FHIR
            raise TranslationError(
                f"the attribute {attribute}={text!r} is not part of FHIR R4 on {kind.name}",
                path,
            )
    _no_text(node.text, path)
    by_tag = kind.by_tag
    for child in node:
        tag = child.tag
        text = child.tail
        if text and not text.isspace():
            _refuse_text(text, path)
        element = by_tag.get(tag)
        if element is None:
            if not isinstance(tag, str):  # a comment or processing instruction
                continue
            raise TranslationError(
                f"element <{etree.QName(tag).localname}> is not part of FHIR R4 here "
                f"({kind.name} has no such element)",
                path,
            )
        name = element.name
        repeats = element.repeats
        values: Any = None
        if repeats:
            values = read.get(name)
            if values is None:
                values = read[name] = []
        elif name in read or element.companion in read:
            raise TranslationError(
                f"element <{name}> appears more than once; {kind.name}.{name} may appear once",
                f"{path}.{name}",
            )
        if element.kind == _PRIMITIVE:
            attributes = child.items()
            if (
                len(attributes) == 1
                and attributes[0][0] == "value"
                and not len(child)
                and not child.text
            ):
                value: Any = attributes[0][1]
                if element.convert is not None:
                    try:
                        value = element.convert(value)
                    except ValueError as exc:
                        raise TranslationError(str(exc), _path(path, element, read)) from exc
                if repeats:
                    values.append(value)
                    if element.companion in read:
                        read[element.companion].append(None)
                else:
                    read[name] = value
            else:
                _primitive(read, child, element, _path(path, element, read))
            continue
        child_path = _path(path, element, read)
        if element.kind == _COMPLEX:
            value = {}
            _read_into(value, child, _data_type(element.type_name), child_path)
        elif element.kind == _RESOURCE:
            value = _contained(child, child_path)
        else:
            value = _xhtml(child)
        if repeats:
            values.append(value)
        else:
            read[name] = value


def _path(path: str, element: _Element, read: dict[str, Any]) -> str:
    """The FHIR path of the element being read into ``read`` (at ``path``)."""
    if element.repeats:
        return f"{path}.{element.name}[{len(read[element.name])}]"
    return f"{path}.{element.name}"


def _primitive(read: dict[str, Any], node: Any, element: _Element, path: str) -> None:
    """A primitive element: its value, and its id and extensions as ``_name``."""
    value = node.get("value")
    companion: dict[str, Any] | None = None
    for attribute in node.keys():  # noqa: SIM118 - lxml elements have keys(), not iteration
        if attribute not in ("value", "id") and attribute[0] != "{":
            raise TranslationError(
                f"the attribute {attribute} is not part of FHIR R4 on a {element.type_name}; "
                "a FHIR XML primitive takes value and id",
                path,
            )
    if len(node) or node.get("id") is not None:
        companion = {}
        _read_into(companion, node, _PRIMITIVE_ELEMENT, path)
        companion.pop("value", None)
        if not companion:
            companion = None
    else:
        _no_text(node.text, path)
    if value is None and (companion is None or "extension" not in companion):
        raise TranslationError(
            f"the {element.type_name} has no value: a value is required (FHIR XML gives it "
            f'as <{element.name} value="..."/>), or an extension',
            path,
        )
    if value is not None and element.convert is not None:
        try:
            value = element.convert(value)
        except ValueError as exc:
            raise TranslationError(str(exc), path) from exc
    name = element.name
    if not element.repeats:
        if value is not None:
            read[name] = value
        if companion is not None:
            read[element.companion] = companion
        return
    values = read[name]
    values.append(value)
    companions = read.get(element.companion)
    if companion is not None and companions is None:
        companions = read[element.companion] = [None] * (len(values) - 1)
    if companions is not None:
        companions.append(companion)


def _contained(node: Any, path: str) -> dict[str, Any]:
    """The one resource inside ``<resource>`` or ``<contained>``."""
    for attribute in node.keys():  # noqa: SIM118 - lxml elements have keys(), not iteration
        if attribute[0] != "{":
            raise TranslationError(f"the attribute {attribute} is not part of FHIR R4 here", path)
    _no_text(node.text, path)
    found: dict[str, Any] | None = None
    for child in node:
        _no_text(child.tail, path)
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = etree.QName(tag).localname
        kind = _resource_type(name) if tag.startswith(_FHIR) else None
        if kind is None:
            raise TranslationError(f"{name} is not a FHIR R4 resource type", path)
        if found is not None:
            raise TranslationError("the element holds more than one resource", path)
        found = _resource(child, kind, f"{path}({name})")
    if found is None:
        raise TranslationError("the element holds no resource", path)
    return found


def _xhtml(node: Any) -> str:
    """The narrative's XHTML ``<div>`` as FHIR JSON holds it: as text, declaring only
    the namespaces it uses."""
    if len(node.nsmap) > 1:  # namespaces declared further up (xsi:, ...)
        node = copy.deepcopy(node)
        etree.cleanup_namespaces(node)
    return etree.tostring(node, encoding="unicode", with_tail=False)


def _no_text(text: str | None, path: str) -> None:
    if text and not text.isspace():
        _refuse_text(text, path)


def _refuse_text(text: str, path: str) -> None:
    raise TranslationError(
        f"FHIR XML carries no text between elements ({text.strip()[:40]!r}); "
        'a value is given as value="..."',
        path,
    )


_RESOURCE_TYPES: dict[str, _Type] = {}  # only types found: a sender names what it likes


def _resource_type(name: str) -> _Type | None:
    """The FHIR R4 resource type called ``name``, or None if there is none."""
    known = _RESOURCE_TYPES.get(name)
    if known is None:
        try:
            model = get_fhir_model_class(name)
        except (KeyError, ValueError):
            return None
        if not issubclass(model, Resource) or name in ("Resource", "DomainResource"):
            return None
        known = _RESOURCE_TYPES[name] = _type(model, resource=True)
    return known


@cache
def _data_type(name: str) -> _Type:
    return _type(get_fhir_model_class(name), resource=False)


def _type(model: Any, *, resource: bool) -> _Type:
    name = str(model.get_resource_type())
    # On a resource ``id`` is an element; on anything else an attribute, as is an
    # extension's ``url``.
    attributes: frozenset[str] = frozenset()
    if not resource:
        attributes = frozenset({"id", "url"} if name == "Extension" else {"id"})
    elements: list[_Element] = []
    for field_name, field in model.model_fields.items():
        alias = field.alias or field_name
        if alias.startswith("_") or alias in ("fhir_comments", "resourceType", "resource_type"):
            continue
        if alias in attributes:
            continue
        type_name = get_fhir_type_name(field, prefix=_VERSION)
        if type_name == "xhtml":
            element_kind = _XHTML
        elif _is_primitive(field):
            element_kind = _PRIMITIVE
        elif type_name in ("Resource", "DomainResource"):
            element_kind = _RESOURCE
        else:
            element_kind = _COMPLEX
        elements.append(
            _Element(
                alias,
                is_list_type(field),
                element_kind,
                type_name,
                _CONVERSIONS.get(type_name),
                "_" + alias,
            )
        )
    return _Type(name, _by_tag(elements), attributes)


def _by_tag(elements: list[_Element]) -> dict[str, _Element]:
    return {
        (_DIV if element.kind == _XHTML else _FHIR + element.name): element for element in elements
    }


# What a primitive element holds besides its value: an id and extensions.
_PRIMITIVE_ELEMENT = _Type(
    "Element",
    _by_tag([_Element("extension", True, _COMPLEX, "Extension", None, "_extension")]),
    frozenset({"id", "value"}),
)
