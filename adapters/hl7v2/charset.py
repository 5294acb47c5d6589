"""Raw bytes to text: MLLP framing, byte order mark and the character set (MSH-18).

HL7 v2 defaults to ASCII; Danish senders use ISO-8859-1 (``8859/1``) or UTF-8.
The rules, in order:

* ``MSH-18`` names ``UNICODE UTF-8``: the bytes must be valid UTF-8.
* ``MSH-18`` names ``8859/n`` (``n`` 1-9 or 15): decode as ISO-8859-n.
* The names systems often write instead of table 0211's -- ``UTF-8``,
  ``ISO-8859-n``, ``ISO8859-n`` -- are read as the table's.
* ``MSH-18`` is empty or ``ASCII``: UTF-8 when the bytes are valid UTF-8, else
  ISO-8859-1 (which decodes any byte, so Windows-1252 text reads as ISO-8859-1).
* Any other character set is refused at ``MSH-18``.

A batch is decoded as a whole with the character set of its first MSH segment.
"""

from __future__ import annotations

import re

from hub.domain.translation import TranslationError

_MLLP_FRAME = b"\x0b\x1c"
_UTF8_BOM = b"\xef\xbb\xbf"
_FRAME_AND_WHITESPACE = _MLLP_FRAME + b" \t\r\n"
_ISO_8859 = re.compile(r"8859/([1-9]|15)")
_MSH_18 = 18
_ALIASES = {"UTF-8": "UNICODE UTF-8", "UTF8": "UNICODE UTF-8"}
_ISO_ALIAS = re.compile(r"ISO[-_ ]?8859[-_/]([1-9]|15)")


def decode_payload(raw: bytes) -> str:
    """The payload as text with its segment separators untouched."""
    body = raw.strip(_FRAME_AND_WHITESPACE)
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :].strip(_FRAME_AND_WHITESPACE)
    if not body:
        raise TranslationError("the payload is empty: expected an HL7 v2 message", "payload")
    declared = _declared_charset(body)
    declared = _ALIASES.get(declared, declared)
    alias = _ISO_ALIAS.fullmatch(declared)
    if alias is not None:
        declared = f"8859/{alias.group(1)}"
    if declared in ("", "ASCII"):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return body.decode("iso-8859-1")
    if declared == "UNICODE UTF-8":
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TranslationError(
                f"MSH-18 declares UNICODE UTF-8 but byte {exc.start} of the payload is not "
                "valid UTF-8; send UTF-8 or declare the character set actually used (e.g. 8859/1)",
                "MSH-18",
            ) from exc
    iso = _ISO_8859.fullmatch(declared)
    if iso is not None:
        codec = f"iso-8859-{iso.group(1)}"
        try:
            return body.decode(codec)
        except UnicodeDecodeError as exc:  # a few ISO-8859 parts leave bytes undefined
            raise TranslationError(
                f"MSH-18 declares {declared} but byte {exc.start} of the payload is not a "
                f"character of {codec.upper()}",
                "MSH-18",
            ) from exc
    raise TranslationError(
        f"character set {declared!r} is not supported; use UNICODE UTF-8 or 8859/1",
        "MSH-18",
    )


def _declared_charset(body: bytes) -> str:
    """MSH-18 (first repetition, first component) of the first MSH segment, upper case."""
    for line in body.replace(b"\n", b"\r").split(b"\r"):
        line = line.strip()
        if not line.startswith(b"MSH") or len(line) < 8:
            continue
        separator = line[3:4]
        fields = line.split(separator)
        if len(fields) < _MSH_18:
            return ""
        # fields[0] is "MSH" and fields[1] holds MSH-2, so MSH-n is fields[n - 1].
        delimiters = set(fields[1])
        value = bytearray()
        for byte in fields[_MSH_18 - 1]:
            if byte in delimiters:
                break
            value.append(byte)
        return value.decode("ascii", errors="replace").strip().upper()
    return ""
