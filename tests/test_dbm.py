"""DeepBoltzmannMachine against exact enumeration on tiny machines: the
mean-field fixed point, the Gibbs sampler's stationary law (with and
without the pretraining's doubled inputs), log-marginals, log Z, the
mean-field bound and the training update."""

import itertools
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp

from skebm import DeepBoltzmannMachine
from skebm._dbm_model import bipartite, exact_plan, log_marginal, mean_field_bound, pack
from skebm._dbm_pretraining import doubling_scales
from skebm._kernels import _dbm as kernels
from skebm._kernels._rng import seed_state
from skebm._kernels._tempering import temperature_ladder

NO_TEMPERING = kernels.no_tempering()


def _random_machine(sizes, seed, scale=1.0):
    rng = np.random.RandomState(seed)
    coefs = [
        rng.normal(0, scale, (sizes[i], sizes[i + 1])) for i in range(len(sizes) - 1)
    ]
    intercepts = [rng.normal(0, scale, s) for s in sizes]
    return coefs, intercepts


def _states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _energy(X, coefs, intercepts):
    """``E(x)`` of full states (every layer side by side), by the formula."""
    offsets = np.cumsum([0] + [len(b) for b in intercepts])
    layers = [X[:, offsets[i] : offsets[i + 1]] for i in range(len(intercepts))]
    energy = -sum(x @ b for x, b in zip(layers, intercepts))
    for i, W in enumerate(coefs):
        energy -= np.einsum("ni,ij,nj->n", layers[i], W, layers[i + 1])
    return energy


def _joint(coefs, intercepts):
    """Every full state and its exact probability."""
    states = _states(sum(len(b) for b in intercepts))
    log_p = -_energy(states, coefs, intercepts)
    return states, np.exp(log_p - logsumexp(log_p)), logsumexp(log_p)


def _codes(X):
    return (X @ (2 ** np.arange(X.shape[1])[::-1])).astype(int)


def _tv_and_bound(samples, p):
    """Total variation between the histogram of ``samples`` (rows, in the
    order of :func:`_states`) and ``p``, and 4 times its expected size
    under sampling error, ``0.5 Σ sqrt(p (1 - p) / n)``."""
    n = len(samples)
    empirical = np.bincount(_codes(samples), minlength=len(p)) / n
    return 0.5 * np.abs(empirical - p).sum(), 4 * 0.5 * np.sqrt(p * (1 - p) / n).sum()


# ------------------------------------------------------------------ kernels
@pytest.mark.parametrize("sizes", [[3, 2, 2], [2, 3, 2, 2], [3, 2]])
def test_mean_field_reaches_the_fixed_point(sizes):
    coefs, intercepts = _random_machine(sizes, 0)
    V = (np.random.RandomState(1).rand(6, sizes[0]) < 0.5).astype(float)
    MU = np.zeros((6, sum(sizes)))
    MU[:, : sizes[0]] = V
    kernels.mean_field(pack(coefs, intercepts), MU, 500, 1e-12)
    offsets = np.cumsum([0] + sizes)
    layers = [MU[:, offsets[i] : offsets[i + 1]] for i in range(len(sizes))]
    assert np.array_equal(layers[0], V)
    for i in range(1, len(sizes)):
        total = intercepts[i] + layers[i - 1] @ coefs[i - 1]
        if i < len(sizes) - 1:
            total = total + layers[i + 1] @ coefs[i].T
        np.testing.assert_allclose(layers[i], expit(total), atol=1e-9)


def test_mean_field_of_a_pretraining_rbm_doubles_its_input():
    coefs, intercepts = _random_machine([4, 3], 2)
    V = (np.random.RandomState(3).rand(5, 4) < 0.5).astype(float)
    MU = np.zeros((5, 7))
    MU[:, :4] = V
    kernels.mean_field(pack(coefs, intercepts, doubling_scales(0, 2)), MU, 10, 0.0)
    np.testing.assert_allclose(
        MU[:, 4:], expit(intercepts[1] + 2 * V @ coefs[0]), rtol=1e-12
    )


@pytest.mark.parametrize("sizes", [[3, 2, 2], [2, 2, 1, 2]])
def test_gibbs_sweeps_sample_the_joint_distribution(sizes):
    coefs, intercepts = _random_machine(sizes, 4)
    states, p, _ = _joint(coefs, intercepts)
    n = 20000
    X = (np.random.RandomState(5).rand(n, sum(sizes)) < 0.5).astype(float)
    kernels.gibbs(pack(coefs, intercepts), X, 30, seed_state(6, n), NO_TEMPERING)
    tv, bound = _tv_and_bound(X, p)
    assert tv < bound
    # power: the law of another machine is far outside the bound
    _, q, _ = _joint(*_random_machine(sizes, 7))
    assert _tv_and_bound(X, q)[0] > 2 * bound


def test_parallel_tempering_samples_every_tempered_law():
    sizes = [3, 2, 2]
    coefs, intercepts = _random_machine(sizes, 4, scale=1.5)
    betas = temperature_ladder(3)
    n = 12000
    X = (np.random.RandomState(5).rand(3 * n, 7) < 0.5).astype(float)
    accepted = np.zeros(2, np.int64)
    tempering = (betas, np.zeros(3 * n), accepted)
    kernels.gibbs(pack(coefs, intercepts), X, 30, seed_state(6, 3 * n), tempering)
    for k, beta in enumerate(betas):
        # p_beta ∝ exp(-beta E): the machine with every parameter scaled
        scaled = ([beta * W for W in coefs], [beta * b for b in intercepts])
        tv, bound = _tv_and_bound(X[k * n : (k + 1) * n], _joint(*scaled)[1])
        assert tv < bound, (k, tv, bound)
    assert np.all(accepted > 0) and np.all(accepted < 30 * n)
    energy = np.zeros(3 * n)
    kernels.energies(pack(coefs, intercepts), X, np.empty((3 * n, 3)), energy)
    np.testing.assert_allclose(energy, _energy(X, coefs, intercepts), rtol=1e-12)


@pytest.mark.parametrize("layer, n_layers", [(0, 2), (1, 2), (1, 3)])
def test_gibbs_with_doubled_inputs_has_the_chain_stationary_law(layer, n_layers):
    # A pretraining RBM's sweep draws h ~ σ(c + up vW), then v ~ σ(b + down
    # hWᵀ): no Boltzmann law, so compare with the stationary law of the
    # enumerated transition matrix.
    scales = doubling_scales(layer, n_layers)
    up, down = scales[1, 0], scales[0, 1]
    (W,), (b, c) = _random_machine([3, 2], 8, scale=0.7)
    V, H = _states(3), _states(2)
    p_h = np.prod(
        np.where(
            H[None], expit(c + up * V @ W)[:, None], 1 - expit(c + up * V @ W)[:, None]
        ),
        axis=2,
    )  # (v, h)
    mean_v = expit(b + down * H @ W.T)
    p_v = np.prod(
        np.where(V[None], mean_v[:, None], 1 - mean_v[:, None]), axis=2
    )  # (h, v)
    # the chain on v: v -> h -> v'; then the joint law of the sweep's (v', h)
    chain = p_h @ p_v
    values, vectors = np.linalg.eig(chain.T)
    pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    pi /= pi.sum()
    joint = (pi @ p_h)[:, None] * p_v  # (h, v): h from the stationary v, then v'
    p = joint.T.ravel()  # state order (v, h), v major, as _states(5)
    n = 20000
    X = (np.random.RandomState(9).rand(n, 5) < 0.5).astype(float)
    kernels.gibbs(pack([W], [b, c], scales), X, 30, seed_state(10, n), NO_TEMPERING)
    tv, bound = _tv_and_bound(X, p)
    assert tv < bound
    if up != 1 or down != 1:  # the undoubled RBM's law is far off
        _, q, _ = _joint([W], [b, c])
        assert _tv_and_bound(X, q)[0] > 2 * bound


def test_doubling_follows_the_neighbours_of_the_finished_machine():
    # bottom RBM: hidden input doubled; top RBM: visible input doubled;
    # middle RBMs: both; a one-hidden-layer machine is a plain RBM
    up_down = {
        (layer, n): (doubling_scales(layer, n)[1, 0], doubling_scales(layer, n)[0, 1])
        for layer, n in [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    }
    assert up_down == {
        (0, 1): (1, 1),
        (0, 2): (2, 1),
        (1, 2): (1, 2),
        (0, 3): (2, 1),
        (1, 3): (2, 2),
        (2, 3): (1, 2),
    }


@pytest.mark.parametrize("n_temperatures", [1, 3])
def test_one_training_step_is_the_likelihood_gradient_estimate(n_temperatures):
    # with tempering only the first block of chains (beta = 1) counts
    coefs, intercepts = _random_machine([3, 2, 2], 11, scale=0.5)
    model = pack(coefs, intercepts)
    X = (np.random.RandomState(12).rand(7, 3) < 0.5).astype(float)
    rows = 5 * n_temperatures
    chains = (np.random.RandomState(13).rand(rows, 7) < 0.5).astype(float)
    velocity = (np.zeros_like(model[0]), np.zeros_like(model[1]))
    tempering = NO_TEMPERING
    if n_temperatures > 1:
        betas = temperature_ladder(n_temperatures)
        tempering = (betas, np.zeros(rows), np.zeros(n_temperatures - 1, np.int64))
    lr = 0.1
    kernels.train_epoch(
        model, velocity, X, np.array([0, 7]), chains, seed_state(14, rows),
        (lr, 0.0, 0.0), (200, 1e-12, 2), tempering,
    )  # fmt: skip
    cold = chains[:5]
    MU = np.zeros((7, 7))
    MU[:, :3] = X
    kernels.mean_field(pack(coefs, intercepts), MU, 200, 1e-12)
    new_coefs, new_intercepts = [], []
    offsets = [0, 3, 5, 7]
    for i in range(2):
        a, b, c = offsets[i], offsets[i + 1], offsets[i + 2]
        grad = MU[:, a:b].T @ MU[:, b:c] / 7 - cold[:, a:b].T @ cold[:, b:c] / 5
        new_coefs.append(coefs[i] + lr * grad)
    for i in range(3):
        a, b = offsets[i], offsets[i + 1]
        grad = MU[:, a:b].mean(0) - cold[:, a:b].mean(0)
        new_intercepts.append(intercepts[i] + lr * grad)
    np.testing.assert_allclose(model[0], pack(new_coefs, new_intercepts)[0], atol=1e-10)
    np.testing.assert_allclose(model[1], pack(new_coefs, new_intercepts)[1], atol=1e-10)


# ------------------------------------------------------------------ scores
@pytest.mark.parametrize(
    "sizes, how",
    [
        ([3, 2, 3], "even"),
        ([3, 2, 3], "odd"),
        ([2, 2, 2, 2, 1], "even"),
        ([2, 2, 2, 2, 1], "odd"),
    ],
)
def test_log_marginal_sums_out_the_hidden_layers_exactly(sizes, how):
    coefs, intercepts = _random_machine(sizes, 15)
    V = _states(sizes[0])
    H = _states(sum(sizes[1:]))
    full = np.hstack([np.repeat(V, len(H), 0), np.tile(H, (len(V), 1))])
    expected = logsumexp(
        -_energy(full, coefs, intercepts).reshape(len(V), len(H)), axis=1
    )
    np.testing.assert_allclose(
        log_marginal(V, coefs, intercepts, how), expected, rtol=1e-12
    )


def test_exact_plan_enumerates_the_cheaper_side():
    assert exact_plan([784, 16, 12]) == "even"  # 2**12 states of the top layer
    assert exact_plan([784, 12, 500]) == "odd"
    assert exact_plan([784, 500, 1000]) is None
    # 2**16 states of the middle layer: over a million operations per row
    assert exact_plan([16, 16, 5000]) is None
    assert exact_plan([10, 32, 20]) is None  # 2**20 * 32 per row


def test_mean_field_bound_is_a_lower_bound_and_the_free_energy_formula():
    coefs, intercepts = _random_machine([4, 3, 2], 16)
    V = _states(4)
    MU = np.zeros((16, 9))
    MU[:, :4] = V
    kernels.mean_field(pack(coefs, intercepts), MU, 500, 1e-12)
    bound = mean_field_bound(V, MU, coefs, intercepts)
    exact = log_marginal(V, coefs, intercepts, "even")
    assert np.all(bound <= exact + 1e-12)
    assert np.all(bound > exact - 3.0)  # and not trivially loose
    q = np.clip(MU[:, 4:], 1e-300, 1)
    entropy = -(
        q * np.log(q) + (1 - q) * np.log(np.clip(1 - MU[:, 4:], 1e-300, 1))
    ).sum(1)
    np.testing.assert_allclose(
        bound, -_energy(MU, coefs, intercepts) + entropy, rtol=1e-12
    )


def test_bipartite_rbm_has_the_same_energy():
    coefs, intercepts = _random_machine([2, 3, 2, 2], 17)
    X = _states(9)[::7]
    M, b_even, b_odd = bipartite(coefs, intercepts)
    even = np.hstack([X[:, 0:2], X[:, 5:7]])
    odd = np.hstack([X[:, 2:5], X[:, 7:9]])
    energy = -(even @ b_even + odd @ b_odd + np.einsum("ni,ij,nj->n", even, M, odd))
    np.testing.assert_allclose(energy, _energy(X, coefs, intercepts), rtol=1e-12)


# ---------------------------------------------------------------- estimator
X_BIN = (np.random.RandomState(0).rand(60, 6) < 0.4).astype(float)


def _fit(**params):
    params = {
        "n_iter": 3,
        "pretrain_n_iter": 2,
        "batch_size": 10,
        "random_state": 0,
        **params,
    }
    return DeepBoltzmannMachine((3, 2), **params).fit(X_BIN)


def test_score_samples_is_a_normalised_log_probability():
    dbm = _fit()
    assert dbm.free_energy_method_ == "exact"
    assert dbm.log_partition_method_ == "exact"
    _, p, log_z = _joint(dbm.coefs_, dbm.intercepts_)
    np.testing.assert_allclose(dbm.log_partition_, log_z, rtol=1e-12)
    np.testing.assert_allclose(
        np.exp(dbm.score_samples(_states(6))).sum(), 1.0, rtol=1e-10
    )


def test_ais_log_partition_agrees_with_enumeration():
    exact = _fit(learning_rate=0.1)
    ais = _fit(
        learning_rate=0.1, log_partition="ais", n_ais_chains=100, n_ais_temperatures=500
    )
    assert ais.log_partition_method_ == "ais"
    assert abs(ais.log_partition_ - exact.log_partition_) < max(
        4 * ais.log_partition_stderr_, 0.02
    )


def test_mean_field_bound_is_used_for_large_hidden_layers():
    X = (np.random.RandomState(1).rand(40, 25) < 0.3).astype(float)
    dbm = DeepBoltzmannMachine((22, 23), n_iter=1, pretrain_n_iter=1, random_state=0)
    dbm.set_params(n_ais_chains=16, n_ais_temperatures=50).fit(X)
    assert dbm.free_energy_method_ == "mean_field_bound"
    assert dbm.log_partition_method_ == "ais"
    MU = np.hstack([X, dbm.transform(X)])
    np.testing.assert_allclose(
        -dbm.free_energy(X), mean_field_bound(X, MU, dbm.coefs_, dbm.intercepts_)
    )


def test_sample_draws_from_the_visible_marginal():
    dbm = _fit(learning_rate=0.2)
    _, p_joint, _ = _joint(dbm.coefs_, dbm.intercepts_)
    p = p_joint.reshape(2**6, -1).sum(1)
    samples = dbm.sample(20000, n_steps=30, random_state=1)
    tv, bound = _tv_and_bound(samples, p)
    assert tv < bound
    assert np.array_equal(samples, dbm.sample(20000, n_steps=30, random_state=1))


def test_fit_attributes_transform_and_feature_names():
    dbm = _fit()
    assert [W.shape for W in dbm.coefs_] == [(6, 3), (3, 2)]
    assert [b.shape for b in dbm.intercepts_] == [(6,), (3,), (2,)]
    H = dbm.transform(X_BIN)
    assert H.shape == (60, 5) and np.all((H > 0) & (H < 1))
    names = dbm.get_feature_names_out()
    assert list(names) == [f"deepboltzmannmachine{i}" for i in range(5)]
    assert dbm.history_["reconstruction_error"].shape == (3,)


def test_same_seed_same_bits_and_pretraining_changes_the_start():
    a, b = _fit(), _fit()
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.array_equal(x, y)
    c = _fit(n_iter=0, pretrain_n_iter=0)
    d = _fit(n_iter=0, pretrain_n_iter=3)
    assert not np.allclose(c.coefs_[0], d.coefs_[0])


def test_partial_fit_continues_and_refuses_new_layer_sizes():
    dbm = _fit()
    before = dbm.coefs_[0].copy()
    dbm.partial_fit(X_BIN)
    assert len(dbm.history_["epoch"]) == 4
    assert not np.array_equal(before, dbm.coefs_[0])
    dbm.set_params(hidden_layer_sizes=(4, 2))
    with pytest.raises(ValueError, match="hidden_layer_sizes changed"):
        dbm.partial_fit(X_BIN)


def test_sparse_input_pickling_and_caller_arrays():
    X = X_BIN.copy()
    dense = _fit()
    sparse = DeepBoltzmannMachine(
        (3, 2), n_iter=3, pretrain_n_iter=2, batch_size=10, random_state=0
    ).fit(sp.csr_matrix(X))
    np.testing.assert_array_equal(X, X_BIN)
    np.testing.assert_array_equal(dense.coefs_[1], sparse.coefs_[1])
    clone = pickle.loads(pickle.dumps(dense))
    np.testing.assert_array_equal(clone.score_samples(X), dense.score_samples(X))


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"log_partition": "exact", "hidden_layer_sizes": (21, 30)},
            "log_partition='exact'",
        ),
        ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes"),
    ],
)
def test_bad_settings_are_refused(params, message):
    X = (np.random.RandomState(2).rand(20, 25) < 0.5).astype(float)
    dbm = DeepBoltzmannMachine(n_iter=1, pretrain_n_iter=0, random_state=0)
    with pytest.raises(ValueError, match=message):
        dbm.set_params(**params).fit(X)
    assert not hasattr(dbm, "coefs_")


def test_fit_decays_the_learning_rate_and_partial_fit_does_not(monkeypatch):
    steps = []
    train_epoch = kernels.train_epoch

    def recorded(model, velocity, X, bounds, chains, state, hyper, *settings):
        steps.append(hyper[0])
        train_epoch(model, velocity, X, bounds, chains, state, hyper, *settings)

    monkeypatch.setattr(kernels, "train_epoch", recorded)
    dbm = _fit(n_iter=4, pretrain_n_iter=0, learning_rate=0.04)
    # linear from learning_rate in the first epoch to a tenth in the last
    np.testing.assert_allclose(steps, [0.04, 0.028, 0.016, 0.004])
    steps.clear()
    dbm.partial_fit(X_BIN)
    assert steps == [0.04]
    steps.clear()
    _fit(n_iter=20, pretrain_n_iter=0, learning_rate=0.04)
    assert steps[-1] == pytest.approx(0.004) and steps[-2] > 0.004


def test_features_in_a_pipeline_tuned_by_grid_search():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    y = (X_BIN[:, 0] + X_BIN[:, 1] > 0).astype(int)
    pipe = Pipeline(
        [
            (
                "dbm",
                DeepBoltzmannMachine(
                    (4, 3), n_iter=2, pretrain_n_iter=1, random_state=0
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    search = GridSearchCV(pipe, {"dbm__learning_rate": [0.01, 0.1]}, cv=2).fit(X_BIN, y)
    assert search.best_estimator_["dbm"].transform(X_BIN).shape == (60, 7)
    assert search.predict(X_BIN).shape == (60,)
    # unsupervised: GridSearchCV without a scorer compares held-out score
    search = GridSearchCV(DeepBoltzmannMachine((3, 2), n_iter=2, random_state=0),
                          {"learning_rate": [0.01, 0.1]}, cv=2).fit(X_BIN)  # fmt: skip
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_exact_log_partition_is_refused_before_training(monkeypatch):
    def fail(*args):
        raise AssertionError("trained before refusing")

    monkeypatch.setattr(kernels, "train_epoch", fail)
    X = (np.random.RandomState(2).rand(20, 25) < 0.5).astype(float)
    dbm = DeepBoltzmannMachine((21, 30), log_partition="exact", random_state=0)
    with pytest.raises(ValueError, match="log_partition='exact'"):
        dbm.fit(X)


def test_fit_with_parallel_tempering():
    dbm = _fit(n_temperatures=3, n_chains=4)
    assert dbm.chains_.shape == (12, 11)
    assert dbm.history_["swap_acceptance"].shape == (3, 2)
    assert np.all(
        (dbm.history_["swap_acceptance"] >= 0) & (dbm.history_["swap_acceptance"] <= 1)
    )
    dbm.partial_fit(X_BIN)
    assert dbm.history_["swap_acceptance"].shape == (4, 2)
    plain = _fit(n_chains=4)
    assert "swap_acceptance" not in plain.history_
    assert not np.allclose(plain.coefs_[0], dbm.coefs_[0])
