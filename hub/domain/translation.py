"""What an adapter produces from one inbound message, and how it says no."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from hub.domain.controllers import organisation_controller
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
    # The data controller the sender's data belongs to (hub.domain.controllers); from the
    # token, else the organisation itself.
    controller: str = ""

    def __post_init__(self) -> None:
        if not self.controller:
            object.__setattr__(self, "controller", organisation_controller(self.org))


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
    used to recognise a re-sent message: a re-send says the same again (MedCom
    re-sends in a new Bundle); the same ``source_id`` saying something else is a
    re-used message id and is refused, never silently dropped (see
    ``fingerprint``).

    ``occurred_at`` is when the reported state held at the source (EVN-2/MSH-7,
    Bundle.timestamp …): a message older than what a resource already shows does
    not roll it back (late arrivals, see consumers.projection).
    ``declared_sender`` is whom the message names as its sender.
    ``partial`` lists resources (``Type/id``) the message knows only part of (a
    discharge notice that does not repeat the admission time): elements they omit
    are kept from what is stored instead of being dropped (see hub.domain.merging).
    """

    patient_key: str
    resources: Sequence[FhirJson]
    event: str
    source_id: str | None = None
    facts: Mapping[str, str] = field(default_factory=dict)
    occurred_at: datetime | None = None
    occurred_at_where: str | None = None  # the element it was read from (EVN-2, Bundle.timestamp …)
    declared_sender: DeclaredSender | None = None
    partial: frozenset[str] = frozenset()


def fingerprint(translations: Sequence[Translation]) -> str:
    """A digest of what the translations say, to tell a re-send from a re-used message id.

    It covers everything the hub takes from a message, and nothing of its envelope
    (MedCom gives a re-send a new Bundle.id and timestamp around the same message).
    """
    content = orjson.dumps(
        [
            {
                "patientKey": translation.patient_key,
                "event": translation.event,
                "occurredAt": translation.occurred_at.isoformat()
                if translation.occurred_at
                else None,
                "resources": list(translation.resources),
            }
            for translation in translations
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return "sha256:" + hashlib.sha256(content).hexdigest()


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


_log = logging.getLogger(__name__)


@contextmanager
def refusing_the_unexpected(format: str) -> Iterator[None]:
    """Keep the adapter contract: only TranslationError leaves ``translate``.

    Anything else is a gap in an adapter's checks: it is logged for the hub's
    maintainers and the payload is refused (and so kept as a dead letter) instead
    of crashing the intake.
    """
    try:
        yield
    except TranslationError:
        raise
    except Exception as exc:
        _log.exception("unexpected failure translating a %s payload", format)
        raise TranslationError(
            f"the message could not be read ({type(exc).__name__}: {exc})", "payload"
        ) from exc
