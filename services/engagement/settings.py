from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shared.settings import ServiceSettings


class EngagementSettings(ServiceSettings):
    service_name: str = "engagement"
    port: int = 8003
    #: Loyalty points earned per whole unit of currency spent.
    points_per_currency_unit: Decimal = Field(default=Decimal(1), ge=0)
