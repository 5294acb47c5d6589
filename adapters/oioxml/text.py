"""MedCom formatted text (``FormattedTextType``) to plain text.

Formatted text is mixed content: text with ``<Break/>`` (line break) and
``<Space/>`` (a space that must be kept), and ``Bold``, ``Italic``, ``Underline``,
``Right``, ``Center`` and ``FixedFont`` around parts of it. Line breaks are only
ever ``<Break/>``: raw newlines and indentation in the XML are layout, so runs of
whitespace in the text become one space. Emphasis and alignment are dropped; the
words are kept.
"""

from __future__ import annotations

import re

from lxml import etree

from adapters.oioxml.document import Node

_WHITESPACE = re.compile(r"\s+")


def formatted_text(node: Node) -> str:
    """The plain text of a formatted-text element, lines trimmed, outer blank lines dropped."""
    parts: list[str] = []
    _collect(node.element, parts)
    lines = [line.strip() for line in "".join(parts).split("\n")]
    return "\n".join(lines).strip("\n")


def clinical_payload(letter: Node) -> list[dict[str, str]]:
    """Each ``ClinicalInformation/Text01`` of the letter as plain text, in order, as a
    Communication's payload (empty when the letter has no text)."""
    return [
        {"contentString": text}
        for information in letter.children("ClinicalInformation")
        for block in information.children("Text01")
        if (text := formatted_text(block))
    ]


def _collect(element: etree._Element, parts: list[str]) -> None:
    if element.text:
        parts.append(_WHITESPACE.sub(" ", element.text))
    for child in element:
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            if name == "Break":
                parts.append("\n")
            elif name == "Space":
                parts.append(" ")
            else:
                _collect(child, parts)
        if child.tail:
            parts.append(_WHITESPACE.sub(" ", child.tail))
