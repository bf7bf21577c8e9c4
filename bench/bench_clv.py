"""CLV fitting speed: services.scoring.clv against lifetimes 0.11.3, same data, same run.

The data mimic a customer base summarised by day over two years: ages uniform
over 730 days, recency and T in whole days, purchase behaviour drawn from the
BG/NBD or Pareto/NBD model with CDNOW-like parameters (rescaled to days), and
spends from the Gamma-Gamma model. Both libraries get every customer's row, as
lifetimes' documentation feeds it; ours collapses them to distinct rows itself,
and that collapsing is part of its measured time.
"""

import contextlib
import statistics
import time
import warnings
from dataclasses import dataclass

import numpy as np

from bench.results import BenchResult
from services.scoring.clv import BetaGeo, GammaGamma, ParetoNBD
from services.scoring.clv_simulate import simulate_bg_nbd, simulate_gamma_gamma, simulate_pareto_nbd, uniform_ages

with warnings.catch_warnings():
    # lifetimes 0.11.3 sets a pandas option at import that pandas 3 deprecates.
    warnings.simplefilter("ignore")
    import lifetimes
    import pandas
    import lifetimes.fitters as lifetimes_fitters
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 50_000
DAYS = 730
OUR_REPEATS_EACH_SIDE = 3
SPEEDUP_TARGETS = {"BG/NBD": 15.0, "Pareto/NBD": 40.0, "Gamma-Gamma": 5.0}
# CDNOW estimates (Fader, Hardie and Lee), alpha and beta converted from weeks to days.
BG_NBD = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
PARETO_NBD = {"r": 0.553, "alpha": 10.578 * 7, "s": 0.606, "beta": 11.669 * 7}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}


def run(quick: bool) -> list[BenchResult]:
    if lifetimes.__version__ != "0.11.3":
        raise RuntimeError(f"the benchmark compares against lifetimes 0.11.3, found {lifetimes.__version__}")
    n_customers = QUICK_CUSTOMERS if quick else FULL_CUSTOMERS
    rng = np.random.default_rng(2024)
    ages = np.floor(uniform_ages(n_customers, DAYS, rng))
    bg = simulate_bg_nbd(ages, **BG_NBD, rng=rng)
    pareto = simulate_pareto_nbd(ages, **PARETO_NBD, rng=rng)
    repeat_frequencies = bg.frequency[bg.frequency > 0]
    spend_frequency = rng.choice(repeat_frequencies, size=n_customers)
    spend = np.maximum(np.round(simulate_gamma_gamma(spend_frequency, **GAMMA_GAMMA, rng=rng), 2), 0.01)
    return [
        _bench_transactions("BG/NBD", BetaGeo, BetaGeoFitter, (bg.frequency, np.floor(bg.recency), ages), quick),
        _bench_transactions(
            "Pareto/NBD", ParetoNBD, ParetoNBDFitter, (pareto.frequency, np.floor(pareto.recency), ages), quick
        ),
        _bench_spend(spend_frequency, spend),
    ]


def _bench_transactions(name, model_class, fitter_class, rfm, quick: bool) -> BenchResult:
    x, t_x, age = rfm
    _progress(f"{name}: ours, then lifetimes.{fitter_class.__name__} on {len(x):,} customers")
    race = _race(lambda: model_class().fit(x, t_x, age), lambda: _fit_lifetimes(fitter_class, x, t_x, age))
    ours, theirs = race.ours, race.theirs
    theirs_ll = model_class.from_params(**theirs.params_.to_dict()).log_likelihood(x, t_x, age)
    details = {"customers": f"{len(x):,}", "distinct (x, t_x, T) rows": f"{ours.n_distinct_rows_:,}"}
    details |= race.details(f"lifetimes.{fitter_class.__name__}", ours.log_likelihood_, theirs_ll)
    if not quick:
        _progress(f"{name}: lifetimes on the distinct rows, for reference")
        details["lifetimes on the distinct rows with weights (for reference)"] = _lifetimes_on_distinct_rows(
            fitter_class, x, t_x, age
        )
    return _speed_result(name, len(x), race, fitter_class.__name__, details)


def _bench_spend(frequency, spend) -> BenchResult:
    _progress(f"Gamma-Gamma: ours, then lifetimes.GammaGammaFitter on {len(frequency):,} customers")
    race = _race(lambda: GammaGamma().fit(frequency, spend), lambda: _fit_lifetimes(GammaGammaFitter, frequency, spend))
    theirs_ll = -race.theirs._negative_log_likelihood_ * len(frequency)  # lifetimes reports -LL / n
    details = {"customers (all with repeat purchases)": f"{len(frequency):,}"}
    details |= race.details("lifetimes.GammaGammaFitter", race.ours.log_likelihood_, theirs_ll)
    return _speed_result("Gamma-Gamma", len(frequency), race, "GammaGammaFitter", details)


@dataclass
class _Race:
    ours: object
    ours_seconds: float
    theirs: object
    lifetimes_seconds: float
    lifetimes_hessian_seconds: float

    def details(self, fitter_name: str, our_ll: float, their_ll: float) -> dict[str, str]:
        hessian = self.lifetimes_hessian_seconds
        return {
            "compared with": f"lifetimes {lifetimes.__version__} (pandas {pandas.__version__})",
            f"ours, median of {2 * OUR_REPEATS_EACH_SIDE} fits around lifetimes' (after a warm-up)": f"{self.ours_seconds:.3f} s",
            f"{fitter_name}, one fit": f"{self.lifetimes_seconds:.2f} s"
            + (f" (of which {hessian:.2f} s its autograd Hessian for standard errors)" if hessian else ""),
            "summed log-likelihood, ours / lifetimes' fit": f"{our_ll:.6f} / {their_ll:.6f} "
            f"(relative difference {abs(our_ll - their_ll) / abs(their_ll):.1e})",
            "parameters, ours": _format(self.ours.params_),
            "parameters, lifetimes": _format(self.theirs.params_.to_dict()),
        }


def _race(fit_ours, fit_lifetimes) -> _Race:
    """Time our fit after a warm-up, half before and half after lifetimes' single (much longer)
    fit, so load from other processes that comes and goes weighs on both sides alike."""
    fit_ours()
    before, ours = _time_ours(fit_ours)
    with _lifetimes_hessian_timer() as hessian_seconds:
        started = time.perf_counter()
        theirs = fit_lifetimes()
        lifetimes_seconds = time.perf_counter() - started
    after, _ = _time_ours(fit_ours)
    return _Race(ours, statistics.median(before + after), theirs, lifetimes_seconds, hessian_seconds[0])


def _time_ours(fit) -> tuple[list[float], object]:
    seconds, model = [], None
    for _ in range(OUR_REPEATS_EACH_SIDE):
        started = time.perf_counter()
        model = fit()
        seconds.append(time.perf_counter() - started)
    return seconds, model


def _fit_lifetimes(fitter_class, *data, weights=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(0)  # ParetoNBDFitter draws its starting point from numpy's global generator
        return fitter_class().fit(*data, weights=weights)


def _speed_result(name, n_customers, race: _Race, fitter_name, details) -> BenchResult:
    speedup = race.lifetimes_seconds / race.ours_seconds
    target = SPEEDUP_TARGETS[name]
    return BenchResult(
        name=f"{name} fit, {n_customers:,} customers",
        figure=speedup,
        unit="x lifetimes' speed",
        target=f">= {target:g}x",
        passed=speedup >= target,
        comparison=f"ours {race.ours_seconds:.3f} s vs lifetimes.{fitter_name} {race.lifetimes_seconds:.1f} s, "
        "same data, same run",
        details=details,
    )


def _lifetimes_on_distinct_rows(fitter_class, x, t_x, age) -> str:
    rows, counts = np.unique(np.column_stack([x, t_x, age]), axis=0, return_counts=True)
    started = time.perf_counter()
    _fit_lifetimes(fitter_class, *rows.T, weights=counts)
    seconds = time.perf_counter() - started
    return f"{seconds:.2f} s on {len(rows):,} rows (not the target comparison: lifetimes leaves this to the caller)"


@contextlib.contextmanager
def _lifetimes_hessian_timer():
    """Time lifetimes' autograd Hessian (BG/NBD and Gamma-Gamma fits compute one for standard errors)."""
    spent = [0.0]
    original = lifetimes_fitters.hessian

    def timed_hessian(function):
        compute = original(function)

        def call(*args):
            started = time.perf_counter()
            try:
                return compute(*args)
            finally:
                spent[0] += time.perf_counter() - started

        return call

    lifetimes_fitters.hessian = timed_hessian
    try:
        yield spent
    finally:
        lifetimes_fitters.hessian = original


def _progress(message: str) -> None:
    print(f"[bench]   {message}", flush=True)


def _format(params: dict) -> str:
    return ", ".join(f"{name}={value:.6g}" for name, value in params.items())

