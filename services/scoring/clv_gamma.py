"""Gamma-Gamma spend model: likelihood, gradient and the expected average spend.

Parameters are ``(p, q, v)``: each transaction's value ~ Gamma(p, rate=nu) with
``nu ~ Gamma(q, rate=v)`` per customer (Fader, Hardie and Lee 2005; Hardie's note 025).
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from services.scoring.clv_data import as_float_array, check_same_length, checked_weights, dot, group_rows


@dataclass(frozen=True)
class SpendIndex:
    """Per-customer data the likelihood needs, with the frequency-only terms grouped.

    Spends are continuous, so rows rarely repeat; only the terms that depend on x
    alone are aggregated over its distinct values, and the constant terms are summed once.
    """

    weights: np.ndarray
    weighted_frequency: np.ndarray
    total_spend: np.ndarray
    x_values: np.ndarray
    x_weights: np.ndarray
    sum_weighted_x_log_total: float
    sum_weighted_log_spend: float
    mean_spend: float

    @property
    def total_weight(self) -> float:
        return float(self.x_weights.sum())

    @classmethod
    def build(cls, frequency, monetary_value, weights=None) -> "SpendIndex":
        frequency = as_float_array(frequency, "frequency")
        monetary_value = as_float_array(monetary_value, "monetary_value")
        check_same_length(frequency=frequency, monetary_value=monetary_value)
        weights = checked_weights(weights, len(frequency))
        if np.any(frequency <= 0):
            raise ValueError(
                "Gamma-Gamma is fitted on customers with at least one repeat purchase: "
                "drop customers with frequency 0 first"
            )
        if np.any(monetary_value <= 0):
            raise ValueError("monetary_value must be positive for every customer the Gamma-Gamma model is fitted on")
        representative, x_code = group_rows(frequency)
        total_spend = frequency * monetary_value
        weighted_frequency = weights * frequency
        return cls(
            weights=weights,
            weighted_frequency=weighted_frequency,
            total_spend=total_spend,
            x_values=frequency[representative],
            x_weights=np.bincount(x_code, weights=weights, minlength=len(representative)),
            sum_weighted_x_log_total=float(dot(weighted_frequency, np.log(total_spend))),
            sum_weighted_log_spend=float(dot(weights, np.log(monetary_value))),
            mean_spend=float(dot(weights, monetary_value) / weights.sum()),
        )

    def in_currency_units_of(self, unit: float) -> "SpendIndex":
        """The same data with spends divided by ``unit`` (fits run with mean spend 1)."""
        log_unit = np.log(unit)
        return SpendIndex(
            weights=self.weights,
            weighted_frequency=self.weighted_frequency,
            total_spend=self.total_spend / unit,
            x_values=self.x_values,
            x_weights=self.x_weights,
            sum_weighted_x_log_total=self.sum_weighted_x_log_total - self.weighted_frequency.sum() * log_unit,
            sum_weighted_log_spend=self.sum_weighted_log_spend - self.total_weight * log_unit,
            mean_spend=self.mean_spend / unit,
        )


def log_likelihood_and_gradient(params: np.ndarray, index: SpendIndex) -> tuple[float, np.ndarray]:
    """Summed weighted log-likelihood (note 025, equation 1a) and its gradient in log-parameters.

    Per customer: ``lgamma(px+q) - lgamma(px) - lgamma(q) + q log v + (px-1) log m
    + px log x - (px+q) log(xm+v)``, with ``(px-1) log m + px log x = px log(xm) - log m``.
    """
    p, q, v = params
    x, x_weights = index.x_values, index.x_weights
    total_weight = x_weights.sum()
    log_total_plus_v = np.log(index.total_spend + v)
    inverse_total_plus_v = 1.0 / (index.total_spend + v)
    wx_log, w_log = dot(index.weighted_frequency, log_total_plus_v), dot(index.weights, log_total_plus_v)
    wx_inv, w_inv = dot(index.weighted_frequency, inverse_total_plus_v), dot(index.weights, inverse_total_plus_v)

    gamma_terms = gammaln(p * x + q) - gammaln(p * x) - gammaln(q)
    total = (
        dot(x_weights, gamma_terms)
        + total_weight * q * np.log(v)
        + p * index.sum_weighted_x_log_total
        - index.sum_weighted_log_spend
        - p * wx_log
        - q * w_log
    )
    psi_pxq = digamma(p * x + q)
    gradient = np.array(
        [
            dot(x_weights * x, psi_pxq - digamma(p * x)) + index.sum_weighted_x_log_total - wx_log,
            dot(x_weights, psi_pxq - digamma(q)) + total_weight * np.log(v) - w_log,
            total_weight * q / v - p * wx_inv - q * w_inv,
        ]
    )
    return float(total), gradient * params


def expected_average_spend(params, frequency, monetary_value) -> np.ndarray:
    """E[spend per transaction | x, m] (note 025, equation 5): ``p (v + x m) / (p x + q - 1)``.

    The same as lifetimes' weighted average of the population mean ``p v / (q - 1)``
    and the customer's own mean; customers with x = 0 get the population mean.
    """
    p, q, v = params
    return p * (v + frequency * monetary_value) / (p * frequency + q - 1.0)


def initial_log_params(index: SpendIndex) -> np.ndarray:
    """Start at p = 1, q = 2 and v at the mean spend, where the population mean equals it."""
    return np.log([1.0, 2.0, index.mean_spend])
