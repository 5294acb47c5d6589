"""CSV downloads, for Danish spreadsheets and for programs alike.

Lines end in CRLF, as RFC 4180 has them, and the text starts with a byte order mark,
so spreadsheet programs read æ, ø and å as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

DANISH_DELIMITER = ";"
"""What a Danish spreadsheet separates columns with (the comma is its decimal mark)."""


def csv_text(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, delimiter: str = ","
) -> str:
    """``header`` and then ``rows`` as CSV text, byte order mark first."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()
