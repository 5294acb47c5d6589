"""Running hub deployments for end-to-end tests: real processes, real ports."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.domain.sectors import Sector
from hub.services.auth import TokenIssuer
from tests.conftest import new_database_url
from tests.support.hub_process import hub_env, hub_process
from tests.support.services import free_port, kafka_broker


@dataclass
class Deployment:
    """A hub as an operator runs it; ``env`` is what every one of its processes reads."""

    name: str
    env: dict[str, str]
    base_url: str
    logs: Path
    tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    def token(
        self,
        sector: str = "hospital",
        org: str = "100000001",
        kommune: str = "",
        aliases: tuple[str, ...] = (),
        *,
        roles: tuple[str, ...] = (),
        controller: str | None = None,
        cpr: str | None = None,
    ) -> str:
        """A development token as ``hub token`` issues it (same settings, same key), minted
        in this process: the command itself is tested on its own, and a process start
        per token would cost seconds."""
        key = (
            sector,
            org,
            kommune,
            *aliases,
            *(f"role:{r}" for r in roles),
            controller or "",
            cpr or "",
        )
        if key not in self.tokens:
            self.tokens[key] = TokenIssuer(Settings.from_env(self.env)).issue(
                sector=Sector(sector),
                org=org,
                sub="dev-user",  # as `hub token` names it by default
                kommune=kommune or None,
                aliases=frozenset(aliases),
                roles=frozenset(roles),
                controller=controller,
                cpr=cpr,
            )
        return self.tokens[key]

    def ingest(
        self, message: bytes, token: str | None = None, format: str = "hl7v2"
    ) -> httpx.Response:
        # The test ADT feed names its sending facility RHR (MSH-4).
        headers = {"Authorization": f"Bearer {token or self.token(aliases=('hl7:RHR',))}"}
        return httpx.post(f"{self.base_url}/ingest/{format}", content=message, headers=headers)

    def graphql(self, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base_url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token or self.token()}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def pathway(self, cpr: str, token: str | None = None) -> dict[str, Any]:
        body = self.graphql(PATHWAY_QUERY, token, cpr=cpr)
        assert "errors" not in body, body
        pathway: dict[str, Any] = body["data"]["pathway"]
        return pathway

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; logs in {self.logs}")


PATHWAY_QUERY = """
query Pathway($cpr: String!) {
  pathway(cpr: $cpr) {
    cpr patient hasMore
    entries { resourceType id sector status start end fhir }
  }
}
"""


# Shared by serve and worker, as a deployment shares its signing key.
SIGNING_KEY = "e2e-signing-key-not-for-production-0123456789"


def deployment_env(
    request: pytest.FixtureRequest | None, kind: str, tmp_path: Path
) -> dict[str, str]:
    if kind == "embedded-sqlite":
        return hub_env(tmp_path / "var")
    assert request is not None, "a Kafka deployment needs the test's broker and database"
    broker = request.getfixturevalue("fresh_kafka")
    return kafka_env(request, tmp_path, broker.bootstrap)


def kafka_env(
    request: pytest.FixtureRequest, directory: Path, bootstrap: str, **settings: str
) -> dict[str, str]:
    """A Kafka deployment's environment: a fresh PostgreSQL database, three partitions."""
    return hub_env(
        directory / "var",
        HUB_DATABASE_URL=new_database_url(request, "postgresql", directory),
        HUB_KAFKA_BOOTSTRAP=bootstrap,
        HUB_KAFKA_PARTITIONS="3",
        HUB_KAFKA_SESSION_TIMEOUT_MS="6000",
        HUB_TOKEN_SIGNING_KEY=SIGNING_KEY,
        **settings,
    )


@contextmanager
def hub_serve(port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``hub serve`` on ``port`` of 127.0.0.1, once its health check answers."""
    with hub_process(
        "serve",
        "--port",
        str(port),
        env=env,
        log=log,
        health_url=f"http://127.0.0.1:{port}/healthz",
    ) as process:
        yield process


@contextmanager
def running_hub(kind: str, env: dict[str, str], directory: Path) -> Iterator[Deployment]:
    """``hub serve`` alone (embedded default), or ``hub serve`` + ``hub worker`` on Kafka."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    logs = directory / "logs"
    logs.mkdir()
    with ExitStack() as stack:
        if kind == "kafka-postgresql":
            env["HUB_SERVE_CONSUMERS"] = "false"
            stack.enter_context(hub_process("worker", env=env, log=logs / "worker.log"))
        stack.enter_context(hub_serve(port, env, logs / "serve.log"))
        yield Deployment(kind, env, base_url, logs)


@contextmanager
def embedded_hub(directory: Path) -> Iterator[Deployment]:
    """``hub serve`` on its embedded default, for a module's tests to share."""
    env = deployment_env(None, "embedded-sqlite", directory)
    with running_hub("embedded-sqlite", env, directory) as deployment:
        yield deployment


@contextmanager
def module_hub(
    request: pytest.FixtureRequest, directory: Path, **settings: str
) -> Iterator[Deployment]:
    """A hub of ``request.param``'s kind for a whole module, with a broker of its own
    (the hub's topic and consumer groups are fixed names)."""
    with ExitStack() as stack:
        if request.param == "embedded-sqlite":
            env = hub_env(directory / "var", **settings)
        else:
            broker = stack.enter_context(kafka_broker(directory / "kafka"))
            env = kafka_env(request, directory, broker.bootstrap, **settings)
        yield stack.enter_context(running_hub(request.param, env, directory))


@pytest.fixture(params=["embedded-sqlite", "kafka-postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """``hub serve`` alone (embedded default), or ``hub serve`` + ``hub worker`` on Kafka."""
    env = deployment_env(request, request.param, tmp_path)
    with running_hub(request.param, env, tmp_path) as deployment:
        yield deployment


@pytest.fixture(params=["embedded-sqlite", "kafka-postgresql"])
def fresh_deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """A hub of the test's own, in a module whose other tests share one (``deployment``
    overridden at module scope): for a test that asserts totals over the whole hub."""
    env = deployment_env(request, request.param, tmp_path)
    with running_hub(request.param, env, tmp_path) as deployment:
        yield deployment
