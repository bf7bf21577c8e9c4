"""Backtest: a model fitted on a calibration period, judged on the repeat purchases of a holdout period."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.scoring.clv import GammaGamma
from services.scoring.lifetime_value import FittedModel, History, expected_in_window


@dataclass(frozen=True)
class DecileResult:
    decile: int  # 1 = lowest predicted value
    customers: int
    predicted_purchases: float
    actual_purchases: float


@dataclass(frozen=True)
class BacktestResult:
    customers: int
    holdout_days: int
    predicted_purchases: float
    actual_purchases: float
    mean_absolute_error: float
    deciles: list[DecileResult]


def backtest(fitted: FittedModel, calibration: History, holdout_purchase_days: np.ndarray, calibration_end_day: int,
             holdout_end_day: int) -> BacktestResult:
    """Predicted vs actual purchase days in the holdout, overall and per decile of predicted value
    (expected purchases times expected spend)."""
    days = holdout_end_day - calibration_end_day
    predicted = expected_in_window(fitted, calibration, calibration_end_day, days)
    frequency, _, _, average = calibration.rfm(calibration_end_day, fitted.time_unit)
    value = predicted * GammaGamma.from_params(**fitted.spend_params).expected_average_spend(frequency, average)
    actual = np.asarray(holdout_purchase_days, dtype=float)
    order = np.argsort(value, kind="stable")
    deciles = []
    for number, members in enumerate(np.array_split(order, 10), start=1):
        if len(members):
            deciles.append(DecileResult(number, len(members), float(predicted[members].sum()),
                                        float(actual[members].sum())))
    return BacktestResult(len(actual), days, float(predicted.sum()), float(actual.sum()),
                          float(np.mean(np.abs(predicted - actual))), deciles)
