from __future__ import annotations

import json
from decimal import Decimal

from pydantic import field_validator
from pydantic_settings import NoDecode
from typing_extensions import Annotated

from shared.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    service_name: str = "scoring"
    port: int = 8002
    base_currency: str = "USD"
    #: Units of base currency per unit of each currency, e.g. {"EUR": "1.08"}; JSON in CURRENCY_RATES.
    currency_rates: Annotated[dict[str, Decimal], NoDecode] = {}

    @field_validator("currency_rates", mode="before")
    @classmethod
    def _parse_rates(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    def rates(self) -> dict[str, Decimal]:
        return {self.base_currency: Decimal(1), **self.currency_rates}
