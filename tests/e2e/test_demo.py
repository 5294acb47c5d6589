"""``hub serve --demo``: what a newcomer sees after the README's first command."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hub.entrypoints.demo import DEMO_CPR
from tests.e2e.conftest import Deployment
from tests.support.hub_process import hub_env, hub_process, run_hub
from tests.support.services import free_port


def test_demo_prints_a_working_url_and_token_and_shows_a_readmission(tmp_path: Path) -> None:
    env = hub_env(tmp_path / "var")
    port = free_port()
    log = tmp_path / "serve.log"
    base_url = f"http://127.0.0.1:{port}"
    for run in ("first start", "second start"):
        with hub_process(
            "serve",
            "--demo",
            "--port",
            str(port),
            env=env,
            log=log,
            health_url=f"{base_url}/healthz",
        ):
            printed = log.read_text()
            assert f"GraphQL:  {base_url}/graphql" in printed
            token = re.findall(r"Token:\s+(\S+)", printed)[-1]
            hub = Deployment(
                "demo", env, base_url, tmp_path, {("hospital", "100000001", ""): token}
            )

            def of_type(kind: str, hub: Deployment = hub, token: str = token) -> list[Any]:
                entries = hub.pathway(DEMO_CPR, token)["entries"]
                return [e for e in entries if e["resourceType"] == kind]

            def seen() -> bool:
                stays = [e["status"] for e in of_type("Encounter")]
                # Two acute admissions within 30 days: the cohort rule flags the citizen.
                return stays == ["finished", "finished"] and len(of_type("Flag")) == 1

            hub.wait_for(seen, f"the demo ({run})")
            stays = of_type("Encounter")
            # Newest first: the readmission, then the first stay.
            assert stays[0]["start"] > stays[1]["start"]
            assert all(e["fhir"]["meta"]["versionId"] == "2" for e in stays)
            assert of_type("Task")[0]["fhir"]["status"] == "requested"  # a rundbordsmøde proposed
    # Starting again on a later day does not re-send the demo as new messages.
    assert run_hub("deadletters", "list", env=env).stdout.strip() == "no dead letters"
