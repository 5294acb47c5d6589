"""HL7 v2 escape sequences (v2.5 chapter 2.7) resolved to plain text.

A value that contains the escape character (MSH-2's third character, usually
``\\``) is rewritten:

* ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``: the field, component, subcomponent, repetition
  and escape characters themselves;
* ``\\H\\`` and ``\\N\\`` (start and end of highlighting): nothing -- they carry no text;
* formatting commands: ``\\.br\\``, ``\\.sp\\`` and ``\\.ce\\`` become a line break
  (CR), ``\\.in\\``, ``\\.ti\\`` and ``\\.sk\\`` a space, ``\\.fi\\`` and ``\\.nf\\`` nothing;
* ``\\Xhh…\\``: the bytes ``hh…``, read as UTF-8 when they are valid UTF-8, else as
  ISO-8859-1.

Character-set switching (``\\C…\\``, ``\\M…\\``), locally defined escapes (``\\Z…\\``),
unknown or empty sequences and an escape character without its closing partner are
refused: guessing would put wrong text into a patient's record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.domain.translation import TranslationError

# C0 control characters other than tab and CR (line breaks from \.br\ are CR) have no
# place in a FHIR string, and NUL breaks JSON storage downstream.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators of one message: MSH-1 and the four characters of MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @classmethod
    def of(cls, field: str, encoding: str) -> Delimiters:
        """The delimiters of a header whose MSH-1 is ``field`` and MSH-2 ``encoding``."""
        # A missing escape or subcomponent character (MSH-2 shorter than four) cannot
        # occur in a value; the field separator stands in because it never does either.
        padded = (encoding + field * 4)[:4]
        return cls(field, padded[0], padded[1], padded[2], padded[3])


def unescape(value: str, delimiters: Delimiters, where: str) -> str:
    """``value`` with its escape sequences resolved, or TranslationError."""
    escape = delimiters.escape
    parts: list[str] = []
    position = 0
    while True:
        start = value.find(escape, position)
        if start == -1:
            parts.append(value[position:])
            break
        end = value.find(escape, start + 1)
        if end == -1:
            raise TranslationError(
                f"an escape sequence starting with {escape!r} is not closed by a second "
                f"{escape!r}; a literal {escape!r} must be sent as {escape}E{escape}",
                where,
            )
        parts.append(value[position:start])
        parts.append(_sequence(value[start + 1 : end], delimiters, where))
        position = end + 1
    text = "".join(parts)
    bad = CONTROL.search(text)
    if bad is not None:
        raise control_character(bad.group(), where)
    return text


def control_character(character: str, where: str) -> TranslationError:
    """The refusal of a control character inside a value."""
    return TranslationError(
        f"the field contains the control character U+{ord(character):04X}, "
        "which is not allowed in a value",
        where,
    )


def _sequence(code: str, delimiters: Delimiters, where: str) -> str:
    simple = {
        "F": delimiters.field,
        "S": delimiters.component,
        "T": delimiters.subcomponent,
        "R": delimiters.repetition,
        "E": delimiters.escape,
        "H": "",
        "N": "",
    }
    if code in simple:
        return simple[code]
    shown = f"{delimiters.escape}{code}{delimiters.escape}"
    if not code:
        raise TranslationError(
            f"the field holds an empty escape sequence {shown}; a literal "
            f"{delimiters.escape!r} must be sent as {delimiters.escape}E{delimiters.escape}",
            where,
        )
    if code.startswith((".br", ".sp", ".ce")):
        return "\r"
    if code.startswith((".in", ".ti", ".sk")):
        return " "
    if code in (".fi", ".nf"):
        return ""
    if code[0] == "X":
        return _hex(code[1:], shown, where)
    if code[0] in "CM":
        reason = "switches the character set, which the hub does not support; declare it in MSH-18"
    elif code[0] == "Z":
        reason = "is locally defined and cannot be interpreted"
    else:
        reason = "is not an HL7 escape sequence"
    raise TranslationError(f"the escape sequence {shown} {reason}", where)


def _hex(digits: str, shown: str, where: str) -> str:
    try:
        data = bytes.fromhex(digits)
    except ValueError as exc:
        raise TranslationError(
            f"the escape sequence {shown} must hold an even number of hexadecimal digits",
            where,
        ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")
