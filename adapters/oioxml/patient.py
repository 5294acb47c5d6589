"""The Patient block (and a referral's Relative) to FHIR Patient.

Identity: ``CivilRegistrationNumber`` (CPR) keys the patient; without it a
replacement number (``AlternativeIdentifier``, erstatnings-CPR) does, under the
system ``urn:brobygger:alternative-identifier:<sender SOR code>`` because such
numbers are issued locally and OIOXML names no system (the patient key is
``<system>|<value>``, the same form as a FHIR or HL7 v2 replacement number's). A block
with both, or neither, or a replacement number that is not 1-64 letters, digits,
``.`` and ``-``, is refused.

Also mapped when present: surname and given names, address (street, suburb,
district as city, postcode), telephone numbers (``mobil``/``arbejde``/``fastnet``
as mobile/work/home), e-mail, and a referral's relative as a contact. Letters
that report a death (EpisodeOfCareStatusCode ``doed``) mark the patient deceased.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from adapters.oioxml.document import Node
from hub.domain.identifiers import (
    CPR_SYSTEM,
    LOCAL_ALTERNATIVE_PREFIX,
    cpr_patient_key,
    is_replacement_value,
    normalise_cpr,
    patient_resource_id,
    replacement_patient_key,
)
from hub.domain.translation import Sender, TranslationError

_PHONE_USE = {"mobil": "mobile", "arbejde": "work", "fastnet": "home", "privat": "home"}


def alternative_identifier_system(sender: Sender) -> str:
    return f"{LOCAL_ALTERNATIVE_PREFIX}{quote(sender.org, safe='')}"


def build_patient(
    block: Node, sender: Sender, *, deceased: bool = False, relative: Node | None = None
) -> tuple[str, dict[str, Any]]:
    """The patient key and the (not yet validated) Patient of a Patient block."""
    key, identifier = _identity(block, sender)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_resource_id(key),
        "identifier": [identifier],
    }
    name = _name(block)
    if name:
        patient["name"] = [name]
    telecom = _telecom(block)
    if telecom:
        patient["telecom"] = telecom
    if deceased:
        patient["deceasedBoolean"] = True
    address = _address(block)
    if address:
        patient["address"] = [address]
    if relative is not None:
        contact = _contact(relative)
        if contact:
            patient["contact"] = [contact]
    return key, patient


def _identity(block: Node, sender: Sender) -> tuple[str, dict[str, str]]:
    cpr_node = block.optional("CivilRegistrationNumber")
    alternative = block.optional("AlternativeIdentifier")
    if cpr_node is not None and alternative is not None:
        raise TranslationError(
            "the patient carries both a CivilRegistrationNumber and an AlternativeIdentifier; "
            "send exactly one",
            alternative.path,
        )
    if cpr_node is not None:
        cpr = normalise_cpr(cpr_node.text())
        if cpr is None:
            # The value is not echoed: it may well be (a typo of) a person's CPR number.
            raise TranslationError(
                "CivilRegistrationNumber is not a CPR number: expected DDMMYYSSSS with a "
                "real day and month",
                cpr_node.path,
            )
        return cpr_patient_key(cpr), {"system": CPR_SYSTEM, "value": cpr}
    if alternative is not None:
        value = alternative.text()
        if not value:
            raise TranslationError("the AlternativeIdentifier is empty", alternative.path)
        if not is_replacement_value(value):
            # The value is not echoed: it identifies a person.
            raise TranslationError(
                "the AlternativeIdentifier (replacement number) is not 1-64 letters, digits, "
                "'.' and '-'",
                alternative.path,
            )
        system = alternative_identifier_system(sender)
        return replacement_patient_key(system, value), {"system": system, "value": value}
    raise TranslationError(
        "the mandatory element CivilRegistrationNumber (or AlternativeIdentifier) is missing "
        "from Patient",
        f"{block.path}/CivilRegistrationNumber",
    )


def _name(block: Node) -> dict[str, Any]:
    name: dict[str, Any] = {}
    family = block.value("PersonSurnameName")
    given = block.value("PersonGivenName").split()
    if family:
        name["family"] = family
    if given:
        name["given"] = given
    return name


def _address(block: Node) -> dict[str, Any]:
    address: dict[str, Any] = {}
    lines = [line for line in (block.value("StreetName"), block.value("SuburbName")) if line]
    if lines:
        address["line"] = lines
    city, postcode = block.value("DistrictName"), block.value("PostCodeIdentifier")
    if city:
        address["city"] = city
    if postcode:
        address["postalCode"] = postcode
    if address:
        address["use"] = "home"
    return address


def _telecom(block: Node) -> list[dict[str, str]]:
    telecom = []
    for subscriber in block.children("TelephoneSubscriber"):
        number = subscriber.value("TelephoneSubscriberIdentifier")
        if not number:
            continue
        point = {"system": "phone", "value": number}
        use = _PHONE_USE.get(subscriber.value("TelephoneSubscriberCode"))
        if use:
            point["use"] = use
        telecom.append(point)
    number = block.value("TelephoneSubscriberIdentifier")
    if number:
        telecom.append({"system": "phone", "value": number})
    email = block.value("EmailIdentifier")
    if email:
        telecom.append({"system": "email", "value": email})
    return telecom


def _contact(relative: Node) -> dict[str, Any]:
    contact: dict[str, Any] = {}
    relation = relative.value("RelationCode")
    if relation:
        contact["relationship"] = [{"text": relation}]
    name = _name(relative)
    if name:
        contact["name"] = name
    return contact
