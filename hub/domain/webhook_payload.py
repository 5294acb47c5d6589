"""The body of a webhook POST: a pathway event as an R4 Subscriptions-backport notification.

The hub follows the HL7 "Subscriptions R5 Backport" guide's R4 notification shape
(full-resource payload): a Bundle of type ``history`` whose first entry is the
SubscriptionStatus, represented in R4 as a Parameters resource (profile
backport-subscription-status-r4) with ``subscription``, ``topic``, ``status``,
``type`` = ``event-notification``, ``events-since-subscription-start`` and one
``notification-event`` (``event-number``, ``timestamp``, ``focus`` → the Encounter);
then the Encounter as of the event (the state logged with it, so a re-sent or late
notification tells what the first one told), as the subscription's owner may see it;
for an inbox item, the resource the item is about (a ServiceRequest, a Communication,
a Task …) as the owner may see it now.

The hub's own event JSON (the same object a websocket subscriber receives:
``subscriptionId``, ``eventNumber``, ``kind``, ``cpr``, ``encounterId``, ``at``,
``withheld``, ``encounter``) rides along whole, as the JSON string value of one more
parameter of the status, named ``EVENT_PARAMETER`` (the profile's parameter slicing
is open; Bundle and Parameters, being plain Resources, take no extensions): a receiver
that does not speak FHIR reads that one field. An event whose patient data is
withheld (consent withdrawn since) carries its number and kind only: no focus, no
Encounter entry.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.domain.translation import FhirJson

TOPIC = "urn:brobygger:subscription-topic:pathway-events"
EVENT_PARAMETER = "pathway-event"
STATUS_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-status-r4"
)
NOTIFICATION_PROFILE = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "backport-subscription-notification-r4"
)


def notification_bundle(event: dict[str, Any], *, sent_at: datetime) -> FhirJson:
    """The notification Bundle for one event (``PathwayEventMessage.to_json()``)."""
    subscription_id = str(event["subscriptionId"])
    number = int(event["eventNumber"])
    encounter: FhirJson | None = None if event.get("withheld") else event.get("encounter")
    item = event.get("item") if not event.get("withheld") else None
    if encounter is None and isinstance(item, dict) and isinstance(item.get("content"), dict):
        encounter = item["content"]  # an inbox item's resource is its focus
    notification_event: list[dict[str, Any]] = [
        {"name": "event-number", "valueString": str(number)}
    ]
    if event.get("at"):
        notification_event.append({"name": "timestamp", "valueInstant": event["at"]})
    if encounter is not None:
        notification_event.append(
            {"name": "focus", "valueReference": {"reference": _reference(encounter)}}
        )
    status: FhirJson = {
        "resourceType": "Parameters",
        "id": f"{subscription_id}-{number}-status",
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": [
            {
                "name": "subscription",
                "valueReference": {"reference": f"Subscription/{subscription_id}"},
            },
            {"name": "topic", "valueCanonical": TOPIC},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(number)},
            {"name": "notification-event", "part": notification_event},
            {"name": EVENT_PARAMETER, "valueString": orjson.dumps(event).decode()},
        ],
    }
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{_uuid_like(subscription_id, number)}",
            "resource": status,
            "request": {"method": "GET", "url": f"Subscription/{subscription_id}/$status"},
            "response": {"status": "200"},
        }
    ]
    if encounter is not None:
        entries.append(
            {
                "fullUrl": _reference(encounter),
                "resource": encounter,
                "request": {"method": "PUT", "url": _reference(encounter)},
                "response": {"status": "200"},
            }
        )
    return {
        "resourceType": "Bundle",
        "id": f"{subscription_id}-{number}",
        "meta": {"profile": [NOTIFICATION_PROFILE]},
        "type": "history",
        "timestamp": sent_at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "entry": entries,
    }


def _reference(resource: FhirJson) -> str:
    return f"{resource.get('resourceType', 'Encounter')}/{resource['id']}"


def event_of(bundle: FhirJson) -> dict[str, Any]:
    """The hub's event JSON carried by a notification Bundle (what a receiver reads)."""
    status = bundle["entry"][0]["resource"]
    for parameter in status.get("parameter", []):
        if parameter.get("name") == EVENT_PARAMETER:
            event: dict[str, Any] = orjson.loads(parameter["valueString"])
            return event
    raise ValueError(f"not a pathway event notification: no {EVENT_PARAMETER} parameter")


def _uuid_like(subscription_id: str, number: int) -> str:
    """A stable UUID for the status entry: a re-sent notification names the same one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{TOPIC}/{subscription_id}/{number}"))
