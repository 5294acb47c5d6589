"""The cohort rule's residence and problem-type criteria over the real projection and store.

The rule reads one controller's and one sector's records: psychiatry's stays and
diagnoses never reach a flag a somatic unit of the same region may read, nor a
kommune's records a hospital's flag.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain import pathway_codes as codes
from hub.domain.cohort import PROBLEM_TYPES, CohortRule
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.services.auth import Principal
from hub.services.indicators import read_cohort_members
from tests.contract.test_facts_store import (
    MUNICIPALITY,
    Pipeline,
    at,
    cpr,
    patient,
    service_request,
    stay,
    subject,
)

REGION = "sor:400000000"
SOMATIC = Sender(Sector.HOSPITAL, "100000001", "epj", controller=REGION)
PSYCHIATRIC = Sender(Sector.PSYCHIATRY, "566281000016007", "psyk-epj", controller=REGION)
FIRST = datetime(2025, 3, 1, 3, tzinfo=UTC)
ICD10 = "http://hl7.org/fhir/sid/icd-10"


def acute(person: str, start: datetime, diagnosis: str | None = None) -> FhirJson:
    resource = stay(person, start, start + timedelta(days=1), klass="EMER")
    if diagnosis:
        resource["reasonCode"] = [{"coding": [{"system": ICD10, "code": diagnosis}]}]
    return resource


def judged(person: str, problem: str) -> FhirJson:
    """A front-line worker's judgement: a Flag coded with a problem type."""
    return {
        "resourceType": "Flag",
        "id": f"problem-{person}-{problem}",
        "status": "active",
        "code": {"coding": [{"system": PROBLEM_TYPES, "code": problem}]},
        "subject": subject(person),
        "period": {"start": at(FIRST)},
    }


async def admitted_twice(
    pipeline: Pipeline, sender: Sender, person: str, *diagnoses: str | None
) -> None:
    for days, diagnosis in zip((0, 20), diagnoses or (None, None), strict=True):
        start = FIRST + timedelta(days=days)
        await pipeline.send(sender, person, [acute(person, start, diagnosis)], start)


async def test_psychiatry_and_somatic_stays_of_one_region_are_not_combined(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    person = cpr(1, born="150686")
    await pipeline.send(SOMATIC, person, [patient(person), acute(person, FIRST)], FIRST)
    later = FIRST + timedelta(days=10)
    await pipeline.send(PSYCHIATRIC, person, [acute(person, later)], later)
    assert await pipeline.deliver_outbox() == []


async def test_a_hospital_flag_tells_only_the_hospital_s_own_problem_types(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    person = cpr(2, born="150686")
    await pipeline.send(SOMATIC, person, [patient(person)], FIRST)
    # Psychiatry of the same region knows of schizophrenia; the kommune of social problems.
    await pipeline.send(PSYCHIATRIC, person, [acute(person, FIRST, "F20.0")], FIRST)
    await pipeline.send(MUNICIPALITY, person, [judged(person, "social")], FIRST)
    referral = service_request(person, codes.OUTREACH_REFERRAL, FIRST.date())
    await pipeline.send(SOMATIC, person, [referral], FIRST)
    await admitted_twice(pipeline, SOMATIC, person, "J44.1", None)
    (published,) = await pipeline.deliver_outbox()
    flag = published.resources[0]
    assert "problemtyper: fysiske problemer, rusmiddelproblemer" in flag["code"]["text"]
    nurse = Principal("nurse", Sector.HOSPITAL, SOMATIC.org, controller=REGION)
    (member,) = await read_cohort_members(units_over(engine), nurse)
    assert member.problem_types == ("fysisk", "rusmiddel")
    assert member.criteria == ("alder", "akutte-indlaeggelser")
    assert "psykisk" not in str(member.flag.content) and "social" not in str(member.flag.content)


async def test_a_residence_set_flags_its_residents_when_the_residence_is_known(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine, CohortRule(residences=frozenset({"360", "376"})))
    elsewhere, unknown = cpr(3, born="150686"), cpr(4, born="150686")
    await pipeline.send(SOMATIC, elsewhere, [patient(elsewhere, "730")], FIRST)
    await admitted_twice(pipeline, SOMATIC, elsewhere)
    await admitted_twice(pipeline, SOMATIC, unknown)
    # A kommune saying the patient lives there is no authoritative source.
    await pipeline.send(MUNICIPALITY, unknown, [patient(unknown, "376")], FIRST)
    assert await pipeline.deliver_outbox() == []
    # The hospital's feed gives the residence later: the rule is applied again.
    await pipeline.send(SOMATIC, unknown, [patient(unknown, "376")], FIRST + timedelta(days=30))
    (published,) = await pipeline.deliver_outbox()
    assert published.patient_key.endswith(unknown)
    criteria = published.resources[0]["extension"][0]["extension"]
    assert {"url": "residence", "valueString": "376"} in criteria
    assert "bopael" in [p["valueCoding"]["code"] for p in criteria if p["url"] == "met"]


async def test_a_required_problem_type_may_come_from_a_front_line_worker_of_the_sector(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine, CohortRule(min_problem_types=1))
    person = cpr(5, born="150686")
    await pipeline.send(SOMATIC, person, [patient(person)], FIRST)
    await admitted_twice(pipeline, SOMATIC, person)
    await pipeline.send(MUNICIPALITY, person, [judged(person, "rusmiddel")], FIRST)
    assert await pipeline.deliver_outbox() == []  # the kommune's judgement is not the hospital's
    await pipeline.send(SOMATIC, person, [judged(person, "social")], FIRST + timedelta(days=25))
    (published,) = await pipeline.deliver_outbox()
    assert "problemtyper: sociale problemer" in published.resources[0]["code"]["text"]
