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
from ._energy_base import (
    BASE_KEYS,
    METHODS,
    N_DRAWS,
    N_LEAPFROG,
    TARGETS,
    _DensityTracker,
    _model_from_params,
    auto_epochs,
    draw,
    fit_bases,
    importance_weights,
    kernel_mixture,
    log_partition,
    network_wins,
    no_base,
    split_rows,
    state_with_base,
    whitening,
)
from ._log_z import LogPartitionCache
from ._skeleton import _EnergyModelMixin

#: Share of the persistent chains restarted from the base Gaussian before
#: every update (Du & Mordatch 2019 restart 5% of their replay buffer).
REINIT_FRACTION = 0.05
#: Inverse temperatures of sampler="pt" (0: the whitened data's Gaussian).
PT_BETAS = np.linspace(0.0, 1.0, 8) ** 2
#: Scale of the first layer's pre-activations at initialisation (whitened
#: rows): ridges as narrow as 1/4 of the data's spread from the start.
INIT_SCALE = 4.0
#: sampler="auto": importance sampling from a mixture base up to this many
#: features, MALA chains above.
AUTO_IMPORTANCE_FEATURES = 2
#: Adam's decay rates (skebm._backprop's optimiser). No momentum (beta1 =
#: 0): the chains lag the model, and momentum keeps pushing on a stale
#: gradient (with 0.9 and a penalty on the whole energy, 3 of 3 seeds on
#: two moons diverged; with the final settings 0.9 did not diverge there,
#: but was no better).
ADAM_BETAS = (0.0, 0.999)


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
    with Adam; the model's side comes from persistent MCMC chains (MALA,
    a few steps per update, 5% of the chains restarted from the base
    Gaussian each time). ``log Z`` is estimated by annealed importance
    sampling from that Gaussian when first needed (``score_samples``,
    ``score``, ``log_partition_``).

    With two features or fewer (``sampler="auto"``) the quadratic is
    replaced by a Gaussian mixture base ``q`` of the whitened rows,
    ``E(u) = -log q(u) + v . z_L(u)``, and the model's side of the
    gradient and ``log Z`` are importance-sampling averages over fresh
    draws from ``q``: no chains, so separated modes get their weights
    right. When BIC prefers more than 5 components, the BIC mixture alone
    (network off) is kept unless the network on a base of at most 5
    components scores ``validation_fraction`` of held-out rows better by
    more than a standard error.

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
    sampler : {"auto", "importance", "mala", "hmc", "pt"}, default="auto"
        How the model's side of the gradient is drawn. ``"importance"``:
        importance sampling from a Gaussian mixture base (see above; 1000
        draws per update; ``n_mcmc_steps`` is then unused, and ``chains_``
        holds a weighted resample of the last update's draws). ``"auto"``:
        ``"importance"`` with two features or fewer, ``"mala"`` with more
        (where the importance weights degenerate). Otherwise the MCMC
        transition of the persistent chains: Metropolis-adjusted
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
        epoch (``log Z`` from a small AIS or importance-sampling run with a
        fixed seed), stop after
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
        Intermediate distributions of the ``log Z`` estimate. With a
        mixture base, ``n_ais_chains * n_ais_temperatures`` is the number
        of importance-sampling draws.
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
        the power -1/2, eigenvalues floored at 1e-12 of the largest;
        directions of no variance, such as a constant column or exactly
        collinear ones, scaled by the variance they would have if the
        columns were independent, a constant column's taken as 1): the
        model starts from the data's Gaussian.
    coefs_ : list of ndarray
        Weight matrix of each hidden layer, shape ``(n_in, n_out)``.
    intercepts_ : list of ndarray
        Bias vector of each hidden layer.
    output_weights_ : ndarray of shape (hidden_layer_sizes[-1],)
        ``v``: the energy's weights on the last hidden layer.
    center_, precision_ : ndarray of shape (n_features,)
        The quadratic term (standardised units); ``precision_`` is zero
        with a mixture base.
    base_weights_, base_means_, base_covariances_ : ndarray
        The Gaussian mixture base (whitened units; shapes ``(K,)``,
        ``(K, n_features)``, ``(K, n_features, n_features)``), ``K = 0``
        without one.
    chains_ : ndarray of shape (n_chains, n_features)
        Persistent chains (standardised units).
    log_partition_ : float
        ``log Z`` in data units, from AIS, or importance sampling with a
        mixture base (computed on first access).
    log_partition_stderr_ : float
        Its standard error (delta method over the AIS or importance
        weights).
    log_partition_method_ : str
        ``"ais"``, or ``"importance"`` with a mixture base.
    history_ : dict of ndarray
        Per epoch: ``epoch``, ``energy_gap`` (mean energy of the chains, or
        weighted mean of the base's draws, minus that of the data: near 0
        when they match the data),
        ``acceptance_rate`` (with a mixture base: the effective sample size
        of the importance weights as a share of the draws), ``step_size``,
        ``time``, and with early stopping
        ``validation_log_likelihood``. When the mixture alone is kept, these
        describe the network's training on the weak base.
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
        "sampler": [StrOptions({"auto", "importance", "mala", "hmc", "pt"})],
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
        sampler="auto",
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

    def _importance(self, n_features):
        """Whether training draws the model's side from a mixture base."""
        if self.sampler == "auto":
            return n_features <= AUTO_IMPORTANCE_FEATURES
        return self.sampler == "importance"

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
        params = {
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
            **no_base(d),
        }
        if self._importance(d):  # a mixture base (fitted in _train) replaces
            params["log_precision"][:] = -np.inf  # the quadratic
            params["base_seed"] = np.array([draw_seed(rng)])
        return params

    def _continued_parameters(self, X):
        sizes = self._sizes(X.shape[1])
        if not np.array_equal(sizes, self._std_model()[1]):
            raise ValueError(
                "hidden_layer_sizes changed since the model was fitted; call "
                "fit instead."
            )
        if self._importance(X.shape[1]) != bool(self._base["base_weights"].size):
            raise ValueError(
                f"sampler={self.sampler!r} does not match how the model was "
                f"fitted (with a mixture base or MCMC chains); call fit instead."
            )
        from ._base import resize_chains

        theta, sizes, center, precision, _ = self._std_model()
        with np.errstate(divide="ignore"):
            log_precision = np.log(precision)
        params = {
            "theta": theta.copy(),
            "sizes": sizes.copy(),
            "center": center.copy(),
            "log_precision": log_precision,
            "mean": self.mean_.copy(),
            "whitening": self.whitening_.copy(),
            "adam": self._adam.copy(),
            "adam_t": self._adam_t.copy(),
            "chains": resize_chains(self.chains_, self._n_chains()),
            "log_step": self._log_step.copy(),
            "hot": self._hot_chains.copy(),
            **{key: value.copy() for key, value in self._base.items()},
        }
        return X, params

    def _validation_split(self, X, rng):
        from sklearn.model_selection import train_test_split

        split_seed, ais_seed = (draw_seed(rng) for _ in range(2))
        X_train, X_val = train_test_split(
            X, test_size=self.validation_fraction, random_state=numpy_seed(split_seed)
        )
        # _train whitens by the training rows alone: the same
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
        if tracker is not None:  # whiten by X_train alone, as the tracker does
            params["mean"], params["whitening"], _ = whitening(X)
        if "base_seed" in params:  # fit, with a mixture base
            return self._train_selecting_base(X, params, n_epochs, tracker)
        return super()._train(X, params, n_epochs, previous_history, tracker)

    def _train_selecting_base(self, X, params, n_epochs, tracker):
        """Train the network on the weak base; when BIC prefers a richer
        mixture, first hold out ``validation_fraction`` of the rows, and
        keep that mixture alone (refitted on every row; the network's
        output weights at zero) unless the network scores them better by
        more than a standard error."""
        seed = int(params.pop("base_seed")[0])
        U = (X - params["mean"]) @ params["whitening"]
        weak, richer = fit_bases(U, seed)
        params.update(weak)
        if richer["base_weights"].size <= weak["base_weights"].size:
            return super()._train(X, params, n_epochs, None, tracker)
        fit_rows, held_out = split_rows(len(X), self.validation_fraction, seed)
        weak, alone = fit_bases(U[fit_rows], seed)
        params.update(weak)
        history = super()._train(X[fit_rows], params, n_epochs, None, tracker)
        model = _model_from_params(params)
        if not network_wins(model, params, alone, U[held_out], seed):
            params.update(richer)
            params["theta"][-int(params["sizes"][-1]) :] = 0.0
            # exact draws of the model, for sample() to start from
            rng = np.random.RandomState(numpy_seed(seed))
            params["chains"][...] = draw(richer, len(params["chains"]), rng)
        return history

    def _epoch_plan(self, X, params, seed):
        from ._energy_density_training import Trainer

        return Trainer(self, X, params, seed).plan()

    def _checked_parameters(self, params):
        return {"theta": params["theta"], "center": params["center"],
                "precision_": np.exp(params["log_precision"])}  # fmt: skip

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
        self._base = {key: params[key] for key in BASE_KEYS}
        self.base_weights_ = params["base_weights"]
        self.base_means_ = params["base_means"]
        cov_chol = params["base_cov_chol"]
        self.base_covariances_ = cov_chol @ np.swapaxes(cov_chol, 1, 2)
        self.history_ = history
        self.n_iter_ = len(history["epoch"])
        plan = {"seed": draw_seed(self.random_state_)}
        self._log_partition_cache = LogPartitionCache(plan)

    def _compute_log_partition(self, plan):
        log_z, stderr, method = log_partition(
            self._std_model(), self._base, self.n_ais_chains,
            self.n_ais_temperatures, plan["seed"],
        )  # fmt: skip
        _, log_det = np.linalg.slogdet(self.whitening_)
        return log_z - float(log_det), stderr, method

    def __setstate__(self, state):
        super().__setstate__(state_with_base(state))

    # ------------------------------------------------------------- inference
    def _std_model(self):
        """The energy of standardised rows, as the kernels take it:
        ``(theta, sizes, center, precision, mix)``."""
        parts = []
        for W, b in zip(self.coefs_, self.intercepts_):
            parts += [W.T.ravel(), b]
        theta = np.concatenate([*parts, self.output_weights_])
        sizes = np.array([self.coefs_[0].shape[0], *(b.size for b in self.intercepts_)],
                         dtype=np.int64)  # fmt: skip
        return (theta, sizes, np.ascontiguousarray(self.center_, dtype=np.float64),
                np.ascontiguousarray(self.precision_, dtype=np.float64),
                kernel_mixture(self._base))  # fmt: skip

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
        if ``n_samples`` is larger), or with a mixture base from a resample
        of ``max(1000, 10 * n_samples)`` fresh draws of the base weighted
        by ``exp(-v . z_L)`` (exact draws when the network is off). They
        adapt their step size for ``n_steps // 2`` steps and then run
        ``n_steps`` more.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        method : {"mala", "hmc", "metropolis", "langevin"}, default="mala"
            The transition (see :mod:`skebm.sampling`).
        n_steps : int, default=200
            Steps after warm-up.
        random_state : int, RandomState instance or None, default=None
            Seeds the starting points and the chains.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples (data units).
        """
        from sklearn.utils import check_random_state

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
        model, rng = self._std_model(), check_random_state(random_state)
        if self._base["base_weights"].size:
            draws = draw(self._base, max(N_DRAWS, 10 * int(n_samples)), rng)
            weights, _ = importance_weights(model, draws)
            picks = rng.choice(len(draws), size=int(n_samples), p=weights)
            start = draws[picks]
        else:
            start = resize_chains(self.chains_, int(n_samples))
        step = float(np.exp(self._log_step[-1]))
        result = sampling._run_arrays(
            METHODS[method], model, start, int(n_steps), step,
            int(n_steps) // 2 if method != "langevin" else 0,
            TARGETS[method] or None, N_LEAPFROG, rng,
        )  # fmt: skip
        return self._unwhitened(result.samples)
