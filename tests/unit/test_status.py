"""The pathway status rules, on hand-made FHIR JSON as the viewer is shown it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS
from hub.domain.status import Party, Shown, Whereabouts, derive_status, due_instant

NOW = datetime(2025, 11, 26, 12, 0, tzinfo=UTC)
ROUND_TABLE = {"coding": [{"system": PATHWAY_EVENTS, "code": "rundbordsmoede"}]}
RANDERS = {"identifier": {"system": SOR_SYSTEM, "value": "730"}, "display": "Randers Kommune"}


def shown(sector: str = "hospital", **content: Any) -> Shown:
    return Shown(sector, content)


def stay(id: str, status: str, start: str, end: str | None = None, **more: Any) -> Shown:
    period = {"start": start, **({"end": end} if end else {})}
    return shown(
        resourceType="Encounter",
        id=id,
        status=status,
        period=period,
        **{"class": {"code": "IMP"}, **more},
    )


def test_admitted_since_the_start_of_the_open_stay_on_its_ward() -> None:
    status = derive_status(
        None,
        [
            stay("old", "finished", "2025-10-01T08:00:00+02:00", "2025-10-03T10:00:00+02:00"),
            stay(
                "now",
                "in-progress",
                "2025-11-22T08:00:00+01:00",
                location=[
                    {"location": {"display": "Akutmodtagelsen"}, "status": "completed"},
                    {"location": {"display": "Medicinsk afd. 3"}, "status": "active"},
                ],
            ),
        ],
        now=NOW,
    )
    assert status.whereabouts is Whereabouts.ADMITTED
    assert (status.where, status.since) == ("Medicinsk afd. 3", "2025-11-22T08:00:00+01:00")
    assert "Encounter/now" in status.sources and "Encounter/old" not in status.sources


def test_a_notified_stay_tells_the_hospital() -> None:
    notified = stay(
        "e",
        "in-progress",
        "2025-11-22T08:00:00+01:00",
        serviceProvider={"display": "Regionshospitalet Randers"},
    )
    assert derive_status(None, [notified], now=NOW).where == "Regionshospitalet Randers"


def test_on_leave_since_the_open_leave() -> None:
    on_leave = stay(
        "e",
        "onleave",
        "2025-11-22T08:00:00+01:00",
        statusHistory=[
            {"status": "in-progress", "period": {"start": "2025-11-22T08:00:00+01:00"}},
            {"status": "onleave", "period": {"start": "2025-11-25T14:00:00+01:00"}},
        ],
    )
    status = derive_status(None, [on_leave], now=NOW)
    assert status.whereabouts is Whereabouts.ON_LEAVE
    assert status.since == "2025-11-25T14:00:00+01:00"


def test_at_home_since_the_last_discharge() -> None:
    status = derive_status(
        None,
        [
            stay("a", "finished", "2025-10-01T08:00:00+02:00", "2025-10-03T10:00:00+02:00"),
            stay("b", "finished", "2025-11-22T08:00:00+01:00", "2025-11-25T11:30:00+01:00"),
            stay("c", "entered-in-error", "2025-11-26T08:00:00+01:00"),
            # A home visit in progress is no admission.
            stay("d", "in-progress", "2025-11-26T09:00:00+01:00", **{"class": {"code": "HH"}}),
        ],
        now=NOW,
    )
    assert status.whereabouts is Whereabouts.AT_HOME
    assert (status.where, status.since) == (None, "2025-11-25T11:30:00+01:00")


def test_deceased_wins_over_an_open_stay() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "deceasedDateTime": "2025-11-25T03:10:00+01:00",
    }
    status = derive_status(patient, [stay("e", "in-progress", "2025-11-22")], now=NOW)
    assert status.whereabouts is Whereabouts.DECEASED
    assert status.since == "2025-11-25T03:10:00+01:00"
    assert status.sources == {"Patient/p"}
    flagged = derive_status({"resourceType": "Patient", "deceasedBoolean": True}, [], now=NOW)
    assert (flagged.whereabouts, flagged.since) == (Whereabouts.DECEASED, None)


def test_nothing_visible_tells_nothing() -> None:
    status = derive_status({"resourceType": "Patient", "deceasedBoolean": False}, [], now=NOW)
    assert status.whereabouts is Whereabouts.UNKNOWN
    assert status.sources == frozenset()


def faerdigbehandlet(id: str, status: str, start: str, end: str | None = None) -> Shown:
    return shown(
        "municipality",
        resourceType="Flag",
        id=id,
        status=status,
        code={"coding": [{"system": PATHWAY_EVENTS, "code": "faerdigbehandlet"}]},
        period={"start": start, **({"end": end} if end else {})},
    )


def test_faerdigbehandlet_since_the_open_flag() -> None:
    status = derive_status(
        None,
        [
            faerdigbehandlet("ended", "active", "2025-10-01", "2025-10-04"),
            faerdigbehandlet("inactive", "inactive", "2025-11-01"),
            faerdigbehandlet("open", "active", "2025-11-24"),
        ],
        now=NOW,
    )
    assert status.ready_for_discharge_since == "2025-11-24"
    inactive = derive_status(None, [faerdigbehandlet("x", "inactive", "2025-11-24")], now=NOW)
    assert inactive.ready_for_discharge_since is None
    assert (
        derive_status(
            None, [faerdigbehandlet("x", "active", "2025-11-24", "2025-11-25")], now=NOW
        ).ready_for_discharge_since
        is None
    )


def test_open_referrals_with_owner_and_due() -> None:
    def referral(id: str, status: str, **more: Any) -> Shown:
        return shown(resourceType="ServiceRequest", id=id, status=status, **more)

    status = derive_status(
        None,
        [
            referral(
                "open",
                "active",
                code={"text": "Rygestop"},
                performer=[RANDERS],
                occurrencePeriod={"start": "2025-12-01", "end": "2025-12-31"},
            ),
            referral("on-hold", "on-hold", occurrenceDateTime="2026-01-05"),
            referral("done", "completed"),
            referral("revoked", "revoked"),
            referral("error", "entered-in-error"),
        ],
        now=NOW,
    )
    assert [(r.id, r.status, r.due) for r in status.open_referrals] == [
        ("open", "active", "2025-12-31"),
        ("on-hold", "on-hold", "2026-01-05"),
    ]
    first = status.open_referrals[0]
    assert (first.what, first.owner) == ("Rygestop", Party("Randers Kommune", "730"))


def test_a_referral_closes_when_fulfilled_answered_or_marked_done() -> None:
    def referral(id: str, **more: Any) -> Shown:
        return shown(resourceType="ServiceRequest", id=id, status="active", **more)

    identifier = {"system": "urn:oid:1.2.208.176.1.1.200000002", "value": "henv-7"}
    status = derive_status(
        None,
        [
            referral("open"),
            referral("fulfilled"),
            referral("answered"),
            referral("by-identifier", identifier=[identifier]),
            referral("in-inbox"),
            referral("wrongly-answered"),
            stay(
                "visit",
                "finished",
                "2025-11-20",
                "2025-11-20",
                basedOn=[{"reference": "ServiceRequest/fulfilled"}],
            ),
            shown(
                "municipality",
                resourceType="Communication",
                id="reply",
                status="completed",
                basedOn=[{"reference": "ServiceRequest/answered"}],
            ),
            shown(
                "municipality",
                resourceType="Task",
                id="t",
                status="in-progress",
                basedOn=[{"identifier": identifier}],
            ),
            # A letter written in error answers nothing.
            shown(
                "municipality",
                resourceType="Communication",
                id="oops",
                status="entered-in-error",
                basedOn=[{"reference": "ServiceRequest/wrongly-answered"}],
            ),
        ],
        now=NOW,
        closed_referrals={"in-inbox"},
    )
    assert sorted(r.id for r in status.open_referrals) == ["open", "wrongly-answered"]


def plan(id: str = "plan", status: str = "active") -> Shown:
    return shown(
        "municipality",
        resourceType="CarePlan",
        id=id,
        status=status,
        intent="plan",
        category=[ROUND_TABLE],
        title="Fælles plan",
        author=RANDERS,
    )


def task(id: str, status: str, due: str | None, plan_id: str = "plan") -> Shown:
    return shown(
        "municipality",
        resourceType="Task",
        id=id,
        status=status,
        intent="plan",
        basedOn=[{"reference": f"CarePlan/{plan_id}"}],
        description=f"Handling {id}",
        owner={"display": "Boligsocialt team"},
        **({"restriction": {"period": {"end": due}}} if due else {}),
    )


def test_an_active_plan_with_its_tovholder_and_overdue_actions() -> None:
    status = derive_status(
        None,
        [
            plan(),
            plan("old", "revoked"),
            task("late", "requested", "2025-11-20"),
            task("late-time", "in-progress", "2025-11-26T12:59:00+01:00"),
            task("today", "accepted", "2025-11-26"),  # due today: not yet overdue
            task("future", "requested", "2025-12-20"),
            task("done", "completed", "2025-11-01"),
            task("cancelled", "cancelled", "2025-11-01"),
            task("no-due", "requested", None),
            task("of-old-plan", "requested", "2025-11-01", plan_id="old"),
        ],
        now=NOW,
    )
    (active,) = status.active_plans
    assert (active.id, active.title, active.round_table) == ("plan", "Fælles plan", True)
    assert active.tovholder == Party("Randers Kommune", "730")
    assert len(active.actions) == 7
    assert [a.id for a in status.overdue_actions] == ["late", "late-time"]
    late = status.overdue_actions[0]
    assert (late.owner, late.due, late.plan_id) == (
        Party("Boligsocialt team", None),
        "2025-11-20",
        "plan",
    )


def test_an_action_of_a_plan_the_viewer_may_not_see_is_not_shown() -> None:
    hidden_plan_task = task("t", "requested", "2025-11-01")
    withheld = Shown(
        hidden_plan_task.sector, {**hidden_plan_task.content, "basedOn": [{"display": "withheld"}]}
    )
    status = derive_status(None, [withheld], now=NOW)
    assert status.active_plans == () and status.overdue_actions == ()


def test_a_date_due_lasts_its_whole_danish_day() -> None:
    assert due_instant("2025-11-26") == datetime(2025, 11, 26, 23, 0, tzinfo=UTC)
    assert due_instant("2025-12") == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)


def meeting(id: str, status: str, start: str | None, **more: Any) -> Shown:
    return shown(
        "municipality",
        resourceType="Appointment",
        id=id,
        status=status,
        serviceType=more.pop("serviceType", [ROUND_TABLE]),
        **({"start": start} if start else {}),
        **more,
    )


def test_the_next_round_table_is_the_earliest_upcoming() -> None:
    participants = [
        {
            "actor": {"identifier": {"system": SOR_SYSTEM, "value": "730"}, "display": "Randers"},
            "type": [{"text": "tovholder"}],
            "required": "required",
            "status": "accepted",
        },
        {
            "actor": {"identifier": {"system": SOR_SYSTEM, "value": "100"}, "display": "RHR"},
            "type": [{"text": "sygehus"}],
            "required": "optional",
            "status": "needs-action",
        },
        {
            "actor": {"identifier": {"system": CPR_SYSTEM, "value": "0101709995"}},
            "status": "accepted",
        },
        {"actor": {"reference": "Patient/p"}, "status": "accepted"},  # as the hub stores it
    ]
    status = derive_status(
        None,
        [
            meeting("past", "booked", "2025-11-20T10:00:00+01:00"),
            meeting("held", "fulfilled", "2025-12-01T10:00:00+01:00"),
            meeting("cancelled", "cancelled", "2025-12-01T09:00:00+01:00"),
            meeting("other", "booked", "2025-12-01T09:00:00+01:00", serviceType=[{"text": "X"}]),
            meeting("unscheduled", "proposed", None),
            meeting(
                "next",
                "booked",
                "2025-12-03T10:00:00+01:00",
                end="2025-12-03T11:30:00+01:00",
                reasonCode=[{"text": "Tre akutte indlæggelser"}],
                participant=participants,
            ),
            meeting("later", "pending", "2025-12-10T10:00:00+01:00"),
        ],
        now=NOW,
    )
    found = status.next_round_table
    assert found is not None
    assert (found.id, found.status, found.start, found.reason) == (
        "next",
        "booked",
        "2025-12-03T10:00:00+01:00",
        "Tre akutte indlæggelser",
    )
    assert [(p.display, p.sor, p.role, p.required, p.status) for p in found.participants] == [
        ("Randers", "730", "tovholder", True, "accepted"),
        ("RHR", "100", "sygehus", False, "needs-action"),
    ]


def test_a_meeting_without_a_time_is_next_when_none_has_one() -> None:
    status = derive_status(
        None,
        [meeting("past", "booked", "2025-11-20T10:00:00+01:00"), meeting("u", "proposed", None)],
        now=NOW,
    )
    assert status.next_round_table is not None
    assert (status.next_round_table.id, status.next_round_table.start) == ("u", None)
    assert (
        derive_status(None, [meeting("past", "booked", "2025-11-20")], now=NOW).next_round_table
        is None
    )
