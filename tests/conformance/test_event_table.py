"""The table of which messages tell which pathway events (docs/events.md), against the corpus.

Every message of the published corpus and of ``tests/samples/`` that the hub accepts,
through its real adapter, stay by stay in the order the messages happened at their
source: the events each one tells must be the table's, in the column that applies —
the first news of a stay, or a change to it (a message that leaves the stay's status
and leave periods as they were tells nothing). Then the same messages as one stream
through intake into a store with the real pathway event observer: no event of a kind
the table does not give its message is logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.pathway_events import PathwayEventDeriver
from hub.bootstrap import units_over
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.pathway_events import PathwayEventKind, derive_events, is_inpatient_stay
from hub.domain.translation import FhirJson, Translation
from hub.services.intake import IntakeService, Rejected
from hub.store.tables import pathway_events
from tests.conformance.corpus import CorpusFile, corpus_files, sender_for
from tests.conformance.test_corpus import ADAPTERS
from tests.conftest import REPO
from tests.samples import SAMPLES
from tests.support.projection import project_everything

pytestmark = pytest.mark.corpus

EVENTS_PAGE = REPO / "docs" / "events.md"
SECTION = "## Which messages tell which events"
FORMATS = ("hl7v2", "medcom", "oioxml")
NAMES = {kind.name: kind.value for kind in PathwayEventKind}
SECTOR = "hospital"  # every sender of the corpus and the samples is a hospital


@dataclass(frozen=True)
class Row:
    changes: tuple[str, ...]  # kinds when the message changes the stay
    first: tuple[str, ...]  # kinds when it is the first news of the stay


def table() -> dict[str, Row]:
    """The table of docs/events.md: each message code to the kinds it tells."""
    text = EVENTS_PAGE.read_text()
    section = text[text.index(SECTION) :]
    rows: dict[str, Row] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not line.startswith("| ") or cells[0] == "source message":
            continue
        codes, changes, first = (re.findall(r"`([^`]+)`", cell) for cell in cells)
        for code in codes:
            assert code not in rows, f"{code} is in two rows of the table"
            rows[code] = Row(tuple(NAMES[k] for k in changes), tuple(NAMES[k] for k in first))
    return rows


TABLE = table()


@dataclass(frozen=True)
class Message:
    name: str
    translation: Translation

    @property
    def code(self) -> str:
        """The message as the table names it (``A01``, ``STIN``, ``DIS17 doed`` …)."""
        code = self.translation.event.removeprefix("ADT^")
        if self.translation.facts.get("episode_of_care_status") == "doed":
            code += " doed"
        return code

    def resource(self, resource_type: str) -> FhirJson | None:
        found = [r for r in self.translation.resources if r["resourceType"] == resource_type]
        assert len(found) <= 1, self.name
        return found[0] if found else None


def files() -> list[CorpusFile]:
    corpus = [f for f in corpus_files() if f.format in FORMATS and f.refusal is None]
    samples = [
        CorpusFile(path, folder)
        for folder in FORMATS
        for path in sorted((SAMPLES / folder).iterdir())
        if path.suffix in (".hl7", ".json", ".xml")
    ]
    return corpus + samples


def messages() -> list[Message]:
    """Every accepted message, in the order it happened at its source."""
    found = [
        Message(str(file), translation)
        for file in files()
        for translation in ADAPTERS[file.format].translate(file.path.read_bytes(), sender_for([]))
    ]
    earliest = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda m: (m.translation.occurred_at or earliest, _progress(m)))


# How far along its course a message takes the stay: of two messages stamped with the
# same source time, the hub keeps the one that got further (hub.domain.timeline), as if
# it had come last.
_PROGRESS = {"planned": 0, "in-progress": 2, "onleave": 2, "finished": 3, "cancelled": 3}


def _progress(message: Message) -> int:
    encounter = message.resource("Encounter") or {}
    return _PROGRESS.get(str(encounter.get("status")), 4)


def kinds(previous: FhirJson | None, current: FhirJson | None) -> list[str]:
    if current is None:
        return []
    return [e.kind.value for e in derive_events(previous, current, sector=SECTOR)]


def _unchanged(previous: FhirJson, current: FhirJson) -> bool:
    return previous.get("status") == current.get("status") and previous.get(
        "statusHistory"
    ) == current.get("statusHistory")


def expected(message: Message, stay: FhirJson | None, encounter: FhirJson | None) -> list[str]:
    row = TABLE.get(message.code)
    assert row is not None, f"{message.name}: {message.code} has no row in {EVENTS_PAGE.name}"
    if encounter is None or not is_inpatient_stay(encounter, SECTOR):
        # No stay: only the patient's death can be news.
        return [k for k in row.changes if k == PathwayEventKind.DEATH.value]
    if stay is None or not is_inpatient_stay(stay, SECTOR):
        return list(row.first)
    if _unchanged(stay, encounter):
        return []
    return list(row.changes)


def test_the_table_names_only_kinds_the_hub_has() -> None:
    assert {"A01", "STIN", "SLHJ", "MORS", "AN_STIN", "DIS17"} <= TABLE.keys()
    assert TABLE["SLHJ"] == Row(("discharge",), ("discharge",))
    assert TABLE["STOR"].first == ("admission", "leave-start")


def walk() -> Iterator[tuple[Message, list[str], list[str]]]:
    """Each message with the kinds it tells and the kinds the table gives it."""
    stays: dict[str, FhirJson] = {}
    patients: dict[str, FhirJson] = {}
    for message in messages():
        encounter, patient = message.resource("Encounter"), message.resource("Patient")
        key = str(encounter["id"]) if encounter else message.translation.patient_key
        stay = stays.get(key)
        told = kinds(stay, encounter) + kinds(patients.get(key), patient)
        yield message, sorted(told), sorted(expected(message, stay, encounter))
        if encounter is not None:
            stays[key] = {**(stay or {}), **encounter}  # a partial notice adds to the stay
        if patient is not None:
            patients[key] = patient


def test_every_corpus_and_sample_message_tells_what_the_table_says() -> None:
    walked = list(walk())
    wrong = [
        (m.name, m.code, told, table_says) for m, told, table_says in walked if told != table_says
    ]
    assert wrong == []
    told = {kind for _, kinds_told, _ in walked for kind in kinds_told}
    assert {"admission", "discharge", "leave-start", "death", "admission-cancelled"} <= told


async def test_no_corpus_message_logs_an_event_of_a_kind_its_row_does_not_give(
    sqlite_engine: AsyncEngine,
) -> None:
    logged = await _stream(sqlite_engine)
    assert {kind for kind, _ in logged} >= {"admission", "discharge", "leave-start", "death"}
    wrong = [
        (kind, code) for kind, code in logged if kind not in TABLE[code].changes + TABLE[code].first
    ]
    assert wrong == []


async def _stream(engine: AsyncEngine) -> list[tuple[str, str]]:
    """Every message into one hub, in the order it happened; each logged event's kind
    with the code of the message it came from."""
    intake = IntakeService(units_over(engine), ADAPTERS)
    code_of: dict[str, str] = {}
    by_file: dict[str, tuple[CorpusFile, list[Translation]]] = {}
    for file in files():
        by_file[str(file)] = (
            file,
            list(ADAPTERS[file.format].translate(file.path.read_bytes(), sender_for([]))),
        )
    ordered = sorted(by_file.values(), key=lambda pair: _first_time(pair[1]))
    for file, translations in ordered:
        try:
            accepted = await intake.accept(
                file.format, file.path.read_bytes(), sender_for(translations)
            )
        except Rejected:
            continue  # a MedCom test message re-using another's id: refused, tells nothing
        codes = {Message(str(file), t).code for t in translations}
        code_of[accepted.message_id] = codes.pop() if len(codes) == 1 else "?"
    await project_everything(engine, [PathwayEventDeriver(DEFAULT_POLICY)])
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(pathway_events.c.kind, pathway_events.c.event_id).order_by(
                    pathway_events.c.seq
                )
            )
        ).all()
    return [(row.kind, code_of[row.event_id.rsplit("/", 1)[0]]) for row in rows]


def _first_time(translations: list[Translation]) -> datetime:
    times = [t.occurred_at for t in translations if t.occurred_at is not None]
    return min(times) if times else datetime.min.replace(tzinfo=UTC)
