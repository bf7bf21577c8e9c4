"""The segment definition language: a JSON condition tree, validated before it is compiled to SQL.

    {"all": [{"field": "region", "op": "eq", "value": "north"},
             {"not": {"tag": "staff"}},
             {"purchases": {"metric": "count", "days": 90, "op": "gte", "value": 2}}]}
"""
from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from shared.events.fields import Label
from shared.events.vocabulary import Channel, ConsentPurpose, InteractionChannel, InteractionKind

Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"]
Scalar = Union[bool, int, float, str]
MAX_DEPTH = 10

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt,
    "lte": operator.le,
}
# Field -> the kind of value it holds; profile fields and the projections of scoring and feedback.
FIELDS: dict[str, str] = {
    "region": "text", "country": "text", "timezone": "text", "locale": "text", "gender": "text",
    "do_not_contact": "boolean", "age": "number", "tier": "text", "lifecycle_stage": "text",
    "churn_risk": "text", "clv": "number", "nps": "number", "csat": "number",
}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldRule(_Rule):
    field: Literal["region", "country", "timezone", "locale", "gender", "do_not_contact", "age", "tier",
                   "lifecycle_stage", "churn_risk", "clv", "nps", "csat"]
    op: Comparison
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> FieldRule:
        check_value(self.op, self.value, FIELDS[self.field], self.field)
        return self


class AttributeRule(_Rule):
    attribute: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    op: Comparison
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> AttributeRule:
        check_value(self.op, self.value, value_kind(self.value), self.attribute)
        return self


class TagRule(_Rule):
    tag: Label


class ConsentRule(_Rule):
    """Matches customers who may be contacted: a granted answer and no do-not-contact flag."""

    consent: _ChannelPurpose


class _ChannelPurpose(_Rule):
    channel: Channel
    purpose: ConsentPurpose


class PurchaseAggregate(_Rule):
    metric: Literal["count", "sum", "average", "distinct_categories"]
    days: Annotated[int, Field(ge=1, le=3660)] | None = None
    """Only purchases of the last `days` days; all of them when absent."""
    category: Label | None = None
    """Only orders with a line of this category."""
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"]
    value: Annotated[float, Field(ge=0)]


class PurchaseRule(_Rule):
    purchases: PurchaseAggregate


class InteractionCount(_Rule):
    kind: InteractionKind | None = None
    channel: InteractionChannel | None = None
    days: Annotated[int, Field(ge=1, le=3660)] | None = None
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"]
    value: Annotated[int, Field(ge=0)]


class InteractionRule(_Rule):
    interactions: InteractionCount


class AllRule(_Rule):
    all: Annotated[list[Condition], Field(min_length=1, max_length=50)]


class AnyRule(_Rule):
    any: Annotated[list[Condition], Field(min_length=1, max_length=50)]


class NotRule(_Rule):
    not_: Condition = Field(alias="not")


_KINDS = ("all", "any", "not", "field", "attribute", "tag", "consent", "purchases", "interactions")


def _kind_of(rule: Any) -> str | None:
    """A condition is told apart by the key that names it, so errors point inside the right kind."""
    if isinstance(rule, dict):
        return next((kind for kind in _KINDS if kind in rule), None)
    return {AllRule: "all", AnyRule: "any", NotRule: "not", FieldRule: "field", AttributeRule: "attribute",
            TagRule: "tag", ConsentRule: "consent", PurchaseRule: "purchases",
            InteractionRule: "interactions"}.get(type(rule))


Condition = Annotated[
    Union[Annotated[AllRule, Tag("all")], Annotated[AnyRule, Tag("any")], Annotated[NotRule, Tag("not")],
          Annotated[FieldRule, Tag("field")], Annotated[AttributeRule, Tag("attribute")], Annotated[TagRule, Tag("tag")],
          Annotated[ConsentRule, Tag("consent")], Annotated[PurchaseRule, Tag("purchases")],
          Annotated[InteractionRule, Tag("interactions")]],
    Discriminator(_kind_of, custom_error_type="unknown_condition",
                  custom_error_message=f"a condition is an object with one of the keys {', '.join(_KINDS)}"),
]
for _model in (ConsentRule, AllRule, AnyRule, NotRule):
    _model.model_rebuild()


def value_kind(value: Any) -> str:
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, (int, float)):
        return "number"
    return "text"


def check_value(op: str, value: Any, kind: str, name: str) -> None:
    if op == "exists":
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"{name}: `exists` takes true, false or no value")
        return
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 1000:
            raise ValueError(f"{name}: `{op}` needs a list of 1 to 1000 values")
        values = value
    elif isinstance(value, list) or value is None:
        raise ValueError(f"{name}: `{op}` needs a single value")
    else:
        values = [value]
    if any(value_kind(v) != kind for v in values):
        raise ValueError(f"{name} holds a {kind}; compare it with a {kind}")
    if kind == "boolean" and op not in ("eq", "ne"):
        raise ValueError(f"{name}: a boolean is compared with eq or ne only")


def depth(rule: Condition) -> int:
    if isinstance(rule, (AllRule, AnyRule)):
        return 1 + max(depth(r) for r in (rule.all if isinstance(rule, AllRule) else rule.any))
    if isinstance(rule, NotRule):
        return 1 + depth(rule.not_)
    return 1


def holds_for_nobody_value(op: str, value: float) -> bool:
    """Whether a customer with no purchases (count and sum 0) satisfies `count op value`."""
    return COMPARE[op](0, value)


def birthday_bounds(op: str, age: int, today: date) -> tuple[date | None, date | None]:
    """Birthdays (after, up to and including) of the people whose age in years compares so with `age`.
    Someone is at least N years old when born on or before today minus N years."""
    def born_by(years: int) -> date:
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 February in a year that has none
            return today.replace(year=today.year - years, day=28)
    at_least = {"gte": age, "gt": age + 1, "eq": age}.get(op)
    below = {"lt": age, "lte": age + 1, "eq": age + 1}.get(op)
    return (born_by(below) if below is not None else None), (born_by(at_least) if at_least is not None else None)
