"""Cost per capita over the real projection and store: a cohort member's stays, visits
and municipal services, priced by the sample tariffs, before and after inclusion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain import pathway_codes as codes
from hub.domain.costs import MONTH_DAYS, parse_tariffs
from hub.domain.indicators.facts import DRG_EXTENSION
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.entrypoints.demo import DEMO_TARIFFS
from hub.services.auth import Principal
from hub.services.costs import read_costs
from hub.store.tables import audit_events
from tests.contract.test_facts_store import (
    HOSPITAL,
    MUNICIPALITY,
    Pipeline,
    at_hour,
    contact,
    count,
    cpr,
    patient,
    service_request,
    stay,
)

TARIFFS = parse_tariffs(DEMO_TARIFFS.read_text(encoding="utf-8"))
LATER = datetime(2026, 6, 1, tzinfo=UTC)  # a year and more after the inclusion
HOSPITAL_VIEWER = Principal("nurse", Sector.HOSPITAL, HOSPITAL.org)
RANDERS = Sender(Sector.MUNICIPALITY, MUNICIPALITY.org, "randers-omsorg", controller="kommune:730")
MUNICIPAL_VIEWER = Principal("visitator", Sector.MUNICIPALITY, MUNICIPALITY.org, kommune="730")
ANALYST = Principal(
    "analyst", Sector.HOSPITAL, HOSPITAL.org, roles=frozenset({"indicators:aggregate"})
)


def acute(person: str, start: datetime, days: int, drg: str | None = None) -> FhirJson:
    resource = stay(person, start, start + timedelta(days=days), klass="EMER")
    if drg:
        resource["extension"] = [{"url": DRG_EXTENSION, "valueCoding": {"code": drg}}]
    return resource


def outpatient(person: str, start: datetime) -> FhirJson:
    return stay(person, start, start + timedelta(hours=1), klass="AMB")


async def test_a_members_stays_and_services_cost_before_and_after_inclusion(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    person = cpr(3001)  # 40 years old in 2025
    included = at_hour(date(2025, 3, 20))
    await pipeline.send(HOSPITAL, person, [patient(person)], at_hour(date(2025, 1, 1)))
    before = [
        (at_hour(date(2025, 1, 10)), 3, "04MA98"),  # DRG tariff 38.520
        (at_hour(date(2025, 3, 1)), 2, None),  # no DRG: 2 bed-days at 4.250
    ]
    for start, days, drg in [*before, (included, 4, "19ma04")]:  # DRG 52.310 (after)
        await pipeline.send(
            HOSPITAL, person, [acute(person, start, days, drg)], start + timedelta(days=days)
        )
    await pipeline.deliver_outbox()  # the cohort Flag the second admission within 30 days set
    visit = at_hour(date(2025, 4, 5))
    await pipeline.send(HOSPITAL, person, [outpatient(person, visit)], visit)  # 1.850
    grant = service_request(person, codes.HOME_CARE_GRANTED_SEL83, date(2025, 2, 1))  # 9.800
    await pipeline.send(RANDERS, person, [grant], at_hour(date(2025, 2, 1)))
    reached = contact(person, codes.ADDICTION_CENTRE_CONTACT, at_hour(date(2025, 4, 10)))  # 950
    await pipeline.send(RANDERS, person, [reached], at_hour(date(2025, 4, 10)))

    year = (date(2025, 1, 1), date(2025, 12, 31))
    own = await read_costs(units_over(engine), HOSPITAL_VIEWER, TARIFFS, *year, now=LATER)
    assert own.scope.controller == HOSPITAL.controller
    assert own.period.total == Decimal("101180.00")  # 38.520 + 8.500 + 52.310 + 1.850
    assert own.period.patients == 1 and own.period.per_patient == Decimal("101180.00")
    assert dict(own.period.by_category) == {
        "hospital": Decimal("99330.00"),
        "outpatient": Decimal("1850.00"),
    }
    cohort = own.cohort
    assert cohort.members == 1
    assert cohort.before_total == Decimal("47020.00")
    assert cohort.before_per_member_month == Decimal("3918.33")
    assert cohort.after_total == Decimal("54160.00")  # the admission that met the rule is after
    assert cohort.after_member_months == 12
    assert cohort.after_per_member_month == Decimal("4513.33")

    # Before a year has passed, the months after end today.
    early = await read_costs(
        units_over(engine), HOSPITAL_VIEWER, TARIFFS, *year, now=at_hour(date(2025, 5, 1))
    )
    months = (at_hour(date(2025, 5, 1)) - included).total_seconds() / 86_400 / MONTH_DAYS
    assert early.cohort.after_member_months == round(months, 2)

    # The kommune's own figures: its own services only, and no cohort member of its own
    # (the flag is the hospital's): nothing of the hospital's stays.
    theirs = await read_costs(units_over(engine), MUNICIPAL_VIEWER, TARIFFS, *year, now=LATER)
    assert theirs.period.total == Decimal("10750.00")
    assert dict(theirs.period.by_category) == {"municipal": Decimal("10750.00")}
    assert theirs.cohort.members == 0 and theirs.cohort.before_total is None

    # Every sector's: one patient and one member are too few to show.
    everyone = await read_costs(units_over(engine), ANALYST, TARIFFS, *year, now=LATER)
    assert everyone.period.suppressed and everyone.period.total is None
    assert everyone.cohort.suppressed and everyone.cohort.after_per_member_month is None
    assert await count(engine, audit_events, audit_events.c.action == "costs.read") == 4
