"""The bases of :class:`~skebm.EnergyDensity` and its ``log Z`` (private):
whitening, AIS from the whitened data's Gaussian, and the Gaussian-mixture
base.

With ``sampler="importance"`` the energy of a whitened row is ``-log q(u)
+ v . z_L(u)``: ``q`` a Gaussian mixture fitted to the whitened training
rows (components chosen by BIC), the network a correction learned on top.
The model's expectations in the likelihood gradient, and ``log Z``, are
then importance-sampling averages over fresh draws from ``q``, weighted by
``exp(-v . z_L)``: no chains to mix between modes.
"""

import numpy as np

from ._base import draw_seed, numpy_seed
from ._held_out import HeldOutTracker

#: MCMC methods by name (the kernels' codes) and their target acceptance.
METHODS = {"metropolis": 0, "langevin": 1, "mala": 2, "hmc": 3}
TARGETS = {"metropolis": 0.234, "langevin": 0.0, "mala": 0.574, "hmc": 0.65}
#: Leapfrog steps of an HMC transition.
N_LEAPFROG = 5

#: Most components of the base mixture (BIC chooses among 1 .. this, with
#: fewer free parameters than training rows).
MAX_COMPONENTS = 20
#: Components of the weak base the network is trained on (BIC chooses
#: among 1 .. this). bench_density.py's 2-D sets, seeds 0-2, held-out nats
#: per row with the selection below: at most 3 components gave moons
#: -1.103, circles -0.659, the ring -0.384 (one seed kept the network on
#: 3 components, -0.428, over the 8-component mixture); at most 5 gave
#: moons -1.097, circles -0.659 and the ring -0.362 on every seed.
WEAK_COMPONENTS = 5
#: Draws from the base per training update.
N_DRAWS = 1000
#: Draws of the log Z estimate that scores held-out rows.
N_CHECK_DRAWS = 20_000
#: Fewest held-out rows that can choose the network over the mixture.
MIN_HELD_OUT = 20

#: n_iter="auto": about this many updates, within these epochs (500
#: epochs against 300 on the 2-D sets of bench_density.py, 1000 rows, 3
#: seeds: moons -1.105 vs -1.121, circles -0.729 vs -0.730, 8 Gaussians
#: -0.884 vs -1.291 held-out nats per row).
AUTO_UPDATES, AUTO_EPOCHS = 5000, (10, 500)
#: n_iter="auto" on small tables: at most this many epochs when there are
#: fewer than this many training rows per feature. Longer training
#: overfits them (held-out nats per row, 3 seeds, 150 vs 300 epochs: wine
#: 124 x 13, -14.88 vs -15.71; breast cancer 398 x 10, -12.64 vs -13.04;
#: 124 of its rows, -13.78 vs -14.91), while the 2-D sets (1000 x 2) need
#: more (moons -1.18 at 150 epochs, -1.12 at 300, -1.11 at 500).
AUTO_SMALL_EPOCHS, AUTO_ROWS_PER_FEATURE = 150, 100
#: AIS that tracks held-out log-likelihood between epochs.
TRACK_AIS_CHAINS, TRACK_AIS_TEMPERATURES = 50, 200

#: Names of the base's arrays in a parameter dict, and in the kernels' order.
BASE_KEYS = ("base_weights", "base_means", "base_chol", "base_cov_chol")


def whitening(X):
    """``(mean, A, log_det)``: ZCA whitening ``u = (x - mean) @ A`` of the
    rows of ``X`` (``A`` symmetric) and ``log |det A|``.

    The covariance's eigenvalues are floored at 1e-12 times the largest.
    Directions of no variance (a constant column, columns that are exactly
    collinear: eigenvalues within rounding error of zero, relative to the
    variance the direction would have if the columns were independent)
    are scaled by that variance instead, a constant column's taken as 1
    (scikit-learn's rule for ``StandardScaler``): floored, their rounding
    noise grew a million times over the widest column's scale, so that a
    row off by 1e-7 scored thousands of nats lower."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0)
        cov = np.atleast_2d(np.cov(X, rowvar=False, bias=True))
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise ValueError(
            "X is too large for EnergyDensity: its covariance overflows "
            "float64. Rescale X (e.g. with sklearn.preprocessing."
            "StandardScaler)."
        )
    raw, vectors = np.linalg.eigh(cov)
    top = raw.max() if raw.size else 0.0
    values = np.maximum(raw, 1e-12 * top) if top > 0 else np.ones_like(raw)
    # sklearn.preprocessing._data._is_constant_feature
    n, eps = X.shape[0], np.finfo(np.float64).eps
    variances = np.diag(cov)
    with np.errstate(over="ignore"):
        constant = variances <= n * eps * variances + (n * mean * eps) ** 2
    # each direction's variance if the columns were independent
    natural = (vectors**2 * np.where(constant, 1.0, variances)[:, None]).sum(axis=0)
    empty = raw <= max(X.shape) * eps * natural
    values = np.where(empty, natural, values)
    A = (vectors / np.sqrt(values)) @ vectors.T
    return mean, np.ascontiguousarray(A), float(-0.5 * np.log(values).sum())


def ais_log_partition(model, n_chains, n_temperatures, seed, method="mala"):
    """AIS estimate ``(log Z, stderr)`` of ``model``'s energy (standardised
    coordinates) from the base ``N(0, I)``.

    A pilot run of a quarter of the chains (at least 16) adapts the step
    size on every rung; the median of its steps is the fixed schedule of
    the run that gives the estimate (its transitions then leave each
    intermediate law exactly invariant).
    """
    from ._kernels._mcmc import run_ais
    from ._kernels._rng import seed_state
    from ._kernels._sync import available_threads
    from .partition import _ais_log_sum_weight, _ais_schedule

    d = int(model[1][0])
    base = (np.zeros(d), np.ones(d))
    betas = _ais_schedule(n_temperatures)
    rng = np.random.RandomState(numpy_seed(seed))
    settings = (METHODS[method], N_LEAPFROG, TARGETS[method])
    n_pilot = max(16, n_chains // 4)
    log_steps = np.full((n_pilot, len(betas)), np.log(0.5))
    X = rng.normal(size=(n_pilot, d))
    state = seed_state(draw_seed(rng), n_pilot)
    run_ais(model, base, betas, X, state, (*settings, True), log_steps,
            available_threads())  # fmt: skip
    schedule = np.median(log_steps, axis=0)[None]
    X = rng.normal(size=(n_chains, d))
    state = seed_state(draw_seed(rng), n_chains)
    log_w = run_ais(model, base, betas, X, state, (*settings, False), schedule,
                    available_threads())  # fmt: skip
    log_sum_w, stderr = _ais_log_sum_weight(log_w)
    log_z0 = 0.5 * d * np.log(2 * np.pi)
    return float(log_z0 + log_sum_w - np.log(n_chains)), stderr


def auto_epochs(n_samples, n_features, batch_size):
    """Epochs of ``n_iter="auto"`` for ``n_samples`` training rows."""
    n_batches = -(-n_samples // batch_size)
    most = AUTO_EPOCHS[1]
    if n_samples < AUTO_ROWS_PER_FEATURE * n_features:
        most = AUTO_SMALL_EPOCHS
    return int(np.clip(-(-AUTO_UPDATES // n_batches), AUTO_EPOCHS[0], most))


def fit_bases(U, seed, max_components=MAX_COMPONENTS, weak=WEAK_COMPONENTS):
    """``(weak base, richer base)``, each a dict over :data:`BASE_KEYS`:
    full-covariance :class:`~sklearn.mixture.GaussianMixture` fits of the
    whitened rows ``U`` with 1, 2, ... components (while they have fewer
    free parameters than rows, up to ``max_components``), the BIC's choice
    among those of at most ``weak`` components and among all. One row: the
    whitened data's Gaussian ``N(row, I)``, the quadratic's start. The fits
    run on one thread (k-means initialisation included), so that the bases
    do not depend on the thread count."""
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    n, d = U.shape
    if n < 2:
        eye = np.eye(d)[None]
        one = {"base_weights": np.ones(1), "base_means": U[:1],
               "base_chol": eye, "base_cov_chol": eye}  # fmt: skip
        return tuple({key: v.copy() for key, v in one.items()} for _ in range(2))
    per_component = d + d * (d + 1) // 2 + 1
    fits = []  # (BIC, k, mixture)
    with threadpool_limits(limits=1):
        for k in range(1, max_components + 1):
            if k > 1 and (k * per_component - 1 >= n or k > n):
                break
            gmm = GaussianMixture(
                k, covariance_type="full", n_init=2, random_state=numpy_seed(seed)
            ).fit(U)
            fits.append((gmm.bic(U), k, gmm))
    # the lowest BIC, the fewer components on a tie
    best_weak = min(f for f in fits if f[1] <= weak)[2]
    return _base_arrays(best_weak), _base_arrays(min(fits)[2])


def _base_arrays(gmm):
    return {
        "base_weights": gmm.weights_.copy(),
        "base_means": np.ascontiguousarray(gmm.means_),
        "base_chol": np.ascontiguousarray(gmm.precisions_cholesky_),
        "base_cov_chol": np.linalg.cholesky(gmm.covariances_),
    }


def no_base(d):
    """The base's arrays of a model without a mixture base."""
    return {
        "base_weights": np.empty(0),
        "base_means": np.empty((0, d)),
        "base_chol": np.empty((0, d, d)),
        "base_cov_chol": np.empty((0, d, d)),
    }


def kernel_mixture(base):
    """``mix = (means, chol, log_norm)`` as the kernels take it."""
    chol = base["base_chol"]
    d = chol.shape[-1]
    log_norm = (
        np.log(base["base_weights"])
        + np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        - 0.5 * d * np.log(2 * np.pi)
    )
    return (base["base_means"], chol, np.ascontiguousarray(log_norm))


def draw(base, n, rng):
    """``n`` draws from the base (rows)."""
    weights = base["base_weights"]
    k = rng.choice(len(weights), size=n, p=weights / weights.sum())
    z = rng.normal(size=(n, base["base_means"].shape[1]))
    return np.ascontiguousarray(
        base["base_means"][k] + np.einsum("nij,nj->ni", base["base_cov_chol"][k], z)
    )


def network_energies(model, U):
    """``v . z_L(u)`` of each row: ``model``'s energy without its
    quadratic and its base (by the threaded parameter-gradient kernel with
    zero weights: each row's energy is the same on any thread count)."""
    from ._kernels._energy_net import no_mixture, param_grad_sum
    from ._kernels._sync import available_threads

    theta, sizes, center, _, _ = model
    d = U.shape[1]
    bare = (theta, sizes, center, np.zeros(d), no_mixture(d))
    return param_grad_sum(bare, U, np.zeros(len(U)), available_threads())[0]


def importance_weights(model, U):
    """Self-normalised weights ``exp(-v . z_L(u))`` of draws ``U`` from the
    base, and the log of their mean unnormalised weight (``log Z`` of the
    model relative to the base's, as ``U`` grows)."""
    log_w = -network_energies(model, U)
    top = log_w.max()
    w = np.exp(log_w - top)
    total = w.sum()
    return w / total, float(top + np.log(total / len(w)))


def importance_log_partition(model, base, n_draws, seed):
    """``(log Z, stderr)`` of ``model`` (standardised coordinates) by
    importance sampling from its base: ``log mean exp(-v . z_L(u))`` over
    ``n_draws`` draws (the base is normalised), its standard error by the
    delta method."""
    rng = np.random.RandomState(numpy_seed(seed))
    log_means, squares, total = [], [], 0
    # in blocks, to bound the draws' memory
    for start in range(0, n_draws, 100_000):
        U = draw(base, min(100_000, n_draws - start), rng)
        w, log_mean = importance_weights(model, U)
        log_means.append((log_mean, len(U)))
        squares.append((w, log_mean))
        total += len(U)
    # combine the blocks: log of the overall mean weight
    top = max(lm for lm, _ in log_means)
    sums = np.array([n * np.exp(lm - top) for lm, n in log_means])
    log_z = float(top + np.log(sums.sum() / total))
    # relative variance of the weights (each block's normalised weights
    # rescaled to the overall mean)
    scaled = np.concatenate([w * len(w) * np.exp(lm - log_z) for w, lm in squares])
    stderr = float(scaled.std() / np.sqrt(total))
    return log_z, stderr


def split_rows(n, fraction, seed):
    """``(fit rows, held-out rows)``: indices, ``fraction`` held out."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        np.arange(n), test_size=fraction, random_state=numpy_seed(seed)
    )


def held_out_log_densities(model, base, U, seed, network=True):
    """``(log-densities, stderr of log Z)``: of each whitened row of ``U``
    under ``model``'s network on the mixture ``base`` (the mixture alone,
    exact, when ``network`` is False), ``log Z`` from
    :data:`N_CHECK_DRAWS` draws."""
    from ._kernels._energy_net import energies_and_grads

    theta, sizes, center, precision, _ = model
    if not network:
        theta = theta.copy()
        theta[-int(sizes[-1]) :] = 0.0
    model = (theta, sizes, center, precision, kernel_mixture(base))
    energies = energies_and_grads(model, U, np.empty_like(U))
    log_z, stderr = importance_log_partition(model, base, N_CHECK_DRAWS, seed)
    return -energies - log_z, stderr


def network_wins(model, weak, richer, U, seed):
    """Whether the network on the ``weak`` base beats the ``richer``
    mixture alone on the whitened held-out rows ``U`` by more than one
    standard error of the mean difference of their log-densities (the
    one-standard-error rule: the mixture has far fewer parameters; the
    error of the network's ``log Z`` is added in quadrature). Fewer than
    :data:`MIN_HELD_OUT` rows are too few to tell: the mixture is kept."""
    if len(U) < MIN_HELD_OUT:
        return False
    with_network, log_z_error = held_out_log_densities(model, weak, U, seed)
    alone, _ = held_out_log_densities(model, richer, U, seed, network=False)
    gain = with_network - alone
    error = np.sqrt(gain.var() / len(gain) + log_z_error**2)
    return bool(gain.mean() > error)


def log_partition(model, base, n_chains, n_temperatures, seed):
    """``(log Z, stderr, method)`` of ``model`` (standardised coordinates):
    importance sampling from its mixture ``base`` (``n_chains *
    n_temperatures`` draws), or AIS from ``N(0, I)`` without one."""
    if base["base_weights"].size:
        n_draws = n_chains * n_temperatures
        return (*importance_log_partition(model, base, n_draws, seed), "importance")
    return (*ais_log_partition(model, n_chains, n_temperatures, seed), "ais")


def _model_from_params(params):
    return (params["theta"], params["sizes"], params["center"],
            np.exp(params["log_precision"]), kernel_mixture(params))  # fmt: skip


class _DensityTracker(HeldOutTracker):
    """Held-out ``log p(x)`` of each epoch (standardised validation rows;
    the AIS seed stays the same every epoch)."""

    def __init__(self, X_val, seed, tol, n_iter_no_change, log_det):
        super().__init__(X_val, None, None, seed, tol, n_iter_no_change)
        self.log_det = log_det

    def score(self, params):
        from ._kernels._energy_net import energies_and_grads

        model = _model_from_params(params)
        energies = energies_and_grads(model, self.X_val, np.empty_like(self.X_val))
        log_z, _, _ = log_partition(
            model, params, TRACK_AIS_CHAINS, TRACK_AIS_TEMPERATURES, self.seed
        )
        return float(-energies.mean() - log_z - self.log_det)


def state_with_base(state):
    """A pickled EnergyDensity's state, with an empty base if it predates
    the mixture base."""
    if "coefs_" not in state or "_base" in state:
        return state
    base = no_base(state["coefs_"][0].shape[0])
    return {**state, "_base": base, "base_weights_": base["base_weights"],
            "base_means_": base["base_means"],
            "base_covariances_": base["base_chol"]}  # fmt: skip
