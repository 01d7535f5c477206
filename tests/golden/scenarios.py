"""Fixed-seed scenarios whose outputs are recorded in ``outputs.npz``.

Each scenario builds small data, fits public skebm estimators (or calls the
public functions of :mod:`skebm.partition`) with fixed seeds and returns
every output worth guarding: fitted parameters, ``history_`` (without the
wall-clock ``time``), transforms, scores, samples, predictions and
log-partition values. ``record.py`` saves them; ``tests/test_golden.py``
recomputes them and compares.

Only the public API is used, so the scenarios keep working while the
kernel layer (``skebm._kernels``) is refactored underneath them.

Use :func:`run` (one scenario, optionally with the kernels' thread count
forced) and :data:`SCENARIOS` (name -> function, in recording order).
"""

import contextlib
import functools
import warnings

import numpy as np
import scipy.sparse as sp

#: Separates the scenario name from the output name in ``outputs.npz`` keys.
SEP = "/"

#: name -> function(out), filled by the ``@scenario`` decorator.
SCENARIOS = {}


class Outputs(dict):
    """A scenario's outputs: output name -> ndarray (an exact copy).

    ``discrete`` holds the names of outputs made of discrete draws or
    labels (binary samples, class labels, recalled binary states, counts):
    when the environment differs from the recorded one they are compared
    by the fraction of equal entries instead of a relative tolerance.
    Integer and boolean arrays always count as discrete.
    """

    def __init__(self):
        super().__init__()
        self.discrete = set()

    def add(self, name, value, *, discrete=False):
        if name in self:
            raise KeyError(f"output {name!r} recorded twice")
        if SEP in name:
            raise ValueError(f"output names may not contain {SEP!r}: {name!r}")
        array = np.array(value, copy=True)
        if array.dtype == object:
            raise TypeError(f"output {name!r} is not a numeric or string array")
        self[name] = array
        if discrete or array.dtype.kind in "biu":
            self.discrete.add(name)


def scenario(function):
    """Register ``function(out)`` under its name."""
    if function.__name__ in SCENARIOS:
        raise ValueError(f"duplicate scenario {function.__name__!r}")
    SCENARIOS[function.__name__] = function
    return function


# ---------------------------------------------------------------- threads
def max_threads():
    """Most threads the kernels may use in this process (the public knobs:
    ``NUMBA_NUM_THREADS`` and the CPUs available to the process)."""
    import numba
    from joblib import cpu_count

    return max(1, min(int(numba.config.NUMBA_NUM_THREADS), cpu_count()))


@contextlib.contextmanager
def forced_threads(n_threads):
    """Run the kernels on at most ``n_threads`` threads (None: unchanged).

    skebm has no ``n_jobs`` parameter: its kernels use as many threads as
    ``NUMBA_NUM_THREADS`` and the CPU count allow (results must not depend
    on it). The setting is lowered for the duration, never raised above
    numba's own value.
    """
    if n_threads is None:
        yield
        return
    import numba

    if n_threads > max_threads():
        raise RuntimeError(
            f"cannot force {n_threads} threads: at most {max_threads()} here"
        )
    old = numba.config.NUMBA_NUM_THREADS
    numba.config.NUMBA_NUM_THREADS = int(n_threads)
    try:
        yield
    finally:
        numba.config.NUMBA_NUM_THREADS = old


def run(name, n_threads=None):
    """Outputs of scenario ``name`` (an :class:`Outputs`)."""
    out = Outputs()
    with forced_threads(n_threads), warnings.catch_warnings():
        # convergence and "non-binary rows" warnings are not under test here
        warnings.simplefilter("ignore")
        SCENARIOS[name](out)
    return out


def run_all(n_threads=None):
    """``{"scenario/output": array}`` for every scenario."""
    arrays = {}
    for name in SCENARIOS:
        for key, value in run(name, n_threads).items():
            arrays[f"{name}{SEP}{key}"] = value
    return arrays


# ------------------------------------------------------------------- data
@functools.lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def digits_binary():
    """The 1797 digits images thresholded to {0, 1} (float64, 64 pixels)."""
    return (_digits()[0] > 7).astype(np.float64)


def digits_grey():
    """The digits images scaled into [0, 1] (float64, 64 pixels)."""
    return _digits()[0] / 16.0


def digits_labels():
    return np.array(_digits()[1])


def random_binary(seed, n, d, p=0.3):
    """Bernoulli(p) {0, 1} data (float64) with a little structure: column
    ``j`` copies column ``j - 1`` in about half the rows."""
    rng = np.random.RandomState(seed)
    X = (rng.uniform(size=(n, d)) < p).astype(np.float64)
    copy = rng.uniform(size=(n, d)) < 0.5
    X[:, 1:] = np.where(copy[:, 1:], X[:, :-1], X[:, 1:])
    return X


def random_gaussian(seed, n, d):
    """Correlated real-valued data with feature-dependent means and scales,
    built with elementwise operations only (no BLAS, so the inputs are the
    same bits everywhere)."""
    rng = np.random.RandomState(seed)
    Z = rng.normal(size=(n, d))
    scale = np.linspace(0.5, 2.0, d)
    offset = np.linspace(-1.0, 1.0, d)
    X = Z.copy()
    X[:, 1:] += 0.6 * Z[:, :-1]
    return X * scale + offset


def bipolar_patterns(seed, n, d):
    rng = np.random.RandomState(seed)
    return np.where(rng.uniform(size=(n, d)) < 0.5, -1.0, 1.0)


def corrupt(P, seed, fraction, bipolar):
    """Copies of the rows of P with a ``fraction`` of their units flipped."""
    rng = np.random.RandomState(seed)
    flip = rng.uniform(size=P.shape) < fraction
    flipped = -P if bipolar else 1.0 - P
    return np.where(flip, flipped, P)


# ------------------------------------------------------------ recording
def _history(out, est, prefix=""):
    for key, value in est.history_.items():
        if key != "time":  # wall clock
            out.add(f"{prefix}history_.{key}", value)


def _rbm_state(out, est, prefix=""):
    out.add(prefix + "components_", est.components_)
    out.add(prefix + "intercept_hidden_", est.intercept_hidden_)
    out.add(prefix + "intercept_visible_", est.intercept_visible_)
    if hasattr(est, "sigma_"):
        out.add(prefix + "sigma_", est.sigma_)
    out.add(prefix + "h_samples_", est.h_samples_, discrete=True)
    out.add(prefix + "n_iter_", est.n_iter_)
    best = getattr(est, "best_epoch_", None)
    out.add(prefix + "best_epoch_", -1 if best is None else best)
    _history(out, est, prefix)


def _log_z(out, est, prefix=""):
    out.add(prefix + "log_partition_", est.log_partition_)
    out.add(prefix + "log_partition_stderr_", est.log_partition_stderr_)
    out.add(prefix + "log_partition_method_", est.log_partition_method_)


# ------------------------------------------------------------ BernoulliRBM
@scenario
def rbm_default(out):
    """Default hyperparameters (PCD-1, lr 0.1, batch 10) at a small size;
    exact log Z; transform/free_energy over all 1797 digits (two row
    blocks); 150 sampling chains (two Gibbs row blocks); partial_fit."""
    from skebm import BernoulliRBM

    full = digits_binary()
    X = full[:300]
    est = BernoulliRBM(n_components=16, n_iter=3, random_state=0).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(full))
    out.add("free_energy", est.free_energy(full))
    out.add("score_samples", est.score_samples(full[:100]))
    out.add("score", est.score(full[300:400]))
    _log_z(out, est)
    out.add("sample", est.sample(150, n_steps=30, random_state=1), discrete=True)
    out.add("sample_own_seed", est.sample(3, n_steps=5), discrete=True)
    out.add("gibbs_1", est.gibbs(X[:20]))
    out.add("gibbs_2", est.gibbs(X[:20]))
    est.partial_fit(X[:150])
    _rbm_state(out, est, "partial_fit.")
    out.add("partial_fit.free_energy", est.free_energy(full[:50]))
    _log_z(out, est, "partial_fit.")


@scenario
def rbm_momentum_decay(out):
    """momentum and weight_decay (velocities carried into partial_fit);
    uneven minibatches (batch_size=17)."""
    from skebm import BernoulliRBM

    X = digits_binary()[300:600]
    est = BernoulliRBM(
        n_components=12,
        learning_rate=0.05,
        batch_size=17,
        n_iter=3,
        momentum=0.6,
        weight_decay=1e-3,
        random_state=1,
    ).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:40]))
    out.add("score_samples", est.score_samples(X[:40]))
    _log_z(out, est)
    est.partial_fit(X)
    _rbm_state(out, est, "partial_fit.")
    out.add("partial_fit.transform", est.transform(X[:40]))


@scenario
def rbm_cd_k3(out):
    """Non-persistent CD-3 on random binary data."""
    from skebm import BernoulliRBM

    X = random_binary(0, 250, 20)
    est = BernoulliRBM(
        n_components=10, n_iter=3, k=3, persistent=False, random_state=2
    ).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:30]))
    out.add("free_energy", est.free_energy(X[:30]))
    out.add("score_samples", est.score_samples(X[:30]))
    _log_z(out, est)
    out.add("sample", est.sample(10, n_steps=20, random_state=3), discrete=True)
    out.add("gibbs", est.gibbs(X[:10]))
    est.partial_fit(X[:100])
    _rbm_state(out, est, "partial_fit.")


@scenario
def rbm_pcd_k2_chains(out):
    """PCD-2 with n_chains=7 independent of batch_size=13, then partial_fit
    after n_chains changed to 12 (the chains are resized)."""
    from skebm import BernoulliRBM

    X = digits_binary()[600:900]
    est = BernoulliRBM(
        n_components=10, batch_size=13, n_iter=3, k=2, n_chains=7, random_state=3
    ).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:30]))
    out.add("score_samples", est.score_samples(X[:30]))
    _log_z(out, est)
    out.add("sample", est.sample(12, n_steps=25, random_state=4), discrete=True)
    est.set_params(n_chains=12).partial_fit(X[:130])
    _rbm_state(out, est, "partial_fit.")


@scenario
def rbm_parallel_tempering(out):
    """sampler="pt": 6 chains at each of 4 temperatures, PCD-2 (swaps after
    both Gibbs steps), swap rates in history_; partial_fit continues."""
    from skebm import BernoulliRBM

    X = digits_binary()[900:1200]
    est = BernoulliRBM(n_components=10, batch_size=15, n_iter=3, k=2, n_chains=6,
                       sampler="pt", n_temperatures=4, random_state=5)  # fmt: skip
    est.fit(X)
    _rbm_state(out, est)
    out.add("score_samples", est.score_samples(X[:30]))
    est.partial_fit(X[:100])
    _rbm_state(out, est, "partial_fit.")


@scenario
def gaussian_parallel_tempering_two_blocks(out):
    """sampler="pt" with learned sigma at shapes that split the epoch
    kernel in two blocks ((100 + 3 * 40) * 64 * 160 >= 2**21)."""
    from skebm import GaussianBernoulliRBM

    X = random_gaussian(11, 300, 64)
    est = GaussianBernoulliRBM(n_components=160, batch_size=100, n_iter=2,
                               n_chains=40, sampler="pt", n_temperatures=3,
                               learn_sigma=True, learning_rate=0.01,
                               log_partition=None, random_state=6)  # fmt: skip
    est.fit(X)
    _rbm_state(out, est)


@scenario
def rbm_sparse(out):
    """CSR training data (grey values in [0, 1] as probabilities); sparse
    and CSC input to transform, free_energy, score_samples and gibbs."""
    from skebm import BernoulliRBM

    Xs = sp.csr_matrix(digits_grey()[:300])
    B = sp.csr_matrix(digits_binary()[:40])
    est = BernoulliRBM(n_components=16, batch_size=20, n_iter=2, random_state=0).fit(Xs)
    _rbm_state(out, est)
    out.add("transform_csr", est.transform(Xs[:50]))
    out.add("transform_csc", est.transform(sp.csc_matrix(Xs[50:80])))
    out.add("free_energy_csr", est.free_energy(Xs))
    out.add("score_samples_csr", est.score_samples(B))
    _log_z(out, est)
    out.add("gibbs_csr", est.gibbs(B[:10]))
    est.partial_fit(Xs[:100])
    _rbm_state(out, est, "partial_fit.")


@scenario
def rbm_float32(out):
    """float32 training (float32 parameters and outputs); float64 rows
    given to the float32 model."""
    from skebm import BernoulliRBM

    X = digits_grey()[:300].astype(np.float32)
    B = digits_binary()[:40]
    est = BernoulliRBM(n_components=16, n_iter=3, momentum=0.3, random_state=4).fit(X)
    _rbm_state(out, est)
    out.add("transform_32", est.transform(X[:40]))
    out.add("transform_64", est.transform(B))
    out.add("free_energy_32", est.free_energy(B.astype(np.float32)))
    out.add("score_samples_32", est.score_samples(B.astype(np.float32)))
    _log_z(out, est)
    out.add("sample", est.sample(10, n_steps=20, random_state=5), discrete=True)
    out.add("gibbs", est.gibbs(B[:10].astype(np.float32)))
    est.partial_fit(X[:100])
    _rbm_state(out, est, "partial_fit.")


@scenario
def rbm_two_blocks(out):
    """Shapes large enough for the epoch kernel to split every product into
    two column blocks ((100 + 100) * 64 * 200 >= 2**21); AIS log Z."""
    from skebm import BernoulliRBM

    X = digits_binary()[:300]
    est = BernoulliRBM(
        n_components=200,
        batch_size=100,
        n_iter=2,
        random_state=5,
        log_partition="ais",
        n_ais_chains=16,
        n_ais_temperatures=50,
    ).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:30]))
    out.add("free_energy", est.free_energy(X))
    out.add("score_samples", est.score_samples(X[:30]))
    _log_z(out, est)
    out.add("sample", est.sample(8, n_steps=10, random_state=6), discrete=True)


@scenario
def rbm_early_stopping(out):
    """early_stopping with an exactly tracked held-out log-likelihood
    (validation_log_likelihood in history_, best_epoch_)."""
    from skebm import BernoulliRBM

    X = digits_binary()[:400]
    est = BernoulliRBM(
        n_components=12,
        n_iter=8,
        learning_rate=0.2,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=2,
        random_state=6,
    ).fit(X)
    _rbm_state(out, est)
    out.add("score_samples", est.score_samples(X[:30]))
    _log_z(out, est)


@scenario
def rbm_auto_ais(out):
    """log_partition="auto" choosing AIS (smaller layer of 30 > 20 units)."""
    from skebm import BernoulliRBM

    X = digits_binary()[900:1100]
    est = BernoulliRBM(
        n_components=30,
        n_iter=2,
        random_state=7,
        n_ais_chains=20,
        n_ais_temperatures=100,
    ).fit(X)
    _rbm_state(out, est)
    out.add("score_samples", est.score_samples(X[:30]))
    _log_z(out, est)


# ---------------------------------------------------- GaussianBernoulliRBM
@scenario
def gaussian_fixed_sigma(out):
    """Gaussian visible units, sigma fixed at 1; exact log Z."""
    from skebm import GaussianBernoulliRBM

    X = random_gaussian(0, 300, 10)
    est = GaussianBernoulliRBM(n_components=8, n_iter=3, random_state=0).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:40]))
    out.add("free_energy", est.free_energy(X[:40]))
    out.add("score_samples", est.score_samples(X[:40]))
    out.add("score", est.score(X))
    _log_z(out, est)
    out.add("sample", est.sample(10, n_steps=20, random_state=1))
    out.add("gibbs_1", est.gibbs(X[:10]))
    out.add("gibbs_2", est.gibbs(X[:10]))
    est.partial_fit(X[:100])
    _rbm_state(out, est, "partial_fit.")
    out.add("partial_fit.score_samples", est.score_samples(X[:40]))


@scenario
def gaussian_learn_sigma_two_blocks(out):
    """learn_sigma=True at shapes that split the epoch kernel in two blocks
    ((100 + 100) * 64 * 170 >= 2**21); Gaussian AIS log Z."""
    from skebm import GaussianBernoulliRBM

    X = random_gaussian(1, 300, 64)
    est = GaussianBernoulliRBM(
        n_components=170,
        batch_size=100,
        n_iter=2,
        learn_sigma=True,
        random_state=2,
        n_ais_chains=16,
        n_ais_temperatures=50,
    ).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:20]))
    out.add("free_energy", est.free_energy(X))
    out.add("score_samples", est.score_samples(X[:20]))
    _log_z(out, est)
    out.add("sample", est.sample(5, n_steps=10, random_state=3))


@scenario
def gaussian_cd_momentum(out):
    """CD-2 (non-persistent), learn_sigma, momentum and weight decay; sparse
    input to transform, free_energy and gibbs."""
    from skebm import GaussianBernoulliRBM

    X = random_gaussian(2, 250, 12)
    est = GaussianBernoulliRBM(
        n_components=6,
        n_iter=3,
        k=2,
        persistent=False,
        learn_sigma=True,
        momentum=0.5,
        weight_decay=1e-3,
        random_state=4,
    ).fit(X)
    _rbm_state(out, est)
    Xs = sp.csr_matrix(np.where(np.abs(X[:30]) < 0.5, 0.0, X[:30]))
    out.add("transform", est.transform(X[:30]))
    out.add("transform_csr", est.transform(Xs))
    out.add("free_energy", est.free_energy(X[:30]))
    out.add("free_energy_csr", est.free_energy(Xs))
    out.add("score_samples", est.score_samples(X[:30]))
    _log_z(out, est)
    out.add("sample", est.sample(6, n_steps=15, random_state=5))
    out.add("gibbs_csr", est.gibbs(Xs[:8]))
    est.partial_fit(X[:120])
    _rbm_state(out, est, "partial_fit.")


@scenario
def gaussian_early_stopping_ais(out):
    """early_stopping of a Gaussian RBM whose held-out log Z is tracked by
    AIS (24 hidden units)."""
    from skebm import GaussianBernoulliRBM

    X = random_gaussian(3, 300, 8)
    est = GaussianBernoulliRBM(
        n_components=24,
        n_iter=4,
        early_stopping=True,
        n_iter_no_change=2,
        learn_sigma=True,
        random_state=6,
        log_partition=None,
    ).fit(X)
    _rbm_state(out, est)
    out.add("transform", est.transform(X[:20]))


# ----------------------------------------------------------- CategoricalRBM
def random_codes(seed, n, sizes):
    """Category codes (float64) of features with ``sizes`` categories;
    feature ``j`` repeats feature ``j - 1`` (modulo its size) in about half
    the rows, so the features depend on each other."""
    rng = np.random.RandomState(seed)
    X = np.stack([rng.randint(0, k, n) for k in sizes], axis=1)
    copy = rng.uniform(size=(n, len(sizes))) < 0.5
    for j in range(1, len(sizes)):
        X[:, j] = np.where(copy[:, j], X[:, j - 1] % sizes[j], X[:, j])
    return X.astype(np.float64)


@scenario
def categorical_default(out):
    """Softmax visible groups: default PCD-1 at a small size, exact log Z;
    transform/free_energy/score_samples; sampling, gibbs, reconstruct and
    sample_conditional (codes); partial_fit; then CD-3 with momentum and
    log Z by AIS."""
    from skebm import CategoricalRBM

    sizes = (3, 2, 4, 5, 3)
    X = random_codes(0, 300, sizes)
    est = CategoricalRBM(n_components=12, n_iter=3, random_state=0).fit(X)
    _rbm_state(out, est)
    out.add("n_categories_", est.n_categories_)
    out.add("transform", est.transform(X))
    out.add("free_energy", est.free_energy(X))
    out.add("score_samples", est.score_samples(X[:100]))
    _log_z(out, est)
    out.add("sample", est.sample(150, n_steps=30, random_state=1), discrete=True)
    out.add("gibbs_1", est.gibbs(X[:20]), discrete=True)
    out.add("gibbs_2", est.gibbs(X[:20]), discrete=True)
    clamp = np.arange(X[:40].size).reshape(40, -1) % 3 > 0
    out.add("reconstruct", est.reconstruct(X[:40], n_steps=3, clamp=clamp),
            discrete=True)  # fmt: skip
    out.add("sample_conditional",
            est.sample_conditional(X[:40], clamp, n_steps=10, random_state=2),
            discrete=True)  # fmt: skip
    est.partial_fit(X[:150])
    _rbm_state(out, est, "partial_fit.")
    cd = CategoricalRBM(n_components=24, n_iter=2, k=3, persistent=False,
                        momentum=0.5, log_partition="ais", n_ais_chains=20,
                        n_ais_temperatures=50, random_state=3).fit(X)  # fmt: skip
    _rbm_state(out, cd, "cd3.")
    _log_z(out, cd, "cd3.")


# -------------------------------------------------------- DeepBeliefNetwork
def _dbn_state(out, dbn, prefix=""):
    for i, rbm in enumerate(dbn.rbms_):
        _rbm_state(out, rbm, f"{prefix}rbms_[{i}].")


@scenario
def dbn_bernoulli(out):
    """Two Bernoulli layers: per-layer parameters, up-pass, sampling."""
    from skebm import DeepBeliefNetwork

    X = digits_grey()[:250]
    dbn = DeepBeliefNetwork((16, 8), n_iter=2, random_state=0).fit(X)
    _dbn_state(out, dbn)
    out.add("transform", dbn.transform(X[:40]))
    out.add("transform_csr", dbn.transform(sp.csr_matrix(X[40:60])))
    out.add("sample", dbn.sample(10, n_steps=20, random_state=1))


@scenario
def dbn_gaussian(out):
    """Gaussian first layer, CD-1, momentum, weight decay, fixed learning
    rate, float32 data."""
    from skebm import DeepBeliefNetwork

    X = random_gaussian(4, 250, 10).astype(np.float32)
    dbn = DeepBeliefNetwork(
        (8, 4),
        visible="gaussian",
        learning_rate=0.02,
        batch_size=25,
        n_iter=3,
        persistent=False,
        momentum=0.5,
        weight_decay=1e-3,
        random_state=1,
    ).fit(X)
    _dbn_state(out, dbn)
    out.add("transform", dbn.transform(X[:40]))
    out.add("sample", dbn.sample(8, n_steps=10, random_state=2))
    out.add("sample_own_seed", dbn.sample(2, n_steps=5))


# ----------------------------------------------------------- DBNClassifier
def _classifier_state(out, clf, X):
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        out.add(f"coefs_[{i}]", W)
        out.add(f"intercepts_[{i}]", b)
    out.add("loss_curve_", clf.loss_curve_)
    out.add("n_iter_", clf.n_iter_)
    out.add("classes_", clf.classes_)
    if clf.best_loss_ is not None:
        out.add("best_loss_", clf.best_loss_)
    if clf.validation_scores_ is not None:
        out.add("validation_scores_", clf.validation_scores_)
        out.add("best_validation_score_", clf.best_validation_score_)
    if clf.dbn_ is not None:
        _dbn_state(out, clf.dbn_, "dbn_.")
    out.add("predict_proba", clf.predict_proba(X))
    out.add("predict_log_proba", clf.predict_log_proba(X))
    out.add("predict", clf.predict(X), discrete=True)


@scenario
def dbn_classifier(out):
    """Pretraining (one layer, PCD-1), then Adam fine-tuning."""
    from skebm import DBNClassifier

    X, y = digits_grey()[:300], digits_labels()[:300]
    clf = DBNClassifier(
        hidden_layer_sizes=(16,),
        pretrain_n_iter=2,
        learning_rate_init=0.03,
        max_iter=30,
        random_state=0,
    ).fit(X, y)
    _classifier_state(out, clf, digits_grey()[300:400])
    out.add("score", clf.score(digits_grey()[300:400], digits_labels()[300:400]))


@scenario
def dbn_classifier_sgd_early_stopping(out):
    """Two pretrained layers (CD-1, momentum) with unlabelled rows, SGD with
    momentum, early stopping on a validation split (stops at epoch 16 of
    30 and restores the best epoch), string labels."""
    from skebm import DBNClassifier

    X, y = digits_grey()[:240], digits_labels()[:240]
    labels = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    clf = DBNClassifier(
        hidden_layer_sizes=(12, 8),
        pretrain_n_iter=2,
        pretrain_persistent=False,
        pretrain_momentum=0.5,
        pretrain_batch_size=20,
        solver="sgd",
        learning_rate_init=1.0,
        batch_size=32,
        max_iter=30,
        early_stopping=True,
        n_iter_no_change=4,
        random_state=1,
    ).fit(X, labels, X_unlabeled=digits_grey()[240:400])
    _classifier_state(out, clf, digits_grey()[400:460])


@scenario
def dbn_classifier_gaussian_no_pretrain(out):
    """Gaussian visible layer with pretraining (sigma learned by the
    layer is folded into the first weights), and the same network with
    pretrain=False (Glorot initialisation)."""
    from skebm import DBNClassifier

    X = random_gaussian(5, 200, 6)
    y = (X[:, 0] + X[:, 3] > 0).astype(np.int64)
    clf = DBNClassifier(
        hidden_layer_sizes=(5,),
        visible="gaussian",
        pretrain_n_iter=2,
        learning_rate_init=0.05,
        max_iter=10,
        random_state=2,
    ).fit(X, y)
    _classifier_state(out, clf, X[:50])
    plain = DBNClassifier(
        hidden_layer_sizes=(5,),
        visible="gaussian",
        pretrain=False,
        learning_rate_init=0.05,
        max_iter=10,
        random_state=2,
    ).fit(X, y)
    out.add("no_pretrain.coefs_[0]", plain.coefs_[0])
    out.add("no_pretrain.loss_curve_", plain.loss_curve_)
    out.add("no_pretrain.predict_proba", plain.predict_proba(X[:50]))


# ---------------------------------------------------------- HopfieldNetwork
def _hopfield(out, net, P, probes, prefix="", *, discrete_states=True):
    out.add(prefix + "coef_", net.coef_)
    out.add(prefix + "patterns_", net.patterns_)
    out.add(prefix + "encoding_", net.encoding_)
    states, n_iter, converged = net.recall(probes, return_n_iter=True)
    out.add(prefix + "recall", states, discrete=discrete_states)
    out.add(prefix + "recall_n_iter", n_iter)
    out.add(prefix + "recall_converged", converged)
    out.add(prefix + "transform", net.transform(probes[:10]), discrete=True)
    out.add(prefix + "predict", net.predict(probes))
    out.add(prefix + "energy", net.energy(probes[:40]))
    out.add(prefix + "score_samples", net.score_samples(P))
    out.add(prefix + "score", net.score(probes))


@scenario
def hopfield_hebbian(out):
    """Hebbian rule, binary encoding, asynchronous recall of 300 probes
    (two probe blocks); few patterns (low-rank fields) and many patterns
    (integer counts), partial_fit, float32 probes."""
    from skebm import HopfieldNetwork

    P = (bipolar_patterns(0, 36, 64) + 1.0) / 2.0
    few, many = P[:5], P  # 2 * 5 < 64 <= 2 * 36
    probes = corrupt(np.tile(few, (60, 1)), 1, 0.15, bipolar=False)
    net = HopfieldNetwork(random_state=0).fit(few)
    _hopfield(out, net, few, probes, "few.")
    out.add("few.recall_32", net.recall(probes[:20].astype(np.float32)))
    net = HopfieldNetwork(random_state=1).fit(many)
    _hopfield(out, net, many, corrupt(many, 2, 0.1, bipolar=False), "many.")
    net = HopfieldNetwork(random_state=2).fit(P[:3]).partial_fit(P[3:8])
    _hopfield(out, net, P[:8], probes[:50], "partial_fit.")


@scenario
def hopfield_storkey(out):
    """Storkey rule, bipolar encoding, synchronous recall; partial_fit."""
    from skebm import HopfieldNetwork

    P = bipolar_patterns(3, 10, 40)
    probes = corrupt(np.tile(P, (5, 1)), 4, 0.1, bipolar=True)
    net = HopfieldNetwork("storkey", update="sync", random_state=3).fit(P[:6])
    net.partial_fit(P[6:])
    _hopfield(out, net, P, probes)
    async_net = HopfieldNetwork("storkey", random_state=4).fit(P)
    out.add("async.recall", async_net.recall(probes), discrete=True)


@scenario
def hopfield_pseudoinverse(out):
    """Pseudo-inverse rule; deterministic recall and stochastic (Glauber,
    temperature 0.5) recall for a fixed number of sweeps; partial_fit."""
    from skebm import HopfieldNetwork

    P = (bipolar_patterns(5, 12, 32) + 1.0) / 2.0
    probes = corrupt(np.tile(P, (4, 1)), 6, 0.12, bipolar=False)
    net = HopfieldNetwork("pseudoinverse", random_state=5).fit(P[:8])
    net.partial_fit(P[8:])
    _hopfield(out, net, P, probes)
    hot = HopfieldNetwork(
        "pseudoinverse", temperature=0.5, max_iter=20, random_state=6
    ).fit(P)
    states, n_iter, converged = hot.recall(probes, return_n_iter=True)
    out.add("hot.recall", states, discrete=True)
    out.add("hot.recall_n_iter", n_iter)
    out.add("hot.recall_converged", converged)
    hot_sync = HopfieldNetwork(
        "hebbian", update="sync", temperature=0.3, max_iter=10, random_state=7
    ).fit(P)
    out.add("hot_sync_hebbian.recall", hot_sync.recall(probes), discrete=True)


# ---------------------------------------------------- ModernHopfieldNetwork
@scenario
def modern_hopfield(out):
    """Softmax retrieval at two inverse temperatures, max_iter=1, float32
    queries, partial_fit."""
    from skebm import ModernHopfieldNetwork

    rng = np.random.RandomState(0)
    P = rng.normal(size=(20, 16))
    Q = P[np.arange(60) % 20] + 0.4 * rng.normal(size=(60, 16))
    for beta in (0.5, 4.0):
        net = ModernHopfieldNetwork(beta=beta).fit(P[:15]).partial_fit(P[15:])
        states, n_iter, converged = net.recall(Q, return_n_iter=True)
        tag = f"beta_{beta}."
        out.add(tag + "patterns_", net.patterns_)
        out.add(tag + "recall", states)
        out.add(tag + "recall_n_iter", n_iter)
        out.add(tag + "recall_converged", converged)
        out.add(tag + "predict", net.predict(Q))
        out.add(tag + "energy", net.energy(Q))
        out.add(tag + "score_samples", net.score_samples(P))
        out.add(tag + "score", net.score(Q))
    one = ModernHopfieldNetwork(beta=2.0, max_iter=1).fit(P)
    out.add("max_iter_1.transform", one.transform(Q))
    out.add("max_iter_1.transform_32", one.transform(Q.astype(np.float32)))
    net32 = ModernHopfieldNetwork(beta=1.0, tol=1e-4).fit(P.astype(np.float32))
    out.add("float32.recall", net32.recall(Q.astype(np.float32)))
    out.add("float32.energy", net32.energy(Q[:10]))


# -------------------------------------------------------- BoltzmannMachine
def _bm(out, bm, X, prefix="", *, sample_sweeps=30, n_samples=10, score=True):
    out.add(prefix + "coef_", bm.coef_)
    out.add(prefix + "intercept_", bm.intercept_)
    out.add(prefix + "chains_", bm.chains_, discrete=True)
    _history(out, bm, prefix)
    out.add(prefix + "transform", bm.transform(X[:30]))
    out.add(prefix + "energy", bm.energy(X[:30]))
    if score:
        out.add(prefix + "score_samples", bm.score_samples(X[:30]))
        _log_z(out, bm, prefix)
    sample = bm.sample(n_samples, n_steps=sample_sweeps, random_state=11)
    out.add(prefix + "sample", sample, discrete=True)


@scenario
def bm_visible_sml(out):
    """Fully visible machine (n_hidden=0) trained by SML; partial_fit."""
    from skebm import BoltzmannMachine

    X = random_binary(1, 200, 10)
    bm = BoltzmannMachine(n_iter=3, random_state=0).fit(X)
    _bm(out, bm, X)
    bm.partial_fit(X[:60])
    _bm(out, bm, X, "partial_fit.")


@scenario
def bm_pseudolikelihood(out):
    """Pseudo-likelihood gradient, momentum, weight decay."""
    from skebm import BoltzmannMachine

    X = random_binary(2, 200, 12)
    bm = BoltzmannMachine(
        method="pseudolikelihood",
        n_iter=4,
        momentum=0.5,
        weight_decay=1e-3,
        random_state=1,
    ).fit(X)
    _bm(out, bm, X)


@scenario
def bm_exact(out):
    """Exact likelihood gradient (enumerating 2**10 states), grey input."""
    from skebm import BoltzmannMachine

    X = random_binary(3, 150, 10)
    X[:, 0] = np.linspace(0.0, 1.0, 150)  # probabilities are accepted
    bm = BoltzmannMachine(method="exact", n_iter=3, random_state=2).fit(X)
    _bm(out, bm, np.round(X))


@scenario
def bm_hidden_mean_field(out):
    """Three hidden units, SML with mean-field positive phase, 2 sweeps."""
    from skebm import BoltzmannMachine

    X = random_binary(4, 200, 8)
    bm = BoltzmannMachine(n_hidden=3, n_sweeps=2, n_iter=3, random_state=3).fit(X)
    _bm(out, bm, X)
    bm.partial_fit(X[:50])
    _bm(out, bm, X, "partial_fit.")


@scenario
def bm_hidden_gibbs(out):
    """Hidden units with a Gibbs positive phase, n_chains=7, momentum,
    weight decay, sparse input, AIS log Z."""
    from skebm import BoltzmannMachine

    X = random_binary(5, 180, 8)
    bm = BoltzmannMachine(
        n_hidden=4,
        positive_phase="gibbs",
        n_positive_sweeps=3,
        n_chains=7,
        momentum=0.5,
        weight_decay=1e-3,
        n_iter=3,
        log_partition="ais",
        n_ais_chains=20,
        n_ais_temperatures=100,
        random_state=4,
    ).fit(sp.csr_matrix(X))
    _bm(out, bm, X)


@scenario
def bm_two_blocks(out):
    """64 visible units with batch 32: the SML kernel splits rows, chains
    and weight rows into two blocks ((32 + 32) * 64**2 >= 2**18); sampling
    large enough for two Gibbs threads (64 * 64 * 256 >= 2**20); AIS."""
    from skebm import BoltzmannMachine

    X = digits_binary()[:192]
    bm = BoltzmannMachine(
        batch_size=32,
        n_iter=2,
        n_ais_chains=10,
        n_ais_temperatures=50,
        random_state=5,
    ).fit(X)
    _bm(out, bm, X, sample_sweeps=256, n_samples=64)


@scenario
def bm_many_hidden(out):
    """13 hidden units: transform by mean field (more than 12), AIS log Z
    chosen by "auto" (21 units)."""
    from skebm import BoltzmannMachine

    X = random_binary(6, 120, 8)
    bm = BoltzmannMachine(
        n_hidden=13,
        n_iter=2,
        n_ais_chains=10,
        n_ais_temperatures=50,
        random_state=6,
    ).fit(X)
    _bm(out, bm, X, n_samples=5)


# --------------------------------------------------- EnergyOutlierDetector
def _detector(out, det, X, prefix=""):
    out.add(prefix + "offset_", det.offset_)
    out.add(prefix + "threshold_", det.threshold_)
    out.add(prefix + "decision_scores_", det.decision_scores_)
    out.add(prefix + "labels_", det.labels_)
    out.add(prefix + "score_samples", det.score_samples(X))
    out.add(prefix + "decision_function", det.decision_function(X))
    out.add(prefix + "predict", det.predict(X))
    out.add(prefix + "score", det.score(X))


@scenario
def outlier_default(out):
    """estimator=None: StandardScaler and a GaussianBernoulliRBM (32 hidden
    units, learned sigma, CD-5, about 3000 updates; log Z by AIS when
    offset_ is first read), seeded by
    the detector's random_state (issue 23)."""
    from skebm import EnergyOutlierDetector

    X = random_gaussian(7, 150, 3)
    X[:3] += 6.0
    det = EnergyOutlierDetector(contamination=0.05, random_state=0).fit(X)
    _detector(out, det, X)
    rbm = det.estimator_[-1]
    out.add("estimator_.components_", rbm.components_)
    out.add("estimator_.sigma_", rbm.sigma_)
    out.add("estimator_.log_partition_", rbm.log_partition_)


@scenario
def outlier_bernoulli(out):
    """A BernoulliRBM as the density model, grey rows scored as a ranking."""
    from skebm import BernoulliRBM, EnergyOutlierDetector

    X = digits_grey()[:300]
    det = EnergyOutlierDetector(
        BernoulliRBM(n_components=8, n_iter=2, random_state=0), contamination=0.05
    ).fit(X)
    _detector(out, det, digits_grey()[250:350])
    out.add("estimator_.components_", det.estimator_.components_)


# ---------------------------------------------------------------- partition
@scenario
def partition_functions(out):
    """skebm.partition: exact_log_partition (a Bernoulli RBM with more
    hidden than visible units, so the visible layer is enumerated; a
    Gaussian RBM), ais_log_partition with and without data (dense and
    sparse), MAX_EXACT_UNITS, and the helpers _ais_schedule, _base_rate_bias
    and _base_model."""
    from skebm import BernoulliRBM, GaussianBernoulliRBM, partition

    Xb = random_binary(8, 200, 6)
    wide = BernoulliRBM(n_components=10, n_iter=2, random_state=0).fit(Xb)
    out.add("wide.exact", partition.exact_log_partition(wide))
    out.add("wide.log_partition_", wide.log_partition_)
    for tag, data in (("none", None), ("dense", Xb), ("csr", sp.csr_matrix(Xb))):
        log_z, stderr = partition.ais_log_partition(
            wide, data, n_chains=20, n_temperatures=200, random_state=1
        )
        out.add(f"wide.ais_{tag}", log_z)
        out.add(f"wide.ais_{tag}_stderr", stderr)

    Xg = random_gaussian(9, 200, 5)
    gauss = GaussianBernoulliRBM(
        n_components=6, n_iter=2, learn_sigma=True, random_state=2
    ).fit(Xg)
    out.add("gaussian.exact", partition.exact_log_partition(gauss))
    for tag, data in (("none", None), ("dense", Xg)):
        log_z, stderr = partition.ais_log_partition(
            gauss, data, n_chains=20, n_temperatures=200, random_state=3
        )
        out.add(f"gaussian.ais_{tag}", log_z)
        out.add(f"gaussian.ais_{tag}_stderr", stderr)

    X32 = random_binary(10, 100, 20).astype(np.float32)
    narrow = BernoulliRBM(n_components=5, n_iter=1, random_state=4).fit(X32)
    out.add("float32.exact", partition.exact_log_partition(narrow))
    log_z, stderr = partition.ais_log_partition(
        narrow, X32, n_chains=10, n_temperatures=100, random_state=5
    )
    out.add("float32.ais", log_z)
    out.add("float32.ais_stderr", stderr)

    out.add("MAX_EXACT_UNITS", partition.MAX_EXACT_UNITS)
    out.add("ais_schedule_100", partition._ais_schedule(100))
    out.add("base_rate_bias", partition._base_rate_bias(Xb, Xb.shape[1]))
    eta, precision = partition._base_model(
        Xg, gauss.intercept_visible_, np.log(gauss.sigma_)
    )
    out.add("base_model.eta", eta)
    out.add("base_model.precision", precision)


# -------------------------------------------------------------- environment
def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    return value.strip()
    except OSError:
        pass
    return None


def _blas_libraries():
    """The BLAS libraries loaded by NumPy and SciPy (the kernels call
    SciPy's through ``scipy.linalg.cython_blas``), as threadpoolctl reports
    them, without paths or thread counts."""
    import scipy.linalg.cython_blas  # noqa: F401  (load SciPy's BLAS)

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keys = ("internal_api", "prefix", "version", "architecture", "threading_layer")
    libs = [
        {key: info.get(key) for key in keys}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]
    return sorted(libs, key=lambda lib: [str(lib[key]) for key in keys])


def environment_fingerprint():
    """What decides the last bits of the outputs, besides skebm itself: the
    numerical libraries' versions, the BLAS builds, the machine and CPU.
    Outputs are compared bit for bit only when this is unchanged."""
    import platform

    import llvmlite
    import numba
    import scipy
    import sklearn

    return {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "scikit-learn": sklearn.__version__,
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "blas": _blas_libraries(),
    }
