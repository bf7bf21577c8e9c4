"""Customer lifetime value models: BG/NBD, Pareto/NBD and Gamma-Gamma.

A small library in the style of ``lifetimes``, with its conventions: ``frequency``
is the number of repeat purchases x, ``recency`` the customer's age at the last
purchase t_x (0 when x = 0), ``T`` the customer's age, all in one time unit.

    transactions = BetaGeo().fit(frequency, recency, T)
    spend = GammaGamma().fit(frequency[frequency > 0], monetary_value[frequency > 0])
    clv = spend.customer_lifetime_value(transactions, frequency, recency, T, monetary_value)

Fits maximise the likelihood over log-parameters with L-BFGS-B and analytic (or,
for Pareto/NBD's hypergeometric term, vectorised central-difference) gradients.
They work on the distinct (x, t_x, T) rows with weights, in time rescaled so the
largest T is 1 (as lifetimes does); ``params_`` are reported in the data's unit.

``log_likelihood_`` is the summed, weighted log-likelihood of the fitted data at
``params_``, in the data's own time unit, with no penalty. lifetimes 0.11.3 reports
other normalisations in ``_negative_log_likelihood_``: ``-LL / sum(w)`` for
BetaGeoFitter and GammaGammaFitter, ``-LL / mean(w)`` for ParetoNBDFitter, and for
BetaGeoFitter and ParetoNBDFitter in its rescaled time, where LL is larger by
``sum(w * x) * log(max T)`` (each of the x purchase times is a density in time).
"""

from collections.abc import Callable
from types import ModuleType

import numpy as np

from services.scoring import clv_bgnbd, clv_gamma, clv_pareto
from services.scoring.clv_data import (
    RfmIndex,
    as_float_array,
    broadcast_rfm,
    check_same_length,
    checked_rfm,
    checked_weights,
    group_rows,
)
from services.scoring.clv_fit import ConvergenceError, maximise_log_likelihood

__all__ = ["BetaGeo", "ParetoNBD", "GammaGamma", "ConvergenceError"]

# Time units per month, as lifetimes' customer_lifetime_value counts them.
_UNITS_PER_MONTH = {"W": 4.345, "M": 1.0, "D": 30.0, "H": 30.0 * 24.0}
_DEFAULT_TOL = 1e-7
_DEFAULT_MAXITER = 1000


class _TransactionModel:
    """Shared fitting and prediction plumbing for the BG/NBD and Pareto/NBD models."""

    _name: str
    _param_names: tuple[str, ...]
    _time_params: tuple[str, ...]
    _math: ModuleType

    def __init__(self) -> None:
        self.params_: dict[str, float] | None = None
        self.log_likelihood_: float | None = None
        self.n_customers_: float | None = None
        self.n_distinct_rows_: int | None = None

    @classmethod
    def from_params(cls, **params: float):
        """A model with the given parameters, ready to predict without fitting."""
        if set(params) != set(cls._param_names) or not all(value > 0 for value in params.values()):
            raise ValueError(f"{cls.__name__} needs positive {', '.join(cls._param_names)}; got {params}")
        model = cls()
        model.params_ = {name: float(params[name]) for name in cls._param_names}
        return model

    def fit(self, frequency, recency, T, weights=None, *, maxiter: int = _DEFAULT_MAXITER, tol: float = _DEFAULT_TOL):
        """Fit by maximum likelihood; ``weights`` counts customers per row. Returns self.

        Raises ``ValueError`` on invalid data and ``ConvergenceError`` when the
        optimizer fails or a parameter runs off to 0 or infinity.
        """
        frequency, recency, T = checked_rfm(frequency, recency, T)
        index = RfmIndex.build(frequency, recency, T, checked_weights(weights, len(frequency)))
        time_scale = float(index.T.max())
        if time_scale <= 0:
            raise ValueError("every customer has T = 0: there is no observation period to fit")
        if not np.any(index.frequency > 0):
            raise ValueError("no customer has a repeat purchase (frequency is 0 throughout): nothing to fit")
        scaled = index.scaled(time_scale)
        log_params = maximise_log_likelihood(
            self._name,
            self._param_names,
            _mean_negative(self._math.log_likelihood_and_gradient, scaled),
            self._math.initial_log_params(scaled),
            maxiter,
            tol,
        )
        params = dict(zip(self._param_names, np.exp(log_params).tolist()))
        for name in self._time_params:
            params[name] *= time_scale
        self.params_ = params
        self.log_likelihood_ = self._math.log_likelihood_and_gradient(self._params(), index)[0]
        self.n_customers_ = index.total_weight
        self.n_distinct_rows_ = len(index.weights)
        return self

    def log_likelihood(self, frequency, recency, T, weights=None) -> float:
        """Summed weighted log-likelihood of the given data at ``params_``."""
        frequency, recency, T = checked_rfm(frequency, recency, T)
        index = RfmIndex.build(frequency, recency, T, checked_weights(weights, len(frequency)))
        return self._math.log_likelihood_and_gradient(self._params(), index)[0]

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that a customer with history (x, t_x, T) is still active."""
        return self._math.probability_alive(self._params(), *broadcast_rfm(frequency, recency, T))

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected repeat purchases in the next ``t`` time units given the history (x, t_x, T)."""
        frequency, recency, T = broadcast_rfm(frequency, recency, T)
        return self._math.conditional_expected_purchases(self._params(), _checked_horizon(t), frequency, recency, T)

    predict = conditional_expected_purchases

    def expected_purchases_new(self, t) -> np.ndarray:
        """Expected repeat purchases in the first ``t`` time units of a newly acquired customer."""
        return self._math.expected_purchases_new(self._params(), _checked_horizon(t))

    def discounted_expected_purchases(self, frequency, recency, T, months: int, discount_rate: float, freq: str):
        """Sum over months k = 1..months of expected purchases in month k / (1 + discount_rate)^k.

        Computed once per distinct (x, t_x, T) row; the loop runs over months, not customers.
        """
        units = _UNITS_PER_MONTH.get(freq)
        if units is None:
            raise ValueError(f"freq must be one of {sorted(_UNITS_PER_MONTH)}, got {freq!r}")
        frequency, recency, T = checked_rfm(frequency, recency, T)
        representative, row = group_rows(frequency, recency, T)
        x, t_x, age = frequency[representative], recency[representative], T[representative]
        discounted = np.zeros(len(representative))
        previous = np.zeros(len(representative))
        for month in np.arange(1, months + 1):
            cumulative = self.conditional_expected_purchases(month * units, x, t_x, age)
            discounted += (cumulative - previous) / (1.0 + discount_rate) ** month
            previous = cumulative
        return discounted[row]

    def _params(self) -> np.ndarray:
        if self.params_ is None:
            raise ValueError(f"{type(self).__name__} has no parameters yet: call fit() or from_params() first")
        return np.array([self.params_[name] for name in self._param_names])


class BetaGeo(_TransactionModel):
    """BG/NBD model (Fader, Hardie and Lee 2005), lifetimes' ``BetaGeoFitter``.

    ``params_``: r, alpha (purchase rates ~ Gamma(r, rate=alpha)) and a, b (the
    dropout probability after each repeat purchase ~ Beta(a, b)).
    """

    _name = "BG/NBD"
    _param_names = ("r", "alpha", "a", "b")
    _time_params = ("alpha",)
    _math = clv_bgnbd


class ParetoNBD(_TransactionModel):
    """Pareto/NBD model (Schmittlein, Morrison and Colombo 1987), lifetimes' ``ParetoNBDFitter``.

    ``params_``: r, alpha (purchase rates ~ Gamma(r, rate=alpha)) and s, beta
    (dropout rates ~ Gamma(s, rate=beta)).
    """

    _name = "Pareto/NBD"
    _param_names = ("r", "alpha", "s", "beta")
    _time_params = ("alpha", "beta")
    _math = clv_pareto


class GammaGamma:
    """Gamma-Gamma model of spend per transaction, lifetimes' ``GammaGammaFitter``.

    ``params_``: p, q, v. Fit it on customers with at least one repeat purchase;
    ``monetary_value`` is their mean spend per repeat purchase.
    """

    _param_names = ("p", "q", "v")

    def __init__(self) -> None:
        self.params_: dict[str, float] | None = None
        self.log_likelihood_: float | None = None
        self.n_customers_: float | None = None

    @classmethod
    def from_params(cls, p: float, q: float, v: float) -> "GammaGamma":
        """A model with the given parameters, ready to predict without fitting."""
        if min(p, q, v) <= 0:
            raise ValueError(f"GammaGamma needs positive p, q, v; got {p}, {q}, {v}")
        model = cls()
        model.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        return model

    def fit(self, frequency, monetary_value, weights=None, *, maxiter: int = _DEFAULT_MAXITER, tol: float = _DEFAULT_TOL):
        """Fit by maximum likelihood; ``weights`` counts customers per row. Returns self."""
        index = clv_gamma.SpendIndex.build(frequency, monetary_value, weights)
        scaled = index.in_currency_units_of(index.mean_spend)
        log_params = maximise_log_likelihood(
            "Gamma-Gamma",
            self._param_names,
            _mean_negative(clv_gamma.log_likelihood_and_gradient, scaled),
            clv_gamma.initial_log_params(scaled),
            maxiter,
            tol,
        )
        p, q, v = np.exp(log_params).tolist()
        self.params_ = {"p": p, "q": q, "v": v * index.mean_spend}
        self.log_likelihood_ = clv_gamma.log_likelihood_and_gradient(self._params(), index)[0]
        self.n_customers_ = index.total_weight
        return self

    def log_likelihood(self, frequency, monetary_value, weights=None) -> float:
        """Summed weighted log-likelihood of the given data at ``params_``."""
        index = clv_gamma.SpendIndex.build(frequency, monetary_value, weights)
        return clv_gamma.log_likelihood_and_gradient(self._params(), index)[0]

    def expected_average_spend(self, frequency, monetary_value) -> np.ndarray:
        """Expected spend per transaction given x repeat purchases of mean value m."""
        frequency = np.asarray(frequency, dtype=float)
        monetary_value = np.asarray(monetary_value, dtype=float)
        if np.any(frequency < 0) or np.any(monetary_value < 0):
            raise ValueError("frequency and monetary_value must be non-negative")
        return clv_gamma.expected_average_spend(self._params(), frequency, monetary_value)

    def customer_lifetime_value(
        self,
        transaction_model: _TransactionModel,
        frequency,
        recency,
        T,
        monetary_value,
        time: int = 12,
        discount_rate: float = 0.01,
        freq: str = "D",
    ) -> np.ndarray:
        """Discounted value of each customer's purchases over the next ``time`` months.

        As lifetimes computes it: month k's expected purchases from ``transaction_model``
        times the expected spend, discounted by ``(1 + discount_rate)^k`` (a monthly
        rate); ``freq`` is the unit of recency and T ("D", "W", "M" or "H"; 30 days a month).
        """
        frequency = as_float_array(frequency, "frequency")
        monetary_value = as_float_array(monetary_value, "monetary_value")
        check_same_length(frequency=frequency, monetary_value=monetary_value)
        spend = self.expected_average_spend(frequency, monetary_value)
        purchases = transaction_model.discounted_expected_purchases(frequency, recency, T, time, discount_rate, freq)
        return spend * purchases

    def _params(self) -> np.ndarray:
        if self.params_ is None:
            raise ValueError("GammaGamma has no parameters yet: call fit() or from_params() first")
        return np.array([self.params_[name] for name in self._param_names])


def _checked_horizon(t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("t must be finite and non-negative")
    return t


def _mean_negative(log_likelihood_and_gradient: Callable, index) -> Callable:
    """The optimizer's objective: mean negative log-likelihood per customer and its gradient."""
    total_weight = index.total_weight

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        ll, gradient = log_likelihood_and_gradient(np.exp(log_params), index)
        return -ll / total_weight, -gradient / total_weight

    return objective
