"""The "Sammen om min vej" cohort rule: age from the CPR number, acute admissions in windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from hub.config import ConfigError, Settings
from hub.domain.cohort import (
    COHORT_CRITERIA_EXTENSION,
    PROBLEM_TYPES,
    CohortRule,
    age_at,
    birth_date,
    cohort_resources,
    criteria_of,
    evaluate,
    icd10_problem_type,
    problem_types,
)
from hub.domain.consent import Item, Viewer, addressed_to, addressees
from hub.domain.pathway_codes import OUTREACH_REFERRAL
from hub.domain.sectors import Sector

RULE = CohortRule()


def admissions(*days_after_first: int, first: datetime | None = None) -> list[datetime]:
    start = first or datetime(2026, 3, 1, 2, tzinfo=UTC)
    return [start + timedelta(days=d) for d in days_after_first]


@pytest.mark.parametrize(
    ("cpr", "born"),
    [
        ("0101851234", date(1985, 1, 1)),  # 7th digit 1: 1900s
        ("2512489996", date(1948, 12, 25)),  # 9: years 37–99 are 1900s
        ("0101204321", date(2020, 1, 1)),  # 4: years 00–36 are 2000s
        ("0101605321", date(1860, 1, 1)),  # 5: years 58–99 are 1800s
        ("0101105321", date(2010, 1, 1)),  # 5: years 00–57 are 2000s
        ("010185-1234", date(1985, 1, 1)),
    ],
)
def test_the_birth_date_comes_from_the_cpr_number_and_its_century_digit(
    cpr: str, born: date
) -> None:
    assert birth_date(cpr) == born


def test_a_number_that_is_no_cpr_number_has_no_birth_date() -> None:
    assert birth_date("3102851234") is None
    assert birth_date("12345") is None


def test_age_counts_whole_years() -> None:
    assert age_at(date(1986, 6, 15), date(2026, 6, 14)) == 39
    assert age_at(date(1986, 6, 15), date(2026, 6, 15)) == 40


def test_a_40_year_old_with_two_acute_admissions_within_30_days_is_in_the_cohort() -> None:
    decision = evaluate("1506861234", admissions(0, 25), RULE)
    assert decision is not None
    assert decision.met_at == admissions(25)[0]
    assert decision.admissions == tuple(admissions(0, 25))
    assert "2 akutte indlæggelser inden for 30 dage" in decision.reason


def test_a_75_year_old_is_not() -> None:
    assert evaluate("1506511234", admissions(0, 25), RULE) is None


def test_two_admissions_31_days_apart_are_not_enough_but_three_within_six_months_are() -> None:
    assert evaluate("1506861234", admissions(0, 31), RULE) is None
    decision = evaluate("1506861234", admissions(0, 60, 150), RULE)
    assert decision is not None and decision.met_at == admissions(150)[0]
    assert "3 akutte indlæggelser inden for 183 dage" in decision.reason
    assert evaluate("1506861234", admissions(0, 100, 200), RULE) is None


def test_age_is_judged_at_the_admission_that_completes_the_rule() -> None:
    # Turns 18 on 15 June 2026: admissions before do not make a member of a minor.
    before = admissions(0, 10, first=datetime(2026, 5, 1, tzinfo=UTC))
    assert evaluate("1506084234", before, RULE) is None
    after = admissions(0, 10, first=datetime(2026, 6, 10, tzinfo=UTC))
    decision = evaluate("1506084234", after, RULE)
    assert decision is not None and decision.met_at == after[1]


def test_thresholds_are_configuration() -> None:
    stricter = CohortRule(admissions_short=3, window_short_days=30)
    assert evaluate("1506861234", admissions(0, 25), stricter) is None
    settings = Settings.from_env(
        {"HUB_COHORT_ADMISSIONS_SHORT": "3", "HUB_COHORT_MAX_AGE": "80", "HUB_VAR_DIR": "/tmp/x"}
    )
    assert settings.cohort == CohortRule(admissions_short=3, max_age=80)
    assert evaluate("1506511234", admissions(0, 10, 20), settings.cohort) is not None
    with pytest.raises(ConfigError):
        Settings.from_env({"HUB_COHORT_WINDOW_SHORT_DAYS": "0"})
    with pytest.raises(ConfigError):
        Settings.from_env({"HUB_COHORT_MIN_AGE": "71"})


def test_the_flag_and_proposal_are_the_same_for_the_same_decision() -> None:
    decision = evaluate("1506861234", admissions(0, 25), RULE)
    assert decision is not None
    made = [
        cohort_resources(
            patient_id="p-1",
            patient_key="cpr:1506861234",
            sector="hospital",
            decision=decision,
            involved_orgs=["100000001"],
            kommune="730",
        )
        for _ in range(2)
    ]
    assert made[0] == made[1]
    flag, task = made[0]
    assert flag["resourceType"] == "Flag" and flag["subject"] == {"reference": "Patient/p-1"}
    assert task["focus"] == {"reference": f"Flag/{flag['id']}"}
    assert task["restriction"]["recipient"] == [
        {"identifier": {"system": "urn:oid:1.2.208.176.1.1", "value": "100000001"}},
        {
            "identifier": {
                "system": "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes",
                "value": "0730",
            },
            "display": "Kommune 730",
        },
    ]


def test_a_proposal_from_psychiatry_is_not_addressed_to_the_kommune() -> None:
    """Psychiatry's admissions are no notification to the residence kommune: a proposal
    built from them names the kommune but does not reach it by addressed disclosure."""
    decision = evaluate("1506861234", admissions(0, 25), RULE)
    assert decision is not None
    _, task = cohort_resources(
        patient_id="p-1",
        patient_key="cpr:1506861234",
        sector="psychiatry",
        decision=decision,
        involved_orgs=["200000002"],
        kommune="730",
    )
    item = Item("Task", "t", "psychiatry", "200000002", task)
    assert addressees(item) == {"sor:200000002"}
    randers = Viewer(Sector.MUNICIPALITY, "730000001", kommune="730")
    assert not addressed_to(randers, item, decision.met_at)


# --- residence and problem types ---------------------------------------------------------

LOLLAND_GULDBORGSUND = CohortRule(residences=frozenset({"360", "376"}))


def test_a_residence_set_admits_its_residents_only_and_never_an_unknown_residence() -> None:
    stays = admissions(0, 25)
    resident = evaluate("1506861234", stays, LOLLAND_GULDBORGSUND, kommune="376")
    assert resident is not None
    assert resident.criteria == ("alder", "bopael", "akutte-indlaeggelser")
    assert "bopæl kommune 376" in resident.reason
    assert evaluate("1506861234", stays, LOLLAND_GULDBORGSUND, kommune="730") is None
    assert evaluate("1506861234", stays, LOLLAND_GULDBORGSUND, kommune=None) is None
    # No set: any residence, and residence is no criterion the flag claims.
    anywhere = evaluate("1506861234", stays, RULE, kommune="730")
    assert anywhere is not None and anywhere.criteria == ("alder", "akutte-indlaeggelser")


def test_problem_types_are_reported_and_required_only_when_the_rule_asks() -> None:
    stays = admissions(0, 25)
    reported = evaluate("1506861234", stays, RULE, problems={"social", "rusmiddel"})
    assert reported is not None
    assert reported.problem_types == ("rusmiddel", "social")
    assert "problemtyper: rusmiddelproblemer, sociale problemer" in reported.reason
    two = CohortRule(min_problem_types=2)
    assert evaluate("1506861234", stays, two, problems={"rusmiddel"}) is None
    required = evaluate("1506861234", stays, two, problems={"rusmiddel", "fysisk"})
    assert required is not None and required.criteria[-1] == "problemtyper"


def test_the_flag_states_its_criteria_machine_readably() -> None:
    decision = evaluate(
        "1506861234", admissions(0, 25), LOLLAND_GULDBORGSUND, kommune="360", problems={"psykisk"}
    )
    assert decision is not None
    flag, _ = cohort_resources(
        patient_id="p",
        patient_key="cpr:1506861234",
        sector="hospital",
        decision=decision,
        involved_orgs=["100000001"],
        kommune="360",
    )
    (extension,) = flag["extension"]
    assert extension["url"] == COHORT_CRITERIA_EXTENSION
    parts = {p["url"]: p for p in extension["extension"] if p["url"] != "met"}
    assert parts["age"]["valueInteger"] == 39
    assert parts["residence"]["valueString"] == "360"
    assert (parts["admissions"]["valueInteger"], parts["windowDays"]["valueInteger"]) == (2, 30)
    assert criteria_of(flag) == (["alder", "bopael", "akutte-indlaeggelser"], ["psykisk"])


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("F10.2", "rusmiddel"),
        ("F19", "rusmiddel"),
        ("F20.0", "psykisk"),
        ("F09", "psykisk"),
        ("Z59.0", "social"),
        ("Z65", "social"),
        ("Z00", None),
        ("J44.1", "fysisk"),
        ("I21", "fysisk"),
    ],
)
def test_icd10_chapters_give_the_problem_types(code: str, problem: str | None) -> None:
    found = icd10_problem_type(code)
    assert (found.code if found else None) == problem


def encounter(sector_status: str = "finished", **extra: object) -> dict[str, object]:
    return {"resourceType": "Encounter", "status": sector_status, **extra}


def test_problem_types_come_from_diagnoses_judgements_and_contacts() -> None:
    sks = {"reasonCode": [{"coding": [{"system": "urn:oid:1.2.208.176.2.4", "code": "DF102"}]}]}
    assert problem_types(encounter(**sks), "hospital") == {"rusmiddel"}
    procedure = {"reasonCode": [{"coding": [{"system": "urn:oid:1.2.208.176.2.4", "code": "KJ"}]}]}
    assert problem_types(encounter(**procedure), "hospital") == set()
    icd = {"code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z59.0"}]}}
    assert problem_types({"resourceType": "Condition", **icd}, "municipality") == {"social"}
    judged = {
        "resourceType": "Flag",
        "status": "active",
        "code": {"coding": [{"system": PROBLEM_TYPES, "code": "social"}]},
    }
    assert problem_types(judged, "municipality") == {"social"}
    assert problem_types({**judged, "status": "inactive"}, "municipality") == set()
    assert problem_types(encounter(), "psychiatry") == {"psykisk"}
    assert problem_types(encounter("planned"), "psychiatry") == set()
    assert problem_types(encounter("entered-in-error", **sks), "hospital") == set()
    referral = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "category": [{"coding": [OUTREACH_REFERRAL.coding()]}],
    }
    assert problem_types(referral, "hospital") == {"rusmiddel"}


def test_the_residence_set_and_problem_type_count_are_configuration() -> None:
    rule = Settings.from_env(
        {"HUB_COHORT_RESIDENCES": "360, 376", "HUB_COHORT_MIN_PROBLEM_TYPES": "1"}
    ).cohort
    assert rule.residences == {"360", "376"} and rule.min_problem_types == 1
    assert Settings.from_env({}).cohort.residences == frozenset()
    with pytest.raises(ConfigError, match="HUB_COHORT_RESIDENCES"):
        Settings.from_env({"HUB_COHORT_RESIDENCES": "Lolland"})
    with pytest.raises(ConfigError, match="HUB_COHORT_MIN_PROBLEM_TYPES"):
        Settings.from_env({"HUB_COHORT_MIN_PROBLEM_TYPES": "5"})
