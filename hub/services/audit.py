"""Every access to patient data, recorded as a FHIR AuditEvent in the IHE BALP style.

An access record says who (the token's ``sub``, sector and organisation by SOR code),
about whom (CPR), what (the action, e.g. ``pathway.read``, and exactly which resource
versions were disclosed, as ``Type/id/_history/v``), when, why (the purpose of use,
an HL7 v3 ActReason code), with what outcome (``success``, or ``denied`` when the
request was refused) and whether an emergency override (værdispring) was asserted,
with its reason. How many of the patient's resources the viewer was *not* shown is
kept in the record only: it is never shown to that viewer.

Records are appended, never changed or removed: nothing here or in the store can do
that, and the database refuses it (migration 0003).

Data sent through a subscription is recorded under whoever it reached (the token that
pulled it or opened the websocket; for a webhook the subscription itself, on behalf of
its owner organisation), naming the subscription too: see :class:`Via`.

Who may read a patient's access log: a token with the ``auditor`` role (any patient)
or the patient's own token (``cpr`` claim). Every read of the log, and every refused
attempt, is itself recorded (``audit.read``).

It runs over 400 lines because writing an access record and reading the log are one
concept, the AuditEvent's shape, which both must agree on: split, the FHIR layout would
be spelt in two modules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub import clock
from hub.domain.consent import PURPOSE_SYSTEM
from hub.domain.consent import SECTOR_ROLE_SYSTEM as SECTOR_SYSTEM
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_of, cpr_patient_key
from hub.services.auth import Principal
from hub.services.patient_keys import is_own, patient_key_named
from hub.services.unit_of_work import AuditedUnitOfWork, UnitOfWorkFactory
from hub.store.audit import AuditRecord
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

SUCCESS = "success"
DENIED = "denied"
AUDITOR_ROLE = "auditor"
"""The token role that may read any patient's access log."""

AUDIT_READ = "audit.read"
ACCESS_LOG_LIMIT = 500
"""The most access-log entries one read returns (newest first)."""

ACTION_SYSTEM = "urn:brobygger:codesystem:audit-action"
ROLE_SYSTEM = "urn:brobygger:codesystem:token-role"
USER_SYSTEM = "urn:brobygger:identifier:token-subject"

_DICOM = "http://dicom.nema.org/resources/ontology/DCM"
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
_NETWORK_URI = "5"  # AuditEvent.agent.network.type: a URI
_VIA_ROLE_CODING = {"system": _OBJECT_ROLE, "code": "23"}  # Routing Criteria: a subscription

_PURPOSE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")  # v3-ActReason codes: TREAT, ETREAT, HCOMPL …
_PURPOSE_DISPLAY = {
    "TREAT": "treatment",
    "ETREAT": "Emergency Treatment",
    "HCOMPL": "health compliance",
    "PATRQT": "patient requested",
    "HOPERAT": "healthcare operations",
    "BTG": "break the glass",
}
_ACTION = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$")  # "pathway.read"
# The verb of an action (its last part) decides the AuditEvent.action code.
_ACTION_CODES = {
    "read": "R",
    "view": "R",
    "record": "C",
    "create": "C",
    "update": "U",
    "withdraw": "U",
    "revoke": "U",
    "delete": "D",
}
_OUTCOME_CODES = {SUCCESS: "0", DENIED: "4"}  # 4: minor failure (the request was refused)


@dataclass(frozen=True)
class Via:
    """The subscription (``Subscription/<id>``) patient data reached the viewer through.

    Kept in the AuditEvent (the record's ``detail``) as an entity of object role
    "Routing Criteria". With ``recipient`` the viewer *is* the subscription (a webhook,
    posted to ``endpoint`` for its owner), and the requesting agent names it and its URL.
    """

    reference: str
    channel: str  # "websocket" or "webhook"
    owner_sub: str  # who registered it
    owner_org: str  # its owner organisation (SOR code)
    endpoint: str | None = None  # a webhook's URL
    recipient: bool = False


class AccessLogRefused(PermissionError):
    """The caller may not read this patient's access log (the attempt is recorded)."""


class AccessLogQueryError(ValueError):
    """An access-log request the hub will not answer as asked (the caller can fix it)."""


async def record_access(
    uow: AuditedUnitOfWork,
    viewer: Principal,
    *,
    action: str,
    patient_key: str | None,
    disclosed: Sequence[StoredResource],
    withheld: int = 0,
    purpose: str = "TREAT",
    override_reason: str | None = None,
    outcome: str = SUCCESS,
    disclosed_references: Sequence[str] = (),
    via: Via | None = None,
) -> None:
    """Record, in ``uow``'s transaction, that ``viewer`` accessed a patient's data.

    ``disclosed`` are the resource versions shown (possibly none); ``withheld`` how
    many of the patient's resources were not shown. ``disclosed_references`` names
    further things shown that are not stored resources (``AuditEvent/<id>``). ``via``
    names the subscription the data reached ``viewer`` through, if it did.
    """
    if not _ACTION.match(action):
        raise ValueError(f"audit action must look like 'pathway.read', got {action!r}")
    if not _PURPOSE.match(purpose):
        raise ValueError(f"purpose must be a v3-ActReason code such as TREAT, got {purpose!r}")
    if outcome not in _OUTCOME_CODES:
        raise ValueError(f"outcome must be {SUCCESS!r} or {DENIED!r}, got {outcome!r}")
    if withheld < 0:
        raise ValueError("withheld cannot be negative")
    reason = (override_reason or "").strip() or None  # a blank reason asserts nothing
    references = [
        *(f"{r.resource_type}/{r.id}/_history/{r.version_id}" for r in disclosed),
        *disclosed_references,
    ]
    at = clock.now()
    event = audit_event(
        viewer,
        action=action,
        at=at,
        patient_key=patient_key,
        references=references,
        withheld=withheld,
        purpose=purpose,
        override_reason=reason,
        outcome=outcome,
        via=via,
    )
    await uow.audit.record(
        action=action,
        sub=viewer.sub,
        sector=viewer.sector.value,
        org=viewer.org,
        patient_key=patient_key,
        detail=event,
        at=at,
        outcome=outcome,
        purpose=purpose,
        override_reason=reason,
        disclosed_count=len(references),
    )


async def record_disclosure(
    uow: UnitOfWork,
    viewer: Principal,
    *,
    action: str,
    patient_key: str,
    disclosed: Sequence[StoredResource],
) -> None:
    """Record that ``viewer`` was shown ``disclosed`` (possibly nothing) for treatment.

    Kept for the callers written before :func:`record_access`; prefer that.
    """
    await record_access(uow, viewer, action=action, patient_key=patient_key, disclosed=disclosed)


def audit_event(
    viewer: Principal,
    *,
    action: str,
    at: datetime,
    patient_key: str | None,
    references: Sequence[str],
    withheld: int,
    purpose: str,
    override_reason: str | None,
    outcome: str,
    via: Via | None = None,
) -> dict[str, Any]:
    """The FHIR R4B AuditEvent of one access (its id is the audit record's id)."""
    verb_code = _ACTION_CODES.get(action.rsplit(".", 1)[-1], "E")
    purposes = [_purpose(purpose)]
    if override_reason:
        # Værdispring is "break the glass": asserted, with the reason the user gave.
        purposes.append({**_purpose("BTG"), "text": override_reason})
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": (
            {"system": _DICOM, "code": "110101", "display": "Audit Log Used"}
            if action.startswith("audit.")
            else {"system": _DICOM, "code": "110110", "display": "Patient Record"}
        ),
        "subtype": [{"system": ACTION_SYSTEM, "code": action}],
        "action": verb_code,
        "recorded": at.astimezone(UTC).isoformat(timespec="milliseconds"),
        "outcome": _OUTCOME_CODES[outcome],
        "purposeOfEvent": purposes,
        "agent": [
            _user_agent(viewer, patient_key, verb_code, purposes, via),
            {
                "type": _concept(_ROLE_CLASS, "PROV", "healthcare provider"),
                "who": {
                    "identifier": {"system": SOR_SYSTEM, "value": viewer.org},
                    "display": f"SOR {viewer.org}",
                },
                "requestor": False,
            },
            {
                "type": _concept(_DICOM, "110152", "Destination Role ID"),
                "who": _hub(),
                "requestor": False,
            },
        ],
        "source": {
            "site": "brobygger",
            "observer": _hub(),
            "type": [{"system": _SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
    }
    entities = [
        *_patient_entity(patient_key, withheld),
        *(_data_entity(reference) for reference in references),
        *([_via_entity(via)] if via is not None else []),
    ]
    if entities:  # FHIR JSON has no empty arrays
        event["entity"] = entities
    if outcome == DENIED:
        event["outcomeDesc"] = "denied: the request was refused"
    return event


def _user_agent(
    viewer: Principal,
    patient_key: str | None,
    verb_code: str,
    purposes: list[dict[str, Any]],
    via: Via | None = None,
) -> dict[str, Any]:
    if viewer.cpr is not None and patient_key == cpr_patient_key(viewer.cpr):
        agent_type = _concept(_ROLE_CLASS, "PAT", "patient")  # the patient's own access
    elif verb_code in {"C", "U", "D"}:
        agent_type = _concept(_ROLE_CLASS, "AGNT", "agent")
    else:
        agent_type = _concept(_PARTICIPATION, "IRCP", "information recipient")
    roles = [_concept(SECTOR_SYSTEM, viewer.sector.value)]
    roles += [_concept(ROLE_SYSTEM, role) for role in sorted(viewer.roles)]
    agent: dict[str, Any] = {
        "type": agent_type,
        "role": roles,
        "who": {
            "identifier": {"system": USER_SYSTEM, "value": viewer.sub},
            "display": viewer.sub,
        },
        "requestor": True,
        "purposeOfUse": purposes,
    }
    if via is not None and via.recipient:
        # The subscription itself was told (a webhook): name it, and where it was sent.
        agent["who"] = {
            **agent["who"],
            "reference": via.reference,
            "display": via.endpoint or via.reference,
        }
        if via.endpoint:
            agent["network"] = {"address": via.endpoint, "type": _NETWORK_URI}
    return agent


def _patient_entity(patient_key: str | None, withheld: int) -> list[dict[str, Any]]:
    if patient_key is None:
        return []
    cpr = cpr_of(patient_key)
    system, _, value = (CPR_SYSTEM, "", cpr) if cpr else patient_key.rpartition("|")
    identifier = {"system": system, "value": value} if system else {"value": value}
    return [
        {
            "what": {"identifier": identifier},
            "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"},
            # Kept for the auditor: how much of the patient's data the viewer did not see.
            "detail": [{"type": "withheld", "valueString": str(withheld)}],
        }
    ]


def _data_entity(reference: str) -> dict[str, Any]:
    return {
        "what": {"reference": reference},
        "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
        "role": {"system": _OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
    }


def _via_entity(via: Via) -> dict[str, Any]:
    details = [
        {"type": "channel", "valueString": via.channel},
        {"type": "owner", "valueString": via.owner_sub},
        {"type": "owner-organisation", "valueString": via.owner_org},
    ]
    if via.endpoint:
        details.append({"type": "endpoint", "valueString": via.endpoint})
    return {
        "what": {"reference": via.reference},
        "type": {"system": _ENTITY_TYPE, "code": "2", "display": "System Object"},
        "role": {**_VIA_ROLE_CODING, "display": "Routing Criteria"},
        "description": (
            "the subscription the data was sent to"
            if via.recipient
            else "the subscription the data was read through"
        ),
        "detail": details,
    }


def via_of(record: AuditRecord) -> str | None:
    """The subscription (``Subscription/<id>``) an access went through, if it did."""
    detail: Any = record.detail  # older records hold the disclosed resources only
    for entity in (detail.get("entity") if isinstance(detail, dict) else None) or []:
        role = entity.get("role") or {}
        if {k: role.get(k) for k in _VIA_ROLE_CODING} == _VIA_ROLE_CODING:
            return str(entity["what"]["reference"])
    return None


def _hub() -> dict[str, Any]:
    return {
        "identifier": {"system": "urn:brobygger:system", "value": "hub"},
        "display": "Brobygger",
    }


def _purpose(code: str) -> dict[str, Any]:
    return _concept(PURPOSE_SYSTEM, code, _PURPOSE_DISPLAY.get(code))


def _concept(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code} | ({"display": display} if display else {})
    return {"coding": [coding]}


async def read_access_log(
    units: UnitOfWorkFactory[UnitOfWork],
    viewer: Principal,
    cpr: str,
    limit: int = ACCESS_LOG_LIMIT,
) -> list[AuditRecord]:
    """The patient's recorded accesses, newest first, if ``viewer`` may read them.

    The read is recorded (``audit.read``, naming each entry shown); so is a refused
    attempt (outcome ``denied``), before :class:`AccessLogRefused` is raised. ``cpr``
    names the patient: a CPR number, or a replacement number as ``<system>|<value>``.
    """
    patient_key = access_log_key(cpr)
    own = is_own(viewer.cpr, patient_key)
    purpose = "PATRQT" if own else "HCOMPL"
    allowed = own or AUDITOR_ROLE in viewer.roles
    async with units() as uow:
        entries = await uow.audit.for_patient(patient_key, limit=limit) if allowed else []
        await record_access(
            uow,
            viewer,
            action=AUDIT_READ,
            patient_key=patient_key,
            disclosed=[],
            purpose=purpose,
            outcome=SUCCESS if allowed else DENIED,
            disclosed_references=[f"AuditEvent/{entry.id}" for entry in entries],
        )
        await uow.commit()
    if not allowed:
        raise AccessLogRefused("not allowed")
    return entries


async def list_access_log(
    units: UnitOfWorkFactory[UnitOfWork], cpr: str, limit: int
) -> list[AuditRecord]:
    """The patient's recorded accesses, newest first, for the operator's command line.

    Not itself recorded: it runs with the database's own credentials, outside any
    token, and whoever runs it can read the table directly anyway.
    """
    patient_key = access_log_key(cpr)
    async with units() as uow:
        return await uow.audit.for_patient(patient_key, limit=limit)


def access_log_key(named: str) -> str:
    """The patient key of the patient whose access log is asked for (a CPR number or
    ``<system>|<value>``); AccessLogQueryError when it names none."""
    return patient_key_named(named, lambda message, _code: AccessLogQueryError(message))
