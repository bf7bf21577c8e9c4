"""The CLV models recover simulated parameters, stay finite at extremes, reject bad input and are calibrated."""

import numpy as np
import pytest

from services.scoring.clv import BetaGeo, ConvergenceError, GammaGamma, ParetoNBD
from services.scoring.clv_simulate import (
    simulate_bg_nbd,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
    uniform_ages,
)

BG_NBD = {"r": 0.5, "alpha": 10.0, "a": 0.8, "b": 2.5}
PARETO_NBD = {"r": 0.5, "alpha": 10.0, "s": 0.8, "beta": 12.0}
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}
N_CUSTOMERS = 20_000
HOLDOUT = 40.0
SIMULATORS = {BetaGeo: (simulate_bg_nbd, BG_NBD), ParetoNBD: (simulate_pareto_nbd, PARETO_NBD)}


@pytest.fixture(scope="module", params=[BetaGeo, ParetoNBD], ids=["bg_nbd", "pareto_nbd"])
def simulated(request):
    """(true parameters, simulated customers with a holdout, fitted model, covariance of its log-parameters)."""
    simulate, true_params = SIMULATORS[request.param]
    rng = np.random.default_rng(20240601)
    customers = simulate(uniform_ages(N_CUSTOMERS, 100.0, rng), **true_params, rng=rng, holdout=HOLDOUT)
    model = request.param().fit(customers.frequency, customers.recency, customers.T)
    covariance = _log_param_covariance(
        model, lambda m: m.log_likelihood(customers.frequency, customers.recency, customers.T)
    )
    return true_params, customers, model, covariance


def _log_params(model) -> np.ndarray:
    return np.log(list(model.params_.values()))


def _with_log_params(model, log_params):
    return type(model).from_params(**dict(zip(model.params_, np.exp(log_params))))


def _log_param_covariance(model, data_log_likelihood, step=1e-3):
    """Inverse observed information in log-parameters: central differences of the summed log-likelihood."""
    centre = _log_params(model)
    shifts = step * np.eye(len(centre))
    hessian = np.empty((len(centre), len(centre)))
    for i in range(len(centre)):
        for j in range(i, len(centre)):
            corners = [
                data_log_likelihood(_with_log_params(model, centre + si * shifts[i] + sj * shifts[j]))
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            hessian[i, j] = hessian[j, i] = (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * step**2)
    return np.linalg.inv(-hessian)


def test_transaction_models_recover_simulated_parameters_within_four_standard_errors(simulated):
    true_params, _, model, covariance = simulated
    standard_errors = np.sqrt(np.diag(covariance))
    assert np.all(standard_errors < 0.15), "the simulated sample should pin the parameters down"
    errors = (_log_params(model) - np.log([true_params[name] for name in model.params_])) / standard_errors
    assert np.all(np.abs(errors) < 4), dict(zip(model.params_, errors))


def test_gamma_gamma_recovers_simulated_parameters_within_four_standard_errors():
    rng = np.random.default_rng(7)
    frequency = 1.0 + rng.poisson(3.0, size=N_CUSTOMERS)
    spend = simulate_gamma_gamma(frequency, **GAMMA_GAMMA, rng=rng)
    model = GammaGamma().fit(frequency, spend)
    covariance = _log_param_covariance(model, lambda m: m.log_likelihood(frequency, spend))
    errors = (_log_params(model) - np.log(list(GAMMA_GAMMA.values()))) / np.sqrt(np.diag(covariance))
    assert np.all(np.abs(errors) < 4), dict(zip(model.params_, errors))


def test_log_likelihood_is_the_sum_over_customers_at_the_fitted_parameters(simulated):
    _, customers, model, _ = simulated
    halves = np.array_split(np.arange(N_CUSTOMERS), 2)
    by_half = [model.log_likelihood(customers.frequency[h], customers.recency[h], customers.T[h]) for h in halves]
    assert model.log_likelihood_ == pytest.approx(sum(by_half), rel=1e-12)
    assert model.n_customers_ == N_CUSTOMERS


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_fitting_distinct_rows_with_counts_equals_fitting_every_customer(model_class):
    simulate, true_params = SIMULATORS[model_class]
    rng = np.random.default_rng(3)
    customers = simulate(np.floor(uniform_ages(5_000, 200.0, rng)), **true_params, rng=rng)
    rows = np.column_stack([customers.frequency, np.floor(customers.recency), customers.T])
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    every_customer = model_class().fit(*rows.T)
    with_counts = model_class().fit(*distinct.T, weights=counts)
    assert len(distinct) < len(rows)
    assert with_counts.log_likelihood_ == pytest.approx(every_customer.log_likelihood_, rel=1e-10)
    for name, value in every_customer.params_.items():
        assert with_counts.params_[name] == pytest.approx(value, rel=1e-5)


def test_gamma_gamma_weights_count_customers():
    rng = np.random.default_rng(5)
    frequency = 1.0 + rng.poisson(2.0, size=2_000)
    spend = np.round(simulate_gamma_gamma(frequency, **GAMMA_GAMMA, rng=rng))
    spend[spend == 0] = 1.0
    rows = np.column_stack([frequency, spend])
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    every_customer = GammaGamma().fit(frequency, spend)
    with_counts = GammaGamma().fit(distinct[:, 0], distinct[:, 1], weights=counts)
    assert with_counts.log_likelihood_ == pytest.approx(every_customer.log_likelihood_, rel=1e-10)
    for name, value in every_customer.params_.items():
        assert with_counts.params_[name] == pytest.approx(value, rel=1e-5)


EXTREME_FREQUENCY = np.array([0.0, 0.0, 1e5, 1e5, 1e5, 1.0, 3.0, 40.0])
EXTREME_RECENCY = np.array([0.0, 0.0, 0.0, 100.0, 100.0, 50.0, 0.0, 1e4])
EXTREME_AGE = np.array([0.0, 100.0, 100.0, 100.0, 1e6, 50.0, 0.0, 1e4])

EXTREME_MODELS = [
    BetaGeo.from_params(r=0.3, alpha=20.0, a=0.8, b=2.5),
    BetaGeo.from_params(r=2.0, alpha=20.0, a=2.0, b=0.1),
    ParetoNBD.from_params(r=0.5, alpha=20.0, s=0.7, beta=30.0),
    ParetoNBD.from_params(r=1.0, alpha=30.0, s=1.0, beta=3.0),
    ParetoNBD.from_params(r=0.5, alpha=0.05, s=7.0, beta=300.0),
]


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("model", EXTREME_MODELS, ids=lambda m: f"{type(m).__name__}{m.params_}")
def test_predictions_are_finite_for_no_repeat_huge_frequency_recency_equal_to_age_and_zero_age(model):
    x, t_x, age = EXTREME_FREQUENCY, EXTREME_RECENCY, EXTREME_AGE
    assert np.isfinite(model.log_likelihood(x, t_x, age))
    alive = model.probability_alive(x, t_x, age)
    assert np.all((alive >= 0) & (alive <= 1))
    assert alive[0] == 1.0 and alive[3] > 0.99  # never came back; bought today (recency = T)
    for horizon in (0.0, 1.0, 365.0, 1e6):
        expected = model.conditional_expected_purchases(horizon, x, t_x, age)
        assert np.all(np.isfinite(expected)) and np.all(expected >= -1e-12)
    assert np.all(np.isfinite(model.expected_purchases_new(np.array([0.0, 1.0, 1e6]))))
    spend = GammaGamma.from_params(**GAMMA_GAMMA)
    value = spend.customer_lifetime_value(model, x, t_x, age, np.full(len(x), 20.0))
    assert np.all(np.isfinite(value)) and np.all(value >= -1e-9)


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_fit_stays_finite_with_extreme_customers_among_ordinary_ones(model_class):
    simulate, true_params = SIMULATORS[model_class]
    rng = np.random.default_rng(11)
    customers = simulate(uniform_ages(3_000, 100.0, rng), **true_params, rng=rng)
    x = np.append(customers.frequency, [1e5, 3.0, 0.0, 5.0])
    t_x = np.append(customers.recency, [99.0, 40.0, 0.0, 0.0])
    age = np.append(customers.T, [99.0, 40.0, 0.0, 0.0])
    model = model_class().fit(x, t_x, age)
    assert np.isfinite(model.log_likelihood_)
    assert all(np.isfinite(value) and value > 0 for value in model.params_.values())


def test_gamma_gamma_is_finite_for_single_and_huge_frequencies():
    model = GammaGamma.from_params(**GAMMA_GAMMA)
    assert np.isfinite(model.log_likelihood([1.0, 1e5, 3.0], [1e-3, 1e6, 20.0]))
    spend = model.expected_average_spend(np.array([0.0, 1.0, 1e5]), np.array([0.0, 10.0, 10.0]))
    assert spend[0] == pytest.approx(6.0 * 15.0 / 3.0)  # the population mean p v / (q - 1)
    assert spend[2] == pytest.approx(10.0, rel=1e-4)


INVALID_RFM = [
    ([1, 2], [1, 3], [2, 2], "recency is larger than T"),
    ([0, 2], [1, 1], [2, 2], "recency must be 0"),
    ([-1, 2], [0, 1], [2, 2], "non-negative"),
    ([1, 2], [1, 1], [2, -2], "non-negative"),
    ([1, 2, 3], [1, 1], [2, 2], "different lengths"),
    ([], [], [], "empty"),
    ([1, np.nan], [1, 1], [2, 2], "NaN"),
]


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
@pytest.mark.parametrize("frequency, recency, age, message", INVALID_RFM)
def test_invalid_customer_histories_are_rejected_with_a_clear_message(model_class, frequency, recency, age, message):
    with pytest.raises(ValueError, match=message):
        model_class().fit(frequency, recency, age)


def test_negative_weights_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        BetaGeo().fit([1, 2], [1, 1], [2, 2], weights=[1, -1])


def test_predicting_with_an_invalid_history_is_rejected():
    with pytest.raises(ValueError, match="recency is larger than T"):
        BetaGeo.from_params(**BG_NBD).probability_alive(1, 5, 3)


def test_negative_horizons_and_unknown_time_units_are_rejected():
    transactions = BetaGeo.from_params(**BG_NBD)
    with pytest.raises(ValueError, match="t must be"):
        transactions.conditional_expected_purchases(-1.0, 1, 1, 2)
    with pytest.raises(ValueError, match="t must be"):
        transactions.expected_purchases_new(-1.0)
    with pytest.raises(ValueError, match="freq must be one of"):
        GammaGamma.from_params(**GAMMA_GAMMA).customer_lifetime_value(transactions, [1], [1], [2], [10.0], freq="Y")


def test_predicting_before_fitting_says_so():
    with pytest.raises(ValueError, match="fit"):
        ParetoNBD().probability_alive(1, 1, 2)


@pytest.mark.parametrize(
    "frequency, spend, message",
    [([0, 2], [10, 10], "frequency 0"), ([1, 2], [10, 0], "positive"), ([1, 2], [10], "different lengths")],
)
def test_gamma_gamma_rejects_customers_without_repeat_purchases_or_positive_spend(frequency, spend, message):
    with pytest.raises(ValueError, match=message):
        GammaGamma().fit(frequency, spend)


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_fit_on_customers_who_never_came_back_is_rejected(model_class):
    with pytest.raises(ValueError, match="no customer has a repeat purchase"):
        model_class().fit(np.zeros(50), np.zeros(50), np.arange(1.0, 51.0))


@pytest.mark.parametrize("model_class, name", [(BetaGeo, "BG/NBD"), (ParetoNBD, "Pareto/NBD")])
def test_fit_that_runs_out_of_iterations_raises_convergence_error_naming_the_model(simulated, model_class, name):
    _, customers, _, _ = simulated
    with pytest.raises(ConvergenceError, match=f"{name} fit did not converge.*ITERATIONS"):
        model_class().fit(customers.frequency, customers.recency, customers.T, maxiter=1)


def test_fit_whose_parameters_run_off_to_infinity_raises_convergence_error():
    # Customers who never drop out: BG/NBD's dropout probability Beta(a, b) heads for a point mass at 0.
    rng = np.random.default_rng(0)
    loyal = simulate_pareto_nbd(uniform_ages(1_000, 100.0, rng), r=2.0, alpha=10.0, s=1.0, beta=1e9, rng=rng)
    with pytest.raises(ConvergenceError, match="BG/NBD fit did not converge.*ran off towards 0 or infinity"):
        BetaGeo().fit(loyal.frequency, loyal.recency, loyal.T)
    assert issubclass(ConvergenceError, RuntimeError)


def _standard_error_from_parameters(model, covariance, statistic, step=1e-4):
    """Standard error of a statistic of the model from its parameter uncertainty (delta method)."""
    centre = _log_params(model)
    gradient = np.array(
        [
            (statistic(_with_log_params(model, centre + step * unit)) - statistic(_with_log_params(model, centre - step * unit)))
            / (2 * step)
            for unit in np.eye(len(centre))
        ]
    )
    return float(np.sqrt(gradient @ covariance @ gradient))


def test_holdout_purchases_match_predictions_within_the_models_own_uncertainty(simulated):
    _, customers, model, covariance = simulated
    x, t_x, age, actual = customers.frequency, customers.recency, customers.T, customers.holdout_purchases
    groups = [x == 0, x == 1, x == 2, (x >= 3) & (x < 6), x >= 6, np.ones_like(x, dtype=bool)]
    for group in groups:

        def mean_prediction(m, group=group):
            return float(np.mean(m.conditional_expected_purchases(HOLDOUT, x[group], t_x[group], age[group])))

        sampling_error = actual[group].std(ddof=1) / np.sqrt(group.sum())
        parameter_error = _standard_error_from_parameters(model, covariance, mean_prediction)
        gap = mean_prediction(model) - actual[group].mean()
        assert abs(gap) < 3 * np.hypot(sampling_error, parameter_error), (group.sum(), gap, sampling_error, parameter_error)


def test_probability_alive_matches_the_simulated_share_still_active(simulated):
    _, customers, model, _ = simulated
    alive = model.probability_alive(customers.frequency, customers.recency, customers.T)
    repeat = customers.frequency > 0
    for group in (repeat, ~repeat):
        share = customers.alive_at_T[group].mean()
        sampling_error = np.sqrt(share * (1 - share) / group.sum())
        assert abs(alive[group].mean() - share) < 4 * sampling_error + 0.01


@pytest.mark.parametrize("model_class", [BetaGeo, ParetoNBD])
def test_new_customer_purchases_match_simulation(model_class):
    simulate, true_params = SIMULATORS[model_class]
    rng = np.random.default_rng(9)
    horizon = 60.0
    newcomers = simulate(np.full(50_000, horizon), **true_params, rng=rng)
    model = model_class.from_params(**true_params)
    predicted = float(model.expected_purchases_new(horizon))
    sampling_error = newcomers.frequency.std(ddof=1) / np.sqrt(len(newcomers.frequency))
    assert abs(predicted - newcomers.frequency.mean()) < 4 * sampling_error
    assert predicted == pytest.approx(float(model.conditional_expected_purchases(horizon, 0, 0, 0)), rel=1e-12)


def test_undiscounted_lifetime_value_is_expected_spend_times_expected_purchases():
    transactions = BetaGeo.from_params(r=0.3, alpha=20.0, a=0.8, b=2.5)
    spend = GammaGamma.from_params(**GAMMA_GAMMA)
    x, t_x, age, value = np.array([0.0, 2.0, 5.0]), np.array([0.0, 30.0, 200.0]), np.array([40.0, 100.0, 210.0]), np.array([0.0, 12.0, 30.0])
    undiscounted = spend.customer_lifetime_value(transactions, x, t_x, age, value, time=6, discount_rate=0.0, freq="D")
    expected = spend.expected_average_spend(x, value) * transactions.conditional_expected_purchases(180.0, x, t_x, age)
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-10)
    discounted = spend.customer_lifetime_value(transactions, x, t_x, age, value, time=6, discount_rate=0.05, freq="D")
    assert np.all(discounted < undiscounted)
