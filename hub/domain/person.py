"""The patient is many records, one person.

Every organisation that writes about a patient keeps its own ``Patient`` record
(``identifiers.owned_patient_id``); nobody overwrites another's. What a viewer sees of
the person is assembled from the records that viewer may see, in this order of
precedence:

1. records from authoritative sources (``Policy.authoritative_sectors`` and
   ``authoritative_organisations``; by default the hospital and psychiatry feeds, whose
   ADT and MedCom messages carry the CPR register's name and address);
2. the viewer's own organisation's records;
3. everyone else's;

newest first within each group (by the source's own time, else when stored). Each
element (name, birth date, address, telecom …) comes from the first record that has
it. Whether the patient has died (``deceased[x]``) is taken only from authoritative
records or the viewer's own: a death drives events and ends a pathway, so no other
organisation can declare it.

Facts that grant access are read from authoritative records only, whatever the
viewer may see: the residence municipality (``residence``), which gives that
municipality its notification basis and its discharge feed, and death
(``has_died``), which drives the DEATH event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from hub.domain.consent import Policy, residence_kommune
from hub.domain.identifiers import owned_patient_id, patient_resource_id
from hub.domain.translation import FhirJson

_DECEASED = ("deceasedBoolean", "deceasedDateTime")
_NOT_ASSEMBLED = frozenset({"resourceType", "id", "meta", *_DECEASED})


class PatientRecord(Protocol):
    """One organisation's stored Patient record, as far as this module needs it."""

    @property
    def sector(self) -> str: ...

    @property
    def org(self) -> str: ...

    @property
    def content(self) -> FhirJson: ...

    @property
    def source_time(self) -> datetime | None: ...

    @property
    def last_updated(self) -> datetime: ...


R = TypeVar("R", bound="PatientRecord")


def _recency(record: PatientRecord) -> datetime:
    return record.source_time or record.last_updated


def _newest_first(records: Iterable[R]) -> list[R]:
    return sorted(records, key=_recency, reverse=True)


def authoritative(records: Iterable[R], policy: Policy) -> list[R]:
    """The records from authoritative sources, newest first."""
    return _newest_first(r for r in records if policy.is_authoritative(r.sector, r.org))


def residence(records: Iterable[PatientRecord], policy: Policy) -> str | None:
    """The residence municipality: the newest authoritative record that names one."""
    return residence_source(records, policy)[0]


def residence_source(
    records: Iterable[PatientRecord], policy: Policy
) -> tuple[str | None, PatientRecord | None]:
    """The residence municipality and the authoritative record that says so."""
    for record in authoritative(records, policy):
        kommune = residence_kommune(record.content)
        if kommune is not None:
            return kommune, record
    return None, None


def owned_record(resource: FhirJson, patient_key: str, org: str) -> FhirJson:
    """``resource``, and if it is the patient's Patient, under ``org``'s own record id.

    Adapters name the person (``patient_resource_id``); the record ``org`` keeps of them
    is its own (``owned_patient_id``), so no organisation's Patient can overwrite
    another's.
    """
    if resource.get("resourceType") != "Patient" or resource.get("id") != patient_resource_id(
        patient_key
    ):
        return resource
    return {**resource, "id": owned_patient_id(patient_key, org)}


def owned_reference(reference: str, patient_key: str, org: str) -> str:
    """A reference to the person, as a reference to ``org``'s own record of them."""
    if reference == f"Patient/{patient_resource_id(patient_key)}":
        return f"Patient/{owned_patient_id(patient_key, org)}"
    return reference


def says_deceased(content: FhirJson) -> bool:
    return content.get("deceasedBoolean") is True or bool(content.get("deceasedDateTime"))


def has_died(records: Iterable[PatientRecord], policy: Policy) -> bool:
    """Whether the newest authoritative record that speaks of death says the patient died."""
    for record in authoritative(records, policy):
        if any(key in record.content for key in _DECEASED):
            return says_deceased(record.content)
    return False


def in_precedence(records: Iterable[R], policy: Policy, viewer_org: str) -> list[R]:
    """Authoritative first, then the viewer's own, then the rest; newest first in each."""
    ordered = _newest_first(records)
    return sorted(
        ordered,
        key=lambda r: (not policy.is_authoritative(r.sector, r.org), r.org != viewer_org),
    )


def person_view(
    shown: Sequence[tuple[PatientRecord, FhirJson]],
    person_id: str,
    policy: Policy,
    viewer_org: str,
) -> FhirJson | None:
    """The person as one Patient (id ``person_id``), from the records the viewer is shown.

    ``shown`` pairs each record the viewer may see with the content it is shown
    (relatives may be cut). ``None`` when the viewer may see none: hidden looks like
    missing.
    """
    if not shown:
        return None
    content_of = {id(record): content for record, content in shown}
    ordered = in_precedence([record for record, _ in shown], policy, viewer_org)
    first = content_of[id(ordered[0])]
    person: FhirJson = {"resourceType": "Patient", "id": person_id}
    if "meta" in first:
        person["meta"] = first["meta"]
    for record in ordered:
        for key, value in content_of[id(record)].items():
            if key not in _NOT_ASSEMBLED and key not in person:
                person[key] = value
    for record in ordered:
        may_say = policy.is_authoritative(record.sector, record.org) or record.org == viewer_org
        content = content_of[id(record)]
        if may_say and any(key in content for key in _DECEASED):
            person.update({key: content[key] for key in _DECEASED if key in content})
            break
    return person
