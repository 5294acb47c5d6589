"""``hub ingest --manifest FILE``: message files from several senders in one run.

For loading an archive (a backfill, a migration from an older hub) in which each file
has its own sender. The manifest is CSV (RFC 4180, read with the standard library's
``csv``) with a header row naming the columns ``file``, ``format``, ``sector``, ``org``
and, optionally, ``sub`` and ``aliases`` (as ``--alias``, separated by ``|``, which no
HL7 field and no location number holds). A relative ``file`` is read from the
manifest's own folder. Rows are taken in order, each as
``hub ingest FORMAT FILE --sector … --org …`` would take it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from hub.domain.sectors import Sector
from hub.domain.translation import Sender

REQUIRED = ("file", "format", "sector", "org")
DEFAULT_SUB = "hub-cli"


class ManifestError(ValueError):
    """A manifest that cannot be read: the message names the line and column."""


@dataclass(frozen=True)
class ManifestRow:
    path: Path
    format: str
    sender: Sender


def read_manifest(path: Path) -> list[ManifestRow]:
    """The rows of the manifest at ``path``; ``ManifestError`` names what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot be read ({error})") from None
    reader = csv.DictReader(text.splitlines())
    missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
    if missing:
        raise ManifestError(f"{path}: line 1: the header lacks {', '.join(missing)}")
    sectors = {s.value for s in Sector}
    rows: list[ManifestRow] = []
    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key is not None}
        for column in REQUIRED:
            if not values.get(column):
                raise ManifestError(f"{path}: line {line}, column {column}: empty")
        if values["sector"] not in sectors:
            raise ManifestError(
                f"{path}: line {line}, column sector: {values['sector']!r} is not one of "
                f"{', '.join(sorted(sectors))}"
            )
        file = Path(values["file"])
        sender = Sender(
            Sector(values["sector"]),
            values["org"],
            values.get("sub") or DEFAULT_SUB,
            frozenset(a.strip() for a in values.get("aliases", "").split("|") if a.strip()),
        )
        where = file if file.is_absolute() else path.parent / file
        rows.append(ManifestRow(where, values["format"], sender))
    return rows
