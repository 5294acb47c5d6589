"""Configuration, read once from environment variables (documented in README.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TOPIC_INBOUND = "brobygger.inbound.v1"
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
            dev_mode=_flag(env.get("HUB_DEV"), default=jwks_url is None),
            serve_consumers=_flag(env.get("HUB_SERVE_CONSUMERS"), default=True),
            local_timezone=env.get("HUB_LOCAL_TIMEZONE") or "Europe/Copenhagen",
            kafka_session_timeout_ms=_int(env, "HUB_KAFKA_SESSION_TIMEOUT_MS", 10_000),
            hl7v2_processing_ids=_processing_ids(env.get("HUB_HL7V2_PROCESSING_IDS") or "P"),
            consent_policy_file=Path(policy) if (policy := env.get("HUB_CONSENT_POLICY")) else None,
        )


def _processing_ids(value: str) -> frozenset[str]:
    ids = frozenset(part.strip().upper() for part in value.split(",") if part.strip())
    unknown = ids - {"P", "T", "D"}
    if not ids or unknown:
        raise ConfigError(
            "HUB_HL7V2_PROCESSING_IDS must list HL7 processing ids from P (production), "
            f"T (training) and D (debugging), e.g. 'P' or 'P,T'; got {value!r}"
        )
    return ids
