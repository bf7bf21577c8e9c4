"""Compiles a segment's condition tree into one SQL predicate over `customers`.

Every condition becomes a column comparison or an `IN (subquery)` on an indexed table, so the
database finds the members; no customer is ever looked at in Python.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, not_, or_, select, true

from services.profile.models import (
    Consent,
    Customer,
    CustomerFeedback,
    CustomerScore,
    CustomerTag,
    Interaction,
    Purchase,
    PurchaseItem,
)
from services.profile.segment_rules import (
    AllRule,
    AnyRule,
    AttributeRule,
    Condition,
    ConsentRule,
    FieldRule,
    InteractionRule,
    NotRule,
    PurchaseRule,
    TagRule,
    birthday_bounds,
    holds_for_nobody_value,
    value_kind,
)

SCORE_COLUMNS = {"tier": CustomerScore.tier, "lifecycle_stage": CustomerScore.lifecycle_stage,
                 "churn_risk": CustomerScore.churn_risk, "clv": CustomerScore.clv}


class AttributeTypeMismatch(ValueError):
    pass


def live_customers() -> ColumnElement[bool]:
    return and_(Customer.erased_at.is_(None), Customer.merged_into.is_(None))


def compile_condition(rule: Condition, *, now: datetime, attribute_types: dict[str, str],
                      narrowed: bool = False) -> ColumnElement[bool]:
    """The predicate on `customers` that holds for the members of `rule` at time `now`.

    `narrowed` is set below an "all" of several conditions: the other conditions leave few customers,
    so purchase and interaction aggregates are counted for those customers alone (a correlated
    subquery on the per-customer index) rather than for everyone and then matched."""
    compile_ = lambda r: compile_condition(r, now=now, attribute_types=attribute_types, narrowed=narrowed)
    if isinstance(rule, AllRule):
        return and_(*[compile_condition(r, now=now, attribute_types=attribute_types,
                                        narrowed=narrowed or len(rule.all) > 1) for r in rule.all])
    if isinstance(rule, AnyRule):
        return or_(*[compile_(r) for r in rule.any])
    if isinstance(rule, NotRule):
        # SQL's NOT of an unknown (a comparison with a null) is unknown; "not in the north" must
        # include customers with no region, so an unknown inner result counts as false.
        return not_(func.coalesce(compile_(rule.not_), false()))
    if isinstance(rule, FieldRule):
        return _field(rule, now.date())
    if isinstance(rule, AttributeRule):
        return _attribute(rule, attribute_types)
    if isinstance(rule, TagRule):
        return Customer.customer_id.in_(select(CustomerTag.customer_id).where(CustomerTag.tag == rule.tag))
    if isinstance(rule, ConsentRule):
        granted = select(Consent.customer_id).where(Consent.channel == rule.consent.channel,
                                                    Consent.purpose == rule.consent.purpose, Consent.granted.is_(True))
        return and_(Customer.do_not_contact.is_(False), Customer.customer_id.in_(granted))
    if isinstance(rule, PurchaseRule):
        return _purchases(rule, now, narrowed)
    if isinstance(rule, InteractionRule):
        return _interactions(rule, now, narrowed)
    raise TypeError(f"not a condition: {rule!r}")


def compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "exists":
        return column.is_not(None) if value in (None, True) else column.is_(None)
    return {
        "eq": lambda: column == value, "ne": lambda: or_(column != value, column.is_(None)),
        "gt": lambda: column > value, "gte": lambda: column >= value, "lt": lambda: column < value,
        "lte": lambda: column <= value, "in": lambda: column.in_(value),
        "not_in": lambda: or_(column.not_in(value), column.is_(None)),
    }[op]()


def _field(rule: FieldRule, today: date) -> ColumnElement[bool]:
    if rule.field == "age":
        return _age(rule, today)
    if rule.field in SCORE_COLUMNS:
        return _projected(select(CustomerScore.customer_id), SCORE_COLUMNS[rule.field], rule)
    if rule.field in ("nps", "csat"):
        scored = select(CustomerFeedback.customer_id).where(CustomerFeedback.kind == rule.field)
        return _projected(scored, CustomerFeedback.score, rule)
    return compare(getattr(Customer, rule.field), rule.op, rule.value)


def _projected(rows: Any, column: Any, rule: FieldRule) -> ColumnElement[bool]:
    """A comparison on another table; the negative forms (ne, not_in, absent) include customers without a row."""
    if rule.op in ("ne", "not_in") or (rule.op == "exists" and rule.value is False):
        opposite = {"ne": "eq", "not_in": "in", "exists": "exists"}[rule.op]
        return Customer.customer_id.not_in(rows.where(compare(column, opposite, None if opposite == "exists"
                                                              else rule.value)))
    return Customer.customer_id.in_(rows.where(compare(column, rule.op, rule.value)))


def _age(rule: FieldRule, today: date) -> ColumnElement[bool]:
    if rule.op == "exists":
        return compare(Customer.birthday, "exists", rule.value)
    if rule.op in ("in", "not_in", "ne"):
        matches = or_(*[_age(FieldRule(field="age", op="eq", value=v), today)
                        for v in (rule.value if isinstance(rule.value, list) else [rule.value])])
        return matches if rule.op == "in" else and_(Customer.birthday.is_not(None), not_(matches))
    born_after, born_by = birthday_bounds(rule.op, int(rule.value), today)  # type: ignore[arg-type]
    bounds = [Customer.birthday.is_not(None)]
    if born_after is not None:
        bounds.append(Customer.birthday > born_after)
    if born_by is not None:
        bounds.append(Customer.birthday <= born_by)
    return and_(*bounds)


def _attribute(rule: AttributeRule, attribute_types: dict[str, str]) -> ColumnElement[bool]:
    kind = attribute_types.get(rule.attribute)
    if kind is None:  # never set on anyone: only "absent" can hold
        return true() if rule.op == "exists" and rule.value is False else false()
    if rule.op != "exists" and kind != value_kind(rule.value):
        raise AttributeTypeMismatch(f"attribute {rule.attribute} holds a {kind}; compare it with a {kind}")
    element = Customer.attributes[rule.attribute]
    column = {"number": element.as_float(), "boolean": element.as_boolean(), "text": element.as_string()}[kind]
    return compare(column, rule.op, rule.value)


def _purchases(rule: PurchaseRule, now: datetime, narrowed: bool) -> ColumnElement[bool]:
    spec = rule.purchases
    measure = {"count": func.count(), "sum": func.sum(Purchase.total_amount),
               "average": func.avg(Purchase.total_amount),
               "distinct_categories": func.count(PurchaseItem.category.distinct())}[spec.metric]
    rows = select(Purchase.customer_id)
    if spec.metric == "distinct_categories" or spec.category:
        rows = rows.join(PurchaseItem, PurchaseItem.purchase_id == Purchase.id)
    if spec.category:
        rows = rows.where(PurchaseItem.category == spec.category)
        if spec.metric == "count":
            measure = func.count(Purchase.id.distinct())
    if spec.days:
        rows = rows.where(Purchase.occurred_at >= now - timedelta(days=spec.days))
    return _aggregate(rows, Purchase.customer_id, measure, spec.op, spec.value,
                      zero_counts=spec.metric != "average", narrowed=narrowed)


def _interactions(rule: InteractionRule, now: datetime, narrowed: bool) -> ColumnElement[bool]:
    spec = rule.interactions
    rows = select(Interaction.customer_id)
    if spec.kind:
        rows = rows.where(Interaction.kind == spec.kind)
    if spec.channel:
        rows = rows.where(Interaction.channel == spec.channel)
    if spec.days:
        rows = rows.where(Interaction.occurred_at >= now - timedelta(days=spec.days))
    return _aggregate(rows, Interaction.customer_id, func.count(), spec.op, spec.value, zero_counts=True,
                      narrowed=narrowed)


def _aggregate(rows: Any, owner: Any, measure: Any, op: str, value: float, *, zero_counts: bool,
               narrowed: bool) -> ColumnElement[bool]:
    """Customers with no rows count as 0 (for counts and sums). Narrowed: the measure of each
    remaining customer's own rows. Otherwise: when 0 satisfies the comparison, the members are
    everyone except those whose rows fail it; else those whose rows pass it."""
    if narrowed:
        own = rows.with_only_columns(measure).where(owner == Customer.customer_id).scalar_subquery()
        return compare(func.coalesce(own, 0) if zero_counts else own, op, value)
    grouped = rows.group_by(owner)
    holds = compare(measure, op, value)
    if zero_counts and holds_for_nobody_value(op, value):
        return Customer.customer_id.not_in(grouped.having(not_(holds)))
    return Customer.customer_id.in_(grouped.having(holds))
