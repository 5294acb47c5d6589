"""Acute or planned, read from class, priority and admission type together
(hub.domain.admission_type), and what the stay facts make of it."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.hl7v2 import Hl7v2Adapter
from hub.domain.admission_type import ACT_PRIORITY, ADMISSION_TYPE, admission_urgency
from hub.domain.indicators.facts import HOSPITAL_STAY, derive_facts
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from tests.samples import sample

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def stay(
    klass: str = "IMP", *, priority: str = "", admission_type: str = "", status: str = "in-progress"
) -> dict[str, Any]:
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": ACT_CODE, "code": klass},
        "period": {"start": "2024-04-02T03:10:00+02:00"},
    }
    if priority:
        encounter["priority"] = {"coding": [{"system": ACT_PRIORITY, "code": priority}]}
    if admission_type:
        encounter["type"] = [{"coding": [{"system": ADMISSION_TYPE, "code": admission_type}]}]
    return encounter


@pytest.mark.parametrize(
    ("encounter", "acute", "planned"),
    [
        (stay("EMER"), True, False),
        (stay("ACUTE"), True, False),
        (stay(priority="EM"), True, False),
        (stay(priority="UR"), True, False),
        (stay(admission_type="E"), True, False),
        (stay(admission_type="U"), True, False),
        (stay(admission_type="A"), True, False),
        (stay(priority="EL"), False, True),
        (stay(admission_type="C"), False, True),
        (stay(admission_type="R"), False, True),
        (stay(status="planned"), False, True),
        (stay(admission_type="E", status="planned"), True, False),
        (stay(admission_type="N"), False, False),
        (stay(), False, False),
    ],
)
def test_the_table(encounter: dict[str, Any], acute: bool, planned: bool) -> None:
    urgency = admission_urgency(encounter)
    assert (urgency.acute, urgency.planned) == (acute, planned)


def test_a_planned_admission_stays_planned_unless_it_came_in_acutely() -> None:
    assert admission_urgency(stay(), was_planned=True).planned
    assert admission_urgency(stay(admission_type="E"), was_planned=True).acute


def test_an_inpatient_admitted_as_emergency_counts_as_an_acute_stay() -> None:
    # PV1-2 I (inpatient) with PV1-4 E, as some hospitals send every acute admission.
    sender = Sender(sector=Sector.HOSPITAL, org="265161000016000", sub="epj")
    [translation] = Hl7v2Adapter().translate(sample("hl7v2/adt-a01-akut-indlaeggelse.hl7"), sender)
    encounter = translation.resources[1]
    assert encounter["class"]["code"] == "IMP"
    [fact] = [f for f in derive_facts(encounter, "hospital") if f.kind == HOSPITAL_STAY]
    assert fact.acute and not fact.planned
