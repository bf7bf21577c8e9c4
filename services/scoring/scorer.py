"""The whole scoring of a set of customers in one pass over arrays: RFM, CLV predictions, value
percentile, tier (with hysteresis), lifecycle stage and churn risk. Pure: no I/O, no loop per customer."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

import numpy as np

from services.scoring import churn, lifecycle, rfm, tiers
from services.scoring.lifetime_value import FittedModel, History, Predictions, predict
from services.scoring.policy import ScoringPolicy


@dataclass(frozen=True)
class Facts:
    """What scoring knows of each customer (arrays of equal length; NaN where unknown)."""

    customer_id: np.ndarray
    purchase_days: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    total_spend: np.ndarray
    nps: np.ndarray
    nps_day: np.ndarray
    open_complaints: np.ndarray
    previous_tier: np.ndarray
    previous_stage: np.ndarray
    previous_risk: np.ndarray
    #: The fingerprint of the scores as stored (NO_FINGERPRINT where none), when it was read.
    stored_fingerprint: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.customer_id)

    def buyers(self) -> np.ndarray:
        return self.purchase_days > 0

    def history(self, mask: np.ndarray) -> History:
        return History(self.purchase_days[mask], self.first_day[mask], self.last_day[mask], self.total_spend[mask])

    def average_spend(self) -> np.ndarray:
        return self.total_spend / np.maximum(self.purchase_days, 1)


@dataclass(frozen=True)
class Scores:
    recency_days: np.ndarray
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    segment: np.ndarray
    p_alive: np.ndarray
    expected_purchases_90d: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray
    value_percentile: np.ndarray
    usual_gap_days: np.ndarray
    tier: np.ndarray
    stage: np.ndarray
    churn_risk: np.ndarray

    def row(self, i: int) -> dict[str, object]:
        return {field.name: _plain(getattr(self, field.name)[i]) for field in fields(self)}

    def rows(self, indices: np.ndarray) -> dict[int, dict[str, object]]:
        """row(i) of each of these customers, converted a column at a time."""
        names = [field.name for field in fields(self)]
        columns = [_plain_list(getattr(self, name)[indices]) for name in names]
        return {int(i): dict(zip(names, values)) for i, *values in zip(indices.tolist(), *columns)}


_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: spreads the bits of each value
NO_FINGERPRINT = -1  #: what a customer without stored scores has


def fingerprints(scores: Scores, model_version: str | None) -> np.ndarray:
    """A 63-bit digest of each customer's scores and the model version: customers whose digest equals the
    stored one have nothing new to write. Stable across processes (no salted hash)."""
    digest = np.full(len(scores.stage), _text_code(model_version), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for field in fields(Scores):
            values = getattr(scores, field.name)
            if values.dtype.kind == "f":
                bits = np.where(np.isnan(values), np.nan, values).astype(np.float64).view(np.uint64)
            elif values.dtype.kind == "O":
                bits = _text_codes(values)
            else:
                bits = values.astype(np.uint64)
            digest = (digest ^ bits) * _MULTIPLIER
            digest ^= digest >> np.uint64(31)
    return (digest >> np.uint64(1)).astype(np.int64)


def _text_codes(values: np.ndarray) -> np.ndarray:
    texts = values.tolist()
    code = {text: _text_code(text) for text in set(texts)}  # a handful of labels
    return np.fromiter(map(code.__getitem__, texts), dtype=np.uint64, count=len(texts))


def _text_code(text: str | None) -> int:
    return 0 if text is None else int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _plain_list(values: np.ndarray) -> list[object]:
    if values.dtype.kind == "f":
        return np.where(np.isnan(values), None, values).tolist()
    return values.tolist()


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def predict_buyers(facts: Facts, today: int, model: FittedModel | None, clv_months: int = 12,
                   discount_rate: float = 0.01) -> Predictions | None:
    """CLV predictions of the buyers (None without a model), for population_cut_points and score to share."""
    buyers = facts.buyers()
    if model is None or not buyers.any():
        return None
    return predict(model, facts.history(buyers), today, months=clv_months, discount_rate=discount_rate)


def population_cut_points(facts: Facts, today: int, model: FittedModel | None, bins: int,
                          clv_months: int = 12, discount_rate: float = 0.01, *,
                          predicted: Predictions | None = None) -> rfm.CutPoints | None:
    """Cut points of the buying population, with CLV percentiles when a model is given (`predicted`:
    the buyers' predictions when already made)."""
    buyers = facts.buyers()
    if not buyers.any():
        return None
    clv = None
    if model is not None:
        predicted = predicted or predict_buyers(facts, today, model, clv_months, discount_rate)
        clv = predicted.clv if predicted is not None else None
    return rfm.cut_points(today - facts.last_day[buyers], facts.purchase_days[buyers], facts.average_spend()[buyers],
                          facts.total_spend[buyers], clv, bins)


def score(facts: Facts, today: int, cuts: rfm.CutPoints | None, model: FittedModel | None, policy: ScoringPolicy,
          clv_months: int = 12, discount_rate: float = 0.01, *, predicted: Predictions | None = None) -> Scores:
    n = len(facts)
    buyers = facts.buyers() if cuts is not None else np.zeros(n, dtype=bool)
    nan = np.full(n, np.nan)
    recency = np.where(facts.purchase_days > 0, today - facts.last_day, np.nan)
    r, f, m = (np.zeros(n, dtype=np.int8) for _ in range(3))
    segment = np.full(n, None, dtype=object)
    p_alive, expected, spend, clv = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    value = nan.copy()
    if cuts is not None and buyers.any():
        r[buyers], f[buyers], m[buyers] = rfm.rfm_scores(recency[buyers], facts.purchase_days[buyers],
                                                         facts.average_spend()[buyers], cuts)
        segment[buyers] = rfm.segments(r[buyers], f[buyers], cuts.bins)
        value[buyers] = rfm.percentile(facts.total_spend[buyers], cuts.spend)
        if model is not None:
            predicted = predicted or predict(model, facts.history(buyers), today, months=clv_months,
                                             discount_rate=discount_rate)
            p_alive[buyers], expected[buyers] = predicted.p_alive, predicted.expected_purchases
            spend[buyers], clv[buyers] = predicted.expected_spend, predicted.clv
            if cuts.clv is not None:
                value[buyers] = rfm.percentile(predicted.clv, cuts.clv)
    tier = _tiers(facts, buyers, value, p_alive, r, cuts, policy)
    gap = lifecycle.usual_gap_days(facts.purchase_days, facts.first_day, facts.last_day, policy.stages)
    stage = lifecycle.stages(facts.purchase_days, recency, gap, p_alive, policy.stages)
    detractor = churn.is_detractor(facts.nps, today - facts.nps_day, policy.churn)
    risk = churn.churn_risks(p_alive, stage, detractor, facts.open_complaints, policy.churn)
    return Scores(recency, r, f, m, segment, p_alive, expected, spend, clv, value,
                  np.where(facts.purchase_days > 0, gap, np.nan), tier, stage, risk)


def _tiers(facts: Facts, buyers: np.ndarray, value: np.ndarray, p_alive: np.ndarray, r: np.ndarray,
           cuts: rfm.CutPoints | None, policy: ScoringPolicy) -> np.ndarray:
    tier = facts.previous_tier.copy()
    if cuts is None or not buyers.any():
        return tier
    previous = tiers.rank_of(facts.previous_tier[buyers])
    ranks = tiers.assign_tiers(value[buyers], p_alive[buyers], rfm.on_five_point_scale(r[buyers], cuts.bins),
                               previous, policy.tiers)
    tier[buyers] = np.asarray(tiers.TIERS_BY_RANK, dtype=object)[ranks]
    return tier
