"""What every OIOXML letter shares: the Emessage envelope and the Letter header.

``Envelope`` (``Sent``, ``Identifier``) describes the transmission; each letter
in it starts with a ``Letter`` block: its number (``Identifier``, unique per
sending system), ``TypeCode`` (``XDIS20`` …), ``VersionCode``, ``Authorisation``
(when the letter was authorised) and ``StatusCode`` (``nytbrev`` new,
``rettetbrev`` corrected, and for admission/discharge notices ``annulleretbrev``
cancelled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from adapters.oioxml.document import Node
from adapters.oioxml.timestamps import LocalTime, read_date_time
from hub.domain.translation import Sender, TranslationError

NEW = "nytbrev"
CORRECTED = "rettetbrev"
CANCELLED = "annulleretbrev"


@dataclass(frozen=True)
class Envelope:
    identifier: str
    sent: LocalTime


@dataclass(frozen=True)
class LetterHeader:
    identifier: str
    type_code: str
    version_code: str
    status_code: str
    authorised: LocalTime
    authorised_where: str


@dataclass(frozen=True)
class LetterContext:
    """One letter of the message, with what its mapping needs."""

    node: Node  # the letter element, e.g. /Emessage/NotificationOfAdmission
    header: LetterHeader
    envelope: Envelope
    sender: Sender  # the authenticated sending system
    zone: ZoneInfo

    @property
    def letter_identifier_system(self) -> str:
        """Letter numbers are unique per sending system only: scope them by its organisation."""
        return f"urn:brobygger:medcom-letter:{quote(self.sender.org, safe='')}"


@dataclass(frozen=True)
class Mapped:
    """The (not yet validated) resources one letter becomes, Patient first."""

    patient_key: str
    resources: list[dict[str, Any]]
    facts: dict[str, str] = field(default_factory=dict)
    # Resources (Type/id) the letter knows only part of; see Translation.partial.
    partial: frozenset[str] = frozenset()


def read_envelope(root: Node, zone: ZoneInfo) -> Envelope:
    envelope = root.required("Envelope")
    return Envelope(
        identifier=envelope.required_value("Identifier"),
        sent=read_date_time(envelope.required("Sent"), zone),
    )


def read_letter_header(
    letter: Node, type_code: str, statuses: tuple[str, ...], zone: ZoneInfo
) -> LetterHeader:
    """The Letter block of ``letter``, checked against the letter kind it sits in."""
    block = letter.required("Letter")
    found_type = block.required_value("TypeCode")
    if found_type != type_code:
        raise TranslationError(
            f"TypeCode {found_type!r} does not match the letter: a {letter.name} is {type_code}",
            f"{block.path}/TypeCode",
        )
    status = block.required_value("StatusCode")
    if status not in statuses:
        raise TranslationError(
            f"StatusCode {status!r} is not allowed for {type_code} "
            f"(expected one of {', '.join(statuses)})",
            f"{block.path}/StatusCode",
        )
    return LetterHeader(
        identifier=block.required_value("Identifier"),
        type_code=found_type,
        version_code=block.value("VersionCode"),
        status_code=status,
        authorised=read_date_time(block.required("Authorisation"), zone),
        authorised_where=f"{block.path}/Authorisation",
    )
