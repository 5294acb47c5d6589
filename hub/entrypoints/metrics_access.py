"""Who may read ``/metrics``: a scraper presenting ``HUB_METRICS_TOKEN``.

Unset, the endpoint is open in development (``HUB_DEV``) and not served otherwise, so
a production hub never shows its counts to whoever can reach its port.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.config import Settings
from hub.entrypoints.http import unauthorized


def metrics_refusal(request: Request, settings: Settings) -> Response | None:
    """The answer to a scrape that may not read the metrics; None when it may."""
    expected = settings.metrics_token
    if expected is None:
        if settings.dev_mode:
            return None
        return JSONResponse(
            {"error": {"what": "metrics are served only with HUB_METRICS_TOKEN set"}},
            status_code=404,
        )
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        return unauthorized("/metrics needs 'Authorization: Bearer <HUB_METRICS_TOKEN>'")
    return None
