"""Where resources sit on a pathway's timeline."""

from __future__ import annotations

from hub.domain.timeline import timeline_fields


def test_a_deferred_referral_sits_when_the_citizen_is_to_be_called() -> None:
    fields = timeline_fields(
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "authoredOn": "2025-03-10",
            "occurrencePeriod": {"start": "2025-06-10"},
        }
    )
    assert (fields.status, fields.start, fields.end) == ("active", "2025-06-10", None)


def test_a_referral_without_an_occurrence_sits_when_it_was_written() -> None:
    fields = timeline_fields(
        {"resourceType": "ServiceRequest", "status": "active", "authoredOn": "2025-03-10"}
    )
    assert fields.start == "2025-03-10"


def test_encounters_tasks_communications_and_appointments() -> None:
    encounter = {
        "resourceType": "Encounter",
        "period": {"start": "2026-11-01", "end": "2026-11-04"},
    }
    task = {"resourceType": "Task", "executionPeriod": {"start": "2026-11-05"}}
    sent = {"resourceType": "Communication", "sent": "2026-11-02T10:00:00+01:00"}
    meeting = {
        "resourceType": "Appointment",
        "start": "2026-11-06T10:00:00+01:00",
        "end": "2026-11-06T11:00:00+01:00",
    }
    assert (timeline_fields(encounter).start, timeline_fields(encounter).end) == (
        "2026-11-01",
        "2026-11-04",
    )
    assert timeline_fields(task).start == "2026-11-05"
    assert timeline_fields(sent).start == "2026-11-02T10:00:00+01:00"
    assert timeline_fields(meeting).end == "2026-11-06T11:00:00+01:00"
    assert timeline_fields({"resourceType": "Organization"}).start is None
