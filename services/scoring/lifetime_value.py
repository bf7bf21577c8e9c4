"""Fitting and applying a CLV model (BG/NBD or Pareto/NBD with Gamma-Gamma) on per-customer arrays.

Pure: arrays in, arrays or plain values out. Times are day numbers; a model counts purchase days in its
time unit (day or week), so frequency = purchase days - 1, recency = last - first, T = as_of - first.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from services.scoring.clv import BetaGeo, GammaGamma, ParetoNBD

ModelName = Literal["bgnbd", "paretonbd"]
TimeUnit = Literal["day", "week"]
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0}
_FREQ = {"day": "D", "week": "W"}
_MODELS = {"bgnbd": BetaGeo, "paretonbd": ParetoNBD}


class NotEnoughData(ValueError):
    """The data cannot support a fit; the message says why."""


@dataclass(frozen=True)
class History:
    """Per-customer purchase history up to an observation end, for customers who bought before it."""

    purchase_days: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    total_spend: np.ndarray

    def rfm(self, as_of_day: float, unit: TimeUnit) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(frequency, recency, T, average spend per purchase day) in the model's time unit."""
        scale = DAYS_PER_UNIT[unit]
        frequency = np.maximum(self.purchase_days - 1, 0).astype(float)
        recency = np.where(frequency > 0, (self.last_day - self.first_day) / scale, 0.0)
        age = np.maximum((as_of_day - self.first_day) / scale, recency)
        average = self.total_spend / np.maximum(self.purchase_days, 1)
        return frequency, recency, age, average


@dataclass(frozen=True)
class FittedModel:
    model: ModelName
    time_unit: TimeUnit
    transaction_params: dict[str, float]
    spend_params: dict[str, float]
    log_likelihood: float = 0.0
    spend_log_likelihood: float = 0.0
    customers: int = 0
    repeat_customers: int = 0
    duration_seconds: float = 0.0


def check_enough(history: History, min_customers: int, min_repeat: int) -> None:
    customers = len(history.purchase_days)
    repeaters = int(np.count_nonzero(history.purchase_days >= 2))
    if customers < min_customers:
        raise NotEnoughData(f"{customers} customers bought before the end of the observation period; "
                            f"a fit needs at least {min_customers}")
    if repeaters < min_repeat:
        raise NotEnoughData(f"{repeaters} customers bought on two days or more before the end of the observation "
                            f"period; a fit needs at least {min_repeat}")


def fit(history: History, as_of_day: float, model: ModelName, unit: TimeUnit) -> FittedModel:
    """Fit the transaction model on everybody and Gamma-Gamma on the repeat buyers (may raise
    ConvergenceError or ValueError)."""
    started = time.perf_counter()
    frequency, recency, age, average = history.rfm(as_of_day, unit)
    if float(age.max()) <= 0:
        raise NotEnoughData("every customer bought on the last day of the observation period: nothing to fit")
    transactions = _MODELS[model]().fit(frequency, recency, age)
    repeat = (frequency > 0) & (average > 0)
    if np.count_nonzero(repeat) < 2:
        raise NotEnoughData("fewer than two repeat customers with a positive spend: cannot fit spend")
    spend = GammaGamma().fit(frequency[repeat], average[repeat])
    return FittedModel(model, unit, dict(transactions.params_), dict(spend.params_),
                       float(transactions.log_likelihood_), float(spend.log_likelihood_),
                       len(frequency), int(np.count_nonzero(frequency > 0)), time.perf_counter() - started)


@dataclass(frozen=True)
class Predictions:
    p_alive: np.ndarray
    expected_purchases: np.ndarray
    expected_spend: np.ndarray
    clv: np.ndarray


def predict(fitted: FittedModel, history: History, today: float, *, horizon_days: float = 90.0,
            months: int = 12, discount_rate: float = 0.01) -> Predictions:
    """P(alive), expected purchase days in the next `horizon_days`, expected spend per purchase day and
    the discounted value of the next `months` months, per customer."""
    frequency, recency, age, average = history.rfm(today, fitted.time_unit)
    transactions = _MODELS[fitted.model].from_params(**fitted.transaction_params)
    spend = GammaGamma.from_params(**fitted.spend_params)
    scale = DAYS_PER_UNIT[fitted.time_unit]
    expected_spend = spend.expected_average_spend(frequency, average)
    clv = spend.customer_lifetime_value(transactions, frequency, recency, age, average, time=months,
                                        discount_rate=discount_rate, freq=_FREQ[fitted.time_unit])
    return Predictions(transactions.probability_alive(frequency, recency, age),
                       transactions.conditional_expected_purchases(horizon_days / scale, frequency, recency, age),
                       expected_spend, clv)


def expected_in_window(fitted: FittedModel, history: History, as_of_day: float, days: float) -> np.ndarray:
    frequency, recency, age, _ = history.rfm(as_of_day, fitted.time_unit)
    transactions = _MODELS[fitted.model].from_params(**fitted.transaction_params)
    return transactions.conditional_expected_purchases(days / DAYS_PER_UNIT[fitted.time_unit], frequency, recency, age)
