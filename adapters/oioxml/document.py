"""An OIOXML payload as an element tree, read without trusting it, with element paths.

Every element is reached through ``Node``, which knows its XPath-like path
(``/Emessage/NotificationOfAdmission/Patient/CivilRegistrationNumber``), so a
missing or malformed element is refused at the place a sending system's
maintainer can find. Repeated siblings are numbered XPath-style (``Letter[2]``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from lxml import etree

from adapters.oioxml.charset import DecodedText, decode_payload
from hub.domain.translation import TranslationError

ROOT = "Emessage"
# MedCom's OIOXML namespaces carry the schema release date, e.g.
# http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2005/08/07/ (the 2005 and 2006
# releases) and http://rep.oio.dk/medcom.dk/xml/schemas/2018/08/06/ (later ones).
_NAMESPACE = re.compile(
    r"http://rep\.oio\.dk/(?:sundcom\.dk/)?medcom\.dk/xml/schemas/\d{4}/\d{2}/\d{2}/"
)


def _parser() -> etree.XMLParser:
    # No DTDs, entities or network: a message cannot make the hub read files or URLs
    # (XXE) or expand itself into gigabytes. Comments and processing instructions
    # carry nothing the hub reads and would only get in the way of text content.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


class Node:
    """One element of the message and its path."""

    # A plain slotted class: nodes are made by the dozen per letter, and a frozen
    # dataclass's __init__ costs several times more.
    __slots__ = ("_index", "_single", "element", "namespace", "path")

    def __init__(self, element: etree._Element, path: str, namespace: str) -> None:
        self.element = element
        self.path = path
        self.namespace = namespace
        self._index: dict[str, list[etree._Element]] | None = None
        self._single: dict[str, Node] = {}

    @property
    def name(self) -> str:
        return etree.QName(self.element).localname

    def children(self, name: str) -> list[Node]:
        """Every child element called ``name`` (in the message's namespace)."""
        found = self._named(name)
        if len(found) == 1:
            return [Node(found[0], f"{self.path}/{name}", self.namespace)]
        return [
            Node(element, f"{self.path}/{name}[{position}]", self.namespace)
            for position, element in enumerate(found, start=1)
        ]

    def elements(self) -> list[Node]:
        """Every child element, whatever its name (numbered where a name repeats)."""
        children = [child for child in self.element if isinstance(child.tag, str)]
        names = [etree.QName(child).localname for child in children]
        totals = Counter(names)
        seen: Counter[str] = Counter()
        nodes = []
        for child, name in zip(children, names, strict=True):
            seen[name] += 1
            suffix = f"[{seen[name]}]" if totals[name] > 1 else ""
            nodes.append(Node(child, f"{self.path}/{name}{suffix}", self.namespace))
        return nodes

    def optional(self, name: str) -> Node | None:
        """The child ``name`` if present; refused when it repeats."""
        known = self._single.get(name)
        if known is not None:
            return known
        found = self._named(name)
        if not found:
            return None
        if len(found) > 1:
            raise TranslationError(
                f"{name} appears {len(found)} times in {self.name}; at most one is allowed",
                f"{self.path}/{name}[2]",
            )
        node = self._single[name] = Node(found[0], f"{self.path}/{name}", self.namespace)
        return node

    def _named(self, name: str) -> list[etree._Element]:
        # One pass over the children indexes them by name: a letter's blocks are asked
        # for many children each, and a namespaced tag lookup per question costs more.
        if self._index is None:
            prefix = f"{{{self.namespace}}}"
            index: dict[str, list[etree._Element]] = {}
            for child in self.element:
                tag = child.tag
                if isinstance(tag, str) and tag.startswith(prefix):
                    index.setdefault(tag[len(prefix) :], []).append(child)
            self._index = index
        return self._index.get(name, [])

    def required(self, name: str) -> Node:
        """The child ``name``; refused when missing or repeated."""
        node = self.optional(name)
        if node is None:
            raise TranslationError(
                f"the mandatory element {name} is missing from {self.name}", f"{self.path}/{name}"
            )
        return node

    def text(self) -> str:
        """The element's text, trimmed; refused when it holds elements instead."""
        if len(self.element):
            raise TranslationError(f"{self.name} must hold text, not elements", self.path)
        return (self.element.text or "").strip()

    def value(self, name: str) -> str:
        """The trimmed text of the optional child ``name`` ('' when absent)."""
        node = self.optional(name)
        return node.text() if node is not None else ""

    def coded_value(self, name: str, allowed: Collection[str], what: str) -> str:
        """The trimmed text of the optional child ``name`` ('' when absent); refused when
        it is not one of ``allowed``, as not ``what`` ("a MedCom identifier kind")."""
        code = self.value(name)
        if code and code not in allowed:
            raise TranslationError(
                f"{name} {code!r} is not {what} (expected one of {', '.join(allowed)})",
                f"{self.path}/{name}",
            )
        return code

    def required_value(self, name: str) -> str:
        """The trimmed text of the mandatory child ``name``; refused when missing or empty."""
        node = self.required(name)
        text = node.text()
        if not text:
            raise TranslationError(f"the mandatory element {name} is empty", node.path)
        return text


@dataclass(frozen=True)
class Document:
    """A parsed Emessage and how its bytes were read."""

    root: Node
    decoded: DecodedText


def read_document(raw: bytes) -> Document:
    """Decode and parse ``raw``; refuse anything that is not a MedCom OIOXML Emessage."""
    decoded = decode_payload(raw)
    if "<!DOCTYPE" in decoded.text:
        # Entities are never expanded (see _parser), but a MedCom letter has no use for a
        # DTD at all: refuse before parsing rather than carry unexpanded entity references
        # into clinical text or let the parser meet an entity bomb.
        raise TranslationError(
            "the message carries a document type declaration (<!DOCTYPE ...>); MedCom "
            "OIOXML letters have none and the hub reads no DTDs or entities",
            "DOCTYPE",
        )
    try:
        element = etree.fromstring(decoded.text.encode("utf-8"), parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise TranslationError(
            f"the XML is not well-formed: {exc.msg}", f"line {exc.lineno}"
        ) from exc
    qname = etree.QName(element)
    namespace = qname.namespace or ""
    if qname.localname != ROOT or not _NAMESPACE.fullmatch(namespace):
        found = f"{{{namespace}}}{qname.localname}" if namespace else qname.localname
        raise TranslationError(
            f"the root element is {found}; the oioxml format accepts a MedCom OIOXML "
            f"{ROOT} (namespace http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/<date>/ "
            "or http://rep.oio.dk/medcom.dk/xml/schemas/<date>/)",
            f"/{qname.localname}",
        )
    return Document(Node(element, f"/{ROOT}", namespace), decoded)
