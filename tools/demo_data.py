"""A synthetic demo dataset for the local stack, loaded through the services' public HTTP APIs.

Buyers follow a BG/NBD-like process, so the data has what value scoring looks for: each customer
buys at a Poisson rate drawn from a gamma distribution and, after every purchase, drops out with a
probability drawn from a beta distribution (some churn early, some stay loyal for two years). Order
values follow a per-customer gamma-distributed spend level; lines come from a small catalogue. The
shop prices everything in USD, the only currency scoring converts without configured rates.

    python -m tools.demo_data --customers 3000 --api-key cvp-dev-key
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Awaitable, Callable, Iterable, Sequence

import httpx
import numpy as np
from tqdm import tqdm

from shared.http.idempotency import REPLAYED_HEADER
from shared.settings import DEV_API_KEY
from tools.demo_journeys import create_journeys

DEFAULT_SEED = 20240101
HISTORY_DAYS = 730
CURRENCY = "USD"
ORDER_SOURCE = "demo-shop"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_cents: int


def _products(prefix: str, category: str, items: Sequence[tuple[str, int]]) -> list[Product]:
    return [Product(f"{prefix}-{n:03d}", name, category, cents) for n, (name, cents) in enumerate(items, start=1)]


CATALOGUE: tuple[Product, ...] = tuple(
    _products("APP", "apparel", [("Organic Cotton T-Shirt", 2400), ("Slim Fit Chinos", 5900),
                                 ("Merino Wool Sweater", 8900), ("Rain Jacket", 12900), ("Everyday Socks 3-Pack", 1400)])
    + _products("FTW", "footwear", [("Canvas Sneakers", 6500), ("Trail Running Shoes", 11900),
                                    ("Leather Chelsea Boots", 17900), ("Pool Slides", 2900), ("Shoe Care Kit", 1900)])
    + _products("HOM", "home", [("Ceramic Mug Set", 3200), ("Linen Bedding Set", 14900), ("Scented Candle", 1800),
                                ("Wool Throw Blanket", 6900), ("Brass Table Lamp", 9500)])
    + _products("KIT", "kitchen", [("Chef's Knife", 7900), ("Cast Iron Skillet", 4500), ("Pour-Over Coffee Set", 3900),
                                   ("Bamboo Cutting Board", 2200), ("Stand Mixer", 34900)])
    + _products("BEA", "beauty", [("Hydrating Face Cream", 2800), ("Vitamin C Serum", 3600), ("Lip Balm", 600),
                                  ("Shampoo & Conditioner Duo", 2400), ("Eau de Parfum 50 ml", 8500)])
    + _products("ELE", "electronics", [("Wireless Earbuds", 12900), ("30W USB-C Charger", 2500),
                                       ("Bluetooth Speaker", 7900), ("Smartwatch", 24900), ("USB-C Cable 2 m", 1200)])
    + _products("GRO", "grocery", [("Single-Origin Coffee Beans 1 kg", 3200), ("Green Tea Selection", 1400),
                                   ("Dark Chocolate Bar", 450), ("Extra Virgin Olive Oil", 1800), ("Maple Granola", 800)])
    + _products("OUT", "outdoor", [("Daypack 20 L", 7500), ("Insulated Water Bottle", 2900), ("Camping Hammock", 4900),
                                   ("Rechargeable Headlamp", 3500), ("Two-Person Tent", 22900)])
)
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(p.category for p in CATALOGUE))


@dataclass(frozen=True)
class Region:
    name: str
    timezone: str
    locale: str
    utc_offset_hours: int  # standard time; close enough for the hour of day a demo order is placed
    stores: tuple[str, ...]
    share: float


REGIONS: tuple[Region, ...] = (
    Region("us-east", "America/New_York", "en-US", -5, ("store-nyc-01", "store-bos-01"), 0.28),
    Region("us-west", "America/Los_Angeles", "en-US", -8, ("store-sfo-01", "store-sea-01"), 0.20),
    Region("uk", "Europe/London", "en-GB", 0, ("store-lon-01",), 0.14),
    Region("de", "Europe/Berlin", "de-DE", 1, ("store-ber-01", "store-muc-01"), 0.12),
    Region("fr", "Europe/Paris", "fr-FR", 1, ("store-par-01",), 0.08),
    Region("jp", "Asia/Tokyo", "ja-JP", 9, ("store-tyo-01",), 0.10),
    Region("au", "Australia/Sydney", "en-AU", 10, ("store-syd-01",), 0.08),
)
CHANNELS = ("web", "app", "store")
# Local hour of day an online order is placed: a lunch peak and an evening peak.
_ONLINE_HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3.5, 4, 5, 4.5, 3.5, 3.5, 4,
                                 4.5, 5, 6, 6.5, 5.5, 4, 2])
_COMPLAINTS = (
    ("delivery", "My parcel arrived four days after the promised date."),
    ("delivery", "The courier left the package outside in the rain."),
    ("product-quality", "The seam of the jacket came apart after two weeks."),
    ("product-quality", "The earbuds lose their connection every few minutes."),
    ("billing", "I was charged twice for the same order."),
    ("returns", "I returned the boots a month ago and still have no refund."),
    ("service", "The store staff could not tell me whether my size was in stock."),
)


@dataclass(frozen=True)
class DemoDataset:
    customers: list[dict[str, Any]]  # POST /customers bodies
    orders: list[dict[str, Any]]  # POST /purchases bodies, grouped by customer, in time order
    complaints: list[dict[str, Any]]  # POST /complaints bodies
    start: datetime
    end: datetime

    def orders_per_customer(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for order in self.orders:
            counts[order["customer_id"]] = counts.get(order["customer_id"], 0) + 1
        return counts


@dataclass(frozen=True)
class _Customers:
    region: np.ndarray  # index into REGIONS
    birth_day: np.ndarray  # first purchase, days since the start of the history
    purchase_rate: np.ndarray  # purchases per day while alive
    dropout: np.ndarray  # probability of leaving after each purchase
    spend_level: np.ndarray  # mean order value, cents
    channel: np.ndarray  # preferred index into CHANNELS
    category: np.ndarray  # favourite index into CATEGORIES
    buys: np.ndarray  # False for prospects who registered but never bought


def generate(customers: int = 3000, *, seed: int = DEFAULT_SEED, end: datetime | None = None) -> DemoDataset:
    """The dataset for `seed`: the same seed and end give the same data; end defaults to now."""
    end = (end or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    start = end - timedelta(days=HISTORY_DAYS)
    rng = np.random.default_rng(seed)
    traits = _draw_customers(rng, customers)
    owner, day = _purchase_days(rng, traits)
    channel = _order_channels(rng, traits.channel[owner])
    epoch = _order_epochs(rng, day, traits.region[owner], channel, start)
    order = np.lexsort((epoch, owner))
    owner, epoch, channel = owner[order], epoch[order], channel[order]
    line_order, product, quantity, total_cents = _order_lines(rng, traits.spend_level[owner], traits.category[owner])
    ids = _customer_ids(customers)
    store = _order_stores(rng, traits.region[owner], channel)
    orders = _order_bodies(ids, owner, epoch, channel, store, line_order, product, quantity, total_cents, seed)
    return DemoDataset(customers=_customer_bodies(ids, traits.region), orders=orders,
                       complaints=_complaints(rng, ids, owner), start=start, end=end)


def _draw_customers(rng: np.random.Generator, n: int) -> _Customers:
    # Acquisition grows over the two years: more customers joined recently than at the start.
    birth_day = HISTORY_DAYS * rng.random(n) ** 0.8
    return _Customers(
        region=rng.choice(len(REGIONS), size=n, p=_normalised([r.share for r in REGIONS])),
        birth_day=birth_day,
        purchase_rate=rng.gamma(shape=0.9, scale=1 / 36, size=n),  # mean: one purchase every ~40 days
        dropout=rng.beta(1.4, 5.0, size=n),  # mean ~0.22 after each purchase
        spend_level=rng.gamma(shape=2.5, scale=2800, size=n),  # mean ~70 USD per order
        channel=rng.choice(len(CHANNELS), size=n, p=[0.45, 0.30, 0.25]),
        category=rng.integers(len(CATEGORIES), size=n),
        buys=rng.random(n) >= 0.06,
    )


def _purchase_days(rng: np.random.Generator, c: _Customers) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, day) of every order: the first at birth, then Poisson repeats until dropout."""
    observed = HISTORY_DAYS - c.birth_day
    # Repeats before dropping out: the number of purchases survived, geometric in the dropout probability.
    survivable = rng.geometric(c.dropout) - 1
    arrivals = rng.poisson(c.purchase_rate * observed)
    repeats = np.where(c.buys, np.minimum(arrivals, survivable), 0)
    # Given n Poisson arrivals in (0, T], their times are n sorted uniforms; the first `repeats` happen.
    owner = np.repeat(np.arange(len(observed)), arrivals)
    offset = rng.random(len(owner)) * observed[owner]
    order = np.lexsort((offset, owner))
    owner, offset = owner[order], offset[order]
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(arrivals) - arrivals, arrivals)
    kept = rank < repeats[owner]
    first = np.flatnonzero(c.buys)
    return (np.concatenate([first, owner[kept]]),
            np.concatenate([c.birth_day[first], c.birth_day[owner[kept]] + offset[kept]]))


def _order_channels(rng: np.random.Generator, preferred: np.ndarray) -> np.ndarray:
    other = rng.integers(len(CHANNELS), size=len(preferred))
    return np.where(rng.random(len(preferred)) < 0.75, preferred, other)


def _order_epochs(rng: np.random.Generator, day: np.ndarray, region: np.ndarray, channel: np.ndarray,
                  start: datetime) -> np.ndarray:
    """Unix seconds: the order's day, at a plausible local hour (stores open 10:00-20:00)."""
    start_epoch = int(start.timestamp())
    exact = start_epoch + (day * 86400).astype(np.int64)
    hour = rng.choice(24, size=len(day), p=_normalised(_ONLINE_HOUR_WEIGHTS))
    hour = np.where(channel == CHANNELS.index("store"), rng.integers(10, 20, size=len(day)), hour)
    offsets = np.array([r.utc_offset_hours for r in REGIONS])[region]
    local = exact - exact % 86400 + (hour - offsets) * 3600 + rng.integers(3600, size=len(day))
    # A local hour can push an order out of the window on its first or last day: keep the exact time.
    inside = (local >= start_epoch) & (local <= start_epoch + HISTORY_DAYS * 86400)
    return np.where(inside, local, exact)


def _order_lines(rng: np.random.Generator, spend_level: np.ndarray,
                 favourite: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines (order index, product index, quantity) and order totals in cents, near each order's target."""
    target = rng.gamma(shape=4.0, scale=spend_level / 4.0)
    lines = np.clip(1 + rng.poisson(0.6 * target / 6000), 1, 8)
    line_order = np.repeat(np.arange(len(target)), lines)
    line_target = (target / lines)[line_order]
    prices = np.array([p.price_cents for p in CATALOGUE], dtype=float)
    in_category = np.array([CATEGORIES.index(p.category) for p in CATALOGUE])
    closeness = np.exp(-0.5 * ((np.log(prices)[None, :] - np.log(line_target)[:, None]) / 0.7) ** 2)
    affinity = np.where(in_category[None, :] == favourite[line_order][:, None], 4.0, 1.0)
    product = _sample_rows(rng, closeness * affinity + 1e-9)
    cheap = prices[product] < 2000
    quantity = 1 + (rng.random(len(product)) < np.where(cheap, 0.35, 0.08)) + (rng.random(len(product)) < 0.04)
    gross = np.bincount(line_order, weights=prices[product] * quantity, minlength=len(target))
    discount = rng.choice([0.0, 0.1, 0.2], size=len(target), p=[0.8, 0.15, 0.05])
    total_cents = np.rint(gross * (1 - discount)).astype(np.int64)
    return line_order, product, quantity, total_cents


def _sample_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row, drawn with the row's weights."""
    cumulative = np.cumsum(weights, axis=1)
    draws = rng.random(len(weights)) * cumulative[:, -1]
    return np.minimum((cumulative < draws[:, None]).sum(axis=1), weights.shape[1] - 1)


def _order_stores(rng: np.random.Generator, region: np.ndarray, channel: np.ndarray) -> list[str | None]:
    pick = rng.integers(1 << 30, size=len(region))
    return [REGIONS[r].stores[p % len(REGIONS[r].stores)] if c == CHANNELS.index("store") else None
            for r, p, c in zip(region.tolist(), pick.tolist(), channel.tolist())]


def _customer_ids(n: int) -> list[str]:
    width = max(5, len(str(n)))
    return [f"demo-{i:0{width}d}" for i in range(1, n + 1)]


def _customer_bodies(ids: list[str], region: np.ndarray) -> list[dict[str, Any]]:
    return [{"customer_id": cid, "region": REGIONS[r].name, "timezone": REGIONS[r].timezone,
             "locale": REGIONS[r].locale} for cid, r in zip(ids, region.tolist())]


def _order_bodies(ids: list[str], owner: np.ndarray, epoch: np.ndarray, channel: np.ndarray,
                  store: list[str | None], line_order: np.ndarray, product: np.ndarray, quantity: np.ndarray,
                  total_cents: np.ndarray, seed: int) -> list[dict[str, Any]]:
    times = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s")
    items: list[list[dict[str, Any]]] = [[] for _ in range(len(owner))]
    for o, p, q in zip(line_order.tolist(), product.tolist(), quantity.tolist()):
        item = CATALOGUE[p]
        items[o].append({"sku": item.sku, "name": item.name, "category": item.category, "quantity": q,
                         "unit_price": _money(item.price_cents)})
    # Another seed or size is another dataset: its orders must not pass for this one's.
    prefix = f"demo-{seed}-{len(ids)}"
    orders = []
    for n, (cid, at, ch, st, cents) in enumerate(zip(owner.tolist(), times.tolist(), channel.tolist(), store,
                                                      total_cents.tolist())):
        order = {"source": ORDER_SOURCE, "order_id": f"{prefix}-{n + 1:07d}", "customer_id": ids[cid],
                 "occurred_at": f"{at}Z", "total_amount": _money(cents), "currency": CURRENCY,
                 "items": items[n], "channel": CHANNELS[ch]}
        if st is not None:
            order["store_id"] = st
        orders.append(order)
    return orders


def _complaints(rng: np.random.Generator, ids: list[str], owner: np.ndarray, count: int = 8) -> list[dict[str, Any]]:
    buyers = np.unique(owner)
    chosen = rng.choice(buyers, size=min(count, len(buyers)), replace=False)
    topics = rng.integers(len(_COMPLAINTS), size=len(chosen))
    severities = rng.choice(["low", "medium", "high", "critical"], size=len(chosen), p=[0.3, 0.4, 0.2, 0.1])
    return [{"customer_id": ids[c], "severity": str(s), "category": _COMPLAINTS[t][0],
             "description": _COMPLAINTS[t][1]} for c, t, s in zip(chosen.tolist(), topics.tolist(), severities)]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _normalised(weights: Iterable[float]) -> np.ndarray:
    array = np.asarray(list(weights), dtype=float)
    return array / array.sum()


# --- loading through the public API -----------------------------------------------------------------

_ATTEMPTS = 6
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LoadError(RuntimeError):
    """A request kept failing, or was refused for a reason a retry cannot fix."""


@dataclass(frozen=True)
class Endpoints:
    profile: str = "http://127.0.0.1:8001"
    scoring: str = "http://127.0.0.1:8002"
    feedback: str = "http://127.0.0.1:8004"
    api_key: str = DEV_API_KEY
    engagement: str = "http://127.0.0.1:8003"


@dataclass
class LoadReport:
    customers_created: int = 0
    customers_existing: int = 0
    orders_recorded: int = 0
    orders_duplicate: int = 0
    complaints: int = 0
    journeys: int = 0
    load_seconds: float = 0.0
    catch_up_seconds: float | None = None  # None: scoring had not caught up when the wait timed out
    behind: list[str] = field(default_factory=list)

    def summary(self) -> str:
        customers = self.customers_created + self.customers_existing
        orders = self.orders_recorded + self.orders_duplicate
        text = (f"Loaded {customers:,} customers ({self.customers_created:,} new), {orders:,} orders "
                f"({self.orders_recorded:,} new, {self.orders_duplicate:,} already recorded) and "
                f"{self.complaints} complaints in {self.load_seconds:.1f} s, with {self.journeys} journeys enabled")
        if self.catch_up_seconds is None:
            return f"{text}; scoring has NOT caught up yet: {', '.join(self.behind)}"
        return f"{text}; scoring caught up {self.catch_up_seconds:.1f} s later."


async def load(dataset: DemoDataset, endpoints: Endpoints, *, concurrency: int = 4, batch_size: int = 500,
               catch_up_timeout: float = 300.0, progress: bool = True) -> LoadReport:
    """Enable the default journeys, send the dataset through the HTTP APIs, then wait until scoring has
    counted the orders."""
    report = LoadReport()
    started = time.monotonic()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {endpoints.api_key}"},
                                 timeout=httpx.Timeout(60.0, connect=5.0)) as client:
        try:
            report.journeys = len(await create_journeys(client, endpoints.engagement))
        except (RuntimeError, httpx.TransportError) as exc:
            raise LoadError(f"the default journeys could not be created: {exc}") from None
        await _load_customers(client, endpoints.profile, dataset.customers, report, concurrency * 2, progress)
        await _load_orders(client, endpoints.profile, dataset.orders, report, concurrency, batch_size, progress)
        for complaint in dataset.complaints:
            body = _encode(complaint)
            await _post(client, f"{endpoints.feedback}/complaints", body, idempotency_key=_content_key("complaint", body))
            report.complaints += 1
        report.load_seconds = time.monotonic() - started
        report.catch_up_seconds, report.behind = await _wait_for_scoring(
            client, endpoints.scoring, _catch_up_sample(dataset), catch_up_timeout)
    return report


async def _load_customers(client: httpx.AsyncClient, profile: str, customers: list[dict[str, Any]],
                          report: LoadReport, concurrency: int, progress: bool) -> None:
    async def register(customer: dict[str, Any]) -> int:
        # 409: the customer is already there (an earlier load); nothing to do.
        response = await _post(client, f"{profile}/customers", _encode(customer), accept=(201, 409))
        if response.status_code == 201:
            report.customers_created += 1
        else:
            report.customers_existing += 1
        return 1

    with tqdm(total=len(customers), desc="customers", unit="cust", disable=not progress) as bar:
        await _for_each(customers, register, concurrency, bar)


async def _load_orders(client: httpx.AsyncClient, profile: str, orders: list[dict[str, Any]], report: LoadReport,
                       concurrency: int, batch_size: int, progress: bool) -> None:
    async def record(batch: list[dict[str, Any]]) -> int:
        body = _encode(batch)
        # The key follows from the content: a retried batch replays the first answer instead of recounting.
        response = await _post(client, f"{profile}/purchases", body, idempotency_key=_content_key("purchases", body))
        if response.headers.get(REPLAYED_HEADER) == "true":  # an earlier load sent this very batch
            report.orders_duplicate += len(batch)
        else:
            result = response.json()
            report.orders_recorded += result["recorded"]
            report.orders_duplicate += result["duplicates"]
        return len(batch)

    with tqdm(total=len(orders), desc="orders", unit="order", disable=not progress) as bar:
        await _for_each(batches(orders, batch_size), record, concurrency, bar)


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def _for_each(items: Iterable[Any], work: Callable[[Any], Awaitable[int]], concurrency: int, bar: tqdm) -> None:
    """Run `work` over `items` with `concurrency` requests in flight; the first failure cancels the rest."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:  # the workers share one iterator: each takes the next item
            bar.update(await work(item))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(worker())
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None


async def _post(client: httpx.AsyncClient, url: str, body: bytes, *, idempotency_key: str | None = None,
                accept: tuple[int, ...] = (201,)) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    failure = ""
    for attempt in range(_ATTEMPTS):
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code in accept:
                return response
            failure = f"{response.status_code} {_detail(response)}"
            if not _retryable(response):
                raise LoadError(f"POST {url} answered {failure}")
        await asyncio.sleep(min(0.5 * 2 ** attempt, 8.0))
    raise LoadError(f"POST {url} failed {_ATTEMPTS} times, last: {failure}")


def _retryable(response: httpx.Response) -> bool:
    # 409 on an Idempotency-Key: our earlier attempt of the same batch is still being processed.
    return response.status_code in _RETRY_STATUSES or (
        response.status_code == 409 and "Idempotency-Key" in _detail(response))


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:300]


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _content_key(kind: str, body: bytes) -> str:
    return f"demo-{kind}-{hashlib.sha256(body).hexdigest()[:40]}"


def _catch_up_sample(dataset: DemoDataset, size: int = 10) -> dict[str, int]:
    """Orders sent per customer for the last buyers sent and a few others spread over the dataset."""
    counts = dataset.orders_per_customer()
    buyers = list(counts)
    sample = buyers[-size:] + random.Random(0).sample(buyers, min(size, len(buyers)))
    return {customer_id: counts[customer_id] for customer_id in sample}


async def _wait_for_scoring(client: httpx.AsyncClient, scoring: str, expected: dict[str, int],
                            timeout: float) -> tuple[float | None, list[str]]:
    started = time.monotonic()
    remaining = dict(expected)
    while True:
        seen = dict(zip(remaining, await asyncio.gather(*(_scored_count(client, scoring, c) for c in remaining))))
        remaining = {cid: sent for cid, sent in remaining.items() if seen[cid] < sent}
        if not remaining:
            return time.monotonic() - started, []
        if time.monotonic() - started > timeout:
            return None, [f"{cid} has {seen[cid]} of {sent} orders" for cid, sent in remaining.items()]
        await asyncio.sleep(0.5)


async def _scored_count(client: httpx.AsyncClient, scoring: str, customer_id: str) -> int:
    try:
        response = await client.get(f"{scoring}/scores/{customer_id}")
    except httpx.TransportError:
        return 0
    return int(response.json()["purchase_count"]) if response.status_code == 200 else 0


def main(argv: list[str] | None = None) -> int:
    options = _parse_args(argv)
    dataset = generate(options.customers, seed=options.seed)
    print(f"Demo dataset: {len(dataset.customers):,} customers, {len(dataset.orders):,} orders from "
          f"{dataset.start:%Y-%m-%d} to {dataset.end:%Y-%m-%d}, {len(dataset.complaints)} complaints")
    endpoints = Endpoints(options.base_url_profile.rstrip("/"), options.base_url_scoring.rstrip("/"),
                          options.base_url_feedback.rstrip("/"), options.api_key,
                          options.base_url_engagement.rstrip("/"))
    try:
        report = asyncio.run(load(dataset, endpoints, concurrency=options.concurrency,
                                  batch_size=options.batch_size, catch_up_timeout=options.timeout,
                                  progress=not options.no_progress))
    except LoadError as exc:
        print(f"demo data: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0 if report.catch_up_seconds is not None else 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    defaults = Endpoints()
    parser = argparse.ArgumentParser(prog="python -m tools.demo_data", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000, help="customers to generate (default 3000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (fixed by default)")
    parser.add_argument("--base-url-profile", default=defaults.profile)
    parser.add_argument("--base-url-scoring", default=defaults.scoring)
    parser.add_argument("--base-url-feedback", default=defaults.feedback)
    parser.add_argument("--base-url-engagement", default=defaults.engagement, help="where the default journeys go")
    parser.add_argument("--api-key", default=os.environ.get("CVP_API_KEY") or DEV_API_KEY,
                        help="API key with profile, scoring, feedback and engagement write/read scopes "
                             "(default: $CVP_API_KEY, else the dev key)")
    parser.add_argument("--concurrency", type=int, default=4, help="purchase batches in flight (default 4)")
    parser.add_argument("--batch-size", type=int, default=500, help="orders per POST /purchases (max 1000)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for scoring to catch up")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
