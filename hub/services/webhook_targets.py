"""Where the hub may POST webhooks: the URL a subscriber registers is checked here."""

from __future__ import annotations

from urllib.parse import urlsplit


class WebhookTargetError(ValueError):
    """A webhook URL the hub will not post to (the caller can fix it)."""


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookTargetError("url must be an absolute http or https URL")
    if parts.username or parts.password:
        raise WebhookTargetError("url must not carry credentials; the hub signs its requests")
    if parts.fragment:
        raise WebhookTargetError("url must not have a fragment")
    return url.strip()
