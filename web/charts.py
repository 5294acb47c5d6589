"""Small bar charts as inline SVG, drawn on the server: no script, nothing to download.

Each chart carries its figures as text too (a title on each bar, and a table beside it
on the page), so no one depends on seeing the bars. Under the bars: the month (or
quarter), and the year under the first bar of each year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 320
HEIGHT = 132
_LABEL_SPACE = 30  # two lines: month, year
_TOP = 14


@dataclass(frozen=True)
class Bar:
    label: str  # e.g. "nov"
    value: float | None  # None: suppressed or not computable
    year: str | None = None  # shown under the label: the first bar of each year
    long_label: str | None = None  # e.g. "november 2026", for the bar's title


def _number(value: float) -> str:
    if value == int(value):
        return str(int(value))
    return f"{value:.1f}".replace(".", ",")


def bar_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """An SVG bar chart of ``bars`` with ``title`` as its accessible name."""
    count = max(len(bars), 1)
    slot = WIDTH / count
    top = max((b.value for b in bars if b.value is not None), default=0.0)
    scale = (HEIGHT - _LABEL_SPACE - _TOP) / top if top > 0 else 0.0
    base = HEIGHT - _LABEL_SPACE
    # Labels under every bar while they fit; else under every n-th.
    every = max(1, round(26 / slot)) if slot < 26 else 1
    parts = [
        f'<svg class="diagram" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="0" y1="{base}" x2="{WIDTH}" y2="{base}" class="akse"/>',
    ]
    for index, bar in enumerate(bars):
        x = index * slot
        centre = x + slot / 2
        named = bar.long_label or bar.label
        if bar.value is None:
            parts.append(f'<text x="{centre:.1f}" y="{base - 4}" class="mangler">–</text>')
        else:
            height = bar.value * scale
            parts.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{base - height:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{height:.1f}" class="soejle">'
                f"<title>{escape(named)}: {_number(bar.value)}</title></rect>"
            )
            if slot >= 18:
                parts.append(
                    f'<text x="{centre:.1f}" y="{base - height - 3:.1f}" class="vaerdi">'
                    f"{_number(bar.value)}</text>"
                )
        if index % every == 0 or bar.year:
            parts.append(
                f'<text x="{centre:.1f}" y="{base + 12}" class="etiket">{escape(bar.label)}</text>'
            )
        if bar.year:
            parts.append(
                f'<text x="{centre:.1f}" y="{base + 25}" class="etiket etiket-aar">'
                f"{escape(bar.year)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
