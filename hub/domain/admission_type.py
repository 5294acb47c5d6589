"""Acute or planned: how urgent a hospital stay was, from what its sender says of it.

Senders tell it in different places, and real feeds use any one of them: HL7 v2 in
PV1-2 (patient class ``E``) or in PV1-4 (admission type, table 0007) with PV1-2 ``I``;
MedCom in the Encounter's class (STAA is ``EMER``); plain FHIR in ``class`` or
``priority``. The adapters keep each where FHIR has it (``adapters.hl7v2.admission``:
PV1-4 becomes ``Encounter.type`` coded in v2-0007 *and* ``Encounter.priority`` in v3
ActPriority), and this module reads them together. The first row that matches decides:

=====================================================  ======  =======
the stay says                                          acute   planned
=====================================================  ======  =======
class ``EMER`` or ``ACUTE`` (v3 ActCode)               yes     no
priority ``EM`` (emergency) or ``UR`` (urgent)         yes     no
type v2-0007 ``E``, ``U`` or ``A`` (PV1-4 as sent)     yes     no
priority ``EL`` (elective)                             no      yes
type v2-0007 ``C`` or ``R`` (elective, routine)        no      yes
status ``planned`` now or in an earlier version        no      yes
anything else (``IMP`` alone, PV1-4 ``N``/``L``/none)  no      no
=====================================================  ======  =======

So an acute signal anywhere wins over a planned one: a pre-admitted patient who arrives
through the emergency department was admitted acutely. A stay that says neither is
counted as neither, rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hub.domain.translation import FhirJson

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
ADMISSION_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0007"

ACUTE_CLASSES = frozenset({"EMER", "ACUTE"})
ACUTE_PRIORITIES = frozenset({"EM", "UR"})
ELECTIVE_PRIORITIES = frozenset({"EL"})
ACUTE_ADMISSION_TYPES = frozenset({"E", "U", "A"})
ELECTIVE_ADMISSION_TYPES = frozenset({"C", "R"})


@dataclass(frozen=True)
class Urgency:
    """Whether a stay was an acute admission, a planned one, or (both False) not told."""

    acute: bool
    planned: bool


def admission_urgency(encounter: FhirJson, *, was_planned: bool = False) -> Urgency:
    """How urgent the stay ``encounter`` was (the table above).

    ``was_planned``: an earlier version of the Encounter was ``planned`` (a planned
    admission stays planned once the patient has arrived).
    """
    klass = encounter.get("class")
    class_code = klass.get("code") if isinstance(klass, dict) else None
    priorities = set(_codes(encounter.get("priority"), None))
    types = {
        code for concept in _list(encounter.get("type")) for code in _codes(concept, ADMISSION_TYPE)
    }
    acute = (
        class_code in ACUTE_CLASSES
        or bool(priorities & ACUTE_PRIORITIES)
        or bool(types & ACUTE_ADMISSION_TYPES)
    )
    if acute:
        return Urgency(acute=True, planned=False)
    planned = (
        bool(priorities & ELECTIVE_PRIORITIES)
        or bool(types & ELECTIVE_ADMISSION_TYPES)
        or encounter.get("status") == "planned"
        or was_planned
    )
    return Urgency(acute=False, planned=planned)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _codes(concept: Any, system: str | None) -> Iterator[str]:
    """The codes of a CodeableConcept, of ``system`` only when one is given."""
    if not isinstance(concept, dict):
        return
    for coding in _list(concept.get("coding")):
        if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
            continue
        if system is None or coding.get("system") == system:
            yield coding["code"]
