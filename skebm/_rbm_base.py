"""Shared machinery of the RBM estimators (private).

:class:`_BaseRBM` carries everything the RBM family shares: parameter
validation, the epoch loop around the whole-epoch kernel, ``history_``,
divergence checks, the log-partition estimate, and the inference methods.
A subclass supplies its visible layer: ``_gaussian`` (the kernels' switch),
the input-domain check, the initial visible parameters, and its standard
deviations (none for Bernoulli units).
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    _DensityScoreMixin,
    _NoBoolParamsMixin,
    batch_bounds,
    blas_pinned,
    draw_seed,
    resize_chains,
)
from ._log_z import LogPartitionCache, rbm_log_partition, rbm_log_partition_plan
from ._monitor import RBMMonitor
from ._restoration import _RBMRestorationMixin
from ._skeleton import _EnergyModelMixin
from ._validation import (
    check_dtype_range,
    check_no_overflow,
    check_positive_int,
)

#: Largest change of a learned log-sigma per minibatch (sigma moves by at
#: most about 10% per update; see ``rbm_epoch``).
_MAX_LOG_SIGMA_STEP = 0.1


class _BaseRBM(
    _RBMRestorationMixin,
    _EnergyModelMixin,
    _NoBoolParamsMixin,
    _DensityScoreMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    """RBM with binary hidden units; subclasses choose the visible layer."""

    #: Visible units are Gaussian (True) or Bernoulli (False).
    _gaussian = False
    #: Per-epoch monitoring quantities recorded in ``history_`` (and
    #: ``swap_acceptance`` with ``sampler="pt"``).
    _monitor_keys = ("pseudo_log_likelihood", "reconstruction_error")
    #: ``score_samples`` is ``-free_energy(X) - log_partition_``.
    _score_energy = "free_energy"
    _score_hint = "free_energy, or skebm.partition.ais_log_partition"

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "k": [Interval(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "sampler": [StrOptions({"gibbs", "pt"})],
        "n_temperatures": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "log_partition": [StrOptions({"auto", "exact", "ais"}), None],
        "n_ais_chains": [Interval(Integral, 2, None, closed="left")],
        "n_ais_temperatures": [Interval(Integral, 1, None, closed="left")],
    }

    # ------------------------------------------------------ subclass hooks
    def _check_values(self, X, reset=True):
        """X, checked against the visible units' domain (``ValueError``
        outside it; round-off at its bounds clipped in a copy)."""
        return X

    def _initial_visible(self, X, dtype):
        """Initial ``(visible_bias, log_sigma, log_sigma_floor)``."""
        zeros = np.zeros(X.shape[1], dtype)
        return zeros, zeros.copy(), zeros.copy()

    def _learns_sigma(self):
        return False

    def _log_sigma(self):
        """Fitted log standard deviations, or None for Bernoulli units."""
        return None

    def _groups(self):
        """int64 offsets of softmax visible groups (``groups[g]:groups[g +
        1]`` is group ``g``), or None for independent visible units."""
        return None

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
        return self._check_values(X, reset)

    def _scaled(self, X):
        """X in the kernels' coordinates (``X / sigma_`` for Gaussian units)."""
        log_sigma = self._log_sigma()
        if log_sigma is None or not np.any(log_sigma):
            return X
        inv_sigma = np.exp(-log_sigma).astype(X.dtype)
        return sp.csr_matrix(X.multiply(inv_sigma)) if sp.issparse(X) else X * inv_sigma

    def _scaled_visible_bias(self):
        log_sigma = self._log_sigma()
        b = self.intercept_visible_
        if log_sigma is None:
            return b
        return np.ascontiguousarray(b * np.exp(-log_sigma), dtype=b.dtype)

    # --------------------------------------------------------------- training
    # fit and partial_fit: _EnergyModelMixin, with the hooks below.
    _fitted_marker = "components_"

    def _continued_parameters(self, X):
        """``(X, params)``: copies of the fitted state to train on."""
        if self.components_.shape[0] != self.n_components:
            raise ValueError(
                f"n_components changed since the model was fitted (it has "
                f"{self.components_.shape[0]} hidden units, n_components="
                f"{self.n_components}); call fit instead."
            )
        dtype = self.components_.dtype
        X = X.astype(dtype, copy=False)
        log_sigma = self._log_sigma()
        params = {
            "W": self.components_.copy(),
            "b": self._scaled_visible_bias().astype(dtype),
            "c": self.intercept_hidden_.copy(),
            "log_sigma": (
                np.zeros(X.shape[1], dtype)
                if log_sigma is None
                else log_sigma.astype(dtype)
            ),
            "log_sigma_floor": self._log_sigma_floor.astype(dtype),
            "h_samples": self._resized_chains(dtype),
            "W_velocity": self._W_velocity.copy(),
            "b_velocity": self._b_velocity.copy(),
            "c_velocity": self._c_velocity.copy(),
            "log_sigma_velocity": self._log_sigma_velocity.copy(),
        }
        return X, params

    @property
    def _history_keys(self):
        if self._tempered():
            return (*self._monitor_keys, "swap_acceptance")
        return self._monitor_keys

    def _tempered(self):
        return getattr(self, "sampler", "gibbs") == "pt"

    def _check_training_data(self, X):
        if self._tempered() and not self.persistent:
            raise ValueError(
                "sampler='pt' tempers the persistent chains: it needs persistent=True"
            )

    def _n_chains(self):
        """Persistent chains per temperature: ``n_chains``, or one per
        minibatch row."""
        if self.n_chains is None or not self.persistent:
            return self.batch_size
        return self.n_chains

    def _n_chain_rows(self):
        """Rows of ``h_samples_``: the chains at every temperature."""
        if self._tempered():
            return self._n_chains() * self.n_temperatures
        return self._n_chains()

    def _resized_chains(self, dtype):
        """Persistent chains, adapted if their number changed since fit."""
        return resize_chains(self.h_samples_.astype(dtype), self._n_chain_rows())

    def _initial_parameters(self, X, rng):
        n_features, dtype = X.shape[1], X.dtype
        # Drawn exactly as scikit-learn's BernoulliRBM draws it.
        W = np.asarray(
            rng.normal(0, 0.01, (self.n_components, n_features)), dtype=dtype
        )
        vis_bias, log_sigma, log_sigma_floor = self._initial_visible(X, dtype)
        return {
            "W": np.ascontiguousarray(W),
            "b": vis_bias,
            "c": np.zeros(self.n_components, dtype=dtype),
            "log_sigma": log_sigma,
            "log_sigma_floor": log_sigma_floor,
            "h_samples": np.zeros(
                (self._n_chain_rows(), self.n_components), dtype=dtype
            ),
            "W_velocity": np.zeros((self.n_components, n_features), dtype=dtype),
            "b_velocity": np.zeros(n_features, dtype=dtype),
            "c_velocity": np.zeros(self.n_components, dtype=dtype),
            "log_sigma_velocity": np.zeros(n_features, dtype=dtype),
        }

    def _epoch_plan(self, X, params, seed):
        """``(run_epoch, monitor)`` for the whole-epoch CD kernel."""
        from ._kernels._cd import GaussianVisible, epoch_blocks, rbm_epoch, split_input
        from ._kernels._rng import seed_state
        from ._kernels._sync import available_threads
        from ._kernels._tempering import Tempering, temperature_ladder

        bounds = batch_bounds(X.shape[0], self.batch_size)
        data = split_input(X)
        n_chains = params["h_samples"].shape[0]
        n_rows = max(self.batch_size, n_chains, int(np.diff(bounds).max()))
        rng_state = seed_state(seed, n_rows)
        monitor = RBMMonitor(X, seed, params["W"].dtype, self._gaussian, self._groups())
        gaussian = None
        if self._gaussian:
            gaussian = GaussianVisible(
                params["log_sigma"],
                self._learns_sigma(),
                params["log_sigma_floor"],
                params["log_sigma_velocity"],
                _MAX_LOG_SIGMA_STEP,
            )
        options = dict(
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            n_gibbs_steps=self.k,
            persistent=self.persistent,
            velocity=(params["W_velocity"], params["b_velocity"], params["c_velocity"]),
            gaussian=gaussian,
            groups=self._groups(),
            tempering=(
                Tempering(temperature_ladder(self.n_temperatures), self._n_chains())
                if self._tempered()
                else None
            ),
            # Blocks from the parameters and shapes only (never from X's
            # length or the thread count), so partial_fit and fit split alike.
            n_blocks=epoch_blocks(
                self.batch_size, n_chains, X.shape[1], self.n_components
            ),
            n_threads=available_threads(),
        )
        model = (params["W"], params["b"], params["c"])
        chains = (params["h_samples"], rng_state)
        swaps = {}

        def run_epoch():
            swaps["swap_acceptance"] = rbm_epoch(data, bounds, model, chains, **options)

        def monitor_with_swaps(params):
            return {**monitor(params), **swaps}

        return run_epoch, monitor_with_swaps if self._tempered() else monitor

    def _checked_parameters(self, params):
        checked = {
            "components_": params["W"],
            "intercept_visible_": params["b"],
            "intercept_hidden_": params["c"],
        }
        if self._learns_sigma():
            checked["sigma_"] = np.exp(params["log_sigma"])
        return checked

    def _finish_fit(self, X, params, history):
        """Plan log Z, then set every fitted attribute at once."""
        log_sigma = params["log_sigma"] if self._gaussian else None
        vis_bias = params["b"]
        if self._gaussian:  # the kernels learn a / sigma; report a
            vis_bias = (vis_bias * np.exp(log_sigma)).astype(vis_bias.dtype)
        plan = self._log_partition_plan(X, params["W"], vis_bias, log_sigma)
        self.components_ = params["W"]
        self.intercept_visible_ = vis_bias
        self.intercept_hidden_ = params["c"]
        if self._gaussian:
            self.sigma_ = np.exp(params["log_sigma"])
        self.h_samples_ = params["h_samples"]
        self._W_velocity = params["W_velocity"]
        self._b_velocity = params["b_velocity"]
        self._c_velocity = params["c_velocity"]
        self._log_sigma_velocity = params["log_sigma_velocity"]
        self._log_sigma_floor = params["log_sigma_floor"]
        self._n_features_out = self.n_components
        self.history_ = history
        self.n_iter_ = len(history["epoch"])
        self._log_partition_cache = LogPartitionCache(plan)

    def _log_partition_plan(self, X, W, b, log_sigma):
        return rbm_log_partition_plan(self, X, W, b, log_sigma)

    def _compute_log_partition(self, plan):
        return rbm_log_partition(self, plan)

    # ------------------------------------------------------------- inference
    @blas_pinned
    def transform(self, X):
        """Hidden-unit activation probabilities ``p(h = 1 | v = X)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to be transformed.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representations of the data. Finite rows so large that
            the hidden units' input overflows (Gaussian visible units,
            values near float64's limit) raise ``ValueError``: nothing
            returned is NaN.
        """
        check_is_fitted(self)
        return self._hidden_means(self._validate_X(X, reset=False))

    def _hidden_means(self, X):
        """:meth:`transform` of validated rows."""
        from ._kernels._layers import bernoulli_mean_
        from ._kernels._rbm_inference import hidden_probabilities
        from ._kernels._sync import available_threads

        X = self._scaled(X)
        W, c = self.components_, self.intercept_hidden_
        if not sp.issparse(X):
            # NumPy's dtype promotion, as scikit-learn's X @ W.T: float32
            # rows of a float64 model (or the reverse) give float64
            dtype = np.result_type(X.dtype, W.dtype)
            out = hidden_probabilities(
                np.ascontiguousarray(X, dtype=dtype),
                np.ascontiguousarray(W, dtype=dtype),
                np.ascontiguousarray(c, dtype=dtype),
                available_threads(),
            )
        else:
            out = np.ascontiguousarray(safe_sparse_dot(X, W.T, dense_output=True))
            out += c
            bernoulli_mean_(out)
        return check_no_overflow(out, type(self).__name__)

    @blas_pinned
    def free_energy(self, X):
        """Free energy ``F(v)``, with ``p(v) = exp(-F(v)) / Z``.

        Cheap: no partition function needed. See the class docstring for
        the formula of each visible-unit type.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            Free energy of each row, in nats (float64). Computed in the
            wider of the input's and the model's dtypes, so float64 rows
            are not squeezed into a float32 model's range. Gaussian rows
            too large for that dtype have free energy ``+inf`` (the
            ``|v/σ|²/2`` term outgrows the rest); never NaN.
        """
        from ._kernels._layers import bernoulli_free_energy_term
        from ._kernels._rbm_inference import free_energies
        from ._kernels._sync import available_threads

        check_is_fitted(self)
        X = self._scaled(self._validate_X(X, reset=False))
        W, b, c = self.components_, self._scaled_visible_bias(), self.intercept_hidden_
        if not sp.issparse(X):
            # promoted as in transform: float64 rows of a float32 model are
            # not squeezed into float32 (where 1e39 would become inf)
            dtype = np.result_type(X.dtype, W.dtype)
            W, b, c = (np.ascontiguousarray(a, dtype=dtype) for a in (W, b, c))
            X = np.ascontiguousarray(X, dtype=dtype)
            out = free_energies(X, W, b, c, self._gaussian, available_threads())
            return _overflow_to_inf(out)
        b64 = b.astype(np.float64)
        linear = np.asarray(safe_sparse_dot(X, b64), dtype=np.float64).ravel()
        if self._gaussian:
            squares = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()
            out = 0.5 * squares - linear + 0.5 * np.dot(b64, b64)
        else:
            out = -linear
        pre = np.ascontiguousarray(safe_sparse_dot(X, W.T, dense_output=True))
        pre += c
        bernoulli_free_energy_term(pre, out)
        return _overflow_to_inf(out)

    def _gibbs_chains(self, V_scaled, state, n_steps, clamp=None):
        """Block Gibbs from scaled visible rows (the ``clamp`` entries held
        at their values); samples in data units."""
        from ._kernels._rbm_inference import rbm_gibbs
        from ._kernels._sync import available_threads

        out = rbm_gibbs(
            V_scaled,
            self.components_,
            self._scaled_visible_bias(),
            self.intercept_hidden_,
            state,
            int(n_steps),
            self._gaussian,
            available_threads(),
            clamp,
            self._groups(),
        )
        return self._to_data_units(out)

    def _to_data_units(self, V_scaled):
        """In place: kernel (scaled) visible values -> data units."""
        log_sigma = self._log_sigma()
        if log_sigma is not None and np.any(log_sigma):
            V_scaled *= np.exp(log_sigma).astype(V_scaled.dtype)
        return V_scaled

    def _visible_mean(self, H, evidence=None):
        """``E[v | h = H]`` in data units (the generative down-pass);
        ``evidence`` (Bernoulli units) is added to the pre-activations."""
        from ._kernels._layers import visible_mean_, visible_preactivation

        W = self.components_
        H = np.ascontiguousarray(H, dtype=W.dtype)
        out = np.empty((H.shape[0], W.shape[1]), dtype=W.dtype)
        visible_preactivation(H, W, self._scaled_visible_bias(), out)
        if evidence is not None:
            out += evidence
        visible_mean_(out, self._gaussian, self._groups())
        return self._to_data_units(out)

    @blas_pinned
    def sample(self, n_samples=1, *, n_steps=200, random_state=None):
        """Draw samples from the model by block Gibbs sampling.

        Each chain starts from random visible units (fair coin flips for
        binary units, ``N(intercept_visible_, sigma_²)`` for Gaussian ones)
        and runs ``n_steps`` steps; the last visible sample is returned.

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
            Samples (dtype of ``components_``).
        """
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        n_samples = check_positive_int(n_samples, "n_samples")
        n_steps = check_positive_int(n_steps, "n_steps")

        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        state = seed_state(draw_seed(rng), n_samples)
        v0 = self._chain_starts(int(n_samples), state)
        return self._from_visible(self._gibbs_chains(v0, state, n_steps))

    def _chain_starts(self, n_samples, state):
        """Visible rows the sampling chains start from (scaled), drawn with
        ``state``: fair coin flips, or ``N(a / sigma, 1)``."""
        from ._kernels._layers import gaussian_sample_, random_binary

        W = self.components_
        if self._gaussian:
            v0 = np.tile(self._scaled_visible_bias(), (n_samples, 1))
            gaussian_sample_(v0, np.ones(W.shape[1], W.dtype), state)
            return v0
        return random_binary(n_samples, W.shape[1], W[:1, :1], state)

    def _from_visible(self, V):
        """Visible samples -> what ``sample`` and ``gibbs`` return (a hook:
        :class:`~skebm.CategoricalRBM` decodes its one-hot groups)."""
        return V

    def _one_gibbs_step(self, v):
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        v = self._validate_X(v, reset=False)
        check_dtype_range(v, self.components_.dtype, type(self).__name__)
        v = self._scaled(v)
        v = v.toarray() if sp.issparse(v) else v
        v = np.ascontiguousarray(v, dtype=self.components_.dtype)
        state = seed_state(draw_seed(self.random_state_), v.shape[0])
        return self._from_visible(self._gibbs_chains(v, state, 1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _overflow_to_inf(free_energy):
    """Free energies that overflowed to NaN (inf - inf) on finite input are
    +inf: only Gaussian input is that large, and its ``|v/σ|²/2`` wins."""
    free_energy[np.isnan(free_energy)] = np.inf
    return free_energy
