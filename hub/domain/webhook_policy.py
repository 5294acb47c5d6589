"""When a webhook delivery is tried again, when it is given up, and how its body is signed.

Pure rules: the sender (``hub.runtime.pathway_event_webhooks``) asks them and does the
waiting and posting.

Back-off is exponential with "equal jitter": the n-th failure waits between half and
all of ``min(cap, base * 2**(n-1))``. Half keeps the back-off growing; the random
other half keeps many receivers that failed together from being retried together.
Retries go on for at least ``give_up`` after the delivery's window began (when it was
created, or made pending again): the last retry is placed at the end of the window,
and only a failure at or after that end gives the delivery up.

The signature is an HMAC-SHA256 of the exact body bytes with the subscription's
secret, sent as ``X-Brobygger-Signature: sha256=<hex>``. A receiver recomputes it
over the raw body it received (before parsing it) and compares in constant time,
e.g. with ``verify_signature`` or ``hmac.compare_digest``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

SIGNATURE_PREFIX = "sha256="


@dataclass(frozen=True)
class RetrySchedule:
    """How a failing webhook delivery is retried (seconds)."""

    base: float = 1.0
    cap: float = 3600.0
    give_up: float = 86_400.0

    def __post_init__(self) -> None:
        if self.base <= 0:
            raise ValueError("the retry base must be more than 0 seconds")
        if self.cap < self.base:
            raise ValueError("the retry maximum must be at least the retry base")
        if self.give_up < 1:
            raise ValueError("giving up must take at least 1 second")


def backoff_seconds(failures: int, schedule: RetrySchedule, jitter: float) -> float:
    """How long to wait after the ``failures``-th failed attempt in a row (1, 2, …).

    ``jitter`` is a random number in [0, 1): 0 waits half the exponential step, 1 all of it.
    """
    if failures < 1:
        raise ValueError("failures counts from 1")
    if not 0 <= jitter <= 1:
        raise ValueError("jitter must be between 0 and 1")
    # Capped before it can overflow: 2**1100 is no float.
    step = schedule.cap if failures > 64 else min(schedule.cap, schedule.base * 2 ** (failures - 1))
    return step / 2 + jitter * step / 2


def next_attempt_at(
    failures: int,
    *,
    window_start: datetime,
    now: datetime,
    schedule: RetrySchedule,
    jitter: float,
) -> datetime | None:
    """When to try again after the ``failures``-th failure at ``now``; None: give up."""
    deadline = window_start + timedelta(seconds=schedule.give_up)
    if now >= deadline:
        return None
    return min(now + timedelta(seconds=backoff_seconds(failures, schedule, jitter)), deadline)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Brobygger-Signature`` header value of ``body`` under ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` under ``secret`` (what a receiver does)."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(signature(secret, body), header)
