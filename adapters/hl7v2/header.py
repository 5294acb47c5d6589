"""What the message header (MSH, with EVN) says about the message itself.

* MSH-12 (version id): HL7 v2.3 to v2.6, sub-releases included (2.3.1, 2.5.1).
  Other versions are refused: before 2.3 the trigger event and several fields the
  hub reads were elsewhere, and from 2.7 on fields it reads changed data type
  (PV1-2 CWE, PL-1 HD) or were withdrawn.
* MSH-11 (processing id, first component): must be one the hub is configured to
  accept (by default only ``P``, production); training and debugging messages
  must not enter patients' pathways.
* ``occurred_at``: EVN-2 (recorded date/time) when valued, else MSH-7 (date/time of
  message, required in every version), as a timezone-aware datetime; a time sent
  without an offset is local time in the adapter's zone. A value with less than
  second precision stands for its earliest instant.
* ``declared_sender``: MSH-4.1 (sending facility, namespace id) as ``hl7:<value>``.
* ``source_id``: MSH-10 (message control id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from adapters.hl7v2.message import V2Message
from adapters.hl7v2.timestamps import parse_timestamp
from hub.domain.senders import HL7_FACILITY, identity
from hub.domain.translation import DeclaredSender, TranslationError

_VERSION = re.compile(r"2\.[3-6](?:\.[0-9]+)?")
ACCEPTED_VERSIONS = "HL7 v2.3 to v2.6 (2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6)"

PROCESSING_IDS = {"P": "production", "T": "training", "D": "debugging"}
"""HL7 table 0103 (processing id)."""
_ORDER = "PTD"


@dataclass(frozen=True)
class Header:
    """The message-level facts of one message."""

    version: str
    source_id: str | None
    occurred_at: datetime
    occurred_at_where: str  # EVN-2 or MSH-7
    declared_sender: DeclaredSender | None


def read_header(message: V2Message, processing_ids: frozenset[str], zone: ZoneInfo) -> Header:
    """The header facts of ``message``, or TranslationError when it is not accepted."""
    msh = message.msh
    version = _version(msh.value(12))
    _check_processing_id(msh.value(11).upper(), processing_ids)
    facility = msh.value(4)
    return Header(
        version=version,
        source_id=msh.value(10) or None,
        occurred_at=_occurred_at(message, zone),
        occurred_at_where="EVN-2" if _recorded(message) else "MSH-7",
        declared_sender=(
            DeclaredSender((identity(HL7_FACILITY, facility),), "MSH-4") if facility else None
        ),
    )


def describe_processing_ids(ids: frozenset[str]) -> str:
    """``P (production)`` or ``P (production) and T (training)``."""
    ordered = sorted(ids, key=lambda code: (code not in _ORDER, _ORDER.find(code), code))
    names = [f"{code} ({PROCESSING_IDS.get(code, 'unknown')})" for code in ordered]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def _version(version: str) -> str:
    if not version:
        raise TranslationError(
            f"MSH-12 (version id) is empty; this hub accepts {ACCEPTED_VERSIONS}", "MSH-12"
        )
    if _VERSION.fullmatch(version) is None:
        raise TranslationError(
            f"HL7 version {version!r} is not accepted; this hub accepts {ACCEPTED_VERSIONS}",
            "MSH-12",
        )
    return version


def _check_processing_id(code: str, accepted: frozenset[str]) -> None:
    if code in accepted:
        return
    allowed = describe_processing_ids(accepted)
    if not code:
        what = f"MSH-11 (processing id) is empty; this hub accepts {allowed}"
    elif code in PROCESSING_IDS:
        what = (
            f"processing id {code} ({PROCESSING_IDS[code]}) is not accepted by this hub; "
            f"it accepts {allowed}"
        )
    else:
        what = (
            f"processing id {code!r} is not in HL7 table 0103 (P production, T training, "
            f"D debugging); this hub accepts {allowed}"
        )
    raise TranslationError(what, "MSH-11")


def _occurred_at(message: V2Message, zone: ZoneInfo) -> datetime:
    sent = message.msh.value(7)
    if not sent:
        raise TranslationError(
            "MSH-7 (date/time of message) is empty; it is required, and the hub orders "
            "a patient's messages by it (or by EVN-2 when valued)",
            "MSH-7",
        )
    sent_at = parse_timestamp(sent, "MSH-7", zone)
    recorded = _recorded(message)
    if recorded:
        return parse_timestamp(recorded, "EVN-2", zone).earliest
    return sent_at.earliest


def _recorded(message: V2Message) -> str:
    """EVN-2 (recorded date/time), or empty."""
    evn = message.segment("EVN")
    return evn.value(2) if evn is not None else ""
