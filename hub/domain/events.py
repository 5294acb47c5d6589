"""The record the hub publishes on its bus for every accepted inbound message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender

SCHEMA_VERSION = 1


class EventDecodeError(ValueError):
    """A bus record whose payload is not an inbound event of a known schema."""


@dataclass(frozen=True)
class InboundEvent:
    """One patient's part of an accepted inbound message, translated to FHIR.

    ``event_id`` identifies the record on the bus (consumers are idempotent on it);
    ``message_id`` is the inbound message it came from (one payload, e.g. an HL7
    batch, may yield several events).
    """

    event_id: str
    message_id: str
    format: str
    trigger: str
    received_at: datetime
    sender: Sender
    patient_key: str
    resources: Sequence[FhirJson]
    occurred_at: datetime | None = None  # when the state held at the source
    source_id: str | None = None  # the sender's own id of the message (MSH-10, MessageHeader.id)
    partial: frozenset[str] = frozenset()  # resources the message knows only part of

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "schema": SCHEMA_VERSION,
                "eventId": self.event_id,
                "messageId": self.message_id,
                "format": self.format,
                "trigger": self.trigger,
                "receivedAt": self.received_at.isoformat(),
                "sender": {
                    "sector": self.sender.sector.value,
                    "org": self.sender.org,
                    "sub": self.sender.sub,
                    "controller": self.sender.controller,
                },
                "patientKey": self.patient_key,
                "occurredAt": self.occurred_at.isoformat() if self.occurred_at else None,
                "sourceId": self.source_id,
                "partial": sorted(self.partial),
                "resources": list(self.resources),
            }
        )

    @classmethod
    def from_bytes(cls, payload: bytes) -> InboundEvent:
        try:
            data: dict[str, Any] = orjson.loads(payload)
            if data.get("schema") != SCHEMA_VERSION:
                raise EventDecodeError(f"unknown event schema {data.get('schema')!r}")
            sender = data["sender"]
            return cls(
                event_id=data["eventId"],
                message_id=data["messageId"],
                format=data["format"],
                trigger=data["trigger"],
                received_at=datetime.fromisoformat(data["receivedAt"]),
                sender=Sender(
                    Sector(sender["sector"]),
                    sender["org"],
                    sender["sub"],
                    controller=sender.get("controller") or "",
                ),
                patient_key=data["patientKey"],
                resources=list(data["resources"]),
                occurred_at=_instant(data.get("occurredAt")),
                source_id=data.get("sourceId"),
                partial=frozenset(data.get("partial") or ()),
            )
        except EventDecodeError:
            raise
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise EventDecodeError(f"not an inbound event: {error}") from error


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"occurredAt {value!r} has no UTC offset")
    return instant
