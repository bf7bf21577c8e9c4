"""BG/NBD likelihood, gradient and predictions (Fader, Hardie and Lee 2005).

Parameters are ``(r, alpha, a, b)``: purchase rates ~ Gamma(r, rate=alpha),
dropout probability after each repeat purchase ~ Beta(a, b).
"""

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln

from services.scoring.clv_data import RfmIndex, dot
from services.scoring.clv_special import hyp2f1_finite


def log_likelihood_and_gradient(params: np.ndarray, index: RfmIndex) -> tuple[float, np.ndarray]:
    """Summed weighted log-likelihood over the index and its gradient in log-parameters.

    Per customer (paper, section 7):
    ``log L = A1 + A2 + logaddexp(A3, A4)`` with A1, A2 depending on x only, A3 on
    (x, T) and A4 on (x, t_x). Each is computed at its own level; the row level only
    combines them, and the gradient is pushed back to pairs with ``np.bincount``.
    """
    r, alpha, a, b = params
    x = index.x_values
    by_frequency = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    d_frequency = np.stack(
        [
            digamma(r + x) - digamma(r) + np.log(alpha),
            np.full_like(x, r / alpha),
            digamma(a + b) - digamma(a + b + x),
            digamma(b + x) - digamma(b) + digamma(a + b) - digamma(a + b + x),
        ]
    )

    pair_x, pair_y = index.pair_x, index.pair_y
    log_alpha_y = np.log(alpha + pair_y)
    still_alive = -(r + pair_x) * log_alpha_y
    repeat = pair_x > 0
    one_over_b_x = np.divide(1.0, b + pair_x - 1.0, out=np.zeros_like(pair_x), where=repeat)
    # Only customers with a repeat purchase can have dropped out (after it): -inf otherwise.
    dropped_out = still_alive + np.log(a * one_over_b_x, out=np.full_like(pair_x, -np.inf), where=repeat)

    alive_rows = still_alive[index.row_age_pair]
    dropped_rows = dropped_out[index.row_recency_pair]
    row_ll = np.logaddexp(alive_rows, dropped_rows)
    weights = index.weights
    total = float(dot(index.x_weights, by_frequency) + dot(weights, row_ll))

    n_pairs = len(pair_x)
    weight_dropped = weights * np.exp(dropped_rows - row_ll)
    dropped_by_pair = np.bincount(index.row_recency_pair, weights=weight_dropped, minlength=n_pairs)
    alive_by_pair = index.age_pair_weights - np.bincount(index.row_age_pair, weights=weight_dropped, minlength=n_pairs)
    by_pair = alive_by_pair + dropped_by_pair
    gradient = dot(d_frequency, index.x_weights) + np.array(
        [
            -dot(by_pair, log_alpha_y),
            -dot(by_pair, (r + pair_x) / (alpha + pair_y)),
            dropped_by_pair.sum() / a,
            -dot(dropped_by_pair, one_over_b_x),
        ]
    )
    return total, gradient * params


def probability_alive(params, frequency, recency, T) -> np.ndarray:
    """P(alive | x, t_x, T) (Fader, Hardie and Lee, note 021); 1 for customers with x = 0."""
    r, alpha, a, b = params
    log_odds_dead = (
        np.log(a)
        - np.log(b + np.maximum(frequency, 1.0) - 1.0)
        + (r + frequency) * np.log1p((T - recency) / (alpha + recency))
    )
    return np.where(frequency == 0, 1.0, expit(-log_odds_dead))


def conditional_expected_purchases(params, t, frequency, recency, T) -> np.ndarray:
    """E[repeat purchases in (T, T + t] | x, t_x, T], the paper's equation (10).

    The Gauss hypergeometric term is used after Euler's transformation,
    ``2F1(r+x, b+x; c; z) = (1-z)^(c-r-x-b-x) 2F1(c-r-x, c-b-x; c; z)``, whose
    parameters stay bounded as x grows, so x = 10^5 does not overflow.
    """
    r, alpha, a, b = params
    c = a + b + frequency - 1.0
    z = t / (alpha + T + t)
    log_one_minus_z = -np.log1p(t / (alpha + T))
    hyp = hyp2f1_finite(a + b - 1.0 - r, a - 1.0, c, z)
    bracket = 1.0 - np.exp((a - 1.0) * log_one_minus_z) * hyp
    return c / (a - 1.0) * bracket * probability_alive(params, frequency, recency, T)


def expected_purchases_new(params, t) -> np.ndarray:
    """E[repeat purchases in (0, t]] for a newly acquired customer, equation (9)."""
    zero = np.zeros_like(np.asarray(t, dtype=float))
    return conditional_expected_purchases(params, t, zero, zero, zero)


def initial_log_params(index: RfmIndex) -> np.ndarray:
    """A start near typical optima: r = 1, alpha from the mean purchase rate, a = 1, b = 1."""
    purchase_rate = dot(index.weights, index.frequency) / max(dot(index.weights, index.T), 1e-12)
    return np.log([1.0, 1.0 / max(purchase_rate, 1e-6), 1.0, 1.0])
