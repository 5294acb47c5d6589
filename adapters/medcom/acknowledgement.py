"""MedCom Acknowledgement (kvittering) to a MessageHeader with ``response`` in the hub.

An acknowledgement answers an earlier message, named by its MessageHeader.id in
``MessageHeader.response.identifier``; it concerns no patient. The hub records
it against that message (``consumers.acknowledgements``), which reads exactly:

* ``response.identifier``: the acknowledged message's MessageHeader.id, as sent;
* ``response.code``: ok, transient-error or fatal-error;
* ``response.details.reference``: ``OperationOutcome/<id>`` of the
  OperationOutcome carried alongside, when the acknowledgement has one.

The MessageHeader and OperationOutcome get hub ids derived from the sending
organisation and the acknowledgement's own MessageHeader.id; the OperationOutcome
keeps only its issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.fhirtools import validated
from adapters.medcom.bundle import Entry, MessageBundle
from adapters.medcom.elements import optional_object, optional_text, required_object, required_text
from adapters.medcom.header import Header
from adapters.medcom.organisations import logical_reference
from hub.domain.identifiers import resource_id
from hub.domain.translation import FhirJson, Sender, TranslationError

CODES = ("ok", "transient-error", "fatal-error")
ACKNOWLEDGEMENT_ACTIVITY = "acknowledgement"


@dataclass(frozen=True)
class Acknowledgement:
    acknowledged: str  # MessageHeader.id of the acknowledged message
    code: str
    resources: list[FhirJson]


def read_acknowledgement(bundle: MessageBundle, header: Header, sender: Sender) -> Acknowledgement:
    if header.activity != ACKNOWLEDGEMENT_ACTIVITY:
        raise TranslationError(
            f"the Provenance of an acknowledgement has activity {header.activity!r}; "
            f"MedCom requires {ACKNOWLEDGEMENT_ACTIVITY!r}",
            f"{header.provenance.path}.activity",
        )
    source = bundle.header.resource
    where = "MessageHeader.response"
    response = required_object(source.get("response"), where, "the response")
    acknowledged = required_text(
        response.get("identifier"), f"{where}.identifier", "the id of the acknowledged message"
    )
    code = required_text(response.get("code"), f"{where}.code", "the response code")
    if code not in CODES:
        raise TranslationError(
            f"response code {code!r} is not one of {', '.join(CODES)}", f"{where}.code"
        )
    endpoint_where = "MessageHeader.source.endpoint"
    origin = required_object(source.get("source"), "MessageHeader.source", "MessageHeader.source")
    endpoint = required_text(origin.get("endpoint"), endpoint_where, "the source endpoint")
    header_resource: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": resource_id("MessageHeader", sender.org, bundle.header_id),
        "eventCoding": source["eventCoding"],
        "source": {"endpoint": endpoint},
        "response": {"identifier": acknowledged, "code": code},
    }
    sender_reference = logical_reference(header.sender)
    if sender_reference is not None:
        header_resource["sender"] = sender_reference
    outcome = _outcome(bundle, response)
    if outcome is None:
        return Acknowledgement(acknowledged, code, [validated(header_resource, at="MessageHeader")])
    outcome_id = resource_id("OperationOutcome", sender.org, bundle.header_id)
    header_resource["response"]["details"] = {"reference": f"OperationOutcome/{outcome_id}"}
    issues = {
        "resourceType": "OperationOutcome",
        "id": outcome_id,
        "issue": outcome.resource.get("issue"),
    }
    return Acknowledgement(
        acknowledged,
        code,
        [validated(header_resource, at="MessageHeader"), validated(issues, at=outcome.path)],
    )


def _outcome(bundle: MessageBundle, response: dict[str, Any]) -> Entry | None:
    where = "MessageHeader.response.details"
    details = optional_object(response.get("details"), where)
    if details is not None and optional_text(details.get("reference"), f"{where}.reference"):
        return bundle.resolve(details, where, "OperationOutcome")
    outcomes = bundle.of_type("OperationOutcome")
    if len(outcomes) > 1:
        raise TranslationError(
            f"the acknowledgement carries {len(outcomes)} OperationOutcomes and "
            "response.details names none of them",
            where,
        )
    return outcomes[0] if outcomes else None
