"""Segment definitions: validation of the condition tree and its compilation to SQL."""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from services.profile.models import Customer
from services.profile.segment_rules import Condition, birthday_bounds, depth
from services.profile.segment_sql import AttributeTypeMismatch, compile_condition, live_customers

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
RULE = TypeAdapter(Condition)


def sql(definition: dict[str, Any], dialect: Any = None, **types: str) -> str:
    predicate = compile_condition(RULE.validate_python(definition), now=NOW, attribute_types=types)
    query = select(Customer.customer_id).where(live_customers(), predicate)
    compiled = query.compile(dialect=dialect or postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return " ".join(str(compiled).split())


def test_a_purchase_window_becomes_a_grouped_subquery_over_the_window() -> None:
    text = sql({"purchases": {"metric": "count", "days": 90, "op": "gte", "value": 3}})
    assert "customers.customer_id IN (SELECT purchases.customer_id FROM purchases WHERE purchases.occurred_at >= " \
           "'2026-08-26 12:00:00+00:00' GROUP BY purchases.customer_id HAVING count(*) >= 3" in text


def test_a_comparison_that_zero_satisfies_also_matches_customers_without_purchases() -> None:
    text = sql({"purchases": {"metric": "sum", "days": 30, "op": "lt", "value": 10}})
    assert "customers.customer_id NOT IN (SELECT purchases.customer_id" in text
    assert "HAVING sum(purchases.total_amount) >= 10" in text


def test_distinct_categories_join_the_order_lines() -> None:
    text = sql({"purchases": {"metric": "distinct_categories", "op": "gte", "value": 2}})
    assert "JOIN purchase_items ON purchase_items.purchase_id = purchases.id" in text
    assert "count(DISTINCT purchase_items.category) >= 2" in text


def test_and_or_not_nest_as_sql_boolean_operators() -> None:
    text = sql({"all": [{"tag": "vip"}, {"any": [{"field": "region", "op": "eq", "value": "north"},
                                                  {"not": {"field": "gender", "op": "in", "value": ["male"]}}]}]})
    assert "customers.customer_id IN (SELECT customer_tags.customer_id FROM customer_tags WHERE " \
           "customer_tags.tag = 'vip')" in text
    assert "(customers.region = 'north' OR NOT coalesce(customers.gender IN ('male'), false))" in text


def test_age_compares_birthdays_against_today() -> None:
    text = sql({"field": "age", "op": "gte", "value": 18})
    assert "customers.birthday <= '2008-11-24'" in text
    assert birthday_bounds("lt", 18, date(2026, 11, 24)) == (date(2008, 11, 24), None)
    assert birthday_bounds("eq", 1, date(2024, 2, 29)) == (date(2022, 2, 28), date(2023, 2, 28))


def test_scores_from_scoring_and_nps_are_matched_through_their_projections() -> None:
    assert "customer_scores.tier = 'high-value'" in sql({"field": "tier", "op": "eq", "value": "high-value"})
    negative = sql({"field": "churn_risk", "op": "ne", "value": "high"})
    assert "customers.customer_id NOT IN (SELECT customer_scores.customer_id FROM customer_scores WHERE " \
           "customer_scores.churn_risk = 'high')" in negative
    assert "customer_feedback.kind = 'nps' AND customer_feedback.score <= 6" in \
        sql({"field": "nps", "op": "lte", "value": 6})


def test_attributes_are_compared_as_their_declared_type_on_both_databases() -> None:
    assert "CAST((customers.attributes ->> 'size') AS FLOAT) >= 38" in \
        sql({"attribute": "size", "op": "gte", "value": 38}, size="number")
    assert "JSON_EXTRACT(customers.attributes, '$.\"size\"')" in \
        sql({"attribute": "size", "op": "gte", "value": 38}, sqlite.dialect(), size="number")
    with pytest.raises(AttributeTypeMismatch, match="number"):
        sql({"attribute": "size", "op": "eq", "value": "large"}, size="number")
    assert "false" in sql({"attribute": "never_set", "op": "eq", "value": 1}).lower()


def test_consent_means_granted_and_not_flagged_do_not_contact() -> None:
    text = sql({"consent": {"channel": "sms", "purpose": "marketing"}})
    assert "customers.do_not_contact IS false" in text and "customer_consents.granted IS true" in text


@pytest.mark.parametrize("definition", [
    {"field": "age", "op": "gte", "value": "old"}, {"field": "region", "op": "in", "value": []},
    {"field": "do_not_contact", "op": "gt", "value": True}, {"tag": "vip", "extra": 1}, {"all": []},
    {"purchases": {"metric": "count", "days": 0, "op": "gte", "value": 1}}, {"unknown": 1},
])
def test_malformed_definitions_are_refused(definition: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RULE.validate_python(definition)


def test_depth_counts_nesting() -> None:
    assert depth(RULE.validate_python({"not": {"all": [{"tag": "a"}, {"any": [{"tag": "b"}]}]}})) == 4
