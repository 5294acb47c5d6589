"""Webhook rules: back-off, giving up, signatures, the notification body and the settings."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.fhirtools.validation import validated
from hub.config import ConfigError, Settings
from hub.domain.identifiers import CPR_SYSTEM, cpr_of
from hub.domain.translation import FhirJson
from hub.domain.webhook_payload import event_of, notification_bundle
from hub.domain.webhook_policy import (
    RetrySchedule,
    backoff_seconds,
    next_attempt_at,
    signature,
    verify_signature,
)
from hub.services.pathway_events import PathwayEventMessage

CREATED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DAY = RetrySchedule(base=1, cap=3600, give_up=86_400)


def test_each_failure_waits_about_twice_as_long_up_to_the_cap() -> None:
    lowest = [backoff_seconds(n, DAY, jitter=0) for n in range(1, 16)]
    highest = [backoff_seconds(n, DAY, jitter=1) for n in range(1, 16)]
    assert lowest[:5] == [0.5, 1, 2, 4, 8]
    assert highest[:5] == [1, 2, 4, 8, 16]
    assert max(highest) == 3600 and highest[-1] == 3600
    assert lowest[-1] == 1800  # the jitter never takes more than half of a step
    assert backoff_seconds(10_000, DAY, jitter=0.5) == 2700  # no overflow, still capped


def test_jitter_spreads_receivers_that_failed_together() -> None:
    rng = random.Random(3)  # noqa: S311 (jitter, not a secret)
    waits = {backoff_seconds(6, DAY, jitter=rng.random()) for _ in range(50)}
    assert len(waits) > 40
    assert all(16 <= wait <= 32 for wait in waits)


def test_retries_go_on_for_the_whole_window_then_give_up() -> None:
    rng = random.Random(7)  # noqa: S311 (jitter, not a secret)
    now, failures, attempts_at = CREATED, 0, [CREATED]
    while True:
        failures += 1
        retry = next_attempt_at(
            failures, window_start=CREATED, now=now, schedule=DAY, jitter=rng.random()
        )
        if retry is None:
            break
        assert now < retry <= CREATED + timedelta(days=1)
        now = retry
        attempts_at.append(now)
    # The last attempt is at the end of the 24 hours, not before it.
    assert attempts_at[-1] == CREATED + timedelta(days=1)
    assert 30 <= len(attempts_at) <= 60
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts_at)]
    assert max(gaps) <= 3600


def test_a_failure_after_the_window_gives_up_at_once() -> None:
    schedule = RetrySchedule(base=0.05, cap=0.5, give_up=2)
    late = CREATED + timedelta(seconds=2)
    assert next_attempt_at(1, window_start=CREATED, now=late, schedule=schedule, jitter=0) is None
    almost = CREATED + timedelta(seconds=1.9)
    retry = next_attempt_at(9, window_start=CREATED, now=almost, schedule=schedule, jitter=1)
    assert retry == CREATED + timedelta(seconds=2)  # one last try at the deadline


@pytest.mark.parametrize(
    ("base", "cap", "give_up"), [(0, 1, 10), (-1, 1, 10), (2, 1, 10), (1, 10, 0.5)]
)
def test_a_schedule_that_cannot_work_is_refused(base: float, cap: float, give_up: float) -> None:
    with pytest.raises(ValueError, match=r"retry|giving up"):
        RetrySchedule(base=base, cap=cap, give_up=give_up)


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    # RFC 4231, test case 2.
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    body = b'{"resourceType":"Bundle"}'
    expected = hmac.new(b"s3cret-s3cret-s3cret", body, hashlib.sha256).hexdigest()
    assert signature("s3cret-s3cret-s3cret", body) == f"sha256={expected}"


def test_a_receiver_accepts_only_the_body_the_hub_signed() -> None:
    body = b'{"eventNumber":1}'
    header = signature("receiver-secret-0001", body)
    assert verify_signature("receiver-secret-0001", body, header)
    assert not verify_signature("receiver-secret-0001", b'{"eventNumber":2}', header)
    assert not verify_signature("another-secret-0002", body, header)
    assert not verify_signature("receiver-secret-0001", body, header.removeprefix("sha256="))
    assert not verify_signature("receiver-secret-0001", body, None)


ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "enc-1",
    "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    "period": {"start": "2026-11-01T08:00:00+01:00", "end": "2026-11-04T11:30:00+01:00"},
}


def event(**changes: object) -> dict[str, object]:
    return {
        "subscriptionId": "6f1c2d9e-0000-4000-8000-000000000001",
        "eventNumber": 7,
        "kind": "discharge",
        "cpr": "0101709995",
        "encounterId": "enc-1",
        "at": "2026-11-04T10:30:00+00:00",
        "withheld": False,
        "encounter": ENCOUNTER,
    } | changes


def test_the_body_is_a_backport_notification_bundle_focused_on_the_encounter() -> None:
    bundle = notification_bundle(event(), sent_at=CREATED)
    assert validated(bundle)["type"] == "history"  # valid FHIR R4
    status, stay = bundle["entry"]
    assert status["resource"]["resourceType"] == "Parameters"
    parameters = {p["name"]: p for p in status["resource"]["parameter"]}
    assert parameters["type"]["valueCode"] == "event-notification"
    assert parameters["status"]["valueCode"] == "active"
    assert parameters["events-since-subscription-start"]["valueString"] == "7"
    assert parameters["subscription"]["valueReference"]["reference"] == (
        "Subscription/6f1c2d9e-0000-4000-8000-000000000001"
    )
    parts = {p["name"]: p for p in parameters["notification-event"]["part"]}
    assert parts["event-number"]["valueString"] == "7"
    assert parts["timestamp"]["valueInstant"] == "2026-11-04T10:30:00+00:00"
    assert parts["focus"]["valueReference"]["reference"] == "Encounter/enc-1"
    assert stay["resource"] == ENCOUNTER
    assert stay["fullUrl"] == "Encounter/enc-1"
    assert event_of(bundle) == event()


def test_a_withheld_event_keeps_its_number_and_tells_nothing_about_the_patient() -> None:
    withheld = event(cpr=None, encounterId=None, at=None, withheld=True, encounter=None)
    bundle = notification_bundle(withheld, sent_at=CREATED)
    validated(bundle)
    (status,) = bundle["entry"]
    assert "0101709995" not in str(bundle) and "enc-1" not in str(bundle)
    (notification,) = [
        p for p in status["resource"]["parameter"] if p["name"] == "notification-event"
    ]
    assert [p["name"] for p in notification["part"]] == ["event-number"]
    assert event_of(bundle)["eventNumber"] == 7


def test_the_body_names_a_replacement_number_patient_by_identifier_unless_withheld() -> None:
    replacement = ("urn:oid:1.2.208.176.1.6.1.1", "0703921VJ5")

    def sent(patient_key: str, *, withheld: bool = False) -> FhirJson:
        message = PathwayEventMessage(
            subscription_id="6f1c2d9e-0000-4000-8000-000000000001",
            event_number=7,
            kind="discharge",
            cpr=None if withheld else cpr_of(patient_key),
            encounter_id=None if withheld else "enc-1",
            at=None if withheld else CREATED,
            withheld=withheld,
            encounter=None if withheld else ENCOUNTER,
            patient_key=patient_key,
        )
        return notification_bundle(message.to_json(), sent_at=CREATED)

    told = event_of(validated(sent("|".join(replacement))))
    assert told["cpr"] is None
    assert told["patient"] == {"system": replacement[0], "value": replacement[1]}
    assert event_of(sent("cpr:0101709995"))["patient"] == {
        "system": CPR_SYSTEM,
        "value": "0101709995",
    }
    withheld = sent("|".join(replacement), withheld=True)
    assert event_of(withheld)["patient"] is None
    assert replacement[1] not in str(withheld)


def test_webhook_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "HUB_VAR_DIR": str(tmp_path),
            "HUB_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
            "HUB_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
            "HUB_WEBHOOK_GIVE_UP_SECONDS": "3",
            "HUB_WEBHOOK_TIMEOUT_SECONDS": "2.5",
        }
    ).webhooks
    assert settings.retry == RetrySchedule(base=0.05, cap=0.5, give_up=3)
    assert settings.timeout_seconds == 2.5
    defaults = Settings.from_env({"HUB_VAR_DIR": str(tmp_path)}).webhooks
    assert defaults.retry == RetrySchedule(base=1, cap=3600, give_up=86_400)
    assert defaults.poll_seconds <= 0.25


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_WEBHOOK_GIVE_UP_SECONDS": "0.5"}, "HUB_WEBHOOK_GIVE_UP_SECONDS must be at least 1"),
        ({"HUB_WEBHOOK_RETRY_BASE_SECONDS": "soon"}, "must be a number of seconds"),
        ({"HUB_WEBHOOK_RETRY_BASE_SECONDS": "nan"}, "HUB_WEBHOOK_RETRY_BASE_SECONDS"),
        (
            {"HUB_WEBHOOK_RETRY_BASE_SECONDS": "10", "HUB_WEBHOOK_RETRY_MAX_SECONDS": "5"},
            "HUB_WEBHOOK_RETRY_MAX_SECONDS must be at least",
        ),
        ({"HUB_WEBHOOK_TIMEOUT_SECONDS": "0"}, "HUB_WEBHOOK_TIMEOUT_SECONDS"),
    ],
)
def test_unusable_webhook_settings_are_refused(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({"HUB_VAR_DIR": str(tmp_path), **env})
