"""The meeting page offers the plan's and the safety plan's forms only to whom may write them.

The same rule as the service (``hub.domain.round_table.may_plan``): the convener, or the
plan's tovholder, writes the meeting's plan; the convener, or the tovholder of the plan
or of the safety plan, writes the safety plan.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.directory import Directory
from hub.domain.round_table import ACTION_STATUSES
from hub.domain.safety_plan import SAFETY_PLAN_SYSTEM, new_safety_plan, safety_care_plan
from hub.services.auth import Principal
from hub.services.round_table import round_tables
from tests.support import clock
from tests.unit.test_round_table_store import (
    CPR,
    GP,
    GP_STAFF,
    HOSPITAL_STAFF,
    MUNICIPAL_STAFF,
    MUNICIPALITY,
    apply,
    consent_to,
    convene_with_plan,
    meeting,
    put,
)
from web.directory import OrganisationNames
from web.forms import NOTHING
from web.rendering import templates
from web.round_table import meeting_block

PLAN_FORM = "Revidér planen"
SAFETY_FORM_NEW = "Skriv sikkerhedsplan"
SAFETY_FORM = "Revidér sikkerhedsplanen"


async def meeting_page(engine: AsyncEngine, staff: Principal) -> str:
    """The meeting as ``staff`` is shown it on the patient's round-table page."""
    (view,) = await round_tables(units_over(engine), staff, CPR)
    block = meeting_block(view, staff.org, clock.now(), OrganisationNames(Directory()))
    return (
        templates()
        .env.get_template("_moede.html")
        .render(
            m=block,
            loop_index=1,
            ref="p1",
            typed=lambda _action: NOTHING,
            href=lambda path: path,
            csrf="",
            csrf_field="csrf",
            action_rows=1,
            action_statuses=ACTION_STATUSES,
        )
    )


async def test_a_tovholder_of_the_safety_plan_only_is_offered_the_safety_plan_form_only(
    engine: AsyncEngine,
) -> None:
    await convene_with_plan(engine, meeting())  # the plan's tovholder: the municipality
    await consent_to(engine, [MUNICIPALITY, GP])

    # The GP sees the meeting in full but holds neither plan: no form at all.
    page = await meeting_page(engine, GP_STAFF)
    assert "Stabil bolig" in page  # the plan is shown
    assert PLAN_FORM not in page and SAFETY_FORM_NEW not in page

    # Made the safety plan's tovholder, it may revise that plan, and still not the other.
    safety = new_safety_plan(
        "k1",
        warning_signs=["Trækker sig fra vennerne"],
        coping=["Går en tur med hunden"],
        people_and_places=[],
        contacts=[],
        tovholder=GP,
        reviews=[clock.today().isoformat()],
        now=clock.now(),
    )
    written = safety_care_plan(safety, CPR, clock.today().isoformat())
    await apply(engine, put(written, SAFETY_PLAN_SYSTEM, "k1"))
    page = await meeting_page(engine, GP_STAFF)
    assert SAFETY_FORM in page and PLAN_FORM not in page

    # The convener and the plan's tovholder are offered both.
    for staff in (HOSPITAL_STAFF, MUNICIPAL_STAFF):
        page = await meeting_page(engine, staff)
        assert PLAN_FORM in page and SAFETY_FORM in page, staff.org
