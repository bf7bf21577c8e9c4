"""Vectorised simulators for the BG/NBD, Pareto/NBD and Gamma-Gamma models.

Each draws whole customer bases from a model with known parameters, without a
Python loop per customer, so tests can check parameter recovery and calibration
and benchmarks can build realistic million-customer data sets in a second.

Times are continuous in whatever unit ``T`` is given in; round them (for
example ``np.floor(recency)``) to mimic data summarised by day.
"""

from dataclasses import dataclass

import numpy as np

__all__ = [
    "SimulatedCustomers",
    "simulate_bg_nbd",
    "simulate_pareto_nbd",
    "simulate_gamma_gamma",
    "uniform_ages",
]


@dataclass(frozen=True)
class SimulatedCustomers:
    """RFM summary of simulated customers, plus what they did after ``T``.

    ``holdout_purchases`` counts repeat purchases in ``(T, T + holdout]``.
    """

    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    holdout_purchases: np.ndarray
    alive_at_T: np.ndarray


def uniform_ages(n_customers: int, max_age: float, rng: np.random.Generator) -> np.ndarray:
    """Ages of customers acquired uniformly over ``max_age`` time units (at least 1)."""
    return rng.uniform(1.0, max_age, size=n_customers)


def _time_of_last_of(n_events: np.ndarray, window: np.ndarray, x: np.ndarray, rng) -> np.ndarray:
    """Time of the ``x``-th of ``n_events`` uniform arrivals on ``[0, window]`` (0 where x = 0).

    The k-th order statistic of n uniforms is Beta(k, n - k + 1).
    """
    has_purchase = x > 0
    fraction = np.zeros_like(window)
    fraction[has_purchase] = rng.beta(x[has_purchase], n_events[has_purchase] - x[has_purchase] + 1)
    return window * fraction


def simulate_bg_nbd(
    T: np.ndarray, r: float, alpha: float, a: float, b: float, rng: np.random.Generator, holdout: float = 0.0
) -> SimulatedCustomers:
    """Draw customers from the BG/NBD model (Fader, Hardie and Lee 2005).

    Each customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate=alpha)``
    and, after each repeat purchase, drops out with probability ``p ~ Beta(a, b)``.
    """
    T = np.asarray(T, dtype=float)
    purchase_rate = rng.gamma(r, 1.0 / alpha, size=T.shape)
    # Beta draws can underflow to 0 for small a; a customer who (almost) never drops out.
    dropout_probability = np.maximum(rng.beta(a, b, size=T.shape), 1e-12)
    # Number of repeat purchases the customer makes before dropping out (the last one included).
    purchases_until_dropout = rng.geometric(dropout_probability)
    poisson_purchases = rng.poisson(purchase_rate * T)
    frequency = np.minimum(poisson_purchases, purchases_until_dropout)
    recency = _time_of_last_of(poisson_purchases, T, frequency, rng)
    alive = purchases_until_dropout > poisson_purchases
    remaining = np.where(alive, purchases_until_dropout - poisson_purchases, 0)
    holdout_purchases = np.minimum(rng.poisson(purchase_rate * holdout), remaining)
    return SimulatedCustomers(frequency.astype(float), recency, T, holdout_purchases.astype(float), alive)


def simulate_pareto_nbd(
    T: np.ndarray, r: float, alpha: float, s: float, beta: float, rng: np.random.Generator, holdout: float = 0.0
) -> SimulatedCustomers:
    """Draw customers from the Pareto/NBD model (Schmittlein, Morrison and Colombo 1987).

    Each customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate=alpha)``
    until an exponential lifetime with rate ``mu ~ Gamma(s, rate=beta)`` ends.
    """
    T = np.asarray(T, dtype=float)
    purchase_rate = rng.gamma(r, 1.0 / alpha, size=T.shape)
    dropout_rate = rng.gamma(s, 1.0 / beta, size=T.shape)
    with np.errstate(divide="ignore"):  # a dropout rate that underflows to 0 means living for ever
        lifetime = rng.standard_exponential(T.shape) / dropout_rate
    observed_active = np.minimum(lifetime, T)
    frequency = rng.poisson(purchase_rate * observed_active)
    recency = _time_of_last_of(frequency, observed_active, frequency, rng)
    alive = lifetime > T
    active_in_holdout = np.clip(lifetime - T, 0.0, holdout)
    holdout_purchases = rng.poisson(purchase_rate * active_in_holdout)
    return SimulatedCustomers(frequency.astype(float), recency, T, holdout_purchases.astype(float), alive)


def simulate_gamma_gamma(
    frequency: np.ndarray, p: float, q: float, v: float, rng: np.random.Generator
) -> np.ndarray:
    """Average spend per repeat purchase under the Gamma-Gamma model (Fader, Hardie and Lee 2005).

    Spends are ``Gamma(p, rate=nu)`` with ``nu ~ Gamma(q, rate=v)`` per customer; the
    mean of ``x`` such spends is ``Gamma(p * x, rate=nu * x)``. Requires frequency > 0.
    """
    frequency = np.asarray(frequency, dtype=float)
    if np.any(frequency <= 0):
        raise ValueError("simulate_gamma_gamma needs customers with at least one repeat purchase")
    spend_rate = rng.gamma(q, 1.0 / v, size=frequency.shape)
    return rng.gamma(p * frequency, 1.0 / (spend_rate * frequency))
