"""Which resources the format accepts, and the hub id each one gets.

Ids a sender gives its resources are local to that sender, so every hub id is derived
from the sending organisation (from its token) plus the sender's own handle on the
resource; two senders with the same local ids never overwrite each other. For an
entry of type ``T`` the hub id is ``resource_id(T, sender org, *key)`` where ``key``
is, in order:

1. ``("identifier", "system|value")`` for a conditional update (PUT
   ``T?identifier=system|value``) or a conditional create (POST with
   ``ifNoneExist: identifier=system|value``): the sender named the resource by that
   identifier, and a conditional reference ``T?identifier=system|value`` from a later
   message reaches the same id;
2. the sender's id: from a PUT's ``request.url`` (``T/id``), ``resource.id``, or a
   RESTful ``fullUrl`` ending in ``T/id`` (these must agree);
3. the ``fullUrl`` itself when it is not RESTful (``urn:uuid:…``, ``urn:oid:…``);
4. lacking all of these, ``("content", <sha-256 of the resource's canonical JSON>)``.
   Such a resource can never be updated by a later message (changed content is a new
   resource): senders should give resources an id.

A Patient is the exception: it must carry a CPR number, or lacking one a replacement
number (erstatningspersonnummer, a system under ``urn:oid:1.2.208.176.1.6.1``; the
national one when it carries several), and its id is ``patient_resource_id`` of that
patient key, the one Patient all sectors share.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl

import orjson

from adapters.fhir.payload import Entry, url_path
from hub.domain.identifiers import (
    CPR_SYSTEM,
    REPLACEMENT_SYSTEM_FAMILY,
    cpr_patient_key,
    is_replacement_system,
    is_replacement_value,
    normalise_cpr,
    patient_resource_id,
    preferred_replacement,
    replacement_patient_key,
    resource_id,
)
from hub.domain.translation import Sender, TranslationError

PATIENT_BOUND = (
    "Encounter",
    "ServiceRequest",
    "CarePlan",
    "Consent",
    "Communication",
    "Task",
    "Appointment",
    "CareTeam",
    "Flag",
    "Observation",
)
"""Types that belong to one patient's pathway: each must reference exactly one patient."""

DIRECTORY = ("Organization", "HealthcareService")
"""Types about no patient: the sender's directory entries."""

ACCEPTED = ("Patient", *PATIENT_BOUND, *DIRECTORY)

# FHIR ids: 1-64 of [A-Za-z0-9-.]. Resource type names start with a capital letter.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
RESTFUL = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def patient_key_of(entry: Entry) -> str:
    """The patient key of a Patient entry: its CPR number, else its replacement number."""
    found: str | None = None
    replacements: list[tuple[str, str]] = []
    unknown: list[tuple[str, str]] = []  # (system, where)
    identifiers = entry.resource.get("identifier")
    for position, identifier in enumerate(identifiers if isinstance(identifiers, list) else ()):
        if not isinstance(identifier, dict):
            continue
        system = identifier.get("system")
        at = f"{entry.where}.identifier[{position}]"
        if system == CPR_SYSTEM:
            cpr = cpr_value(identifier.get("value"), f"{at}.value")
            if found is not None and cpr != found:
                raise TranslationError("the Patient carries two different CPR numbers", at)
            found = cpr
        elif isinstance(system, str) and is_replacement_system(system):
            replacements.append((system, replacement_value(identifier.get("value"), f"{at}.value")))
        else:
            unknown.append((str(system), f"{at}.system"))
    if found is not None:
        return cpr_patient_key(found)
    if replacements:
        return replacement_patient_key(*preferred_replacement(replacements))
    no_number = (
        f"the Patient carries no CPR number (an identifier with system {CPR_SYSTEM}) and no "
        f"replacement number (a system under {REPLACEMENT_SYSTEM_FAMILY}); the hub "
        "identifies every patient by one of them"
    )
    if unknown:
        systems = ", ".join(system for system, _ in unknown)
        raise TranslationError(f"{no_number}; it carries only {systems}", unknown[0][1])
    raise TranslationError(no_number, f"{entry.where}.identifier")


def replacement_value(value: Any, where: str) -> str:
    """The replacement number in ``value`` (never echoed: it identifies a person)."""
    if not isinstance(value, str) or not is_replacement_value(value):
        raise TranslationError(
            "the replacement number (erstatningspersonnummer) has no value, or one that is "
            "not 1-64 letters, digits, '.' and '-'",
            where,
        )
    return value


def patient_key_by_identifier(system: Any, value: Any, where: str) -> str | None:
    """The patient key an identifier names, if it is a CPR or replacement number;
    ``where`` is the value's location."""
    if system == CPR_SYSTEM:
        return cpr_patient_key(cpr_value(value, where))
    if isinstance(system, str) and is_replacement_system(system):
        return replacement_patient_key(system, replacement_value(value, where))
    return None


def cpr_value(value: Any, where: str) -> str:
    """The normalised CPR number in ``value`` (the value itself is never echoed)."""
    cpr = normalise_cpr(value) if isinstance(value, str) else None
    if cpr is None:
        raise TranslationError(
            "the value is marked as a CPR number but is not one: expected DDMMYYSSSS or "
            "DDMMYY-SSSS with a real day and month",
            where,
        )
    return cpr


def identifier_search(query: str, where: str) -> tuple[str, str]:
    """``(system, value)`` of the search ``identifier=system|value``, the one search
    the hub can resolve (a conditional reference, update or create)."""
    params = parse_qsl(query, keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "identifier":
        raise TranslationError(
            f"the search {query!r} cannot be resolved: the hub resolves only "
            "identifier=system|value",
            where,
        )
    system, bar, value = params[0][1].rpartition("|")
    if not bar or not system or not value:
        raise TranslationError(
            f"the search {query!r} must name the identifier's system: identifier=system|value",
            where,
        )
    return system, value


def sender_key(entry: Entry) -> tuple[str, ...]:
    """The sender's handle on a (non-Patient) entry: see the module docstring."""
    kind = entry.resource_type
    local_id = _local_id(entry)
    if entry.url is not None:
        path, query = url_path(entry.url)
        if entry.method == "PUT" and query:
            if path != kind:
                raise TranslationError(
                    f"request.url names {path!r} but the resource is a {kind}",
                    f"{entry.entry_where}.request.url",
                )
            system, value = identifier_search(query, f"{entry.entry_where}.request.url")
            return ("identifier", f"{system}|{value}")
        if entry.if_none_exist is not None:
            system, value = identifier_search(
                entry.if_none_exist, f"{entry.entry_where}.request.ifNoneExist"
            )
            return ("identifier", f"{system}|{value}")
    if local_id is not None:
        return (local_id,)
    if entry.full_url is not None:
        return (entry.full_url,)
    content = orjson.dumps(entry.resource, option=orjson.OPT_SORT_KEYS)
    return ("content", hashlib.sha256(content).hexdigest())


def _local_id(entry: Entry) -> str | None:
    """The sender's id of the entry, checked for agreement between its three places."""
    kind = entry.resource_type
    candidates: list[tuple[str, str]] = []
    if entry.url is not None:
        path, query = url_path(entry.url)
        where = f"{entry.entry_where}.request.url"
        if entry.method == "POST" and path != kind:
            raise TranslationError(
                f"a POST's request.url must be the resource type {kind!r}, not {entry.url!r}",
                where,
            )
        if entry.method == "PUT" and not query:
            match = RESTFUL.search(path)
            if match is None or match.group(1) != kind:
                raise TranslationError(
                    f"a PUT's request.url must be {kind}/<id> or {kind}?identifier=system|value, "
                    f"not {entry.url!r}",
                    where,
                )
            candidates.append((match.group(2), where))
    own = entry.resource.get("id")
    if own is not None:
        if not isinstance(own, str) or FHIR_ID.fullmatch(own) is None:
            raise TranslationError(
                "id must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'", f"{entry.where}.id"
            )
        candidates.append((own, f"{entry.where}.id"))
    if entry.full_url is not None:
        match = RESTFUL.search(entry.full_url)
        if match is not None and not entry.full_url.startswith("urn:"):
            if match.group(1) != kind:
                raise TranslationError(
                    f"fullUrl {entry.full_url!r} names a {match.group(1)}, but the resource is "
                    f"a {kind}",
                    f"{entry.entry_where}.fullUrl",
                )
            candidates.append((match.group(2), f"{entry.entry_where}.fullUrl"))
    for other, where in candidates[1:]:
        if other != candidates[0][0]:
            raise TranslationError(
                f"the id {other!r} here disagrees with {candidates[0][0]!r} at {candidates[0][1]}",
                where,
            )
    return candidates[0][0] if candidates else None


def local_handles(entry: Entry) -> list[str]:
    """Every literal reference by which other entries may point at ``entry``:
    its fullUrl, and ``Type/id`` from its id, PUT url or RESTful fullUrl."""
    handles = [entry.full_url] if entry.full_url else []
    local_id = _local_id(entry)
    if local_id is not None:
        handles.append(f"{entry.resource_type}/{local_id}")
    return handles


def hub_id(entry: Entry, sender: Sender, patient_key: str | None) -> str:
    """The hub id of ``entry`` (``patient_key`` for a Patient)."""
    if patient_key is not None:
        return patient_resource_id(patient_key)
    return resource_id(entry.resource_type, sender.org, *sender_key(entry))


def referenced_id(kind: str, sender: Sender, local_id: str) -> str:
    """The hub id of the sender's ``kind/local_id`` (when it is not in the payload)."""
    return resource_id(kind, sender.org, local_id)


def identified_id(kind: str, sender: Sender, system: str, value: str) -> str:
    """The hub id of the sender's resource named by ``kind?identifier=system|value``."""
    return resource_id(kind, sender.org, "identifier", f"{system}|{value}")
