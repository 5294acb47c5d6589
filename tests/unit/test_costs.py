"""Cost per capita: the tariff file, pricing by DRG or bed-day, before and after
inclusion, and whose facts a figure may rest on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from hub.bootstrap import build_hub
from hub.config import ConfigError
from hub.domain.costs import (
    Inclusion,
    TariffError,
    cohort_costs,
    cost_of,
    danish_amount,
    inclusions,
    parse_tariffs,
    period_costs,
)
from hub.domain.indicators import COHORT_MEMBER, HOME_CARE_GRANTED, HOSPITAL_STAY, Scope, Window
from hub.domain.indicators.facts import DRG_EXTENSION, OUTPATIENT_VISIT, FactRow, derive_facts
from tests.conftest import hub_settings

HEADER = "type,code,amount,unit,source,year\n"
TARIFFS = parse_tariffs(
    HEADER
    + "drg,04MA98,38520.00,indlæggelse,DRG-takster 2025,2025\n"
    + "drg,04MA98,36000,indlæggelse,DRG-takster 2024,2024\n"
    + "bed-day,,4250.50,sengedag,Sengedagstakst,2025\n"
    + "outpatient-visit,,1850,besøg,DAGS,2025\n"
    + 'home-care-granted,,9800,bevilling,"KL, enhedspris",2025\n'
)
REGION = "sor:100000001"
OTHER_REGION = "sor:100000002"
KOMMUNE = "kommune:730"


def fact(
    kind: str,
    at: datetime,
    *,
    patient: str = "p1",
    controller: str = REGION,
    end_at: datetime | None = None,
    related: str | None = None,
    status: str | None = "finished",
) -> FactRow:
    return FactRow(
        kind=kind,
        resource=f"X/{kind}-{patient}-{at.isoformat()}",
        patient_key=patient,
        sector="hospital",
        org=controller.removeprefix("sor:"),
        kommune="730",
        at=at,
        end_at=end_at,
        related=related,
        status=status,
        controller=controller,
    )


def day(year: int, month: int, dd: int, hour: int = 10) -> datetime:
    return datetime(year, month, dd, hour, tzinfo=UTC)


def error_of(text: str) -> str:
    with pytest.raises(TariffError) as raised:
        parse_tariffs(text, "takster.csv")
    return str(raised.value)


# --- the tariff file ---------------------------------------------------------------------


def test_each_tariff_keeps_its_source_and_year() -> None:
    assert ("KL, enhedspris", 2025) in TARIFFS.sources
    drg = TARIFFS.price("drg", "04MA98", 2025)
    assert drg is not None and drg.amount == Decimal("38520.00") and drg.line == 2
    # Priced by the newest tariff not after the year, else the oldest there is.
    assert TARIFFS.price("drg", "04MA98", 2024).amount == Decimal(36000)  # type: ignore[union-attr]
    assert TARIFFS.price("drg", "04MA98", 2023).amount == Decimal(36000)  # type: ignore[union-attr]
    assert TARIFFS.price("drg", "04MA98", 2030).amount == Decimal("38520.00")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("type;code;amount;unit;source;year\n", "line 1: the header must be"),
        (HEADER, "no tariffs"),
        (HEADER + "drg,04MA98,38520,stay,DRG,2025,extra\n", "line 2: 7 columns, expected 6"),
        (HEADER + "hotel,,100,night,Hotel,2025\n", "line 2, column type: 'hotel' is none"),
        (HEADER + "drg,,38520,stay,DRG,2025\n", "line 2, column code: a drg tariff names"),
        (HEADER + "bed-day,X,4250,day,Takst,2025\n", "line 2, column code: only a drg tariff"),
        (HEADER + 'bed-day,,"4.250,00",day,Takst,2025\n', "line 2, column amount"),
        (HEADER + "bed-day,,-1,day,Takst,2025\n", "line 2, column amount"),
        (HEADER + "bed-day,,NaN,day,Takst,2025\n", "line 2, column amount"),
        (HEADER + "bed-day,,4250,day,,2025\n", "line 2, column source"),
        (HEADER + "bed-day,,4250,,Takst,2025\n", "line 2, column unit"),
        (HEADER + "bed-day,,4250,day,Takst,25\n", "line 2, column year: '25' is no year"),
        (
            HEADER + "bed-day,,4250,day,Takst,2025\n\nbed-day,,4300,day,Ny takst,2025\n",
            "line 4: the same tariff as line 2",
        ),
        (HEADER + 'bed-day,,4250,day,"Takst,2025\n', "not CSV"),
    ],
)
def test_a_bad_tariff_file_is_refused_naming_the_line_and_column(text: str, reason: str) -> None:
    message = error_of(text)
    assert message.startswith("takster.csv")
    assert reason in message


def test_a_bad_tariff_file_stops_the_hub_at_start(tmp_path: Path) -> None:
    bad = tmp_path / "takster.csv"
    bad.write_text(HEADER + "bed-day,,mange,day,Takst,2025\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"HUB_COST_TARIFFS: .*line 2, column amount"):
        build_hub(hub_settings(tmp_path, HUB_COST_TARIFFS=str(bad)))
    with pytest.raises(ConfigError, match="cannot be read"):
        build_hub(hub_settings(tmp_path, HUB_COST_TARIFFS=str(tmp_path / "missing.csv")))
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "bed-day,,4250,day,Takst,2025\n", encoding="utf-8")
    assert build_hub(hub_settings(tmp_path, HUB_COST_TARIFFS=str(good))).tariffs is not None
    assert build_hub(hub_settings(tmp_path)).tariffs is None


def test_the_demo_tariffs_are_valid() -> None:
    from hub.entrypoints.demo import DEMO_TARIFFS

    assert parse_tariffs(DEMO_TARIFFS.read_text(encoding="utf-8")).tariffs


# --- where a stay's DRG code and an outpatient visit come from ---------------------------


def test_a_stay_keeps_its_drg_code_and_an_ambulatory_visit_counts() -> None:
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": "IMP"},
        "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-03T10:00:00Z"},
        "extension": [{"url": DRG_EXTENSION, "valueCoding": {"code": "04ma98"}}],
    }
    (stay,) = derive_facts(encounter, "hospital")
    assert stay.kind == HOSPITAL_STAY and stay.related == "04MA98"
    ambulatory = {**encounter, "class": {"code": "AMB"}}
    assert [f.kind for f in derive_facts(ambulatory, "psychiatry")] == [OUTPATIENT_VISIT]
    assert derive_facts(ambulatory, "municipality") == []
    assert derive_facts({**ambulatory, "status": "planned"}, "hospital") == []


# --- pricing -----------------------------------------------------------------------------


def test_a_stay_is_priced_by_its_drg_else_per_bed_day() -> None:
    start = datetime(2025, 3, 1, 23, 30, tzinfo=UTC)  # 2 March 00:30 in Denmark
    grouped = fact(HOSPITAL_STAY, start, end_at=start + timedelta(days=2), related="04ma98")
    assert cost_of(grouped, TARIFFS).amount == Decimal("38520.00")  # type: ignore[union-attr]
    # No DRG code, or a group without a tariff: calendar days (Danish time) at the day rate.
    ungrouped = fact(HOSPITAL_STAY, start, end_at=day(2025, 3, 4, 8))
    unknown = fact(HOSPITAL_STAY, start, end_at=day(2025, 3, 4, 8), related="99ZZ99")
    for stay in (ungrouped, unknown):
        cost = cost_of(stay, TARIFFS)
        assert cost is not None and cost.basis == "bed-day"
        assert cost.amount == Decimal("4250.50") * 2  # 2 to 4 March, Danish time
    same_day = fact(HOSPITAL_STAY, start, end_at=start + timedelta(minutes=30))
    assert cost_of(same_day, TARIFFS).amount == Decimal("4250.50")  # type: ignore[union-attr]
    assert cost_of(fact(HOSPITAL_STAY, start, status="in-progress"), TARIFFS) is None
    # A fact no tariff prices is counted as unpriced, not as free.
    aid = cost_of(fact("aid-granted", start), TARIFFS)
    assert aid is not None and aid.amount is None


def test_amounts_are_written_the_danish_way() -> None:
    assert danish_amount(Decimal("1234.5")) == "1.234,50 kr."
    assert danish_amount(Decimal("1234567.891")) == "1.234.567,89 kr."
    assert danish_amount(Decimal(0)) == "0,00 kr."


def _member_facts(patient: str, controller: str, inclusion: datetime) -> list[FactRow]:
    return [
        fact(COHORT_MEMBER, inclusion, patient=patient, controller=controller, status="active"),
        # Before: 13 months before (not counted), 2 months before (counted).
        *(
            fact(
                HOSPITAL_STAY,
                inclusion - timedelta(days=days_before),
                patient=patient,
                controller=controller,
                end_at=inclusion - timedelta(days=days_before - 2),
                related="04MA98",
            )
            for days_before in (400, 60)
        ),
        # After: the admission that met the rule, and an outpatient visit.
        fact(
            HOSPITAL_STAY,
            inclusion,
            patient=patient,
            controller=controller,
            end_at=inclusion + timedelta(days=1),
        ),
        fact(
            OUTPATIENT_VISIT, inclusion + timedelta(days=30), patient=patient, controller=controller
        ),
    ]


def test_a_members_cost_is_compared_before_and_after_inclusion_per_member_month() -> None:
    inclusion = day(2025, 3, 20)
    facts = _member_facts("p1", REGION, inclusion)
    window = Window(date(2025, 1, 1), date(2025, 12, 31))
    scope = Scope(REGION)
    included = inclusions(facts, window, scope)
    assert included == [Inclusion("p1", inclusion)]
    later = inclusion + timedelta(days=400)
    costs = cohort_costs(included, {"p1": facts}, TARIFFS, scope, later)
    assert costs.before_total == Decimal("38520.00")
    assert costs.before_per_member_month == Decimal("3210.00")
    assert costs.after_total == Decimal("4250.50") + Decimal(1850)
    assert costs.after_member_months == 12
    # Three months in, the months after are those that have passed.
    soon = cohort_costs(included, {"p1": facts}, TARIFFS, scope, inclusion + timedelta(days=91))
    assert soon.after_member_months == pytest.approx(2.99, abs=0.01)
    assert soon.after_per_member_month == Decimal("2040.48")
    # A member included outside the period is not among its members.
    assert inclusions(facts, Window(date(2025, 4, 1), date(2025, 12, 31)), scope) == []


def test_no_cost_is_built_from_another_controllers_stays() -> None:
    inclusion = day(2025, 3, 20)
    theirs = _member_facts("p1", OTHER_REGION, inclusion)
    mine = [fact(HOME_CARE_GRANTED, inclusion, patient="p1", controller=KOMMUNE)]
    window = Window(date(2025, 1, 1), date(2025, 12, 31))
    kommune = Scope(KOMMUNE)
    # The kommune's own figures: its own grant; the region's stays and flag are not its.
    period = period_costs([*theirs, *mine], TARIFFS, kommune)
    assert period.total == Decimal("9800.00") and dict(period.by_category) == {
        "municipal": Decimal("9800.00")
    }
    assert inclusions(theirs, window, kommune) == []
    # Even given the other region's member, its stays are not counted in another scope.
    costs = cohort_costs(
        [Inclusion("p1", inclusion)], {"p1": [*theirs, *mine]}, TARIFFS, Scope(REGION), inclusion
    )
    assert costs.before_total == Decimal(0) and costs.after_total == Decimal(0)


def test_the_aggregate_is_suppressed_below_five() -> None:
    inclusion = day(2025, 3, 20)
    everyone = Scope(None)
    window = Window(date(2025, 1, 1), date(2025, 12, 31))
    four = [f for n in range(4) for f in _member_facts(f"p{n}", REGION, inclusion)]
    assert period_costs(four, TARIFFS, everyone).suppressed
    included = inclusions(four, window, everyone)
    assert cohort_costs(included, {}, TARIFFS, everyone, inclusion).suppressed
    five = four + _member_facts("p4", OTHER_REGION, inclusion)
    shown = period_costs(five, TARIFFS, everyone)
    assert not shown.suppressed and shown.patients == 5
    by_patient: dict[str, list[FactRow]] = {}
    for f in five:
        by_patient.setdefault(f.patient_key, []).append(f)
    included = inclusions(five, window, everyone)
    costs = cohort_costs(included, by_patient, TARIFFS, everyone, inclusion + timedelta(days=400))
    assert costs.members == 5 and costs.before_per_member_month == Decimal("3210.00")


def test_the_page_shows_the_costs_in_danish_kroner() -> None:
    from hub.services.costs import CostReport
    from web.costs import CostSection
    from web.rendering import templates

    inclusion = day(2025, 3, 20)
    facts = _member_facts("p1", REGION, inclusion)
    window = Window(date(2025, 1, 1), date(2025, 12, 31))
    scope = Scope(REGION)
    report = CostReport(
        window.first,
        window.last,
        scope,
        TARIFFS,
        period_costs([*facts, fact("aid-granted", inclusion)], TARIFFS, scope),
        cohort_costs(
            inclusions(facts, window, scope), {"p1": facts}, TARIFFS, scope, day(2026, 6, 1)
        ),
    )
    html = templates().env.get_template("_omkostninger.html").render(costs=CostSection(report))
    assert "80.620,50 kr." in html  # 36.000 (2024) + 38.520 + 4.250,50 + 1.850
    assert "Ambulante besøg" in html and "1.850,00 kr." in html
    assert "3.210,00 kr." in html  # before, per member-month
    assert "1 ydelse uden takst" in html
    assert "KL, enhedspris (2025)" in html
    hidden = CostReport(
        window.first,
        window.last,
        Scope(None),
        TARIFFS,
        period_costs(facts, TARIFFS, Scope(None)),
        cohort_costs([], {}, TARIFFS, Scope(None), inclusion),
    )
    html = templates().env.get_template("_omkostninger.html").render(costs=CostSection(hidden))
    assert "færre end 5 borgere" in html and "kr." not in html.split("Takster")[0]
