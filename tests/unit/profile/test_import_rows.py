"""CSV rows become customers and orders, or rejections naming the column and the reason."""
from __future__ import annotations

import pytest

from services.profile.import_rows import Rejection, kind_of, parse_row


def test_the_header_tells_customers_from_purchases() -> None:
    assert kind_of(["customer_id", "email"]) == "customers"
    assert kind_of(["order_id", "customer_id"]) == "purchases"
    with pytest.raises(ValueError):
        kind_of(["name"])


def test_a_customer_row_maps_prefixed_columns_to_nested_fields() -> None:
    row = {"customer_id": "c-1", "tags": "vip| news ", "attr:size": "38", "attr:paper": "false", "attr:plan": "gold",
           "consent:sms:service": "yes", "id:pos": "P1", "address_line1": "1 Main St", "address_city": "Paris",
           "address_country": "fr", "email": " ", "do_not_contact": "no"}
    customer = parse_row("customers", 2, row)
    assert not isinstance(customer, list)
    assert customer.tags == ["vip", "news"] and customer.attributes == {"size": 38, "paper": False, "plan": "gold"}
    assert customer.consents[0].granted is True and customer.external_ids[0].id == "P1"
    assert customer.address.country == "FR" and customer.email is None and customer.do_not_contact is False


def test_every_bad_column_of_a_row_is_reported() -> None:
    rejected = parse_row("purchases", 7, {"order_id": "o", "customer_id": "bad id", "occurred_at": "2026-01-01",
                                          "total_amount": "-1", "currency": "EUR", "sku": "S", "quantity": "x",
                                          "unit_price": "1"})
    assert isinstance(rejected, list)
    assert {r.field for r in rejected} == {"customer_id", "occurred_at", "total_amount", "quantity"}
    assert all(r.row == 7 and r.reason for r in rejected)


def test_a_boolean_column_with_another_word_names_its_column() -> None:
    assert parse_row("customers", 3, {"customer_id": "c", "consent:email:marketing": "maybe"}) == [
        Rejection(3, "consent:email:marketing", "'maybe' is not true or false")]
