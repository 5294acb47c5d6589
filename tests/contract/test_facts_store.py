"""Pathway facts, indicators, cohort flags and alerts over the real projection and store.

Events are applied through the resource projection with the facts observer, as the
consumer applies them, on SQLite and PostgreSQL. The scenario reproduces the figures
of the regional reports (domain description): the outreach counsellor's year, 40
planned admissions with a mean stay of 4 days, 199 cohort members. Its year of events
is applied as the consumer applies polled batches (patients and facts read ahead);
the hub's own cohort flags, and every other test's events, one transaction's events
at a time without reading ahead (tests/contract/test_consumer_batches.py holds the two
ways to the same result).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.pathway_facts import PathwayFactsObserver
from consumers.projection import ResourceProjection
from hub.bootstrap import units_over
from hub.domain import pathway_codes as codes
from hub.domain.alerts import (
    READY_FOR_DISCHARGE_WAITING,
    RECEPTION_VISIT_MISSING,
    ROUND_TABLE_ACTION_OVERDUE,
    AlertRules,
)
from hub.domain.cohort import CohortRule
from hub.domain.events import InboundEvent
from hub.domain.identifiers import cpr_patient_key, patient_resource_id
from hub.domain.indicators import Indicator, Scope, Window
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.services.auth import Principal
from hub.services.indicators import (
    compute_indicators,
    pending_alerts,
    read_alerts,
    read_cohort_members,
    read_indicators,
)
from hub.store.tables import audit_events, outbox, pathway_facts
from hub.store.unit_of_work import UnitOfWork

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "epj")
PSYCHIATRY = Sender(Sector.PSYCHIATRY, "566281000016007", "psyk-epj")
COORDINATOR = Sender(Sector.COORDINATOR, "fremskudt-behandler-randers", "fb")
MUNICIPALITY = Sender(Sector.MUNICIPALITY, "478941000016003", "randers-omsorg")
V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
YEAR = Window(date(2025, 1, 1), date(2025, 12, 31))
_ids = itertools.count(1)


def cpr(serial: int, born: str = "010185") -> str:
    """A CPR number born on ``born`` (DDMMYY) in the 1900s (century digit 0–3)."""
    assert serial < 4000
    return f"{born}{serial:04d}"


def at(day: date | datetime, hour: int = 10) -> str:
    moment = day if isinstance(day, datetime) else datetime(day.year, day.month, day.day, hour)
    return moment.replace(tzinfo=moment.tzinfo or UTC).isoformat()


def subject(patient_cpr: str) -> dict[str, str]:
    return {"reference": f"Patient/{patient_resource_id(cpr_patient_key(patient_cpr))}"}


def patient(patient_cpr: str, kommune: str | None = "730") -> FhirJson:
    resource: FhirJson = {
        "resourceType": "Patient",
        "id": patient_resource_id(cpr_patient_key(patient_cpr)),
        "identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": patient_cpr}],
    }
    if kommune:
        resource["address"] = [{"use": "home", "district": kommune}]
    return resource


def coded(code: codes.PathwayCode) -> list[dict[str, Any]]:
    return [{"coding": [code.coding()]}]


def service_request(patient_cpr: str, code: codes.PathwayCode, day: date, **extra: Any) -> FhirJson:
    return {
        "resourceType": "ServiceRequest",
        "id": f"sr-{next(_ids)}",
        "status": "active",
        "intent": "order",
        "category": coded(code),
        "subject": subject(patient_cpr),
        "authoredOn": at(day),
        **extra,
    }


def contact(
    patient_cpr: str, code: codes.PathwayCode, start: datetime, klass: str = "AMB"
) -> FhirJson:
    return {
        "resourceType": "Encounter",
        "id": f"enc-{next(_ids)}",
        "status": "finished",
        "class": {"system": V3, "code": klass},
        "type": coded(code),
        "subject": subject(patient_cpr),
        "period": {"start": at(start), "end": at(start + timedelta(minutes=45))},
    }


def outcome(patient_cpr: str, code: codes.PathwayCode, day: date) -> FhirJson:
    return {
        "resourceType": "Task",
        "id": f"task-{next(_ids)}",
        "status": "completed",
        "intent": "order",
        "code": {"coding": [code.coding()]},
        "for": subject(patient_cpr),
        "authoredOn": at(day),
    }


def stay(
    patient_cpr: str,
    start: datetime,
    end: datetime | None,
    *,
    klass: str = "IMP",
    status: str | None = None,
    id: str | None = None,
) -> FhirJson:
    period = {"start": at(start)} | ({"end": at(end)} if end else {})
    return {
        "resourceType": "Encounter",
        "id": id or f"stay-{next(_ids)}",
        "status": status or ("finished" if end else "in-progress"),
        "class": {"system": V3, "code": klass},
        "subject": subject(patient_cpr),
        "period": period,
    }


class Pipeline:
    """The projection with the facts observer, applying events as the consumer does."""

    def __init__(self, engine: AsyncEngine, rule: CohortRule | None = None) -> None:
        self.engine = engine
        observer = PathwayFactsObserver(rule or CohortRule())
        self.projection = ResourceProjection(observers=[observer])
        self.applied: list[InboundEvent] = []

    def event(
        self, sender: Sender, patient_cpr: str, resources: Sequence[FhirJson], when: datetime
    ) -> InboundEvent:
        number = next(_ids)
        return InboundEvent(
            event_id=f"event-{number}",
            message_id=f"message-{number}",
            format="fhir",
            trigger="fhir:transaction",
            received_at=when,
            sender=sender,
            patient_key=cpr_patient_key(patient_cpr),
            resources=list(resources),
            occurred_at=when,
        )

    async def apply(self, events: Sequence[InboundEvent], *, polled: bool = False) -> None:
        """Apply ``events`` 200 to a transaction; ``polled``: as the consumer applies a
        polled batch, reading its patients and facts ahead (consumers/read_ahead.py)."""
        for chunk in range(0, len(events), 200):
            batch = events[chunk : chunk + 200]
            async with UnitOfWork(self.engine) as uow:
                if polled:
                    await self.projection.prepare(batch, uow)
                for event in batch:
                    await self.projection.handle(event, uow)
                if polled:
                    await self.projection.finish(uow)
                await uow.commit()
        self.applied += events

    async def send(
        self, sender: Sender, patient_cpr: str, resources: Sequence[FhirJson], when: datetime
    ) -> None:
        await self.apply([self.event(sender, patient_cpr, resources, when)])

    async def deliver_outbox(self) -> list[InboundEvent]:
        """Publish what the hub itself wrote to the outbox, as the relay and bus would."""
        async with UnitOfWork(self.engine) as uow:
            records = await uow.outbox.pending(10_000)
            await uow.outbox.mark_published([r.id for r in records])
            await uow.commit()
        events = [InboundEvent.from_bytes(r.payload) for r in records]
        await self.apply(events)
        return events


async def figures(engine: AsyncEngine, window: Window, scope: Scope) -> dict[str, Indicator]:
    async with UnitOfWork(engine) as uow:
        found = await compute_indicators(uow, window, scope, now=datetime(2026, 1, 15, tzinfo=UTC))
    return {f"{i.name}{':' + i.kommune if i.kommune else ''}": i for i in found}


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(select(func.count()).select_from(table).where(*where))
            ).scalar_one()
        )


async def test_the_report_figures_come_back_from_the_events(engine: AsyncEngine) -> None:
    pipeline = Pipeline(engine)
    events: list[InboundEvent] = []
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    # Workflow 1: the outreach counsellor's year.
    for n in range(275):
        person, day = cpr(n), days[n % 365]
        events.append(
            pipeline.event(
                HOSPITAL,
                person,
                [patient(person), service_request(person, codes.OUTREACH_REFERRAL, day)],
                datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
        if n < 228:
            held = contact(person, codes.OUTREACH_CONVERSATION_HELD, at_hour(day, 13))
            events.append(pipeline.event(COORDINATOR, person, [held], at_hour(day, 14)))
        elif n < 268:
            declined = outcome(person, codes.OUTREACH_CONVERSATION_DECLINED, day)
            events.append(pipeline.event(COORDINATOR, person, [declined], at_hour(day, 14)))
        elif n < 275:
            unable = outcome(person, codes.OUTREACH_CONVERSATION_UNABLE, day)
            events.append(pipeline.event(COORDINATOR, person, [unable], at_hour(day, 14)))
        if n < 114:
            referral = service_request(person, codes.ADDICTION_CENTRE_REFERRAL, day)
            events.append(pipeline.event(COORDINATOR, person, [referral], at_hour(day, 15)))
        if n < 101:
            reached = contact(
                person, codes.ADDICTION_CENTRE_CONTACT, at_hour(day + timedelta(days=7))
            )
            events.append(pipeline.event(MUNICIPALITY, person, [reached], at_hour(day, 16)))
    # Workflow 2: 40 planned admissions for withdrawal treatment, 3 or 5 days each.
    for n in range(40):
        person = cpr(1000 + n)
        start = at_hour(days[n * 9], 8)
        end = start + timedelta(days=3 if n % 2 else 5)
        planned = stay(person, start, None, status="planned", id=f"planned-{n}")
        events.append(
            pipeline.event(HOSPITAL, person, [patient(person), planned], start - timedelta(days=7))
        )
        admitted = stay(person, start, end, id=f"planned-{n}")
        events.append(pipeline.event(HOSPITAL, person, [admitted], end))
    # Workflow 7: 199 residents aged 40 with two acute admissions within 30 days; 120 of
    # them have had a rundbordsmøde 14 days after the second. One aged 75 does too.
    for n in range(199):
        person = cpr(2000 + n)
        first = at_hour(days[n], 22)
        gap = timedelta(days=5 if n < 100 else 20)
        second = first + timedelta(days=2) + gap
        events.append(pipeline.event(HOSPITAL, person, [patient(person)], first))
        for start in (first, second):
            acute = stay(person, start, start + timedelta(days=2), klass="EMER")
            events.append(pipeline.event(HOSPITAL, person, [acute], start + timedelta(days=2)))
        if n < 120:
            meeting = contact(person, codes.ROUND_TABLE_MEETING, second + timedelta(days=14))
            events.append(
                pipeline.event(MUNICIPALITY, person, [meeting], second + timedelta(days=14))
            )
    elderly = cpr(100, born="010150")
    for start in (datetime(2025, 3, 1, 9, tzinfo=UTC), datetime(2025, 3, 20, 9, tzinfo=UTC)):
        acute = stay(elderly, start, start + timedelta(days=2), klass="EMER")
        events.append(pipeline.event(HOSPITAL, elderly, [patient(elderly), acute], start))
    await pipeline.apply(events, polled=True)
    flagged = await pipeline.deliver_outbox()

    assert len(flagged) == 199  # the 75-year-old is not flagged
    assert all(e.sender.sector is Sector.HOSPITAL for e in flagged)
    figure = await figures(engine, YEAR, Scope(None))
    values = {name: indicator.value for name, indicator in figure.items()}
    assert values["outreachReferrals"] == 275
    assert values["outreachConversationsHeld"] == 228
    assert values["outreachConversationsDeclined"] == 40
    assert values["outreachConversationsUnable"] == 7
    assert values["addictionCentreReferrals"] == 114
    assert values["addictionCentreContactsAchieved"] == 101
    assert values["plannedAdmissions"] == 40
    assert values["plannedAdmissionsMeanLengthOfStay"] == 4.0
    assert values["acuteAdmissions"] == 2 * 199 + 2
    assert values["discharges"] == 40 + 2 * 199 + 2
    assert values["readmissions7d"] == 100
    assert values["readmissions30d"] == 199 + 1  # the 75-year-old's second stay too
    assert values["cohortMembersFlagged"] == 199
    assert values["cohortMembersWithRoundTable"] == 120
    assert values["meanDaysFlagToRoundTable"] == 14.0
    assert values["medianDaysFlagToRoundTable"] == 14.0
    assert figure["plannedAdmissions"].suppressed is False


def at_hour(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def test_the_cohort_flag_and_proposal_are_stored_once_and_shown_through_consent(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    person = cpr(7, born="150686")  # 40 years old in 2026
    first = datetime(2026, 9, 1, 3, tzinfo=UTC)
    await pipeline.send(HOSPITAL, person, [patient(person)], first)
    for start in (first, first + timedelta(days=25)):
        acute = stay(person, start, start + timedelta(days=1), klass="EMER")
        await pipeline.send(HOSPITAL, person, [acute], start + timedelta(days=1))
    (published,) = await pipeline.deliver_outbox()
    flag, task = published.resources
    assert flag["code"]["coding"][0]["code"] == "sammen-om-min-vej-kohorte"
    assert flag["period"]["start"] == (first + timedelta(days=25)).isoformat()
    assert task["code"]["coding"][0]["code"] == "rundbordsmoede"
    assert task["focus"] == {"reference": f"Flag/{flag['id']}"}
    assert task["restriction"]["recipient"][0]["identifier"]["value"] == HOSPITAL.org

    # A third admission and the whole stream again, the flag included: still once.
    third = stay(person, first + timedelta(days=40), None, klass="EMER")
    await pipeline.send(HOSPITAL, person, [third], first + timedelta(days=40))
    facts = await count(engine, pathway_facts)
    await pipeline.apply(list(pipeline.applied))
    assert await pipeline.deliver_outbox() == []
    assert await count(engine, outbox) == 1
    assert await count(engine, pathway_facts) == facts

    # The flag is shown through consent: to the hospital whose stays met the rule (its own
    # data controller's), not to another hospital that is its own controller, nor to the
    # municipality without the patient's consent.
    hospital = Principal("nurse", Sector.HOSPITAL, HOSPITAL.org)
    other_hospital = Principal("nurse", Sector.HOSPITAL, "100000002")
    municipality = Principal("visitator", Sector.MUNICIPALITY, "478941000016003", kommune="730")
    assert await read_cohort_members(units_over(engine), other_hospital) == []
    (member,) = await read_cohort_members(units_over(engine), hospital)
    assert member.cpr == person and "2 akutte indlæggelser inden for 30 dage" in (
        member.reason or ""
    )
    assert member.flag.stored.version_id == 1
    assert await read_cohort_members(units_over(engine), municipality) == []
    assert await read_cohort_members(units_over(engine), hospital, kommune="707") == []
    audited = await count(engine, audit_events, audit_events.c.action == "cohort.read")
    assert audited == 1  # the hospital's read, naming the flag; nothing shown, nothing logged


async def test_cohort_thresholds_come_from_the_rule(engine: AsyncEngine) -> None:
    pipeline = Pipeline(engine, CohortRule(admissions_short=3, window_short_days=30))
    person = cpr(8, born="150686")
    first = datetime(2026, 9, 1, 3, tzinfo=UTC)
    for start in (first, first + timedelta(days=25)):
        acute = stay(person, start, start + timedelta(days=1), klass="EMER")
        await pipeline.send(HOSPITAL, person, [patient(person), acute], start + timedelta(days=1))
    assert await pipeline.deliver_outbox() == []


async def test_admissions_of_two_sectors_are_not_combined_into_one_flag(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    person = cpr(9, born="150686")
    first = datetime(2026, 9, 1, 3, tzinfo=UTC)
    await pipeline.send(
        HOSPITAL, person, [stay(person, first, first + timedelta(days=1), klass="EMER")], first
    )
    later = first + timedelta(days=10)
    await pipeline.send(
        PSYCHIATRY, person, [stay(person, later, later + timedelta(days=1), klass="EMER")], later
    )
    assert await pipeline.deliver_outbox() == []


async def test_a_cancelled_or_corrected_resource_stops_counting(engine: AsyncEngine) -> None:
    pipeline = Pipeline(engine)
    person = cpr(10)
    day = date(2025, 5, 5)
    referral = service_request(person, codes.OUTREACH_REFERRAL, day)
    visit = contact(person, codes.OUTREACH_CONVERSATION_HELD, at_hour(day))
    await pipeline.send(HOSPITAL, person, [patient(person), referral], at_hour(day))
    await pipeline.send(COORDINATOR, person, [visit], at_hour(day, 12))
    own = await figures(engine, YEAR, Scope(HOSPITAL.controller))
    assert own["outreachReferrals"].value == 1
    await pipeline.send(
        HOSPITAL, person, [{**referral, "status": "entered-in-error"}], at_hour(day, 13)
    )
    moved = {**visit, "period": {"start": at(date(2026, 2, 1))}}
    await pipeline.send(COORDINATOR, person, [moved], at_hour(day, 14))
    assert (await figures(engine, YEAR, Scope(HOSPITAL.controller)))["outreachReferrals"].value == 0
    assert (await figures(engine, YEAR, Scope(COORDINATOR.controller)))[
        "outreachConversationsHeld"
    ].value == 0


async def test_the_aggregate_needs_the_role_and_suppresses_small_counts(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    for n in range(3):
        person = cpr(20 + n)
        visit = contact(person, codes.RECEPTION_VISIT, at_hour(date(2025, 6, 1 + n)), klass="HH")
        await pipeline.send(
            MUNICIPALITY, person, [patient(person, "730"), visit], at_hour(date(2025, 6, 2))
        )
    for n in range(6):
        person = cpr(30 + n)
        referral = service_request(person, codes.OUTREACH_REFERRAL, date(2025, 6, 1 + n))
        await pipeline.send(
            HOSPITAL, person, [patient(person, "707"), referral], at_hour(date(2025, 6, 9))
        )

    hospital = Principal("nurse", Sector.HOSPITAL, "100000001")
    aggregate = Principal(
        "analyst", Sector.HOSPITAL, "100000001", roles=frozenset({"indicators:aggregate"})
    )
    scope, own = await read_indicators(units_over(engine), hospital, YEAR.first, YEAR.last)
    shown = {i.name: i for i in own}
    assert scope.controller == "sor:100000001" == HOSPITAL.controller
    assert shown["outreachReferrals"].value == 6
    # The municipality's visits are not the hospital's to count.
    assert shown["virtualDischargeMeetingsHeld"].value == 0
    assert not any(i.suppressed for i in own)

    scope, every = await read_indicators(units_over(engine), aggregate, YEAR.first, YEAR.last)
    shown = {i.name: i for i in every}
    assert scope.controller is None and scope.name == "all-sectors"
    assert shown["outreachReferrals"].value == 6
    assert shown["homeCareGranted"].suppressed and shown["homeCareGranted"].value is None
    by_kommune = await figures(engine, YEAR, Scope(None, kommune="707"))
    assert by_kommune["outreachReferrals"].value == 6
    assert by_kommune["outreachConversationsHeld"].suppressed

    municipality = Principal("visitator", Sector.MUNICIPALITY, "478941000016003", kommune="730")
    _, theirs = await read_indicators(
        units_over(engine), municipality, YEAR.first, YEAR.last, kommune="730"
    )
    shown = {i.name: i for i in theirs}
    assert shown["outreachReferrals"].value == 0  # the hospital's referrals are not theirs
    audited = await count(engine, audit_events, audit_events.c.action == "indicators.read")
    assert audited == 3


RANDERS = "kommune:730"
KOEBENHAVN = "kommune:101"
RANDERS_CARE = Sender(Sector.MUNICIPALITY, "730-hjemmepleje", "omsorg", controller=RANDERS)
RANDERS_AIDS = Sender(Sector.MUNICIPALITY, "730-hjaelpemidler", "hjm", controller=RANDERS)
KOEBENHAVN_CARE = Sender(Sector.MUNICIPALITY, "101-hjemmepleje", "omsorg", controller=KOEBENHAVN)


async def grant(pipeline: Pipeline, sender: Sender, serial: int, kommune: str) -> None:
    """A home-care grant by ``sender`` for a patient the hospital says lives in ``kommune``."""
    person = cpr(serial)
    day = date(2025, 3, 1) + timedelta(days=serial % 200)
    await pipeline.send(HOSPITAL, person, [patient(person, kommune)], at_hour(day, 8))
    granted = service_request(person, codes.HOME_CARE_GRANTED_SEL83, day)
    await pipeline.send(sender, person, [granted], at_hour(day, 12))


async def test_a_kommune_counts_its_own_facts_never_another_kommunes(
    engine: AsyncEngine,
) -> None:
    pipeline = Pipeline(engine)
    await grant(pipeline, RANDERS_CARE, 300, "730")
    await grant(pipeline, RANDERS_AIDS, 301, "730")  # another unit of the same kommune
    for serial in (310, 311, 312):
        await grant(pipeline, KOEBENHAVN_CARE, serial, "101")
    await grant(pipeline, KOEBENHAVN_CARE, 313, "730")  # a Randers resident København helped

    randers = Principal("visitator", Sector.MUNICIPALITY, "730-sundhed", kommune="730")
    koebenhavn = Principal("visitator", Sector.MUNICIPALITY, "101-sundhed", kommune="101")

    async def granted(viewer: Principal, kommune: str | None = None) -> Indicator:
        scope, found = await read_indicators(
            units_over(engine), viewer, YEAR.first, YEAR.last, kommune=kommune
        )
        assert scope.controller == viewer.controller
        (figure,) = [i for i in found if i.name == "homeCareGranted"]
        assert not figure.suppressed  # a controller's own figures, however small
        return figure

    # København's own figures hold its four grants; Randers' two are not København's.
    assert (await granted(koebenhavn)).value == 4
    assert (await granted(randers)).value == 2
    # Narrowed by the residence the hospital (the authoritative source) gave: a kommune's
    # own facts about its own residents, and about another kommune's.
    assert (await granted(koebenhavn, "101")).value == 3
    assert (await granted(koebenhavn, "730")).value == 1
    assert (await granted(randers, "730")).value == 2
    assert (await granted(randers, "101")).value == 0
    # The all-sector aggregate counts every kommune's and still suppresses small cells.
    assert (await figures(engine, YEAR, Scope(None)))["homeCareGranted"].value == 6
    assert (await figures(engine, YEAR, Scope(None, "730")))["homeCareGranted"].suppressed


REGION = "sor:6610000000001"  # a region, data controller of its hospitals
OTHER_REGION = "sor:6620000000001"
AARHUS = Sender(Sector.HOSPITAL, "100000011", "epj-auh", controller=REGION)
RANDERS_HOSPITAL = Sender(Sector.HOSPITAL, "100000012", "epj-rrh", controller=REGION)
ODENSE = Sender(Sector.HOSPITAL, "100000021", "epj-ouh", controller=OTHER_REGION)


async def test_a_regions_hospitals_count_each_others_facts_exactly(engine: AsyncEngine) -> None:
    pipeline = Pipeline(engine)
    stays = ((AARHUS, 2), (RANDERS_HOSPITAL, 1), (ODENSE, 3))
    serial = itertools.count(400)
    for sender, how_many in stays:
        for _ in range(how_many):
            person = cpr(next(serial))
            start = datetime(2025, 4, 1, 8, tzinfo=UTC)
            the_stay = stay(person, start, start + timedelta(days=2))
            await pipeline.send(sender, person, [patient(person), the_stay], start)

    def in_region(org: str, controller: str | None = REGION) -> Principal:
        return Principal("nurse", Sector.HOSPITAL, org, controller=controller or "")

    for viewer in (in_region(AARHUS.org), in_region(RANDERS_HOSPITAL.org)):
        scope, own = await read_indicators(units_over(engine), viewer, YEAR.first, YEAR.last)
        shown = {i.name: i for i in own}
        assert scope.name == f"own-controller:{REGION}"
        assert shown["discharges"].value == 3  # both hospitals' stays, not Odense's
        assert shown["meanLengthOfStay"].value == 2.0
        assert not any(i.suppressed for i in own)
    _, odense = await read_indicators(
        units_over(engine), in_region(ODENSE.org, OTHER_REGION), YEAR.first, YEAR.last
    )
    assert {i.name: i for i in odense}["discharges"].value == 3
    # A hospital whose token names no controller is its own (nothing else known): the
    # region's facts are not its own.
    _, alone = await read_indicators(
        units_over(engine), in_region(AARHUS.org, None), YEAR.first, YEAR.last
    )
    assert {i.name: i for i in alone}["discharges"].value == 0
    aggregate = await figures(engine, YEAR, Scope(None))
    assert aggregate["discharges"].value == 6
    assert aggregate["acuteAdmissions"].suppressed


async def test_the_residence_moves_with_the_patient(engine: AsyncEngine) -> None:
    pipeline = Pipeline(engine)
    person = cpr(40)
    own = Scope(HOSPITAL.controller, "730")
    referral = service_request(person, codes.OUTREACH_REFERRAL, date(2025, 2, 2))
    await pipeline.send(HOSPITAL, person, [referral], at_hour(date(2025, 2, 2)))
    assert (await figures(engine, YEAR, own))["outreachReferrals"].value == 0
    await pipeline.send(HOSPITAL, person, [patient(person, "730")], at_hour(date(2025, 2, 3)))
    assert (await figures(engine, YEAR, own))["outreachReferrals"].value == 1
    # A residence a municipality reported is no authoritative source: it moves nothing.
    await pipeline.send(MUNICIPALITY, person, [patient(person, "707")], at_hour(date(2025, 2, 4)))
    assert (await figures(engine, YEAR, own))["outreachReferrals"].value == 1
    elsewhere = Scope(HOSPITAL.controller, "707")
    assert (await figures(engine, YEAR, elsewhere))["outreachReferrals"].value == 0
    assert (await figures(engine, YEAR, Scope(None, "707")))["outreachReferrals"].suppressed
    # The psychiatry's address (authoritative) moves the hospital's facts with the patient.
    await pipeline.send(PSYCHIATRY, person, [patient(person, "707")], at_hour(date(2025, 2, 5)))
    assert (await figures(engine, YEAR, elsewhere))["outreachReferrals"].value == 1
    assert (await figures(engine, YEAR, own))["outreachReferrals"].value == 0


async def test_kom_godt_hjem_faerdigbehandlet_and_round_table_alerts(engine: AsyncEngine) -> None:
    pipeline = Pipeline(engine)
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    visited, forgotten = cpr(50), cpr(51)
    for person in (visited, forgotten):
        admitted = now - timedelta(days=6)
        discharged = now - timedelta(days=2)
        meeting = contact(
            person, codes.VIRTUAL_DISCHARGE_MEETING, discharged - timedelta(hours=5), "VR"
        )
        the_stay = stay(person, admitted, discharged)
        await pipeline.send(HOSPITAL, person, [patient(person), the_stay, meeting], discharged)
    visit = contact(visited, codes.RECEPTION_VISIT, now - timedelta(days=1, hours=12), "HH")
    await pipeline.send(MUNICIPALITY, visited, [visit], now - timedelta(days=1))

    waiting = cpr(52)
    flag = {
        "resourceType": "Flag",
        "id": "flag-ready",
        "status": "active",
        "code": {"coding": [codes.READY_FOR_DISCHARGE.coding()]},
        "subject": subject(waiting),
        "period": {"start": at(now - timedelta(days=5))},
    }
    await pipeline.send(PSYCHIATRY, waiting, [patient(waiting), flag], now - timedelta(days=5))

    planned = cpr(53)
    plan = {
        "resourceType": "CarePlan",
        "id": "plan-1",
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [{"system": codes.PATHWAY_EVENTS, "code": "rundbordsmoede"}]}],
        "subject": subject(planned),
    }
    actions = [
        {
            "resourceType": "Task",
            "id": f"action-{status}",
            "basedOn": [{"reference": "CarePlan/plan-1"}],
            "status": status,
            "intent": "plan",
            "for": subject(planned),
            "restriction": {"period": {"end": due}},
        }
        for status, due in (
            ("in-progress", "2026-11-10"),
            ("completed", "2026-11-10"),
            ("requested", "2026-12-01"),
        )
    ]
    await pipeline.send(
        MUNICIPALITY, planned, [patient(planned), plan, *actions], now - timedelta(days=20)
    )

    rules = AlertRules(ready_for_discharge_days=3)
    async with UnitOfWork(engine) as uow:
        raised = await pending_alerts(uow, rules, now)
    assert sorted((a.kind, a.patient_key) for a in raised) == sorted(
        [
            (RECEPTION_VISIT_MISSING, cpr_patient_key(forgotten)),
            (READY_FOR_DISCHARGE_WAITING, cpr_patient_key(waiting)),
            (ROUND_TABLE_ACTION_OVERDUE, cpr_patient_key(planned)),
        ]
    )
    hospital = Principal("nurse", Sector.HOSPITAL, "100000001")
    municipality = Principal("visitator", Sector.MUNICIPALITY, "478941000016003", kommune="730")
    psychiatry = Principal("psyk", Sector.PSYCHIATRY, "566281000016007")
    assert [
        s.alert.kind for s in await read_alerts(units_over(engine), hospital, rules, now=now)
    ] == [RECEPTION_VISIT_MISSING]
    assert [
        s.alert.kind for s in await read_alerts(units_over(engine), psychiatry, rules, now=now)
    ] == [READY_FOR_DISCHARGE_WAITING]
    shown = await read_alerts(units_over(engine), municipality, rules, now=now)
    assert [(s.alert.kind, s.cpr) for s in shown] == [(ROUND_TABLE_ACTION_OVERDUE, planned)]
    assert shown[0].alert.evidence == ("Task/action-in-progress", "CarePlan/plan-1")
    assert await count(engine, audit_events, audit_events.c.action == "alerts.read") == 3
