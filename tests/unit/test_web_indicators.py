"""The indicators page's parts: periods by month or quarter with the year on the chart,
Danish units and definitions, an organisation's own round-table figures, and the CSV
for Danish Excel beside the one for programs."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.domain.indicators import DEFINITIONS, Indicator, Scope
from hub.domain.own_figures import ActionRecord, RoundTableRecords, own_figures
from web import labels
from web.charts import bar_chart
from web.indicators import Bucket, Figures, bars, buckets_of, danish_csv, machine_csv


def test_a_year_is_shown_by_month_and_a_longer_period_by_quarter() -> None:
    year = buckets_of(date(2025, 12, 15), date(2026, 11, 20))
    assert [b.label for b in (year[0], year[1], year[-1])] == [
        "december 2025",
        "januar 2026",
        "november 2026",
    ]
    assert (year[0].first, year[-1].last) == (date(2025, 12, 15), date(2026, 11, 20))
    long = buckets_of(date(2024, 2, 1), date(2026, 11, 20))
    assert all(b.quarter for b in long)
    assert [long[0].label, long[-1].label] == ["1. kvartal 2024", "4. kvartal 2026"]
    assert long[0].first == date(2024, 2, 1)  # cut to the period


def test_the_chart_says_the_year_under_each_years_first_bar() -> None:
    shown = bars([(b, 1.0) for b in buckets_of(date(2025, 11, 1), date(2026, 2, 28))])
    assert [(b.label, b.year) for b in shown] == [
        ("nov", "2025"),
        ("dec", None),
        ("jan", "2026"),
        ("feb", None),
    ]
    svg = str(bar_chart("Udskrivninger pr. måned", shown))
    assert ">2025</text>" in svg and ">2026</text>" in svg
    assert "<title>januar 2026: 1</title>" in svg


def test_units_are_singular_for_one_and_figures_have_a_decimal_comma() -> None:
    assert f"1 {labels.unit('discharges', 1)}" == "1 udskrivning"
    assert f"2 {labels.unit('discharges', 2)}" == "2 udskrivninger"
    assert labels.counted(1, "actions") == "1 handling"
    assert labels.number(3.456) == "3,5" and labels.number(4.0) == "4"


def test_every_indicator_has_a_danish_title_and_definition() -> None:
    for definition in DEFINITIONS:
        assert labels.indicator(definition.name) != definition.name
        assert len(labels.definition(definition.name)) > 30
        assert "period.end" not in labels.definition(definition.name)


def test_an_organisations_own_figures_count_its_meetings_plans_and_actions() -> None:
    def at(day: int) -> datetime:
        return datetime(2026, 11, day, 10, tzinfo=UTC)

    records = RoundTableRecords(
        convened=(at(2), at(25)),
        plans=(at(3),),
        actions=(
            ActionRecord(at(3), "completed", "2026-11-10"),
            ActionRecord(at(3), "requested", "2026-11-10"),  # overdue on the 20th
            ActionRecord(at(3), "cancelled", "2026-11-10"),
            ActionRecord(at(3), "requested", "2026-11-25"),  # not due by the 20th
        ),
    )
    figures = own_figures(records, date(2026, 11, 1), date(2026, 11, 20), at(20))
    assert {f.name: f.value for f in figures} == {
        "roundTablesConvened": 1,
        "roundTablePlansRecorded": 1,
        "roundTableActionsAgreed": 3,
        "roundTableActionsCompleted": 1,
        "roundTableActionsOverdue": 1,
    }


def shown() -> Figures:
    stay = Indicator("meanLengthOfStay", 3.25, "days", "Mean of …", False)
    few = Indicator("discharges", None, "discharges", "…", True, kommune="730")
    month = Bucket(date(2026, 11, 1), date(2026, 11, 20))
    return Figures(
        first=date(2026, 11, 1),
        last=date(2026, 11, 20),
        scope=Scope(None),
        total=[stay, few],
        buckets=[(month, [stay, few])],
        own=[],
    )


def test_the_excel_csv_is_danish_and_the_data_csv_is_for_programs() -> None:
    excel = danish_csv(shown())
    assert excel.startswith("\ufeffFra;Til;Omfang;Indikator;Kommune;Værdi;Enhed;")
    lines = excel.lstrip("\ufeff").splitlines()
    assert lines[1] == "01.11.2026;20.11.2026;Alle sektorer;Gns. liggetid;;3,2;dage;nej;"
    assert lines[2] == "01.11.2026;20.11.2026;Alle sektorer;Udskrivninger;730;;udskrivninger;ja;"
    data = machine_csv(shown()).lstrip("\ufeff").splitlines()
    assert data[0] == "from,to,scope,name,title,kommune,value,unit,suppressed,group"
    assert data[1].startswith("2026-11-01,2026-11-20,")
    assert ",meanLengthOfStay,Gns. liggetid,,3.25,days,false" in data[1]
