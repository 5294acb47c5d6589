"""Bad input over HTTP: a precise 4xx, the raw bytes kept as a dead letter, serving on.

The tests share one hub, except the one that counts every open dead letter.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Deployment, module_hub
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

SIU = (
    b"MSH|^~\\&|BOOK|RHR|HUB|HUB|20261101080000||SIU^S12|X1|P|2.5\r"
    b"PID|1||0101709995^^^CPR^NNDNK||Nielsen^Bo\r"
)

BAD_MESSAGES = {
    "empty body": (b"", None),
    "not HL7": (b"Dear colleague, please admit Bo.", None),
    "wrong message type": (SIU, "MSH-9"),
    "missing PID-3": (adt("A01", pid3=""), "PID-3"),
    "bad admit timestamp": (adt("A01", admitted="20261341080000"), "PV1-44"),
    "discharge without a discharge time": (adt("A03", discharged=""), "PV1-45"),
}


# Input handling is the same whatever is behind intake; one deployment is enough.
embedded = pytest.mark.parametrize("deployment", ["embedded-sqlite"], indirect=True)


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One hub for the module: no test here asserts what the others sent it."""
    with module_hub(request, tmp_path_factory.mktemp("bad-input")) as hub:
        yield hub


@embedded
@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_bad_message_is_rejected_precisely_and_kept(deployment: Deployment, case: str) -> None:
    message, where = BAD_MESSAGES[case]
    response = deployment.ingest(message)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["what"]
    if where is not None:
        assert error["where"] == where

    shown = run_hub("deadletters", "show", error["deadLetterId"], env=deployment.env)
    assert shown.returncode == 0, shown.stderr
    assert error["what"] in shown.stdout
    assert message.decode().replace("\r", "\n").strip() in shown.stdout

    # The server is still serving and still accepts good messages.
    assert httpx.get(f"{deployment.base_url}/healthz").status_code == 200
    assert deployment.ingest(adt("A01")).status_code == 202


@embedded
def test_oversize_body_is_refused(deployment: Deployment) -> None:
    limit = 5 * 1024 * 1024
    response = deployment.ingest(adt("A01") + b"Z" * limit)
    assert response.status_code == 413
    assert deployment.ingest(adt("A01")).status_code == 202


@embedded
def test_intake_needs_a_valid_token(deployment: Deployment) -> None:
    url = f"{deployment.base_url}/ingest/hl7v2"
    assert httpx.post(url, content=adt()).status_code == 401
    wrong_key = httpx.post(
        url,
        content=adt(),
        headers={"Authorization": "Bearer " + deployment.token()[:-4] + "AAAA"},
    )
    assert wrong_key.status_code == 401
    unknown_format = deployment.ingest(adt(), format="edifact")
    assert unknown_format.status_code == 404


@embedded
def test_dead_letters_can_be_listed_and_replayed_from_the_command_line(
    deployment: Deployment,
) -> None:
    rejected = deployment.ingest(adt("A01", pid3=""))
    letter_id = rejected.json()["error"]["deadLetterId"]
    listing = run_hub("deadletters", "list", env=deployment.env)
    assert letter_id in listing.stdout and "PID-3" in listing.stdout

    replay = run_hub("deadletters", "replay", letter_id, env=deployment.env)
    assert replay.returncode == 1  # the message itself is still wrong
    assert "PID-3" in replay.stdout
    assert letter_id in run_hub("deadletters", "list", env=deployment.env).stdout


@pytest.mark.parametrize("fresh_deployment", ["embedded-sqlite"], indirect=True)
def test_a_fix_then_replay_all_accepts_every_open_dead_letter_once(
    fresh_deployment: Deployment,
) -> None:
    """Training messages are refused until the operator allows them, then replayed."""
    deployment = fresh_deployment  # it counts every open dead letter: none but its own
    training = [
        adt("A01", cpr=cpr, visit=f"T-{cpr}", control_id=f"TRAIN-{cpr}").replace(
            b"|P|2.5", b"|T|2.5"
        )
        for cpr in ("0202709995", "0303709995")
    ]
    for message in training:
        response = deployment.ingest(message)
        assert response.status_code == 422 and response.json()["error"]["where"] == "MSH-11"

    metrics = httpx.get(f"{deployment.base_url}/metrics").text
    assert 'brobygger_dead_letters_open{format="hl7v2",stage="intake"} 2.0' in metrics
    assert 'brobygger_intake_rejected_total{format="hl7v2"} 2.0' in metrics

    still_refused = run_hub("deadletters", "replay", "--all", env=deployment.env)
    assert still_refused.returncode == 1 and "0 of 2 dead letters replayed" in still_refused.stdout

    allowing_training = {**deployment.env, "HUB_HL7V2_PROCESSING_IDS": "P,T"}
    replayed = run_hub("deadletters", "replay", "--all", env=allowing_training)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "2 of 2 dead letters replayed" in replayed.stdout
    again = run_hub("deadletters", "replay", "--all", env=allowing_training)
    assert "0 of 0 dead letters replayed" in again.stdout

    for cpr in ("0202709995", "0303709995"):
        deployment.wait_for(
            lambda cpr=cpr: len(deployment.pathway(cpr)["entries"]) == 1, f"{cpr}'s admission"
        )
    metrics = httpx.get(f"{deployment.base_url}/metrics").text
    assert "brobygger_dead_letters_open{" not in metrics
