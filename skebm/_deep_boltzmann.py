"""Deep Boltzmann machines: layers of binary units, each coupled to the
layers above and below, trained as one undirected model."""

from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _dbm_model as dbm
from ._base import (
    _DensityScoreMixin,
    _NoBoolParamsMixin,
    _UnitIntervalInputMixin,
    batch_bounds,
    bernoulli_draws,
    blas_pinned,
    draw_seed,
    resize_chains,
)
from ._dbn import _layer_sizes
from ._log_z import (
    LogPartitionCache,
    dbm_check_log_partition,
    dbm_log_partition,
    dbm_log_partition_plan,
)
from ._monitor import monitor_rows
from ._skeleton import _EnergyModelMixin
from ._validation import check_positive_int

#: Mean-field sweeps stop once no marginal moves by more than this.
MEAN_FIELD_TOL = 1e-6
#: Mean-field sweeps of ``transform`` and the scores (training uses
#: ``n_mean_field_steps``).
MEAN_FIELD_MAX_ITER = 100
#: ``fit`` decays the learning rate linearly, reaching this fraction of
#: ``learning_rate`` over its epochs.
MIN_LR_FRACTION = 0.1


class DeepBoltzmannMachine(
    _UnitIntervalInputMixin,
    _EnergyModelMixin,
    _NoBoolParamsMixin,
    _DensityScoreMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Deep Boltzmann machine with binary units (Salakhutdinov & Hinton 2009).

    One undirected model over a visible layer ``x_0`` and hidden layers
    ``x_1, ..., x_L``, each coupled only to its neighbours:

    .. math:: E(x_0, \\dots, x_L) = -\\sum_{i=0}^{L} b_i \\cdot x_i
              - \\sum_{i=0}^{L-1} x_i^\\top W_i\\, x_{i+1},
              \\qquad p(x_0) = \\frac{1}{Z} \\sum_{x_1, \\dots, x_L} e^{-E},

    with ``W_i = coefs_[i]`` and ``b_i = intercepts_[i]``. Unlike a
    :class:`DeepBeliefNetwork` (a stack of separately trained RBMs with no
    normalised likelihood), the layers are trained jointly, every hidden
    layer receives input from above and below, and :meth:`score_samples`
    is a log-probability. Training: greedy layer-wise pretraining of RBMs
    with the doubled inputs that correct for a layer having two
    neighbours in the finished machine, then stochastic maximum likelihood
    for the whole machine, with a mean-field positive phase and persistent
    chains updated by alternating Gibbs sweeps (odd layers, then even
    layers) for the negative phase. See the user guide,
    :ref:`deep_boltzmann`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int or int, default=(500, 1000)
        Number of units of each hidden layer, bottom to top (one int: one
        hidden layer, which makes the machine an RBM).
    learning_rate : float, default=0.03
        Step size of pretraining and joint training; gradients are means
        over the minibatch (and over the chains). ``fit`` decays the joint
        training's step linearly over its epochs to a tenth of this;
        :meth:`partial_fit` uses it as is.
    batch_size : int, default=50
        Rows per minibatch (one parameter update per minibatch).
    n_iter : int, default=10
        Epochs of joint training.
    pretrain_n_iter : int, default=20
        Epochs of pretraining for each RBM of the greedy stack; 0 starts the
        joint training from small random weights.
    n_mean_field_steps : int, default=10
        Largest number of mean-field sweeps per minibatch in the positive
        phase (fewer once no marginal moves by more than 1e-6).
    n_gibbs_steps : int, default=5
        Alternating Gibbs sweeps of the persistent chains per minibatch.
    n_chains : int, default=100
        Number of persistent chains (negative phase).
    n_temperatures : int, default=1
        Parallel tempering of the persistent chains when above 1 (the RBMs'
        ``sampler="pt"``): each chain gets ``n_temperatures - 1`` companions
        at inverse temperatures evenly spaced from 1 down to ``1 /
        n_temperatures``, and after every Gibbs sweep neighbouring
        temperatures try to swap states (Metropolis), so that states found
        by the hot chains reach ``beta = 1``. Only the chains at ``beta =
        1`` enter the gradient; the negative phase costs about
        ``n_temperatures`` times as much.
    momentum : float, default=0.5
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float, default=1e-4
        L2 penalty on the weights (not on the biases).
    log_partition : {"auto", "exact", "ais"} or None, default="auto"
        How ``log Z`` is computed for :meth:`score_samples`, on the first
        call that needs it after training. The machine is an RBM between
        its even layers (the visible one included) and its odd layers, and
        ``log Z`` is that RBM's: ``"exact"`` enumerates the smaller side
        (at most 20 units), ``"ais"`` runs annealed importance sampling
        with alternating Gibbs sweeps (odd layers summed out in closed
        form) from independent units at the base rates of the training
        data and of its mean-field posteriors, ``"auto"`` enumerates when
        it is cheap, else AIS. ``None`` skips it.
    n_ais_chains : int, default=100
        Number of AIS runs.
    n_ais_temperatures : int, default=1000
        Intermediate distributions per AIS run.
    verbose : int, default=0
        If positive, print one line per epoch (also kept in ``history_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, pretraining, the chains and the AIS
        estimate.

    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape ``(n_units_i, n_units_{i+1})``: the weights
        between layer ``i`` and layer ``i + 1`` (layer 0 visible).
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape ``(n_units_i,)``: the biases of layer
        ``i`` (``len(intercepts_) == len(coefs_) + 1``).
    chains_ : ndarray of shape (n_chains * n_temperatures, n_units)
        States of the persistent chains, every layer's units side by side
        (visible first), continued by :meth:`partial_fit`: the chains at
        ``beta = 1`` first, then those of each lower inverse temperature.
    free_energy_method_ : {"exact", "mean_field_bound"}
        How :meth:`free_energy` (and so :meth:`score_samples`) sums out the
        hidden layers: exactly, by enumerating the even or the odd hidden
        layers and summing the others in closed form, when that costs at
        most 2**18 operations per row (a 784-16-12 or 784-12-500 machine
        is exact, 784-500-1000 is not), else by the mean-field variational
        bound.
    log_partition_ : float or None
        ``log Z`` in nats, computed on first access (or the first
        :meth:`score_samples`) after training; None when
        ``log_partition=None``.
    log_partition_stderr_ : float or None
        Standard error of ``log_partition_`` (0.0 when exact).
    log_partition_method_ : {"exact", "ais"} or None
        How ``log_partition_`` was obtained.
    history_ : dict of ndarray
        One entry per epoch of joint training: ``epoch``,
        ``reconstruction_error`` (mean squared error of the visible
        units' mean given the first hidden layer's mean-field posterior,
        over at most 256 training rows), ``time`` (seconds) and, with
        ``n_temperatures > 1``, ``swap_acceptance`` (shape ``(n_epochs,
        n_temperatures - 1)``: the fraction of accepted swaps per pair of
        neighbouring temperatures, coldest pair first).
    random_state_ : RandomState
        Generator that seeds later :meth:`partial_fit` calls.
    n_features_in_ : int
        Number of visible units (features seen during fit).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    DeepBeliefNetwork : Greedily stacked RBMs: faster to train, no
        normalised likelihood.
    BernoulliRBM : The one-hidden-layer case.
    BoltzmannMachine : Any unit coupled to any other.

    Notes
    -----
    Input must lie in [0, 1]: binary rows, or probabilities (used as
    expected unit values in the training statistics); :meth:`score_samples`
    is a log-probability only for binary rows. Sparse input is densified.
    Everything is float64. Training, inference and sampling run on one core
    (BLAS pinned to one thread); the AIS estimate of ``log Z`` splits its
    runs between threads. Results do not depend on the thread count.

    References
    ----------
    .. [1] Salakhutdinov, R. and Hinton, G. (2009). Deep Boltzmann machines.
       AISTATS.
    .. [2] Salakhutdinov, R. and Hinton, G. (2012). An efficient learning
       procedure for deep Boltzmann machines. Neural Computation 24(8).

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import DeepBoltzmannMachine
    >>> X = np.array([[0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]])
    >>> dbm = DeepBoltzmannMachine((3, 2), n_iter=2, random_state=0).fit(X)
    >>> [W.shape for W in dbm.coefs_]
    [(4, 3), (3, 2)]
    >>> dbm.transform(X).shape
    (4, 5)
    >>> dbm.free_energy_method_
    'exact'
    """

    _score_energy = "free_energy"
    _score_hint = "free_energy"
    _binary_visible = True  # scoring non-binary rows warns

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "pretrain_n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_mean_field_steps": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "n_temperatures": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "log_partition": [StrOptions({"auto", "exact", "ais"}), None],
        "n_ais_chains": [Interval(Integral, 2, None, closed="left")],
        "n_ais_temperatures": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(500, 1000),
        *,
        learning_rate=0.03,
        batch_size=50,
        n_iter=10,
        pretrain_n_iter=20,
        n_mean_field_steps=10,
        n_gibbs_steps=5,
        n_chains=100,
        n_temperatures=1,
        momentum=0.5,
        weight_decay=1e-4,
        log_partition="auto",
        n_ais_chains=100,
        n_ais_temperatures=1000,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.pretrain_n_iter = pretrain_n_iter
        self.n_mean_field_steps = n_mean_field_steps
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.log_partition = log_partition
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ input
    def _sizes(self, n_visible):
        return [n_visible, *_layer_sizes(self.hidden_layer_sizes)]

    # --------------------------------------------------------------- training
    # fit and partial_fit: _EnergyModelMixin, with the hooks below.
    _fitted_marker = "coefs_"

    @property
    def _history_keys(self):
        if self.n_temperatures > 1:
            return ("reconstruction_error", "swap_acceptance")
        return ("reconstruction_error",)

    def _n_chain_rows(self):
        return self.n_chains * self.n_temperatures

    def _initial_parameters(self, X, rng):
        """Pretrained (or random) weights, zero velocities and chains
        started from training rows."""
        from ._dbm_pretraining import pretrain, start_chains

        sizes = self._sizes(X.shape[1])
        self._check_log_partition(sizes)
        coefs, intercepts = pretrain(self, X, sizes, rng)
        model = dbm.pack(coefs, intercepts)
        return {
            "model": model,
            "velocity": (np.zeros_like(model[0]), np.zeros_like(model[1])),
            "chains": start_chains(self, model, X, self._n_chain_rows(), rng),
        }

    def _continued_parameters(self, X):
        """``(X, params)``: copies of the fitted state to train on."""
        sizes = self._sizes(X.shape[1])
        if sizes != [len(b) for b in self.intercepts_]:
            raise ValueError(
                f"hidden_layer_sizes changed since the model was fitted (it "
                f"has layers {[len(b) for b in self.intercepts_][1:]}, "
                f"hidden_layer_sizes={self.hidden_layer_sizes!r}); call fit "
                f"instead."
            )
        self._check_log_partition(sizes)
        velocity = tuple(v.copy() for v in self._velocity)
        params = {
            "model": dbm.pack(self.coefs_, self.intercepts_),
            "velocity": velocity,
            "chains": resize_chains(self.chains_, self._n_chain_rows()),
        }
        return X, params

    def _epoch_plan(self, X, params, seed):
        """``(run_epoch, monitor)`` for the joint-training epoch kernel."""
        from ._kernels._dbm import train_epoch
        from ._kernels._rng import seed_state
        from ._kernels._tempering import temperature_ladder

        bounds = batch_bounds(X.shape[0], self.batch_size)
        rng_state = seed_state(seed, params["chains"].shape[0])
        steps = (int(self.n_mean_field_steps), MEAN_FIELD_TOL, int(self.n_gibbs_steps))
        monitored = X[monitor_rows(X.shape[0])]
        betas = temperature_ladder(self.n_temperatures)
        tempering = (
            betas,
            np.zeros(params["chains"].shape[0]),
            np.zeros(len(betas) - 1, np.int64),
        )
        swaps = {}
        # fit decays the learning rate linearly over its epochs, from
        # learning_rate in the first to MIN_LR_FRACTION of it in the last;
        # partial_fit keeps it constant
        n_epochs, done = params.pop("n_epochs", 1), [0]

        def run_epoch():
            progress = done[0] / (n_epochs - 1) if n_epochs > 1 else 0.0
            hyper = (
                float(self.learning_rate) * (1.0 - (1.0 - MIN_LR_FRACTION) * progress),
                float(self.momentum),
                float(self.weight_decay),
            )
            model, chains = params["model"], params["chains"]
            tempering[2][:] = 0
            train_epoch(
                model,
                params["velocity"],
                X,
                bounds,
                chains,
                rng_state,
                hyper,
                steps,
                tempering,
            )
            attempts = max(self.n_chains * self.n_gibbs_steps * (len(bounds) - 1), 1)
            swaps["swap_acceptance"] = tempering[2] / attempts
            done[0] += 1

        def monitor(params):
            model = params["model"]
            MU = self._mean_field(model, monitored)
            coefs, intercepts = dbm.unpack(model)
            n_visible = X.shape[1]
            mean = expit(
                MU[:, n_visible : n_visible + coefs[0].shape[1]] @ coefs[0].T
                + intercepts[0]
            )
            error = float(np.mean((mean - monitored) ** 2))
            return {"reconstruction_error": error, **swaps}

        return run_epoch, monitor

    def _train(self, X, params, n_epochs, previous_history, tracker=None):
        if previous_history is None:  # fit: the learning-rate schedule
            params["n_epochs"] = n_epochs
        return super()._train(X, params, n_epochs, previous_history, tracker)

    def _checked_parameters(self, params):
        w, b = params["model"][:2]
        return {"coefs_": w, "intercepts_": b}

    def _finish_fit(self, X, params, history):
        """Plan log Z, then set every fitted attribute at once."""
        model = params["model"]
        plan = self._log_partition_plan(X, model)
        coefs, intercepts = dbm.unpack(model)
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.chains_ = params["chains"]
        self._velocity = params["velocity"]
        self._n_features_out = int(model[2][1:].sum())
        self.history_ = history
        self._log_partition_cache = LogPartitionCache(plan)

    # ---------------------------------------------------------- log Z
    def _log_partition_plan(self, X, model):
        return dbm_log_partition_plan(self, X, model)

    def _check_log_partition(self, sizes):
        dbm_check_log_partition(self.log_partition, sizes)

    def _compute_log_partition(self, plan):
        return dbm_log_partition(self, plan)

    # ------------------------------------------------------------- inference
    def _mean_field(self, model, V):
        """``(n, n_units)``: ``V`` then the hidden layers' mean-field
        posteriors given ``V``."""
        from ._kernels._dbm import mean_field

        MU = np.zeros((V.shape[0], model[1].size))
        MU[:, : V.shape[1]] = V
        mean_field(model, MU, MEAN_FIELD_MAX_ITER, MEAN_FIELD_TOL)
        return MU

    @property
    def free_energy_method_(self):
        check_is_fitted(self)
        exact = dbm.exact_plan([len(b) for b in self.intercepts_])
        return "mean_field_bound" if exact is None else "exact"

    @blas_pinned
    def transform(self, X):
        """Mean-field posteriors ``q(h = 1 | v = X)`` of every hidden layer.

        The fixed point of the mean-field equations ``μ_i = σ(b_i +
        μ_{i-1} W_{i-1} + μ_{i+1} W_iᵀ)`` (``μ_0 = X``), reached from a
        bottom-up pass by sweeps over the odd, then the even layers, until
        no marginal moves by more than 1e-6 (at most 100 sweeps).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations, values in [0, 1].

        Returns
        -------
        H : ndarray of shape (n_samples, sum(hidden_layer_sizes))
            The hidden layers' marginals side by side, bottom layer first.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        model = dbm.pack(self.coefs_, self.intercepts_)
        return self._mean_field(model, X)[:, X.shape[1] :]

    @blas_pinned
    def free_energy(self, X):
        """Free energy ``F(v) = -log Σ_h exp(-E(v, h))`` of visible rows,
        in nats, so that ``p(v) = exp(-F(v)) / Z``.

        Exact when the even or the odd hidden layers are small enough to
        enumerate (``free_energy_method_ == "exact"``: the other layers are
        summed in closed form); otherwise the mean-field variational upper
        bound ``E_q[E(v, h)] - H(q)`` at the posteriors of
        :meth:`transform`, which makes :meth:`score_samples` a lower bound
        (up to the error of an AIS ``log Z``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations, values in [0, 1].

        Returns
        -------
        F : ndarray of shape (n_samples,)
            Free energy (or its bound) of each row.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        how = dbm.exact_plan([len(b) for b in self.intercepts_])
        if how is not None:
            return -dbm.log_marginal(X, self.coefs_, self.intercepts_, how)
        MU = self._mean_field(dbm.pack(self.coefs_, self.intercepts_), X)
        return -dbm.mean_field_bound(X, MU, self.coefs_, self.intercepts_)

    def score_samples(self, X):
        """Log-probability ``log p(v) = -F(v) - log Z`` of each sample, in nats.

        ``F`` is :meth:`free_energy`: exact when ``free_energy_method_ ==
        "exact"``, otherwise the mean-field upper bound on it, which makes
        this a lower bound on ``log p(v)``. ``log Z`` is ``log_partition_``
        (exact or AIS, see ``log_partition``), estimated on the first call
        after training with the seed fixed by ``fit``: an AIS estimate errs
        low with too few temperatures, which errs ``log p`` high.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations, values in [0, 1].

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(v)`` (or its bound) of each row. Non-binary rows give
            ``-F(v) - log Z``, which is not a log-probability, with a
            ``UserWarning``.
        """
        return super().score_samples(X)

    @blas_pinned
    def sample(self, n_samples=1, *, n_steps=1000, random_state=None):
        """Draw visible samples by alternating Gibbs sampling.

        Each chain starts from fair coin flips in every layer and runs
        ``n_steps`` sweeps (odd layers given the even ones, then the even
        layers given the odd ones); the visible layer of the last state is
        returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=1000
            Gibbs sweeps per chain.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Binary samples.
        """
        from ._kernels._dbm import gibbs, no_tempering
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        n_steps = check_positive_int(n_steps, "n_steps")
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        model = dbm.pack(self.coefs_, self.intercepts_)
        state = seed_state(draw_seed(rng), n_samples)
        chains = bernoulli_draws(rng, np.full((n_samples, model[1].size), 0.5))
        gibbs(model, chains, int(n_steps), state, no_tempering())
        return chains[:, : self.n_features_in_].copy()
