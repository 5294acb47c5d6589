"""PID to FHIR Patient (after HL7's v2-to-FHIR PID[Patient] segment map).

Identity (PID-3, patient identifier list):

* A repetition is a CPR number when its assigning authority (CX-4, any
  subcomponent) mentions ``CPR`` (case-insensitive; not ``ECPR`` or
  ``ERSTATNING…``, which name replacement numbers) or is the CPR OID
  ``1.2.208.176.1.2``, or when its identifier type (CX-5) is ``NNDNK`` (table
  0203: national person identifier, Denmark). Its value must be a CPR number.
  The patient is then keyed by CPR.
* Without a CPR, a replacement number (erstatningspersonnummer) keys the patient: a
  repetition whose system (below) is under ``urn:oid:1.2.208.176.1.6.1`` -- the
  national one (``….1.1``) when there are several, else the first. A repetition that
  claims to be a replacement number under any other system (an OID under
  ``1.2.208.176.1.6`` outside that family, or an assigning authority named
  ``ERSTATNING…``/``ECPR`` without such an OID) is refused at PID-3.
* Without either, the first valued repetition keys the patient. Its system is
  ``urn:oid:<oid>`` when CX-4 carries an OID (CX-4.2 with CX-4.3 ``ISO``, or a
  bare OID in CX-4.1); else ``urn:brobygger:assigning-authority:<sender SOR
  code>:<CX-4.1>`` -- an authority *name* is only unique within the sender, so
  the system is scoped to the authenticated sending organisation; with no CX-4
  at all, ``urn:brobygger:patient-id:<sender SOR code>``. Name parts are
  percent-encoded.

A CPR number in PID-2 (patient id) or PID-4 (alternate patient id) -- fields
retained only for backward compatibility, still used by some older feeds -- keys
the patient too (and must agree with one in PID-3); their other identifiers are
not used, as their assigning authority is usually unstated.

Every valued PID-3 repetition becomes a Patient.identifier (CX-5 as its type).
Also mapped: name (PID-5), birth date (PID-7, with the birthTime extension when
it has a time), gender (PID-8), address (PID-11, with PID-12 county code as the
district) and death (PID-29/PID-30). Table 0001 (administrative sex) is
user-defined in v2.3-2.6: a PID-8 code outside HL7's suggested values is a local
code the hub cannot read, so Patient.gender is left out rather than guessed.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from adapters.hl7v2.message import Repetition, Segment, V2Message
from adapters.hl7v2.timestamps import parse_timestamp
from hub.domain.identifiers import (
    CPR_SYSTEM,
    REPLACEMENT_SYSTEM_FAMILY,
    cpr_patient_key,
    is_replacement_system,
    is_replacement_value,
    local_patient_key,
    normalise_cpr,
    patient_resource_id,
    preferred_replacement,
    replacement_patient_key,
)
from hub.domain.translation import Sender, TranslationError

CPR_OID = CPR_SYSTEM.removeprefix("urn:oid:")
PERSON_IDENTIFIER_ROOT = "urn:oid:1.2.208.176.1.6."
REPLACEMENT_NAMES = ("ERSTATNING", "ECPR")
IDENTIFIER_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0203"
BIRTH_TIME_URL = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")

# HL7 table 0001 (administrative sex) -> FHIR administrative-gender, as in HL7's
# AdministrativeSex concept map (A ambiguous and N not applicable map to "other").
_GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "other"}

# HL7 table 0190 (address type) -> FHIR Address.use / Address.type; other codes are ignored.
_ADDRESS_USE = {"H": "home", "B": "work", "O": "work", "C": "temp", "BA": "old"}
_ADDRESS_TYPE = {"M": "postal"}


def build_patient(message: V2Message, sender: Sender, zone: ZoneInfo) -> tuple[str, dict[str, Any]]:
    """The patient key and the (not yet validated) Patient resource of ``message``."""
    pid = message.segment("PID")
    if pid is None:
        raise TranslationError("the message has no PID segment, so no patient identifier", "PID-3")
    key, identifiers = _identity(pid, sender)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_resource_id(key),
        "identifier": identifiers,
    }
    names = [name for rep in pid.repetitions(5) if (name := _name(rep))]
    if names:
        patient["name"] = names
    gender = _GENDER.get(pid.value(8).upper())
    if gender:
        patient["gender"] = gender
    birth = pid.value(7)
    if birth:
        born = parse_timestamp(birth, "PID-7", zone)
        patient["birthDate"] = born.date
        if born.has_time:
            patient["_birthDate"] = {
                "extension": [{"url": BIRTH_TIME_URL, "valueDateTime": born.fhir}]
            }
    addresses = _addresses(pid)
    if addresses:
        patient["address"] = addresses
    died = pid.value(29)
    if died:
        patient["deceasedDateTime"] = parse_timestamp(died, "PID-29", zone).fhir
    elif pid.value(30).upper() in ("Y", "N"):
        patient["deceasedBoolean"] = pid.value(30).upper() == "Y"
    return key, patient


def _identity(pid: Segment, sender: Sender) -> tuple[str, list[dict[str, Any]]]:
    """The patient key and Patient.identifier list from PID-3 (and a CPR in PID-2/PID-4)."""
    identifiers: list[dict[str, Any]] = []
    cpr: str | None = None
    first_local: tuple[str, str] | None = None
    replacements: list[tuple[str, str]] = []
    for position, rep in enumerate(pid.field(3), start=1):
        value = rep.component(1)
        if not value:
            continue
        if _is_cpr(rep):
            number = _cpr(value, f"repetition {position} is", "PID-3")
            if cpr is not None and number != cpr:
                raise TranslationError(
                    f"repetition {position} carries a second, different CPR number", "PID-3"
                )
            cpr = number
            system, value = CPR_SYSTEM, number
        else:
            system = local_identifier_system(rep, sender)
            if _claims_replacement(rep, system):
                _check_replacement(system, value, position)
                replacements.append((system, value))
            first_local = first_local or (system, value)
        identifier: dict[str, Any] = {"system": system, "value": value}
        type_code = rep.component(5)
        if type_code:
            identifier["type"] = {"coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": type_code}]}
        if all(i["system"] != system or i["value"] != value for i in identifiers):
            identifiers.append(identifier)
    for legacy_field in (2, 4):
        legacy = _legacy_cpr(pid, legacy_field)
        if legacy is None:
            continue
        if cpr is not None and legacy != cpr:
            raise TranslationError(
                f"PID-{legacy_field} carries a CPR number different from the patient's in PID-3",
                f"PID-{legacy_field}",
            )
        if cpr is None:
            cpr = legacy
            identifiers.insert(0, {"system": CPR_SYSTEM, "value": legacy})
    if cpr is not None:
        return cpr_patient_key(cpr), identifiers
    if replacements:
        return replacement_patient_key(*preferred_replacement(replacements)), identifiers
    if first_local is not None:
        return local_patient_key(*first_local), identifiers
    raise TranslationError(
        "no patient identifier: PID-3 (patient identifier list) is empty", "PID-3"
    )


def _names_replacement(rep: Repetition) -> bool:
    """Whether the assigning authority's name says it issues replacement numbers."""
    return any(name in part.upper() for part in rep.subcomponents(4) for name in REPLACEMENT_NAMES)


def _claims_replacement(rep: Repetition, system: str) -> bool:
    """Whether a (non-CPR) repetition says it is a replacement number."""
    return _names_replacement(rep) or system.startswith(PERSON_IDENTIFIER_ROOT)


def _check_replacement(system: str, value: str, position: int) -> None:
    if not is_replacement_system(system):
        raise TranslationError(
            f"repetition {position} is marked as a replacement number (erstatningspersonnummer) "
            f"but its system {system} is not one of them (an OID under "
            f"{REPLACEMENT_SYSTEM_FAMILY.removeprefix('urn:oid:')} in CX-4)",
            "PID-3",
        )
    if not is_replacement_value(value):
        # The value is not echoed: it identifies a person.
        raise TranslationError(
            f"repetition {position} is a replacement number but its value is not 1-64 "
            "letters, digits, '.' and '-'",
            "PID-3",
        )


def _legacy_cpr(pid: Segment, number: int) -> str | None:
    """The CPR number in PID-2 or PID-4 (first CPR-marked repetition), if any."""
    for rep in pid.repetitions(number):
        value = rep.component(1)
        if value and _is_cpr(rep):
            return _cpr(value, "it is", f"PID-{number}")
    return None


def _cpr(value: str, subject: str, where: str) -> str:
    number = normalise_cpr(value)
    if number is None:
        # The value is not echoed: it may well be (a typo of) a person's CPR number.
        raise TranslationError(
            f"{subject} marked as a CPR number but its value is not one: expected "
            "DDMMYYSSSS or DDMMYY-SSSS with a real day and month",
            where,
        )
    return number


def _is_cpr(rep: Repetition) -> bool:
    authority = rep.subcomponents(4)
    if _names_replacement(rep):
        return False  # "ECPR", "ERSTATNINGSCPR": a replacement number, not a CPR number
    return (
        any("CPR" in part.upper() or part == CPR_OID for part in authority)
        or rep.component(5).upper() == "NNDNK"
    )


def local_identifier_system(rep: Repetition, sender: Sender) -> str:
    """The FHIR identifier system of a non-CPR CX, from its assigning authority (CX-4)."""
    namespace, universal, universal_type = (rep.component(4, n) for n in (1, 2, 3))
    if universal and universal_type.upper() == "ISO" and OID.fullmatch(universal):
        return f"urn:oid:{universal}"
    if OID.fullmatch(namespace):
        return f"urn:oid:{namespace}"
    org = quote(sender.org, safe="")
    name = namespace or universal
    if name:
        return f"urn:brobygger:assigning-authority:{org}:{quote(name, safe='')}"
    return f"urn:brobygger:patient-id:{org}"


def _name(rep: Repetition) -> dict[str, Any]:
    """XPN -> HumanName: 1 family, 2-3 given, 4 suffix, 5 prefix, 6 degree (as suffix)."""
    name: dict[str, Any] = {}
    family = rep.component(1)
    given = [part for part in (rep.component(2), rep.component(3)) if part]
    suffix = [part for part in (rep.component(4), rep.component(6)) if part]
    prefix = rep.component(5)
    if family:
        name["family"] = family
    if given:
        name["given"] = given
    if prefix:
        name["prefix"] = [prefix]
    if suffix:
        name["suffix"] = suffix
    return name


def _addresses(pid: Segment) -> list[dict[str, Any]]:
    """PID-11 addresses, with PID-12 (county code) as the district (PID[Patient] map):
    on the only address when it names none, else as an address of its own."""
    addresses = [address for rep in pid.repetitions(11) if (address := _address(rep))]
    county = pid.value(12)
    if county and all(address.get("district") != county for address in addresses):
        if len(addresses) == 1 and "district" not in addresses[0]:
            addresses[0]["district"] = county
        else:
            addresses.append({"district": county})
    return addresses


def _address(rep: Repetition) -> dict[str, Any]:
    """XAD -> Address: 1.1 and 2 lines, 3 city, 4 state, 5 postal code, 6 country,
    7 address type (use/type), 9 county/parish (district)."""
    address: dict[str, Any] = {}
    lines = [part for part in (rep.component(1), rep.component(2)) if part]
    if lines:
        address["line"] = lines
    for number, key in (
        (3, "city"),
        (4, "state"),
        (5, "postalCode"),
        (6, "country"),
        (9, "district"),
    ):
        if value := rep.component(number):
            address[key] = value
    if not address:
        return address
    kind = rep.component(7).upper()
    if kind in _ADDRESS_USE:
        address["use"] = _ADDRESS_USE[kind]
    if kind in _ADDRESS_TYPE:
        address["type"] = _ADDRESS_TYPE[kind]
    return address
