"""Runs the real ``hub`` command as a separate process, the way an operator would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.clock import OFFSET_VARIABLE, offset_days

HUB = str(Path(sys.executable).parent / "hub")


def hub_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a hub process: none of the caller's ``HUB_`` settings but the
    clock's, so every process of a run reads the same time as the tests. Webhooks may
    go to loopback (the tests' receivers listen there; ``extra`` may say otherwise).
    Every test talks to the hub from loopback, so failed sign-ins, which many tests
    try on purpose, are allowed often (the limits are tested in
    tests/unit/test_rate_limits.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {
            "HUB_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
            "HUB_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1",
            "HUB_RATE_LIMIT_AUTH_FAILURES": "10000/minute",
        },
        **extra,
    )
    if offset_days():
        env.setdefault(OFFSET_VARIABLE, str(offset_days()))
    return env


def run_hub(
    *args: str, env: Mapping[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUB, *args], env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def hub_process(
    *args: str, env: Mapping[str, str], log: Path, health_url: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``hub ARGS``; wait for ``health_url`` to answer 200; SIGTERM it on exit."""
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [HUB, *args], env=dict(env), stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        if health_url is not None:
            _wait_healthy(process, health_url, log)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hub exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"hub did not become healthy at {url}:\n{log.read_text()[-3000:]}")
