"""Raw bytes to text: byte order mark, the XML declaration's encoding, and legacy habits.

MedCom's OIOXML letters are ISO-8859-1 text, written in practice as Windows-1252
(a superset for every printable character). The rules, in order:

* A UTF-8 byte order mark means UTF-8, whatever the declaration says. A UTF-16
  byte order mark is refused.
* The declaration names Windows-1252, ISO-8859-1 (or an alias such as latin1) or
  ISO-8859-15: the bytes are read as that 8-bit character set, ISO-8859-1 as its
  superset Windows-1252 (as web browsers do, so a curly quote sent under an
  ISO-8859-1 label stays a quote). The five bytes Windows-1252 leaves undefined
  read as the C1 control they are in ISO-8859-1. Exception: when every non-ASCII
  byte sequence is valid UTF-8 the text *is* UTF-8 under a wrong label; reading
  it as declared would turn "æ" into "Ã¦", so it is read as UTF-8.
* The declaration names UTF-8: the bytes must be valid UTF-8; a message that
  says UTF-8 but is not is refused (it is mislabelled or damaged, and guessing
  could corrupt clinical text).
* No declaration (or none naming an encoding): XML's default, UTF-8, when the
  bytes are valid UTF-8; otherwise Windows-1252, the MedCom legacy character set,
  because a legacy sender that omits the declaration writes Windows-1252.
* Any other declared encoding is refused at the XML declaration.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from hub.domain.translation import TranslationError

UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LEADING_WHITESPACE = b" \t\r\n"
_DECLARATION = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_ENCODING_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")  # XML 1.0 EncName
_C1_FALLBACK = "brobygger-oioxml-c1"
WHERE_DECLARATION = "XML declaration"

# Python codec names (after codecs.lookup) -> the codec the hub decodes with.
_EIGHT_BIT = {"cp1252": "cp1252", "iso8859-1": "cp1252", "iso8859-15": "iso8859-15"}


def _c1_fallback(error: UnicodeError) -> tuple[str, int]:
    """Read a byte Windows-1252 leaves undefined as the ISO-8859-1 (C1) character."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return chr(error.object[error.start]), error.start + 1


codecs.register_error(_C1_FALLBACK, _c1_fallback)


@dataclass(frozen=True)
class DecodedText:
    """The payload as text without its XML declaration (line numbers kept)."""

    text: str
    charset: str  # the character set the bytes were read as
    declared: str | None  # the encoding the declaration names, as written

    @property
    def charset_differs(self) -> bool:
        """Whether the bytes were read otherwise than the declaration (or its absence) says."""
        if self.declared is None:
            return self.charset != "utf-8"
        return _normalised(self.declared) != self.charset


def decode_payload(raw: bytes) -> DecodedText:
    """Decode ``raw`` following the rules in the module docstring."""
    body = raw.lstrip(_LEADING_WHITESPACE)
    if body.startswith(_UTF16_BOMS):
        raise TranslationError(
            "the payload is UTF-16; send windows-1252 (ISO-8859-1) or UTF-8", "payload"
        )
    bom = body.startswith(UTF8_BOM)
    if bom:
        body = body[len(UTF8_BOM) :]
    if not body.strip(_LEADING_WHITESPACE):
        raise TranslationError("the payload is empty: expected a MedCom OIOXML Emessage", "payload")
    declaration = _DECLARATION.match(body)
    declared: str | None = None
    if declaration is not None:
        encoding = _ENCODING.search(declaration.group())
        if encoding is not None:
            declared = encoding.group(1).decode("ascii", errors="replace").strip()
        body = body[declaration.end() :]
    if bom:
        return DecodedText(_utf8(body, declared="UTF-8 (byte order mark)"), "utf-8", declared)
    if declared is None:
        try:
            return DecodedText(body.decode("utf-8"), "utf-8", None)
        except UnicodeDecodeError:
            return DecodedText(body.decode("cp1252", errors=_C1_FALLBACK), "cp1252", None)
    charset = _normalised(declared)
    if charset == "utf-8":
        return DecodedText(_utf8(body, declared=declared), "utf-8", declared)
    if charset in _EIGHT_BIT.values():
        if not body.isascii():
            try:
                return DecodedText(body.decode("utf-8"), "utf-8", declared)
            except UnicodeDecodeError:
                pass
        return DecodedText(body.decode(charset, errors=_C1_FALLBACK), charset, declared)
    raise TranslationError(
        f"the declared encoding {declared!r} is not supported; send windows-1252 "
        "(ISO-8859-1), ISO-8859-15 or UTF-8",
        WHERE_DECLARATION,
    )


def _normalised(declared: str) -> str:
    """The codec the hub reads a declared encoding with ('' when unknown)."""
    if not _ENCODING_NAME.fullmatch(declared):
        return ""
    try:
        name = codecs.lookup(declared).name
    except (LookupError, ValueError):
        return ""
    return _EIGHT_BIT.get(name, name)


def _utf8(body: bytes, *, declared: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise TranslationError(
            f"the message declares the encoding {declared} but line {line} holds a byte that "
            "is not valid UTF-8; send UTF-8, or declare the encoding actually used "
            '(<?xml version="1.0" encoding="windows-1252"?>)',
            WHERE_DECLARATION,
        ) from exc
