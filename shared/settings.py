"""Typed service settings, read from the environment when a service starts."""
from __future__ import annotations

import json
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

DEV_API_KEY = "cvp-dev-key"
ALL_SCOPES = "*"


class ServiceSettings(BaseSettings):
    """What every service needs; each service subclasses it with its own name, port and extras."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "service"
    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    db_pool_size: int = Field(default=10, ge=1)
    migrate_on_start: bool = True
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = False
    kafka_topic_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    consumer_enabled: bool = True
    consumer_group: str = ""
    consumer_batch_size: int = Field(default=2000, ge=1)
    consumer_max_retries: int = Field(default=3, ge=0)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    consumer_session_timeout_ms: int = Field(default=10_000, ge=1000)
    #: How long the broker may hold a fetch that has nothing new. Apache Kafka answers as soon as data arrives;
    #: a broker that holds the fetch to the end (the dev broker does) delays every event by up to this much.
    consumer_fetch_max_wait_ms: int = Field(default=50, ge=1)
    outbox_poll_interval_ms: int = Field(default=100, ge=5)
    outbox_batch_size: int = Field(default=1000, ge=1)
    outbox_retention_hours: int = Field(default=24, ge=0)
    #: How long a stored answer to an Idempotency-Key is replayed; answers can hold personal data, so they go after.
    idempotency_retention_hours: int = Field(default=24, ge=1)
    api_keys: Annotated[dict[str, list[str]], NoDecode] = Field(default_factory=dict)
    cvp_api_key: str = ""
    #: How long an idle HTTP connection is kept open. Longer than clients and load balancers keep theirs (httpx
    #: 5 s, most balancers 60 s), so the service is not the side that closes a connection a client is reusing.
    http_keep_alive_seconds: int = Field(default=75, ge=1)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    rate_limit_per_second: float = Field(default=500.0, gt=0)
    rate_limit_burst: int = Field(default=1000, ge=1)
    log_level: str = "INFO"

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: object) -> object:
        """API_KEYS is JSON: {"<key>": ["profile:read", ...]}."""
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @model_validator(mode="after")
    def _fill_defaults_and_reject_unsafe(self) -> "ServiceSettings":
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite+aiosqlite:///./var/{self.service_name}.db")
        if not self.consumer_group:
            object.__setattr__(self, "consumer_group", self.service_name)
        if self.environment == "production":
            if not self.api_keys and not self.cvp_api_key:
                raise ValueError("API_KEYS must be set in production")
            if DEV_API_KEY in self.effective_api_keys():
                raise ValueError("the development API key must not be used in production")
            if self.database_url.startswith("sqlite"):
                raise ValueError("DATABASE_URL must point at PostgreSQL in production")
        return self

    def effective_api_keys(self) -> dict[str, frozenset[str]]:
        """Configured keys; outside production a dev key with every scope is always present."""
        keys = {key: frozenset(scopes) for key, scopes in self.api_keys.items()}
        if self.cvp_api_key:
            keys.setdefault(self.cvp_api_key, frozenset({ALL_SCOPES}))
        if self.environment != "production" and not keys:
            keys[DEV_API_KEY] = frozenset({ALL_SCOPES})
        return keys
