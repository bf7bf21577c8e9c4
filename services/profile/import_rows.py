"""Turning CSV rows into validated customers and orders, or into the reasons they are refused.

Customers: `customer_id` plus any of given_name, family_name, email, phone, region, country,
timezone, locale, birthday, gender, do_not_contact, tags (`|`-separated), address_line1,
address_line2, address_city, address_postal_code, address_country, `consent:<channel>:<purpose>`
(true/false), `attr:<name>` (numbers and true/false are typed, the rest is text) and
`id:<source>` (an external id).

Purchases: one order per row: source, order_id, customer_id, occurred_at, total_amount, currency,
channel, store_id, and optionally one line: sku, name, category, quantity, unit_price.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from services.profile.schemas import PurchaseCreate
from services.profile.schemas_customers import CustomerCreate

ADDRESS_PREFIX, CONSENT_PREFIX, ATTRIBUTE_PREFIX, ID_PREFIX = "address_", "consent:", "attr:", "id:"
LINE_COLUMNS = ("sku", "name", "category", "quantity", "unit_price")


@dataclass(frozen=True)
class Rejection:
    row: int
    """Line number in the file (the header is line 1)."""
    field: str
    reason: str


def kind_of(header: list[str]) -> str:
    """`purchases` when the file has orders, `customers` when it has customers."""
    if "order_id" in header:
        return "purchases"
    if "customer_id" in header:
        return "customers"
    raise ValueError("the header names neither `order_id` (purchases) nor `customer_id` (customers)")


def parse_row(kind: str, row_number: int, row: dict[str, str]) -> BaseModel | list[Rejection]:
    values = {k.strip(): v.strip() for k, v in row.items() if k is not None and v is not None and v.strip() != ""}
    try:
        body = customer_body(values) if kind == "customers" else purchase_body(values)
        model: type[BaseModel] = CustomerCreate if kind == "customers" else PurchaseCreate
        return model.model_validate(body)
    except ValidationError as exc:
        return [Rejection(row_number, _column(error["loc"]), error["msg"]) for error in exc.errors()]
    except ValueError as exc:
        return [Rejection(row_number, getattr(exc, "column", "row"), str(exc))]


def customer_body(values: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    address: dict[str, str] = {}
    for column, value in values.items():
        if column.startswith(ADDRESS_PREFIX):
            address[column.removeprefix(ADDRESS_PREFIX)] = value
        elif column.startswith(CONSENT_PREFIX):
            channel, _, purpose = column.removeprefix(CONSENT_PREFIX).partition(":")
            body.setdefault("consents", []).append({"channel": channel, "purpose": purpose, "source": "import",
                                                    "granted": _boolean(column, value)})
        elif column.startswith(ATTRIBUTE_PREFIX):
            body.setdefault("attributes", {})[column.removeprefix(ATTRIBUTE_PREFIX)] = _typed(value)
        elif column.startswith(ID_PREFIX):
            body.setdefault("external_ids", []).append({"source": column.removeprefix(ID_PREFIX), "id": value})
        elif column == "tags":
            body["tags"] = [tag.strip() for tag in value.split("|") if tag.strip()]
        elif column == "do_not_contact":
            body["do_not_contact"] = _boolean(column, value)
        else:
            body[column] = value
    if address:
        body["address"] = address
    return body


def purchase_body(values: dict[str, str]) -> dict[str, Any]:
    body = {k: v for k, v in values.items() if k not in LINE_COLUMNS}
    line = {k: values[k] for k in LINE_COLUMNS if k in values}
    if line:
        if "quantity" in line and line["quantity"].lstrip("-").isdigit():
            line["quantity"] = int(line["quantity"])  # type: ignore[assignment]  # else validation says why
        body["items"] = [line]
    return body


class ColumnError(ValueError):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column = column


def _boolean(column: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "yes", "1", "y"):
        return True
    if lowered in ("false", "no", "0", "n"):
        return False
    raise ColumnError(column, f"{value!r} is not true or false")


def _typed(value: str) -> Any:
    """`38` and `2.5` are numbers, `true`/`false` booleans; anything else is text."""
    if value in ("true", "false"):
        return value == "true"
    try:
        number = json.loads(value)
    except ValueError:
        return value
    return number if isinstance(number, (int, float)) and not isinstance(number, bool) else value


def _column(loc: tuple[Any, ...]) -> str:
    """The CSV column a validation error belongs to."""
    parts = [str(p) for p in loc]
    if not parts:
        return "row"
    if parts[0] == "address" and len(parts) > 1:
        return ADDRESS_PREFIX + parts[1]
    if parts[0] == "attributes":
        return ATTRIBUTE_PREFIX + parts[1] if len(parts) > 1 else "attributes"
    if parts[0] == "items" and len(parts) > 2:
        return parts[2]
    return parts[0]
