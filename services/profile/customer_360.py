"""The customer 360 view in one statement: the profile row with its purchase totals and scores, then one
row per entry of every list the view shows (tags, external ids, consents, favourite categories, sales
channels). Each row carries only its own columns (the others are NULL), so the profile's columns are
sent and decoded once, not once per list entry."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Executable, Row, String, bindparam, case, func, literal, null, select, true, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.profile.customer_handlers import PERSONAL_FIELDS
from services.profile.models import (
    Consent,
    Customer,
    CustomerFeedback,
    CustomerScore,
    CustomerTag,
    ExternalIdentity,
    Purchase,
    PurchaseItem,
    Refund,
)
from services.profile.privacy import PersonalDataVault
from services.profile.schemas_customers import Customer360
from services.profile.views import purchase_summary
from shared.db import UTCDateTime

SCORE_FIELDS = ("tier", "lifecycle_stage", "clv", "clv_currency", "churn_risk", "p_alive")
TOP_CATEGORIES = 3


@dataclass(frozen=True)
class Profile360:
    """The stored rows of the view (by column name); `view()` opens the personal data and shapes the answer."""

    rows: list[Mapping[str, Any]]

    @functools.cached_property
    def profile(self) -> Mapping[str, Any]:
        return next(row for row in self.rows if row["kind"] is None)

    @property
    def erased(self) -> bool:
        return self.profile["erased_at"] is not None

    @property
    def merged_into(self) -> str | None:
        return self.profile["merged_into"]  # type: ignore[no-any-return]

    def view(self, vault: PersonalDataVault) -> Customer360:
        row = self.profile
        personal = vault.open(row["customer_id"], row["personal_data"])
        lists: dict[str, list[Mapping[str, Any]]] = {"consent": [], "tag": [], "external_id": [], "category": [],
                                                     "channel": []}
        for item in self.rows:
            if item["kind"] is not None:
                lists[item["kind"]].append(item)
        categories = sorted(lists["category"], key=lambda r: (-r["n"], r["a"]))[:TOP_CATEGORIES]
        totals = {"orders": row["orders"], "gross": Decimal(row["gross"]), "refunded": Decimal(row["refunded"]),
                  "first_purchase_at": _utc(row["first_purchase_at"]),
                  "last_purchase_at": _utc(row["last_purchase_at"])}
        return Customer360(
            customer_id=row["customer_id"], **{name: personal.get(name) for name in PERSONAL_FIELDS},
            **{name: row[name] for name in ("region", "country", "timezone", "locale", "birthday", "gender",
                                            "do_not_contact", "created_at", "updated_at")},
            tags=sorted(r["a"] for r in lists["tag"]), attributes=row["attributes"] or {},
            external_ids=[{"source": r["a"], "id": r["b"]}
                          for r in sorted(lists["external_id"], key=lambda r: (r["a"], r["b"]))],
            consents=[{"channel": r["a"], "purpose": r["b"], "granted": bool(r["n"]), "source": r["c"],
                       "occurred_at": r["at"]} for r in sorted(lists["consent"], key=lambda r: (r["a"], r["b"]))],
            summary=purchase_summary(totals, [r["a"] for r in categories], sorted(r["a"] for r in lists["channel"])),
            scores={**{name: row[name] for name in SCORE_FIELDS}, "nps": row["nps"], "csat": row["csat"]},
        )


async def read_360(engine: AsyncEngine, customer_id: str) -> Profile360 | None:
    """The view's rows. On PostgreSQL the statement, compiled once, runs on the pooled connection's driver:
    the rows come back as the driver decodes them, without SQLAlchemy's work per execution (a fifth of
    the request's CPU). Whatever fails there, the connection is dropped and the read goes through SQLAlchemy
    once, which tries a fresh connection and raises what the error handlers answer (503 for a database
    that is away)."""
    if engine.dialect.name == "postgresql":
        sql, names, values = _compiled_view(engine.dialect)
        arguments = [customer_id if name == "customer_id" else values[name] for name in names]
        async with engine.connect() as connection:
            try:
                driver = (await connection.get_raw_connection()).driver_connection
                rows: list[Mapping[str, Any]] = await driver.fetch(sql, *arguments)
                return Profile360(rows) if rows else None
            except Exception:  # a dropped connection surfaces as one of several errors, not all of them its own
                await connection.invalidate()
    rows = [row._mapping for row in await read_rows(engine, VIEW, {"customer_id": customer_id})]
    return Profile360(rows) if rows else None


@functools.cache
def _compiled_view(dialect: Dialect) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The view's SQL for this dialect, the names of its positional parameters and their bound values."""
    compiled = VIEW.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ()), compiled.params


async def read_rows(engine: AsyncEngine, statement: Executable, parameters: dict[str, Any] | None = None) -> list[Row[Any]]:
    """The statement's rows, read on a connection of `engine` (an autocommit pool); a connection the
    server dropped while it sat in the pool is replaced and the read tried once more."""
    for attempt in (1, 2):
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(statement, parameters)).all())
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _profile(customer_id: Any) -> Any:
    totals = (select(func.count().label("orders"), func.coalesce(func.sum(Purchase.total_amount), 0).label("gross"),
                     func.min(Purchase.occurred_at).label("first_purchase_at"),
                     func.max(Purchase.occurred_at).label("last_purchase_at"))
              .where(Purchase.customer_id == customer_id).subquery())
    refunded = (select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.customer_id == customer_id)
                .scalar_subquery())

    def feedback(kind: str) -> Any:
        return (select(CustomerFeedback.score).where(CustomerFeedback.customer_id == customer_id,
                                                     CustomerFeedback.kind == kind).scalar_subquery())

    return (select(Customer.__table__, *[getattr(CustomerScore, name) for name in SCORE_FIELDS],
                   feedback("nps").label("nps"), feedback("csat").label("csat"),
                   totals.c.orders, totals.c.gross, totals.c.first_purchase_at, totals.c.last_purchase_at,
                   refunded.label("refunded"))
            .select_from(Customer)
            .join(totals, true())  # aggregates without GROUP BY: always exactly one row
            .outerjoin(CustomerScore, CustomerScore.customer_id == Customer.customer_id)
            .where(Customer.customer_id == customer_id))


def _lists(customer_id: Any) -> Any:
    """One row per list entry: (kind, a, b, c, n, at), the columns each kind needs and nulls elsewhere."""
    def entry(kind: str, a: Any, b: Any = None, c: Any = None, n: Any = None) -> list[Any]:
        none = null()
        return [literal(kind).label("kind"), a.label("a"), (b if b is not None else none).label("b"),
                (c if c is not None else none).label("c"), (n if n is not None else literal(0)).label("n")]

    consents = select(*entry("consent", Consent.channel, Consent.purpose, Consent.source,
                             case((Consent.granted, 1), else_=0)), Consent.occurred_at.label("at")
                      ).where(Consent.customer_id == customer_id)
    no_time = null().cast(UTCDateTime())
    tags = select(*entry("tag", CustomerTag.tag), no_time).where(CustomerTag.customer_id == customer_id)
    external_ids = select(*entry("external_id", ExternalIdentity.source, ExternalIdentity.external_id),
                          no_time).where(ExternalIdentity.customer_id == customer_id)
    categories = (select(*entry("category", PurchaseItem.category, n=func.sum(PurchaseItem.quantity)), no_time)
                  .join(Purchase, Purchase.id == PurchaseItem.purchase_id)
                  .where(Purchase.customer_id == customer_id, PurchaseItem.category.is_not(None))
                  .group_by(PurchaseItem.category))
    channels = (select(*entry("channel", Purchase.channel, n=func.count()), no_time)
                .where(Purchase.customer_id == customer_id, Purchase.channel.is_not(None))
                .group_by(Purchase.channel))
    return union_all(consents, tags, external_ids, categories, channels)


def _utc(value: Any) -> datetime | None:
    """Aggregates over a timestamp come back as the driver gives them (a naive string on SQLite)."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value  # type: ignore[no-any-return]
    return UTCDateTime().process_result_value(
        datetime.fromisoformat(value) if isinstance(value, str) else value, None)


def _view(customer_id: Any) -> Any:
    profile, lists = _profile(customer_id), _lists(customer_id).subquery("lists")
    nothing = lambda columns: [null().cast(c.type).label(c.name) for c in columns]  # noqa: E731
    return union_all(profile.add_columns(*nothing(lists.c)),
                     select(*nothing(profile.selected_columns), *lists.c))


# Built once: each request only binds the customer id (no statement building or cache-key work).
VIEW = _view(bindparam("customer_id", type_=String()))
