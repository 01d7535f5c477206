"""Boltzmann-machine kernels against brute-force enumeration on tiny machines.

The references below are plain NumPy over all 2**n states, written without
the kernels' Gray-code and local-field tricks.
"""

import exact
import numpy as np
import pytest
from scipy.special import expit, logsumexp

from skebm._kernels._boltzmann import (
    _gibbs_sweeps_,
    bm_ais,
    bm_gibbs_,
    bm_log_partition,
    bm_mean_field,
    bm_model_moments,
    bm_pseudo_log_likelihood,
    bm_visible_scores,
    local_fields,
)
from skebm._kernels._boltzmann_train import (
    bm_exact_gradient,
    bm_gradient_epoch,
    bm_pseudolikelihood_gradient,
    bm_sml_epoch,
)
from skebm._kernels._rng import seed_state


# ------------------------------------------------------------ references
def random_machine(rng, n, scale=1.0):
    W = np.triu(rng.normal(0, scale, (n, n)), 1)
    return W + W.T, rng.normal(0, scale, n)


def neg_energy(S, W, b):
    """``-U(x) = Σ_{i<j} W_ij x_i x_j + bᵀx`` for every row of S."""
    iu = np.triu_indices(W.shape[0], 1)
    pairs = S[:, iu[0]] * S[:, iu[1]]
    return pairs @ W[iu] + S @ b


def distribution(W, b):
    S = exact.all_states(len(b))
    t = neg_energy(S, W, b)
    return S, np.exp(t - logsumexp(t))


def log_likelihood(data, W, b):
    S = exact.all_states(len(b))
    return neg_energy(data, W, b).mean() - logsumexp(neg_energy(S, W, b))


def pseudo_log_likelihood(data, W, b):
    """Mean over rows of Σ_i log p(x_i | x_-i), from energy differences."""
    total = 0.0
    for i in range(len(b)):
        on, off = data.copy(), data.copy()
        on[:, i], off[:, i] = 1.0, 0.0
        d = neg_energy(on, W, b) - neg_energy(off, W, b)  # log-odds of x_i = 1
        total += np.mean(data[:, i] * d - np.logaddexp(0, d))
    return total


def pair_gradient(objective, W, b, eps=1e-6):
    """Central differences w.r.t. each tied pair W_ij = W_ji and each b_i."""
    n = len(b)
    G = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            E = np.zeros((n, n))
            E[i, j] = E[j, i] = eps
            G[i, j] = G[j, i] = (objective(W + E, b) - objective(W - E, b)) / (2 * eps)
    g = np.array(
        [
            (objective(W, b + eps * e) - objective(W, b - eps * e)) / (2 * eps)
            for e in np.eye(n)
        ]
    )
    return G, g


def tv_bound(p, n):
    # E[TV] <= 0.5 * Σ sqrt(p (1 - p) / n) for n independent samples.
    return 0.5 * np.sqrt(p * (1 - p) / n).sum()


# ---------------------------------------------------- exact enumeration
@pytest.mark.parametrize("n", [1, 2, 5, 9])
def test_log_partition_matches_enumeration(rng, n):
    W, b = random_machine(rng, n)
    S = exact.all_states(n)
    assert bm_log_partition(W, b) == pytest.approx(
        logsumexp(neg_energy(S, W, b)), rel=1e-12
    )


def test_free_energy_and_hidden_marginals_match_enumeration(rng):
    n_visible, n_hidden = 4, 3
    W, b = random_machine(rng, n_visible + n_hidden)
    V = np.vstack([exact.all_states(n_visible), rng.rand(3, n_visible)])
    neg_f, marg = bm_visible_scores(V, W, b, True)
    H = exact.all_states(n_hidden)
    for r, v in enumerate(V):
        t = neg_energy(np.hstack([np.tile(v, (len(H), 1)), H]), W, b)
        assert neg_f[r] == pytest.approx(logsumexp(t), rel=1e-12)
        np.testing.assert_allclose(marg[r], np.exp(t - logsumexp(t)) @ H, rtol=1e-11)
    assert bm_visible_scores(V, W, b, False)[1].shape == (len(V), 0)


def test_model_moments_match_enumeration(rng):
    W, b = random_machine(rng, 7)
    S, p = distribution(W, b)
    mean, second = bm_model_moments(W, b)
    np.testing.assert_allclose(mean, p @ S, rtol=1e-12)
    np.testing.assert_allclose(second, (S * p[:, None]).T @ S, rtol=1e-11)


def test_visible_probabilities_sum_to_one(rng):
    W, b = random_machine(rng, 6)
    neg_f, _ = bm_visible_scores(exact.all_states(4), W, b, False)
    assert logsumexp(neg_f) == pytest.approx(bm_log_partition(W, b), rel=1e-12)


# ------------------------------------------------------------- sampling
def test_sequential_gibbs_matches_exact_distribution(rng, seed):
    n, n_chains = 6, 50_000
    W, b = random_machine(rng, n, scale=1.0)
    _, p = distribution(W, b)
    X = (rng.rand(n_chains, n) < 0.5).astype(float)
    bm_gibbs_(X, W, b, 0, 30, seed_state(seed, n_chains), None)
    assert set(np.unique(X)) == {0.0, 1.0}
    counts = np.bincount(exact.state_index(X), minlength=2**n) / n_chains
    bound = tv_bound(p, n_chains)
    assert 0.5 * np.abs(counts - p).sum() < 1.5 * bound
    # power: the machine with the couplings' signs flipped is far away
    _, q = distribution(-W, b)
    assert 0.5 * np.abs(counts - q).sum() > 10 * bound


def _positive_phase_sweeps(X, W, b, lo, n_sweeps, state):
    """The clamped sampler as SML's positive phase runs it: float64
    fields, flips updating the hidden units' fields only."""
    F = np.empty(X.shape)
    local_fields(X, W, b, F)
    T = np.empty((b.size - lo, X.shape[0]))
    _gibbs_sweeps_(X, F, W, lo, lo, n_sweeps, state, T, None)


def _free_phase_sweeps(X, W, b, lo, n_sweeps, state):
    """The sampler as ``sample`` runs it, nothing pinned beyond ``lo``."""
    bm_gibbs_(X, W, b, lo, n_sweeps, state, None)


@pytest.mark.parametrize("sampler", [_free_phase_sweeps, _positive_phase_sweeps])
def test_clamped_gibbs_matches_exact_conditional(rng, seed, sampler):
    n_visible, n_hidden, n_chains = 3, 4, 40_000
    W, b = random_machine(rng, n_visible + n_hidden, scale=1.0)
    H = exact.all_states(n_hidden)
    for v in ([1.0, 0.0, 1.0], [0.0, 1.0, 1.0]):
        X = np.zeros((n_chains, n_visible + n_hidden))
        X[:, :n_visible] = v
        sampler(X, W, b, n_visible, 30, seed_state(seed, n_chains))
        np.testing.assert_array_equal(X[:, :n_visible], np.tile(v, (n_chains, 1)))
        t = neg_energy(np.hstack([np.tile(v, (len(H), 1)), H]), W, b)
        p = np.exp(t - logsumexp(t))
        counts = np.bincount(exact.state_index(X[:, n_visible:]), minlength=len(H))
        bound = tv_bound(p, n_chains)
        assert 0.5 * np.abs(counts / n_chains - p).sum() < 1.5 * bound
        # power: hidden units sampled as if uncoupled (a block update)
        q_units = expit(b[n_visible:] + W[n_visible:, :n_visible] @ v)
        q = np.prod(np.where(H == 1, q_units, 1 - q_units), axis=1)
        assert 0.5 * np.abs(counts / n_chains - q).sum() > 5 * bound


def test_sampler_is_reproducible_and_seed_dependent(rng, seed):
    W, b = random_machine(rng, 8)
    X0 = (rng.rand(20, 8) < 0.5).astype(float)
    runs = []
    for s in (seed, seed, seed + 1):
        X = X0.copy()
        bm_gibbs_(X, W, b, 0, 5, seed_state(s, 20), None)
        runs.append(X)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_mean_field_is_a_fixed_point_and_exact_without_hidden_couplings(rng):
    n_visible, n_hidden = 5, 4
    n = n_visible + n_hidden
    W, b = random_machine(rng, n, scale=0.5)
    V = (rng.rand(6, n_visible) < 0.5).astype(float)
    mu = bm_mean_field(V, W, b, 500, 1e-12)
    field = (
        b[n_visible:] + V @ W[:n_visible, n_visible:] + mu @ W[n_visible:, n_visible:]
    )
    np.testing.assert_allclose(mu, expit(field), atol=1e-10)
    # no hidden-hidden couplings: the hidden units are independent given v
    W[n_visible:, n_visible:] = 0.0
    mu = bm_mean_field(V, W, b, 500, 1e-12)
    exact_marg = bm_visible_scores(V, W, b, True)[1]
    np.testing.assert_allclose(mu, exact_marg, atol=1e-12)


# ------------------------------------------------------------------ AIS
def test_ais_within_three_standard_errors_of_exact(rng, seed):
    n = 18  # 2**18 states: just small enough to enumerate in the test
    W, b = random_machine(rng, n, scale=0.3)
    log_z = logsumexp(neg_energy(exact.all_states(n), W, b))
    assert bm_log_partition(W, b) == pytest.approx(log_z, rel=1e-11)
    base = np.clip(b, -3, 3)
    log_w = bm_ais(W, b, base, np.linspace(0, 1, 1000), seed_state(seed, 200))
    est = np.logaddexp(0, base).sum() + logsumexp(log_w) - np.log(len(log_w))
    w = np.exp(log_w - log_w.max())
    se = w.std(ddof=1) / (np.sqrt(len(w)) * w.mean())
    assert 0 < se < 0.05
    assert abs(est - log_z) < 3 * se, (est, log_z, se)


def test_ais_is_exact_for_an_independent_model(seed):
    # W = 0 and base = b: every importance weight is exactly 1.
    b = np.array([0.5, -1.0, 2.0, 0.0])
    log_w = bm_ais(np.zeros((4, 4)), b, b, np.linspace(0, 1, 50), seed_state(seed, 8))
    np.testing.assert_allclose(log_w, 0.0, atol=1e-12)


# ------------------------------------------------------------ gradients
def test_pseudo_log_likelihood_and_its_gradient(rng):
    n = 5
    W, b = random_machine(rng, n)
    data = (rng.rand(40, n) < 0.5).astype(float)
    assert bm_pseudo_log_likelihood(data, W, b, n) == pytest.approx(
        pseudo_log_likelihood(data, W, b), rel=1e-12
    )
    G, g = np.empty((n, n)), np.empty(n)
    bm_pseudolikelihood_gradient(data, W, b, G, g)
    G_ref, g_ref = pair_gradient(
        lambda W_, b_: pseudo_log_likelihood(data, W_, b_), W, b
    )
    np.testing.assert_allclose(G, G_ref, atol=1e-7)
    np.testing.assert_allclose(g, g_ref, atol=1e-7)


def test_exact_gradient_matches_finite_differences(rng):
    n = 5
    W, b = random_machine(rng, n)
    data = (rng.rand(40, n) < 0.5).astype(float)
    G, g = np.empty((n, n)), np.empty(n)
    bm_exact_gradient(data, W, b, G, g)
    G_ref, g_ref = pair_gradient(lambda W_, b_: log_likelihood(data, W_, b_), W, b)
    np.testing.assert_allclose(G, G_ref, atol=1e-7)
    np.testing.assert_allclose(g, g_ref, atol=1e-7)
    assert np.abs(G).max() > 1e-2  # not trivially zero


def _sml_step(data, W, b, n_chains, seed, **kw):
    """One SML minibatch over all of ``data`` with learning rate 1."""
    W1, b1 = W.copy(), b.copy()
    n = len(b)
    chains = np.zeros((n_chains, n))
    bm_sml_epoch(
        data,
        np.array([0, len(data)]),
        W1,
        b1,
        np.zeros((n, n)),
        np.zeros(n),
        chains,
        seed_state(seed, max(n_chains, len(data))),
        1.0,
        0.0,
        0.0,
        kw.get("n_sweeps", 40),
        kw.get("n_positive_sweeps", 40),
        kw.get("mean_field", True),
    )
    return W1 - W, b1 - b, chains


def _latent_gradient(data, W, b):
    """Exact log-likelihood gradient with hidden units (enumerate everything)."""
    n_visible, n = data.shape[1], len(b)
    S, p = distribution(W, b)
    H = exact.all_states(n - n_visible)
    pos = np.zeros((n, n))
    for v in data:
        X = np.hstack([np.tile(v, (len(H), 1)), H])
        t = neg_energy(X, W, b)
        q = np.exp(t - logsumexp(t))
        pos += (X * q[:, None]).T @ X / len(data)
    G = pos - (S * p[:, None]).T @ S
    g = np.diag(pos) - p @ S
    np.fill_diagonal(G, 0.0)
    return G, g


@pytest.mark.parametrize("n_hidden, mean_field", [(0, True), (2, True), (2, False)])
def test_sml_update_with_long_chains_is_the_exact_gradient(
    rng, seed, n_hidden, mean_field
):
    n_visible = 4
    n = n_visible + n_hidden
    W, b = random_machine(rng, n, scale=0.6)
    if n_hidden and mean_field:
        W[n_visible:, n_visible:] = 0.0  # mean field is exact here
    rows = (rng.rand(8, n_visible) < 0.5).astype(float)
    reps, n_chains = 2500, 20_000
    data = np.tile(rows, (reps, 1))
    dW, db, chains = _sml_step(data, W, b, n_chains, seed, mean_field=mean_field)
    G, g = _latent_gradient(rows, W, b)
    # each entry: a mean of n_chains (and, for Gibbs positive phases, of
    # len(data)) independent terms in [-1, 1]
    tol = 5 / np.sqrt(n_chains) + (0 if mean_field else 5 / np.sqrt(len(data)))
    np.testing.assert_allclose(dW, G, atol=tol)
    np.testing.assert_allclose(db, g, atol=tol)
    np.testing.assert_array_equal(dW, dW.T)
    assert np.all(np.diag(dW) == 0)
    assert set(np.unique(chains)) <= {0.0, 1.0}


def test_momentum_and_weight_decay_follow_their_formulas(rng):
    n = 4
    W, b = random_machine(rng, n)
    data = (rng.rand(10, n) < 0.5).astype(float)
    G, g = np.empty((n, n)), np.empty(n)
    bm_pseudolikelihood_gradient(data, W, b, G, g)
    lr, m, lam = 0.1, 0.9, 0.01
    W_vel = np.triu(rng.normal(0, 0.1, (n, n)), 1)
    W_vel = W_vel + W_vel.T
    b_vel = rng.normal(0, 0.1, n)
    W1, b1, Wv, bv = W.copy(), b.copy(), W_vel.copy(), b_vel.copy()
    bm_gradient_epoch(data, np.array([0, 10]), W1, b1, Wv, bv, lr, m, lam, False)
    expected_Wv = m * W_vel + lr * (G - lam * W)
    np.fill_diagonal(expected_Wv, 0.0)
    np.testing.assert_allclose(Wv, expected_Wv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W1, W + expected_Wv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(b1, b + m * b_vel + lr * g, rtol=1e-12)
