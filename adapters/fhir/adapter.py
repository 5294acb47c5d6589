"""The plain FHIR adapter: a FHIR R4 resource or a transaction, batch or collection
Bundle in, validated FHIR grouped by patient out.

* Accepted resource types: ``identity.ACCEPTED``; any other is refused at its entry
  (``Bundle.entry[3].resource``), naming every unaccepted type the payload holds. An
  Observation must be one the hub reads (``codes.check_observation_code``).
* One Translation per patient (``patient_key`` ``cpr:<CPR>``), in order of first
  appearance; the directory resources (Organization, HealthcareService) go in one
  Translation keyed ``directory_key(sender org)``. A patient-bound resource must
  reference exactly one patient, a directory resource none.
* ``event`` is ``fhir:<Bundle.type>`` (``fhir:transaction`` …) or, for a single
  resource, ``fhir:<resourceType>``. ``source_id`` is ``Bundle.identifier``
  (``system|value``) when present; ``occurred_at`` ``Bundle.timestamp`` (a single
  resource: ``meta.lastUpdated``). ``declared_sender`` is None: plain FHIR names no
  message sender (``meta.source`` names a source system by URI, which is not an
  identity the hub can check against a token).
* ``facts``: ``payload`` (the Bundle type or ``resource``), ``resourceTypes`` and,
  when any, ``pathwayEvents`` (the hub's pathway-event codes the resources carry).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.fhir.codes import check_observation_code, pathway_events
from adapters.fhir.identity import (
    ACCEPTED,
    DIRECTORY,
    PATIENT_BOUND,
    hub_id,
    identifier_search,
    local_handles,
    patient_key_of,
)
from adapters.fhir.payload import SINGLE, Entry, Payload, read_payload, url_path
from adapters.fhir.references import PayloadIndex, ReferenceRewriter, Target
from adapters.fhir.resources import finish
from adapters.fhirtools import validated
from hub.domain.identifiers import (
    CPR_SYSTEM,
    cpr_patient_key,
    directory_key,
    is_replacement_system,
    replacement_patient_key,
)
from hub.domain.translation import (
    FhirJson,
    Sender,
    Translation,
    TranslationError,
    refusing_the_unexpected,
)

# The element a patient-bound resource names its patient in, for error messages.
_PATIENT_ELEMENT = {
    "Encounter": "subject",
    "ServiceRequest": "subject",
    "CarePlan": "subject",
    "Consent": "patient",
    "Communication": "subject",
    "Task": "for",
    "Appointment": "participant",
    "CareTeam": "subject",
    "Flag": "subject",
    "Observation": "subject",
}


@dataclass
class _Group:
    """The resources of one Translation, by (type, id) so duplicates are seen."""

    resources: dict[tuple[str, str], FhirJson] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


class FhirAdapter:
    """Translate plain FHIR R4 (JSON or XML) into the hub's resources, per patient."""

    format: str = "fhir"

    def translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        """Translate a payload, accepting or refusing it whole."""
        with refusing_the_unexpected("FHIR"):
            return self._translate(raw, sender)

    def _translate(self, raw: bytes, sender: Sender) -> list[Translation]:
        payload = read_payload(raw)
        _check_types(payload)
        index, targets = _index(payload, sender)
        rewriter = ReferenceRewriter(index)
        groups: dict[str, _Group] = {}
        for entry, target in zip(payload.entries, targets, strict=True):
            rewritten = rewriter.rewrite(entry.resource, entry.where)
            key = _group_key(entry, target, rewritten.patients, sender)
            resource = finish(rewritten.resource, target.hub_id)
            events = pathway_events(resource, entry.where)
            if target.resource_type == "Observation":
                check_observation_code(resource, entry.where)
            output = validated(resource, at=entry.where)
            group = groups.setdefault(key, _Group())
            identity = (target.resource_type, target.hub_id)
            earlier = group.resources.get(identity)
            if earlier is not None and earlier != output:
                raise TranslationError(
                    f"this {target.resource_type} is the same resource as an earlier entry "
                    "(same id, CPR number or content key) but its content differs",
                    entry.where,
                )
            group.resources[identity] = output
            group.events.extend(code for code in events if code not in group.events)
        return [
            _translation(payload, key, group) for key, group in groups.items() if group.resources
        ]


def _check_types(payload: Payload) -> None:
    refused = [entry for entry in payload.entries if entry.resource_type not in ACCEPTED]
    if not refused:
        return
    first = refused[0]
    others = sorted({entry.resource_type for entry in refused[1:]} - {first.resource_type})
    also = f"; the payload also holds {', '.join(others)}, not accepted either" if others else ""
    where = "resourceType" if first.position is None else f"{first.entry_where}.resource"
    raise TranslationError(
        f"{first.resource_type} is not a resource type the fhir format accepts "
        f"(accepted: {', '.join(ACCEPTED)}){also}",
        where,
    )


def _index(payload: Payload, sender: Sender) -> tuple[PayloadIndex, list[Target]]:
    """Every entry's hub id, and the index references are resolved through."""
    index = PayloadIndex(sender)
    targets: list[Target] = []
    claimed: dict[str, tuple[Target, str]] = {}
    for entry in payload.entries:
        patient_key = patient_key_of(entry) if entry.resource_type == "Patient" else None
        if patient_key is not None:
            _check_conditional_patient(entry, patient_key)
        target = Target(entry.resource_type, hub_id(entry, sender, patient_key), patient_key)
        handles = local_handles(entry)
        for handle in handles:
            earlier = claimed.get(handle)
            if earlier is not None and earlier[0] != target:
                raise TranslationError(
                    f"{handle!r} already names another resource, at {earlier[1]}",
                    f"{entry.entry_where}.fullUrl"
                    if handle == entry.full_url
                    else f"{entry.where}.id",
                )
            claimed[handle] = (target, entry.where)
        index.add(target, handles, entry.resource.get("identifier"))
        targets.append(target)
    return index, targets


def _check_conditional_patient(entry: Entry, patient_key: str) -> None:
    """A Patient created or updated by a CPR search must carry that CPR number."""
    search = None
    where = f"{entry.entry_where}.request.url"
    if entry.method == "PUT" and entry.url is not None:
        search = url_path(entry.url)[1] or None
    elif entry.if_none_exist is not None:
        search, where = entry.if_none_exist, f"{entry.entry_where}.request.ifNoneExist"
    if search is None:
        return
    system, value = identifier_search(search, where)
    if system == CPR_SYSTEM and cpr_patient_key(value.replace("-", "")) != patient_key:
        raise TranslationError(
            "the CPR number searched for is not the CPR number of the Patient", where
        )
    if is_replacement_system(system) and replacement_patient_key(system, value) != patient_key:
        raise TranslationError(
            "the replacement number searched for is not the number the Patient is keyed by",
            where,
        )


def _group_key(
    entry: Entry, target: Target, patients: list[tuple[str, str]], sender: Sender
) -> str:
    kind = entry.resource_type
    if target.patient_key is not None:
        return target.patient_key
    if kind in DIRECTORY:
        if patients:
            raise TranslationError(
                f"a {kind} is directory data and must not reference a patient", patients[0][1]
            )
        return directory_key(sender.org)
    assert kind in PATIENT_BOUND
    distinct = list(dict.fromkeys(key for key, _ in patients))
    if not distinct:
        raise TranslationError(
            f"a {kind} belongs to one patient's pathway and must reference that patient "
            f"(in {_PATIENT_ELEMENT[kind]}): by CPR, a Patient of the payload, or "
            f"Patient?identifier={CPR_SYSTEM}|<CPR>",
            f"{entry.where}.{_PATIENT_ELEMENT[kind]}",
        )
    if len(distinct) > 1:
        second = next(path for key, path in patients if key == distinct[1])
        raise TranslationError(
            f"a {kind} must concern exactly one patient, but this reference names a second, "
            "different patient",
            second,
        )
    return distinct[0]


def _translation(payload: Payload, key: str, group: _Group) -> Translation:
    resources = list(group.resources.values())
    # The Patient leads its translation, whatever the order of the entries.
    resources.sort(key=lambda resource: resource["resourceType"] != "Patient")
    types = list(dict.fromkeys(str(resource["resourceType"]) for resource in resources))
    facts = {"payload": payload.kind, "resourceTypes": ",".join(types)}
    if group.events:
        facts["pathwayEvents"] = ",".join(group.events)
    event = payload.entries[0].resource_type if payload.kind == SINGLE else payload.kind
    return Translation(
        patient_key=key,
        resources=resources,
        event=f"fhir:{event}",
        source_id=payload.source_id,
        facts=facts,
        occurred_at=payload.occurred_at,
        occurred_at_where=payload.occurred_at_where,
        declared_sender=None,
    )
