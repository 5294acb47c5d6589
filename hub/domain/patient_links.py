"""Links from a replacement number (erstatningspersonnummer) to a CPR number, as pure rules.

When a person known by a replacement number becomes known by a CPR number, the records
written under the replacement number stay where they are: owned by their senders,
keyed as they were. The link is FHIR's own: the replacement number's Patient record
(the linking organisation's own) carries ``Patient.link`` of type ``replaced-by`` to the
CPR's person, naming the CPR number in ``other.identifier``. It is written by an HL7
ADT A40/A47 or by an owner's explicit action, and survives a replay as any record does.

A link counts only when its author may say so: an authoritative source (the hospital
and psychiatry ADT feeds, ``Policy.is_authoritative``), or an organisation that owns
records under the replacement number besides its Patient record. Anyone else's link
is ignored. The CPR's pathway then lists the linked records, each only as consent
allows the viewer under the replacement number, and never against a refusal the
patient recorded under the CPR number.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.domain.consent import Item, PatientConsent, Policy, Viewer, is_refused
from hub.domain.identifiers import (
    CPR_SYSTEM,
    cpr_patient_key,
    normalise_cpr,
    patient_resource_id,
    replacement_of,
)
from hub.domain.translation import FhirJson

REPLACED_BY = "replaced-by"


def person_reference(cpr: str) -> str:
    """The reference a link makes to the CPR's person."""
    return f"Patient/{patient_resource_id(cpr_patient_key(cpr))}"


def link_to(cpr: str) -> dict[str, Any]:
    """A ``Patient.link`` element: this record's person is now known by ``cpr``."""
    return {
        "other": {
            "reference": person_reference(cpr),
            "identifier": {"system": CPR_SYSTEM, "value": cpr},
        },
        "type": REPLACED_BY,
    }


def linking_patient(patient: FhirJson, replacement_key: str, cpr: str) -> FhirJson:
    """``patient`` (the person as the sender describes them, keyed by CPR) as the
    sender's record of the replacement number, linked to ``cpr``: it names the person
    by the replacement number only, and the CPR number in the link."""
    number = replacement_of(replacement_key)
    if number is None:
        raise ValueError("not a replacement number's patient key")
    system, value = number
    record = {k: v for k, v in patient.items() if k not in ("identifier", "link")}
    record["id"] = patient_resource_id(replacement_key)
    record["identifier"] = [{"system": system, "value": value}]
    record["link"] = [link_to(cpr)]
    return record


def with_link(patient: FhirJson, cpr: str) -> FhirJson:
    """An organisation's record ``patient`` with a link to ``cpr`` (replacing any other
    ``replaced-by`` link: a person has one CPR number)."""
    kept = [
        link
        for link in patient.get("link") or []
        if isinstance(link, dict) and link.get("type") != REPLACED_BY
    ]
    return {**patient, "link": [*kept, link_to(cpr)]}


def linked_cpr(patient: FhirJson) -> str | None:
    """The CPR number a Patient record says its person is now known by, if any."""
    for link in patient.get("link") or []:
        if not isinstance(link, dict) or link.get("type") != REPLACED_BY:
            continue
        other = link.get("other")
        if not isinstance(other, dict):
            continue
        identifier = other.get("identifier")
        if not isinstance(identifier, dict) or identifier.get("system") != CPR_SYSTEM:
            continue
        cpr = normalise_cpr(str(identifier.get("value", "")))
        if cpr is not None and other.get("reference") == person_reference(cpr):
            return cpr
    return None


NOT_OWNERSHIP = frozenset({"Patient", "Consent", "AuditEvent"})
"""Records that do not make their writer an owner of a replacement number's data: a
Patient record (the link itself), a consent or refusal anyone may record, an audit
entry."""


def owners(records: Iterable[tuple[str, str]]) -> set[str]:
    """The organisations owning data under a replacement number, from its records'
    ``(resource type, writer)``: those who wrote any record not in ``NOT_OWNERSHIP``."""
    return {org for resource_type, org in records if resource_type not in NOT_OWNERSHIP}


@dataclass(frozen=True)
class LinkRecord:
    """A Patient record under a replacement number, with who wrote it."""

    sector: str
    org: str
    content: FhirJson


def links_to(
    cpr: str, records: Sequence[LinkRecord], owners: Collection[str], policy: Policy
) -> bool:
    """Whether a record among ``records`` (the Patient records under one replacement
    number) links it to ``cpr`` and was written by someone who may: an authoritative
    source, or an organisation in ``owners`` (those holding records under the
    replacement number other than those in ``NOT_OWNERSHIP``)."""
    return any(
        linked_cpr(record.content) == cpr
        and (policy.is_authoritative(record.sector, record.org) or record.org in owners)
        for record in records
    )


def refused(consents: Sequence[PatientConsent], viewer: Viewer, item: Item, now: datetime) -> bool:
    """Whether a refusal among ``consents`` (the patient's, recorded under the CPR number)
    covers ``item`` for ``viewer``: refusal wins across a link too."""
    return is_refused(consents, viewer, item, now)
