"""EnergyDensity: a density estimator with a learned energy over real vectors."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    _DensityScoreMixin,
    _NoBoolParamsMixin,
    blas_pinned,
    draw_seed,
    numpy_seed,
)
from ._held_out import HeldOutTracker
from ._log_z import LogPartitionCache
from ._skeleton import _EnergyModelMixin

#: Share of the persistent chains restarted from the base Gaussian before
#: every update (Du & Mordatch 2019 restart 5% of their replay buffer).
REINIT_FRACTION = 0.05
#: MCMC methods by name (the kernels' codes) and their target acceptance.
METHODS = {"metropolis": 0, "langevin": 1, "mala": 2, "hmc": 3}
TARGETS = {"metropolis": 0.234, "langevin": 0.0, "mala": 0.574, "hmc": 0.65}
#: Inverse temperatures of sampler="pt" (0: the whitened data's Gaussian).
PT_BETAS = np.linspace(0.0, 1.0, 8) ** 2
#: Leapfrog steps of an HMC transition.
N_LEAPFROG = 5
#: Scale of the first layer's pre-activations at initialisation (whitened
#: rows): ridges as narrow as 1/4 of the data's spread from the start.
INIT_SCALE = 4.0
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
#: Adam's decay rates (skebm._backprop's optimiser). No momentum (beta1 =
#: 0): the chains lag the model, and momentum keeps pushing on a stale
#: gradient (with 0.9 and a penalty on the whole energy, 3 of 3 seeds on
#: two moons diverged; with the final settings 0.9 did not diverge there,
#: but was no better).
ADAM_BETAS = (0.0, 0.999)
#: AIS that tracks held-out log-likelihood between epochs.
TRACK_AIS_CHAINS, TRACK_AIS_TEMPERATURES = 50, 200


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
        log_z, _ = ais_log_partition(
            model, TRACK_AIS_CHAINS, TRACK_AIS_TEMPERATURES, self.seed
        )
        return float(-energies.mean() - log_z - self.log_det)


def whitening(X):
    """``(mean, A, log_det)``: ZCA whitening ``u = (x - mean) @ A`` of the
    rows of ``X`` (``A`` symmetric; the covariance's eigenvalues floored
    at 1e-12 times the largest, or 1 if all vanish) and ``log |det A|``."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean = X.mean(axis=0)
        cov = np.atleast_2d(np.cov(X, rowvar=False, bias=True))
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise ValueError(
            "X is too large for EnergyDensity: its covariance overflows "
            "float64. Rescale X (e.g. with sklearn.preprocessing."
            "StandardScaler)."
        )
    values, vectors = np.linalg.eigh(cov)
    top = values.max() if values.size else 0.0
    values = np.maximum(values, 1e-12 * top) if top > 0 else np.ones_like(values)
    A = (vectors / np.sqrt(values)) @ vectors.T
    return mean, np.ascontiguousarray(A), float(-0.5 * np.log(values).sum())


def _model_from_params(params):
    return (params["theta"], params["sizes"], params["center"],
            np.exp(params["log_precision"]))  # fmt: skip


class EnergyDensity(
    _NoBoolParamsMixin,
    _DensityScoreMixin,
    _EnergyModelMixin,
    DensityMixin,
    BaseEstimator,
):
    """Density estimator with a learned energy: ``p(x) = exp(-E(x)) / Z``.

    The energy of a whitened row ``u = (x - mean_) @ whitening_`` is a
    diagonal quadratic plus a network with softplus activations,

    ``E(u) = sum_i (u_i - center_i)^2 precision_i^2 / 2 + v . z_L(u)``,

    ``z_0 = u``, ``z_l = softplus(z_{l-1} @ coefs_[l-1] + intercepts_[l-1])``,
    ``v`` = ``output_weights_``. The network grows at most linearly, so the
    quadratic keeps ``Z`` finite. Training starts from the data's diagonal
    Gaussian (the network's output weights at zero) and follows the
    maximum-likelihood gradient, the data's ``dE/dθ`` minus the model's,
    with Adam; the model's side comes from persistent MCMC chains (MALA by
    default, a few steps per update, 5% of the chains restarted from the
    base Gaussian each time). ``log Z`` is estimated by annealed importance
    sampling from that Gaussian when first needed (``score_samples``,
    ``score``, ``log_partition_``).

    Read more in the :ref:`User Guide <energy_density>`.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(32, 32)
        Units of each hidden layer of the energy network.
    learning_rate : float, default=0.01
        Adam's step size (without momentum: the chains lag the model, and
        momentum would keep following a stale gradient). ``fit`` lowers it
        linearly over its epochs to 2% of this value; ``partial_fit`` keeps
        it constant.
    batch_size : int, default=100
        Training rows per update.
    n_iter : int or "auto", default="auto"
        Passes over the training data (epochs). ``"auto"``: about 5000
        updates, ``ceil(5000 / n_minibatches)`` epochs clipped to
        [10, 500], or to [10, 150] when there are fewer than 100 training
        rows per feature (small tables, which longer training overfits).
    sampler : {"mala", "hmc", "pt"}, default="mala"
        MCMC transition of the persistent chains: Metropolis-adjusted
        Langevin or Hamiltonian Monte Carlo (5 leapfrog steps), their step
        size following the acceptance rate towards 0.574 (MALA) or 0.65
        (HMC); or parallel tempering: ``n_chains`` MALA chains at each of 8
        inverse temperatures ``beta`` (``PT_BETAS``, from 0 to 1) on
        ``beta E + (1 - beta) |u|^2 / 2``, with swaps between neighbours
        after every update. About 5 times slower, but the chains move
        between well-separated modes, so their weights are learned
        correctly.
    n_mcmc_steps : int, default=10
        Transitions of every chain per update.
    n_chains : int or None, default=None
        Persistent chains; None: ``batch_size``.
    weight_decay : float, default=1e-4
        L2 penalty on the network's parameters.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, score them after every
        epoch (``log Z`` from a small AIS run with a fixed seed), stop after
        ``n_iter_no_change`` epochs without an improvement larger than
        ``tol`` and keep the best epoch's parameters.
    validation_fraction : float, default=0.1
        Share of the rows held out for early stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement before early stopping.
    tol : float, default=1e-3
        Improvement of the held-out log-likelihood (nats per row) that
        counts.
    n_ais_chains : int, default=200
        AIS chains of the ``log Z`` estimate.
    n_ais_temperatures : int, default=1000
        Intermediate distributions of the ``log Z`` estimate.
    verbose : int, default=0
        Print one line per epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, minibatches, chains and the AIS estimate.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the training data.
    whitening_ : ndarray of shape (n_features, n_features)
        Symmetric whitening matrix of the training data (its covariance to
        the power -1/2): the model starts from the data's Gaussian.
    coefs_ : list of ndarray
        Weight matrix of each hidden layer, shape ``(n_in, n_out)``.
    intercepts_ : list of ndarray
        Bias vector of each hidden layer.
    output_weights_ : ndarray of shape (hidden_layer_sizes[-1],)
        ``v``: the energy's weights on the last hidden layer.
    center_, precision_ : ndarray of shape (n_features,)
        The quadratic term (standardised units).
    chains_ : ndarray of shape (n_chains, n_features)
        Persistent chains (standardised units).
    log_partition_ : float
        ``log Z`` in data units, from AIS (computed on first access).
    log_partition_stderr_ : float
        Its standard error (delta method over the AIS weights).
    log_partition_method_ : str
        ``"ais"``.
    history_ : dict of ndarray
        Per epoch: ``epoch``, ``energy_gap`` (mean energy of the chains
        minus that of the data: near 0 when the chains match the data),
        ``acceptance_rate``, ``step_size``, ``time``, and with early stopping
        ``validation_log_likelihood``.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int or None
        With early stopping, the epoch whose parameters were kept.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, if they are all strings.

    See Also
    --------
    sklearn.mixture.GaussianMixture : Mixture of Gaussians.
    sklearn.neighbors.KernelDensity : Kernel density estimate.
    GaussianBernoulliRBM : An energy over real vectors with binary hidden
        units.
    skebm.sampling : MCMC samplers over this energy.

    References
    ----------
    Y. Du and I. Mordatch, "Implicit generation and generalization in
    energy-based models", NeurIPS 2019.

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from skebm import EnergyDensity
    >>> X, _ = make_moons(500, noise=0.1, random_state=0)
    >>> model = EnergyDensity(n_iter=5, random_state=0).fit(X)
    >>> model.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [tuple, list],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "sampler": [StrOptions({"mala", "hmc", "pt"})],
        "n_mcmc_steps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_ais_chains": [Interval(Integral, 2, None, closed="left")],
        "n_ais_temperatures": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(32, 32),
        *,
        learning_rate=0.01,
        batch_size=100,
        n_iter="auto",
        sampler="mala",
        n_mcmc_steps=10,
        n_chains=None,
        weight_decay=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-3,
        n_ais_chains=200,
        n_ais_temperatures=1000,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.sampler = sampler
        self.n_mcmc_steps = n_mcmc_steps
        self.n_chains = n_chains
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, *, reset):
        X = validate_data(self, X, dtype=np.float64, reset=reset)
        return np.ascontiguousarray(X)

    def _standardised(self, X):
        with np.errstate(over="ignore", invalid="ignore"):
            return np.ascontiguousarray((X - self.mean_) @ self.whitening_)

    def _sizes(self, n_features):
        sizes = [n_features, *self.hidden_layer_sizes]
        if len(sizes) < 2 or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s >= 1
            for s in sizes[1:]
        ):
            raise ValueError(
                f"hidden_layer_sizes must be a non-empty sequence of positive "
                f"ints, got {self.hidden_layer_sizes!r}."
            )
        return np.array(sizes, dtype=np.int64)

    # --------------------------------------------------------------- training
    # fit and partial_fit: _EnergyModelMixin, with the hooks below.
    _fitted_marker = "coefs_"
    _history_keys = ("energy_gap", "acceptance_rate", "step_size")

    def _n_chains(self):
        return self.batch_size if self.n_chains is None else self.n_chains

    def _initial_parameters(self, X, rng):
        sizes = self._sizes(X.shape[1])
        mean, A, _ = whitening(X)
        parts = []
        for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            scale = INIT_SCALE if layer == 0 else 1.0
            parts += [
                rng.normal(0, scale / np.sqrt(n_in), n_in * n_out),
                rng.normal(0, scale, n_out) if layer == 0 else np.zeros(n_out),
            ]
        theta = np.concatenate([*parts, np.zeros(sizes[-1])])
        d = X.shape[1]
        n_params = theta.size + 2 * d
        return {
            "theta": theta,
            "sizes": sizes,
            "center": np.zeros(d),
            "log_precision": np.zeros(d),
            "mean": mean,
            "whitening": A,
            "adam": np.zeros((2, n_params)),
            "adam_t": np.zeros(1),
            "chains": rng.normal(size=(self._n_chains(), d)),
            "log_step": np.full(len(PT_BETAS), np.log(0.5)),
            "hot": np.empty((0, d)),
        }

    def _continued_parameters(self, X):
        sizes = self._sizes(X.shape[1])
        if not np.array_equal(sizes, self._std_model()[1]):
            raise ValueError(
                "hidden_layer_sizes changed since the model was fitted; call "
                "fit instead."
            )
        from ._base import resize_chains

        theta, sizes, center, precision = (a.copy() for a in self._std_model())
        params = {
            "theta": theta,
            "sizes": sizes,
            "center": center,
            "log_precision": np.log(precision),
            "mean": self.mean_.copy(),
            "whitening": self.whitening_.copy(),
            "adam": self._adam.copy(),
            "adam_t": self._adam_t.copy(),
            "chains": resize_chains(self.chains_, self._n_chains()),
            "log_step": self._log_step.copy(),
            "hot": self._hot_chains.copy(),
        }
        return X, params

    def _validation_split(self, X, rng):
        from sklearn.model_selection import train_test_split

        split_seed, ais_seed = (draw_seed(rng) for _ in range(2))
        X_train, X_val = train_test_split(
            X, test_size=self.validation_fraction, random_state=numpy_seed(split_seed)
        )
        # _initial_parameters whitens by the training rows alone: the same
        mean, A, log_det = whitening(X_train)
        X_val = np.ascontiguousarray((X_val - mean) @ A)
        tracker = _DensityTracker(
            X_val, ais_seed, self.tol, self.n_iter_no_change, -log_det
        )
        return np.ascontiguousarray(X_train), tracker

    def _train(self, X, params, n_epochs, previous_history, tracker=None):
        if n_epochs == "auto":
            n_epochs = auto_epochs(*X.shape, self.batch_size)
        params["n_epochs"] = np.array([n_epochs])  # the learning-rate schedule
        return super()._train(X, params, n_epochs, previous_history, tracker)

    def _epoch_plan(self, X, params, seed):
        from ._energy_density_training import Trainer

        return Trainer(self, X, params, seed).plan()

    def _checked_parameters(self, params):
        return {"theta": params["theta"], "center": params["center"],
                "log_precision": params["log_precision"]}  # fmt: skip

    def _finish_fit(self, X, params, history):
        """Set every fitted attribute at once; plan the AIS estimate."""
        theta, sizes = params["theta"], params["sizes"]
        coefs, intercepts, off = [], [], 0
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            coefs.append(theta[off : off + n_in * n_out].reshape(n_out, n_in).T.copy())
            off += n_in * n_out
            intercepts.append(theta[off : off + n_out].copy())
            off += n_out
        self.mean_ = params["mean"]
        self.whitening_ = params["whitening"]
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.output_weights_ = theta[off:].copy()
        self.center_ = params["center"]
        self.precision_ = np.exp(params["log_precision"])
        self.chains_ = params["chains"]
        self._adam = params["adam"]
        self._adam_t = params["adam_t"]
        self._log_step = params["log_step"]
        self._hot_chains = params["hot"]
        self.history_ = history
        self.n_iter_ = len(history["epoch"])
        plan = {"seed": draw_seed(self.random_state_)}
        self._log_partition_cache = LogPartitionCache(plan)

    def _compute_log_partition(self, plan):
        log_z, stderr = ais_log_partition(
            self._std_model(), self.n_ais_chains, self.n_ais_temperatures,
            plan["seed"],
        )  # fmt: skip
        _, log_det = np.linalg.slogdet(self.whitening_)
        return log_z - float(log_det), stderr, "ais"

    # ------------------------------------------------------------- inference
    def _std_model(self):
        """The energy of standardised rows, as the kernels take it:
        ``(theta, sizes, center, precision)``."""
        parts = []
        for W, b in zip(self.coefs_, self.intercepts_):
            parts += [W.T.ravel(), b]
        theta = np.concatenate([*parts, self.output_weights_])
        sizes = np.array([self.coefs_[0].shape[0], *(b.size for b in self.intercepts_)],
                         dtype=np.int64)  # fmt: skip
        return (theta, sizes, np.ascontiguousarray(self.center_, dtype=np.float64),
                np.ascontiguousarray(self.precision_, dtype=np.float64))  # fmt: skip

    def _unwhitened(self, U):
        """Whitened rows back in data units."""
        return np.linalg.solve(self.whitening_, U.T).T + self.mean_

    def _sampling_space(self):
        """``(model, to_model, to_data)`` for :mod:`skebm.sampling`: chains
        run on whitened rows."""
        return self._std_model(), self._standardised, self._unwhitened

    @blas_pinned
    def energy(self, X):
        """Unnormalised energy ``E(x)`` of each row: ``p(x) = exp(-E(x)) / Z``
        with ``Z = exp(log_partition_)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows (data units).

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            ``E`` of each row (lower: more probable); ``inf`` for a row too
            large for float64 arithmetic, never NaN.
        """
        from ._kernels._energy_net import energies_and_grads

        check_is_fitted(self)
        U = self._standardised(self._validate_X(X, reset=False))
        with np.errstate(over="ignore", invalid="ignore"):
            energy = energies_and_grads(self._std_model(), U, np.empty_like(U))
        # a finite row too large for float64 arithmetic (inf - inf in the
        # network): far from the data, where the quadratic wins
        energy[np.isnan(energy)] = np.inf
        return energy

    @blas_pinned
    def sample(self, n_samples=1, *, method="mala", n_steps=200, random_state=None):
        """Draw samples from the model by MCMC.

        The chains start from the persistent chains of training (repeated
        if ``n_samples`` is larger), adapt their step size for
        ``n_steps // 2`` steps and then run ``n_steps`` more.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        method : {"mala", "hmc", "metropolis", "langevin"}, default="mala"
            The transition (see :mod:`skebm.sampling`).
        n_steps : int, default=200
            Steps after warm-up.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples (data units).
        """
        from . import sampling
        from ._base import resize_chains
        from ._validation import check_number

        check_is_fitted(self)
        check_number(n_samples, "n_samples", low=1, integer=True)
        check_number(n_steps, "n_steps", low=0, integer=True)
        if method not in METHODS:
            raise ValueError(
                f"method must be one of {sorted(METHODS)}, got {method!r}."
            )
        start = resize_chains(self.chains_, int(n_samples))
        step = float(np.exp(self._log_step[-1]))
        result = sampling._run_arrays(
            METHODS[method], self._std_model(), start, int(n_steps), step,
            int(n_steps) // 2 if method != "langevin" else 0,
            TARGETS[method] or None, N_LEAPFROG, random_state,
        )  # fmt: skip
        return self._unwhitened(result.samples)
