"""A CPR number as a person types it into the search box, and what is wrong with it.

Accepts ``0101709995``, ``010170-9995`` and ``010170 9995`` (spaces and one hyphen
anywhere between the groups). A refusal names the real fault: letters, the number of
digits, or a birth date that is no date. Whether the patient exists is never said here:
an unknown patient and one the user may not see look the same (a consent rule).
``parse_patient`` also takes a replacement number (erstatningspersonnummer): the kind
of number chosen beside the field (``NUMBER_KINDS``) names its system, so only the
number is typed; under "another replacement number" it is typed as ``<system>|<value>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.domain.identifiers import (
    NATIONAL_REPLACEMENT_SYSTEM,
    is_replacement_value,
    lookup_patient_key,
    normalise_cpr,
    replacement_patient_key,
)

_SEPARATORS = re.compile(r"[\s\-]+")

CPR_KIND = "cpr"
OTHER_REPLACEMENT_KIND = "erstatning"
NUMBER_KINDS: tuple[tuple[str, str], ...] = (
    (CPR_KIND, "CPR-nummer"),
    (NATIONAL_REPLACEMENT_SYSTEM, "Erstatningspersonnummer (CPR-administrationen)"),
    (OTHER_REPLACEMENT_KIND, "Andet erstatningspersonnummer (system|nummer)"),
)
"""The kinds of number the search field takes, as the page offers them: the value sent
(a replacement number's system, or a word) and its Danish label. The national
replacement numbers are the only ones with a system of their own here; locally issued
ones (``…6.1.3.<issuer>`` and the like) are typed with their system."""

FAULTS = {
    "empty": "Skriv patientens CPR-nummer, fx 010170-9995.",
    "characters": "Et CPR-nummer har kun cifre (og evt. bindestreg), fx 010170-9995.",
    "length": "Et CPR-nummer har 10 cifre, fx 010170-9995; der er {count}.",
    "date": "De første 6 cifre skal være en fødselsdato (ddmmåå); {birth} er ikke en dato.",
    "replacement": (
        "Et erstatningspersonnummer skrives system|nummer, fx "
        "urn:oid:1.2.208.176.1.6.1.1|0703921VJ5 (systemet under "
        "urn:oid:1.2.208.176.1.6.1; nummeret kun bogstaver, cifre, punktum og bindestreg)."
    ),
    "replacement-empty": "Skriv patientens erstatningspersonnummer, fx 0703921VJ5.",
    "replacement-number": (
        "Et erstatningspersonnummer har 1-64 bogstaver, cifre, punktum og bindestreg, "
        "fx 0703921VJ5."
    ),
    "kind": "Vælg, hvilken slags nummer du søger på.",
}


@dataclass(frozen=True)
class CprInput:
    cpr: str | None  # the 10 digits, when they are a CPR number
    fault: str | None  # a FAULTS key, when they are not
    message: str | None  # the fault in Danish


def parse_cpr(text: str) -> CprInput:
    """The CPR number ``text`` holds, or the fault that keeps it from being one."""
    cleaned = _SEPARATORS.sub("", text.strip())
    if not cleaned:
        return _fault("empty")
    if not cleaned.isdigit() or not cleaned.isascii():
        return _fault("characters")
    if len(cleaned) != 10:
        return _fault("length", count=len(cleaned))
    if not _is_birth_date(cleaned[:6]):
        return _fault("date", birth=f"{cleaned[:2]}.{cleaned[2:4]}.{cleaned[4:6]}")
    cpr = normalise_cpr(cleaned)
    if cpr is None:  # the same rules as the services; kept in step by the unit tests
        return _fault("date", birth=f"{cleaned[:2]}.{cleaned[2:4]}.{cleaned[4:6]}")
    return CprInput(cpr, None, None)


def parse_patient(text: str, kind: str = "") -> CprInput:
    """A CPR number, or a replacement number (erstatningspersonnummer): the number alone
    under a replacement system chosen as ``kind`` (``NUMBER_KINDS``), else typed as
    ``<system>|<value>``; ``cpr`` then holds the ``<system>|<value>`` the services take.
    No ``kind`` (a form without the choice) is a CPR number or ``<system>|<value>``."""
    if kind not in ("", *dict(NUMBER_KINDS)):
        return _fault("kind")
    if "|" in text or kind == OTHER_REPLACEMENT_KIND:
        system, _, value = text.strip().partition("|")
        number = f"{system.strip()}|{value.strip()}"
        if lookup_patient_key(number) is None:
            return _fault("replacement")
        return CprInput(number, None, None)
    if kind in ("", CPR_KIND):
        return parse_cpr(text)
    value = text.strip()
    if not value:
        return _fault("replacement-empty")
    if not is_replacement_value(value):
        return _fault("replacement-number")
    return CprInput(replacement_patient_key(kind, value), None, None)


def _is_birth_date(birth: str) -> bool:
    day, month = int(birth[0:2]), int(birth[2:4])
    try:
        date(2000, month, day)  # a leap year: 29 February is a date in some century
    except ValueError:
        return False
    return True


def _fault(fault: str, **values: object) -> CprInput:
    return CprInput(None, fault, FAULTS[fault].format(**values))
