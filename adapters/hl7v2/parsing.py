"""Bytes to HL7 v2 messages: character set, segment separators, batches.

Segments may be separated by CR (the standard), LF or CRLF. Blank lines and
whitespace around segments are ignored. A payload is either one message
(MSH …) or a batch: an optional file header ``FHS``, batches ``BHS`` … ``BTS``,
and an ``FTS`` trailer, or simply several messages one after another. The batch
structure is checked strictly -- a missing trailer or a count in ``BTS-1`` /
``FTS-1`` that disagrees with the content means the payload was cut short or
assembled wrongly, and the whole payload is refused.

Errors about the structure point at ``line N``: the N-th line of the payload.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from adapters.hl7v2.charset import decode_payload
from adapters.hl7v2.escapes import Delimiters
from adapters.hl7v2.message import V2Message, build_message
from hub.domain.translation import TranslationError

_SEGMENT_NAME = re.compile(r"[A-Z][A-Z0-9]{2}")
_HEADERS = ("MSH", "BHS", "FHS")
_PREVIEW = 12


@dataclass(frozen=True)
class Payload:
    """The messages of one payload, in order."""

    messages: tuple[V2Message, ...]
    is_batch: bool


@dataclass
class _Message:
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Batch:
    header_line: int
    message_count: int = 0
    closed: bool = False


def parse_payload(raw: bytes) -> Payload:
    """Decode and split ``raw`` into messages, or raise TranslationError."""
    text = decode_payload(raw)
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    lines = [
        (number, stripped)
        for number, line in enumerate(text.split("\r"), start=1)
        if (stripped := line.strip())
    ]
    if not lines:
        raise TranslationError(
            "the payload is not an HL7 v2 message: it holds only whitespace and control "
            "characters, no segment",
            "payload",
        )
    number, first = lines[0]
    if first[:3] not in _HEADERS:
        raise TranslationError(
            "the payload is not an HL7 v2 message: it must start with an MSH segment "
            f"(or FHS/BHS for a batch), but starts with {first[:_PREVIEW]!r}",
            f"line {number}",
        )
    messages, framed = _split(lines)
    if not messages:
        raise TranslationError("the batch holds no messages (no MSH segment)", "BHS")
    parsed = tuple(_parse_message(message) for message in messages)
    return Payload(messages=parsed, is_batch=framed or len(parsed) > 1)


def _split(lines: list[tuple[int, str]]) -> tuple[list[_Message], bool]:
    """Group lines into messages, checking the FHS/BHS/BTS/FTS frame.

    Returns the messages in payload order and whether a batch frame was present.
    """
    messages: list[_Message] = []
    batches: list[_Batch] = []
    has_file = file_closed = False
    current: _Message | None = None
    separator = "|"
    for number, line in lines:
        name = line[:3]
        where = f"line {number}"
        if name in _HEADERS:
            separator = _check_header(line, number)
        else:
            _check_segment(line, separator, number)
        if file_closed:
            raise TranslationError(f"segment {name} follows the file trailer FTS", where)
        batch = batches[-1] if batches and not batches[-1].closed else None
        if name == "FHS":
            if number != lines[0][0]:
                raise TranslationError("FHS (file header) must be the first segment", where)
            has_file = True
        elif name == "BHS":
            if batch is not None:
                raise TranslationError("BHS starts a new batch before BTS closed the last", where)
            batches.append(_Batch(header_line=number))
            current = None
        elif name == "BTS":
            if batch is None:
                raise TranslationError("BTS (batch trailer) without a BHS batch header", where)
            _check_count(line, separator, batch.message_count, "BTS-1", "messages", number)
            batch.closed = True
            current = None
        elif name == "FTS":
            if not has_file:
                raise TranslationError("FTS (file trailer) without an FHS file header", where)
            if batch is not None:
                raise TranslationError("FTS closes the file before BTS closed the batch", where)
            if batches:
                _check_count(line, separator, len(batches), "FTS-1", "batches", number)
            file_closed = True
        elif name == "MSH":
            current = _Message()
            messages.append(current)
            if batch is not None:
                batch.message_count += 1
        elif current is None:
            raise TranslationError(f"segment {name} comes before any MSH segment", where)
        if current is not None:
            current.lines.append((number, line))
    if batches and not batches[-1].closed:
        raise TranslationError(
            f"the batch opened on line {batches[-1].header_line} has no BTS trailer; "
            "the payload may be cut short",
            "BTS",
        )
    if has_file and not file_closed:
        raise TranslationError(
            "the file has no FTS trailer; the payload may be cut short",
            "FTS",
        )
    return messages, has_file or bool(batches)


def _check_header(line: str, number: int) -> str:
    """Validate the separators of an MSH/BHS/FHS segment and return the field separator."""
    name = line[:3]
    separator = line[3:4]
    if not separator or separator.isalnum() or separator.isspace():
        raise TranslationError(
            f"{name}-1 must be the field separator (usually '|'), found {separator!r}",
            f"{name}-1",
        )
    end = line.find(separator, 4)
    encoding = line[4:end] if end != -1 else line[4:]
    valid = (
        4 <= len(encoding) <= 5
        and len(set(encoding)) == len(encoding)
        and separator not in encoding
        and not any(char.isalnum() or char.isspace() for char in encoding)
    )
    if not valid:
        raise TranslationError(
            f"{name}-2 must hold four distinct encoding characters (usually '^~\\&'), "
            f"found {encoding!r} on line {number}",
            f"{name}-2",
        )
    return separator


def _check_segment(line: str, separator: str, number: int) -> None:
    name, rest = line[:3], line[3:]
    if not _SEGMENT_NAME.fullmatch(name) or (rest and not rest.startswith(separator)):
        raise TranslationError(
            "a segment must start with a three-character name (e.g. PID) followed by "
            f"{separator!r}, found {line[:_PREVIEW]!r}",
            f"line {number}",
        )


def _check_count(
    line: str, separator: str, actual: int, where: str, noun: str, number: int
) -> None:
    fields = line.split(separator)
    declared = fields[1].split("^")[0].strip() if len(fields) > 1 else ""
    if not declared:
        return
    if not (declared.isascii() and declared.isdigit()) or int(declared) != actual:
        raise TranslationError(
            f"{where} on line {number} declares {declared!r} {noun}, but {actual} were sent; "
            "the payload may be cut short",
            where,
        )


def _parse_message(message: _Message) -> V2Message:
    header = message.lines[0][1]
    separator = header[3]
    end = header.find(separator, 4)
    encoding = header[4:end] if end != -1 else header[4:]
    return build_message([line for _, line in message.lines], Delimiters.of(separator, encoding))
