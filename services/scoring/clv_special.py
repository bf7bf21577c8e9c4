"""Gauss hypergeometric function values that stay finite where scipy's give up.

scipy's ``hyp2f1`` returns NaN when ``c - a - b`` is an integer, the parameters
are large and ``z`` is near 1 (it takes the ``1 - z`` transformation, whose
gamma-function poles cancel only in the limit), and inf when the value itself
overflows. Both happen inside the Pareto/NBD likelihood for plausible data.
"""

import numpy as np
from scipy.special import hyp2f1

# 2F1 is smooth in b; the mean of b(1 +- step) is off by O(step^2) relative, while
# scipy is still accurate to ~1e-12 this far from the integer.
_NUDGE = 1e-6


def hyp2f1_finite(a, b, c, z) -> np.ndarray:
    """``hyp2f1(a, b, c, z)``, with values scipy cannot compute taken from b nudged both ways."""
    shape, (a, b, c, z) = _flat_broadcast(a, b, c, z)
    value = hyp2f1(a, b, c, z)
    bad = ~np.isfinite(value)
    if np.any(bad):
        step = _NUDGE * np.maximum(1.0, np.abs(b[bad]))
        value[bad] = 0.5 * (
            hyp2f1(a[bad], b[bad] + step, c[bad], z[bad]) + hyp2f1(a[bad], b[bad] - step, c[bad], z[bad])
        )
    return value.reshape(shape)


def log_hyp2f1_incomplete_beta_type(a, b, z) -> np.ndarray:
    """``log 2F1(a, b; a+1; z)`` for a, b > 0 and 0 <= z < 1, finite wherever the value is.

    scipy computes most values; it overflows for large b near z = 1 and returns NaN
    (slowly) for large a near z = 1. Those few are integrated numerically instead, from
    ``2F1(a, b; a+1; z) = integral over v > 0 of exp(-v) (1 - z exp(-v/a))^(-b)``
    (the Euler integral with t = exp(-v/a)), in log space so nothing overflows.
    """
    shape, (a, b, z) = _flat_broadcast(a, b, z)
    log_value = np.full(a.shape, np.nan)
    # Where scipy would spend ~1 ms per value before giving up (measured for scipy 1.17).
    slow_for_scipy = (a > _SCIPY_SLOW_A) & (z > _SCIPY_SLOW_Z)
    direct = ~slow_for_scipy
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_value[direct] = np.log(hyp2f1(a[direct], b[direct], a[direct] + 1.0, z[direct]))
    integrate = np.flatnonzero(~np.isfinite(log_value))
    for start in range(0, len(integrate), _QUADRATURE_CHUNK):
        chunk = integrate[start : start + _QUADRATURE_CHUNK]
        log_value[chunk] = _log_laplace_integral(a[chunk], b[chunk], z[chunk])
    return log_value.reshape(shape)


def _exp_sinh_rule(step: float = 1.0 / 32, lowest: float = -4.5, highest: float = 1.7) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights of the exp-sinh (double exponential) rule on (0, inf).

    ``v = exp(pi/2 sinh t)`` spaces nodes evenly in log v over 30 orders of magnitude
    below 1, so an integrand with several scales (1, a (1 - z), a (1 - z) / b) is
    resolved; nodes stop at v = 40, past which exp(-v) leaves < 1e-17 of the integral
    (the rest of the integrand is decreasing and at least 1). Checked against mpmath
    to ~1e-15 on the cases where scipy fails.
    """
    t = np.arange(lowest, highest + step / 2, step)
    log_nodes = 0.5 * np.pi * np.sinh(t)
    log_weights = log_nodes + np.log(0.5 * np.pi * np.cosh(t) * step)
    return np.exp(log_nodes), log_weights


_QUADRATURE_CHUNK = 2048
_SCIPY_SLOW_A, _SCIPY_SLOW_Z = 300.0, 0.93
_NODES, _LOG_WEIGHTS = _exp_sinh_rule()


def _log_laplace_integral(a, b, z) -> np.ndarray:
    log_one_minus = np.log(-np.expm1(np.log(z)[:, None] - _NODES / a[:, None]))
    log_terms = _LOG_WEIGHTS - _NODES - b[:, None] * log_one_minus
    largest = log_terms.max(axis=1)
    return largest + np.log(np.exp(log_terms - largest[:, None]).sum(axis=1))


def _flat_broadcast(*values):
    """The broadcast shape and the values broadcast to it as flat float arrays."""
    arrays = np.broadcast_arrays(*(np.asarray(value, dtype=float) for value in values))
    return arrays[0].shape, [array.ravel() for array in arrays]
