"""Two-thread epochs: the barrier, the launcher, and thread-count
independence of the RBM epoch kernel (every mode it has)."""

import threading

import numpy as np
import pytest
from numba import njit

from skebm._kernels._cd import GaussianVisible, epoch_blocks, rbm_epoch
from skebm._kernels._rng import seed_state
from skebm._kernels._sync import (
    atomic_add,
    atomic_load,
    available_threads,
    barrier,
    run_threads,
)


@njit(nogil=True)
def _rounds(counts, n_rounds, fail_at, tid, n_threads, sync):
    """Each round every thread bumps its own count, then checks (after a
    barrier) that all counts agree; a lost wake-up or a barrier that lets a
    thread through early makes the check fail."""
    for k in range(n_rounds):
        if tid == 1 and k == fail_at:
            raise ValueError("planted failure")
        counts[tid] += 1
        atomic_add(counts, n_threads, 1)
        if not barrier(sync, n_threads):
            return
        for t in range(n_threads):
            if counts[t] != k + 1:
                counts[n_threads + 1] = 1  # record the violation
        if atomic_load(counts, n_threads) != n_threads * (k + 1):
            counts[n_threads + 1] = 1
        if not barrier(sync, n_threads):
            return


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_barrier_keeps_threads_in_step(n_threads, monkeypatch):
    import skebm._kernels._sync as sync

    monkeypatch.setattr(sync, "available_threads", lambda: n_threads)
    counts = np.zeros(n_threads + 2, np.int64)
    run_threads(_rounds, (counts, 20_000, -1), n_threads)
    assert np.all(counts[:n_threads] == 20_000)
    assert counts[n_threads] == n_threads * 20_000
    assert counts[n_threads + 1] == 0


def test_an_exception_in_one_thread_is_raised_and_releases_the_other(monkeypatch):
    import skebm._kernels._sync as sync

    # two threads even under NUMBA_NUM_THREADS=1 (the failure is planted in
    # thread 1)
    monkeypatch.setattr(sync, "available_threads", lambda: 2)
    counts = np.zeros(4, np.int64)
    done = []
    worker = threading.Thread(
        target=lambda: done.append(
            pytest.raises(ValueError, run_threads, _rounds, (counts, 1000, 5), 2)
        ),
        daemon=True,
    )
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "the other thread stayed in its barrier"
    assert "planted failure" in str(done[0].value)
    assert counts[0] <= 6  # thread 0 left at the round where thread 1 failed


def test_available_threads_follows_numba_num_threads(monkeypatch):
    import numba

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 1)
    assert available_threads() == 1


def test_blocks_depend_on_shapes_only():
    assert epoch_blocks(10, 10, 64, 100) == 1  # digits, batch 10
    assert epoch_blocks(10, 10, 784, 500) == 2  # MNIST shape, batch 10
    assert epoch_blocks(1000, 1000, 64, 100) == 2


def _problem(rng, gaussian, n=157, n_visible=37, n_hidden=23, batch=20):
    if gaussian:
        X = rng.normal(size=(n, n_visible))
    else:
        X = (rng.random((n, n_visible)) < 0.3).astype(float)
    params = {
        "W": 0.05 * rng.normal(size=(n_hidden, n_visible)),
        "b": 0.1 * rng.normal(size=n_visible),
        "c": 0.1 * rng.normal(size=n_hidden),
        "log_sigma": 0.1 * rng.normal(size=n_visible),
        "W_velocity": 0.01 * rng.normal(size=(n_hidden, n_visible)),
        "b_velocity": np.zeros(n_visible),
        "c_velocity": np.zeros(n_hidden),
        "log_sigma_velocity": np.zeros(n_visible),
        "h_samples": (rng.random((batch, n_hidden)) < 0.5).astype(float),
        "rng": seed_state(3, batch),
    }
    bounds = np.r_[np.arange(0, n, batch), n].astype(np.int64)
    return X, params, bounds


def _epoch(X, params, bounds, mode, n_blocks, n_threads):
    k, persistent, gaussian, learn_sigma, momentum = mode
    p = {key: value.copy() for key, value in params.items()}
    gauss = None
    if gaussian:
        gauss = GaussianVisible(
            p["log_sigma"], learn_sigma, np.full(X.shape[1], -1.0),
            p["log_sigma_velocity"], 0.1,
        )  # fmt: skip
    rbm_epoch(
        X,
        bounds,
        (p["W"], p["b"], p["c"]),
        (p["h_samples"], p["rng"]),
        learning_rate=0.05,
        momentum=momentum,
        weight_decay=0.001,
        n_gibbs_steps=k,
        persistent=persistent,
        velocity=(p["W_velocity"], p["b_velocity"], p["c_velocity"]),
        gaussian=gauss,
        n_blocks=n_blocks,
        n_threads=n_threads,
    )
    return p


_MODES = [  # k, persistent, gaussian, learn_sigma, momentum
    (1, True, False, False, 0.0),
    (3, True, False, False, 0.5),
    (2, False, False, False, 0.0),
    (1, True, True, False, 0.0),
    (2, False, True, True, 0.9),
    (1, True, True, True, 0.0),
]


@pytest.mark.parametrize("mode", _MODES)
def test_two_threads_give_the_bits_of_one(mode):
    X, params, bounds = _problem(np.random.default_rng(0), gaussian=mode[2])
    one = _epoch(X, params, bounds, mode, n_blocks=2, n_threads=1)
    two = _epoch(X, params, bounds, mode, n_blocks=2, n_threads=2)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    # ... and the epoch did something
    assert not np.array_equal(one["W"], params["W"])


@pytest.mark.parametrize("mode", _MODES)
def test_two_blocks_compute_the_same_epoch_as_one(mode):
    X, params, bounds = _problem(np.random.default_rng(1), gaussian=mode[2])
    whole = _epoch(X, params, bounds, mode, n_blocks=1, n_threads=1)
    split = _epoch(X, params, bounds, mode, n_blocks=2, n_threads=2)
    for key in whole:
        # the same random draws; only BLAS rounding of the split products
        # differs, so parameters agree to rounding and samples exactly
        np.testing.assert_allclose(split[key], whole[key], rtol=1e-10, atol=1e-13,
                                   err_msg=key)  # fmt: skip


def test_joblib_workers_share_the_cores():
    # joblib's process workers set NUMBA_NUM_THREADS to cores // n_jobs, so
    # a grid search with n_jobs=2 does not run 2 x 2 spinning threads.
    from joblib import Parallel, cpu_count, delayed

    got = Parallel(n_jobs=2)(delayed(available_threads)() for _ in range(2))
    assert got == [max(1, cpu_count() // 2)] * 2


def test_concurrent_kernels_share_the_threads(monkeypatch):
    import time

    import skebm._kernels._sync as sync

    monkeypatch.setattr(sync, "available_threads", lambda: 2)
    granted = []

    def kernel(tid, n_threads, sync_state):  # any callable will do
        if tid == 0:
            granted.append(n_threads)
        time.sleep(0.3)

    callers = [
        threading.Thread(target=run_threads, args=(kernel, (), 2)) for _ in range(2)
    ]
    for caller in callers:
        caller.start()
        time.sleep(0.05)  # the second starts while the first still runs
    for caller in callers:
        caller.join()
    # two threads for the first, one for the second: two cores, not four
    assert sorted(granted) == [1, 2]
    assert sync._EXTRA_IN_USE == 0
    run_threads(kernel, (), 2)
    assert granted[-1] == 2  # released again


def test_epoch_rejects_zero_blocks():
    X, params, bounds = _problem(np.random.default_rng(0), gaussian=False)
    with pytest.raises(ValueError, match="n_blocks"):
        _epoch(X, params, bounds, _MODES[0], n_blocks=0, n_threads=1)


def test_blas_pinning_reaches_the_kernels_blas():
    # numba's products call SciPy's BLAS through scipy.linalg.cython_blas,
    # which may load only after skebm created its threadpool controller.
    import subprocess
    import sys

    code = (
        "import skebm._base as base\n"
        "with base.single_threaded_blas():\n"
        "    import scipy.linalg.cython_blas\n"
        "    from threadpoolctl import threadpool_info\n"
        "    blas = [i for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "    print(len(blas), max(i['num_threads'] for i in blas))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert int(out[0]) >= 1 and int(out[1]) == 1


@pytest.mark.parametrize("gaussian", [False, True])
def test_inference_on_two_threads_gives_the_bits_of_one(monkeypatch, gaussian):
    # transform and free_energy split rows into fixed blocks of 1024
    from scipy.special import expit

    import skebm._kernels._sync as sync
    from skebm import BernoulliRBM, GaussianBernoulliRBM

    rng = np.random.default_rng(0)
    if gaussian:
        X = rng.normal(size=(2600, 12))
        est = GaussianBernoulliRBM(n_components=7, n_iter=2, learn_sigma=True)
    else:
        X = (rng.random((2600, 12)) < 0.3).astype(float)
        est = BernoulliRBM(n_components=7, n_iter=2)
    est.set_params(random_state=0, log_partition=None).fit(X)
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(sync, "available_threads", lambda n=n: n)
        out[n] = (est.transform(X), est.free_energy(X))
    for one, two in zip(out[1], out[2]):
        np.testing.assert_array_equal(one, two)
    Xs = X / est.sigma_ if gaussian else X
    expected = expit(Xs @ est.components_.T + est.intercept_hidden_)
    np.testing.assert_allclose(out[2][0], expected, rtol=1e-12, atol=1e-15)
    # float32 rows of a float64 model: float64 out, as scikit-learn's
    assert est.transform(X.astype(np.float32)).dtype == np.float64


@pytest.mark.parametrize("gaussian", [False, True])
def test_ais_on_two_threads_gives_the_bits_of_one(gaussian):
    from skebm._kernels._ais import rbm_ais

    rng = np.random.default_rng(0)
    W = rng.normal(0, 0.3, (9, 7))
    b, c = rng.normal(size=7), rng.normal(size=9)
    eta, precision = rng.normal(size=7), np.full(7, 1.0 if gaussian else 0.0) + 0.5
    betas = np.linspace(0.0, 1.0, 50)
    runs = [
        rbm_ais(W, b, c, eta, precision, betas, seed_state(4, 31), gaussian, n)
        for n in (1, 2)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.all(np.isfinite(runs[0])) and np.ptp(runs[0]) > 0


def test_boltzmann_ais_on_two_threads_gives_the_bits_of_one():
    from skebm._kernels._boltzmann import bm_ais

    rng = np.random.default_rng(1)
    W = np.triu(rng.normal(0, 0.4, (11, 11)), 1)
    W = W + W.T
    b, base = rng.normal(size=11), rng.normal(size=11)
    betas = np.linspace(0.0, 1.0, 60)
    runs = [bm_ais(W, b, base, betas, seed_state(2, 25), n) for n in (1, 2)]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.all(np.isfinite(runs[0])) and np.ptp(runs[0]) > 0


@pytest.mark.parametrize("gaussian", [False, True])
def test_gibbs_sampling_on_two_threads_gives_the_bits_of_one(monkeypatch, gaussian):
    import skebm._kernels._sync as sync
    from skebm import BernoulliRBM, GaussianBernoulliRBM

    rng = np.random.default_rng(3)
    if gaussian:
        X = rng.normal(size=(300, 6))
        est = GaussianBernoulliRBM(n_components=5, n_iter=2)
    else:
        X = (rng.random((300, 6)) < 0.4).astype(float)
        est = BernoulliRBM(n_components=5, n_iter=2)
    est.set_params(random_state=0, log_partition=None).fit(X)
    state = est.random_state_.get_state()
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(sync, "available_threads", lambda n=n: n)
        est.random_state_.set_state(state)
        # 300 rows: three blocks of the row-parallel sampler
        out[n] = (est.sample(300, n_steps=5, random_state=1), est.gibbs(X))
    for one, two in zip(out[1], out[2]):
        np.testing.assert_array_equal(one, two)


def _sml_run(n_blocks, n_threads, mean_field, momentum):
    """Two SML epochs of a machine with 6 visible and 4 hidden units."""
    from skebm._kernels._boltzmann_train import bm_sml_epoch

    rng = np.random.default_rng(5)
    n_visible, n = 6, 10
    X = (rng.random((47, n_visible)) < 0.4).astype(float)
    W = np.triu(rng.normal(0, 0.3, (n, n)), 1)
    W, b = W + W.T, rng.normal(0, 0.3, n)
    velocity = (np.zeros((n, n)), np.zeros(n))
    chains = (rng.random((7, n)) < 0.5).astype(float)
    state = seed_state(6, 10)
    bounds = np.array([0, 10, 20, 30, 40, 47])
    for _ in range(2):
        bm_sml_epoch(X, bounds, W, b, *velocity, chains, state, 0.1, momentum,
                     0.01, 3, 4, mean_field, n_blocks=n_blocks,
                     n_threads=n_threads)  # fmt: skip
    return {"W": W, "b": b, "chains": chains, "state": state, "velocity": velocity[0]}


@pytest.mark.parametrize("mean_field", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_boltzmann_sml_on_two_threads_gives_the_bits_of_one(
    monkeypatch, mean_field, momentum
):
    import skebm._kernels._sync as sync

    # two threads even where NUMBA_NUM_THREADS=1 or one CPU would grant one
    monkeypatch.setattr(sync, "available_threads", lambda: 2)
    one = _sml_run(2, 1, mean_field, momentum)
    two = _sml_run(2, 2, mean_field, momentum)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    np.testing.assert_array_equal(two["W"], two["W"].T)  # still symmetric
    whole = _sml_run(1, 1, mean_field, momentum)
    # one block: the same draws, only the split products' BLAS rounding
    # differs, so parameters agree to rounding and the chains exactly
    np.testing.assert_array_equal(whole["chains"], two["chains"])
    np.testing.assert_allclose(whole["W"], two["W"], rtol=1e-12, atol=1e-14)


def test_boltzmann_sampling_on_two_threads_gives_the_bits_of_one(monkeypatch):
    import skebm._kernels._boltzmann as kernels
    import skebm._kernels._sync as sync
    from skebm import BoltzmannMachine

    rng = np.random.default_rng(7)
    X = (rng.random((60, 8)) < 0.4).astype(float)
    est = BoltzmannMachine(n_hidden=3, n_iter=2, random_state=0).fit(X)
    monkeypatch.setattr(kernels, "_GIBBS_THREAD_WORK", 0)  # threads even if small
    out = {}
    for n in (1, 2):
        monkeypatch.setattr(sync, "available_threads", lambda n=n: n)
        out[n] = est.sample(9, n_steps=20, random_state=2)
    np.testing.assert_array_equal(out[1], out[2])
    assert 0 < out[1].mean() < 1


def test_boltzmann_sml_rejects_more_than_two_blocks():
    with pytest.raises(ValueError, match="n_blocks must be 1 or 2"):
        _sml_run(3, 2, True, 0.0)
