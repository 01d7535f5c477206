"""skebm.HopfieldNetwork and skebm.ModernHopfieldNetwork: storage, recall
against NumPy references, capacity, determinism, input checks."""

import pickle

import joblib
import numpy as np
import pytest
from scipy.special import logsumexp, softmax
from scipy.stats import binom
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from skebm import HopfieldNetwork, ModernHopfieldNetwork

# private: the NumPy reference recalls below must treat near-zero fields as
# ties with the kernel's tolerance, a constant no public API exposes
from skebm._kernels._hopfield import TIE_RTOL

RULES = ["hebbian", "storkey", "pseudoinverse"]


def bipolar(rng, n, d):
    return np.where(rng.rand(n, d) < 0.5, 1.0, -1.0)


def corrupt(rng, P, fraction):
    return P * np.where(rng.rand(*P.shape) < fraction, -1.0, 1.0)


# ------------------------------------------------------------ storage
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("update", ["async", "sync"])
def test_stored_patterns_below_capacity_are_fixed_points(rng, rule, update):
    P = bipolar(rng, 6, 100)  # load 0.06, far below every rule's capacity
    net = HopfieldNetwork(rule, update=update, random_state=0).fit(P)
    states, n_iter, converged = net.recall(P, return_n_iter=True)
    np.testing.assert_array_equal(states, P)
    assert np.all(n_iter == 1) and converged.all()
    np.testing.assert_array_equal(net.predict(P), np.arange(6))
    # and they attract: 10% of the units flipped come back
    noisy = corrupt(rng, P, 0.1)
    np.testing.assert_array_equal(net.transform(noisy), P)


@pytest.mark.parametrize("rule", RULES)
def test_weights_symmetric_with_zero_diagonal(rng, rule):
    W = HopfieldNetwork(rule).fit(bipolar(rng, 10, 40)).coef_
    assert W.shape == (40, 40) and W.dtype == np.float64
    np.testing.assert_array_equal(W, W.T)
    assert np.all(np.diag(W) == 0)


def test_hebbian_weights(rng):
    P = bipolar(rng, 5, 20)
    ref = P.T @ P / 20
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(HopfieldNetwork().fit(P).coef_, ref, atol=1e-15)


def storkey_reference(P):
    """Storkey (1997) eq. (1)-(2), literally: h_ij = sum_{k != i, j} w_ik x_k."""
    n = P.shape[1]
    W = np.zeros((n, n))
    for x in P:
        new = W.copy()
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                h_ij = sum(W[i, k] * x[k] for k in range(n) if k not in (i, j))
                h_ji = sum(W[j, k] * x[k] for k in range(n) if k not in (i, j))
                new[i, j] = W[i, j] + (x[i] * x[j] - x[i] * h_ji - h_ij * x[j]) / n
        W = new
    return W


def test_storkey_weights_match_the_formula(rng):
    P = bipolar(rng, 4, 10)
    net = HopfieldNetwork("storkey").fit(P)
    np.testing.assert_allclose(net.coef_, storkey_reference(P), atol=1e-12)
    # differs from Hebb after the first pattern
    assert not np.allclose(net.coef_, HopfieldNetwork().fit(P).coef_)


def test_pseudoinverse_stores_any_linearly_independent_set(rng):
    N = 40
    random_set = bipolar(rng, 36, N)  # load 0.9
    # strongly correlated: one prototype with 3 of 40 units flipped per pattern
    proto = bipolar(rng, 1, N)
    flips = np.ones((20, N))
    for r in range(20):
        flips[r, rng.choice(N, 3, replace=False)] = -1
    correlated = proto * flips
    for P in (random_set, correlated):
        assert np.linalg.matrix_rank(P) == len(P)
        for update in ("async", "sync"):
            net = HopfieldNetwork("pseudoinverse", update=update, random_state=0)
            states = net.fit(P).transform(P)
            np.testing.assert_array_equal(states, P)
            np.testing.assert_array_equal(net.predict(P), np.arange(len(P)))
    # the Hebbian rule cannot hold either set
    for P in (random_set, correlated):
        assert not np.array_equal(HopfieldNetwork().fit(P).transform(P), P)


@pytest.mark.parametrize("rule", RULES)
def test_partial_fit_equals_fit_on_all_patterns(rng, rule):
    P = bipolar(rng, 9, 30)
    full = HopfieldNetwork(rule).fit(P)
    part = HopfieldNetwork(rule).partial_fit(P[:4]).partial_fit(P[4:])
    np.testing.assert_allclose(part.coef_, full.coef_, atol=1e-13)
    np.testing.assert_array_equal(part.patterns_, P)
    if rule != "hebbian":  # same operations in the same order
        np.testing.assert_array_equal(part.coef_, full.coef_)
    # Hebbian recall runs on integer counts rebuilt from the incremental
    # weights: the same as from all patterns at once
    probes = P * np.where(rng.rand(*P.shape) < 0.2, -1.0, 1.0)
    for net in (full, part):
        net.set_params(random_state=0)
    np.testing.assert_array_equal(
        part.fit(P[:4]).partial_fit(P[4:]).recall(probes, return_n_iter=True)[0],
        full.fit(P).recall(probes, return_n_iter=True)[0],
    )


def _float_recall(net, probes):
    """Recall of ``probes`` by ``net``'s weights on the float64 path: a net
    fitted alike (same random_state, so the same seed) whose ``coef_`` is
    doubled. Doubling is exact and changes neither a field's sign nor a tie
    (the tie tolerance is relative), but the integer counts no longer match
    ``coef_``, so recall runs on ``coef_`` as it is."""
    twin = clone(net).fit(net.patterns_)
    twin.coef_ = 2.0 * net.coef_
    return twin.recall(probes, return_n_iter=True)


def _pickled_size(net):
    """Bytes ``net`` pickles to: what a fitted network keeps. The docs of
    ``coef_`` say a Hebbian network also keeps its integer counts ``N W``
    as int16, 2 bytes per weight; the other rules keep none."""
    return len(pickle.dumps(net))


def test_hebbian_recall_follows_coef_changed_after_fit(rng):
    P = bipolar(rng, 5, 60)
    probes = P[rng.randint(0, 5, 40)] * np.where(rng.rand(40, 60) < 0.25, -1.0, 1.0)
    net = HopfieldNetwork(random_state=0).fit(P)
    # the net keeps the documented int16 counts (2 bytes per weight more than
    # a Storkey net of the same shapes), so recall starts on the count path
    storkey = HopfieldNetwork("storkey", random_state=0).fit(P)
    assert 0 <= _pickled_size(net) - _pickled_size(storkey) - 2 * 60**2 < 200
    before = net.recall(probes, return_n_iter=True)
    np.testing.assert_array_equal(before[0], _float_recall(net, probes)[0])
    # a lesion, in place: recall must run on the lesioned weights
    net.coef_[:, :30] = 0.0
    net.coef_[:30, :] = 0.0
    after = net.recall(probes, return_n_iter=True)
    reference = _float_recall(net, probes)
    np.testing.assert_array_equal(after[0], reference[0])
    np.testing.assert_array_equal(after[1], reference[1])
    assert not np.array_equal(after[0], before[0])
    # an old pickle without counts recalls on coef_ too
    del net._counts  # private: an old pickle lacks them; no public API makes one
    np.testing.assert_array_equal(net.recall(probes), reference[0])


def test_hebbian_partial_fit_on_other_rules_weights_recalls_on_coef(rng):
    P = bipolar(rng, 8, 50)
    probes = P * np.where(rng.rand(8, 50) < 0.25, -1.0, 1.0)
    net = HopfieldNetwork("storkey", random_state=0).fit(P[:4])
    net.set_params(learning_rule="hebbian").partial_fit(P[4:])
    # Storkey's weights are no multiples of 1/N: no counts are kept for them
    # (recall would reject them, so they would only cost memory), and the net
    # pickles to the size of a Storkey net of the same shapes
    storkey = HopfieldNetwork("storkey", random_state=0).fit(P)
    assert _pickled_size(net) == _pickled_size(storkey)
    np.testing.assert_array_equal(net.recall(probes), _float_recall(net, probes)[0])


# ------------------------------------------------ recall vs references
def sync_reference(W, S, max_iter, rtol=TIE_RTOL):
    """Synchronous recall, written independently: fresh fields every step,
    stop at a fixed point or a 2-cycle. A field within ``rtol`` times the
    largest row sum of ``|W|`` of zero is a tie and keeps the unit's state."""
    tol = rtol * np.abs(W).sum(axis=1).max()
    S = S.copy()
    n_iter = np.zeros(len(S), dtype=int)
    converged = np.zeros(len(S), dtype=bool)
    cycles = 0
    for r, s in enumerate(S):
        before = None
        for t in range(max_iter):
            h = W @ s
            new = np.where(h > tol, 1.0, np.where(h < -tol, -1.0, s))
            n_iter[r] = t + 1
            if np.array_equal(new, s):
                converged[r] = True
                break
            if before is not None and np.array_equal(new, before):
                cycles += 1
                s[:] = new
                break
            before = s.copy()
            s[:] = new
    return S, n_iter, converged, cycles


@pytest.mark.parametrize("rule", RULES)
def test_sync_recall_equals_numpy_reference(rng, rule):
    N = 60
    P = bipolar(rng, 15, N)  # load 0.25: Hebbian recall often ends in 2-cycles
    probes = np.vstack([corrupt(rng, P, 0.2), bipolar(rng, 40, N)])
    net = HopfieldNetwork(rule, update="sync", max_iter=30).fit(P)
    states, n_iter, converged = net.recall(probes, return_n_iter=True)
    ref, ref_iter, ref_conv, cycles = sync_reference(net.coef_, probes, 30)
    np.testing.assert_array_equal(states, ref)
    np.testing.assert_array_equal(n_iter, ref_iter)
    np.testing.assert_array_equal(converged, ref_conv)
    if rule == "hebbian":
        assert cycles > 0 and not converged.all()


@pytest.mark.parametrize("n_features, n_patterns", [(60, 4), (20, 10)])
def test_hebbian_recall_resolves_ties_as_documented(rng, n_features, n_patterns):
    # A zero field "keeps the unit's state" (the docs of temperature). N coef_
    # = PᵀP - pI are exact integers: the reference recalls on them with no
    # tolerance. (60, 4) recalls on low-rank counts, (20, 10) on the full
    # matrix. For N a multiple of 4, every field of every probe is p + 2 (the
    # number of -1s in P) mod 4: one flip makes that 0, so that ties happen.
    N, p = n_features, n_patterns
    P = bipolar(rng, p, N)
    if (p + 2 * np.sum(P < 0)) % 4:
        P[0, 0] *= -1
    probes = np.vstack(
        [corrupt(rng, P[rng.randint(0, p, 100)], 0.3), bipolar(rng, 100, N)]
    )
    K = P.T @ P - p * np.eye(N)
    assert np.sum(probes @ K == 0) > 200  # ties do happen, from the first sweep
    net = HopfieldNetwork(update="sync", max_iter=30, random_state=0).fit(P)
    states, n_iter, converged = net.recall(probes, return_n_iter=True)
    ref, ref_iter, ref_conv, _ = sync_reference(K, probes, 30, rtol=0.0)
    np.testing.assert_array_equal(states, ref)
    np.testing.assert_array_equal(n_iter, ref_iter)
    np.testing.assert_array_equal(converged, ref_conv)
    # and recall on the counts gives what recall on the float weights gives
    for update in ("sync", "async"):
        net.set_params(update=update)
        out, out_iter, _ = net.recall(probes, return_n_iter=True)
        on_floats, float_iter, _ = _float_recall(net, probes)
        np.testing.assert_array_equal(out, on_floats)
        np.testing.assert_array_equal(out_iter, float_iter)


def test_async_energy_never_increases_sweep_by_sweep(rng):
    # (each single-unit update is checked in test_kernels_hopfield.py)
    P = bipolar(rng, 20, 80)
    probes = bipolar(rng, 30, 80)
    net = HopfieldNetwork("storkey", random_state=3).fit(P)
    energies = [net.energy(probes)]
    for k in range(1, 8):
        energies.append(net.set_params(max_iter=k).energy(net.transform(probes)))
    assert np.all(np.diff(energies, axis=0) <= 1e-12)
    assert np.any(np.diff(energies, axis=0) < -1.0)


def test_energy_and_score_samples(rng):
    P = bipolar(rng, 5, 30)
    net = HopfieldNetwork().fit((P + 1) / 2)
    X = (bipolar(rng, 7, 30) + 1) / 2
    S = 2 * X - 1
    expected = -0.5 * np.einsum("ij,jk,ik->i", S, net.coef_, S)
    np.testing.assert_allclose(net.energy(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(net.score_samples(X), -net.energy(X))
    assert net.score(X) == pytest.approx(-net.energy(X).mean())
    # stored patterns are more familiar than random states
    assert net.score_samples((P + 1) / 2).min() > net.score_samples(X).max()


# ------------------------------------------------------------ capacity
def _one_step_stats(rule, N, p, trials, rng):
    """Per trial: fraction of unstable bits and of stable stored patterns."""
    bits, patterns = [], []
    for _ in range(trials):
        P = bipolar(rng, p, N)
        net = HopfieldNetwork(rule, random_state=0).fit(P)
        bits.append(np.mean((P @ net.coef_) * P < -1e-9))
        _, n_iter, converged = net.recall(P, return_n_iter=True)
        patterns.append(np.mean(converged & (n_iter == 1)))
    return np.array(bits), np.array(patterns)


def test_hebbian_capacity_matches_theory(rng):
    # A stored bit i of pattern mu is unstable when its crosstalk
    # sum_{nu != mu, j != i} xi_i^nu xi_i^mu xi_j^nu xi_j^mu, a sum of
    # M = (p-1)(N-1) independent +-1 terms, is below -(N-1): an exact
    # binomial tail. Bits of one pattern set are correlated, so the
    # tolerance uses the spread over independent trials (4 standard errors
    # of the mean of 20 trials).
    N, trials = 200, 20
    stable = {}
    for alpha in (0.10, 0.14, 0.20):
        p = int(round(alpha * N))
        M = (p - 1) * (N - 1)
        theory = binom.cdf(np.ceil((M - N + 1) / 2) - 1, M, 0.5)
        bits, patterns = _one_step_stats("hebbian", N, p, trials, rng)
        se = bits.std(ddof=1) / np.sqrt(trials)
        assert abs(bits.mean() - theory) < 4 * se + 1e-6, (alpha, theory)
        stable[alpha] = patterns.mean()
    # whole patterns: the fraction of stable ones crosses 1/2 near p/N = 0.14
    # (for N = 200; independent bits would give 0.89, 0.53, 0.10)
    assert stable[0.10] > 0.75 and stable[0.20] < 0.3
    assert 0.3 < stable[0.14] < 0.85


def test_storkey_and_pseudoinverse_store_more_than_hebbian(rng):
    N, p, trials = 200, 40, 5  # load 0.2: Hebbian keeps about 10% stable
    hebb = _one_step_stats("hebbian", N, p, trials, rng)[1].mean()
    storkey = _one_step_stats("storkey", N, p, trials, rng)[1].mean()
    pinv = _one_step_stats("pseudoinverse", N, p, trials, rng)[1].mean()
    assert hebb < 0.35
    assert storkey > 0.9 and pinv == 1.0


# --------------------------------------------------- temperature, seeds
def test_same_seed_same_result_different_seed_different(rng):
    P = bipolar(rng, 12, 50)
    probes = bipolar(rng, 40, 50)  # random probes: the order matters
    for temperature in (0.0, 0.5):
        runs = [
            HopfieldNetwork(random_state=s, temperature=temperature)
            .fit(P)
            .transform(probes)
            for s in (1, 1, 2)
        ]
        np.testing.assert_array_equal(runs[0], runs[1])
        assert not np.array_equal(runs[0], runs[2])


def test_recall_of_a_row_does_not_depend_on_the_other_rows(rng):
    P = bipolar(rng, 10, 50)
    probes = bipolar(rng, 30, 50)
    net = HopfieldNetwork(random_state=0, temperature=0.3).fit(P)
    full = net.transform(probes)
    np.testing.assert_array_equal(net.transform(probes[5:9]), full[5:9])
    np.testing.assert_array_equal(net.transform(probes[::-1]), full[::-1])


def test_temperature(rng):
    P = bipolar(rng, 3, 60)
    probes = corrupt(rng, np.repeat(P, 10, axis=0), 0.1)
    cold = HopfieldNetwork(temperature=0.05, max_iter=20, random_state=0).fit(P)
    states, n_iter, converged = cold.recall(probes, return_n_iter=True)
    assert np.all(n_iter == 20)  # no early stop at temperature > 0
    assert converged.mean() > 0.9 and np.mean(states == np.repeat(P, 10, 0)) > 0.99
    hot = HopfieldNetwork(temperature=100.0, max_iter=5, random_state=0).fit(P)
    assert abs(np.mean(hot.transform(probes) == np.repeat(P, 10, 0)) - 0.5) < 0.05


# --------------------------------------------------- encodings, dtypes
def test_binary_and_bipolar_encodings_give_the_same_network(rng):
    P = bipolar(rng, 8, 40)
    probes = corrupt(rng, bipolar(rng, 20, 40), 0.2)
    a = HopfieldNetwork(random_state=0).fit(P)
    b = HopfieldNetwork(random_state=0).fit((P + 1) / 2)
    assert a.encoding_ == "bipolar" and b.encoding_ == "binary"
    np.testing.assert_array_equal(a.coef_, b.coef_)
    out_a, out_b = a.transform(probes), b.transform((probes + 1) / 2)
    np.testing.assert_array_equal(out_b, (out_a + 1) / 2)
    assert set(np.unique(out_b)) <= {0.0, 1.0}
    np.testing.assert_array_equal(a.predict(probes), b.predict((probes + 1) / 2))
    np.testing.assert_array_equal(a.energy(probes), b.energy((probes + 1) / 2))


def test_dtypes(rng):
    P = (bipolar(rng, 4, 20) > 0).astype(np.float32)
    net = HopfieldNetwork().fit(P)
    assert net.coef_.dtype == np.float64
    assert net.transform(P).dtype == np.float32
    assert net.transform(P.astype(np.int64)).dtype == np.float64
    assert net.fit(P.astype(np.int64)).patterns_.dtype == np.float64


def test_predict_reports_spurious_states_as_minus_one(rng):
    P = bipolar(rng, 3, 40)
    net = HopfieldNetwork().fit(P)
    # -xi is a fixed point too, but not a stored pattern
    np.testing.assert_array_equal(net.transform(-P), -P)
    np.testing.assert_array_equal(net.predict(-P), [-1, -1, -1])


def test_pickle_and_joblib_round_trip(tmp_path, rng):
    P = bipolar(rng, 6, 30)
    probes = bipolar(rng, 10, 30)
    for est in (
        HopfieldNetwork("storkey", random_state=0).fit(P),
        ModernHopfieldNetwork(beta=0.5).fit(P),
    ):
        for loaded in (
            pickle.loads(pickle.dumps(est)),
            joblib.load(joblib.dump(est, tmp_path / "net.joblib")[0]),
        ):
            np.testing.assert_array_equal(
                loaded.transform(probes), est.transform(probes)
            )
            np.testing.assert_array_equal(
                loaded.score_samples(probes), est.score_samples(probes)
            )
        for value in vars(est).values():
            assert isinstance(value, (np.ndarray, int, float, str, type(None)))


def test_input_arrays_not_modified(rng):
    P = bipolar(rng, 6, 30)
    probes = bipolar(rng, 10, 30)
    P0, probes0 = P.copy(), probes.copy()
    for est in (HopfieldNetwork(random_state=0), ModernHopfieldNetwork()):
        est.fit(P).partial_fit(P)
        est.transform(probes), est.predict(probes), est.score_samples(probes)
        np.testing.assert_array_equal(P, P0)
        np.testing.assert_array_equal(probes, probes0)


def test_in_a_pipeline_with_a_binarizer(rng):
    from sklearn.preprocessing import Binarizer

    X = rng.rand(5, 16)
    net = HopfieldNetwork("pseudoinverse")
    pipe = Pipeline([("bin", Binarizer(threshold=0.5)), ("net", net)])
    out = pipe.fit(X).transform(X)
    np.testing.assert_array_equal(out, (X > 0.5).astype(float))


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[0.0, 0.5], [1.0, 0.0]]), "binary .* or bipolar .*e.g. 0.5"),
        (np.array([[0.0, -1.0], [1.0, 0.0]]), "mixes the two encodings"),
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "infinity"),
        (np.empty((0, 2)), "0 sample"),
        (np.empty((2, 0)), "0 feature"),
    ],
)
def test_bad_input_raises_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        HopfieldNetwork().fit(bad)


def test_bad_probes(rng):
    net = HopfieldNetwork().fit((bipolar(rng, 3, 6) + 1) / 2)
    for method in (net.transform, net.predict, net.energy, net.partial_fit):
        with pytest.raises(ValueError, match="features"):
            method(np.zeros((2, 5)))
        with pytest.raises(ValueError, match="X is bipolar but .* binary"):
            method(bipolar(rng, 2, 6))
        with pytest.raises(ValueError, match="e.g. 2"):
            method(2 * np.ones((2, 6)))
    # all ones fit both encodings
    assert net.transform(np.ones((1, 6))).shape == (1, 6)
    with pytest.raises(ValueError, match="features"):
        ModernHopfieldNetwork().fit(rng.rand(3, 4)).transform(rng.rand(2, 3))


def test_bad_parameters():
    X = np.ones((2, 3))
    for params in (
        dict(learning_rule="oja"),
        dict(update="random"),
        dict(max_iter=0),
        dict(temperature=-1.0),
    ):
        with pytest.raises(ValueError, match=next(iter(params))):
            HopfieldNetwork(**params).fit(X)
    with pytest.raises(ValueError, match="beta"):
        ModernHopfieldNetwork(beta=0.0).fit(X)


# ------------------------------------------------------ modern Hopfield
def test_modern_one_step_equals_softmax_reference(rng):
    X = rng.normal(size=(7, 12))
    Q = rng.normal(size=(5, 12))
    net = ModernHopfieldNetwork(beta=0.8, max_iter=1).fit(X)
    ref = softmax(0.8 * Q @ X.T, axis=1) @ X
    out, n_iter, converged = net.recall(Q, return_n_iter=True)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert np.all(n_iter == 1) and not converged.any()
    # and iterating is repeated application
    twice = ModernHopfieldNetwork(beta=0.8, max_iter=2, tol=0).fit(X).transform(Q)
    np.testing.assert_allclose(twice, softmax(0.8 * ref @ X.T, axis=1) @ X)


def test_modern_retrieves_stored_patterns_with_large_beta(rng):
    X = bipolar(rng, 50, 64)  # many more patterns than a classic net holds
    # 10% noise: with 20%, some seeds give a probe exactly as close to
    # another stored pattern, and retrieval (correctly) stops at the mixture
    noisy = corrupt(rng, X, 0.1)
    net = ModernHopfieldNetwork(beta=1.0).fit(X)
    out, n_iter, converged = net.recall(noisy, return_n_iter=True)
    np.testing.assert_allclose(out, X, atol=1e-6)
    assert converged.all() and n_iter.max() <= 3
    np.testing.assert_array_equal(net.predict(noisy), np.arange(50))
    # a small beta averages instead (a metastable state near the mean)
    blurred = ModernHopfieldNetwork(beta=1e-4).fit(X).transform(noisy)
    assert np.abs(blurred - X.mean(axis=0)).max() < 0.1


def test_modern_energy_formula_and_descent(rng):
    X = rng.normal(size=(6, 8))
    Q = rng.normal(size=(10, 8))
    beta = 2.0
    net = ModernHopfieldNetwork(beta=beta, max_iter=1).fit(X)
    M2 = (X**2).sum(axis=1).max()
    ref = (
        -logsumexp(beta * Q @ X.T, axis=1) / beta
        + 0.5 * (Q**2).sum(axis=1)
        + np.log(6) / beta
        + 0.5 * M2
    )
    np.testing.assert_allclose(net.energy(Q), ref, rtol=1e-12)
    np.testing.assert_array_equal(net.score_samples(Q), -net.energy(Q))
    assert np.all(net.energy(Q) >= 0) and np.all(net.energy(Q) <= 2 * M2)
    # the update is a concave-convex step: energy never increases
    state = Q
    for _ in range(5):
        new = net.transform(state)
        assert np.all(net.energy(new) <= net.energy(state) + 1e-12)
        state = new


def test_modern_partial_fit_and_dtype(rng):
    X = rng.normal(size=(6, 5)).astype(np.float32)
    a = ModernHopfieldNetwork().fit(X)
    b = ModernHopfieldNetwork().partial_fit(X[:2]).partial_fit(X[2:])
    np.testing.assert_array_equal(a.patterns_, b.patterns_)
    assert a.patterns_.dtype == np.float32
    assert a.transform(X).dtype == np.float32
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
