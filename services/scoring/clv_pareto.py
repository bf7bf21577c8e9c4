"""Pareto/NBD likelihood, gradient and predictions.

Parameters are ``(r, alpha, s, beta)``: purchase rates ~ Gamma(r, rate=alpha),
dropout rates ~ Gamma(s, rate=beta). Equations follow Fader and Hardie (2005),
"A Note on Deriving the Pareto/NBD Model and Related Expressions" (note 009).

The likelihood's hard part is ``(s / (r+s+x)) * A0`` with ``A0 = I(t_x) - I(T)`` and
``I(y) = 2F1(r+s+x, b2; r+s+x+1; z(y)) / (m+y)^(r+s+x)`` (equations 19 and 20), where
``m = max(alpha, beta)`` keeps ``z`` in [0, 1). ``log_dropout_term`` gives
``log((s / (r+s+x)) * I(y))``; it depends on (x, y) only, so a fit computes it on
the distinct pairs and combines the two ends per row in log space.
"""

import numpy as np
from scipy.special import digamma, expit, gammaln

from services.scoring.clv_data import RfmIndex, dot
from services.scoring.clv_special import log_hyp2f1_incomplete_beta_type

_STEP = 6e-6  # central differences in log-parameters: about eps ** (1/3)


def _branch(r, alpha, s, beta, x, alpha_branch):
    """(larger rate parameter, second 2F1 parameter, signed difference) for one branch."""
    larger = np.where(alpha_branch, alpha, beta)
    b2 = np.where(alpha_branch, s + 1.0, r + x)
    difference = np.where(alpha_branch, alpha - beta, beta - alpha)
    return larger, b2, difference


def log_dropout_term(params, x, y, alpha_branch=None):
    """log((s / (r+s+x)) * I(y)); ``alpha_branch`` defaults to alpha >= beta."""
    r, alpha, s, beta = params
    if alpha_branch is None:
        alpha_branch = alpha >= beta
    a = r + s + x
    larger, b2, difference = _branch(r, alpha, s, beta, x, alpha_branch)
    log_hyp = log_hyp2f1_incomplete_beta_type(a, b2, difference / (larger + y))
    return np.log(s) - np.log(a) + log_hyp - a * np.log(larger + y)


def _log_dropout_term_and_gradient(params, x, y):
    """The pair-level term and its gradient in log-parameters, shape (4, n_pairs).

    Everything but the 2F1 factor is differentiated analytically; ``log 2F1`` by
    central differences over all eight shifted parameter sets in one vectorised
    call, on the branch chosen at the centre so the shifts stay on one formula
    (where a shift makes the smaller rate the larger, z turns slightly negative,
    which the same integral representation covers).
    """
    r, alpha, s, beta = params
    alpha_branch = bool(alpha >= beta)
    shifts = np.vstack([np.zeros(4), _STEP * np.eye(4), -_STEP * np.eye(4)])
    shifted = np.exp(np.log(params) + shifts)[:, :, None]
    sr, salpha, ss, sbeta = shifted[:, 0], shifted[:, 1], shifted[:, 2], shifted[:, 3]
    a = sr + ss + x
    larger, b2, difference = _branch(sr, salpha, ss, sbeta, x, alpha_branch)
    log_hyp = log_hyp2f1_incomplete_beta_type(a, b2, difference / (larger + y))
    d_log_hyp = (log_hyp[1:5] - log_hyp[5:9]) / (2 * _STEP)

    a0 = r + s + x
    larger0 = alpha if alpha_branch else beta
    log_larger_y = np.log(larger0 + y)
    term = np.log(s) - np.log(a0) + log_hyp[0] - a0 * log_larger_y
    d_larger = -a0 / (larger0 + y)
    no_dependence = np.zeros_like(d_larger)
    analytic = np.stack(
        [
            r * (-1.0 / a0 - log_larger_y),
            alpha * (d_larger if alpha_branch else no_dependence),
            s * (1.0 / s - 1.0 / a0 - log_larger_y),
            beta * (no_dependence if alpha_branch else d_larger),
        ]
    )
    return term, analytic + d_log_hyp


def log_likelihood_and_gradient(params: np.ndarray, index: RfmIndex) -> tuple[float, np.ndarray]:
    """Summed weighted log-likelihood (equation 18) and its gradient in log-parameters.

    ``log L = A1(x) + logaddexp(B(x, T), C)`` with ``C = log(e^J(x,t_x) - e^J(x,T))``
    and ``J = log_dropout_term``.
    """
    r, alpha, s, beta = params
    x = index.x_values
    by_frequency = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    d_frequency = np.stack(
        [
            r * (digamma(r + x) - digamma(r) + np.log(alpha)),
            np.full_like(x, r),
            np.full_like(x, s * np.log(beta)),
            np.full_like(x, s),
        ]
    )

    pair_x, pair_y = index.pair_x, index.pair_y
    log_alpha_y, log_beta_y = np.log(alpha + pair_y), np.log(beta + pair_y)
    alive_to_y = -(r + pair_x) * log_alpha_y - s * log_beta_y
    d_alive_to_y = np.stack(
        [-r * log_alpha_y, -alpha * (r + pair_x) / (alpha + pair_y), -s * log_beta_y, -beta * s / (beta + pair_y)]
    )
    dropout, d_dropout = _log_dropout_term_and_gradient(params, pair_x, pair_y)

    alive_rows = alive_to_y[index.row_age_pair]
    dropout_from_recency = dropout[index.row_recency_pair]
    dropout_from_age = dropout[index.row_age_pair]
    died_rows = _log_difference(dropout_from_recency, dropout_from_age)
    row_ll = np.logaddexp(alive_rows, died_rows)
    weights = index.weights
    total = float(dot(index.x_weights, by_frequency) + dot(weights, row_ll))

    # d logaddexp(B, log(e^Jt - e^JT)) = e^(B-L) dB + e^(Jt-L) dJt - e^(JT-L) dJT: each
    # row's share goes back to its pairs, where dB and dJ are known.
    def to_pairs(pair_of_row, log_share):
        return np.bincount(pair_of_row, weights=weights * np.exp(log_share - row_ll), minlength=len(pair_x))

    alive_weight = to_pairs(index.row_age_pair, alive_rows)
    dropout_weight = to_pairs(index.row_recency_pair, dropout_from_recency) - to_pairs(index.row_age_pair, dropout_from_age)
    gradient = dot(d_frequency, index.x_weights) + dot(d_alive_to_y, alive_weight) + dot(d_dropout, dropout_weight)
    return total, gradient


def _log_alive_and_dropout(params, frequency, recency, T):
    r, alpha, s, beta = params
    alive = -(r + frequency) * np.log(alpha + T) - s * np.log(beta + T)
    from_recency = log_dropout_term(params, frequency, recency)
    from_age = log_dropout_term(params, frequency, T)
    return alive, _log_difference(from_recency, from_age)


def _log_difference(log_larger, log_smaller):
    """``log(exp(log_larger) - exp(log_smaller))``; -inf where they are equal (recency = T)."""
    with np.errstate(divide="ignore"):
        return log_larger + np.log1p(-np.exp(np.minimum(log_smaller - log_larger, 0.0)))


def probability_alive(params, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T), equations (36) and (37)."""
    alive, died = _log_alive_and_dropout(params, frequency, recency, T)
    return expit(alive - died)


def _expected_purchases_factor(s, t, beta_T):
    """``(1 - (beta_T / (beta_T + t))^(s-1)) / (s-1)``, with its limit ``log(...)`` at s = 1."""
    log_growth = np.log1p(t / beta_T)
    if s == 1.0:
        return log_growth
    return -np.expm1(-(s - 1.0) * log_growth) / (s - 1.0)


def conditional_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """E[repeat purchases in (T, T + t] | x, t_x, T], equation (41)."""
    r, alpha, s, beta = params
    rate_given_alive = (r + frequency) / (alpha + T)
    lifetime_factor = (beta + T) * _expected_purchases_factor(s, t, beta + T)
    return probability_alive(params, frequency, recency, T) * rate_given_alive * lifetime_factor


def expected_purchases_new(params, t) -> np.ndarray:
    """E[repeat purchases in (0, t]] for a newly acquired customer, equation (27)."""
    r, alpha, s, beta = params
    t = np.asarray(t, dtype=float)
    return r / alpha * beta * _expected_purchases_factor(s, t, beta)


def initial_log_params(index: RfmIndex) -> np.ndarray:
    """Start at r = 1, alpha from the mean purchase rate, s = 1, beta = 1 (times scaled to max T = 1)."""
    purchase_rate = dot(index.weights, index.frequency) / max(dot(index.weights, index.T), 1e-12)
    return np.log([1.0, 1.0 / max(purchase_rate, 1e-6), 1.0, 1.0])
