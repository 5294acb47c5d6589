"""A CPR number as a person types it into the search box, and what is wrong with it.

Accepts ``0101709995``, ``010170-9995`` and ``010170 9995`` (spaces and one hyphen
anywhere between the groups). A refusal names the real fault: letters, the number of
digits, or a birth date that is no date. Whether the patient exists is never said here:
an unknown patient and one the user may not see look the same (a consent rule).
``parse_patient`` also takes a replacement number (erstatningspersonnummer) typed as
``<system>|<value>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from hub.domain.identifiers import lookup_patient_key, normalise_cpr

_SEPARATORS = re.compile(r"[\s\-]+")

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


def parse_patient(text: str) -> CprInput:
    """A CPR number, or a replacement number (erstatningspersonnummer) typed as
    ``<system>|<value>``; ``cpr`` then holds the ``<system>|<value>`` the services take."""
    if "|" not in text:
        return parse_cpr(text)
    system, _, value = text.strip().partition("|")
    number = f"{system.strip()}|{value.strip()}"
    if lookup_patient_key(number) is None:
        return _fault("replacement")
    return CprInput(number, None, None)


def _is_birth_date(birth: str) -> bool:
    day, month = int(birth[0:2]), int(birth[2:4])
    try:
        date(2000, month, day)  # a leap year: 29 February is a date in some century
    except ValueError:
        return False
    return True


def _fault(fault: str, **values: object) -> CprInput:
    return CprInput(None, fault, FAULTS[fault].format(**values))
