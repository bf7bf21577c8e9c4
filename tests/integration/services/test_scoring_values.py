"""RFM, CLV model lifecycle, tiers, stages and analytics over HTTP and Kafka, on a seeded population."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, AsyncIterator

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from services.scoring.rescoring import rescore_everybody
from shared.events.catalogue import PurchaseRecordedV1
from tests.support.scoring import new_customer, publish_many, score_when, scoring_service
from tests.support.kafka import eventually, read_until

NOW = datetime.now(timezone.utc).replace(microsecond=0)
TODAY = NOW.date()


def order(customer_id: str, n: int, amount: float, days_ago: int) -> PurchaseRecordedV1:
    return PurchaseRecordedV1(order_id=f"{customer_id}-{n}", customer_id=customer_id, currency="USD",
                              total_amount=Decimal(f"{amount:.2f}"), occurred_at=NOW - timedelta(days=days_ago, hours=1))


def population(seed: int = 11, customers: int = 120) -> tuple[list[PurchaseRecordedV1], dict[str, str]]:
    """Customers who buy as BG/NBD assumes (Poisson purchases, dropout after each), Gamma-Gamma spend,
    plus a star customer and one who stopped long ago."""
    rng = np.random.default_rng(seed)
    events: list[PurchaseRecordedV1] = []
    for _ in range(customers):
        customer_id = new_customer()
        rate, dropout, usual_spend = rng.gamma(0.9, 1 / 20), rng.beta(1.0, 4.0), rng.gamma(3.0, 20.0)
        day, n = float(rng.uniform(150, 500)), 0
        while day >= 1:
            events.append(order(customer_id, n, usual_spend * float(rng.gamma(5.0, 0.2)) + 1, int(day)))
            if rng.random() < dropout:
                break
            day, n = day - rng.exponential(1 / rate), n + 1
    star, faded = new_customer(), new_customer()
    events += [order(star, n, 2500.0, 300 - 12 * n) for n in range(25)]
    events += [order(faded, n, 40.0, 700 - 10 * n) for n in range(3)]
    return events, {"star": star, "faded": faded}


@pytest.fixture(scope="module")
async def seeded(broker: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict[str, str]]]:
    events, who = population()
    async with scoring_service(broker, tmp_path_factory.mktemp("scoring-values"), min_fit_customers=30,
                               min_fit_repeat_customers=10) as (app, http):
        await publish_many(broker, events)
        await score_when(http, who["star"], lambda s: s["purchase_count"] == 25)
        await score_when(http, who["faded"], lambda s: s["purchase_count"] == 3)
        yield app, http, who


async def test_recompute_scores_everybody_against_population_quantiles(seeded) -> None:  # type: ignore[no-untyped-def]
    _, http, who = seeded
    summary = (await http.post("/rfm/recompute")).json()
    assert summary["customers"] >= 122 and summary["scored_buyers"] >= 122
    cuts = (await http.get("/rfm/cut-points")).json()
    assert cuts["bins"] == 5 and len(cuts["recency_days"]) == len(cuts["frequency"]) == 4
    star = (await http.get(f"/scores/{who['star']}")).json()
    assert (star["rfm"]["r"], star["rfm"]["f"], star["rfm"]["m"], star["rfm"]["segment"]) == (5, 5, 5, "champions")
    assert star["tier"] == "high-value" and star["lifecycle_stage"] == "loyal"
    faded = (await http.get(f"/scores/{who['faded']}")).json()
    assert faded["rfm"]["r"] == 1 and faded["lifecycle_stage"] == "churned" and faded["churn_risk"] == "high"


async def test_a_tier_change_is_published_with_rfm_and_reasons(seeded, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, _, who = seeded
    records = await read_until(broker, "tier-changed", lambda rs: len(rs) >= 1, key=who["star"])
    data = json.loads(records[-1].value)["data"]
    assert data["tier"] == "high-value" and data["rfm"]["r"] == 5 and data["currency"] == "USD"
    assert any("percentile" in reason for reason in data["reasons"])


async def test_a_new_purchase_is_scored_at_once_against_the_current_cut_points(seeded, broker: str) -> None:  # type: ignore[no-untyped-def]
    _, http, _ = seeded
    newcomer = new_customer()
    await publish_many(broker, [order(newcomer, 1, 60.0, 0)])
    score = await score_when(http, newcomer, lambda s: s["rfm"] is not None)
    assert (score["rfm"]["r"], score["rfm"]["f"], score["rfm"]["segment"]) == (5, 1, "new")
    assert score["lifecycle_stage"] == "first-time" and score["tier"] in {"potential", "ordinary"}


async def test_a_fit_on_too_little_data_answers_422_with_why(seeded) -> None:  # type: ignore[no-untyped-def]
    _, http, _ = seeded
    response = await http.post("/models/clv/fit", json={"as_of": "2000-01-01"})
    assert response.status_code == 422
    assert "customers bought before the end of the observation period" in response.json()["detail"]


async def test_a_fit_job_records_the_model_and_rescoring_uses_it(seeded) -> None:  # type: ignore[no-untyped-def]
    _, http, who = seeded
    response = await http.post("/models/clv/fit", json={"model": "bgnbd", "time_unit": "week"},
                               headers={"Idempotency-Key": f"fit-{who['star']}"})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]

    async def finished() -> dict[str, Any] | None:
        job = (await http.get(f"/models/clv/jobs/{job_id}")).json()
        return job if job["status"] in {"succeeded", "failed"} else None

    job = await eventually(finished, timeout=60)
    assert job["status"] == "succeeded", job  # type: ignore[index]
    model = (await http.get("/models/clv")).json()
    assert model["version"] == job["model_version"] and model["time_unit"] == "week"  # type: ignore[index]
    assert set(model["transaction_params"]) == {"r", "alpha", "a", "b"} and set(model["spend_params"]) == {"p", "q", "v"}
    assert model["customers"] >= 122 and model["log_likelihood"] < 0 and model["duration_seconds"] > 0
    star = await score_when(http, who["star"], lambda s: s["model_version"] == model["version"])
    assert 0.5 < star["p_alive"] <= 1 and Decimal(star["clv"]) > 0 and star["expected_purchases_90d"] > 1
    assert star["tier"] == "high-value"


async def test_a_backtest_compares_predicted_and_actual_purchases_per_decile(seeded) -> None:  # type: ignore[no-untyped-def]
    _, http, _ = seeded
    body = {"calibration_end": str(TODAY - timedelta(days=120)), "holdout_end": str(TODAY), "time_unit": "week"}
    response = await http.post("/models/clv/backtest", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["holdout_days"] == 120 and len(result["deciles"]) == 10
    assert sum(d["actual_purchases"] for d in result["deciles"]) == pytest.approx(result["actual_purchases"])
    assert result["predicted_purchases"] > 0 and result["actual_purchases"] > 0


async def test_history_lists_each_tier_and_stage_change_with_its_reasons(seeded) -> None:  # type: ignore[no-untyped-def]
    _, http, who = seeded
    items = (await http.get(f"/scores/{who['star']}/history")).json()["items"]
    kinds = {item["kind"] for item in items}
    assert {"tier", "stage"} <= kinds
    assert all(item["reasons"] and item["at"] for item in items)


async def test_analytics_summarise_tiers_rfm_clv_and_lifecycle(seeded) -> None:  # type: ignore[no-untyped-def]
    _, http, _ = seeded
    tiers = (await http.get("/analytics/tiers")).json()
    assert [t["tier"] for t in tiers] == ["high-value", "potential", "ordinary", "low-value"]
    assert sum(t["revenue_share"] for t in tiers) == pytest.approx(1.0)
    grid = (await http.get("/analytics/rfm")).json()
    assert len(grid) == 25 and sum(c["customers"] for c in grid) >= 122
    clv = (await http.get("/analytics/clv", params={"bins": 10})).json()
    assert clv["customers"] >= 122 and len(clv["histogram"]) == 10 and clv["quantiles"]["p50"] <= clv["quantiles"]["p90"]
    lifecycle = (await http.get("/analytics/lifecycle")).json()
    assert lifecycle["counts"]["loyal"] >= 1 and lifecycle["counts"]["churned"] >= 1
    assert any(flow["current"] == "loyal" for flow in lifecycle["flows"])


async def test_the_sweep_moves_customers_whose_silence_has_grown_too_long(seeded, broker: str) -> None:  # type: ignore[no-untyped-def]
    app, http, who = seeded
    async with app.state.unit_of_work() as uow:
        await rescore_everybody(uow, app.state.scoring_config, NOW + timedelta(days=30))
        await uow.commit()
    star = (await http.get(f"/scores/{who['star']}")).json()
    assert star["lifecycle_stage"] == "at-risk"
    records = await read_until(broker, "lifecycle-stage-changed", lambda rs: any(
        json.loads(r.value)["data"]["stage"] == "at-risk" for r in rs), key=who["star"])
    assert json.loads(records[-1].value)["data"]["previous_stage"] == "loyal"
