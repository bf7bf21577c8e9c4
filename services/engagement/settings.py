from __future__ import annotations

import json
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode
from typing_extensions import Annotated

from shared.settings import DEV_API_KEY, ServiceSettings

DeliveryMode = Literal["smtp", "webhook", "dry-run"]


class WebhookTarget(BaseModel):
    """A channel provider's endpoint; requests carry an HMAC-SHA256 signature made with `secret`."""

    url: str
    secret: str = Field(min_length=16)


class EngagementSettings(ServiceSettings):
    service_name: str = "engagement"
    port: int = 8003
    #: Loyalty points earned per whole unit of currency spent.
    points_per_currency_unit: Decimal = Field(default=Decimal(1), ge=0)
    #: Points expire this many days after they were earned (first in, first out); 0 keeps them forever.
    points_expiry_days: int = Field(default=730, ge=0)
    #: Profile's base URL and API key (scope profile:read), for contact addresses at send time.
    profile_url: str = "http://127.0.0.1:8001"
    profile_api_key: str = ""
    profile_timeout_seconds: float = Field(default=5.0, gt=0)
    #: JSON {"email": "smtp", "sms": "webhook", ...}; channels not named are dry-run (logged, not sent).
    channel_delivery: Annotated[dict[str, DeliveryMode], NoDecode] = Field(default_factory=dict)
    #: JSON {"sms": {"url": "https://...", "secret": "..."}, ...} for channels delivered by webhook.
    channel_webhooks: Annotated[dict[str, WebhookTarget], NoDecode] = Field(default_factory=dict)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_start_tls: bool = False
    smtp_sender: str = "no-reply@example.com"
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    #: How often each replica looks for due messages, how many it leases at once, and for how long.
    dispatch_interval_ms: int = Field(default=1000, ge=10)
    dispatch_batch_size: int = Field(default=200, ge=1)
    dispatch_lease_seconds: int = Field(default=120, ge=1)
    #: Batches one replica works on at once: while one waits on the database or the providers, the next is decided.
    dispatch_batches_in_flight: int = Field(default=2, ge=1, le=16)
    #: Messages one replica delivers at once (decisions for one customer still queue on the ledger lock).
    dispatch_concurrency: int = Field(default=8, ge=1, le=200)
    #: Delivery attempts before a message fails, and the first retry delay (doubling each time).
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_retry_seconds: float = Field(default=30.0, ge=0)
    #: How often (one replica per period) due campaign runs are started.
    campaign_interval_seconds: float = Field(default=30.0, gt=0)
    #: How often each replica looks for journey instances whose wait is over, and how many it advances at once.
    journey_interval_seconds: float = Field(default=5.0, gt=0)
    journey_batch_size: int = Field(default=200, ge=1, le=5000)

    def profile_key(self) -> str:
        """PROFILE_API_KEY; outside production the stack's shared key (CVP_API_KEY or the dev key) will do."""
        if self.profile_api_key or self.environment == "production":
            return self.profile_api_key
        return self.cvp_api_key or DEV_API_KEY

    @field_validator("channel_delivery", "channel_webhooks", mode="before")
    @classmethod
    def _parse_json(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value
