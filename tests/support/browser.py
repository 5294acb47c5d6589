"""Driving the coordinators' page: Debian's headless Chromium through Playwright, and a
plain HTTP client that signs in the way a browser does.

The browser is the one Debian installs at /usr/bin/chromium (``make test`` installs the
packages ``chromium`` and ``chromium-driver`` when they are missing); nothing is ever
downloaded. A missing browser fails the test run, it is never skipped.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
from playwright.sync_api import BrowserContext, Page, sync_playwright

from hub.config import Settings
from hub.services.auth import dev_signing_key
from tests.e2e.conftest import Deployment, embedded_hub

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=da-DK",  # the page must not depend on the browser's language: Danish here
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
# With BROBYGGER_SCREENSHOTS_TO_DOCS=1, the main pages' screenshots are saved for review
# under docs/screenshots/ as well (see docs/coordinator-page.md).
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[BrowserContext]:
    """A fresh headless Chromium (its own new user-data-dir), closed afterwards."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium and chromium-driver packages "
        "(make services-check does)"
    )
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
            locale="da-DK",
            timezone_id="Europe/Copenhagen",
            extra_http_headers={"Accept-Language": "da-DK,da;q=0.9"},
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Page, name: str, *, for_docs: bool = False) -> Path:
    """Save the whole page as ``test-artifacts/web/<name>.png`` (ignored by git); a main
    page (``for_docs``) also under docs/screenshots/ when BROBYGGER_SCREENSHOTS_TO_DOCS=1."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => document.activeElement?.blur()")  # no skip link over the page
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if for_docs and os.environ.get("BROBYGGER_SCREENSHOTS_TO_DOCS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=True)
    return path


def reissued(deployment: Deployment, token: str, **claims: Any) -> str:
    """``token`` signed again with changed claims (a name, an earlier expiry), with the
    development key the deployment verifies."""
    original = jwt.decode(token, options={"verify_signature": False})
    key = dev_signing_key(Settings.from_env(deployment.env))
    return jwt.encode({**original, **claims}, key, algorithm="HS256")


def expired(deployment: Deployment, token: str) -> str:
    """``token`` as it is once it has run out."""
    original = jwt.decode(token, options={"verify_signature": False})
    return reissued(deployment, token, exp=int(original["iat"]) - 1, iat=int(original["iat"]) - 60)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class WebSession:
    """An HTTP client signed in to the page with a token, keeping its cookies."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.Client(base_url=f"{base_url}/ui", timeout=30)
        form = self.client.get("/log-ind")
        assert form.status_code == 200, form.text
        signed_in = self.client.post(
            "/log-ind", data={"csrf": csrf_of(form.text), "token": token, "videre": "/"}
        )
        assert signed_in.status_code == 303, signed_in.text
        self.csrf = csrf_of(self.client.get("/").text)

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf, **data})

    def patient_path(self, cpr: str) -> str:
        """The page of one patient, found through the search form."""
        found = self.post("/soeg", {"cpr": cpr})
        assert found.status_code == 303, found.text
        location = found.headers["location"]
        return location.removeprefix("/ui")

    def close(self) -> None:
        self.client.close()


running_hub = embedded_hub
"""``hub serve`` on the embedded default (SQLite, embedded bus), for one test module."""
