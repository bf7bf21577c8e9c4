"""Maximum likelihood on log-parameters, shared by the CLV models."""

from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

# Log-parameters are kept within these bounds so exp() never overflows. With
# times scaled to max T = 1 and spends near 1, fitted values sit far inside;
# an estimate past _RUNAWAY (a factor 3e6 either way) is drifting to a boundary
# where the likelihood has no maximum (e.g. no repeat purchases, no dropout).
LOG_PARAM_BOUND = 25.0
_RUNAWAY = 15.0


class ConvergenceError(RuntimeError):
    """Raised when a CLV model's maximum-likelihood fit does not converge."""


def maximise_log_likelihood(
    model_name: str,
    param_names: Sequence[str],
    mean_negative_ll_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    initial_log_params: np.ndarray,
    maxiter: int,
    tol: float,
) -> np.ndarray:
    """Minimise a mean negative log-likelihood over log-parameters with L-BFGS-B.

    Returns the log-parameters at the optimum, or raises ``ConvergenceError``
    naming the model and the optimizer's own message.
    """
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(param_names)
    with np.errstate(all="ignore"):
        result = minimize(
            mean_negative_ll_and_grad,
            np.asarray(initial_log_params, dtype=float),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": maxiter, "gtol": tol, "ftol": 1e-12, "maxcor": 20},
            callback=_stop_when_running_off,
        )
    converged = result.success and np.isfinite(result.fun) and np.all(np.isfinite(result.x))
    runaway = [name for name, value in zip(param_names, result.x) if abs(value) >= _RUNAWAY]
    if (converged or _stalled_at_optimum(result, tol)) and not runaway:
        return result.x
    values = ", ".join(f"{name}={value:.3g}" for name, value in zip(param_names, np.exp(result.x)))
    if runaway:
        reason = (
            f"{', '.join(runaway)} ran off towards 0 or infinity ({values}, times scaled so the largest T is 1): "
            "the likelihood has no maximum inside the parameter space, so the data do not identify this model"
        )
    else:
        reason = f"stopped at {values} (times scaled so the largest T is 1); check the data or raise maxiter"
    raise ConvergenceError(
        f"{model_name} fit did not converge after {result.nit} iterations ({result.message.strip()}): {reason}."
    )


def _stop_when_running_off(intermediate_result) -> None:
    """End a fit early once it heads for a boundary: it will not come back, and the
    likelihood there is slow to evaluate (every hypergeometric term falls back)."""
    if np.max(np.abs(intermediate_result.x)) >= _RUNAWAY:
        raise StopIteration


def _stalled_at_optimum(result, tol: float) -> bool:
    """L-BFGS-B can stop in the line search when already at machine precision of the optimum."""
    return (
        "ABNORMAL" in str(result.message).upper()
        and np.isfinite(result.fun)
        and np.all(np.isfinite(result.x))
        and np.max(np.abs(result.jac)) < max(100 * tol, 1e-5)
    )
