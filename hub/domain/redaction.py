"""Personal data out of text bound for the logs: CPR numbers and people's names.

``redact`` replaces every CPR number (``DDMMYYSSSS`` or ``DDMMYY-SSSS``, ten digits not
part of a longer number, whose first four make a day and a month) with ``[cpr]``, and
the values of the name fields the hub's formats carry with ``[name]``:

* FHIR ``HumanName`` in JSON, or in a Python repr of it: a ``name`` list (the whole
  list), and ``family``, ``given``, ``prefix`` and ``suffix`` wherever they stand;
* FHIR XML: a ``<name>`` element with children (a HumanName; an Organization's
  ``<name value="…"/>`` is left alone) and ``family``/``given``/``prefix``/``suffix``
  values;
* OIOXML (MedCom XDIS/XREF): the ``Person…Name`` elements;
* HL7 v2: PID-5, PID-6 and PID-9 (the patient's names, the mother's maiden name, an
  alias) and NK1-2 (a relative's name).

A name written into running text ("Anne Jensen was admitted") cannot be recognised;
nothing in the hub logs such text. Over-masking is harmless here, so a ten-digit number
that only looks like a CPR number is masked too.
"""

from __future__ import annotations

import re

CPR_MASK = "[cpr]"
NAME_MASK = "[name]"

_CPR = re.compile(r"(?<!\d)(?P<day>\d\d)(?P<month>\d\d)\d\d-?\d{4}(?!\d)")
_QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_NAME_PART = re.compile(
    r"""(?P<key>\b(?:family|given|prefix|suffix)["']?\s*[:=]\s*)"""
    rf"(?P<value>{_QUOTED}|\[[^\]]*\]?)"
)
_NAME_LIST = re.compile(r"""\bname["']?\s*[:=]\s*\[""")
_XML_NAME = re.compile(r"(?s)(<(?:[\w.-]+:)?name>).*?(</(?:[\w.-]+:)?name>)")
_XML_NAME_PART = re.compile(
    r"""(<(?:[\w.-]+:)?(?:family|given|prefix|suffix)\s+value=)("[^"]*"|'[^']*')"""
)
_OIOXML_NAME = re.compile(r"(<(?P<tag>(?:[\w.-]+:)?Person\w*Name)\b[^>/]*>)[^<]*(</(?P=tag)>)")
# An HL7 v2 segment up to its end: a carriage return or newline, escaped or not, or the
# end of a quoted string it was logged inside.
_HL7_SEGMENT = re.compile(
    r"(?:(?<=\\r)|(?<=\\n)|(?<![A-Za-z0-9]))(?P<id>PID|NK1)\|(?P<body>.*?)(?=\r|\n|\\r|\\n|'|\"|$)"
)
_HL7_NAME_FIELDS = {"PID": (4, 5, 8), "NK1": (1,)}  # 0-based after the segment id: PID-5 …


def redact(text: str) -> str:
    """``text`` with CPR numbers and people's names masked (see the module docstring)."""
    text = _CPR.sub(_cpr_mask, text)
    text = _mask_name_lists(text)
    text = _NAME_PART.sub(_name_part_mask, text)
    text = _XML_NAME.sub(rf"\1{NAME_MASK}\2", text)
    text = _XML_NAME_PART.sub(rf'\1"{NAME_MASK}"', text)
    text = _OIOXML_NAME.sub(rf"\1{NAME_MASK}\3", text)
    return _HL7_SEGMENT.sub(_hl7_mask, text)


def _cpr_mask(match: re.Match[str]) -> str:
    day, month = int(match["day"]), int(match["month"])
    return CPR_MASK if 1 <= day <= 31 and 1 <= month <= 12 else match[0]


def _name_part_mask(match: re.Match[str]) -> str:
    value = match["value"]
    masked = _quoted(NAME_MASK, like=value)
    return match["key"] + (f"[{masked}]" if value.startswith("[") else masked)


def _quoted(text: str, *, like: str) -> str:
    """``text`` in the quotes ``like`` uses first (JSON's, or a Python repr's)."""
    quotes = [q for q in "\"'" if q in like]
    quote = min(quotes, key=like.index) if quotes else '"'
    return f"{quote}{text}{quote}"


def _mask_name_lists(text: str) -> str:
    """Every ``name: [ … ]`` list (a HumanName list) whole, nested brackets and quotes
    included; a list cut off before its end is masked to the end of the text."""
    parts: list[str] = []
    position = 0
    while (match := _NAME_LIST.search(text, position)) is not None:
        end = _closing_bracket(text, match.end())
        masked = _quoted(NAME_MASK, like=text[match.end() : end])
        parts.append(f"{text[position : match.end()]}{masked}]")
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _closing_bracket(text: str, start: int) -> int:
    """The index just past the ``]`` closing the list opened before ``start``."""
    depth, quote, index = 1, "", start
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return len(text)


def _hl7_mask(match: re.Match[str]) -> str:
    fields = match["body"].split("|")
    for index in _HL7_NAME_FIELDS[match["id"]]:
        if index < len(fields) and fields[index]:
            fields[index] = NAME_MASK
    return f"{match['id']}|{'|'.join(fields)}"
