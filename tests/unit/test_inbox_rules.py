"""Which stored versions file which inbox items, and how an item moves on (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.consent import Item, Sector, Viewer, addressed_to, addressees
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.inbox import (
    Filing,
    InboxKind,
    InboxState,
    InboxStateError,
    filings,
    next_state,
    title,
)
from hub.domain.pathway_codes import ROUND_TABLE
from hub.domain.safety_plan import SafetyPlan, safety_care_plan

AUTHOR = "sor:100000001"


def addressed(content: dict[str, Any]) -> frozenset[str]:
    return addressees(Item(str(content["resourceType"]), "x", "hospital", "1", content))


def filed(
    resource_type: str, previous: dict[str, Any] | None, current: dict[str, Any], **kw: Any
) -> list[Filing]:
    return filings(
        resource_type,
        previous,
        current,
        addressees_of=addressed,
        author=kw.pop("author", AUTHOR),
        **kw,
    )


def sor(code: str) -> dict[str, Any]:
    return {"identifier": {"system": SOR_SYSTEM, "value": code}}


def referral(status: str = "active", *performers: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": status,
        "performer": [sor(p) for p in performers],
        **more,
    }


def test_a_referral_goes_to_each_new_performer_once_and_never_to_its_author() -> None:
    first = referral("active", "730000001", "100000001")
    assert filed("ServiceRequest", None, first) == [
        Filing(InboxKind.REFERRAL, frozenset({"sor:730000001"}))
    ]
    # The same referral again, or one more status change, files nothing new.
    assert filed("ServiceRequest", first, first) == []
    more = referral("active", "730000001", "751000001")
    assert filed("ServiceRequest", first, more) == [
        Filing(InboxKind.REFERRAL, frozenset({"sor:751000001"}))
    ]
    # A draft is not sent yet; a revoked one is not to be acted on.
    assert filed("ServiceRequest", None, referral("draft", "730000001")) == []
    assert filed("ServiceRequest", None, referral("revoked", "730000001")) == []
    # Activated from a draft: now it is sent.
    assert filed("ServiceRequest", referral("draft", "730000001"), first)[0].addressees == {
        "sor:730000001"
    }


def test_a_deferred_referral_is_due_on_its_day() -> None:
    deferred = referral("active", "730000001", occurrencePeriod={"start": "2025-03-01"})
    (filing,) = filed("ServiceRequest", None, deferred)
    assert filing.due_at == datetime(2025, 3, 1, tzinfo=UTC)
    # The same day addressed disclosure shows it from: the item and the referral agree.
    randers = Viewer(Sector.MUNICIPALITY, "730000001", kommune="730")
    item = Item("ServiceRequest", "r", "hospital", "100000001", deferred)
    assert not addressed_to(randers, item, filing.due_at.replace(hour=0) - timedelta(seconds=1))
    assert addressed_to(randers, item, filing.due_at)


def test_letters_tasks_and_proposals_go_to_whom_they_are_addressed() -> None:
    letter = {
        "resourceType": "Communication",
        "status": "completed",
        "recipient": [sor("730000001")],
    }
    assert filed("Communication", None, letter)[0].kind is InboxKind.CORRESPONDENCE
    assert filed("Communication", None, {**letter, "status": "entered-in-error"}) == []
    task = {"resourceType": "Task", "status": "requested", "owner": sor("730000001")}
    assert filed("Task", None, task)[0].kind is InboxKind.ACTION_ASSIGNED
    handed_on = {**task, "owner": sor("730000002")}
    assert filed("Task", task, handed_on) == [
        Filing(InboxKind.ACTION_ASSIGNED, frozenset({"sor:730000002"}))
    ]
    assert filed("Task", task, {**task, "status": "completed"}) == []
    kommune = {
        "identifier": {
            "system": "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes",
            "value": "0730",
        }
    }
    proposal = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "proposal",
        "code": {"coding": [ROUND_TABLE.coding()]},
        "restriction": {"recipient": [kommune, {"display": "Kommune 730"}]},
    }
    assert filed("Task", None, proposal) == [
        Filing(InboxKind.COHORT_PROPOSAL, frozenset({"kommune:730"}))
    ]


def meeting(start: str, *orgs: str, status: str = "booked") -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": start,
        "serviceType": [{"coding": [ROUND_TABLE.coding()]}],
        "participant": [{"actor": sor(org)} for org in ("100000001", *orgs)],
    }


def test_a_meeting_invites_the_newly_invited_and_tells_the_rest_when_it_moves() -> None:
    first = meeting("2025-01-10T10:00:00+01:00", "730000001")
    assert filed("Appointment", None, first) == [
        Filing(InboxKind.ROUND_TABLE_INVITATION, frozenset({"sor:730000001"}))
    ]
    moved = meeting("2025-01-11T09:00:00+01:00", "730000001", "300000003")
    assert filed("Appointment", first, moved) == [
        Filing(InboxKind.ROUND_TABLE_INVITATION, frozenset({"sor:300000003"})),
        Filing(InboxKind.ROUND_TABLE_CHANGED, frozenset({"sor:730000001"})),
    ]
    cancelled = {**moved, "status": "cancelled"}
    assert filed("Appointment", moved, cancelled) == [
        Filing(InboxKind.ROUND_TABLE_CHANGED, frozenset({"sor:730000001", "sor:300000003"}))
    ]
    assert title("round-table-changed", cancelled) == "Rundbordsmøde aflyst"
    assert title("round-table-changed", moved) == "Rundbordsmøde flyttet til 11.01.2025 kl. 09.00"
    # A participant's answer moves nothing and tells no one.
    answered = {
        **first,
        "participant": [
            *first["participant"][:1],
            {"actor": sor("730000001"), "status": "accepted"},
        ],
    }
    assert filed("Appointment", first, answered) == []


def test_a_plan_goes_to_the_meetings_participants_when_it_changes() -> None:
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "category": [{"coding": [ROUND_TABLE.coding()]}],
        "description": "Bolig",
    }
    participants = {"sor:730000001", AUTHOR}
    assert filed("CarePlan", None, plan, meeting_participants=participants) == [
        Filing(InboxKind.ROUND_TABLE_PLAN, frozenset({"sor:730000001"}))
    ]
    assert filed("CarePlan", plan, {**plan, "id": "same"}, meeting_participants=participants) == []
    assert filed(
        "CarePlan", plan, {**plan, "description": "Bolig\nJob"}, meeting_participants=participants
    )


def test_a_safety_plan_goes_to_the_meetings_participants_under_its_own_heading() -> None:
    plan = SafetyPlan(
        meeting_key="k1",
        warning_signs=("Trækker sig fra vennerne",),
        coping=("Går en tur med hunden",),
        people_and_places=(),
        contacts=("Psykiatriens akuttelefon",),
        tovholder="730000001",
        reviews=(),
    )
    written = safety_care_plan(plan, "0101091234", "2025-11-20")
    participants = {"sor:730000001", "sor:751000001", AUTHOR}
    expected = [Filing(InboxKind.ROUND_TABLE_PLAN, frozenset(participants - {AUTHOR}))]
    assert filed("CarePlan", None, written, meeting_participants=participants) == expected
    assert title("round-table-plan", written) == (
        "Sikkerhedsplan fra rundbordsmøde delt eller ændret"
    )
    revised = {**written, "activity": [*written["activity"], *written["activity"][:1]]}
    assert filed("CarePlan", written, revised, meeting_participants=participants) == expected
    assert filed("CarePlan", written, {**written}, meeting_participants=participants) == []
    withdrawn = {**written, "status": "entered-in-error"}
    assert filed("CarePlan", written, withdrawn, meeting_participants=participants) == []
    # Another CarePlan of the patient (not written at a meeting) files nothing.
    other = {**written, "category": [{"coding": [{"system": "urn:x", "code": "pleje"}]}]}
    assert filed("CarePlan", None, other, meeting_participants=participants) == []


def test_an_item_moves_on_and_never_back() -> None:
    assert next_state("new", "seen", None) == (InboxState.SEEN, None)
    assert next_state("seen", "done", " ") == (InboxState.DONE, None)
    assert next_state("new", "declined", " Borgeren flyttet ") == (
        InboxState.DECLINED,
        "Borgeren flyttet",
    )
    for current, wanted, reason, code in (
        ("new", "declined", "", "reason-required"),
        ("done", "seen", None, "item-closed"),
        ("declined", "done", None, "item-closed"),
        ("seen", "new", None, "state-backwards"),
        ("new", "archived", None, "unknown-state"),
        ("new", "declined", "x" * 501, "reason-too-long"),
    ):
        with pytest.raises(InboxStateError) as refused:
            next_state(current, wanted, reason)
        assert refused.value.code == code


def test_a_kommune_address_reaches_its_own_municipality_only() -> None:
    letter = {
        "resourceType": "Communication",
        "recipient": [
            {
                "identifier": {
                    "system": "http://hl7.dk/fhir/core/CodeSystem/dk-core-municipality-codes",
                    "value": "0730",
                }
            }
        ],
    }
    item = Item("Communication", "c", "hospital", "100000001", letter)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    randers = Viewer(Sector.MUNICIPALITY, "730000002", kommune="730")
    assert addressed_to(randers, item, now)
    for outsider in (
        Viewer(Sector.MUNICIPALITY, "751000001", kommune="751"),
        # A hospital's token naming a kommune is not the kommune.
        Viewer(Sector.HOSPITAL, "100000009", kommune="730"),
        Viewer(Sector.GP, "300000003", kommune="730"),
    ):
        assert not addressed_to(outsider, item, now)


identities = st.sampled_from(
    ["sor:100000001", "sor:730000001", "sor:751000001", "gln:5790000000001", "kommune:730"]
)
statuses = st.sampled_from(
    ["draft", "active", "on-hold", "revoked", "completed", "entered-in-error"]
)


@given(
    author=identities.filter(lambda i: i.startswith("sor:")),
    before=st.one_of(st.none(), st.tuples(statuses, st.frozensets(identities))),
    after=st.tuples(statuses, st.frozensets(identities)),
)
def test_no_one_is_filed_what_it_wrote_or_what_was_not_sent_to_it(
    author: str,
    before: tuple[str, frozenset[str]] | None,
    after: tuple[str, frozenset[str]],
) -> None:
    """Whatever a sender puts in its referrals, an item goes only to an addressee the
    version names, never to the author, and only while the referral is active."""

    def content(status: str, to: frozenset[str]) -> dict[str, Any]:
        return {"resourceType": "ServiceRequest", "status": status, "to": sorted(to)}

    def named(c: dict[str, Any]) -> frozenset[str]:
        return frozenset(c["to"])

    previous = content(*before) if before else None
    found = filings("ServiceRequest", previous, content(*after), addressees_of=named, author=author)
    for filing in found:
        assert author not in filing.addressees
        assert filing.addressees <= after[1]
        assert after[0] == "active"
        if before is not None and before[0] == "active":
            assert not filing.addressees & before[1]
