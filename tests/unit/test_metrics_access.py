"""``/metrics``: served to the scraper with its token, and naming no subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.applications import Starlette

from hub import clock
from hub.config import ConfigError
from hub.entrypoints.asgi import create_app
from hub.services.metrics import webhook_families
from hub.store.webhook_deliveries import WebhookBacklog
from tests.conftest import hub_settings

SCRAPER_TOKEN = "scraper-token-of-at-least-32-bytes-0123456789"


@asynccontextmanager
async def scraping(directory: Path, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(hub_settings(directory, **env))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://hub") as client,
    ):
        yield client


async def test_a_production_hub_shows_its_metrics_only_to_the_scraper_with_the_token(
    tmp_path: Path,
) -> None:
    async with scraping(tmp_path, HUB_DEV="false", HUB_METRICS_TOKEN=SCRAPER_TOKEN) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer guessed"})
        assert wrong.status_code == 401
        assert "brobygger_" not in wrong.text
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER_TOKEN}"})
        assert scraped.status_code == 200
        assert "brobygger_outbox_pending 0.0" in scraped.text


async def test_a_production_hub_without_a_metrics_token_does_not_serve_them(
    tmp_path: Path,
) -> None:
    async with scraping(tmp_path, HUB_DEV="false") as client:
        refused = await client.get("/metrics")
        assert refused.status_code == 404
        assert "HUB_METRICS_TOKEN" in refused.json()["error"]["what"]


async def test_a_development_hub_shows_its_metrics_without_a_token(tmp_path: Path) -> None:
    async with scraping(tmp_path, HUB_DEV="true") as client:
        assert (await client.get("/metrics")).status_code == 200


def test_a_short_metrics_token_is_refused_in_production(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_METRICS_TOKEN must be at least 32 bytes"):
        hub_settings(tmp_path, HUB_DEV="false", HUB_METRICS_TOKEN="short")
    token_file = tmp_path / "metrics-token"
    token_file.write_text(SCRAPER_TOKEN + "\n")
    from_file = hub_settings(tmp_path, HUB_DEV="false", HUB_METRICS_TOKEN_FILE=str(token_file))
    assert from_file.metrics_token == SCRAPER_TOKEN
    assert SCRAPER_TOKEN not in repr(from_file)


def test_webhook_metrics_sum_over_subscriptions_and_name_none() -> None:
    now = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    backlog = [
        WebhookBacklog("5b0c1d2e-0000-4000-8000-000000000001", 3, 1, 0, now - timedelta(minutes=5)),
        WebhookBacklog("5b0c1d2e-0000-4000-8000-000000000002", 0, 0, 2, None),
        WebhookBacklog("5b0c1d2e-0000-4000-8000-000000000003", 4, 4, 1, now - timedelta(hours=1)),
    ]
    with clock.using(clock.FixedClock(now)):
        families = webhook_families(backlog)
    text = exposition(families)
    for row in backlog:
        assert row.subscription_id not in text
    assert "subscription=" not in text
    assert "brobygger_webhook_backlog 7.0" in text
    assert "brobygger_webhook_retrying 5.0" in text
    assert "brobygger_webhook_dead 3.0" in text
    assert "brobygger_webhook_subscriptions_behind 2.0" in text
    assert "brobygger_webhook_oldest_pending_seconds 3600.0" in text


def exposition(families: list[GaugeMetricFamily | CounterMetricFamily]) -> str:
    class Snapshot:
        def collect(self) -> list[GaugeMetricFamily | CounterMetricFamily]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot())  # type: ignore[arg-type]
    return generate_latest(registry).decode()
