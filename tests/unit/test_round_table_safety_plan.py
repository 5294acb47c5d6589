"""The sikkerhedsplan (safety plan) of a meeting: its shape, its rules and who may write it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fhir import FhirAdapter
from consumers.round_table_index import RoundTableIndexer
from hub.bootstrap import units_over
from hub.domain.pathway_codes import PATHWAY_EVENT_BY_CODE, SAFETY_PLAN
from hub.domain.round_table import RoundTableError, is_round_table, meeting_id
from hub.domain.safety_plan import (
    new_safety_plan,
    safety_care_plan,
    safety_plan_id,
    safety_plan_of,
)
from hub.domain.translation import Sender
from hub.services.intake import IntakeService
from hub.services.round_table import SafetyPlanRequest, record_safety_plan, round_tables
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock
from tests.support.inbound_events import inbound_event, project
from tests.unit.test_round_table_store import (
    CPR,
    GP,
    GP_STAFF,
    HOSPITAL,
    HOSPITAL_STAFF,
    MUNICIPAL_STAFF,
    MUNICIPALITY,
    consent_to,
    convene_with_plan,
    meeting,
    put,
)
from tests.unit.test_web_validation import codes_raised
from web import refusals
from web.rendering import templates

# A fixed instant late in the Danish day: 23:30 UTC on 1 March is already 2 March in Denmark.
NOW = datetime.fromisoformat("2025-03-01T23:30:00+00:00")


def plan(reviews: tuple[str, ...] = ("2025-03-09", "2025-03-02"), now: datetime = NOW) -> Any:
    return new_safety_plan(
        "k1",
        warning_signs=["Trækker sig fra vennerne", "  "],
        coping=["Går en tur med hunden"],
        people_and_places=["Mormor", "Biblioteket"],
        contacts=["Børne- og ungdomspsykiatrien, akuttelefon"],
        tovholder=MUNICIPALITY,
        reviews=list(reviews),
        now=now,
    )


def test_the_safety_plan_round_trips_through_its_care_plan_and_the_fhir_format() -> None:
    written = plan()
    assert written.warning_signs == ("Trækker sig fra vennerne",)  # blank entries dropped
    assert written.reviews == ("2025-03-02", "2025-03-09")  # earliest first
    resource = safety_care_plan(written, CPR, "2025-03-01")
    assert PATHWAY_EVENT_BY_CODE["sikkerhedsplan"] == SAFETY_PLAN
    # Its own kind: not taken for the meeting's generic plan.
    assert not is_round_table(resource)
    assert safety_plan_of(resource, "k1") == written
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [put(resource, "urn:brobygger:round-table-safety-plan", "k1")],
    }
    (translation,) = FhirAdapter().translate(
        orjson.dumps(bundle), Sender(HOSPITAL_STAFF.sector, HOSPITAL, "t")
    )
    (stored,) = translation.resources
    assert safety_plan_of(stored, "k1") == written


@pytest.mark.parametrize(
    ("reviews", "code"),
    [
        (("2025-03-01",), "review-date-in-past"),  # yesterday in Denmark, though today in UTC
        ((), "review-date-missing"),
        (("1. april",), "bad-review-date"),
    ],
)
def test_review_dates_are_today_or_later_in_danish_time(
    reviews: tuple[str, ...], code: str
) -> None:
    with pytest.raises(RoundTableError) as refused:
        plan(reviews)
    assert refused.value.code == code


def test_a_safety_plan_needs_warning_signs_and_coping_steps() -> None:
    with pytest.raises(RoundTableError) as refused:
        new_safety_plan(
            "k1",
            warning_signs=[],
            coping=["Går en tur"],
            people_and_places=[],
            contacts=[],
            tovholder=MUNICIPALITY,
            reviews=["2025-03-09"],
            now=NOW,
        )
    assert refused.value.code == "safety-plan-incomplete"


class ProjectingIntake:
    """Intake that stores what it accepts at once, as the projection would."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sent = 0

    async def accept(self, format: str, raw: bytes, sender: Sender) -> None:
        self.sent += 1
        (translation,) = FhirAdapter().translate(raw, sender)
        event = inbound_event(format, translation, sender)
        await project(self.engine, event, [RoundTableIndexer()])


def request(tovholder: str = MUNICIPALITY) -> SafetyPlanRequest:
    return SafetyPlanRequest(
        warning_signs=["Sover dårligt", "Trækker sig"],
        coping=["Lytter til musik"],
        people_and_places=["Mor", "Fodboldklubben"],
        contacts=["Kommunens ungerådgiver"],
        tovholder=tovholder,
        reviews=[clock.day_from_today(14).isoformat(), clock.day_from_today(0).isoformat()],
    )


async def test_the_convener_records_it_and_a_covered_participant_reads_it(
    engine: AsyncEngine,
) -> None:
    await convene_with_plan(engine, meeting())
    await consent_to(engine, [MUNICIPALITY])
    intake = ProjectingIntake(engine)
    the_id = meeting_id(HOSPITAL, "k1")

    view = await record_safety_plan(
        units_over(engine), cast(IntakeService, intake), HOSPITAL_STAFF, the_id, request()
    )
    assert view.safety_plan is not None
    written = safety_plan_of(view.safety_plan.content, "k1")
    assert written.coping == ("Lytter til musik",) and written.tovholder == MUNICIPALITY
    assert written.reviews == (
        clock.day_from_today(0).isoformat(),
        clock.day_from_today(14).isoformat(),
    )
    # Written as the convener's, beside the generic plan, which is untouched.
    assert view.safety_plan.stored.id == safety_plan_id(HOSPITAL, "k1")
    assert view.plan is not None and view.plan.care_plan.content["description"] == "Stabil bolig"

    # The municipality, covered by the consent and the tovholder, sees and revises it.
    (seen,) = await round_tables(units_over(engine), MUNICIPAL_STAFF, CPR)
    assert seen.safety_plan is not None
    revised = await record_safety_plan(
        units_over(engine),
        cast(IntakeService, intake),
        MUNICIPAL_STAFF,
        the_id,
        SafetyPlanRequest(**{**request().__dict__, "coping": ["Ringer til mormor"]}),
    )
    assert revised.safety_plan is not None
    assert safety_plan_of(revised.safety_plan.content).coping == ("Ringer til mormor",)
    assert revised.safety_plan.stored.version_id == 2

    # The GP takes part but is not covered: it sees the invitation and no safety plan.
    (gp_view,) = await round_tables(units_over(engine), GP_STAFF)
    assert gp_view.invitation_only and gp_view.safety_plan is None


async def test_a_participant_who_is_neither_convener_nor_tovholder_is_refused(
    engine: AsyncEngine,
) -> None:
    await convene_with_plan(engine, meeting())
    await consent_to(engine, [MUNICIPALITY, GP])
    intake = ProjectingIntake(engine)
    the_id = meeting_id(HOSPITAL, "k1")
    # The GP sees the meeting in full, but neither convened it nor holds its plan.
    with pytest.raises(RoundTableError) as refused:
        await record_safety_plan(
            units_over(engine), cast(IntakeService, intake), GP_STAFF, the_id, request(tovholder=GP)
        )
    assert refused.value.code == "not-planner"
    assert intake.sent == 0
    async with UnitOfWork(engine) as uow:
        assert await uow.resources.get("CarePlan", safety_plan_id(HOSPITAL, "k1")) is None


def test_every_safety_plan_refusal_has_danish_words_and_the_meeting_view_compiles() -> None:
    raised = codes_raised("hub/domain/safety_plan.py", "RoundTableError")
    raised |= codes_raised("hub/services/round_table/safety_plans.py", "RoundTableError")
    assert {"review-date-in-past", "safety-plan-incomplete"} <= raised
    assert raised - set(refusals.ROUND_TABLE) == set()
    templates().env.get_template("_moede.html")  # the safety-plan view and form parse
