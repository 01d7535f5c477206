"""General Boltzmann machines: fully connected binary units, optional hidden
units, sequential Gibbs sampling (``n_hidden=0`` is the Ising model)."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

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
from ._log_z import (
    BM_MAX_ENUMERATED_HIDDEN,
    LogPartitionCache,
    boltzmann_log_partition,
    boltzmann_log_partition_plan,
)
from ._monitor import BoltzmannMonitor
from ._restoration import _BoltzmannRestorationMixin
from ._skeleton import _EnergyModelMixin
from ._validation import check_positive_int
from .partition import _base_rate_bias

#: ``method="exact"`` enumerates 2**n_features states per minibatch.
_MAX_EXACT_TRAIN_FEATURES = 16
#: ``transform`` is exact (enumeration) up to this many hidden units.
_EXACT_TRANSFORM_HIDDEN = 12
#: Per-epoch quantities recorded in ``history_``.
_HISTORY_KEYS = ("pseudo_log_likelihood",)


class BoltzmannMachine(
    _UnitIntervalInputMixin,
    _BoltzmannRestorationMixin,
    _EnergyModelMixin,
    _NoBoolParamsMixin,
    _DensityScoreMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """Boltzmann machine with fully connected binary visible and hidden units.

    The model is the energy

    .. math:: U(x) = -\\Big(\\sum_{i<j} W_{ij} x_i x_j + \\sum_i b_i x_i\\Big),
              \\qquad p(x) = \\frac{e^{-U(x)}}{Z},

    over binary units ``x = (v, h)``: ``n_features`` visible units followed
    by ``n_hidden`` hidden units, with any unit connected to any other
    (``W = coef_``, symmetric with zero diagonal, ``b = intercept_``).
    ``n_hidden=0`` is the fully visible Boltzmann machine (Ising model with
    0/1 spins). Sampling updates one unit at a time (sequential Gibbs
    sweeps in compiled kernels, all chains in one call). See the user
    guide, :ref:`boltzmann`.

    Parameters
    ----------
    n_hidden : int, default=0
        Number of hidden units.
    method : {"sml", "pseudolikelihood", "exact"}, default="sml"
        Training objective and gradient. ``"sml"``: stochastic maximum
        likelihood (persistent fantasy chains, Younes 1989 / Tieleman
        2008). ``"pseudolikelihood"``: gradient ascent on the
        pseudo-log-likelihood ``Σ_i log p(x_i | x_-i)`` (convex; Besag
        1975). ``"exact"``: the exact likelihood gradient, by enumerating
        all ``2**n_features`` states (at most 16 features). The last two
        need ``n_hidden=0``.
    learning_rate : float, default=0.05
        Step size; gradients are means over the minibatch.
    batch_size : int, default=10
        Rows per minibatch (one parameter update per minibatch).
    n_iter : int, default=10
        Number of epochs (passes over the training data).
    n_sweeps : int, default=1
        Sequential Gibbs sweeps over all units of each persistent chain per
        minibatch (``"sml"`` only).
    positive_phase : {"mean_field", "gibbs"}, default="mean_field"
        How the hidden units are filled in with the visible units clamped
        to a training row (``"sml"`` with hidden units only): sequential
        mean-field updates (deterministic; Salakhutdinov & Hinton 2009) or
        Gibbs sweeps over the hidden units.
    n_positive_sweeps : int, default=10
        Mean-field sweeps (stopping early once converged) or Gibbs sweeps
        over the hidden units per training row, starting from ``h = 0``.
    n_chains : int or None, default=None
        Number of persistent chains; ``None`` uses ``batch_size``.
    momentum : float, default=0.0
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on ``coef_`` (not on ``intercept_``).
    log_partition : {"auto", "exact", "ais"} or None, default="auto"
        How ``log Z`` is computed for :meth:`score_samples`, on the first
        call that needs it after ``fit``/``partial_fit`` (training itself
        never pays for it). ``"exact"`` enumerates all states (at most
        24 units); ``"ais"`` runs annealed importance sampling with tempered
        sequential Gibbs sweeps; ``"auto"``: exact up to 20 units, else AIS,
        except when :meth:`score_samples` could not use it anyway (more
        than 16 hidden units, which it cannot sum out). ``None`` skips it.
    n_ais_chains : int, default=100
        Number of AIS runs.
    n_ais_temperatures : int, default=1000
        Intermediate distributions (one sweep each) per AIS run.
    verbose : int, default=0
        If positive, print one line per epoch (also kept in ``history_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the chains and the AIS estimate.

    Attributes
    ----------
    coef_ : ndarray of shape (n_units, n_units)
        Couplings ``W`` over ``n_units = n_features_in_ + n_hidden`` units
        (visible first): symmetric, zero diagonal.
    intercept_ : ndarray of shape (n_units,)
        Biases ``b``.
    chains_ : ndarray of shape (n_chains, n_units)
        States of the persistent fantasy chains (``"sml"``), continued by
        :meth:`partial_fit`; unused by the other methods.
    log_partition_ : float or None
        ``log Z`` in nats, computed on first access (or the first
        :meth:`score_samples`) after training; None when
        ``log_partition=None`` or not computable.
    log_partition_stderr_ : float or None
        Standard error of ``log_partition_`` (0.0 when exact).
    log_partition_method_ : {"exact", "ais"} or None
        How ``log_partition_`` was obtained.
    history_ : dict of ndarray
        One entry per epoch: ``epoch``, ``pseudo_log_likelihood`` (mean
        over at most 256 training rows of ``Σ_i log p(v_i | v_-i, h)``, with
        ``h`` the mean-field hidden marginals) and ``time`` (seconds).
    random_state_ : RandomState
        Generator that seeds later :meth:`partial_fit` calls.
    n_features_in_ : int
        Number of visible units (features seen during fit).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    BernoulliRBM : No visible-visible or hidden-hidden couplings, so each
        layer is sampled in one block; much faster to train.

    Notes
    -----
    Input must lie in [0, 1]: binary rows, or probabilities (used as
    expected unit values in the training statistics). :meth:`score_samples`
    is a log-probability only for binary rows. Sparse input is densified.
    Parameters, scores, exact sums and the clamped (positive-phase) chains
    are float64; the free Gibbs chains (:meth:`sample` and the negative
    phase of SML) keep float32 local fields, recomputed exactly in float64
    at the start of every kernel call.

    References
    ----------
    .. [1] Ackley, D. H., Hinton, G. E. and Sejnowski, T. J. (1985). A
       learning algorithm for Boltzmann machines. Cognitive Science 9.
    .. [2] Besag, J. (1975). Statistical analysis of non-lattice data. The
       Statistician 24(3).
    .. [3] Salakhutdinov, R. and Hinton, G. (2009). Deep Boltzmann machines.
       AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import BoltzmannMachine
    >>> X = np.array([[0, 0, 0], [1, 1, 0], [1, 1, 1], [0, 1, 1]])
    >>> bm = BoltzmannMachine(method="pseudolikelihood", random_state=0).fit(X)
    >>> bm.coef_.shape
    (3, 3)
    >>> float(np.exp(bm.score_samples(np.eye(3))).sum()) < 1
    True
    """

    #: ``score_samples`` is ``-energy(X) - log_partition_`` (``energy`` sums
    #: out the hidden units).
    _score_energy = "energy"
    _score_hint = "energy"
    _binary_visible = True  # scoring non-binary rows warns

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 0, None, closed="left")],
        "method": [StrOptions({"sml", "pseudolikelihood", "exact"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_sweeps": [Interval(Integral, 1, None, closed="left")],
        "positive_phase": [StrOptions({"mean_field", "gibbs"})],
        "n_positive_sweeps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
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
        n_hidden=0,
        *,
        method="sml",
        learning_rate=0.05,
        batch_size=10,
        n_iter=10,
        n_sweeps=1,
        positive_phase="mean_field",
        n_positive_sweeps=10,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        log_partition="auto",
        n_ais_chains=100,
        n_ais_temperatures=1000,
        verbose=0,
        random_state=None,
    ):
        self.n_hidden = n_hidden
        self.method = method
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_sweeps = n_sweeps
        self.positive_phase = positive_phase
        self.n_positive_sweeps = n_positive_sweeps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.log_partition = log_partition
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ input
    def _check_method(self, n_features):
        if self.method in ("exact", "pseudolikelihood") and self.n_hidden > 0:
            raise ValueError(
                f"method={self.method!r} is only available for a fully visible "
                f"machine (n_hidden=0); got n_hidden={self.n_hidden}. Use "
                f"method='sml'."
            )
        if self.method == "exact" and n_features > _MAX_EXACT_TRAIN_FEATURES:
            raise ValueError(
                f"method='exact' enumerates all 2**n_features states and "
                f"accepts at most {_MAX_EXACT_TRAIN_FEATURES} features; got "
                f"{n_features}. Use method='pseudolikelihood' or 'sml'."
            )

    # --------------------------------------------------------------- training
    # fit and partial_fit: _EnergyModelMixin, with the hooks below.
    _fitted_marker = "coef_"
    _history_keys = _HISTORY_KEYS

    def _check_training_data(self, X):
        self._check_method(X.shape[1])

    def _continued_parameters(self, X):
        """``(X, params)``: copies of the fitted state to train on."""
        if self.coef_.shape[0] != X.shape[1] + self.n_hidden:
            raise ValueError(
                f"n_hidden changed since the model was fitted (it has "
                f"{self.coef_.shape[0] - X.shape[1]} hidden units, "
                f"n_hidden={self.n_hidden}); call fit instead."
            )
        params = {
            "W": self.coef_.copy(),
            "b": self.intercept_.copy(),
            "W_velocity": self._W_velocity.copy(),
            "b_velocity": self._b_velocity.copy(),
            "chains": self._resized_chains(),
        }
        return X, params

    def _n_chains(self):
        return self.batch_size if self.n_chains is None else self.n_chains

    def _resized_chains(self):
        """Persistent chains, adapted if ``n_chains`` changed since fit."""
        return resize_chains(self.chains_, self._n_chains())

    @staticmethod
    def _coin_flips(rng, n_rows, n_units):
        """Random starting states of chains: fair coin flips (float64)."""
        return bernoulli_draws(rng, np.full((n_rows, n_units), 0.5))

    def _initial_parameters(self, X, rng):
        n_visible = X.shape[1]
        n = n_visible + self.n_hidden
        W = np.triu(rng.normal(0, 0.01, (n, n)), 1)
        b = np.zeros(n)
        # visible biases start at the data's log-odds (Hinton 2012, §8.1)
        b[:n_visible] = _base_rate_bias(X, n_visible)
        chains = self._coin_flips(rng, self._n_chains(), n)
        return {
            "W": np.ascontiguousarray(W + W.T),
            "b": b,
            "W_velocity": np.zeros((n, n)),
            "b_velocity": np.zeros(n),
            "chains": chains,
        }

    def _epoch_plan(self, X, params, seed):
        """``(run_epoch, monitor)`` for the SML or gradient epoch kernel."""
        from ._kernels import _boltzmann as kernels
        from ._kernels import _boltzmann_train as training
        from ._kernels._rng import seed_state
        from ._kernels._sync import available_threads

        bounds = batch_bounds(X.shape[0], self.batch_size)
        n_rng_rows = max(params["chains"].shape[0], int(np.diff(bounds).max()))
        rng_state = seed_state(seed, n_rng_rows)
        pseudo_likelihood = BoltzmannMonitor(
            X, kernels.MEAN_FIELD_MAX_ITER, kernels.MEAN_FIELD_TOL
        )
        W, b = params["W"], params["b"]
        common = (params["W_velocity"], params["b_velocity"])
        hyper = (
            float(self.learning_rate),
            float(self.momentum),
            float(self.weight_decay),
        )
        # Blocks from the parameters and shapes only (never from X's length
        # or the thread count), so fit and partial_fit split alike.
        n_blocks = training.sml_blocks(
            self.batch_size, params["chains"].shape[0], b.size, self.n_sweeps
        )
        n_threads = available_threads()

        def run_epoch():
            if self.method == "sml":
                training.bm_sml_epoch(
                    X,
                    bounds,
                    W,
                    b,
                    *common,
                    params["chains"],
                    rng_state,
                    *hyper,
                    int(self.n_sweeps),
                    int(self.n_positive_sweeps),
                    self.positive_phase == "mean_field",
                    n_blocks=n_blocks,
                    n_threads=n_threads,
                )
            else:
                training.bm_gradient_epoch(
                    X, bounds, W, b, *common, *hyper, self.method == "exact"
                )

        def monitor(params):
            return {"pseudo_log_likelihood": pseudo_likelihood(W, b)}

        return run_epoch, monitor

    def _checked_parameters(self, params):
        return {"coef_": params["W"], "intercept_": params["b"]}

    def _finish_fit(self, X, params, history):
        """Plan log Z, then set every fitted attribute at once."""
        plan = self._log_partition_plan(X, params["b"].size)
        self.coef_ = params["W"]
        self.intercept_ = params["b"]
        self.chains_ = params["chains"]
        self._W_velocity = params["W_velocity"]
        self._b_velocity = params["b_velocity"]
        self._n_features_out = self.n_hidden
        self.history_ = history
        self._log_partition_cache = LogPartitionCache(plan)

    def _log_partition_plan(self, X, n):
        return boltzmann_log_partition_plan(self, X, n)

    def _compute_log_partition(self, plan):
        return boltzmann_log_partition(self, plan)

    # ------------------------------------------------------------- inference
    def _check_enumerable_hidden(self, what):
        if self.n_hidden > BM_MAX_ENUMERATED_HIDDEN:
            raise ValueError(
                f"{what} sums over the 2**n_hidden hidden states of each row "
                f"and accepts at most {BM_MAX_ENUMERATED_HIDDEN} hidden units; "
                f"this machine has {self.n_hidden}."
            )

    @blas_pinned
    def transform(self, X):
        """Hidden-unit marginals ``p(h_j = 1 | v = X)``.

        Exact (by enumerating the hidden states) for at most 12 hidden
        units; above that, the sequential mean-field approximation
        (iterated until no marginal moves by more than 1e-8, at most 200
        sweeps), which is exact when the hidden units are not coupled to
        each other. A machine without hidden units (``n_hidden=0``)
        returns an array with no columns, as it has no hidden features.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations, values in [0, 1].

        Returns
        -------
        h : ndarray of shape (n_samples, n_hidden)
            Hidden marginals given each row (finite: X lies in [0, 1]).
        """
        check_is_fitted(self)
        return self._hidden_marginals(self._validate_X(X, reset=False))

    def _hidden_marginals(self, X):
        """:meth:`transform` of validated rows."""
        from ._kernels._boltzmann import (
            MEAN_FIELD_MAX_ITER,
            MEAN_FIELD_TOL,
            bm_mean_field,
            bm_visible_scores,
        )

        if self.n_hidden == 0:
            return np.empty((X.shape[0], 0), X.dtype)
        if self.n_hidden <= _EXACT_TRANSFORM_HIDDEN:
            return bm_visible_scores(X, self.coef_, self.intercept_, True)[1]
        return bm_mean_field(
            X, self.coef_, self.intercept_, MEAN_FIELD_MAX_ITER, MEAN_FIELD_TOL
        )

    @blas_pinned
    def energy(self, X):
        """Energy of visible configurations, in nats.

        With ``n_hidden=0`` this is ``U(v)``; with hidden units it is the
        free energy ``F(v) = -log Σ_h exp(-U(v, h))`` (hidden units summed
        out exactly; at most 16 of them), so that ``p(v) = exp(-F(v)) / Z``
        in both cases. Cheap: no partition function needed.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations, values in [0, 1].

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            Energy (free energy) of each row (finite: X lies in [0, 1]).
        """
        from ._kernels._boltzmann import bm_visible_scores

        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        self._check_enumerable_hidden("energy")
        return -bm_visible_scores(X, self.coef_, self.intercept_, False)[0]

    @blas_pinned
    def sample(
        self, n_samples=1, *, n_steps=500, random_state=None, n_sweeps="deprecated"
    ):
        """Draw visible samples by sequential Gibbs sampling.

        Each chain starts from uniformly random units and runs ``n_steps``
        sweeps over all units (visible and hidden); the visible part of the
        last state is returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=500
            Gibbs steps (sweeps over all units) per chain: the keyword every
            skebm ``sample`` method uses.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's ``random_state``.
        n_sweeps : int
            Deprecated alias of ``n_steps``.

            .. deprecated:: 0.1
                ``n_sweeps`` was renamed ``n_steps``, the keyword of the
                RBMs' and the DBN's ``sample``; it will be removed in 0.3.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Binary samples.
        """
        from ._kernels._boltzmann import bm_gibbs
        from ._kernels._rng import seed_state
        from ._kernels._sync import available_threads

        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        if not (isinstance(n_sweeps, str) and n_sweeps == "deprecated"):
            warnings.warn(
                "The n_sweeps keyword of BoltzmannMachine.sample was renamed "
                "n_steps in 0.1 and will be removed in 0.3; use n_steps.",
                FutureWarning,
                stacklevel=2,
            )
            n_steps = n_sweeps
        n_steps = check_positive_int(n_steps, "n_steps")
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        n = self.intercept_.size
        state = seed_state(draw_seed(rng), n_samples)
        chains = self._coin_flips(rng, n_samples, n)
        bm_gibbs(
            chains,
            self.coef_,
            self.intercept_,
            0,
            int(n_steps),
            state,
            available_threads(),
        )
        return chains[:, : self.n_features_in_].copy()
