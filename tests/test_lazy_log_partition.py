"""``log Z`` only when asked (issue 18): ``fit``/``partial_fit`` never
estimate it; the first call that needs it does, once, with the seed fixed at
fit time; the value is shared by concurrent callers, kept by pickling and
replaced by further training."""

import pickle
import threading

import numpy as np
import pytest

import skebm._kernels._boltzmann as boltzmann_kernels
import skebm._log_z as log_z_module
from skebm import BernoulliRBM, BoltzmannMachine, GaussianBernoulliRBM

RNG = np.random.RandomState(0)
X_BIN = (RNG.rand(120, 24) > 0.6).astype(np.float64)
X_REAL = RNG.normal(size=(120, 10))

# AIS (too big to enumerate cheaply) and exact configurations of each family
_AIS = dict(n_ais_chains=16, n_ais_temperatures=60)
CASES = {
    "rbm-ais": (BernoulliRBM(n_components=30, n_iter=2, **_AIS), X_BIN),
    "rbm-exact": (BernoulliRBM(n_components=6, n_iter=2), X_BIN),
    "gaussian-ais": (
        GaussianBernoulliRBM(n_components=30, n_iter=2, learn_sigma=True, **_AIS),
        X_REAL,
    ),
    "boltzmann-ais": (BoltzmannMachine(n_hidden=2, n_iter=2, **_AIS), X_BIN),
    "boltzmann-exact": (BoltzmannMachine(n_hidden=2, n_iter=2), X_BIN[:, :8]),
}


@pytest.fixture
def count_computations(monkeypatch):
    """Counts the exact enumerations and AIS runs that compute log Z."""
    calls = []
    for module, name, method in [
        (log_z_module, "_rbm_ais_log_partition", "ais"),
        (log_z_module, "_rbm_exact_log_partition", "exact"),
        (boltzmann_kernels, "bm_ais", "ais"),
        (boltzmann_kernels, "bm_log_partition", "exact"),
    ]:
        original = getattr(module, name)

        def counted(*args, _original=original, _method=method):
            calls.append(_method)
            return _original(*args)

        monkeypatch.setattr(module, name, counted)
    return calls


def _model(case, seed=0):
    estimator, X = CASES[case]
    return estimator.set_params(random_state=seed), X


@pytest.mark.parametrize("case", CASES)
def test_training_never_computes_log_z_and_scoring_computes_it_once(
    case, count_computations
):
    model, X = _model(case)
    model.fit(X)
    model.partial_fit(X)
    assert count_computations == []
    first = model.score_samples(X[:5])
    model.score(X[:5])
    log_z, stderr = model.log_partition_, model.log_partition_stderr_
    method = "exact" if case.endswith("exact") else "ais"
    assert count_computations == [method] and model.log_partition_method_ == method
    assert (stderr == 0.0) == (method == "exact")
    np.testing.assert_array_equal(model.score_samples(X[:5]), first)
    # further training replaces the estimate, computed again when asked for
    model.partial_fit(X)
    assert len(count_computations) == 1
    assert model.log_partition_ != log_z  # the new model's
    assert len(count_computations) == 2


@pytest.mark.parametrize("case", ["rbm-ais", "gaussian-ais", "boltzmann-ais"])
def test_the_estimate_does_not_depend_on_when_it_is_asked_for(case):
    asked_at_once, X = _model(case)
    asked_at_once.fit(X)
    value = asked_at_once.log_partition_
    later, _ = _model(case)
    later.fit(X)
    # draws from random_state_ before the first request change nothing
    if hasattr(later, "gibbs"):
        later.gibbs(X[:3] if case != "gaussian-ais" else X_REAL[:3])
    later.sample(2, random_state=None)
    assert later.log_partition_ == value  # bit for bit
    other_seed, _ = _model(case, seed=1)
    assert other_seed.fit(X).log_partition_ != value


@pytest.mark.parametrize("case", ["rbm-ais", "boltzmann-ais"])
def test_concurrent_first_calls_share_one_computation(case, count_computations):
    model, X = _model(case)
    model.fit(X)
    barrier = threading.Barrier(4)
    results = []

    def ask():
        barrier.wait()
        results.append(model.log_partition_)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert count_computations == ["ais"]


@pytest.mark.parametrize("case", ["rbm-ais", "boltzmann-ais"])
def test_pickling_keeps_the_plan_and_the_value(case, count_computations):
    model, X = _model(case)
    model.fit(X)
    before_asking = pickle.loads(pickle.dumps(model))
    value = model.log_partition_
    assert before_asking.log_partition_ == value  # same plan, same bits
    assert len(count_computations) == 2
    after_asking = pickle.loads(pickle.dumps(model))
    assert after_asking.log_partition_ == value
    assert len(count_computations) == 2  # kept, not recomputed


def test_log_partition_none_and_unfitted():
    model = BernoulliRBM(n_iter=1, log_partition=None).fit(X_BIN)
    assert model.log_partition_ is None and model.log_partition_method_ is None
    with pytest.raises(ValueError, match="log_partition=None"):
        model.score(X_BIN)
    assert not hasattr(BernoulliRBM(), "log_partition_")
    with pytest.raises(AttributeError, match="not fitted"):
        BoltzmannMachine().log_partition_  # noqa: B018


def test_exact_mode_on_a_model_too_big_still_fails_in_fit():
    with pytest.raises(ValueError, match="log_partition='exact' needs"):
        BernoulliRBM(n_components=30, n_iter=1, log_partition="exact").fit(X_BIN)
