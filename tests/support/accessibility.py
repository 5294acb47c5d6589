"""An accessibility check with axe-core, the npm package (tests/support/axe, installed by
``make test``), injected into the page under test.

The page's Content-Security-Policy allows no script; the check runs axe through the
browser's DevTools protocol (Playwright's ``evaluate``), which the policy does not
govern, so the page is checked exactly as served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("serious", "critical")


@cache
def _axe_source() -> str:
    assert AXE.exists(), f"{AXE} is missing: make services-check installs axe-core (npm ci)"
    return AXE.read_text()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result: dict[str, Any] = page.evaluate(
        """async (tags) => {
            const found = await window.axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return {version: window.axe.version, violations: found.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))};
        }""",
        TAGS,
    )
    return [v for v in result["violations"] if v["impact"] in FAILING]


def check_axe(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}: {violations}"
