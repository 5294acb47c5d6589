"""Small bar charts as inline SVG, drawn on the server: no script, nothing to download.

Each chart carries its figures as text too (a title, and a table beside it on the
page), so no one depends on seeing the bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 320
HEIGHT = 120
_LABEL_SPACE = 18
_TOP = 14


@dataclass(frozen=True)
class Bar:
    label: str  # e.g. "nov"
    value: float | None  # None: suppressed or not computable


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def bar_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """An SVG bar chart of ``bars`` with ``title`` as its accessible name."""
    count = max(len(bars), 1)
    slot = WIDTH / count
    top = max((b.value for b in bars if b.value is not None), default=0.0)
    scale = (HEIGHT - _LABEL_SPACE - _TOP) / top if top > 0 else 0.0
    parts = [
        f'<svg class="diagram" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<line x1="0" y1="{HEIGHT - _LABEL_SPACE}" x2="{WIDTH}" '
        f'y2="{HEIGHT - _LABEL_SPACE}" class="akse"/>',
    ]
    for index, bar in enumerate(bars):
        x = index * slot
        centre = x + slot / 2
        base = HEIGHT - _LABEL_SPACE
        if bar.value is None:
            parts.append(f'<text x="{centre:.1f}" y="{base - 4}" class="mangler">–</text>')
        else:
            height = bar.value * scale
            parts.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{base - height:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{height:.1f}" class="soejle">'
                f"<title>{escape(bar.label)}: {_number(bar.value)}</title></rect>"
            )
            parts.append(
                f'<text x="{centre:.1f}" y="{base - height - 3:.1f}" class="vaerdi">'
                f"{_number(bar.value)}</text>"
            )
        parts.append(
            f'<text x="{centre:.1f}" y="{HEIGHT - 4}" class="etiket">{escape(bar.label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
