"""Kernels against NumPy references and exact enumeration on tiny RBMs."""

import exact
import numpy as np
import pytest
from numba import njit
from scipy.special import expit, logsumexp

from skebm._kernels._blas import gemm
from skebm._kernels._cd import rbm_epoch
from skebm._kernels._layers import (
    bernoulli_free_energy_term,
    bernoulli_mean_,
    gaussian_sample_,
    random_binary,
    rbm_free_energy,
)
from skebm._kernels._rbm_inference import rbm_gibbs
from skebm._kernels._rng import fill_uniform, seed_state
from skebm.partition import _rbm_ais_log_partition, _rbm_exact_log_partition

# Bernoulli-visible views of the shared kernels (Gaussian ones are tested in
# test_kernels_gaussian.py).


def bernoulli_rbm_epoch(X, data, ind, ptr, is_sparse, bounds, W, b, c, *rest):
    W_vel, b_vel, c_vel, chains, state, lr, momentum, wd, k, persistent = rest
    rbm_epoch(
        (X, (data, ind, ptr) if is_sparse else None),
        bounds,
        (W, b, c),
        (chains, state),
        learning_rate=lr,
        momentum=momentum,
        weight_decay=wd,
        n_gibbs_steps=k,
        persistent=persistent,
        velocity=(W_vel, b_vel, c_vel),
    )


def bernoulli_rbm_gibbs(V, W, b, c, state, n_steps):
    return rbm_gibbs(V, W, b, c, state, n_steps, False)


def bernoulli_exact_log_partition(W, b, c):
    return _rbm_exact_log_partition(W, b, c)


def bernoulli_ais_log_partition(W, b, c, base, n_chains, n_temperatures, seed):
    precision = np.ones(W.shape[1])
    return _rbm_ais_log_partition(
        W, b, c, base, precision, n_chains, n_temperatures, seed
    )


def tiny_rbm(rng, n_visible=6, n_hidden=4, scale=1.0, dtype=np.float64):
    W = rng.normal(0, scale, (n_hidden, n_visible)).astype(dtype)
    b = rng.normal(0, scale, n_visible).astype(dtype)
    c = rng.normal(0, scale, n_hidden).astype(dtype)
    return W, b, c


@njit
def _gemm_call(ta, tb, alpha, A, B, beta, C, a0, a1, b0, b1):
    gemm(ta, tb, alpha, A[a0:a1], B[b0:b1], beta, C)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_gemm_matches_numpy(rng, dtype, ta, tb):
    m, n, k = 5, 7, 3
    A = rng.rand(12, 12).astype(dtype)
    B = rng.rand(12, 12).astype(dtype)
    A_view = A[2 : 2 + (k if ta else m), : (m if ta else k)].copy()
    B_view = B[1 : 1 + (n if tb else k), : (k if tb else n)].copy()
    C = rng.rand(m, n).astype(dtype)
    expected = (
        0.7 * (A_view.T if ta else A_view) @ (B_view.T if tb else B_view) + 0.3 * C
    )
    # Row slices of bigger arrays (leading dimension > row length) too.
    A_big = np.zeros((A_view.shape[0] + 4, A_view.shape[1]), dtype)
    A_big[2 : 2 + A_view.shape[0]] = A_view
    B_big = np.zeros((B_view.shape[0] + 3, B_view.shape[1]), dtype)
    B_big[1 : 1 + B_view.shape[0]] = B_view
    _gemm_call(
        ta,
        tb,
        0.7,
        A_big,
        B_big,
        0.3,
        C,
        2,
        2 + A_view.shape[0],
        1,
        1 + B_view.shape[0],
    )
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=rtol)


def test_rng_streams_are_uniform_independent_and_reproducible(seed):
    state = seed_state(seed, 4)
    out = np.empty((4, 200_000))
    fill_uniform(state, out)
    n = out.shape[1]
    # mean 1/2 and variance 1/12 within 5 standard errors
    assert np.all(np.abs(out.mean(1) - 0.5) < 5 * np.sqrt(1 / 12 / n))
    assert np.all(np.abs(out.var(1) - 1 / 12) < 5 * np.sqrt(1 / 180 / n))
    assert np.all((out >= 0) & (out < 1))
    # rows are different streams, and uncorrelated
    corr = np.corrcoef(out)
    assert np.all(np.abs(corr[np.triu_indices(4, 1)]) < 5 / np.sqrt(n))
    again = np.empty_like(out)
    fill_uniform(seed_state(seed, 4), again)
    np.testing.assert_array_equal(out, again)
    other = np.empty_like(out)
    fill_uniform(seed_state(seed + 1, 4), other)
    assert not np.array_equal(out, other)


def test_gaussian_draws_have_the_requested_moments(seed):
    # three columns: the polar method's pairs and the odd one out
    std = np.array([1.0, 2.5, 0.5])
    n = 40_000
    x = np.zeros((n, 3))
    gaussian_sample_(x, std, seed_state(seed, n))
    z = x / std
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    np.testing.assert_allclose(x.std(axis=0), std, rtol=5 * np.sqrt(1 / (2 * n)))
    # independent columns
    assert abs(np.corrcoef(z.T)[0, 1]) < 5 / np.sqrt(n)


def test_sigmoid_and_softplus_extremes():
    pre = np.array([[-800.0, -40.0, 0.0, 40.0, 800.0]])
    probs = pre.copy()
    bernoulli_mean_(probs)
    np.testing.assert_allclose(probs, expit(pre), rtol=1e-15, atol=0)
    out = np.zeros(1)
    bernoulli_free_energy_term(pre, out)
    np.testing.assert_allclose(out, [-np.logaddexp(0, pre).sum()], rtol=1e-15)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_free_energy_matches_enumeration(rng, dtype):
    W, b, c = tiny_rbm(rng, dtype=dtype)
    V = exact.all_states(6)
    fe = rbm_free_energy(V.astype(dtype), W, b, c, False)
    ref = exact.free_energy(V, W.astype(float), b.astype(float), c.astype(float))
    np.testing.assert_allclose(fe, ref, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (5, 5), (1, 3)])
def test_exact_log_partition_matches_enumeration(rng, shape):
    n_hidden, n_visible = shape
    W, b, c = tiny_rbm(rng, n_visible=n_visible, n_hidden=n_hidden)
    ref = exact.log_partition(W, b, c)
    assert bernoulli_exact_log_partition(W, b, c) == pytest.approx(ref, rel=1e-12)


def test_exact_log_partition_refuses_large_layers():
    W = np.zeros((21, 22))
    with pytest.raises(ValueError, match="at most 20"):
        bernoulli_exact_log_partition(W, np.zeros(22), np.zeros(21))


@pytest.mark.parametrize("n_hidden", [12, 16])
def test_ais_within_three_standard_errors_of_exact(rng, seed, n_hidden):
    n_visible = 24
    W, b, c = tiny_rbm(rng, n_visible=n_visible, n_hidden=n_hidden, scale=0.3)
    log_z = bernoulli_exact_log_partition(W, b, c)
    # base rates from samples of the model itself (as from training data)
    state = seed_state(seed, 500)
    data = bernoulli_rbm_gibbs(
        random_binary(500, n_visible, W[:1, :1], state), W, b, c, state, 200
    )
    from skebm.partition import _base_rate_bias

    est, se = bernoulli_ais_log_partition(
        W, b, c, _base_rate_bias(data, n_visible), 200, 2000, seed
    )
    assert 0 < se < 0.05
    assert abs(est - log_z) < 3 * se + 1e-3, (est, log_z, se)


def test_ais_is_exact_for_a_product_model(seed):
    # W = 0 and base visible biases equal to b: every weight increment is the
    # same constant for every chain, so AIS is exact with se = 0 (this checks
    # the log Z_0 and hidden-layer bookkeeping).
    b = np.array([0.5, -1.0, 2.0])
    c = np.array([0.3, -0.7])
    W = np.zeros((2, 3))
    est, se = bernoulli_ais_log_partition(W, b, c, b, 10, 50, seed)
    assert est == pytest.approx(exact.log_partition(W, b, c), abs=1e-9)
    assert se < 1e-9


def test_block_gibbs_sampler_matches_exact_distribution(rng, seed):
    W, b, c = tiny_rbm(rng, scale=0.8)
    n = 50_000
    state = seed_state(seed, n)
    V0 = random_binary(n, 6, W[:1, :1], state)
    V = bernoulli_rbm_gibbs(V0, W, b, c, state, 30)
    counts = np.bincount(exact.state_index(V), minlength=64) / n
    p = exact.visible_distribution(W, b, c)
    tv = 0.5 * np.abs(counts - p).sum()
    # E[TV] <= 0.5 * sum sqrt(p (1 - p) / n) for independent samples.
    bound = 0.5 * np.sqrt(p * (1 - p) / n).sum()
    assert tv < 1.5 * bound, (tv, bound)
    # and the test has power: the distribution with b's sign flipped is far
    q = exact.visible_distribution(W, -b, c)
    assert 0.5 * np.abs(counts - q).sum() > 10 * bound


def _one_step(X, W, b, c, k, persistent, seed, chains=None, lr=1.0):
    """One kernel minibatch over all rows of X; returns the updates."""
    W1, b1, c1 = W.copy(), b.copy(), c.copy()
    n = X.shape[0]
    if chains is None:
        chains = np.zeros((n, W.shape[0]))
    empty = np.empty(0)
    empty_i = np.empty(0, np.int64)
    bernoulli_rbm_epoch(
        X,
        empty,
        empty_i,
        empty_i,
        False,
        np.array([0, n]),
        W1,
        b1,
        c1,
        np.zeros_like(W),
        np.zeros_like(b),
        np.zeros_like(c),
        chains,
        seed_state(seed, max(n, chains.shape[0])),
        lr,
        0.0,
        0.0,
        k,
        persistent,
    )
    return (W1 - W) / lr, (b1 - b) / lr, (c1 - c) / lr


def _tolerance(n):
    # every gradient entry is a mean of n terms bounded by 1 in absolute value
    return 5.0 / np.sqrt(n)


def test_cd1_update_matches_exact_expectation(rng, seed):
    # weights large enough that one Gibbs step is far from equilibrium, so
    # CD-1's bias is large for every seed (the power check below)
    W, b, c = tiny_rbm(rng, scale=1.5)
    data = (rng.rand(8, 6) < 0.5).astype(float)
    reps = 5000
    X = np.tile(data, (reps, 1))
    gW, gb, gc = _one_step(X, W, b, c, k=1, persistent=False, seed=seed)
    nW, nb, nc = exact.cd1_expected_negative(data, W, b, c)
    h_data = expit(data @ W.T + c)
    expected_W = h_data.T @ data / len(data) - nW
    tol = _tolerance(len(X))
    np.testing.assert_allclose(gW, expected_W, atol=tol)
    np.testing.assert_allclose(gb, data.mean(0) - nb, atol=tol)
    np.testing.assert_allclose(gc, h_data.mean(0) - nc, atol=tol)
    # power: CD-1's bias (its difference from the exact gradient) exceeds the
    # tolerance (by 1.5-10x over seeds 0-9), so a kernel returning the exact
    # gradient instead would fail the check above
    eW, _, _ = exact.ml_gradient(data, W, b, c)
    assert np.abs(expected_W - eW).max() > tol


def _k_step_expected_negative(data, W, b, c, k):
    """Expected negative statistics of CD-k from the rows of ``data``: the
    chain's visible state after ``k`` exact block-Gibbs steps v -> h -> v'
    (hidden samples between steps), by enumeration of the transition
    matrix."""
    V = exact.all_states(W.shape[1])
    H = exact.all_states(W.shape[0])

    def table(probs, states):  # p(state | each row's probabilities)
        return np.prod(
            np.where(states[None] == 1, probs[:, None], 1 - probs[:, None]), axis=2
        )

    T = table(expit(V @ W.T + c), H) @ table(expit(H @ W + b), V)
    start = np.bincount(exact.state_index(data), minlength=len(V)) / len(data)
    p_k = start @ np.linalg.matrix_power(T, k)
    h_v = expit(V @ W.T + c)
    return (h_v * p_k[:, None]).T @ V, p_k @ V, p_k @ h_v


@pytest.mark.parametrize("k", [2, 3])
def test_cdk_update_matches_exact_k_step_expectation(rng, seed, k):
    # CD-k for k > 1: the hidden units are resampled between the k steps
    # (an off-by-one in the step loop that skips a resampling redraws v
    # from the same h, i.e. CD-1's distribution)
    W, b, c = tiny_rbm(rng, scale=1.5)
    data = (rng.rand(8, 6) < 0.5).astype(float)
    X = np.tile(data, (20_000, 1))
    gW, gb, gc = _one_step(X, W, b, c, k=k, persistent=False, seed=seed)
    nW, nb, nc = _k_step_expected_negative(data, W, b, c, k)
    h_data = expit(data @ W.T + c)
    expected_W = h_data.T @ data / len(data) - nW
    tol = _tolerance(len(X))
    np.testing.assert_allclose(gW, expected_W, atol=tol)
    np.testing.assert_allclose(gb, data.mean(0) - nb, atol=tol)
    np.testing.assert_allclose(gc, h_data.mean(0) - nc, atol=tol)
    # the reference agrees with the independent CD-1 one at k = 1 ...
    for mine, theirs in zip(
        _k_step_expected_negative(data, W, b, c, 1),
        exact.cd1_expected_negative(data, W, b, c),
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    # ... and the check has power: CD-1's expectation is outside the
    # tolerance of CD-k's (by 2.4-20x over seeds 0-7)
    n1W, n1b, _ = exact.cd1_expected_negative(data, W, b, c)
    assert max(np.abs(n1W - nW).max(), np.abs(n1b - nb).max()) > 1.5 * tol


def test_bias_momentum_follows_its_formula(rng, seed):
    # biases get no weight decay; each velocity is m * velocity + lr * grad
    W, b, c = tiny_rbm(rng, scale=0.5)
    X = (rng.rand(6, 6) < 0.5).astype(float)
    empty, empty_i = np.empty(0), np.empty(0, np.int64)
    b_vel, c_vel = rng.normal(0, 0.1, 6), rng.normal(0, 0.1, 4)

    def run(momentum, b_velocity, c_velocity):
        b1, c1 = b.copy(), c.copy()
        bv, cv = b_velocity.copy(), c_velocity.copy()
        bernoulli_rbm_epoch(
            X, empty, empty_i, empty_i, False, np.array([0, 6]), W.copy(), b1, c1,
            np.zeros_like(W), bv, cv, np.zeros((6, 4)), seed_state(seed, 6),
            0.1, momentum, 0.01, 1, False,
        )  # fmt: skip
        return b1, c1, bv, cv

    b_plain, c_plain, _, _ = run(0.0, np.zeros(6), np.zeros(4))
    b_mom, c_mom, bv, cv = run(0.9, b_vel, c_vel)
    # same random numbers: the gradient steps are those of the plain run
    runs = ((b_mom, b, b_plain, bv, b_vel), (c_mom, c, c_plain, cv, c_vel))
    for new, old, plain, vel, v0 in runs:
        expected = 0.9 * v0 + (plain - old)
        np.testing.assert_allclose(vel, expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(new, old + expected, rtol=1e-12, atol=1e-15)
        # power: the momentum term is far above the tolerance
        assert np.abs(0.9 * v0).min() > 1e-6


@pytest.mark.parametrize("persistent", [False, True])
def test_long_chains_give_the_exact_gradient(rng, seed, persistent):
    W, b, c = tiny_rbm(rng, scale=0.5)
    data = (rng.rand(10, 6) < 0.5).astype(float)
    reps = 4000
    X = np.tile(data, (reps, 1))
    chains = None
    if persistent:
        # persistent chains start from arbitrary states: k steps must mix
        chains = np.zeros((len(X), W.shape[0]))
    gW, gb, gc = _one_step(
        X, W, b, c, k=60, persistent=persistent, seed=seed, chains=chains
    )
    eW, eb, ec = exact.ml_gradient(data, W, b, c)
    tol = _tolerance(len(X))
    np.testing.assert_allclose(gW, eW, atol=tol)
    np.testing.assert_allclose(gb, eb, atol=tol)
    np.testing.assert_allclose(gc, ec, atol=tol)


def test_momentum_and_weight_decay_follow_their_formulas(rng, seed):
    W, b, c = tiny_rbm(rng, scale=0.5)
    X = (rng.rand(6, 6) < 0.5).astype(float)
    empty, empty_i = np.empty(0), np.empty(0, np.int64)
    vel = rng.normal(0, 0.1, W.shape)

    def run(momentum, wd, W_vel):
        W1, b1, c1 = W.copy(), b.copy(), c.copy()
        Wv = W_vel.copy()
        bernoulli_rbm_epoch(
            X,
            empty,
            empty_i,
            empty_i,
            False,
            np.array([0, 6]),
            W1,
            b1,
            c1,
            Wv,
            np.zeros(6),
            np.zeros(4),
            np.zeros((6, 4)),
            seed_state(seed, 6),
            0.1,
            momentum,
            wd,
            1,
            False,
        )
        return W1, Wv

    W_plain, _ = run(0.0, 0.0, np.zeros_like(W))
    grad_step = W_plain - W  # lr * gradient (same random numbers below)
    W_decay, _ = run(0.0, 0.01, np.zeros_like(W))
    np.testing.assert_allclose(W_decay, W + grad_step - 0.1 * 0.01 * W, rtol=1e-12)
    W_mom, Wv = run(0.9, 0.01, vel)
    expected_vel = 0.9 * vel + grad_step - 0.1 * 0.01 * W
    np.testing.assert_allclose(Wv, expected_vel, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(W_mom, W + expected_vel, rtol=1e-12, atol=1e-15)


def test_sparse_batches_equal_dense(rng, seed):
    import scipy.sparse as sp

    W, b, c = tiny_rbm(rng, n_visible=9, n_hidden=5, scale=0.1)
    X = (rng.rand(23, 9) < 0.3).astype(float)
    S = sp.csr_matrix(X)
    bounds = np.array([0, 10, 20, 23])
    out = []
    for sparse in (False, True):
        W1, b1, c1 = W.copy(), b.copy(), c.copy()
        dense = np.empty((0, 9)) if sparse else X
        data = S.data if sparse else np.empty(0)
        ind = S.indices.astype(np.int64) if sparse else np.empty(0, np.int64)
        ptr = S.indptr.astype(np.int64) if sparse else np.empty(0, np.int64)
        bernoulli_rbm_epoch(
            dense,
            data,
            ind,
            ptr,
            sparse,
            bounds,
            W1,
            b1,
            c1,
            np.zeros_like(W),
            np.zeros(9),
            np.zeros(5),
            np.zeros((10, 5)),
            seed_state(seed, 10),
            0.1,
            0.0,
            0.0,
            1,
            True,
        )
        out.append((W1, b1, c1))
    for a, z in zip(out[0], out[1]):
        np.testing.assert_array_equal(a, z)


def test_exact_log_partition_over_visible_layer_when_smaller(rng):
    # nv < nh: the kernel enumerates the visible layer
    W, b, c = tiny_rbm(rng, n_visible=3, n_hidden=9)
    ref = logsumexp(-exact.free_energy(exact.all_states(3), W, b, c))
    assert bernoulli_exact_log_partition(W, b, c) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_monitor_matches_row_by_row_formulas(rng, dtype):
    from skebm._monitor import RBMMonitor

    X = (rng.rand(40, 12) < 0.4).astype(dtype)
    W = rng.normal(0, 0.7, (9, 12)).astype(dtype)
    b, c = rng.normal(size=12).astype(dtype), rng.normal(size=9).astype(dtype)
    monitor = RBMMonitor(X, 3, dtype, False)
    got = monitor({"W": W, "b": b, "c": c, "log_sigma": np.zeros(12)})
    V, V_flip = X.astype(float), monitor.V_flip.astype(float)
    # one flipped feature per row
    np.testing.assert_array_equal((V != V_flip).sum(axis=1), 1)
    W64, b64, c64 = W.astype(float), b.astype(float), c.astype(float)

    def free_energy(v):
        return -v @ b64 - sum(np.logaddexp(0, c64[j] + W64[j] @ v) for j in range(9))

    pll = np.mean(
        [
            12 * np.log(expit(free_energy(f) - free_energy(v)))
            for v, f in zip(V, V_flip, strict=True)
        ]
    )
    recon = [expit(expit(W64 @ v + c64) @ W64 + b64) for v in V]
    err = np.mean([np.mean((v - r) ** 2) for v, r in zip(V, recon, strict=True)])
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert got["pseudo_log_likelihood"] == pytest.approx(pll, rel=rtol)
    assert got["reconstruction_error"] == pytest.approx(err, rel=rtol)
