"""Pathway indicators as pure rules: which facts a resource gives, and the figures of a period."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hub.domain import pathway_codes as codes
from hub.domain.indicators import (
    COHORT_MEMBER,
    HOSPITAL_STAY,
    OUTREACH_CONVERSATION,
    OUTREACH_DECLINED,
    OUTREACH_REFERRAL,
    READY_FOR_DISCHARGE,
    RECEPTION_VISIT,
    ROUND_TABLE_ACTION,
    ROUND_TABLE_HELD,
    SOCIAL_SERVICES,
    VIRTUAL_MEETING,
    Fact,
    FactRow,
    FactsOfPeriod,
    Scope,
    Window,
    compute,
    derive_facts,
    due_instant,
    waiting_days,
)

V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
REGION = "sor:6610000000001"  # a region: the data controller of its hospitals
NOVEMBER = Window(date(2026, 11, 1), date(2026, 11, 30))
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def coded(code: codes.PathwayCode) -> list[dict[str, Any]]:
    return [{"coding": [code.coding()]}]


def encounter(status: str = "finished", klass: str = "IMP", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": "e",
        "status": status,
        "class": {"system": V3, "code": klass},
        "period": {"start": "2026-11-02T08:00:00+01:00", "end": "2026-11-06T08:00:00+01:00"},
        **extra,
    }


def test_each_pathway_code_gives_its_fact_from_the_element_that_carries_it() -> None:
    referral = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "category": coded(codes.OUTREACH_REFERRAL),
        "authoredOn": "2026-11-03",
    }
    (fact,) = derive_facts(referral, "hospital")
    assert fact == Fact(OUTREACH_REFERRAL, datetime(2026, 11, 3, tzinfo=UTC), status="active")
    held = encounter(klass="AMB", type=coded(codes.OUTREACH_CONVERSATION_HELD))
    assert [f.kind for f in derive_facts(held, "coordinator")] == [OUTREACH_CONVERSATION]
    declined = {
        "resourceType": "Task",
        "status": "completed",
        "code": {"coding": [codes.OUTREACH_CONVERSATION_DECLINED.coding()]},
        "executionPeriod": {"end": "2026-11-04T10:00:00+01:00"},
    }
    (fact,) = derive_facts(declined, "coordinator")
    assert (fact.kind, fact.at) == (OUTREACH_DECLINED, datetime(2026, 11, 4, 9, tzinfo=UTC))
    # A code in the wrong element says nothing: a Task is not a conversation held.
    misplaced = {**declined, "code": {"coding": [codes.OUTREACH_CONVERSATION_HELD.coding()]}}
    assert derive_facts(misplaced, "coordinator") == []


def test_a_stay_is_a_hospital_or_psychiatry_encounter_without_a_pathway_type() -> None:
    (fact,) = derive_facts(encounter(), "hospital")
    assert fact.kind == HOSPITAL_STAY and fact.value == 4.0 and not fact.acute
    assert derive_facts(encounter(), "municipality") == []
    assert derive_facts(encounter(klass="HH"), "hospital") == []
    (acute,) = derive_facts(encounter(klass="EMER"), "psychiatry")
    assert acute.acute and not acute.planned
    (by_priority,) = derive_facts(encounter(priority={"coding": [{"code": "EM"}]}), "hospital")
    assert by_priority.acute
    meeting = encounter(klass="VR", type=coded(codes.VIRTUAL_DISCHARGE_MEETING))
    assert [f.kind for f in derive_facts(meeting, "hospital")] == [VIRTUAL_MEETING]


def test_a_planned_admission_stays_planned_once_the_patient_arrives() -> None:
    (planned,) = derive_facts(encounter(status="planned"), "hospital")
    assert planned.planned and planned.end_at is None and planned.value is None
    (admitted,) = derive_facts(encounter(), "hospital", was_planned=True)
    assert admitted.planned and admitted.value == 4.0
    (unplanned,) = derive_facts(encounter(), "hospital")
    assert not unplanned.planned


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "revoked"])
def test_a_resource_that_no_longer_counts_gives_no_facts(status: str) -> None:
    assert derive_facts(encounter(status=status), "hospital") == []
    referral = {
        "resourceType": "ServiceRequest",
        "status": status,
        "category": coded(codes.OUTREACH_REFERRAL),
        "authoredOn": "2026-11-03",
    }
    assert derive_facts(referral, "hospital") == []


def test_a_withdrawn_cohort_flag_is_kept_so_the_hub_never_flags_again() -> None:
    flag = {
        "resourceType": "Flag",
        "status": "entered-in-error",
        "code": {"coding": [codes.COHORT_MEMBER.coding()], "text": "2 akutte"},
        "period": {"start": "2026-11-03T10:00:00+00:00"},
    }
    (fact,) = derive_facts(flag, "hospital")
    assert (fact.kind, fact.status, fact.related) == (COHORT_MEMBER, "entered-in-error", "2 akutte")


def test_an_encounter_still_planned_has_not_been_held() -> None:
    visit = encounter(status="planned", klass="HH", type=coded(codes.RECEPTION_VISIT))
    assert derive_facts(visit, "municipality") == []


def test_round_table_actions_and_meetings() -> None:
    action = {
        "resourceType": "Task",
        "status": "in-progress",
        "basedOn": [{"reference": "CarePlan/p1"}],
        "restriction": {"period": {"end": "2026-11-10"}},
    }
    (fact,) = derive_facts(action, "municipality")
    assert (fact.kind, fact.related) == (ROUND_TABLE_ACTION, "CarePlan/p1")
    assert fact.at == datetime(2026, 11, 10, 23, tzinfo=UTC)  # the end of that Danish day
    appointment = {
        "resourceType": "Appointment",
        "status": "fulfilled",
        "serviceType": [{"coding": [{"system": codes.PATHWAY_EVENTS, "code": "rundbordsmoede"}]}],
        "start": "2026-11-12T09:00:00+01:00",
    }
    assert [f.kind for f in derive_facts(appointment, "coordinator")] == [ROUND_TABLE_HELD]
    assert derive_facts({**appointment, "status": "booked"}, "coordinator") == []


def test_due_dates() -> None:
    assert due_instant("2026-07-01") == datetime(2026, 7, 1, 22, tzinfo=UTC)  # all that day
    assert due_instant("2026-07-01T12:00:00+02:00") == datetime(2026, 7, 1, 10, tzinfo=UTC)
    assert due_instant(None) is None


# --- figures --------------------------------------------------------------------------


def row(kind: str, patient: str, at: datetime | None, **extra: Any) -> FactRow:
    values: dict[str, Any] = {
        "sector": "hospital",
        "org": "1",
        "controller": REGION,
        "kommune": "730",
    } | extra
    resource = values.pop("resource", f"X/{kind}-{patient}-{at}")
    return FactRow(kind=kind, resource=resource, patient_key=patient, at=at, **values)


def day(d: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC) + timedelta(days=d - 1)


def stay_row(patient: str, start: datetime, days: float, **extra: Any) -> FactRow:
    end = start + timedelta(days=days)
    return row(HOSPITAL_STAY, patient, start, end_at=end, value=days, status="finished", **extra)


def period(**kinds: Any) -> FactsOfPeriod:
    return FactsOfPeriod(
        counts=kinds.get("counts", {}),
        stays=kinds.get("stays", []),
        markers=kinds.get("markers", []),
        ready=kinds.get("ready", []),
        flags=kinds.get("flags", []),
        meetings=kinds.get("meetings", []),
    )


def values(facts: FactsOfPeriod, scope: Scope | None = None) -> dict[str, Any]:
    scope = scope or Scope(REGION)
    return {
        i.name + (f":{i.kommune}" if i.kommune else ""): i.value
        for i in compute(NOVEMBER, scope, facts, NOW)
    }


def test_length_of_stay_mean_median_and_readmissions() -> None:
    stays = [
        stay_row("a", day(1), 2),
        stay_row("a", day(6), 1, acute=True),  # 3 days after a's discharge: readmitted
        stay_row("b", day(2), 3),
        stay_row("b", day(25), 10, acute=True),  # 20 days after b's discharge
        stay_row("c", day(3), 32),  # discharged 5 December: not in November
        stay_row("d", day(4), 1),
        stay_row("d", day(10), 1),  # not acute: no readmission
    ]
    got = values(period(stays=stays))
    assert got["discharges"] == 5
    assert got["meanLengthOfStay"] == 1.6
    assert got["medianLengthOfStay"] == 1.0
    assert got["readmissions7d"] == 1
    assert got["readmissions30d"] == 2
    assert got["acuteAdmissions"] == 2


def test_substance_problems_social_services_and_kom_godt_hjem() -> None:
    stays = [stay_row(p, day(2), 3) for p in "abc"]
    markers = [
        row(OUTREACH_REFERRAL, "a", day(3)),
        row(OUTREACH_CONVERSATION, "b", day(4)),
        row(OUTREACH_REFERRAL, "c", day(20)),  # after c's stay: not during it
        row(SOCIAL_SERVICES, "a", day(30)),  # 25 days after discharge
        row(VIRTUAL_MEETING, "a", day(4)),
        row(VIRTUAL_MEETING, "b", day(4)),
        row(RECEPTION_VISIT, "a", day(5, 20)),  # 10 hours after discharge
        row(RECEPTION_VISIT, "b", day(7)),  # 2 days after: late
    ]
    got = values(period(stays=stays, markers=markers))
    assert got["dischargedWithSubstanceProblems"] == 2
    assert got["dischargedWithSubstanceProblemsOfferedSocialServices"] == 1
    assert got["komGodtHjemDischarges"] == 2
    assert got["receptionVisitsWithin24h"] == 1


def test_faerdigbehandlingsdage_count_days_in_the_period_per_municipality() -> None:
    ready = [
        row(READY_FOR_DISCHARGE, "a", day(28), end_at=day(31 + 3), status="inactive"),  # 3 in Nov
        row(READY_FOR_DISCHARGE, "b", datetime(2026, 10, 30, tzinfo=UTC), end_at=day(3)),
        row(READY_FOR_DISCHARGE, "c", day(29), status="active", kommune="707"),  # still open
    ]
    got = values(period(ready=ready))
    assert got["faerdigbehandlingsdage:730"] == 3 + 2
    assert got["faerdigbehandlingsdage:707"] == 2
    whole = Window(date(2026, 11, 1), date(2026, 12, 5))  # up to NOW
    assert waiting_days(ready[2], whole, NOW) == 6  # 29 Nov – 4 Dec; today is not counted


def test_cohort_members_and_time_to_the_round_table() -> None:
    flags = [row(COHORT_MEMBER, p, day(n), status="active") for n, p in enumerate("abcd", 1)]
    flags.append(row(COHORT_MEMBER, "e", day(5), status="entered-in-error"))
    meetings = [
        row(ROUND_TABLE_HELD, "a", day(11)),
        row(ROUND_TABLE_HELD, "b", day(2, 8)),  # before b's flag: not after it
        row(ROUND_TABLE_HELD, "c", day(33)),
    ]
    got = values(period(flags=flags, meetings=meetings))
    assert got["cohortMembersFlagged"] == 4
    assert got["cohortMembersWithRoundTable"] == 2
    assert got["meanDaysFlagToRoundTable"] == 20.0
    assert got["medianDaysFlagToRoundTable"] == 20.0


def test_the_aggregate_suppresses_figures_below_five_a_controllers_own_never() -> None:
    facts = period(counts={OUTREACH_REFERRAL: 4, "outreach-conversation": 5})
    every = {i.name: i for i in compute(NOVEMBER, Scope(None), facts, NOW)}
    assert every["outreachReferrals"].value is None and every["outreachReferrals"].suppressed
    assert every["outreachConversationsHeld"].value == 5
    assert every["meanLengthOfStay"].suppressed  # no stays at all
    for controller in (REGION, "kommune:101"):
        own = {i.name: i for i in compute(NOVEMBER, Scope(controller), facts, NOW)}
        assert own["outreachReferrals"].value == 4 and not own["outreachReferrals"].suppressed
        assert not any(i.suppressed for i in own.values())


def test_the_scope_is_named_by_its_controller() -> None:
    assert Scope(None).name == "all-sectors"
    assert Scope("kommune:730", kommune="730").name == "own-controller:kommune:730"
    assert Scope(REGION).name == f"own-controller:{REGION}"


def test_every_indicator_has_a_written_definition() -> None:
    figures = compute(NOVEMBER, Scope(REGION), period(), NOW)
    assert len({i.name for i in figures}) == len(figures) >= 25
    assert all(len(i.definition) > 30 and i.unit for i in figures)
