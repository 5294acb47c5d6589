"""An organisation's own round-table figures for a period: pure counting over the
dates and statuses ``hub.services.own_figures`` reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hub.domain.round_table import is_overdue
from hub.domain.summaries import DANISH_TIME

FIGURES = (
    # name, unit
    ("roundTablesConvened", "meetings"),
    ("roundTablePlansRecorded", "plans"),
    ("roundTableActionsAgreed", "actions"),
    ("roundTableActionsCompleted", "actions"),
    ("roundTableActionsOverdue", "actions"),
)


@dataclass(frozen=True)
class ActionRecord:
    created: datetime | None
    status: str
    due: str | None


@dataclass(frozen=True)
class RoundTableRecords:
    convened: tuple[datetime, ...]  # when each meeting was convened
    plans: tuple[datetime, ...]  # when each plan was first recorded
    actions: tuple[ActionRecord, ...]  # the current actions of those plans


@dataclass(frozen=True)
class OwnFigure:
    name: str
    unit: str
    value: int


def own_figures(
    records: RoundTableRecords, first: date, last: date, now: datetime
) -> list[OwnFigure]:
    """The figures of the Danish days ``first``..``last``: meetings convened and plans
    recorded in them; actions agreed in them, how many of those are done, and how many
    are overdue at ``now``."""

    def within(moment: datetime | None) -> bool:
        return moment is not None and first <= moment.astimezone(DANISH_TIME).date() <= last

    agreed = [a for a in records.actions if within(a.created)]
    values = {
        "roundTablesConvened": sum(1 for m in records.convened if within(m)),
        "roundTablePlansRecorded": sum(1 for p in records.plans if within(p)),
        "roundTableActionsAgreed": sum(1 for a in agreed if a.status != "cancelled"),
        "roundTableActionsCompleted": sum(1 for a in agreed if a.status == "completed"),
        "roundTableActionsOverdue": sum(1 for a in agreed if is_overdue(a.status, a.due, now)),
    }
    return [OwnFigure(name, unit, values[name]) for name, unit in FIGURES]
