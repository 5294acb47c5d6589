"""What an adapter produces from one inbound message, and how it says no."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Translation:
    """One inbound message turned into FHIR resources about one patient.

    ``patient_key`` orders the bus (all of one patient's events share a key);
    ``source_id`` is the sender's own message id (MSH-10, MessageHeader.id …),
    used to recognise a re-sent message; ``event`` names the trigger (e.g.
    ``ADT^A01``).
    """

    patient_key: str
    resources: Sequence[FhirJson]
    event: str
    source_id: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)


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
