"""The organisation directory: loading it from the SOR register's export, and reading it.

**Loading** (``hub directory load FILE``): the file is parsed whole first
(``hub.domain.directory``). Rows with an error are left out and reported by line and
column; a file that cannot be read at all, whose header is not a SOR2 entity file's,
or that yields no organisation is refused and the stored directory stays as it was.
Otherwise the stored directory is replaced in one transaction: readers see the old
directory or the new one, never a part, and a failed load loses nothing.

**Reading**: ``DirectoryCache`` keeps a ``Directory`` snapshot in memory and asks the
store, at most every ``CHECK_EVERY`` by the hub's clock, whether a newer load was
committed (by this process or any other); only then does it read the directory again.
Lookups between checks cost no database round trip. There is one cache per unit-of-work
factory (``directory_cache``): the hub hands its edges one factory for its lifetime.
"""

from __future__ import annotations

import asyncio
import io
import logging
import weakref
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath

from hub import clock
from hub.domain.directory import (
    Directory,
    DirectoryFileError,
    Organisation,
    RowError,
    danish_day,
    parse_sor_entities,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.directory import DirectoryLoad
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(seconds=5)
MAX_SEARCH_LIMIT = 100
ENTITY_FILES = ("sorentity_daily.csv", "sorentity.csv")  # in a zip, the first found is read
LOCATION_FILES = ("locationscodes.csv", "locationscode.csv")


class DirectoryLoadRefused(Exception):
    """The file was not loaded; the stored directory is unchanged."""


class DirectoryQueryError(ValueError):
    """A directory search the caller must change."""


@dataclass(frozen=True)
class LoadReport:
    load: DirectoryLoad
    errors: tuple[RowError, ...]  # the rows left out, with line and column

    @property
    def organisations(self) -> int:
        return self.load.organisations


@dataclass(frozen=True)
class SourceFiles:
    """What one load reads: the entity file, and the location-number file if any."""

    entities: bytes
    entities_name: str
    locations: bytes | None = None
    locations_name: str = "LocationsCodes.csv"


def read_source(path: Path, locations: Path | None = None) -> SourceFiles:
    """The files to load: ``path`` a SOR2 entity CSV (``SorEntity_daily.csv``,
    ``SOREntity.csv``) or ``SOR_complete.zip``, whose entity file and
    ``LocationsCodes.csv`` are then read; ``locations`` a ``LocationsCodes.csv``."""
    try:
        data = path.read_bytes()
        extra = locations.read_bytes() if locations is not None else None
    except OSError as error:
        raise DirectoryLoadRefused(
            f"{error.filename}: cannot read the file ({error.strerror})"
        ) from None
    locations_name = locations.name if locations else "LocationsCodes.csv"
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return SourceFiles(data, path.name, extra, locations_name)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {PurePosixPath(name).name.lower(): name for name in archive.namelist()}
            entity = next((members[n] for n in ENTITY_FILES if n in members), None)
            if entity is None:
                raise DirectoryLoadRefused(
                    f"{path.name}: holds neither SorEntity_daily.csv nor SOREntity.csv"
                )
            located = next((members[n] for n in LOCATION_FILES if n in members), None)
            if extra is None and located is not None:
                extra = archive.read(located)
                locations_name = f"{path.name}:{PurePosixPath(located).name}"
            return SourceFiles(
                archive.read(entity),
                f"{path.name}:{PurePosixPath(entity).name}",
                extra,
                locations_name,
            )
    except (zipfile.BadZipFile, OSError) as error:
        raise DirectoryLoadRefused(f"{path.name}: cannot read the zip file ({error})") from None


async def load_directory(
    units: UnitOfWorkFactory[UnitOfWork], files: SourceFiles, *, now: datetime | None = None
) -> LoadReport:
    """Replace the stored directory with the organisations of ``files``.

    Raises ``DirectoryLoadRefused`` (nothing changed) when the file cannot be used.
    """
    now = now or clock.now()
    try:
        parsed = parse_sor_entities(
            files.entities,
            today=danish_day(now),
            source=files.entities_name,
            locations=files.locations,
            locations_source=files.locations_name,
        )
    except DirectoryFileError as error:
        raise DirectoryLoadRefused(str(error)) from None
    async with units() as uow:
        load = await uow.directory.replace(
            parsed.organisations,
            source=files.entities_name,
            loaded_at=now,
            skipped=len(parsed.errors),
        )
        await uow.commit()
    directory_cache(units).invalidate()
    log.info(
        "directory loaded from %s: %d organisations, %d rows left out",
        files.entities_name,
        load.organisations,
        len(parsed.errors),
    )
    return LoadReport(load, parsed.errors)


async def load_directory_file(
    units: UnitOfWorkFactory[UnitOfWork],
    path: Path,
    *,
    locations: Path | None = None,
    now: datetime | None = None,
) -> LoadReport:
    return await load_directory(units, read_source(path, locations), now=now)


async def load_directory_unless_loaded(
    units: UnitOfWorkFactory[UnitOfWork], path: Path
) -> LoadReport | None:
    """Load ``path`` when no directory was ever loaded (the demo's sample); else None."""
    async with units() as uow:
        if await uow.directory.latest_load_id() is not None:
            return None
    return await load_directory_file(units, path)


async def stored_directory(units: UnitOfWorkFactory[UnitOfWork]) -> Directory:
    """The stored directory, read now (``DirectoryCache`` for repeated reads)."""
    async with units() as uow:
        return Directory(await uow.directory.all())


def checked_search(text: str, limit: int) -> str:
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise DirectoryQueryError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}")
    if not text.strip():
        raise DirectoryQueryError("search must name something to look for")
    return text


def search(
    directory: Directory, text: str, limit: int = 20, now: datetime | date | None = None
) -> list[Organisation]:
    """The active organisations whose name holds ``text`` (see ``Directory.search``)."""
    return directory.search(checked_search(text, limit), limit, now or clock.now())


class DirectoryCache:
    """A ``Directory`` snapshot kept in memory, read again when a newer load is stored.

    Holds its unit-of-work factory weakly: the hub owns it, and a cache never keeps
    one alive.
    """

    def __init__(
        self, units: UnitOfWorkFactory[UnitOfWork], *, check_every: timedelta = CHECK_EVERY
    ) -> None:
        self._units = weakref.ref(units)
        self._every = check_every
        self._directory = Directory()
        self._version: int | None = None
        self._read = False
        self._checked_at: datetime | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Check the store at the next read (this process has just loaded a directory)."""
        self._checked_at = None

    def _fresh(self, now: datetime) -> bool:
        checked = self._checked_at
        return checked is not None and checked <= now < checked + self._every

    async def directory(self) -> Directory:
        """The current snapshot; the store is asked at most every ``check_every``."""
        if self._fresh(clock.now()):
            return self._directory
        async with self._lock:
            now = clock.now()
            if self._fresh(now):
                return self._directory
            units = self._units()
            if units is None:
                return self._directory
            try:
                async with units() as uow:
                    latest = await uow.directory.latest_load_id()
                    if not self._read or latest != self._version:
                        self._directory = Directory(await uow.directory.all())
                        self._version, self._read = latest, True
            except Exception:
                if not self._read:
                    raise
                log.warning("the directory could not be checked; keeping the one held")
            self._checked_at = now
        return self._directory


_caches: weakref.WeakKeyDictionary[UnitOfWorkFactory[UnitOfWork], DirectoryCache] = (
    weakref.WeakKeyDictionary()
)


def directory_cache(units: UnitOfWorkFactory[UnitOfWork]) -> DirectoryCache:
    """The process's one cache of the directory ``units`` reads (kept while ``units`` is)."""
    cache = _caches.get(units)
    if cache is None:
        cache = _caches[units] = DirectoryCache(units)
    return cache


async def current_directory(units: UnitOfWorkFactory[UnitOfWork]) -> Directory:
    return await directory_cache(units).directory()
