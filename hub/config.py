"""Configuration, read once from environment variables (documented in docs/configuration.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from limits import parse_many

from hub.domain.alerts import AlertRules
from hub.domain.cohort import CohortRule
from hub.domain.scores import KOM_GODT_HJEM_SCORE, TOBS_ALERT_SCORE
from hub.domain.webhook_policy import RetrySchedule
from hub.domain.webhook_targets import WebhookTargetRules

TOPIC_INBOUND = "brobygger.inbound.v1"
MIN_SIGNING_KEY_BYTES = 32  # HS256 wants a key at least as long as its hash (RFC 7518 §3.2)
"""The one topic of the skeleton: accepted inbound messages translated to FHIR, key = patient."""


class ConfigError(ValueError):
    """A setting has a value the hub cannot run with."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"expected true or false, got {value!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _seconds(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= minimum:  # also refuses nan
        raise ConfigError(f"{name} must be at least {minimum:g} seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class WebhookSettings:
    """How the webhook sender posts pathway events and retries failed deliveries."""

    timeout_seconds: float = 10.0
    retry: RetrySchedule = field(default_factory=RetrySchedule)
    # Deliveries materialised by another process are found by polling this often.
    poll_seconds: float = 0.25
    concurrency: int = 16  # subscriptions posted to at once
    # Where webhooks may go: https and public addresses, plus HUB_WEBHOOK_ALLOWED_TARGETS.
    targets: WebhookTargetRules = field(default_factory=WebhookTargetRules)

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, dev_mode: bool = False) -> WebhookSettings:
        base = _seconds(env, "HUB_WEBHOOK_RETRY_BASE_SECONDS", 1.0, minimum=0.001)
        cap = _seconds(env, "HUB_WEBHOOK_RETRY_MAX_SECONDS", 3600.0, minimum=0.001)
        if cap < base:
            raise ConfigError(
                "HUB_WEBHOOK_RETRY_MAX_SECONDS must be at least HUB_WEBHOOK_RETRY_BASE_SECONDS"
            )
        concurrency = _int(env, "HUB_WEBHOOK_CONCURRENCY", 16)
        if concurrency < 1:
            raise ConfigError(f"HUB_WEBHOOK_CONCURRENCY must be at least 1, got {concurrency}")
        return cls(
            timeout_seconds=_seconds(env, "HUB_WEBHOOK_TIMEOUT_SECONDS", 10.0, minimum=0.001),
            retry=RetrySchedule(
                base=base,
                cap=cap,
                give_up=_seconds(env, "HUB_WEBHOOK_GIVE_UP_SECONDS", 86_400.0, minimum=1),
            ),
            poll_seconds=_seconds(env, "HUB_WEBHOOK_POLL_SECONDS", 0.25, minimum=0.01),
            concurrency=concurrency,
            targets=_webhook_targets(env, require_https=not dev_mode),
        )


def _webhook_targets(env: Mapping[str, str], *, require_https: bool) -> WebhookTargetRules:
    allow_list = env.get("HUB_WEBHOOK_ALLOWED_TARGETS") or ""
    try:
        return WebhookTargetRules.parse(allow_list, require_https=require_https)
    except ValueError as error:
        raise ConfigError(f"HUB_WEBHOOK_ALLOWED_TARGETS: {error}") from None


class ClaimsCarrier(StrEnum):
    """The token of an OIDC provider's answer that carries the hub's claims."""

    ACCESS = "access"  # the access token
    ID = "id"  # the ID token


@dataclass(frozen=True)
class OidcSettings:
    """The coordinators' page signing in through the region's OpenID Connect provider."""

    issuer: str  # discovery at {issuer}/.well-known/openid-configuration
    client_id: str
    client_secret: str = field(repr=False)
    redirect_url: str  # the page's …/ui/oidc/callback, as registered with the provider
    scopes: tuple[str, ...] = ("openid",)
    # Which token of the provider's answer carries the hub's claims (sub, sector, org, …).
    claims_carrier: ClaimsCarrier = ClaimsCarrier.ACCESS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OidcSettings | None:
        issuer = env.get("HUB_OIDC_ISSUER") or None
        if issuer is None:
            return None
        missing = [
            name for name in ("HUB_OIDC_CLIENT_ID", "HUB_OIDC_REDIRECT_URL") if not env.get(name)
        ]
        if missing:
            raise ConfigError(f"HUB_OIDC_ISSUER is set, so {' and '.join(missing)} must be too")
        if not env.get("HUB_TOKEN_JWKS_URL"):
            raise ConfigError(
                "HUB_OIDC_ISSUER needs HUB_TOKEN_JWKS_URL: the page signs in with the "
                "provider's tokens, which the hub verifies against the provider's JWKS"
            )
        scopes = tuple((env.get("HUB_OIDC_SCOPES") or "openid").split())
        if "openid" not in scopes:
            raise ConfigError(f"HUB_OIDC_SCOPES must include openid, got {' '.join(scopes)!r}")
        carrier = (env.get("HUB_OIDC_CLAIMS_TOKEN") or "access").lower()
        if carrier not in set(ClaimsCarrier):
            raise ConfigError(f"HUB_OIDC_CLAIMS_TOKEN must be access or id, got {carrier!r}")
        return cls(
            issuer=issuer.rstrip("/"),
            client_id=env["HUB_OIDC_CLIENT_ID"],
            client_secret=_client_secret(env),
            redirect_url=env["HUB_OIDC_REDIRECT_URL"],
            scopes=scopes,
            claims_carrier=ClaimsCarrier(carrier),
        )


@dataclass(frozen=True)
class RateLimitSettings:
    """How often a client address may fail to authenticate, and a token may call.

    Each is a ``limits`` rate string: ``20/minute``, or several joined by ``;``
    (``20/minute;200/hour``). ``storage`` is a ``limits`` storage URI: ``memory://`` counts
    in each process; a Redis-compatible server (``redis://host:6379``) shares the counts
    between the processes of a deployment.
    """

    auth_failures: str = "20/minute"  # per client address
    request_budget: str = "30000/minute"  # per bearer token
    storage: str = "memory://"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RateLimitSettings:
        storage = env.get("HUB_RATE_LIMIT_STORAGE") or "memory://"
        if "://" not in storage:
            raise ConfigError(
                "HUB_RATE_LIMIT_STORAGE must be a storage URI such as memory:// or "
                f"redis://host:6379, got {storage!r}"
            )
        return cls(
            auth_failures=_rates(env, "HUB_RATE_LIMIT_AUTH_FAILURES", "20/minute"),
            request_budget=_rates(env, "HUB_RATE_LIMIT_PER_TOKEN", "30000/minute"),
            storage=storage,
        )


def _rates(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name) or default
    try:
        parsed = parse_many(value)
    except ValueError:
        parsed = []
    if not parsed or any(item.amount < 1 for item in parsed):
        raise ConfigError(
            f"{name} must be a rate such as 20/minute (several joined by ';'), got {value!r}"
        )
    return value


def _secret(env: Mapping[str, str], name: str, file_name: str) -> str | None:
    """A secret given in ``name`` or in the file named by ``file_name`` (not both)."""
    value = env.get(name) or None
    path = env.get(file_name) or None
    if value and path:
        raise ConfigError(f"set {name} or {file_name}, not both")
    if path:
        try:
            value = Path(path).read_text().strip()
        except OSError as error:
            raise ConfigError(f"{file_name} cannot be read: {error}") from None
    return value or None


def _client_secret(env: Mapping[str, str]) -> str:
    secret = env.get("HUB_OIDC_CLIENT_SECRET") or None
    secret_file = env.get("HUB_OIDC_CLIENT_SECRET_FILE") or None
    if secret and secret_file:
        raise ConfigError("set HUB_OIDC_CLIENT_SECRET or HUB_OIDC_CLIENT_SECRET_FILE, not both")
    if secret_file:
        try:
            secret = Path(secret_file).read_text().strip()
        except OSError as error:
            raise ConfigError(f"HUB_OIDC_CLIENT_SECRET_FILE cannot be read: {error}") from None
    if not secret:
        raise ConfigError(
            "HUB_OIDC_ISSUER is set, so HUB_OIDC_CLIENT_SECRET (or _FILE) must be too"
        )
    return secret


@dataclass(frozen=True)
class Settings:
    """Everything the hub's processes need to know about their surroundings."""

    var_dir: Path
    database_url: str
    kafka_bootstrap: str | None
    kafka_topic_partitions: int
    token_signing_key: str | None
    token_issuer: str
    token_audience: str
    token_jwks_url: str | None
    max_body_bytes: int
    dev_mode: bool
    serve_consumers: bool
    local_timezone: str
    kafka_session_timeout_ms: int
    hl7v2_processing_ids: frozenset[str] = frozenset({"P"})
    consent_policy_file: Path | None = None
    cost_tariffs: Path | None = None  # HUB_COST_TARIFFS: the tariff CSV (hub.domain.costs)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    cohort: CohortRule = field(default_factory=CohortRule)
    alerts: AlertRules = field(default_factory=AlertRules)
    # A follow-up screening score over this makes a stay "Kom godt hjem" (hub.domain.scores).
    kom_godt_hjem_score: int = KOM_GODT_HJEM_SCORE
    alert_scan_seconds: float = 60.0  # how often the alert scanner looks for due alerts
    # A scan looks at this many patients per transaction, pausing this long in between.
    alert_scan_slice_patients: int = 50
    alert_scan_slice_pause_seconds: float = 0.01
    # An offer (HealthcareService) not confirmed for this many days goes to its owner's inbox.
    offer_confirm_days: int = 183
    oidc: OidcSettings | None = None  # unset: the page takes a pasted token (development)
    # A live event is rendered once per selection shared by websocket subscribers
    # (hub.entrypoints.shared_frames); off, each connection executes its own.
    websocket_shared_frames: bool = True
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    # The bearer token a Prometheus scraper presents at /metrics; unset, /metrics is open
    # in development and not served otherwise.
    metrics_token: str | None = field(default=None, repr=False)
    clock_offset: timedelta = timedelta(0)  # HUB_CLOCK_OFFSET_DAYS: drills and the dated test run

    @property
    def uses_kafka(self) -> bool:
        return self.kafka_bootstrap is not None

    @property
    def verifies_with_jwks(self) -> bool:
        return self.token_jwks_url is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("HUB_VAR_DIR") or "var").resolve()
        database_url = env.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'hub.db'}"
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ConfigError(
                "HUB_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
                f"got {database_url.split(':', 1)[0]!r}"
            )
        jwks_url = env.get("HUB_TOKEN_JWKS_URL") or None
        signing_key = env.get("HUB_TOKEN_SIGNING_KEY") or None
        if jwks_url and signing_key:
            raise ConfigError("set HUB_TOKEN_JWKS_URL or HUB_TOKEN_SIGNING_KEY, not both")
        kafka = env.get("HUB_KAFKA_BOOTSTRAP") or None
        dev_mode = _flag(env.get("HUB_DEV"), default=jwks_url is None)
        if signing_key and len(signing_key.encode()) < MIN_SIGNING_KEY_BYTES and not dev_mode:
            raise ConfigError(
                f"HUB_TOKEN_SIGNING_KEY must be at least {MIN_SIGNING_KEY_BYTES} bytes "
                "(generate one with: openssl rand -base64 48)"
            )
        return cls(
            var_dir=var_dir,
            database_url=database_url,
            kafka_bootstrap=kafka,
            kafka_topic_partitions=_int(env, "HUB_KAFKA_PARTITIONS", 6),
            token_signing_key=signing_key,
            token_issuer=env.get("HUB_TOKEN_ISSUER") or "brobygger-dev",
            token_audience=env.get("HUB_TOKEN_AUDIENCE") or "brobygger",
            token_jwks_url=jwks_url,
            max_body_bytes=_int(env, "HUB_MAX_BODY_BYTES", 5 * 1024 * 1024),
            dev_mode=dev_mode,
            serve_consumers=_flag(env.get("HUB_SERVE_CONSUMERS"), default=True),
            local_timezone=env.get("HUB_LOCAL_TIMEZONE") or "Europe/Copenhagen",
            kafka_session_timeout_ms=_int(env, "HUB_KAFKA_SESSION_TIMEOUT_MS", 10_000),
            hl7v2_processing_ids=_processing_ids(env.get("HUB_HL7V2_PROCESSING_IDS") or "P"),
            consent_policy_file=Path(policy) if (policy := env.get("HUB_CONSENT_POLICY")) else None,
            cost_tariffs=Path(tariffs) if (tariffs := env.get("HUB_COST_TARIFFS")) else None,
            webhooks=WebhookSettings.from_env(env, dev_mode=dev_mode),
            cohort=_cohort_rule(env),
            alerts=_alert_rules(env),
            kom_godt_hjem_score=kom_godt_hjem_score(env),
            alert_scan_seconds=_seconds(env, "HUB_ALERT_SCAN_SECONDS", 60.0, minimum=0.01),
            alert_scan_slice_patients=_positive(env, "HUB_ALERT_SCAN_SLICE_PATIENTS", 50),
            alert_scan_slice_pause_seconds=_milliseconds(env, "HUB_ALERT_SCAN_SLICE_PAUSE_MS", 10),
            offer_confirm_days=_positive(env, "HUB_OFFER_CONFIRM_DAYS", 183),
            oidc=OidcSettings.from_env(env),
            websocket_shared_frames=_flag(env.get("HUB_WEBSOCKET_SHARED_FRAMES"), default=True),
            rate_limits=RateLimitSettings.from_env(env),
            metrics_token=_metrics_token(env, dev_mode),
            clock_offset=timedelta(days=_int(env, "HUB_CLOCK_OFFSET_DAYS", 0)),
        )


def _metrics_token(env: Mapping[str, str], dev_mode: bool) -> str | None:
    token = _secret(env, "HUB_METRICS_TOKEN", "HUB_METRICS_TOKEN_FILE")
    if token is not None and len(token.encode()) < MIN_SIGNING_KEY_BYTES and not dev_mode:
        raise ConfigError(
            f"HUB_METRICS_TOKEN must be at least {MIN_SIGNING_KEY_BYTES} bytes "
            "(generate one with: openssl rand -base64 48)"
        )
    return token


def _milliseconds(env: Mapping[str, str], name: str, default: int) -> float:
    """A whole number of milliseconds, 0 or more, as seconds."""
    value = _int(env, name, default)
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more milliseconds, got {value}")
    return value / 1000


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _cohort_rule(env: Mapping[str, str]) -> CohortRule:
    rule = CohortRule(
        min_age=_int(env, "HUB_COHORT_MIN_AGE", 18),
        max_age=_int(env, "HUB_COHORT_MAX_AGE", 70),
        admissions_long=_positive(env, "HUB_COHORT_ADMISSIONS_LONG", 3),
        window_long_days=_positive(env, "HUB_COHORT_WINDOW_LONG_DAYS", 183),
        admissions_short=_positive(env, "HUB_COHORT_ADMISSIONS_SHORT", 2),
        window_short_days=_positive(env, "HUB_COHORT_WINDOW_SHORT_DAYS", 30),
        residences=_kommune_codes(env, "HUB_COHORT_RESIDENCES"),
        min_problem_types=_int(env, "HUB_COHORT_MIN_PROBLEM_TYPES", 0),
    )
    if not 0 <= rule.min_age <= rule.max_age:
        raise ConfigError("HUB_COHORT_MIN_AGE must be between 0 and HUB_COHORT_MAX_AGE")
    if not 0 <= rule.min_problem_types <= 4:
        raise ConfigError("HUB_COHORT_MIN_PROBLEM_TYPES must be between 0 and 4")
    return rule


def _kommune_codes(env: Mapping[str, str], name: str) -> frozenset[str]:
    """3-digit kommune codes separated by commas or spaces (empty: none)."""
    codes = frozenset(env.get(name, "").replace(",", " ").split())
    wrong = sorted(c for c in codes if not (c.isdigit() and len(c) == 3))
    if wrong:
        raise ConfigError(f"{name} must list 3-digit kommune codes (e.g. 360,376); got {wrong}")
    return codes


def _alert_rules(env: Mapping[str, str]) -> AlertRules:
    return AlertRules(
        reception_visit_hours=_positive(env, "HUB_ALERT_RECEPTION_VISIT_HOURS", 24),
        reception_lookback_days=_positive(env, "HUB_ALERT_RECEPTION_LOOKBACK_DAYS", 30),
        ready_for_discharge_days=_positive(env, "HUB_ALERT_READY_FOR_DISCHARGE_DAYS", 3),
        tobs_score=_positive(env, "HUB_ALERT_TOBS_SCORE", TOBS_ALERT_SCORE),
    )


def kom_godt_hjem_score(env: Mapping[str, str] | None = None) -> int:
    """HUB_KOM_GODT_HJEM_SCORE: a follow-up screening score over it makes a stay "Kom godt
    hjem". Read where it is used (status, inbox, indicators) as well as at start, where a
    wrong value stops the hub."""
    value = _int(os.environ if env is None else env, "HUB_KOM_GODT_HJEM_SCORE", KOM_GODT_HJEM_SCORE)
    if value < 0:
        raise ConfigError(f"HUB_KOM_GODT_HJEM_SCORE must be at least 0, got {value}")
    return value


def _processing_ids(value: str) -> frozenset[str]:
    ids = frozenset(part.strip().upper() for part in value.split(",") if part.strip())
    unknown = ids - {"P", "T", "D"}
    if not ids or unknown:
        raise ConfigError(
            "HUB_HL7V2_PROCESSING_IDS must list HL7 processing ids from P (production), "
            f"T (training) and D (debugging), e.g. 'P' or 'P,T'; got {value!r}"
        )
    return ids
