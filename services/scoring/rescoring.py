"""Use cases that score customers: a few after their events, or everybody (the periodic sweep).

Both run the same vectorised pass (scorer.score) and write back, in bulk, only the scores that differ from
the stored ones; only customers whose tier, stage or churn risk changed get a history row and an event,
each with its reasons.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

import numpy as np

from services.scoring import reasons as explain
from services.scoring.domain import day_number
from services.scoring.lifetime_value import FittedModel, Predictions
from services.scoring.policy import ScoringPolicy
from services.scoring.repository import load_facts
from services.scoring.repository_scores import (
    current_model,
    load_cut_points,
    record_changes,
    store_cut_points,
    write_scores,
)
from services.scoring.rfm import CutPoints
from services.scoring.scorer import Facts, Scores, population_cut_points, predict_buyers, score
from shared.events.catalogue import ChurnRiskChangedV1, LifecycleStageChangedV1, RfmV1, TierChangedV1
from shared.uow import UnitOfWork

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class ScoringConfig:
    policy: ScoringPolicy = ScoringPolicy()
    currency: str = "USD"
    clv_months: int = 12
    discount_rate: float = 0.01


@dataclass(frozen=True)
class RescoreSummary:
    customers: int
    scored_buyers: int
    tier_changes: int
    stage_changes: int
    risk_changes: int
    model_version: str | None
    scores_written: int = 0


async def rescore(uow: UnitOfWork, customer_ids: Sequence[str], config: ScoringConfig, now: datetime, *,
                  causes: Mapping[str, Any] | None = None) -> RescoreSummary:
    """Score these customers against the current cut points and model (cut the population first if
    it was never cut)."""
    model, version = await current_model(uow.session)
    cuts = await load_cut_points(uow.session)
    facts = await load_facts(uow.session, customer_ids)
    if cuts is None and facts.buyers().any():
        cuts = await _cut_everybody(uow, model, config, now)
    return await _score_and_record(uow, facts, cuts, model, version, config, now, causes or {})


async def rescore_everybody(uow: UnitOfWork, config: ScoringConfig, now: datetime) -> RescoreSummary:
    """New cut points from the whole population, then every customer scored: RFM, CLV, tiers, stages, risk."""
    model, version = await current_model(uow.session)
    facts = await load_facts(uow.session)
    predicted = predict_buyers(facts, day_number(now), model, config.clv_months, config.discount_rate)
    cuts = population_cut_points(facts, day_number(now), model, config.policy.bins, config.clv_months,
                                 config.discount_rate, predicted=predicted)
    if cuts is not None:
        await store_cut_points(uow.session, cuts, now)
    return await _score_and_record(uow, facts, cuts, model, version, config, now, {}, predicted)


async def _cut_everybody(uow: UnitOfWork, model: FittedModel | None, config: ScoringConfig,
                         now: datetime) -> CutPoints | None:
    everybody = await load_facts(uow.session)
    cuts = population_cut_points(everybody, day_number(now), model, config.policy.bins, config.clv_months,
                                 config.discount_rate)
    if cuts is not None:
        await store_cut_points(uow.session, cuts, now)
    return cuts


async def _score_and_record(uow: UnitOfWork, facts: Facts, cuts: CutPoints | None, model: FittedModel | None,
                            version: str | None, config: ScoringConfig, now: datetime,
                            causes: Mapping[str, Any], predicted: Predictions | None = None) -> RescoreSummary:
    scores = score(facts, day_number(now), cuts, model, config.policy, config.clv_months, config.discount_rate,
                   predicted=predicted)
    written = await write_scores(uow.session, facts, scores, now, version)
    changed = {kind: np.flatnonzero(_changed(previous, current)) for kind, previous, current in (
        ("tier", facts.previous_tier, scores.tier), ("stage", facts.previous_stage, scores.stage),
        ("churn-risk", facts.previous_risk, scores.churn_risk))}
    basis = "CLV" if model is not None and cuts is not None and cuts.clv is not None else "net spend"
    rows = scores.rows(np.unique(np.concatenate(list(changed.values()))))
    history: list[dict[str, Any]] = []
    for kind, indices in changed.items():
        for i in indices.tolist():
            history.append(_change(uow, kind, i, rows[i], facts, config, basis, version, now, causes))
    await record_changes(uow.session, history)
    return RescoreSummary(len(facts), int(facts.buyers().sum()), len(changed["tier"]), len(changed["stage"]),
                          len(changed["churn-risk"]), version, written)


def _changed(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    current = np.asarray(current, dtype=object)
    return (np.asarray(previous, dtype=object) != current) & (current != None)  # noqa: E711 (elementwise)


def _change(uow: UnitOfWork, kind: str, i: int, row: dict[str, Any], facts: Facts, config: ScoringConfig,
            basis: str, version: str | None, now: datetime, causes: Mapping[str, Any]) -> dict[str, Any]:
    customer_id = str(facts.customer_id[i])
    previous = {"tier": facts.previous_tier, "stage": facts.previous_stage, "churn-risk": facts.previous_risk}[kind][i]
    if kind == "tier":
        why = explain.tier_reasons(row, config.policy, basis)
        event: Any = TierChangedV1(customer_id=customer_id, previous_tier=previous, tier=row["tier"],
                                   rfm=_rfm(row, facts, i), clv=_money(row["clv"]), currency=config.currency,
                                   p_alive=_probability(row["p_alive"]), reasons=why, model_version=version)
    elif kind == "stage":
        why = explain.stage_reasons(row, int(facts.purchase_days[i]), config.policy)
        event = LifecycleStageChangedV1(customer_id=customer_id, previous_stage=previous, stage=row["stage"],
                                        reasons=why)
    else:
        detractor = None if np.isnan(facts.nps[i]) or facts.nps[i] > config.policy.churn.detractor_max_nps \
            else int(facts.nps[i])
        why = explain.churn_reasons(row, detractor, int(facts.open_complaints[i]))
        event = ChurnRiskChangedV1(customer_id=customer_id, previous_risk=previous, risk=row["churn_risk"],
                                   p_alive=_probability(row["p_alive"]), reasons=why)
    uow.record(event, caused_by=causes.get(customer_id))
    return {"customer_id": customer_id, "kind": kind, "previous": previous,
            "current": row["churn_risk" if kind == "churn-risk" else kind], "reasons": why,
            "model_version": version, "at": now}


def _rfm(row: dict[str, Any], facts: Facts, i: int) -> RfmV1:
    average = float(facts.total_spend[i]) / max(int(facts.purchase_days[i]), 1)
    return RfmV1(r=row["r"], f=row["f"], m=row["m"], recency_days=row["recency_days"],
                 frequency=int(facts.purchase_days[i]), monetary=_money(average))


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(max(value, 0.0))).quantize(_CENT)


def _probability(value: float | None) -> float | None:
    return None if value is None else min(max(float(value), 0.0), 1.0)
