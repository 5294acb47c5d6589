"""The cases behind each indicator (audit lists) and the care-home admissions, as pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.domain.indicators import (
    CARE_HOME_ADMISSION,
    HOSPITAL_STAY,
    RECEPTION_VISIT,
    VIRTUAL_MEETING,
    FactRow,
    FactsOfPeriod,
    Scope,
    Window,
    cases_of_period,
    compute,
    derive_facts,
)

V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
SKS = "urn:oid:1.2.208.176.2.4"
REGION = "sor:6610000000001"
NOVEMBER = Window(date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def from_care_home(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": V3, "code": "IMP"},
        "period": {"start": "2026-11-02T08:00:00+01:00"},
        "hospitalization": {
            "admitSource": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/admit-source",
                        "code": "nursing",
                    }
                ]
            }
        },
        **extra,
    }


def test_a_stay_from_a_care_home_is_a_care_home_admission_with_its_diagnosis_groups() -> None:
    encounter = from_care_home(
        reasonCode=[{"coding": [{"system": ICD10, "code": "J44.1"}]}],
        contained=[
            {
                "resourceType": "Condition",
                "id": "d1",
                "code": {"coding": [{"system": SKS, "code": "DI500"}]},
            },
            # An SKS procedure code is no diagnosis.
            {
                "resourceType": "Condition",
                "id": "d2",
                "code": {"coding": [{"system": SKS, "code": "KJFB20"}]},
            },
        ],
        diagnosis=[{"condition": {"reference": "#d1"}}, {"condition": {"reference": "#d2"}}],
    )
    kinds = {f.kind: f for f in derive_facts(encounter, "hospital")}
    assert set(kinds) == {HOSPITAL_STAY, CARE_HOME_ADMISSION}
    assert kinds[CARE_HOME_ADMISSION].related == "I50,J44"
    assert kinds[CARE_HOME_ADMISSION].at == datetime(2026, 11, 2, 7, tzinfo=UTC)
    # Without diagnoses it is still a care-home admission, with no group.
    (plain,) = [
        f for f in derive_facts(from_care_home(), "hospital") if f.kind == CARE_HOME_ADMISSION
    ]
    assert plain.related is None


def test_only_a_begun_hospital_stay_from_a_care_home_counts() -> None:
    home = from_care_home()
    elsewhere = {**home, "hospitalization": {"admitSource": {"coding": [{"code": "gp"}]}}}
    assert CARE_HOME_ADMISSION not in {f.kind for f in derive_facts(elsewhere, "hospital")}
    assert derive_facts({**home, "status": "planned"}, "hospital") == [
        f
        for f in derive_facts({**home, "status": "planned"}, "hospital")
        if f.kind == HOSPITAL_STAY
    ]
    # A municipal Encounter is no hospital stay, whatever its source says.
    assert derive_facts(home, "municipality") == []
    # Another system's "nursing" is not HL7's admit source.
    other = {
        **home,
        "hospitalization": {"admitSource": {"coding": [{"system": "x", "code": "nursing"}]}},
    }
    assert CARE_HOME_ADMISSION not in {f.kind for f in derive_facts(other, "hospital")}


def row(kind: str, patient: str, at: datetime, resource: str, **extra: Any) -> FactRow:
    values: dict[str, Any] = {
        "sector": "hospital",
        "org": "1",
        "controller": REGION,
        "kommune": "730",
    }
    return FactRow(kind=kind, resource=resource, patient_key=patient, at=at, **(values | extra))


def day(d: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC) + timedelta(days=d - 1)


def stay(patient: str, start: datetime, days: float, resource: str, **extra: Any) -> FactRow:
    end = start + timedelta(days=days)
    return row(
        HOSPITAL_STAY, patient, start, resource, end_at=end, value=days, status="finished", **extra
    )


def period(**kinds: Any) -> FactsOfPeriod:
    return FactsOfPeriod(
        counts={},
        stays=kinds.get("stays", []),
        markers=kinds.get("markers", []),
        ready=[],
        flags=[],
        meetings=[],
        care_home=kinds.get("care_home", []),
    )


def test_a_readmission_lists_the_first_stay_and_the_readmission() -> None:
    facts = period(
        stays=[
            stay("a", day(1), 2, "Encounter/first"),
            stay("a", day(6), 1, "Encounter/again", acute=True),  # 3 days after
            stay("a", day(25), 1, "Encounter/later", acute=True),  # 18 days after "again"
            stay("b", day(2), 2, "Encounter/alone"),
        ]
    )
    cases = cases_of_period(NOVEMBER, facts, NOW)
    (week,) = cases["readmissions7d"]
    assert [(role, r.resource) for role, r in week.facts] == [
        ("stay", "Encounter/first"),
        ("readmission", "Encounter/again"),
    ]
    assert week.value == 3
    month = cases["readmissions30d"]
    assert [[r.resource for _, r in c.facts] for c in month] == [
        ["Encounter/first", "Encounter/again"],
        ["Encounter/again", "Encounter/later"],
    ]
    # Each figure is how many cases its list has.
    figures = {i.name: i.value for i in compute(NOVEMBER, Scope(REGION), facts, NOW)}
    assert figures["readmissions7d"] == len(cases["readmissions7d"]) == 1
    assert figures["readmissions30d"] == len(month) == 2
    assert figures["discharges"] == len(cases["discharges"]) == 4


def test_kom_godt_hjem_lists_the_meeting_and_the_visit_within_24_hours() -> None:
    discharge = stay("a", day(1), 4, "Encounter/stay")
    meeting = row(VIRTUAL_MEETING, "a", day(4), "Encounter/meeting")
    visit = row(RECEPTION_VISIT, "a", day(5, 20), "Encounter/visit", sector="municipality")
    late = stay("b", day(1), 4, "Encounter/stay-b")
    facts = period(
        stays=[discharge, late],
        markers=[
            meeting,
            visit,
            row(VIRTUAL_MEETING, "b", day(4), "Encounter/meeting-b"),
            row(RECEPTION_VISIT, "b", day(7), "Encounter/visit-b"),  # two days late
        ],
    )
    cases = cases_of_period(NOVEMBER, facts, NOW)
    assert [c.patient_key for c in cases["komGodtHjemDischarges"]] == ["a", "b"]
    (visited,) = cases["receptionVisitsWithin24h"]
    assert [(role, r.resource) for role, r in visited.facts] == [
        ("stay", "Encounter/stay"),
        (VIRTUAL_MEETING, "Encounter/meeting"),
        (RECEPTION_VISIT, "Encounter/visit"),
    ]


def test_care_home_admissions_per_kommune_and_diagnosis_group() -> None:
    admissions = [
        row(
            CARE_HOME_ADMISSION, "a", day(2), "Encounter/1", status="in-progress", related="I50,J44"
        ),
        row(CARE_HOME_ADMISSION, "b", day(3), "Encounter/2", status="finished", related="J44"),
        row(CARE_HOME_ADMISSION, "c", day(4), "Encounter/3", status="finished", kommune="101"),
        row(CARE_HOME_ADMISSION, "d", day(5), "Encounter/4", status="cancelled", related="J44"),
    ]
    facts = period(care_home=admissions)
    figures = {
        (i.name, i.kommune, i.group): i.value
        for i in compute(NOVEMBER, Scope(REGION), facts, NOW)
        if i.name.startswith("careHome")
    }
    assert figures == {
        ("careHomeAdmissions", "101", None): 1,
        ("careHomeAdmissions", "730", None): 2,
        ("careHomeAdmissionsByDiagnosisGroup", "730", "I50"): 1,
        ("careHomeAdmissionsByDiagnosisGroup", "730", "J44"): 2,
    }
    # The all-sector aggregate suppresses each small cell.
    aggregate = [
        i for i in compute(NOVEMBER, Scope(None), facts, NOW) if i.name.startswith("careHome")
    ]
    assert all(i.suppressed and i.value is None for i in aggregate)
    cases = cases_of_period(NOVEMBER, facts, NOW)["careHomeAdmissions"]
    assert [(c.patient_key, c.kommune, c.groups) for c in cases] == [
        ("a", "730", ("I50", "J44")),
        ("b", "730", ("J44",)),
        ("c", "101", ()),
    ]
    # Nothing in the period: one figure of nought, no kommune.
    empty = [
        i for i in compute(NOVEMBER, Scope(REGION), period(), NOW) if i.name == "careHomeAdmissions"
    ]
    assert [(i.kommune, i.value) for i in empty] == [(None, 0)]
