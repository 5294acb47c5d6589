"""National identifier systems, the hub's patient keys and its stable resource ids.

A patient is keyed by CPR number (``cpr:<CPR>``) or, without one, by the identifier
the sender knows them by (``<system>|<value>``, ``local_patient_key``). The
replacement numbers (erstatningspersonnumre) of people without a CPR number are
such identifiers, under the systems of the ``urn:oid:1.2.208.176.1.6.1`` family.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import date

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
"""FHIR identifier system of the Danish CPR number (national person number)."""

SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
GLN_SYSTEM = "urn:oid:1.3.88"  # the GLN system the hub writes (MedCom OIOXML parties)
"""FHIR identifier system of SOR codes (the national organisation register)."""

GLN_SYSTEMS = frozenset({"https://www.gs1.org/gln", "http://www.gs1.org/gln", "urn:oid:1.3.88"})
"""The identifier systems GLN/EAN location numbers arrive under (all three are in use)."""

REPLACEMENT_SYSTEM_FAMILY = "urn:oid:1.2.208.176.1.6.1"
"""The replacement numbers' (erstatningspersonnumre) systems are the OIDs under this one."""

NATIONAL_REPLACEMENT_SYSTEM = f"{REPLACEMENT_SYSTEM_FAMILY}.1"
"""The nationally issued replacement number; the others (``….3.<issuer>`` …) are local."""

LOCAL_ALTERNATIVE_PREFIX = "urn:brobygger:alternative-identifier:"
"""OIOXML's AlternativeIdentifier (its replacement number) carries no system: the hub
scopes it to the sending organisation under this prefix."""

_OID_ARCS = re.compile(r"(\.(0|[1-9][0-9]{0,17}))+")
_REPLACEMENT_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,63}")

_CPR_SHAPE = re.compile(r"^(\d{6})-?(\d{4})$")

# Fixed namespace so every hub process derives the same id from the same natural key.
_RESOURCE_ID_NAMESPACE = uuid.UUID("6f1c4f2e-9d0b-4c53-9a55-2f4b6a0e7b11")


def normalise_cpr(value: str) -> str | None:
    """Return the 10-digit CPR number in ``value``, or None when it is not one.

    Accepts ``DDMMYYSSSS`` and ``DDMMYY-SSSS``. The modulus-11 check is not
    applied: CPR numbers issued since 2007 need not satisfy it. The first six
    digits must form a real day and month (any century).
    """
    match = _CPR_SHAPE.match(value.strip())
    if match is None:
        return None
    birth, serial = match.groups()
    day, month = int(birth[0:2]), int(birth[2:4])
    try:
        date(2000, month, day)  # a leap year, so 29 February passes
    except ValueError:
        return None
    return birth + serial


def cpr_patient_key(cpr: str) -> str:
    """The bus key and store index of a patient identified by CPR."""
    return f"cpr:{cpr}"


def local_patient_key(system: str, value: str) -> str:
    """The bus key of a patient known only by a non-national identifier."""
    return f"{system}|{value}"


def is_replacement_system(system: str) -> bool:
    """Whether ``system`` is a replacement-number system: an OID under
    ``urn:oid:1.2.208.176.1.6.1``."""
    if not system.startswith(REPLACEMENT_SYSTEM_FAMILY):
        return False
    return _OID_ARCS.fullmatch(system.removeprefix(REPLACEMENT_SYSTEM_FAMILY)) is not None


def is_replacement_value(value: str) -> bool:
    """Whether ``value`` can be a replacement number (1-64 letters, digits, ``.`` and
    ``-``; never a ``|``, which would make the patient key ambiguous)."""
    return _REPLACEMENT_VALUE.fullmatch(value) is not None


def replacement_patient_key(system: str, value: str) -> str:
    """The patient key of a person known only by a replacement number."""
    return local_patient_key(system, value)


def preferred_replacement(numbers: list[tuple[str, str]]) -> tuple[str, str]:
    """The replacement number that keys a patient carrying several: the nationally
    issued one, else the first listed. ``numbers`` is not empty."""
    national = [number for number in numbers if number[0] == NATIONAL_REPLACEMENT_SYSTEM]
    return (national or numbers)[0]


def replacement_of(patient_key: str) -> tuple[str, str] | None:
    """``(system, value)`` of the replacement number a patient key is made of, if it
    is one (a family system, or OIOXML's sender-scoped AlternativeIdentifier)."""
    if not is_patient_key(patient_key) or cpr_of(patient_key) is not None:
        return None
    system, bar, value = patient_key.partition("|")
    if not bar or not value:
        return None
    if is_replacement_system(system) or system.startswith(LOCAL_ALTERNATIVE_PREFIX):
        return system, value
    return None


def lookup_patient_key(text: str) -> str | None:
    """The patient key a person or client names: a CPR number (``DDMMYYSSSS``,
    ``DDMMYY-SSSS``) or a replacement number as ``<system>|<value>``; None when
    ``text`` is neither."""
    cpr = normalise_cpr(text)
    if cpr is not None:
        return cpr_patient_key(cpr)
    system, bar, value = text.strip().partition("|")
    if not bar or not is_replacement_value(value):
        return None
    key = replacement_patient_key(system, value)
    return key if replacement_of(key) is not None else None


def message_key(source_id: str) -> str:
    """The bus key of a message about no patient that concerns another message
    (an acknowledgement is keyed by the message it acknowledges)."""
    return f"message:{source_id}"


def directory_key(org: str) -> str:
    """The bus key of directory data (Organization, HealthcareService) from ``org``."""
    return f"directory:{org}"


def is_patient_key(key: str) -> bool:
    """Whether a bus key names a patient (rather than a message or directory entry)."""
    return not key.startswith(("message:", "directory:"))


def cpr_of(patient_key: str) -> str | None:
    """The CPR number inside a patient key, if the key is CPR-based."""
    return patient_key[4:] if patient_key.startswith("cpr:") else None


def resource_id(*natural_key: str) -> str:
    """A stable FHIR id derived from a natural key (e.g. sender org + visit number).

    The same message translated twice yields the same ids, which is what lets a
    discharge update the admission's Encounter and a replay change nothing.
    """
    return str(uuid.uuid5(_RESOURCE_ID_NAMESPACE, "\x1f".join(natural_key)))


def patient_resource_id(patient_key: str) -> str:
    """The id of the hub's Patient resource for a patient key."""
    return resource_id("Patient", patient_key)


def owned_patient_id(patient_key: str, org: str) -> str:
    """The id of one organisation's own record of a patient: the person's id, a hyphen
    and 16 hex digits of the organisation (53 characters, a valid FHIR id).

    Every organisation that writes about a patient keeps its own Patient record; the
    person (``patient_resource_id``, what every resource's ``subject`` refers to) is
    assembled from the records a viewer may see (``hub.domain.person``). The person's
    id is the start of each record's id, so the records are found from it.
    """
    owner = hashlib.sha256(org.encode()).hexdigest()[:16]
    return f"{patient_resource_id(patient_key)}-{owner}"


def person_record_range(person_id: str) -> tuple[str, str]:
    """The ids of every organisation's record of the person ``person_id``: those from
    the first bound (inclusive) to the second (exclusive)."""
    return f"{person_id}-", f"{person_id}."
