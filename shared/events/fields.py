"""Constrained field types shared by the envelope and the payload models.

Each type validates what an integrator would expect to be checked at the boundary and documents
itself in the generated JSON Schema, so producers and consumers read the same rule.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
MONEY_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,6})?$"
MONTH_DAY_PATTERN = r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# No leading or trailing whitespace: "A1 " and "A1" must not become two different ids or tags.
_TRIMMED = r"^\S(.*\S)?$"

_MONEY_RE = re.compile(MONEY_PATTERN)

CustomerId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=CUSTOMER_ID_PATTERN)
]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_TRIMMED)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_TRIMMED)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=5000)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
HttpUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]
TimezoneName = Annotated[
    str,
    StringConstraints(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$"),
]
Locale = Annotated[
    str, StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$")
]


def _rfc3339_only(value: object) -> object:
    # pydantic would also read 1714557600 as a time; the contract says RFC 3339 strings.
    if isinstance(value, (str, datetime)):
        return value
    raise ValueError("must be an RFC 3339 timestamp string with a UTC offset")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]


def _parse_money(value: object) -> Decimal:
    if isinstance(value, Decimal):
        text = format(value, "f") if value.is_finite() else str(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value
    elif isinstance(value, float):
        raise ValueError("must be a decimal string such as '19.90'; a JSON number can lose cents")
    else:
        raise ValueError("must be a decimal string such as '19.90'")
    if not _MONEY_RE.match(text):
        raise ValueError(
            "must be a non-negative decimal string with at most 15 integer and 6 fraction digits"
        )
    return Decimal(text)


Money = Annotated[
    Decimal,
    PlainValidator(_parse_money),
    PlainSerializer(lambda amount: format(amount, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": MONEY_PATTERN,
            "description": "Non-negative amount as a decimal string, in the event's currency.",
            "examples": ["19.90"],
        }
    ),
]


def _is_calendar_day(value: str) -> str:
    month, day = (int(part) for part in value.split("-"))
    try:
        date(2000, month, day)  # a leap year, so 02-29 birthdays are valid
    except ValueError:
        raise ValueError(f"{value} is not a day of the year") from None
    return value


MonthDay = Annotated[
    str, StringConstraints(pattern=MONTH_DAY_PATTERN), AfterValidator(_is_calendar_day)
]
