"""Hopfield kernels against NumPy references and exact enumeration."""

import itertools

import numpy as np
import pytest
from scipy.special import logsumexp

from skebm._kernels._hopfield import (
    TIE_RTOL,
    async_sweep_orders,
    counts_match,
    hebbian_counts,
    hebbian_update_,
    hopfield_recall,
)
from skebm._kernels._rng import probe_states, seed_state


def bipolar(rng, n, d):
    return np.where(rng.rand(n, d) < 0.5, 1.0, -1.0)


def hebbian(P):
    W = np.zeros((P.shape[1], P.shape[1]))
    hebbian_update_(W, np.ascontiguousarray(P))
    return W


def energy(W, s):
    return -0.5 * s @ W @ s


def recall(
    W,
    S,
    state,
    synchronous=False,
    temperature=0.0,
    max_iter=50,
    n_threads=1,
    **hebbian,
):
    S = S.copy()
    n_iter = np.zeros(len(S), dtype=np.int64)
    converged = np.zeros(len(S), dtype=bool)
    hopfield_recall(
        W,
        S,
        state,
        synchronous,
        temperature,
        max_iter,
        n_iter,
        converged,
        n_threads,
        **hebbian,
    )
    return S, n_iter, converged


@pytest.mark.parametrize(
    "synchronous, temperature", [(False, 0.0), (True, 0.0), (False, 0.7)]
)
def test_recall_on_two_threads_gives_the_bits_of_one(rng, synchronous, temperature):
    # more than two probe blocks (_PROBE_BLOCK = 256), so both threads work
    P = bipolar(rng, 12, 120)
    W = hebbian(P)
    S = P[rng.randint(0, 12, 700)] * np.where(rng.rand(700, 120) < 0.2, -1.0, 1.0)
    runs = [
        recall(W, S, probe_states(S, 5), synchronous, temperature, 20, n_threads=t)
        for t in (1, 2)
    ]
    for one, two in zip(*runs):
        np.testing.assert_array_equal(one, two)
    assert not np.array_equal(runs[0][0], S)  # the dynamics did something


def test_hebbian_update_is_outer_product_sum_with_zero_diagonal(rng):
    P = bipolar(rng, 7, 30)
    W = hebbian(P)
    ref = P.T @ P / 30
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(W, ref, atol=1e-15)
    np.testing.assert_array_equal(W, W.T)


def test_async_recall_replays_in_numpy_and_energy_never_increases(rng, seed):
    # Over capacity (p/N = 0.3) and random probes: long, winding trajectories.
    N, max_iter = 40, 30
    W = hebbian(bipolar(rng, 12, N))
    S0 = bipolar(rng, 25, N)
    state = seed_state(seed, len(S0))
    orders_state = state.copy()
    S, n_iter, converged = recall(W, S0, state, max_iter=max_iter)
    tol = TIE_RTOL * np.abs(W).sum(axis=1).max()
    n_flips = 0
    for r in range(len(S0)):
        orders = async_sweep_orders(orders_state, r, N, max_iter)
        s = S0[r].copy()
        e = energy(W, s)
        for sweep in range(max_iter):
            changed = 0
            for i in orders[sweep]:
                h = W[i] @ s
                new = 1.0 if h > tol else -1.0 if h < -tol else s[i]
                if new != s[i]:
                    s[i] = new
                    changed += 1
                    e_new = energy(W, s)  # from scratch, every unit update
                    assert e_new < e - 1e-12
                    e = e_new
            if changed == 0:
                break
            n_flips += changed
        np.testing.assert_array_equal(S[r], s)
        assert n_iter[r] == sweep + 1
        assert converged[r] == (changed == 0)
    assert n_flips > 100  # the trajectories were not trivial
    assert converged.all()


def test_async_orders_are_fresh_permutations_each_sweep(seed):
    orders = async_sweep_orders(seed_state(seed, 1), 0, 50, 20)
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(50))
    assert len({tuple(o) for o in orders}) == 20
    # every unit lands in every position about equally often
    first = async_sweep_orders(seed_state(seed, 1), 0, 5, 20000)[:, 0]
    counts = np.bincount(first, minlength=5)
    assert np.all(np.abs(counts - 4000) < 5 * np.sqrt(20000 * 0.2 * 0.8))


def test_probe_states_depend_on_seed_and_row_content_only(rng):
    S = bipolar(rng, 6, 130)  # more than two 64-bit words per row
    S[3] = S[1]
    a = probe_states(S, 7)
    np.testing.assert_array_equal(a[3], a[1])
    assert len({tuple(row) for row in a}) == 5
    np.testing.assert_array_equal(probe_states(S[::-1].copy(), 7), a[::-1])
    assert not np.any(probe_states(S, 8) == a)
    # one flipped unit anywhere changes the stream
    for j in (0, 63, 64, 129):
        T = S[:1].copy()
        T[0, j] *= -1
        assert not np.any(probe_states(T, 7)[0] == a[0])


def _all_states(n):
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def _empirical(S):
    codes = ((S > 0) * (2 ** np.arange(S.shape[1])[::-1])).sum(axis=1)
    return np.bincount(codes, minlength=2 ** S.shape[1]) / len(S)


@pytest.fixture
def tiny_network(rng):
    n = 4
    A = rng.normal(0, 0.8, (n, n))
    W = np.triu(A, 1) + np.triu(A, 1).T
    return W


@pytest.mark.parametrize("temperature", [0.7, 1.5])
def test_async_glauber_samples_the_boltzmann_distribution(
    tiny_network, seed, temperature
):
    # Heat-bath updates in random order leave p(s) ∝ exp(-E(s)/T) invariant.
    W = tiny_network
    n_chains = 20000
    start = np.where(np.random.RandomState(seed).rand(n_chains, 4) < 0.5, 1.0, -1.0)
    S, n_iter, _ = recall(
        W, start, seed_state(seed, n_chains), temperature=temperature, max_iter=30
    )
    assert np.all(n_iter == 30)  # no early stop at temperature > 0
    states = _all_states(4)
    log_p = np.array([-energy(W, s) / temperature for s in states])
    exact = np.exp(log_p - logsumexp(log_p))
    tv = 0.5 * np.abs(_empirical(S) - exact).sum()
    # E[TV] <= 0.5 * sum sqrt(p (1 - p) / n) <= 0.014 for 16 states and 20000
    # chains; 0.03 is > 2x that. A wrong acceptance (e.g. sigmoid(h/T))
    # is off by more than 0.1 here.
    assert tv < 0.03


def test_sync_glauber_samples_littles_stationary_distribution(tiny_network, seed):
    # Parallel heat-bath (Little) dynamics: p(s) ∝ prod_i cosh(h_i(s)/T)
    # by detailed balance (Peretto 1984), not the Boltzmann distribution.
    W = tiny_network
    T = 1.0
    n_chains = 20000
    start = np.where(np.random.RandomState(seed).rand(n_chains, 4) < 0.5, 1.0, -1.0)
    S, _, _ = recall(
        W,
        start,
        seed_state(seed, n_chains),
        synchronous=True,
        temperature=T,
        max_iter=30,
    )
    states = _all_states(4)
    log_p = np.log(np.cosh(states @ W / T)).sum(axis=1)
    exact = np.exp(log_p - logsumexp(log_p))
    assert 0.5 * np.abs(_empirical(S) - exact).sum() < 0.03


def test_zero_weights_keep_every_state():
    # all fields are exactly zero: ties keep the probe
    S0 = np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]])
    for synchronous in (False, True):
        S, n_iter, converged = recall(
            np.zeros((3, 3)), S0, seed_state(0, 2), synchronous
        )
        np.testing.assert_array_equal(S, S0)
        assert np.all(n_iter == 1) and converged.all()


def test_many_probes_span_several_blocks(rng, seed):
    # more probes than one field block: same result as one probe at a time
    W = hebbian(bipolar(rng, 5, 30))
    S0 = bipolar(rng, 600, 30)
    state = probe_states(S0, seed)
    S, n_iter, _ = recall(W, S0, state.copy())
    for r in (0, 255, 256, 599):
        s, it, _ = recall(W, S0[r : r + 1], state[r : r + 1].copy())
        np.testing.assert_array_equal(s[0], S[r])
        assert it[0] == n_iter[r]


def test_hebbian_counts_are_the_integer_outer_product_sums(rng):
    P = bipolar(rng, 9, 50)
    K = hebbian_counts(hebbian(P), len(P))
    assert K.dtype == np.int16
    np.testing.assert_array_equal(K, P.T @ P - len(P) * np.eye(50))
    assert counts_match(hebbian(P), K)
    # counts that int16 cannot hold, or fields that int32 might not: none
    assert hebbian_counts(np.zeros((2, 2)), 40000) is None
    assert hebbian_counts(np.zeros((70000, 0)), 31000) is None
    assert hebbian_counts(np.zeros((60000, 0)), 31000) is not None


def test_counts_match_rejects_weights_changed_after_learning(rng):
    P = bipolar(rng, 9, 50)  # 9 patterns: every count is odd, never 0
    W = hebbian(P)
    K = hebbian_counts(W, len(P))
    lesioned = W.copy()
    lesioned[3, 7] = lesioned[7, 3] = 0.0
    assert not counts_match(lesioned, K)
    assert not counts_match(W * 1.001, K)
    assert counts_match(W + 1e-12, K)  # rounding-size differences are fine


def test_counts_drive_the_dynamics(rng):
    # With counts of other patterns than W's, recall follows the counts
    # (W only serves as a shape here, the factor giving the initial fields).
    P, Q = bipolar(rng, 4, 60), bipolar(rng, 4, 60)
    W, K_other = hebbian(P), hebbian_counts(hebbian(Q), 4)
    S0 = Q[rng.randint(0, 4, 50)] * np.where(rng.rand(50, 60) < 0.2, -1.0, 1.0)
    on_counts = recall(W, S0, probe_states(S0, 2), counts=K_other, factor=Q)
    on_other = recall(hebbian(Q), S0, probe_states(S0, 2))
    on_w = recall(W, S0, probe_states(S0, 2))
    np.testing.assert_array_equal(on_counts[0], on_other[0])
    assert not np.array_equal(on_counts[0], on_w[0])


@pytest.mark.parametrize(
    "synchronous, temperature", [(False, 0.0), (True, 0.0), (False, 0.7), (True, 0.5)]
)
@pytest.mark.parametrize("n_patterns", [2, 12])
def test_recall_on_hebbian_counts_gives_the_bits_of_float_weights(
    rng, synchronous, temperature, n_patterns
):
    # Two patterns on 41 units make many fields exactly zero (ties), which
    # the float path must recognise through TIE_RTOL and the integer path
    # sees exactly, and many of ±2 (the smallest that are not ties); 12
    # patterns on 41 units is over capacity (long trajectories). 600
    # probes: more than two blocks, so both threads work.
    P = bipolar(rng, n_patterns, 41)
    W = hebbian(P)
    K = hebbian_counts(W, n_patterns)
    S0 = P[rng.randint(0, n_patterns, 600)]
    S0 = S0 * np.where(rng.rand(*S0.shape) < 0.3, -1.0, 1.0)
    state = probe_states(S0, 11)
    ref = recall(W, S0, state.copy(), synchronous, temperature, 20)
    assert not np.array_equal(ref[0], S0)
    if n_patterns == 2:  # hundreds of exact ties and of ±2 initial fields
        fields = S0 @ (P.T @ P - 2 * np.eye(41))
        assert np.sum(fields == 0) > 300 and np.sum(np.abs(fields) == 2) > 300
    for hebbian_form in ({"counts": K}, {"counts": K, "factor": P}):
        for n_threads in (1, 2):
            out = recall(
                W, S0, state.copy(), synchronous, temperature, 20, n_threads,
                **hebbian_form,
            )  # fmt: skip
            for a, b in zip(ref, out):
                np.testing.assert_array_equal(a, b)
