"""A small demo scenario from the domain: a citizen with harmful substance use who is
admitted acutely twice within a month (the second time a readmission), and a frail
elderly patient admitted and still in hospital.

Messages go through the normal intake path as a hospital's ADT feed would send them.
Their control ids are fixed, so loading the demo again changes nothing. CPR numbers
and organisation codes are fictitious.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hub import clock
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.directory import LoadReport, load_directory_unless_loaded
from hub.services.intake import Accepted, IntakeService
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

DEMO_HOSPITAL = Sender(
    Sector.HOSPITAL, org="100000001", sub="randers-adt-feed", aliases=frozenset({"hl7:RHR"})
)
"""Akutmodtagelsen, Regionshospitalet Randers (a demo organisation code, not a real SOR code)."""

DEMO_CPR = "0101709995"
"""The citizen with harmful substance use."""


@dataclass(frozen=True)
class DemoStay:
    control_id: str
    trigger: str
    cpr: str
    name: str
    birth_date: str
    gender: str
    visit: str
    patient_class: str
    admitted_days_ago: float
    discharged_days_ago: float | None = None


DEMO_STAYS = (
    DemoStay("DEMO-0001", "A01", DEMO_CPR, "Nielsen^Bo", "19700101", "M", "V1001", "E", 34.0),
    DemoStay("DEMO-0002", "A03", DEMO_CPR, "Nielsen^Bo", "19700101", "M", "V1001", "E", 34, 31),
    DemoStay("DEMO-0003", "A01", DEMO_CPR, "Nielsen^Bo", "19700101", "M", "V1002", "E", 12.0),
    DemoStay("DEMO-0004", "A03", DEMO_CPR, "Nielsen^Bo", "19700101", "M", "V1002", "E", 12, 8.5),
    DemoStay("DEMO-0005", "A01", "1203389992", "Hansen^Karen", "19380312", "F", "V1003", "I", 2),
)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _pv1(stay: DemoStay, admitted: datetime, discharged: datetime | None) -> str:
    fields = [""] * 46
    fields[0], fields[1], fields[2], fields[3] = "PV1", "1", stay.patient_class, "AKUT^^^RHR"
    fields[19] = stay.visit
    fields[44] = _ts(admitted)
    fields[45] = _ts(discharged) if discharged else ""
    return "|".join(fields)


def demo_message(stay: DemoStay, now: datetime) -> bytes:
    """An HL7 v2.5 ADT message for ``stay``, timed relative to ``now``."""
    admitted = now - timedelta(days=stay.admitted_days_ago)
    discharged = (
        now - timedelta(days=stay.discharged_days_ago)
        if stay.discharged_days_ago is not None
        else None
    )
    sent = discharged or admitted
    segments = [
        f"MSH|^~\\&|ADT|RHR|BROBYGGER|HUB|{_ts(sent)}||ADT^{stay.trigger}^ADT_A01|"
        f"{stay.control_id}|P|2.5|||AL|NE||8859/1",
        f"EVN|{stay.trigger}|{_ts(sent)}",
        f"PID|1||{stay.cpr}^^^CPR^NNDNK||{stay.name}||{stay.birth_date}|{stay.gender}",
        _pv1(stay, admitted, discharged),
    ]
    return ("\r".join(segments) + "\r").encode("iso-8859-1")


async def load_demo(intake: IntakeService, timezone: str) -> list[Accepted]:
    """Load the demo, unless it was loaded before (its times are relative to the day it
    was first loaded; loading it again on another day would re-use its message ids)."""
    now = clock.now().astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    accepted = []
    for stay in DEMO_STAYS:
        if await intake.was_accepted("hl7v2", DEMO_HOSPITAL, stay.control_id):
            continue
        accepted.append(await intake.accept("hl7v2", demo_message(stay, now), DEMO_HOSPITAL))
    return accepted


DEMO_DIRECTORY = Path(__file__).parent / "demo_data" / "SorEntity_sample.csv"
"""The demo's organisation directory, in the SOR register's own CSV format (fictitious)."""

DEMO_TARIFFS = Path(__file__).parent / "demo_data" / "tariffs_sample.csv"
"""The demo's cost tariffs (HUB_COST_TARIFFS's format; sample amounts, not official ones)."""


async def load_demo_directory(units: UnitOfWorkFactory[UnitOfWork]) -> LoadReport | None:
    """Load the demo's directory unless one was loaded before (never over a real one)."""
    return await load_directory_unless_loaded(units, DEMO_DIRECTORY)
