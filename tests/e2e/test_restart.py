"""A stop between intake and consumption loses nothing and duplicates nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.conftest import Deployment, deployment_env, hub_serve
from tests.support.hl7 import adt
from tests.support.hub_process import hub_process, run_hub
from tests.support.services import free_port

CPR = "0101709995"
A01 = adt("A01", cpr=CPR, visit="V5", admitted="20261101080000", control_id="R1")
A03 = adt(
    "A03",
    cpr=CPR,
    visit="V5",
    admitted="20261101080000",
    discharged="20261103090000",
    control_id="R2",
)


@contextmanager
def serve(env: dict[str, str], tmp_path: Path, name: str) -> Iterator[Deployment]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with hub_serve(port, env, tmp_path / f"{name}.log"):
        yield Deployment(name, env, base_url, tmp_path)


def ingest_from_the_hospital(
    files: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``hub ingest hl7v2 FILES`` as the hospital's ADT feed."""
    return run_hub(
        "ingest",
        "hl7v2",
        *files,
        "--sector",
        "hospital",
        "--org",
        "100000001",
        "--alias",
        "hl7:RHR",
        env=env,
    )


def stays(deployment: Deployment) -> list[tuple[str, str]]:
    return [
        (e["status"], e["fhir"]["meta"]["versionId"])
        for e in deployment.pathway(CPR)["entries"]
        if e["resourceType"] == "Encounter"
    ]


def test_messages_taken_in_while_nothing_consumes_appear_once_after_start(
    tmp_path: Path,
) -> None:
    """Embedded default: ``hub ingest`` with no server running, then ``hub serve``, twice."""
    env = deployment_env(None, "embedded-sqlite", tmp_path)
    files = []
    for name, message in (("a01.hl7", A01), ("a03.hl7", A03)):
        (tmp_path / name).write_bytes(message)
        files.append(str(tmp_path / name))
    ingested = ingest_from_the_hospital(files, env)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert ingested.stdout.count("accepted") == 2

    with serve(env, tmp_path, "first") as hub:
        hub.wait_for(lambda: stays(hub) == [("finished", "2")], "both messages applied")
    with serve(env, tmp_path, "second") as hub:
        hub.wait_for(lambda: hub.pathway(CPR)["entries"] != [], "the pathway")
        assert stays(hub) == [("finished", "2")]


def test_a_worker_stopped_and_started_again_applies_everything_once(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Kafka + PostgreSQL: intake while no worker runs; the worker starts, stops, restarts."""
    env = deployment_env(request, "kafka-postgresql", tmp_path)
    env["HUB_SERVE_CONSUMERS"] = "false"
    with serve(env, tmp_path, "serve") as hub:
        assert hub.ingest(A01).status_code == 202
        assert hub.ingest(A03).status_code == 202
        assert stays(hub) == []  # accepted, published, not yet consumed
        with hub_process("worker", env=env, log=tmp_path / "worker-1.log"):
            hub.wait_for(lambda: stays(hub) == [("finished", "2")], "the worker to apply both")
        with hub_process("worker", env=env, log=tmp_path / "worker-2.log"):
            assert hub.ingest(adt("A01", cpr="1203389992", visit="V6")).status_code == 202
            hub.wait_for(lambda: hub.pathway("1203389992")["entries"] != [], "the restarted worker")
        assert stays(hub) == [("finished", "2")]


def test_ingest_command_reports_each_file_and_fails_if_any_is_rejected(tmp_path: Path) -> None:
    env = deployment_env(None, "embedded-sqlite", tmp_path)
    good, bad = tmp_path / "good.hl7", tmp_path / "bad.hl7"
    good.write_bytes(A01)
    bad.write_bytes(b"not hl7 at all")
    result = ingest_from_the_hospital([str(good), str(bad)], env)
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(f"accepted {good}: ")
    assert lines[1].startswith(f"rejected {bad}: ") and "dead letter" in lines[1]
