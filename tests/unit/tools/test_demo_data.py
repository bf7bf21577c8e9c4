"""The demo dataset generator: deterministic, valid for the public API, and shaped like real buyers."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import groupby

import numpy as np
import pytest

from services.feedback.schemas import ComplaintCreate
from services.profile.schemas import CustomerCreate, PurchaseCreate
from tools.demo_data import CATALOGUE, CATEGORIES, HISTORY_DAYS, DemoDataset, _content_key, _encode, batches, generate

END = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def dataset() -> DemoDataset:
    return generate(1500, seed=7, end=END)


def _orders_per_customer(dataset: DemoDataset) -> np.ndarray:
    counts = dataset.orders_per_customer()
    return np.array([counts.get(c["customer_id"], 0) for c in dataset.customers])


def test_the_same_seed_gives_the_same_dataset(dataset: DemoDataset) -> None:
    again = generate(1500, seed=7, end=END)
    assert (again.customers, again.orders, again.complaints) == (dataset.customers, dataset.orders, dataset.complaints)


def test_another_seed_gives_another_dataset(dataset: DemoDataset) -> None:
    assert generate(1500, seed=8, end=END).orders != dataset.orders


def test_datasets_of_other_seeds_or_sizes_never_share_an_order_id(dataset: DemoDataset) -> None:
    ids = {o["order_id"] for o in dataset.orders}
    assert ids.isdisjoint(o["order_id"] for o in generate(1500, seed=8, end=END).orders)
    assert ids.isdisjoint(o["order_id"] for o in generate(300, seed=7, end=END).orders)


def test_customers_and_orders_are_accepted_by_the_api_schemas(dataset: DemoDataset) -> None:
    for customer in dataset.customers:
        CustomerCreate.model_validate(customer)
    for order in dataset.orders:
        PurchaseCreate.model_validate(order)
    for complaint in dataset.complaints:
        ComplaintCreate.model_validate(complaint)


def test_ids_are_unique(dataset: DemoDataset) -> None:
    assert len({c["customer_id"] for c in dataset.customers}) == len(dataset.customers) == 1500
    assert len({o["order_id"] for o in dataset.orders}) == len(dataset.orders)


def test_every_order_names_a_generated_customer(dataset: DemoDataset) -> None:
    customers = {c["customer_id"] for c in dataset.customers}
    assert {o["customer_id"] for o in dataset.orders} <= customers
    assert {c["customer_id"] for c in dataset.complaints} <= customers


def test_every_order_has_a_positive_total_no_higher_than_its_lines(dataset: DemoDataset) -> None:
    for order in dataset.orders:
        total = Decimal(order["total_amount"])
        lines = sum(Decimal(item["unit_price"]) * item["quantity"] for item in order["items"])
        assert order["items"] and Decimal(0) < total <= lines  # discounts only ever lower the total


def test_orders_fall_within_the_two_years_before_the_end(dataset: DemoDataset) -> None:
    times = [datetime.fromisoformat(o["occurred_at"]) for o in dataset.orders]
    assert dataset.start == END - timedelta(days=HISTORY_DAYS)
    assert min(times) >= dataset.start and max(times) <= END
    assert max(times) > END - timedelta(days=7)  # the history reaches today


def test_orders_are_grouped_by_customer_in_time_order(dataset: DemoDataset) -> None:
    runs = [customer for customer, _ in groupby(o["customer_id"] for o in dataset.orders)]
    assert len(runs) == len(set(runs))
    for _, orders in groupby(dataset.orders, key=lambda o: o["customer_id"]):
        times = [datetime.fromisoformat(o["occurred_at"]) for o in orders]
        assert times == sorted(times)


def test_buyers_mix_prospects_one_time_buyers_and_repeat_buyers(dataset: DemoDataset) -> None:
    counts = _orders_per_customer(dataset)
    assert 0.02 < np.mean(counts == 0) < 0.15  # registered, never bought
    assert 0.2 < np.mean(counts == 1) < 0.6  # bought once, never again
    assert np.mean(counts >= 2) > 0.3
    assert counts.max() >= 20  # a few loyal heavy buyers
    assert counts[counts > 0].std() > counts[counts > 0].mean() * 0.8  # heterogeneous rates, not one Poisson


def test_some_repeat_buyers_have_gone_quiet(dataset: DemoDataset) -> None:
    last = {}
    for order in dataset.orders:
        last[order["customer_id"]] = datetime.fromisoformat(order["occurred_at"])
    repeaters = {cid for cid, n in dataset.orders_per_customer().items() if n >= 3}
    quiet = [cid for cid in repeaters if last[cid] < END - timedelta(days=270)]
    assert len(quiet) > 0.1 * len(repeaters)  # dropped out: churned customers for scoring to find


def test_order_values_vary_like_retail_spend(dataset: DemoDataset) -> None:
    totals = np.array([float(o["total_amount"]) for o in dataset.orders])
    assert 40 < np.median(totals) < 120
    assert np.percentile(totals, 95) > 3 * np.median(totals)  # a long right tail


def test_items_come_from_the_catalogue_and_channels_regions_vary(dataset: DemoDataset) -> None:
    catalogue = {p.sku: p for p in CATALOGUE}
    assert len(CATALOGUE) == 40 and len(CATEGORIES) == 8
    for order in dataset.orders:
        for item in order["items"]:
            product = catalogue[item["sku"]]
            assert (item["name"], item["category"]) == (product.name, product.category)
        assert ("store_id" in order) == (order["channel"] == "store")
    assert set(Counter(o["channel"] for o in dataset.orders)) == {"web", "app", "store"}
    assert len({c["timezone"] for c in dataset.customers}) >= 5
    assert len({c["locale"] for c in dataset.customers}) >= 4


def test_batches_cover_every_order_once_within_the_size_limit(dataset: DemoDataset) -> None:
    chunks = batches(dataset.orders, 500)
    assert all(1 <= len(chunk) <= 500 for chunk in chunks)
    assert [o for chunk in chunks for o in chunk] == dataset.orders


def test_a_batch_keeps_its_idempotency_key_and_another_batch_gets_another(dataset: DemoDataset) -> None:
    first, second = batches(dataset.orders, 500)[:2]
    assert _content_key("purchases", _encode(first)) == _content_key("purchases", _encode(list(first)))
    assert _content_key("purchases", _encode(first)) != _content_key("purchases", _encode(second))
