"""The organisation directory: who an organisation is, and who is its data controller.

Built from the national SOR register's CSV export (SOR2, published nightly by
Sundhedsdatastyrelsen at https://sor-filer.sundhedsdata.dk/sor2_produktion/V1_00/data/):
``SorEntity_daily.csv`` (today's entities) or ``SOREntity.csv`` (with history, in
``SOR_complete.zip``), and optionally ``LocationsCodes.csv`` for the location numbers
(EAN/GLN). ``docs/directory.md`` lists the columns read and the rules below.

The file's quirks, as published: a semicolon between fields (a comma or a tab is
accepted too: the header line decides), UTF-8 with or without a byte-order mark
(windows-1252 is read when the file is not UTF-8), and SOR codes written for Excel as
``="123456789012345"``. Columns are found by name, so their order and any further
columns do not matter.

**Data controller.** The institution owner (``InstitutionOwnerSorId``, else the root
of the ``ParentSorId`` chain) is the controller: ``sor:<owner>``. An organisation whose
owner is a kommune has the kommune as controller, ``kommune:<3-digit code>``, the code
taken from the owner's row (else the organisation's own, else its nearest ancestor's;
``0730`` is kommune ``730``).

**Sector.** The owner's type first: a kommune's organisations are ``municipality``.
Otherwise the first entity type naming one, read from the organisation up through its
ancestors and last its health institution's type: *psykiatri* → ``psychiatry``;
*almen praksis*, *lægepraksis* (the word), *praktiserende læge* → ``gp``; *sygehus*, *hospital*,
*somatisk* → ``hospital``. Nothing else is guessed (SOR has no type for the hub's
``coordinator`` sector): an unknown sector is ``None``.

Pure: no I/O and no clock; the caller says which day "today" is.

It is over 400 lines because reading SOR's export (its quirks and per-row errors),
deriving each organisation's controller and sector from the hierarchy, and the
immutable snapshot are one concept the rest of the hub sees only as ``Directory`` and
``parse_sor_entities``; the reader's helpers are private to it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from hub.domain.controllers import kommune_controller, organisation_controller
from hub.domain.sectors import Sector

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

# The SOR2 columns the hub reads (docs/directory.md).
SOR_ID = "SorId"
SOR_TYPE = "SorType"  # IE institution owner, SI health institution, OE organisational unit
NAME = "EntityName"
ENTITY_TYPE = "EntityTypeName"
PARENT = "ParentSorId"
INSTITUTION = "HealthInstitutionSorId"
INSTITUTION_TYPE = "HealthInstitutionEntityTypeName"
OWNER = "InstitutionOwnerSorId"
OWNER_TYPE = "InstitutionOwnerEntityTypeName"
KOMMUNE_COLUMNS = (
    "MunicipalityCode",
    "PostalAddressMunicipalityCode",
    "VisitingAddressMunicipalityCode",
    "ActivityAddressMunicipalityCode",
)
GLN_COLUMNS = ("EanLocationCode", "LocationCode", "LocationsCode")
FROM = "FromDate"
TO = "ToDate"
FIRST_FROM = "FirstFromDate"

INSTITUTION_OWNER = "IE"
MAX_NAME = 300
MAX_TYPE = 200

_DIGITS = re.compile(r"^\d{1,20}$")
_GLN = re.compile(r"^\d{13}$")
_KOMMUNE = re.compile(r"^0?(\d{3})$")
_GLN_SEPARATORS = re.compile(r"[\s,;|]+")
_DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d")

_SECTOR_WORDS: tuple[tuple[Sector, re.Pattern[str]], ...] = (
    (Sector.PSYCHIATRY, re.compile(r"psykiatri")),
    # Whole words: a tandlægepraksis or a speciallægepraksis is no general practice.
    (Sector.GP, re.compile(r"\balmen (?:læge)?praksis|\blægepraksis\b|\bpraktiserende læge")),
    (Sector.HOSPITAL, re.compile(r"sygehus|hospital|somatisk")),
)


class DirectoryFileError(ValueError):
    """A file the directory cannot be read from at all (nothing of it is used)."""


@dataclass(frozen=True)
class RowError:
    """A row left out of the directory, and why."""

    source: str
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source} line {self.line}"
        return (
            f"{where}, column {self.column}: {self.message}"
            if self.column
            else (f"{where}: {self.message}")
        )


@dataclass(frozen=True)
class Organisation:
    """One organisation of the SOR register as the hub's directory holds it."""

    sor: str
    name: str
    controller: str  # hub.domain.controllers: kommune:<code> or sor:<institution owner>
    sector: Sector | None = None
    sor_type: str | None = None  # IE, SI or OE
    entity_type: str | None = None  # SOR's entity type name, e.g. "Somatisk afdeling"
    parent: str | None = None
    institution: str | None = None  # the health institution (sundhedsinstitution)
    owner: str | None = None  # the institution owner at the root (itself, for an owner)
    kommune: str | None = None  # 3 digits
    glns: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None  # the last day it is valid (SOR's closing date)

    def active_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_to is None or day <= self.valid_to


@dataclass(frozen=True)
class ParsedDirectory:
    organisations: tuple[Organisation, ...]
    errors: tuple[RowError, ...]  # rows left out, in file order


# --- reading the CSV -----------------------------------------------------------------------


def decode(data: bytes, source: str) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), UTF-16 with a byte-order mark,
    else windows-1252."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise DirectoryFileError(f"{source}: not readable as UTF-16 ({error.reason})") from None
    if b"\x00" in data:
        raise DirectoryFileError(f"{source}: not a text file (it holds NUL bytes)")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise DirectoryFileError(f"{source}: neither UTF-8 nor windows-1252 text") from error


def delimiter_of(header_line: str) -> str:
    """The delimiter the header line uses: the most frequent of ``;``, ``,`` and tab."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def cell(value: str) -> str:
    """A cell's value: trimmed, and ``="…"`` (Excel's text guard) unwrapped."""
    value = value.strip()
    if len(value) >= 3 and value.startswith('="') and value.endswith('"'):
        value = value[2:-1].strip()
    return value


@dataclass(frozen=True)
class _Table:
    source: str
    columns: Mapping[str, int]  # header name, lower case → index
    width: int  # fields in the header

    def has(self, name: str) -> bool:
        return name.lower() in self.columns

    def first_present(self, names: Sequence[str]) -> str | None:
        return next((name for name in names if self.has(name)), None)


def _rows(data: bytes, source: str) -> tuple[_Table, Iterator[tuple[int, list[str]]]]:
    """The header and the data rows (with the line each starts on) of a CSV file."""
    text = decode(data, source)
    if not text.strip():
        raise DirectoryFileError(f"{source}: the file is empty")
    header_line = text.lstrip("\ufeff").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(header_line))
    try:
        header = next(reader)
    except csv.Error as error:
        raise DirectoryFileError(f"{source} line 1: not CSV ({error})") from None
    names = [cell(name).lstrip("\ufeff").strip('"').lower() for name in header]
    columns = {name: i for i, name in reversed(list(enumerate(names))) if name}
    table = _Table(source, columns, len(names))

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = reader.line_num
        while True:
            start = line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise DirectoryFileError(
                    f"{source} line {reader.line_num}: not CSV ({error})"
                ) from None
            line = reader.line_num
            if any(value.strip() for value in row):
                yield start, row

    return table, rows()


class _RowReader:
    """One row's cells by column name; a bad value raises ``_Bad`` naming its column."""

    def __init__(self, table: _Table, row: list[str], line: int) -> None:
        self.table, self.row, self.line = table, row, line
        width = table.width
        if len(row) < width or any(value.strip() for value in row[width:]):
            raise _Bad(None, f"has {len(row)} fields where the header has {width}")

    def text(self, name: str, *, max_length: int | None = None) -> str | None:
        index = self.table.columns.get(name.lower())
        if index is None:
            return None
        value = cell(self.row[index])
        if max_length is not None and len(value) > max_length:
            raise _Bad(name, f"longer than {max_length} characters")
        return value or None

    def sor(self, name: str, *, required: bool = False) -> str | None:
        value = self.text(name)
        if value is None:
            if required:
                raise _Bad(name, "no SOR code")
            return None
        if not _DIGITS.match(value):
            raise _Bad(name, f"{value!r} is not a SOR code (digits only)")
        return value

    def day(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        parsed = parse_day(value)
        if parsed is None:
            raise _Bad(name, f"{value!r} is not a date (YYYY-MM-DD)")
        return parsed

    def kommune(self) -> str | None:
        for name in KOMMUNE_COLUMNS:
            value = self.text(name)
            if value is None:
                continue
            match = _KOMMUNE.match(value)
            if not match:
                raise _Bad(name, f"{value!r} is not a kommune code (3 digits, or 4 with a 0)")
            return match.group(1)
        return None

    def glns(self, names: Sequence[str]) -> tuple[str, ...]:
        found: list[str] = []
        for name in names:
            value = self.text(name)
            for gln in _GLN_SEPARATORS.split(value or ""):
                gln = cell(gln)
                if not gln:
                    continue
                if not is_gln(gln):
                    raise _Bad(name, f"{gln!r} is not a location number (13 digits, GS1 check)")
                found.append(gln)
        return tuple(dict.fromkeys(found))


class _Bad(Exception):
    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def parse_day(value: str) -> date | None:
    """A SOR date: ``YYYY-MM-DD`` (a time after it ignored), ``DD-MM-YYYY`` or ``DD.MM.YYYY``."""
    value = value.strip()
    head = re.split(r"[T ]", value, maxsplit=1)[0]
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(head, pattern).date()
        except ValueError:
            continue
    return None


def is_gln(value: str) -> bool:
    """A GS1 global location number: 13 digits, the last a GS1 check digit."""
    if not _GLN.match(value):
        return False
    digits = [int(c) for c in value]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == digits[12]


# --- the entity file ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entity:
    line: int
    sor: str
    name: str
    sor_type: str | None
    entity_type: str | None
    parent: str | None
    institution: str | None
    institution_type: str | None
    owner: str | None
    owner_type: str | None
    kommune: str | None
    glns: tuple[str, ...]
    valid_from: date | None  # FromDate: from when this version holds
    first_from: date | None  # FirstFromDate: from when the organisation exists
    valid_to: date | None


def _entity(reader: _RowReader) -> _Entity:
    sor = reader.sor(SOR_ID, required=True)
    assert sor is not None
    name = reader.text(NAME, max_length=MAX_NAME)
    if name is None:
        raise _Bad(NAME, "no name")
    sor_type = reader.text(SOR_TYPE, max_length=8)
    entity = _Entity(
        line=reader.line,
        sor=sor,
        name=name,
        sor_type=sor_type.upper() if sor_type else None,
        entity_type=reader.text(ENTITY_TYPE, max_length=MAX_TYPE),
        parent=reader.sor(PARENT),
        institution=reader.sor(INSTITUTION),
        institution_type=reader.text(INSTITUTION_TYPE, max_length=MAX_TYPE),
        owner=reader.sor(OWNER),
        owner_type=reader.text(OWNER_TYPE, max_length=MAX_TYPE),
        kommune=reader.kommune(),
        glns=reader.glns(GLN_COLUMNS),
        valid_from=reader.day(FROM),
        first_from=reader.day(FIRST_FROM),
        valid_to=reader.day(TO),
    )
    start = entity.valid_from or entity.first_from
    if start and entity.valid_to and entity.valid_to < start:
        raise _Bad(TO, f"{entity.valid_to.isoformat()} is before {start.isoformat()}")
    return entity


def entity_header_problem(table: _Table) -> str | None:
    missing = [name for name in (SOR_ID, NAME) if not table.has(name)]
    if not table.has(PARENT) and not table.has(OWNER):
        missing.append(f"{PARENT} or {OWNER}")
    if not missing:
        return None
    return (
        f"{table.source}: the header lacks {', '.join(missing)}; a SOR2 entity file "
        f"(SorEntity_daily.csv, SOREntity.csv) has {SOR_ID}, {NAME} and {PARENT} or {OWNER}"
    )


def _current(versions: list[_Entity], today: date) -> _Entity:
    """Of one organisation's rows (SOREntity.csv keeps its history), the one holding
    ``today``: the latest begun by then, else the earliest still to come."""
    begun = [v for v in versions if v.valid_from is None or v.valid_from <= today]
    if begun:
        return max(begun, key=lambda v: (v.valid_from or date.min, v.line))
    return min(versions, key=lambda v: (v.valid_from or date.min, v.line))


def _sector_from_types(types: Iterable[str | None]) -> Sector | None:
    for text in types:
        if not text:
            continue
        lowered = text.casefold()
        for sector, words in _SECTOR_WORDS:
            if words.search(lowered):
                return sector
    return None


def _is_kommune(text: str | None) -> bool:
    return bool(text) and "kommun" in (text or "").casefold()


@dataclass
class _Hierarchy:
    """The entities of one file, by SOR code, and the walk up from each."""

    entities: dict[str, _Entity] = field(default_factory=dict)

    def ancestors(self, entity: _Entity) -> Iterator[_Entity]:
        seen = {entity.sor}
        current = entity
        while current.parent and current.parent not in seen:
            seen.add(current.parent)
            parent = self.entities.get(current.parent)
            if parent is None:
                return
            yield parent
            current = parent

    def owner(self, entity: _Entity) -> str:
        """The institution owner at the root: the first owner code named on the way up,
        else where the parent chain ends (a parent the file does not hold, or the root)."""
        if entity.owner:
            return entity.owner
        current = entity
        for ancestor in self.ancestors(entity):
            if ancestor.owner:
                return ancestor.owner
            current = ancestor
        if current.parent and current.parent not in self.entities:
            return current.parent
        return current.sor

    def organisation(
        self, entity: _Entity, *, valid_from: date | None, glns: tuple[str, ...]
    ) -> Organisation:
        owner = self.owner(entity)
        owner_entity = self.entities.get(owner)
        ancestors = list(self.ancestors(entity))
        owner_type = entity.owner_type or next(
            (a.owner_type for a in ancestors if a.owner_type), None
        )
        if owner_type is None and owner_entity is not None:
            owner_type = owner_entity.entity_type
        municipal = _is_kommune(owner_type)
        kommune = next(
            (e.kommune for e in (owner_entity, entity, *ancestors) if e is not None and e.kommune),
            None,
        )
        institution = self.entities.get(entity.institution or "")
        if municipal:
            sector: Sector | None = Sector.MUNICIPALITY
        else:
            sector = _sector_from_types(
                [
                    entity.entity_type,
                    *(a.entity_type for a in ancestors if a.sor != owner),
                    entity.institution_type,
                    institution.entity_type if institution else None,
                ]
            )
        if municipal and kommune:
            controller = kommune_controller(kommune)
        else:
            controller = organisation_controller(owner)
        return Organisation(
            sor=entity.sor,
            name=entity.name,
            controller=controller,
            sector=sector,
            sor_type=entity.sor_type,
            entity_type=entity.entity_type,
            parent=entity.parent,
            institution=entity.institution,
            owner=owner,
            kommune=kommune if municipal else entity.kommune,
            glns=glns,
            valid_from=valid_from,
            valid_to=entity.valid_to,
        )


def parse_sor_entities(
    data: bytes,
    *,
    today: date,
    source: str = "SorEntity_daily.csv",
    locations: bytes | None = None,
    locations_source: str = "LocationsCodes.csv",
) -> ParsedDirectory:
    """The organisations of a SOR2 entity file (and its location numbers, if given).

    Rows with an error are left out and listed; raises ``DirectoryFileError`` when the
    file cannot be read, its header is not a SOR2 entity file's, or no organisation
    is left.
    """
    table, rows = _rows(data, source)
    problem = entity_header_problem(table)
    if problem:
        raise DirectoryFileError(problem)
    errors: list[RowError] = []
    versions: dict[str, list[_Entity]] = {}
    for line, row in rows:
        try:
            entity = _entity(_RowReader(table, row, line))
        except _Bad as bad:
            errors.append(RowError(source, line, bad.column, bad.message))
            continue
        versions.setdefault(entity.sor, []).append(entity)
    if not versions:
        raise DirectoryFileError(f"{source}: no organisation could be read from it")
    hierarchy = _Hierarchy({sor: _current(found, today) for sor, found in versions.items()})
    extra: dict[str, list[str]] = {}
    if locations is not None:
        extra, location_errors = parse_locations(locations, today=today, source=locations_source)
        errors.extend(location_errors)
    organisations = []
    for sor, entity in hierarchy.entities.items():
        starts = [v.first_from or v.valid_from for v in versions[sor]]
        known = [start for start in starts if start is not None]
        organisations.append(
            hierarchy.organisation(
                entity,
                valid_from=min(known) if known else None,
                glns=tuple(dict.fromkeys((*entity.glns, *extra.get(sor, ())))),
            )
        )
    return ParsedDirectory(tuple(organisations), tuple(errors))


def parse_locations(
    data: bytes, *, today: date, source: str = "LocationsCodes.csv"
) -> tuple[dict[str, list[str]], list[RowError]]:
    """The location numbers of ``LocationsCodes.csv`` by SOR code: rows naming a
    ``SorId`` and a location number (``EanLocationCode``), closed ones (``ToDate``
    before ``today``) left out."""
    table, rows = _rows(data, source)
    gln_column = table.first_present(GLN_COLUMNS)
    if not table.has(SOR_ID) or gln_column is None:
        raise DirectoryFileError(
            f"{source}: the header lacks {SOR_ID} or {GLN_COLUMNS[0]}; a SOR2 location "
            f"number file (LocationsCodes.csv) has both"
        )
    found: dict[str, list[str]] = {}
    errors: list[RowError] = []
    for line, row in rows:
        try:
            reader = _RowReader(table, row, line)
            sor = reader.sor(SOR_ID, required=True)
            glns = reader.glns([gln_column])
            closed = reader.day(TO)
        except _Bad as bad:
            errors.append(RowError(source, line, bad.column, bad.message))
            continue
        if sor is None or (closed is not None and closed < today):
            continue
        found.setdefault(sor, []).extend(glns)
    return found, errors


# --- the directory --------------------------------------------------------------------------


def danish_day(now: datetime | date) -> date:
    """The calendar day ``now`` falls on in Denmark (SOR's dates are Danish days)."""
    if isinstance(now, datetime):
        return now.astimezone(DANISH_TIME).date() if now.tzinfo else now.date()
    return now


class Directory:
    """An immutable snapshot of the organisation directory.

    Every lookup takes ``now`` (a datetime or a Danish calendar day): given, an
    organisation outside its active period is not found; ``None`` finds any.
    """

    __slots__ = ("_by_gln", "_by_sor", "_ordered", "_searchable")

    def __init__(self, organisations: Iterable[Organisation] = ()) -> None:
        by_sor: dict[str, Organisation] = {}
        for organisation in organisations:
            by_sor[organisation.sor] = organisation
        by_gln: dict[str, list[Organisation]] = {}
        for organisation in by_sor.values():
            for gln in organisation.glns:
                by_gln.setdefault(gln, []).append(organisation)

        def own_first(gln: str) -> Callable[[Organisation], tuple[bool, str]]:
            def key(organisation: Organisation) -> tuple[bool, str]:
                parent = by_sor.get(organisation.parent or "")
                return (parent is not None and gln in parent.glns, organisation.sor)

            return key

        self._by_sor: Mapping[str, Organisation] = MappingProxyType(by_sor)
        self._by_gln: Mapping[str, tuple[Organisation, ...]] = MappingProxyType(
            {gln: tuple(sorted(found, key=own_first(gln))) for gln, found in by_gln.items()}
        )
        self._ordered = tuple(sorted(by_sor.values(), key=lambda o: (o.name.casefold(), o.sor)))
        self._searchable = tuple((o.name.casefold(), o) for o in self._ordered)

    def __len__(self) -> int:
        return len(self._by_sor)

    def __iter__(self) -> Iterator[Organisation]:
        return iter(self._ordered)

    def by_sor(self, sor: str, now: datetime | date | None = None) -> Organisation | None:
        found = self._by_sor.get(sor.strip())
        if found is None or (now is not None and not found.active_on(danish_day(now))):
            return None
        return found

    def by_gln(self, gln: str, now: datetime | date | None = None) -> Organisation | None:
        """The organisation a location number is its own (not inherited from a parent)."""
        day = danish_day(now) if now is not None else None
        return next(
            (o for o in self._by_gln.get(gln.strip(), ()) if day is None or o.active_on(day)),
            None,
        )

    def controller_of(self, sor: str, now: datetime | date | None = None) -> str | None:
        found = self.by_sor(sor, now)
        return found.controller if found else None

    def name_of(self, sor: str, now: datetime | date | None = None) -> str | None:
        found = self.by_sor(sor, now)
        return found.name if found else None

    def search(
        self, text: str, limit: int = 20, now: datetime | date | None = None
    ) -> list[Organisation]:
        """Organisations whose name holds every word of ``text``, case-insensitively;
        names beginning with the text first, then by name. A SOR code finds itself."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        words = text.casefold().split()
        if not words:
            return []
        day = danish_day(now) if now is not None else None
        whole = " ".join(words)
        exact = self.by_sor(text, day) if text.strip().isdigit() else None
        starting: list[Organisation] = []
        holding: list[Organisation] = []
        for name, organisation in self._searchable:
            if organisation is exact or not all(word in name for word in words):
                continue
            if day is not None and not organisation.active_on(day):
                continue
            (starting if name.startswith(whole) else holding).append(organisation)
        found = ([exact] if exact else []) + starting + holding
        return found[:limit]


EMPTY = Directory()
