"""The cases behind an indicator over the real projection and store (SQLite, PostgreSQL):
the caller's own cases, never another controller's without a basis; audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.services.auth import Principal
from hub.services.indicator_cases import CASES_READ, read_indicator_cases
from hub.services.indicators import AGGREGATE_ROLE
from hub.store.tables import audit_events
from tests.contract.test_facts_store import HOSPITAL, Pipeline, count, patient, stay

OTHER_HOSPITAL = Sender(Sector.HOSPITAL, "100000002", "epj-2")  # its own data controller
FIRST, LAST = date(2026, 11, 1), date(2026, 11, 30)
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"


def from_care_home(resource: FhirJson) -> FhirJson:
    return resource | {
        "hospitalization": {
            "admitSource": {"coding": [{"system": ADMIT_SOURCE, "code": "nursing"}]}
        },
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J44.1"}]}],
    }


async def readmitted(pipeline: Pipeline, sender: Sender, person: str, kommune: str) -> None:
    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    await pipeline.send(sender, person, [patient(person, kommune)], start)
    first = stay(person, start, start + timedelta(days=2), id=f"first-{person}")
    again_at = start + timedelta(days=5)
    again = from_care_home(
        stay(person, again_at, again_at + timedelta(days=1), klass="EMER", id=f"again-{person}")
    )
    await pipeline.send(sender, person, [first], start + timedelta(days=2))
    await pipeline.send(sender, person, [again], again_at + timedelta(days=1))


async def test_a_list_shows_the_callers_own_cases_with_both_stays_and_is_audited(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    ours, theirs = "0101851001", "0101851002"
    await readmitted(pipeline, HOSPITAL, ours, "730")
    await readmitted(pipeline, OTHER_HOSPITAL, theirs, "101")
    hospital = Principal("nurse", Sector.HOSPITAL, HOSPITAL.org)

    listed = await read_indicator_cases(units_over(engine), hospital, "readmissions7d", FIRST, LAST)
    (case,) = listed.cases
    assert case.cpr == ours
    assert [(r.role, r.reference) for r in case.resources] == [
        ("stay", f"Encounter/first-{ours}"),
        ("readmission", f"Encounter/again-{ours}"),
    ]
    assert case.value == 3  # days from the discharge to the readmission
    assert listed.scope.controller == f"sor:{HOSPITAL.org}"

    (home,) = (
        await read_indicator_cases(units_over(engine), hospital, "careHomeAdmissions", FIRST, LAST)
    ).cases
    assert (home.cpr, home.kommune, home.groups) == (ours, "730", ("J44",))
    by_group = await read_indicator_cases(
        units_over(engine), hospital, "careHomeAdmissionsByDiagnosisGroup", FIRST, LAST, group="I50"
    )
    assert by_group.cases == []

    # Another controller's hospital lists its own case only, never ours.
    other = Principal("nurse", Sector.HOSPITAL, OTHER_HOSPITAL.org)
    (their_case,) = (
        await read_indicator_cases(units_over(engine), other, "readmissions7d", FIRST, LAST)
    ).cases
    assert their_case.cpr == theirs
    # With the aggregate role, every controller's facts, but a case only where the caller
    # may see the patient and what the case rests on: without the patient's consent,
    # kommune 730 is shown neither its resident's hospital record nor kommune 101's.
    analyst = Principal(
        "analytiker",
        Sector.MUNICIPALITY,
        "478941000016003",
        kommune="730",
        roles=frozenset({AGGREGATE_ROLE}),
    )
    aggregate = await read_indicator_cases(
        units_over(engine), analyst, "readmissions7d", FIRST, LAST
    )
    assert aggregate.scope.controller is None
    assert aggregate.cases == []  # the hospital's Patient record is not shown to it
    homes = await read_indicator_cases(
        units_over(engine), analyst, "careHomeAdmissions", FIRST, LAST
    )
    assert homes.cases == []
    # Its own figures hold no hospital stay, so nothing to list.
    municipality = Principal("visitator", Sector.MUNICIPALITY, "478941000016003", kommune="730")
    own = await read_indicator_cases(
        units_over(engine), municipality, "readmissions7d", FIRST, LAST
    )
    assert own.cases == []

    shown = await count(
        engine,
        audit_events,
        audit_events.c.action == CASES_READ,
        audit_events.c.patient_key.is_not(None),
    )
    assert shown == 3  # one per patient shown, per list
    lists = await count(
        engine,
        audit_events,
        audit_events.c.action == CASES_READ,
        audit_events.c.patient_key.is_(None),
    )
    assert lists == 7


def consent_for(org: str, *purposes: str) -> FhirJson:
    """The patient's consent, recorded by the hospital that holds the data, naming ``org``."""
    provision: FhirJson = {
        "type": "permit",
        "actor": [{"reference": {"identifier": {"system": SOR_SYSTEM, "value": org}}}],
    }
    if purposes:
        provision["purpose"] = [{"code": purpose} for purpose in purposes]
    return {
        "resourceType": "Consent",
        "id": "consent-1",
        "status": "active",
        "provision": provision,
    }


async def test_a_list_shows_another_controllers_case_under_a_consent_for_quality_work(
    engine: AsyncEngine,
) -> None:
    """An audit list is quality work: a consent limited to treatment does not open another
    controller's case to it; a consent for any purpose does."""
    pipeline = Pipeline(engine)
    resident = "0101851003"
    await readmitted(pipeline, HOSPITAL, resident, "730")
    kommune = "478941000016003"
    analyst = Principal(
        "analytiker",
        Sector.MUNICIPALITY,
        kommune,
        kommune="730",
        roles=frozenset({AGGREGATE_ROLE}),
    )
    later = datetime(2026, 11, 20, tzinfo=UTC)
    await pipeline.send(HOSPITAL, resident, [consent_for(kommune, "TREAT")], later)
    treatment_only = await read_indicator_cases(
        units_over(engine), analyst, "readmissions7d", FIRST, LAST
    )
    assert treatment_only.cases == []

    await pipeline.send(HOSPITAL, resident, [consent_for(kommune)], later + timedelta(hours=1))
    (case,) = (
        await read_indicator_cases(units_over(engine), analyst, "readmissions7d", FIRST, LAST)
    ).cases
    assert case.cpr == resident
    assert [r.role for r in case.resources] == ["stay", "readmission"]
