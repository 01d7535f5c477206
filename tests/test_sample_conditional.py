"""``sample_conditional`` (issue 19): clamped Gibbs sampling of the RBMs, the
BoltzmannMachine and the DeepBeliefNetwork, against the exact conditional
distributions of tiny models (every free configuration enumerated)."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import logsumexp

from skebm import (
    BernoulliRBM,
    BoltzmannMachine,
    DeepBeliefNetwork,
    GaussianBernoulliRBM,
)
from skebm._kernels._boltzmann import bm_gibbs
from skebm._kernels._rbm_inference import rbm_gibbs
from skebm._kernels._rng import seed_state

#: Chains (one per row) for the histogram tests, and their length.
N_CHAINS = 6000
N_STEPS = 40


def _states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _tv_tolerance(p, n):
    """Four times the expected total-variation distance bound of an ``n``
    sample histogram of ``p``: 0.5 * sum sqrt(p (1 - p) / n)."""
    return 4 * 0.5 * np.sum(np.sqrt(p * (1 - p) / n))


def _histogram(samples, free):
    """Frequencies of the configurations of the ``free`` columns, indexed
    as :func:`_states` enumerates them."""
    codes = samples[:, free] @ (2 ** np.arange(free.sum())[::-1])
    return np.bincount(codes.astype(int), minlength=2 ** free.sum()) / len(samples)


def _exact_conditional(row, free, neg_free_energy):
    """p(v_free | v_clamped) over the enumerated free configurations."""
    V = np.tile(row, (2 ** free.sum(), 1))
    V[:, free] = _states(free.sum())
    logits = neg_free_energy(V)
    return np.exp(logits - logsumexp(logits))


def _far_from(q, row, free, neg_free_energy, tol):
    """Power check: the histogram ``q`` is far (> tol) from the exact law
    given the other clamped values that moves it most."""
    laws = []
    for values in _states((~free).sum()):
        other = row.copy()
        other[~free] = values
        laws.append(_exact_conditional(other, free, neg_free_energy))
    p = _exact_conditional(row, free, neg_free_energy)
    far = max(laws, key=lambda law: np.abs(law - p).sum())
    return 0.5 * np.abs(far - q).sum() > tol


def _tiny_bernoulli(seed):
    rng = np.random.RandomState(seed)
    X = (rng.rand(20, 5) < 0.5).astype(float)
    rbm = BernoulliRBM(n_components=3, n_iter=1, random_state=seed).fit(X)
    rbm.components_ = rng.normal(scale=3.0, size=(3, 5))
    rbm.intercept_hidden_ = rng.normal(size=3)
    rbm.intercept_visible_ = rng.normal(size=5)
    return rbm


def _rbm_neg_free_energy(rbm):
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    return lambda V: V @ b + np.logaddexp(0, V @ W.T + c).sum(axis=1)


@pytest.mark.parametrize("seed", [2, 3])  # models where the clamp matters
def test_bernoulli_histogram_matches_the_exact_conditional(seed):
    rbm = _tiny_bernoulli(seed)
    row = np.array([1.0, 0.5, 0.0, 0.5, 0.5])  # free entries start grey
    free = np.array([False, True, False, True, True])
    X = np.tile(row, (N_CHAINS, 1))
    clamp = np.tile(~free, (N_CHAINS, 1))
    samples = rbm.sample_conditional(X, clamp, n_steps=N_STEPS, random_state=seed)
    p = _exact_conditional(row, free, _rbm_neg_free_energy(rbm))
    q = _histogram(samples, free)
    tv = 0.5 * np.abs(p - q).sum()
    assert tv < _tv_tolerance(p, N_CHAINS)
    # power: the clamped values matter (other clamped values, another law)
    assert _far_from(
        q, row, free, _rbm_neg_free_energy(rbm), 3 * _tv_tolerance(p, N_CHAINS)
    )


def test_clamped_entries_never_change_and_the_rest_are_samples():
    rbm = _tiny_bernoulli(3)
    rng = np.random.RandomState(0)
    X = rng.rand(300, 5)  # grey clamped values are held too
    clamp = rng.rand(300, 5) < 0.5
    before = X.copy()
    out = rbm.sample_conditional(X, clamp, n_steps=5, random_state=0)
    np.testing.assert_array_equal(out[clamp], X[clamp])
    assert set(np.unique(out[~clamp])) <= {0.0, 1.0}
    np.testing.assert_array_equal(X, before)  # the caller's array
    again = rbm.sample_conditional(X, clamp, n_steps=5, random_state=0)
    np.testing.assert_array_equal(out, again)
    other = rbm.sample_conditional(X, clamp, n_steps=5, random_state=1)
    assert not np.array_equal(out, other)
    sparse = rbm.sample_conditional(sp.csr_matrix(X), clamp, n_steps=5, random_state=0)
    np.testing.assert_array_equal(sparse, out)


def test_rbm_kernel_gives_the_same_bits_on_one_or_two_threads():
    rbm = _tiny_bernoulli(4)
    rng = np.random.RandomState(1)
    V = (rng.rand(300, 5) < 0.5).astype(float)  # 3 blocks of rows
    clamp = rng.rand(300, 5) < 0.3
    args = (V, rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
    one = rbm_gibbs(*args, seed_state(7, 300), 10, False, 1, clamp)
    two = rbm_gibbs(*args, seed_state(7, 300), 10, False, 2, clamp)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[clamp], V[clamp])


def test_gaussian_conditional_mean_and_variance_are_exact():
    """Free Gaussian units given the clamped ones: a mixture over h of
    N(b_i + sigma_i a_i(h), sigma_i^2), with
    log p(h | v_c) = c.h + sum_free (b_i a_i / sigma_i + a_i^2 / 2)
    + sum_clamped v_i a_i / sigma_i + const, a_i = sum_j W_ji h_j."""
    rng = np.random.RandomState(5)
    X = rng.normal(size=(50, 4))
    rbm = GaussianBernoulliRBM(n_components=3, n_iter=1, learn_sigma=True,
                               random_state=0).fit(X)  # fmt: skip
    rbm.components_ = rng.normal(scale=0.8, size=(3, 4))
    rbm.intercept_hidden_ = rng.normal(size=3)
    rbm.intercept_visible_ = rng.normal(size=4)
    rbm.sigma_ = np.array([0.5, 1.0, 2.0, 1.5])
    W, b, c, sigma = (rbm.components_, rbm.intercept_visible_,
                      rbm.intercept_hidden_, rbm.sigma_)  # fmt: skip
    row = np.array([1.2, 0.0, -0.7, 0.0])
    free = np.array([False, True, False, True])
    H = _states(3)
    A = H @ W  # a_i(h), one row per hidden state
    log_w = H @ c + (b * A / sigma + A**2 / 2)[:, free].sum(axis=1)
    log_w += (row * A / sigma)[:, ~free].sum(axis=1)
    w = np.exp(log_w - logsumexp(log_w))
    means = b + sigma * A  # per hidden state
    mean = w @ means
    var = w @ (means**2 + sigma**2) - mean**2

    X = np.tile(row, (N_CHAINS, 1))
    clamp = np.tile(~free, (N_CHAINS, 1))
    out = rbm.sample_conditional(X, clamp, n_steps=N_STEPS, random_state=0)
    np.testing.assert_array_equal(out[:, ~free], X[:, ~free])
    sample_mean = out[:, free].mean(axis=0)
    se = np.sqrt(var[free] / N_CHAINS)
    assert np.all(np.abs(sample_mean - mean[free]) < 4 * se)
    sample_var = out[:, free].var(axis=0)
    # var of the sample variance ~ (m4 - var^2) / n; mixtures: use 2 var^2 / n * 3
    assert np.all(
        np.abs(sample_var - var[free]) < 4 * np.sqrt(6 * var[free] ** 2 / N_CHAINS)
    )
    # power: the unconditional-given-nothing mean differs
    assert (
        np.max(np.abs(mean[free] - (b + sigma * (H @ W).mean(axis=0))[free]))
        > 8 * se.max()
    )


def _tiny_boltzmann(seed, n_visible=4, n_hidden=2):
    rng = np.random.RandomState(seed)
    X = (rng.rand(30, n_visible) < 0.5).astype(float)
    bm = BoltzmannMachine(n_hidden=n_hidden, n_iter=1, random_state=seed).fit(X)
    n = n_visible + n_hidden
    W = np.triu(rng.normal(scale=1.5, size=(n, n)), 1)
    bm.coef_ = W + W.T
    bm.intercept_ = rng.normal(size=n)
    return bm


def test_boltzmann_histogram_matches_the_exact_conditional():
    bm = _tiny_boltzmann(0)
    W, b = bm.coef_, bm.intercept_
    n_visible = 4
    hidden = _states(2)

    def neg_free_energy(V):
        out = []
        for v in V:
            X = np.hstack([np.tile(v, (len(hidden), 1)), hidden])
            out.append(logsumexp(0.5 * np.einsum("ri,ij,rj->r", X, W, X) + X @ b))
        return np.array(out)

    row = np.array([1.0, 0.3, 0.0, 0.0])
    free = np.array([False, True, False, True])
    X = np.tile(row, (N_CHAINS, 1))
    clamp = np.tile(~free, (N_CHAINS, 1))
    samples = bm.sample_conditional(X, clamp, n_steps=N_STEPS, random_state=0)
    np.testing.assert_array_equal(samples[clamp], X[clamp])
    p = _exact_conditional(row, free, neg_free_energy)
    q = _histogram(samples, free)
    assert 0.5 * np.abs(p - q).sum() < _tv_tolerance(p, N_CHAINS)
    assert _far_from(q, row, free, neg_free_energy, 2 * _tv_tolerance(p, N_CHAINS))
    assert samples.shape == (N_CHAINS, n_visible)


def test_boltzmann_kernel_gives_the_same_bits_on_one_or_two_threads():
    bm = _tiny_boltzmann(1)
    rng = np.random.RandomState(2)
    X = (rng.rand(400, 6) < 0.5).astype(float)
    pinned = rng.rand(400, 6) < 0.4
    one, two = X.copy(), X.copy()
    # 400 rows x 6 units x 500 sweeps: past the two-thread threshold
    bm_gibbs(one, bm.coef_, bm.intercept_, 0, 500, seed_state(3, 400), 1, pinned)
    bm_gibbs(two, bm.coef_, bm.intercept_, 0, 500, seed_state(3, 400), 2, pinned)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one[pinned], X[pinned])
    assert not np.array_equal(one[~pinned], X[~pinned])


def test_one_layer_dbn_is_the_rbm_sampler_and_deeper_stacks_hold_the_clamp():
    rng = np.random.RandomState(0)
    X = (rng.rand(60, 6) < 0.5).astype(float)
    clamp = rng.rand(60, 6) < 0.5
    one = DeepBeliefNetwork(hidden_layer_sizes=(4,), n_iter=2, random_state=0).fit(X)
    out = one.sample_conditional(X, clamp, n_steps=10, random_state=0)
    np.testing.assert_array_equal(out[clamp], X[clamp])
    assert set(np.unique(out[~clamp])) <= {0.0, 1.0}
    deep = DeepBeliefNetwork(hidden_layer_sizes=(5, 3), n_iter=2, random_state=0).fit(X)
    a = deep.sample_conditional(X, clamp, n_steps=10, random_state=0)
    b = deep.sample_conditional(X, clamp, n_steps=10, random_state=0)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[clamp], X[clamp])
    assert np.all((a >= 0) & (a <= 1))
    assert not np.array_equal(a, deep.sample_conditional(X, clamp, n_steps=10,
                                                          random_state=1))  # fmt: skip


@pytest.mark.parametrize(
    "make",
    [
        lambda X: BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X),
        lambda X: BoltzmannMachine(n_hidden=1, n_iter=1, random_state=0).fit(X),
        lambda X: DeepBeliefNetwork(hidden_layer_sizes=(3, 2), n_iter=1).fit(X),
    ],
)
def test_bad_masks_are_refused(make):
    X = (np.random.RandomState(0).rand(10, 4) < 0.5).astype(float)
    model = make(X)
    with pytest.raises(TypeError, match="boolean"):
        model.sample_conditional(X, np.ones((10, 4)))
    with pytest.raises(ValueError, match="shape"):
        model.sample_conditional(X, np.ones((10, 3), bool))
    with pytest.raises(ValueError, match="n_steps"):
        model.sample_conditional(X, np.ones((10, 4), bool), n_steps=0)
