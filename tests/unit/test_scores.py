"""Scores on the pathway: "Kom godt hjem" eligibility, the TOBS alert, who sees them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hub.domain.alerts import TOBS_HIGH, AlertRules, alert_as_raised, alerts
from hub.domain.consent import (
    DEFAULT_POLICY,
    SECTOR_ROLE_SYSTEM,
    Item,
    Viewer,
    Visibility,
    decide,
    read_consent,
    shown,
)
from hub.domain.consent import PSYCHIATRY_LABEL as PSYCHIATRY_CONSENT_LABEL
from hub.domain.indicators import (
    HOSPITAL_STAY,
    KOM_GODT_HJEM_SCREENING,
    TOBS_SCORE,
    FactRow,
    FactsOfPeriod,
    Window,
    cases_of_period,
    derive_facts,
)
from hub.domain.observation_codes import OBSERVATIONS
from hub.domain.sectors import Sector
from hub.domain.sensitivity import PSYCHIATRY_LABEL
from hub.domain.status import Shown, derive_status
from hub.domain.summaries import summarise

NOW = datetime(2024, 4, 9, 14, 0, tzinfo=UTC)
HOSPITAL = "100000001"
HOME_CARE = "333333333"
RANDERS = "730"


def stay(status: str = "in-progress", end: str | None = None) -> dict[str, Any]:
    period = {"start": "2024-04-02T08:00:00+02:00", **({"end": end} if end else {})}
    return {
        "resourceType": "Encounter",
        "id": "stay",
        "status": status,
        "class": {"code": "IMP"},
        "period": period,
    }


def observation(
    code: str,
    value: float,
    *,
    id: str = "obs",
    status: str = "final",
    at: str = "2024-04-09T10:00:00+02:00",
    encounter: str | None = "Encounter/stay",
) -> dict[str, Any]:
    content: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "code": {"coding": [{"system": OBSERVATIONS, "code": code}]},
        "valueQuantity": {"value": value, "unit": "point"},
        "effectiveDateTime": at,
    }
    if encounter:
        content["encounter"] = {"reference": encounter}
    return content


def screening(value: float, **more: Any) -> dict[str, Any]:
    return observation("kom-godt-hjem-screening", value, **more)


def status_of(*resources: dict[str, Any], threshold: float = 31) -> Any:
    return derive_status(
        None,
        [Shown("hospital", r) for r in resources],
        now=NOW,
        kom_godt_hjem_score=threshold,
    ).kom_godt_hjem


# --- Kom godt hjem ---------------------------------------------------------------------


def test_a_screening_over_31_makes_the_stay_kom_godt_hjem_and_31_does_not() -> None:
    assert status_of(stay(), screening(31)) is None
    eligible = status_of(stay(), screening(32))
    assert eligible is not None
    assert (eligible.score, eligible.observed_at, eligible.stay_id) == (
        32,
        "2024-04-09T10:00:00+02:00",
        "stay",
    )
    # The threshold is the configured one.
    assert status_of(stay(), screening(32), threshold=32) is None


def test_the_latest_screening_of_the_stay_decides() -> None:
    early = screening(34, id="early", at="2024-04-03T10:00:00+02:00")
    late = screening(20, id="late", at="2024-04-08T10:00:00+02:00")
    assert status_of(stay(), early, late) is None
    assert status_of(stay(), early) is not None
    # A screening of another stay, or one not final, or before the stay, tells nothing.
    assert status_of(stay(), screening(34, encounter="Encounter/other")) is None
    assert status_of(stay(), screening(34, status="preliminary")) is None
    assert status_of(stay(), screening(34, status="entered-in-error")) is None
    before = screening(34, encounter=None, at="2024-03-30T10:00:00+02:00")
    assert status_of(stay(), before) is None
    assert status_of(stay(), screening(34, encounter=None)) is not None


def test_eligibility_is_told_after_discharge_too_and_needs_the_stay() -> None:
    discharged = stay("finished", "2024-04-09T12:00:00+02:00")
    assert status_of(discharged, screening(34)) is not None
    assert status_of(screening(34)) is None  # no stay shown: nothing to be eligible for


def test_the_screening_is_the_source_the_status_names() -> None:
    status = derive_status(
        None, [Shown("hospital", stay()), Shown("hospital", screening(40))], now=NOW
    )
    assert "Observation/obs" in status.sources


# --- summaries -----------------------------------------------------------------------


def test_scores_have_a_danish_summary_line() -> None:
    assert summarise(screening(34)) == (
        "Opfølgningsscreening: 34 point, 09.04.2024 kl. 10.00 (endelig)"
    )
    tobs = observation("tobs", 5, at="2024-04-09T07:45:00+02:00", status="corrected")
    assert summarise(tobs) == "TOBS: 5, 09.04.2024 kl. 07.45 (rettet)"


# --- TOBS alert ----------------------------------------------------------------------


def fact_row(content: dict[str, Any], sector: str = "hospital") -> list[FactRow]:
    return [
        FactRow(
            f.kind,
            f"Observation/{content['id']}",
            "p",
            sector,
            HOSPITAL,
            RANDERS,
            f.at,
            f.end_at,
            f.value,
            status=f.status,
            related=f.related,
        )
        for f in derive_facts(content, sector)
    ]


def test_scores_are_facts_with_their_value_and_stay() -> None:
    (fact,) = derive_facts(screening(34), "hospital")
    assert (fact.kind, fact.value, fact.related) == (KOM_GODT_HJEM_SCREENING, 34, "Encounter/stay")
    (fact,) = derive_facts(observation("tobs", 5), "hospital")
    assert (fact.kind, fact.value) == (TOBS_SCORE, 5)
    assert derive_facts(observation("tobs", 5, status="entered-in-error"), "hospital") == []


def test_a_tobs_score_at_or_over_the_level_alerts() -> None:
    rules = AlertRules(tobs_score=3)
    assert alerts(fact_row(observation("tobs", 2)), NOW, rules) == []
    (alert,) = alerts(fact_row(observation("tobs", 3)), NOW, rules)
    assert alert.kind == TOBS_HIGH
    assert alert.evidence == ("Observation/obs",)
    assert alert.since == datetime(2024, 4, 9, 8, 0, tzinfo=UTC)
    assert alert.message.startswith("TOBS 3 målt 09.04.2024 kl. 10.00")
    assert alert.kommune == RANDERS
    assert alerts(fact_row(observation("tobs", 5)), NOW, AlertRules(tobs_score=6)) == []


def test_the_alert_is_due_at_the_observation_so_a_correction_raises_no_second_one() -> None:
    rules = AlertRules()
    (first,) = alerts(fact_row(observation("tobs", 5)), NOW, rules)
    corrected_higher = alerts(fact_row(observation("tobs", 7, status="corrected")), NOW, rules)
    # The scanner logs one alert per resource, kind and due time: the same due time.
    assert [a.since for a in corrected_higher] == [first.since]
    corrected_lower = fact_row(observation("tobs", 2, status="corrected"))
    assert alerts(corrected_lower, NOW, rules) == []


def test_a_tobs_alert_is_not_raised_for_old_scores_or_the_municipality_s_own() -> None:
    rules = AlertRules(reception_lookback_days=30)
    old = observation("tobs", 5, at="2024-02-01T10:00:00+01:00")
    assert alerts(fact_row(old), NOW, rules) == []
    assert alerts(fact_row(observation("tobs", 5), "municipality"), NOW, rules) == []
    later = alerts(fact_row(observation("tobs", 5)), NOW + timedelta(days=1), rules)
    assert len(later) == 1


def test_a_logged_tobs_alert_is_told_again_from_the_facts() -> None:
    facts = fact_row(observation("tobs", 5))
    (raised,) = alerts(facts, NOW, AlertRules())
    again = alert_as_raised(TOBS_HIGH, "Observation/obs", facts, since=raised.since, raised_at=NOW)
    assert again == raised


# --- consent -------------------------------------------------------------------------


def item(content: dict[str, Any], *, psychiatry: bool = False) -> Item:
    if psychiatry:
        content = {**content, "meta": {"security": [dict(PSYCHIATRY_LABEL)]}}
    return Item(
        str(content["resourceType"]),
        str(content["id"]),
        "psychiatry" if psychiatry else "hospital",
        HOSPITAL,
        content,
    )


def consent_to_municipality(*, psychiatry: bool = False) -> Any:
    actor = {"role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": "municipality"}]}}
    provision: dict[str, Any] = {"type": "permit", "actor": [actor]}
    if psychiatry:  # recorded by the psychiatry that holds the score, naming psychiatry
        provision["securityLabel"] = [{"code": PSYCHIATRY_CONSENT_LABEL}]
    return read_consent(
        {"resourceType": "Consent", "id": "c", "status": "active", "provision": provision},
        custodian=f"sor:{HOSPITAL}",
        recorder_sector="psychiatry" if psychiatry else "hospital",
    )


def seen_by_home_care(*items: Item, consents: tuple[Any, ...] = ()) -> list[Shown]:
    viewer = Viewer(Sector.MUNICIPALITY, HOME_CARE, RANDERS)
    out: list[Shown] = []
    for one in items:
        visibility = decide(
            viewer, one, list(consents), patient_kommune=RANDERS, now=NOW, policy=DEFAULT_POLICY
        )
        content = shown(viewer, one, visibility, list(consents), NOW)
        if content is not None:
            out.append(Shown(one.sector, content))
    return out


def test_without_a_basis_the_municipality_sees_neither_the_score_nor_the_eligibility() -> None:
    resources = (item(stay()), item(screening(34)))
    notified = seen_by_home_care(*resources)
    # The notification basis shows the stay's notification fields, never the score.
    assert [s.resource_type for s in notified] == ["Encounter"]
    status = derive_status(None, notified, now=NOW)
    assert status.kom_godt_hjem is None
    assert "Observation/obs" not in status.sources
    # A consent to the municipality shows both.
    consented = seen_by_home_care(*resources, consents=(consent_to_municipality(),))
    assert derive_status(None, consented, now=NOW).kom_godt_hjem is not None


def test_a_psychiatry_score_needs_a_consent_naming_psychiatry() -> None:
    score = item(screening(34), psychiatry=True)
    assert seen_by_home_care(score, consents=(consent_to_municipality(),)) == []
    named = consent_to_municipality(psychiatry=True)
    assert [s.resource_type for s in seen_by_home_care(score, consents=(named,))] == ["Observation"]


def test_the_notification_basis_is_for_stays_only() -> None:
    viewer = Viewer(Sector.MUNICIPALITY, HOME_CARE, RANDERS)
    visibility = decide(viewer, item(screening(34)), [], patient_kommune=RANDERS, now=NOW)
    assert visibility is Visibility.HIDDEN


# --- indicators ----------------------------------------------------------------------


def test_a_stay_screened_over_the_threshold_counts_as_a_kom_godt_hjem_discharge() -> None:
    spring = Window(date(2024, 3, 1), date(2024, 4, 30))

    def facts(score: float) -> FactsOfPeriod:
        common = {"sector": "hospital", "org": HOSPITAL, "kommune": RANDERS}
        discharge = FactRow(
            HOSPITAL_STAY,
            "Encounter/stay",
            "p",
            at=datetime(2024, 4, 2, 6, tzinfo=UTC),
            end_at=datetime(2024, 4, 9, 12, tzinfo=UTC),
            value=7.25,
            status="finished",
            **common,
        )
        screened = FactRow(
            KOM_GODT_HJEM_SCREENING,
            "Observation/obs",
            "p",
            at=datetime(2024, 4, 9, 8, tzinfo=UTC),
            value=score,
            related="Encounter/stay",
            **common,
        )
        return FactsOfPeriod({}, [discharge], [screened], [], [], [])

    assert cases_of_period(spring, facts(31), NOW)["komGodtHjemDischarges"] == []
    (case,) = cases_of_period(spring, facts(32), NOW)["komGodtHjemDischarges"]
    assert [r.resource for _, r in case.facts] == ["Encounter/stay", "Observation/obs"]
