"""What an adapter produces from one inbound message, and how it says no."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hub.domain.sectors import Sector

FhirJson = dict[str, Any]
"""A FHIR resource as JSON, already validated against the R4B models."""


@dataclass(frozen=True)
class Sender:
    """The authenticated system that delivered a message (from its bearer token)."""

    sector: Sector
    org: str  # SOR code of the sending organisation
    sub: str  # the sending system's name
    # Further names the token lets this system send under ("gln:5790001382445",
    # "hl7:RHR"); see hub.domain.senders.
    aliases: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DeclaredSender:
    """Who a message says sent it, as identities ``kind:value`` (see hub.domain.senders).

    Intake checks it against the token: a message may not speak for someone else.
    ``where`` is the element the identities were read from (e.g. ``MSH-4``).
    """

    identities: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class Translation:
    """One inbound message turned into FHIR resources about one patient.

    ``patient_key`` orders the bus (all of one patient's events share a key; a
    message about no patient uses ``message_key``/``directory_key`` from
    hub.domain.identifiers); ``event`` names the trigger (e.g. ``ADT^A01``).

    ``source_id`` is the sender's own message id (MSH-10, MessageHeader.id …),
    used to recognise a re-sent message. ``envelope_id`` is the id of what
    carried it (MedCom: Bundle.id), when the format has one: the same
    ``source_id`` arriving in a different envelope is a conflicting re-use of a
    message id, not a re-send, and is refused.

    ``occurred_at`` is when the reported state held at the source (EVN-2/MSH-7,
    Bundle.timestamp …): a message older than what a resource already shows does
    not roll it back (late arrivals, see consumers.projection).
    ``declared_sender`` is whom the message names as its sender.
    """

    patient_key: str
    resources: Sequence[FhirJson]
    event: str
    source_id: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)
    occurred_at: datetime | None = None
    declared_sender: DeclaredSender | None = None
    envelope_id: str | None = None


class TranslationError(ValueError):
    """An inbound message the hub cannot understand.

    ``what`` says what is wrong in words a sending system's maintainer can act
    on; ``where`` points at the place (e.g. ``PID-3``, ``PV1-44``, ``line 3``).
    """

    def __init__(self, what: str, where: str | None = None) -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.what = what
        self.where = where


class Adapter(Protocol):
    """Raw bytes of one inbound format in, validated FHIR out, or a precise error."""

    format: str

    def translate(self, raw: bytes, sender: Sender) -> Sequence[Translation]:
        """Translate one payload (a batch may hold several messages).

        Raises TranslationError when any part of the payload is not acceptable;
        a payload is accepted or rejected whole.
        """
        ...


AdapterRegistry = Mapping[str, Adapter]
