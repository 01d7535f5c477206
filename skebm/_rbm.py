"""Restricted Boltzmann machines with binary hidden units."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state, gen_even_slices
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    EpochRecorder,
    atomic_fit,
    blas_pinned,
    check_parameters_finite,
    draw_seed,
)
from ._validation import as_kernel_input, check_unit_interval
from .partition import (
    MAX_EXACT_UNITS,
    base_rate_bias,
    bernoulli_ais_log_partition,
    bernoulli_exact_log_partition,
)

#: Rows of the training data used for the per-epoch monitoring quantities.
_MONITOR_ROWS = 256
#: ``log_partition="auto"`` enumerates exactly when 2**n_small * n_large is
#: at most this (about 0.5 s on one core).
_AUTO_EXACT_COST = 2**25
_HISTORY_KEYS = ("pseudo_log_likelihood", "reconstruction_error")


def _batch_bounds(n_samples, batch_size):
    """Minibatch boundaries, the same slices scikit-learn's RBM uses."""
    n_batches = int(np.ceil(n_samples / batch_size))
    slices = gen_even_slices(n_batches * batch_size, n_batches, n_samples=n_samples)
    starts = [s.start for s in slices]
    return np.array(starts + [n_samples], dtype=np.int64)


class BernoulliRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Bernoulli restricted Boltzmann machine, trained by CD-k or PCD-k.

    A drop-in replacement for :class:`sklearn.neural_network.BernoulliRBM`
    (same parameters, defaults and fitted attributes) whose training runs in
    compiled whole-epoch kernels, with CD-k / persistent CD-k, momentum and
    weight decay, and whose :meth:`score_samples` is the log-probability of
    each sample (not a stochastic pseudo-likelihood).

    The model is the energy

    .. math:: E(v, h) = -b^\\top v - c^\\top h - h^\\top W v,
              \\qquad p(v) = \\frac{1}{Z} \\sum_h e^{-E(v, h)}

    over binary visible units ``v`` (``n_features``) and binary hidden units
    ``h`` (``n_components``), with ``W = components_``,
    ``b = intercept_visible_`` and ``c = intercept_hidden_``.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    learning_rate : float, default=0.1
        Step size of the gradient updates (the gradient is averaged over the
        minibatch). Reasonable values lie in 10**[0, -3].
    batch_size : int, default=10
        Number of examples per minibatch, and number of persistent chains.
    n_iter : int, default=10
        Number of epochs (passes over the training data).
    verbose : int, default=0
        If positive, print one line per epoch: pseudo-log-likelihood,
        reconstruction error and time (also recorded in ``history_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation (drawn exactly as scikit-learn
        draws it), the Gibbs chains and the log-partition estimate. Results
        depend only on this seed, not on the number of threads.
    k : int, default=1
        Number of block-Gibbs steps per minibatch in the negative phase.
    persistent : bool, default=True
        If True, the negative-phase chains persist across minibatches and
        epochs (PCD / stochastic maximum likelihood, as scikit-learn). If
        False, they restart from the data each minibatch (CD-k).
    momentum : float, default=0.0
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on ``components_`` (not on the intercepts).
    log_partition : {"auto", "exact", "ais"} or None, default="auto"
        How ``log Z`` is computed at the end of ``fit``/``partial_fit`` for
        :meth:`score_samples`. ``"exact"`` enumerates the smaller layer (at
        most 20 units); ``"ais"`` uses annealed importance sampling;
        ``"auto"`` is exact when that is cheap (smaller layer of at most 20
        units and ``2**n_small * n_large <= 2**25``), else AIS. ``None``
        skips it: :meth:`score_samples` and :meth:`score` are then
        unavailable (use :meth:`free_energy`).
    n_ais_chains : int, default=100
        Number of AIS runs.
    n_ais_temperatures : int, default=1000
        Number of intermediate distributions per AIS run.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weight matrix ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.
    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the visible units.
    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the persistent chains (continued by
        :meth:`partial_fit`).
    log_partition_ : float or None
        ``log Z`` in nats (None when ``log_partition=None``).
    log_partition_stderr_ : float or None
        Standard error of ``log_partition_`` (0.0 when exact).
    log_partition_method_ : {"exact", "ais"} or None
        How ``log_partition_`` was obtained.
    history_ : dict of ndarray
        One entry per epoch: ``epoch``, ``pseudo_log_likelihood`` (the
        deterministic version of scikit-learn's proxy, on at most 256
        training rows), ``reconstruction_error`` (mean squared error of the
        mean-field reconstruction on the same rows) and ``time`` (seconds).
    random_state_ : RandomState
        Generator that seeds later :meth:`partial_fit` and :meth:`gibbs`
        calls.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The scikit-learn estimator this
        replaces.
    skebm.partition.ais_log_partition : Re-estimate ``log Z`` of a fitted RBM.

    Notes
    -----
    Training statistics follow scikit-learn's SML implementation: positive
    phase with hidden probabilities, negative phase with ``batch_size``
    persistent chains that keep hidden samples between minibatches. Values
    of ``X`` in (0, 1) are accepted (as probabilities) for training and
    transforming; :meth:`score_samples` is a log-probability only for binary
    rows.

    References
    ----------
    .. [1] Hinton, G. E. (2002). Training products of experts by minimizing
       contrastive divergence. Neural Computation 14(8).
    .. [2] Tieleman, T. (2008). Training restricted Boltzmann machines using
       approximations to the likelihood gradient. ICML.
    .. [3] Salakhutdinov, R. and Murray, I. (2008). On the quantitative
       analysis of deep belief networks. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    >>> bool(np.all(model.score_samples(X) < 0))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "log_partition": [StrOptions({"auto", "exact", "ais"}), None],
        "n_ais_chains": [Interval(Integral, 2, None, closed="left")],
        "n_ais_temperatures": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        k=1,
        persistent=True,
        momentum=0.0,
        weight_decay=0.0,
        log_partition="auto",
        n_ais_chains=100,
        n_ais_temperatures=1000,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.log_partition = log_partition
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, *, reset, dtype=(np.float64, np.float32)):
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=dtype, reset=reset
        )
        if sp.issparse(X):
            X = sp.csr_matrix(X)
            if not X.has_canonical_format:
                X = X.copy()  # never touch the caller's matrix
                X.sum_duplicates()
        self._check_values(X)
        return X

    def _check_values(self, X):
        check_unit_interval(X, type(self).__name__)

    # --------------------------------------------------------------- training
    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1]. float32 data trains in float32.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : BernoulliRBM
            The fitted model.
        """
        X = self._validate_X(X, reset=True)
        rng = check_random_state(self.random_state)
        params = self._initial_parameters(X.shape[1], X.dtype, rng)
        self.random_state_ = np.random.RandomState(draw_seed(rng) % (2**32))
        history = self._train(X, params, self.n_iter, previous_history=None)
        self._finish_fit(X, params, history)
        return self

    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train one epoch over X, continuing from the current state.

        X is split into minibatches of ``batch_size`` rows (unlike
        scikit-learn's ``partial_fit``, which takes X as one minibatch), and
        the persistent chains ``h_samples_`` carry over between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, values in [0, 1].
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : BernoulliRBM
            The fitted model.
        """
        first_call = not hasattr(self, "components_")
        if first_call:
            X = self._validate_X(X, reset=True)
            rng = check_random_state(self.random_state)
            params = self._initial_parameters(X.shape[1], X.dtype, rng)
            self.random_state_ = np.random.RandomState(draw_seed(rng) % (2**32))
            previous = None
        else:
            X = self._validate_X(X, reset=False)
            dtype = self.components_.dtype
            X = X.astype(dtype, copy=False)
            params = {
                "W": self.components_.copy(),
                "b": self.intercept_visible_.copy(),
                "c": self.intercept_hidden_.copy(),
                "h_samples": self._resized_chains(dtype),
                "W_velocity": self._W_velocity.copy(),
                "b_velocity": self._b_velocity.copy(),
                "c_velocity": self._c_velocity.copy(),
            }
            previous = self.history_
        history = self._train(X, params, 1, previous_history=previous)
        self._finish_fit(X, params, history)
        return self

    def _resized_chains(self, dtype):
        """Persistent chains, adapted if ``batch_size`` changed since fit."""
        h = self.h_samples_.astype(dtype, copy=True)
        if h.shape[0] == self.batch_size:
            return h
        out = np.zeros((self.batch_size, self.n_components), dtype=dtype)
        n = min(h.shape[0], self.batch_size)
        out[:n] = h[:n]
        return out

    def _initial_parameters(self, n_features, dtype, rng):
        W = np.asarray(
            rng.normal(0, 0.01, (self.n_components, n_features)), dtype=dtype
        )
        return {
            "W": np.ascontiguousarray(W),
            "b": np.zeros(n_features, dtype=dtype),
            "c": np.zeros(self.n_components, dtype=dtype),
            "h_samples": np.zeros((self.batch_size, self.n_components), dtype=dtype),
            "W_velocity": np.zeros((self.n_components, n_features), dtype=dtype),
            "b_velocity": np.zeros(n_features, dtype=dtype),
            "c_velocity": np.zeros(self.n_components, dtype=dtype),
        }

    def _train(self, X, params, n_epochs, previous_history):
        """Run ``n_epochs`` kernel epochs on ``params`` (updated in place)."""
        from ._kernels._cd import bernoulli_rbm_epoch
        from ._kernels._rng import seed_state

        n_samples = X.shape[0]
        bounds = _batch_bounds(n_samples, self.batch_size)
        dense, data, indices, indptr, is_sparse = as_kernel_input(X)
        seed = draw_seed(self.random_state_)
        rng_state = seed_state(seed, max(self.batch_size, int(np.diff(bounds).max())))
        monitor = _Monitor(X, seed, params["W"].dtype)
        first_epoch = (
            1 if previous_history is None else len(previous_history["epoch"]) + 1
        )
        recorder = EpochRecorder(
            type(self).__name__, self.verbose, previous_history, first_epoch
        )
        for _ in range(n_epochs):
            bernoulli_rbm_epoch(
                dense,
                data,
                indices,
                indptr,
                is_sparse,
                bounds,
                params["W"],
                params["b"],
                params["c"],
                params["W_velocity"],
                params["b_velocity"],
                params["c_velocity"],
                params["h_samples"],
                rng_state,
                float(self.learning_rate),
                float(self.momentum),
                float(self.weight_decay),
                int(self.k),
                bool(self.persistent),
            )
            check_parameters_finite(
                type(self).__name__,
                recorder.epoch,
                components_=params["W"],
                intercept_visible_=params["b"],
                intercept_hidden_=params["c"],
            )
            recorder.record(**monitor(params["W"], params["b"], params["c"]))
        return recorder.history(_HISTORY_KEYS)

    def _finish_fit(self, X, params, history):
        """Estimate log Z, then set every fitted attribute at once."""
        log_z, stderr, method = self._estimate_log_partition(
            X, params["W"], params["b"], params["c"]
        )
        self.components_ = params["W"]
        self.intercept_visible_ = params["b"]
        self.intercept_hidden_ = params["c"]
        self.h_samples_ = params["h_samples"]
        self._W_velocity = params["W_velocity"]
        self._b_velocity = params["b_velocity"]
        self._c_velocity = params["c_velocity"]
        self._n_features_out = self.n_components
        self.history_ = history
        self.log_partition_ = log_z
        self.log_partition_stderr_ = stderr
        self.log_partition_method_ = method

    def _estimate_log_partition(self, X, W, b, c):
        mode = self.log_partition
        if mode is None:
            return None, None, None
        n_small, n_large = min(W.shape), max(W.shape)
        exact_possible = n_small <= MAX_EXACT_UNITS
        if mode == "exact" and not exact_possible:
            raise ValueError(
                f"log_partition='exact' needs a layer of at most "
                f"{MAX_EXACT_UNITS} units; this model has {W.shape[1]} visible "
                f"and {W.shape[0]} hidden units. Use 'ais' or 'auto'."
            )
        if mode == "exact" or (
            mode == "auto"
            and exact_possible
            and 2**n_small * n_large <= _AUTO_EXACT_COST
        ):
            return bernoulli_exact_log_partition(W, b, c), 0.0, "exact"
        log_z, stderr = bernoulli_ais_log_partition(
            W,
            b,
            c,
            base_rate_bias(X, W.shape[1]),
            int(self.n_ais_chains),
            int(self.n_ais_temperatures),
            draw_seed(self.random_state_),
        )
        return log_z, stderr, "ais"

    # ------------------------------------------------------------- inference
    @blas_pinned
    def transform(self, X):
        """Hidden-unit activation probabilities ``p(h = 1 | v = X)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to be transformed, values in [0, 1].

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representations of the data.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return _hidden_probabilities(X, self.components_, self.intercept_hidden_)

    @blas_pinned
    def free_energy(self, X):
        """Free energy ``F(v) = -b·v - sum_j log(1 + exp(c_j + W_j·v))``.

        ``p(v) = exp(-F(v)) / Z``; cheap (no partition function needed).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations, values in [0, 1].

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            Free energy of each row, in nats (float64).
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return _free_energy(
            X, self.components_, self.intercept_visible_, self.intercept_hidden_
        )

    def score_samples(self, X):
        """Log-probability ``log p(v)`` of each sample, in nats.

        Computed as ``-free_energy(X) - log_partition_`` with ``log Z`` from
        ``fit`` (exact or AIS, see ``log_partition``), so it is
        deterministic. This differs on purpose from scikit-learn's
        ``BernoulliRBM.score_samples``, which returns a stochastic
        pseudo-likelihood.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations. A log-probability for binary rows;
            for values inside (0, 1) the same formula is applied.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x)`` of each row.
        """
        check_is_fitted(self)
        if self.log_partition_ is None:
            raise ValueError(
                "score_samples needs log Z, which was not estimated because "
                "log_partition=None. Refit with log_partition='auto', or use "
                "free_energy, or skebm.partition.ais_log_partition."
            )
        return -self.free_energy(X) - self.log_partition_

    def score(self, X, y=None):
        """Mean log-probability of the samples in X (see :meth:`score_samples`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Average ``log p(x)`` in nats: higher is a better fit.
        """
        return float(np.mean(self.score_samples(X)))

    @blas_pinned
    def gibbs(self, v):
        """Perform one block-Gibbs step ``v -> h -> v'``.

        Successive calls continue the generator ``random_state_`` set by
        ``fit``, so a loop of calls runs a Markov chain.

        Parameters
        ----------
        v : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features), dtype bool
            Visible samples after one Gibbs step (boolean, as scikit-learn).
        """
        from ._kernels._cd import bernoulli_rbm_gibbs
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        v = self._validate_X(v, reset=False)
        v = v.toarray() if sp.issparse(v) else v
        v = np.ascontiguousarray(v, dtype=self.components_.dtype)
        state = seed_state(draw_seed(self.random_state_), v.shape[0])
        out = bernoulli_rbm_gibbs(
            v,
            self.components_,
            self.intercept_visible_,
            self.intercept_hidden_,
            state,
            1,
        )
        return out.astype(bool)

    @blas_pinned
    def sample(self, n_samples=1, *, n_steps=200, random_state=None):
        """Draw samples from the model by block Gibbs sampling.

        Each chain starts from uniformly random visible units and runs
        ``n_steps`` steps; the last visible state is returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=200
            Gibbs steps per chain.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Binary samples (dtype of ``components_``).
        """
        from ._kernels._cd import bernoulli_rbm_gibbs, random_binary
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer, got {n_samples!r}."
            )
        if not isinstance(n_steps, Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        state = seed_state(draw_seed(rng), n_samples)
        W = self.components_
        v0 = random_binary(int(n_samples), W.shape[1], W[:1, :1], state)
        return bernoulli_rbm_gibbs(
            v0, W, self.intercept_visible_, self.intercept_hidden_, state, int(n_steps)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _hidden_probabilities(X, W, hid_bias):
    """``sigmoid(X Wᵀ + c)`` with a BLAS/sparse product and the shared layer
    kernel for the nonlinearity."""
    from ._kernels._layers import bernoulli_mean_

    pre = np.ascontiguousarray(safe_sparse_dot(X, W.T, dense_output=True))
    pre += hid_bias
    bernoulli_mean_(pre)
    return pre


def _free_energy(X, W, vis_bias, hid_bias):
    from ._kernels._layers import bernoulli_free_energy_term, bernoulli_rbm_free_energy

    if not sp.issparse(X):
        X = np.ascontiguousarray(X, dtype=W.dtype)
        return bernoulli_rbm_free_energy(X, W, vis_bias, hid_bias)
    pre = np.ascontiguousarray(safe_sparse_dot(X, W.T, dense_output=True))
    pre += hid_bias
    out = -np.asarray(safe_sparse_dot(X, vis_bias), dtype=np.float64).ravel()
    bernoulli_free_energy_term(pre, out)
    return out


class _Monitor:
    """Per-epoch monitoring on a fixed subset of training rows.

    ``pseudo_log_likelihood``: ``n_features * log sigmoid(F(ṽ) - F(v))`` with
    one feature flipped per row (scikit-learn's proxy, but with the flipped
    features fixed by the seed, so it is deterministic and comparable
    across epochs). ``reconstruction_error``: mean squared difference between
    the rows and their mean-field reconstruction ``p(v | E[h | v])``.
    """

    def __init__(self, X, seed, dtype):
        n = X.shape[0]
        rows = np.unique(
            np.linspace(0, n - 1, min(n, _MONITOR_ROWS)).round().astype(int)
        )
        V = X[rows]
        V = V.toarray() if sp.issparse(V) else np.array(V)
        flip = np.random.RandomState(seed % (2**32)).randint(0, X.shape[1], V.shape[0])
        V_flip = V.copy()
        idx = np.arange(V.shape[0])
        V_flip[idx, flip] = 1 - V_flip[idx, flip]
        self.V = np.ascontiguousarray(V, dtype=dtype)
        self.V_flip = np.ascontiguousarray(V_flip, dtype=dtype)

    def __call__(self, W, b, c):
        from ._kernels._cd import bernoulli_rbm_monitor

        pll, err = bernoulli_rbm_monitor(self.V, self.V_flip, W, b, c)
        return {"pseudo_log_likelihood": pll, "reconstruction_error": err}
