"""Statistical checks of the estimator layer against exact references.

The kernel tests check the kernels; these check what the estimators do with
them, through the public API: that every row of every minibatch enters the
gradient exactly once per epoch, that the persistent chains hold binary
samples of the model, that ``sample``/``gibbs`` draw from the exact n-step
and stationary distributions (Bernoulli, and Gaussian with sigma != 1), and
that AIS is unbiased with a standard error that matches the spread of
independent runs.

Every statistical tolerance is derived from the sample size (the quantile
named next to it), every random number comes from a fixed seed, and each
check is paired with a power check: the same statistic computed against a
deliberately wrong distribution must land far beyond the tolerance.

Model parameters are set on fitted estimators through their public fitted
attributes (``components_``, ``intercept_*``, ``sigma_``, ``coef_``); a
``learning_rate`` of 1e-300 makes ``partial_fit`` leave them unchanged (its
steps underflow next to parameters of order one) while it runs the chains
and re-estimates ``log Z``.
"""

import copy

import exact
import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logsumexp

from skebm import BernoulliRBM, BoltzmannMachine, GaussianBernoulliRBM
from skebm.partition import ais_log_partition

#: Per-check false-alarm probability of the goodness-of-fit tests below
#: (fixed seeds make each outcome deterministic; this is the chance that a
#: different seed would fail a correct implementation).
ALPHA = 1e-6

#: A Bernoulli RBM with 3 visible and 2 hidden units whose block-Gibbs chain
#: mixes slowly enough that the 1-, 2- and 3-step distributions from the
#: uniform start differ clearly from each other and from p(v), with every
#: visible state above 1.7% in all of them.
W3 = np.array([[2.5, 2.5, -2.0], [-2.0, 2.0, 2.5]])
B3 = np.array([-1.0, -1.0, 0.5])
C3 = np.array([-1.0, -0.5])


# ------------------------------------------------------------------ helpers
def _bernoulli_table(P, states):
    """``prod_i P[r, i]^s_i (1 - P[r, i])^(1 - s_i)`` for every row r of P and
    every state s: shape (len(P), len(states))."""
    return np.prod(
        np.where(states[None] == 1, P[:, None, :], 1.0 - P[:, None, :]), axis=2
    )


def _transition(W, b, c):
    """Exact block-Gibbs transition matrix ``T[v, v'] = sum_h p(h | v)
    p(v' | h)`` over ``exact.all_states(n_visible)``."""
    V = exact.all_states(W.shape[1])
    H = exact.all_states(W.shape[0])
    return _bernoulli_table(expit(V @ W.T + c), H) @ _bernoulli_table(
        expit(H @ W + b), V
    )


def _hidden_marginal(W, b, c):
    """Exact p(h) over ``exact.all_states(n_hidden)``."""
    t = exact.neg_energy_table(W, b, c)
    return np.exp(logsumexp(t, axis=0) - logsumexp(t))


def _pearson(samples, p):
    """Pearson's X² of binary rows against the state distribution p (over
    ``exact.all_states`` order). Under H0, X² ~ chi²(len(p) - 1) for large
    counts (every expected count here is above 150)."""
    counts = np.bincount(exact.state_index(samples), minlength=len(p))
    expected = len(samples) * p
    return float(((counts - expected) ** 2 / expected).sum())


def _chi2_limit(p):
    return stats.chi2.isf(ALPHA, len(p) - 1)


def _fitted(estimator, X, **params):
    """``estimator`` fitted for zero epochs on X, then given ``params`` as
    its fitted attributes."""
    estimator.fit(X)
    for name, value in params.items():
        setattr(estimator, name, np.array(value, dtype=np.float64))
    return estimator


def _bernoulli_rbm(W, b, c, **kw):
    X = np.tile(exact.all_states(W.shape[1]), (4, 1))
    rbm = BernoulliRBM(
        n_components=W.shape[0], n_iter=0, random_state=0, log_partition=None, **kw
    )
    return _fitted(rbm, X, components_=W, intercept_visible_=b, intercept_hidden_=c)


# ------------------------------------------- every row used once per epoch
#: 17 rows in minibatches of 5: rows 0-4, 5-9, 10-14 and a short last
#: minibatch of rows 15-16 (consecutive runs of batch_size rows, as
#: scikit-learn's BernoulliRBM cuts them).
_N_ROWS, _BATCH, _N_EPOCHS, _LR = 17, 5, 2, 1e-7
_BATCH_OF_ROW = np.minimum(np.arange(_N_ROWS) // _BATCH, _N_ROWS // _BATCH)
_BATCH_SIZES = np.bincount(_BATCH_OF_ROW)[_BATCH_OF_ROW]


def _rows_data():
    X = (np.random.RandomState(7).rand(_N_ROWS, 6) < 0.5).astype(np.float64)
    X[:, 0] = 0.0  # the feature each row flips in turn
    return X


def _bias_response_per_row(trained_bias):
    """For each row j: how much the first visible bias after ``_N_EPOCHS``
    epochs moves when ``X[j, 0]`` goes from 0 to 1 (same seed, same
    initial parameters).

    Derivation: every minibatch update adds ``lr * (mean over the minibatch
    rows of v_0 - mean over the negative phase of v_0)`` to that bias (the
    positive phase of the bias gradient is the data itself; for the
    pseudo-likelihood the residual ``v_0 - sigmoid(f_0)`` has ``f_0`` free of
    ``v_0``). The negative phase depends on the data only through the
    parameters, which move by O(lr): with common random numbers (same seed)
    and lr = 1e-7 a chain draw changes only if its uniform falls within
    ~1e-7 of the threshold. So the move is ``n_epochs * lr / B_j`` for a row
    in a minibatch of B_j rows, up to O(lr) relative terms and rounding
    (~1e-8 relative on biases of order one): compared at rtol 1e-4. A row
    never used gives 0; a row used twice per epoch, or a minibatch divided
    by the wrong count, misses by 20% or more.
    """
    X = _rows_data()
    base = trained_bias(X)
    out = np.empty(_N_ROWS)
    for j in range(_N_ROWS):
        X1 = X.copy()
        X1[j, 0] = 1.0
        out[j] = trained_bias(X1) - base
    return out


def _expected_response():
    return _N_EPOCHS * _LR / _BATCH_SIZES


def test_bernoulli_rbm_uses_every_row_of_every_minibatch_once_per_epoch():
    # (a Bernoulli RBM's initial parameters do not depend on the data)
    def trained_bias(X):
        rbm = BernoulliRBM(
            n_components=3,
            batch_size=_BATCH,
            n_iter=_N_EPOCHS,
            learning_rate=_LR,
            random_state=0,
            log_partition=None,
        ).fit(X)
        return rbm.intercept_visible_[0]

    response = _bias_response_per_row(trained_bias)
    np.testing.assert_allclose(response, _expected_response(), rtol=1e-4)


@pytest.mark.parametrize("method", ["sml", "pseudolikelihood", "exact"])
def test_boltzmann_machine_uses_every_row_of_every_minibatch_once_per_epoch(method):
    # The initial visible biases are the data's log-odds, so every run
    # continues (partial_fit, one epoch each) a copy of one initial model.
    initial = BoltzmannMachine(
        method=method,
        batch_size=_BATCH,
        n_iter=0,
        learning_rate=_LR,
        random_state=0,
        log_partition=None,
    ).fit(_rows_data())

    def trained_bias(X):
        bm = copy.deepcopy(initial)
        for _ in range(_N_EPOCHS):
            bm.partial_fit(X)
        return bm.intercept_[0]

    response = _bias_response_per_row(trained_bias)
    np.testing.assert_allclose(response, _expected_response(), rtol=1e-4)


# ----------------------------------------------------- persistent chains
def test_persistent_chains_hold_binary_samples_of_the_model():
    # 4000 chains on the frozen 3x2 model: 3 epochs of 2 minibatches of
    # k=10 steps = 60 Gibbs steps from h = 0; the chain's second eigenvalue
    # is below 0.6, so what is left of the start is < 1e-13.
    n_chains = 4000
    rbm = _bernoulli_rbm(W3, B3, C3, batch_size=n_chains, k=10)
    rbm.set_params(learning_rate=1e-300)
    X = (np.random.RandomState(1).rand(2 * n_chains, 3) < 0.5).astype(np.float64)
    for _ in range(3):
        rbm.partial_fit(X)
    np.testing.assert_array_equal(rbm.components_, W3)  # frozen indeed
    H = rbm.h_samples_
    assert H.shape == (n_chains, 2)
    # samples, not probabilities: every entry 0 or 1
    assert np.isin(H, (0.0, 1.0)).all(), np.unique(H)[:10]
    # distributed as the model's hidden marginal p(h) (Pearson, 3 d.o.f.)
    p_h = _hidden_marginal(W3, B3, C3)
    limit = _chi2_limit(p_h)
    assert _pearson(H, p_h) < limit
    # power: the same counts against the hidden distribution given the
    # mean data row, or against the uniform one, fail by far
    wrong = _bernoulli_table(expit(X.mean(0) @ W3.T + C3)[None], exact.all_states(2))
    assert _pearson(H, wrong[0]) > 10 * limit
    assert _pearson(H, np.full(4, 0.25)) > 10 * limit


# -------------------------------------------- Bernoulli sample and gibbs
def test_bernoulli_sample_follows_the_exact_n_step_distribution():
    # sample() starts every chain from fair coin flips and runs n_steps
    # block-Gibbs steps: the result is distributed as u T^n (u uniform),
    # and after the default 200 steps as p(v). Pearson X² over the 8
    # states, 7 d.o.f., against chi² at ALPHA.
    rbm = _bernoulli_rbm(W3, B3, C3)
    T = _transition(W3, B3, C3)
    u = np.full(8, 1 / 8)
    exact_after = {n: u @ np.linalg.matrix_power(T, n) for n in (1, 2, 3)}
    p_v = exact.visible_distribution(W3, B3, C3)
    limit = _chi2_limit(p_v)
    N = 40_000
    drawn = {n: rbm.sample(N, n_steps=n, random_state=n) for n in (1, 2, 3)}
    drawn["default"] = rbm.sample(N, random_state=4)
    for n in (1, 2, 3):
        assert _pearson(drawn[n], exact_after[n]) < limit, n
    assert _pearson(drawn["default"], p_v) < limit
    # power: each set of samples against its neighbour's distribution
    # (one step fewer or more) fails by far, so n_steps is what decides
    assert _pearson(drawn[1], exact_after[2]) > 10 * limit
    assert _pearson(drawn[2], exact_after[1]) > 10 * limit
    assert _pearson(drawn[3], exact_after[1]) > 10 * limit
    assert _pearson(drawn[3], exact_after[2]) > 2 * limit
    assert _pearson(drawn["default"], exact_after[1]) > 10 * limit


def test_bernoulli_gibbs_is_one_exact_transition_and_calls_chain_on():
    rbm = _bernoulli_rbm(W3, B3, C3)
    T = _transition(W3, B3, C3)
    start = 3  # v = (1, 1, 0)
    V0 = np.tile(exact.all_states(3)[start], (40_000, 1))
    limit = _chi2_limit(T[start])
    one = rbm.gibbs(V0)
    two = rbm.gibbs(one)  # continues the generator: a second step
    assert one.dtype == bool
    assert _pearson(one, T[start]) < limit
    assert _pearson(two, (T @ T)[start]) < limit
    # power: one step against two steps' distribution and vice versa
    assert _pearson(one, (T @ T)[start]) > 10 * limit
    assert _pearson(two, T[start]) > 10 * limit


# ------------------------------------------ Gaussian units with sigma != 1
#: Gaussian-Bernoulli RBM with 2 visible units of standard deviations 0.3
#: and 4 (so samples in scaled units v / sigma would be off by 3-4x).
GW = np.array([[1.0, -0.8], [0.5, 1.2]])
GA = np.array([1.0, -2.0])
GC = np.array([-0.5, 0.3])
GSIGMA = np.array([0.3, 4.0])


def _gaussian_rbm():
    X = np.random.RandomState(2).normal(size=(50, 2)) * GSIGMA + GA
    rbm = GaussianBernoulliRBM(
        n_components=2, n_iter=0, random_state=0, log_partition=None
    )
    return _fitted(
        rbm, X, components_=GW, intercept_visible_=GA, intercept_hidden_=GC,
        sigma_=GSIGMA,
    )  # fmt: skip


def _mixture_cdf(weights, means, sd):
    """CDF of sum_k weights[k] N(means[k], sd²)."""
    return lambda x: (
        weights * stats.norm.cdf((np.asarray(x)[..., None] - means) / sd)
    ).sum(-1)


def _ks_limit(n):
    """Largest Kolmogorov-Smirnov distance accepted at ALPHA for n samples
    (exact finite-n distribution of D_n)."""
    return stats.kstwo.isf(ALPHA, n)


def _check_marginals(samples, weights, means, sigma):
    """KS test of each feature against its exact mixture marginal, with the
    power check that the same samples in scaled units (divided by sigma)
    fail by far."""
    limit = _ks_limit(len(samples))
    for i in range(samples.shape[1]):
        cdf = _mixture_cdf(weights, means[:, i], sigma[i])
        d = stats.kstest(samples[:, i], cdf).statistic
        assert d < limit, (i, d, limit)
        d_scaled = stats.kstest(samples[:, i] / sigma[i], cdf).statistic
        assert d_scaled > 5 * limit, (i, d_scaled, limit)


def test_gaussian_gibbs_draws_the_exact_conditional_in_data_units():
    # One step from a fixed v0: h_j ~ Bernoulli(sigmoid(c_j + W_j·(v0/σ))),
    # then v'_i ~ N(a_i + σ_i (hW)_i, σ_i²): per feature a mixture over the
    # four h states, tested by KS on 20000 draws.
    rbm = _gaussian_rbm()
    v0 = np.array([1.3, 2.0])
    N = 20_000
    out = rbm.gibbs(np.tile(v0, (N, 1)))
    assert out.dtype == np.float64
    H = exact.all_states(2)
    weights = _bernoulli_table(expit(GW @ (v0 / GSIGMA) + GC)[None], H)[0]
    means = GA + GSIGMA * (H @ GW)
    _check_marginals(out, weights, means, GSIGMA)
    # and the exact conditional mean, to 5 standard errors of the mean
    mean = weights @ means
    var = weights @ (means - mean) ** 2 + GSIGMA**2
    z = (out.mean(0) - mean) / np.sqrt(var / N)
    assert np.all(np.abs(z) < 5), z


def test_gaussian_sample_draws_the_model_distribution_in_data_units():
    # After the default 200 steps the samples follow p(v), the mixture over
    # h of N(a + σ (hW), diag σ²) with weights from exact.gaussian_mixture
    # (the chain forgets its start within a few steps here).
    rbm = _gaussian_rbm()
    N = 8000
    S = rbm.sample(N, random_state=0)
    weights, means = exact.gaussian_mixture(GW, GA, GC, GSIGMA)
    _check_marginals(S, weights, means, GSIGMA)
    mean, cov = exact.gaussian_moments(GW, GA, GC, GSIGMA)
    z = (S.mean(0) - mean) / np.sqrt(np.diag(cov) / N)
    assert np.all(np.abs(z) < 5), z


# ---------------------------------------------------------------- AIS
#: AIS runs per check. The spread of S estimates has (S - 1) s² / σ² ~
#: chi²(S - 1), so sd / σ lies in [0.66, 1.37] with probability 1 - 1e-4.
_N_AIS_RUNS = 60
_AIS_ALPHA = 1e-4


def _check_ais_runs(errors, stderrs):
    """Errors ``log Ẑ - log Z`` of independent AIS runs on one model, and
    their reported standard errors.

    1. Calibration: sd(errors) / mean(stderr) inside the chi²(S - 1)
       interval for a sample standard deviation. (The delta-method SE is
       itself estimated; its mean over S runs has a relative error of a few
       percent, small next to the interval.)
    2. Unbiasedness: |mean error| below the t(S - 1) quantile times the
       standard error of the mean, plus the Jensen bias of log Ẑ
       (about -var/2, allowed in full).
    Power: an SE three times too large or too small fails (asserted); the
    bias tolerance is returned for the caller to bound.
    """
    S = len(errors)
    sd, se = errors.std(ddof=1), stderrs.mean()
    quantiles = stats.chi2.ppf([_AIS_ALPHA / 2, 1 - _AIS_ALPHA / 2], S - 1)
    lo, hi = np.sqrt(quantiles / (S - 1))
    ratio = sd / se
    assert lo < ratio < hi, (ratio, lo, hi)
    assert not lo < ratio / 3 < hi and not lo < 3 * ratio < hi
    tol = stats.t.isf(_AIS_ALPHA / 2, S - 1) * sd / np.sqrt(S) + np.mean(stderrs**2)
    assert abs(errors.mean()) < tol, (errors.mean(), tol)
    return tol


def test_rbm_ais_is_unbiased_and_its_standard_error_calibrated():
    # Strong weights (sd 2), where an AIS transition that does not leave
    # the tempered distribution invariant (e.g. hidden units drawn at
    # beta = 1) biases log Ẑ by ~0.19, against a tolerance of ~0.02 for the
    # mean of 60 runs (per-run sd ~0.036).
    r = np.random.RandomState(1)
    W = r.normal(0, 2.0, (4, 8))
    b, c = r.normal(size=8), r.normal(size=4)
    rbm = _bernoulli_rbm(W, b, c)
    X = (np.random.RandomState(3).rand(100, 8) < 0.5).astype(np.float64)
    log_z = exact.log_partition(W, b, c)
    runs = np.array(
        [
            ais_log_partition(rbm, X, n_chains=100, n_temperatures=1000, random_state=s)
            for s in range(_N_AIS_RUNS)
        ]
    )
    tol = _check_ais_runs(runs[:, 0] - log_z, runs[:, 1])
    assert tol < 0.03  # tight enough to see a bias of 0.1 by far


def test_boltzmann_ais_is_unbiased_and_its_standard_error_calibrated():
    # Each partial_fit (parameters frozen) re-estimates log Z by AIS with a
    # fresh seed from random_state_: independent runs on one model.
    n = 8
    r = np.random.RandomState(1)
    A = np.triu(r.normal(0, 1.0, (n, n)), 1)
    W, b = A + A.T, r.normal(size=n)
    X = (np.random.RandomState(3).rand(100, n) < 0.5).astype(np.float64)
    bm = BoltzmannMachine(
        method="pseudolikelihood", n_iter=0, random_state=0, log_partition=None
    )
    bm = _fitted(bm, X, coef_=W, intercept_=b)
    bm.set_params(
        learning_rate=1e-300,
        log_partition="ais",
        n_ais_chains=100,
        n_ais_temperatures=300,
    )
    states = exact.all_states(n)
    log_z = logsumexp(0.5 * np.einsum("si,ij,sj->s", states, W, states) + states @ b)
    runs = []
    for _ in range(_N_AIS_RUNS):
        bm.partial_fit(X)
        assert bm.log_partition_method_ == "ais"
        runs.append((bm.log_partition_, bm.log_partition_stderr_))
    np.testing.assert_array_equal(bm.coef_, W)  # frozen indeed
    runs = np.array(runs)
    _check_ais_runs(runs[:, 0] - log_z, runs[:, 1])
