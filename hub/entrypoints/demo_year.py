"""A year of events for one municipality and one hospital, shaped by the project reports.

``hub demo --year`` (and the test that holds the figures) sends a year of messages
through the public intake (``hub.services.intake``, the path HTTP and the CLI use):

* **Fremskudt behandler** (domain workflow 1): 275 patients admitted acutely to the
  hospital (HL7 v2 ADT A03) are referred to the outreach counsellor (a FHIR
  ServiceRequest with the hospital's diagnosis of harmful substance use); the
  counsellor holds 228 conversations (Encounters), 40 decline and 7 are unable (Tasks);
  120 are referred on to the municipal addiction centre, and the centre confirms
  contact with 114 of them — about half.
* **Planned admission for withdrawal** (workflow 2): 40 admissions, each pre-admitted
  (A05), admitted (A01) and discharged (A03), with a mean stay of exactly 4 days.
* Some of those patients come back acutely within 30 days: readmissions, and cohort
  members by the 2-admissions-within-30-days rule.

Everything is drawn from a ``random.Random`` with a fixed seed and dated relative to
the hub's clock: the year is the 365 days before today. Message ids are fixed, so
loading the year twice on the same day changes nothing. CPR numbers and organisation
codes are fictitious. See docs/year-of-events.md.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import orjson

from hub import clock
from hub.bootstrap import Hub, build_hub
from hub.config import Settings
from hub.domain import pathway_codes as codes
from hub.domain.identifiers import CPR_SYSTEM
from hub.domain.indicators import Indicator, Scope, Window
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.entrypoints.demo import DEMO_HOSPITAL
from hub.services.indicators import compute_indicators
from hub.services.intake import IntakeService
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

YEAR_SEED = 2015
"""The seed of the year's random choices: the same year every time."""

YEAR_KOMMUNE = "730"
"""Randers, the residence of every patient of the year."""

COUNSELLOR = Sender(Sector.COORDINATOR, "100000730", "fremskudt-behandler")
"""The outreach addiction counsellor (fremskudt behandler) at the hospital (fictitious)."""

ADDICTION_CENTRE = Sender(Sector.MUNICIPALITY, "478941000016003", "rusmiddelcenter-randers")
"""Randers Kommune's addiction centre (fictitious organisation code)."""

IDENTIFIED, HELD, DECLINED, UNABLE = 275, 228, 40, 7
REFERRED_TO_CENTRE, REACHED_CENTRE = 120, 114
PLANNED, MEAN_PLANNED_STAY_DAYS = 40, 4
READMITTED_OUTREACH, READMITTED_PLANNED = 30, 6

_V3 = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_ICD10 = "http://hl7.org/fhir/sid/icd-10"
_DANISH = ZoneInfo("Europe/Copenhagen")


@dataclass(frozen=True)
class YearMessage:
    """One message of the year, as its sender would post it."""

    format: str  # "hl7v2" or "fhir"
    raw: bytes
    sender: Sender
    message_id: str  # MSH-10, or the FHIR resource's id
    cpr: str  # whose message it is


def year_days(now: datetime) -> tuple[date, date]:
    """The year's first and last day: the 365 days before ``now``'s day (Danish time)."""
    last = now.astimezone(_DANISH).date() - timedelta(days=1)
    return last - timedelta(days=364), last


def year_messages(now: datetime, seed: int = YEAR_SEED) -> list[YearMessage]:
    """The year's messages in the order they were sent."""
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by design, no secret
    first, _ = year_days(now)
    timed: list[tuple[datetime, int, YearMessage]] = []

    def add(at: datetime, message: YearMessage) -> None:
        timed.append((at, len(timed), message))

    weekdays = [d for d in (first + timedelta(days=i) for i in range(300)) if d.weekday() < 5]
    outcomes = ["held"] * HELD + ["declined"] * DECLINED + ["unable"] * UNABLE
    rng.shuffle(outcomes)
    held_numbers = [n for n, outcome in enumerate(outcomes) if outcome == "held"]
    referred = set(rng.sample(held_numbers, REFERRED_TO_CENTRE))
    reached = set(rng.sample(sorted(referred), REACHED_CENTRE))
    readmitted = set(rng.sample(range(IDENTIFIED), READMITTED_OUTREACH))
    for n, outcome in enumerate(outcomes):
        person = _cpr(rng, n)
        admitted = _at(rng.choice(weekdays), rng.randint(0, 23), rng.randint(0, 59))
        discharged = admitted + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
        visit = f"AAR-A-{n:04d}"
        add(discharged, _adt("A03", person, visit, "E", admitted, discharged))
        seen = _at(admitted.date() + timedelta(days=1), 10)
        add(seen - timedelta(hours=1), _referral(person, n, seen - timedelta(hours=1)))
        if outcome == "held":
            add(seen, _conversation(person, n, seen))
        else:
            add(seen, _outcome(person, n, seen, outcome))
        if n in referred:
            add(seen + timedelta(hours=1), _centre_referral(person, n, seen))
        if n in reached:
            contact = _at(seen.date() + timedelta(days=rng.randint(2, 14)), 9)
            add(contact, _centre_contact(person, n, contact))
        if n in readmitted:
            again = discharged + timedelta(days=rng.randint(3, 25))
            home = again + timedelta(days=rng.randint(1, 4))
            add(home, _adt("A03", person, f"{visit}-2", "E", again, home))
    for n, stay_days in enumerate(_planned_stays(rng)):
        person = _cpr(rng, 1000 + n)
        admitted = _at(weekdays[5 + n * 5], 8)
        discharged = _later(admitted, days=stay_days)  # whole days, across a DST change too
        visit = f"AAR-P-{n:04d}"
        add(admitted - timedelta(days=14), _adt("A05", person, visit, "P", admitted, None))
        add(admitted, _adt("A01", person, visit, "I", admitted, None))
        add(discharged, _adt("A03", person, visit, "I", admitted, discharged))
        if n < READMITTED_PLANNED:
            again = discharged + timedelta(days=rng.randint(2, 20))
            home = again + timedelta(days=2)
            add(home, _adt("A03", person, f"{visit}-2", "E", again, home))
    return [message for _, _, message in sorted(timed, key=lambda t: (t[0], t[1]))]


async def load_year(
    intake: IntakeService, now: datetime | None = None, *, parallel: int = 16
) -> int:
    """Send the year through intake, unless it was loaded before; how many were sent.

    A load cut short is completed by loading again: intake knows the messages it has.
    Each patient's messages are sent in order; ``parallel`` patients at a time, as
    several senders would (intake writes what arrives together in one transaction).
    """
    messages = year_messages(now or clock.now())
    last = next(m for m in reversed(messages) if m.format == "hl7v2")
    if await intake.was_accepted(last.format, last.sender, last.message_id):
        return 0
    by_patient: dict[str, list[YearMessage]] = {}
    for message in messages:
        by_patient.setdefault(message.cpr, []).append(message)
    queue = list(by_patient.values())

    async def sender() -> None:
        while queue:
            for message in queue.pop(0):
                await intake.accept(message.format, message.raw, message.sender)

    await asyncio.gather(*(sender() for _ in range(parallel)))
    return len(messages)


async def apply_pending(hub: Hub) -> None:
    """Relay and apply everything pending, in this process, until nothing is left (the
    cohort rule's own flags go round once more)."""
    while True:
        moved = await hub.relay.drain()
        for runner in hub.consumers:
            subscription = hub.bus.subscribe(runner.handler.name, runner.handler.topics)
            await subscription.start()
            try:
                moved += await runner.drain(subscription, max_wait=0.05)
            finally:
                await subscription.stop()
        if not moved:
            return


async def year_figures(
    units: UnitOfWorkFactory[UnitOfWork], now: datetime | None = None
) -> list[Indicator]:
    """The indicators of the year over every sector's facts."""
    first, last = year_days(now or clock.now())
    async with units() as uow:
        return await compute_indicators(uow, Window(first, last), Scope(None), now=now)


async def run_year_demo(settings: Settings) -> int:
    """``hub demo --year``: load the year into the configured hub and print its figures."""
    hub = build_hub(settings)
    await hub.open()
    try:
        sent = await load_year(hub.intake)
        if settings.kafka_bootstrap:
            print(f"{sent} messages sent; the hub's workers apply them from the bus.")
            return 0
        await apply_pending(hub)
        first, last = year_days(clock.now())
        print(f"{sent or 'No'} messages sent (the year {first}–{last}).")
        for figure in await year_figures(hub.units):
            value = "–" if figure.value is None else f"{figure.value:g}"
            print(f"  {figure.name:<52} {value:>8} {figure.unit}")
        return 0
    finally:
        await hub.close()


def _planned_stays(rng: random.Random) -> list[int]:
    """40 lengths of stay in whole days with a mean of exactly 4 (pairs around it)."""
    spreads = [rng.choice((0, 1, 1, 2)) for _ in range(PLANNED // 2)]
    lengths = [MEAN_PLANNED_STAY_DAYS + s for s in spreads]
    lengths += [MEAN_PLANNED_STAY_DAYS - s for s in spreads]
    rng.shuffle(lengths)
    return lengths


def _cpr(rng: random.Random, serial: int) -> str:
    """A fictitious CPR number of someone born 1956–2000 (century digit 0–3: 1900s)."""
    born = date(1956, 1, 1) + timedelta(days=rng.randint(0, 42 * 365))
    return f"{born:%d%m%y}{serial % 4000:04d}"


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), _DANISH)


def _later(moment: datetime, **elapsed: float) -> datetime:
    """``moment`` plus elapsed time (not wall-clock time: a DST change does not count)."""
    return (moment.astimezone(UTC) + timedelta(**elapsed)).astimezone(_DANISH)


def _hl7_time(moment: datetime) -> str:
    return moment.astimezone(_DANISH).strftime("%Y%m%d%H%M%S")


def _adt(
    trigger: str,
    cpr: str,
    visit: str,
    patient_class: str,
    admitted: datetime,
    discharged: datetime | None,
) -> YearMessage:
    recorded = discharged or (admitted if trigger != "A05" else admitted - timedelta(days=14))
    control_id = f"{visit}-{trigger}"
    pv1 = [""] * 46
    pv1[0], pv1[1], pv1[2], pv1[3] = "PV1", "1", patient_class, "MED3^^^RHR"
    pv1[19], pv1[44] = visit, _hl7_time(admitted)
    pv1[45] = _hl7_time(discharged) if discharged else ""
    born = f"{19}{cpr[4:6]}{cpr[2:4]}{cpr[0:2]}"
    segments = [
        f"MSH|^~\\&|ADT|RHR|BROBYGGER|HUB|{_hl7_time(recorded)}||ADT^{trigger}^ADT_A01|"
        f"{control_id}|P|2.5|||AL|NE||8859/1",
        f"EVN|{trigger}|{_hl7_time(recorded)}",
        f"PID|1||{cpr}^^^CPR^NNDNK||Borger^{visit}||{born}|U||||{YEAR_KOMMUNE}",
        "|".join(pv1),
    ]
    raw = ("\r".join(segments) + "\r").encode("iso-8859-1")
    return YearMessage("hl7v2", raw, DEMO_HOSPITAL, control_id, cpr)


def _subject(cpr: str) -> dict[str, object]:
    return {"identifier": {"system": CPR_SYSTEM, "value": cpr}}


def _fhir(cpr: str, resource: dict[str, object], sender: Sender) -> YearMessage:
    return YearMessage("fhir", orjson.dumps(resource), sender, str(resource["id"]), cpr)


def _referral(cpr: str, n: int, at: datetime) -> YearMessage:
    return _fhir(
        cpr,
        {
            "resourceType": "ServiceRequest",
            "id": f"aar-fb-henvisning-{n:04d}",
            "status": "completed",
            "intent": "order",
            "category": [{"coding": [codes.OUTREACH_REFERRAL.coding()]}],
            "reasonCode": [
                {
                    "coding": [{"system": _ICD10, "code": "F10.1"}],
                    "text": "Skadeligt forbrug af alkohol",
                }
            ],
            "subject": _subject(cpr),
            "authoredOn": at.isoformat(),
        },
        DEMO_HOSPITAL,
    )


def _conversation(cpr: str, n: int, at: datetime) -> YearMessage:
    return _ambulant_encounter(
        cpr,
        f"aar-fb-samtale-{n:04d}",
        codes.OUTREACH_CONVERSATION_HELD,
        at,
        timedelta(minutes=45),
        COUNSELLOR,
    )


def _outcome(cpr: str, n: int, at: datetime, outcome: str) -> YearMessage:
    code = (
        codes.OUTREACH_CONVERSATION_DECLINED
        if outcome == "declined"
        else codes.OUTREACH_CONVERSATION_UNABLE
    )
    return _fhir(
        cpr,
        {
            "resourceType": "Task",
            "id": f"aar-fb-udfald-{n:04d}",
            "status": "completed",
            "intent": "order",
            "code": {"coding": [code.coding()]},
            "for": _subject(cpr),
            "authoredOn": at.isoformat(),
            "executionPeriod": {"end": at.isoformat()},
        },
        COUNSELLOR,
    )


def _centre_referral(cpr: str, n: int, at: datetime) -> YearMessage:
    return _fhir(
        cpr,
        {
            "resourceType": "ServiceRequest",
            "id": f"aar-rc-henvisning-{n:04d}",
            "status": "active",
            "intent": "order",
            "category": [{"coding": [codes.ADDICTION_CENTRE_REFERRAL.coding()]}],
            "subject": _subject(cpr),
            "authoredOn": at.isoformat(),
            "performer": [{"display": "Rusmiddelcenter Randers"}],
        },
        COUNSELLOR,
    )


def _centre_contact(cpr: str, n: int, at: datetime) -> YearMessage:
    return _ambulant_encounter(
        cpr,
        f"aar-rc-kontakt-{n:04d}",
        codes.ADDICTION_CENTRE_CONTACT,
        at,
        timedelta(hours=1),
        ADDICTION_CENTRE,
    )


def _ambulant_encounter(
    cpr: str,
    the_id: str,
    code: codes.PathwayCode,
    at: datetime,
    length: timedelta,
    sender: Sender,
) -> YearMessage:
    """A finished outpatient Encounter of type ``code``, from ``at`` for ``length``."""
    return _fhir(
        cpr,
        {
            "resourceType": "Encounter",
            "id": the_id,
            "status": "finished",
            "class": {"system": _V3, "code": "AMB"},
            "type": [{"coding": [code.coding()]}],
            "subject": _subject(cpr),
            "period": {"start": at.isoformat(), "end": (at + length).isoformat()},
        },
        sender,
    )
