"""Restricted Boltzmann machine over categorical features: one softmax
group of visible units per feature (issue 23: mixed and binned tables)."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import blas_pinned, draw_seed
from ._rbm_base import _BaseRBM
from ._validation import check_clamp, check_positive_int

#: Largest one-hot layer (sum of the features' categories) fit accepts: a
#: code of 1e9 would otherwise allocate a weight matrix of that width.
MAX_VISIBLE_UNITS = 2**20


class CategoricalRBM(_BaseRBM):
    """Restricted Boltzmann machine over categorical features.

    Each feature of ``X`` is a category code ``0, 1, ..., K_f - 1`` (as
    :class:`~sklearn.preprocessing.OrdinalEncoder` or
    :class:`~sklearn.preprocessing.KBinsDiscretizer` with
    ``encode="ordinal"`` make them). The model one-hot encodes feature
    ``f`` into a *softmax group* of ``K_f`` binary visible units of which
    exactly one is on (Salakhutdinov, Mnih and Hinton 2007), with binary
    hidden units:

    .. math:: E(v, h) = -b^\\top v - c^\\top h - h^\\top W v,
              \\qquad p(v_f = k \\mid h) = \\frac{e^{a_k}}
              {\\sum_{k' \\in f} e^{a_{k'}}},\\quad a = b + W^\\top h.

    Unlike a :class:`BernoulliRBM` on one-hot columns, the model puts no
    probability on impossible rows (two categories of one feature at once,
    or none), so :meth:`score_samples` is a normalised log-probability over
    the ``prod_f K_f`` possible rows, and the hidden units model how the
    features depend on each other: a density model for categorical and
    binned numeric tables, e.g. inside :class:`EnergyOutlierDetector`.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.
    min_categories : int, array-like of shape (n_features,) or None, \
default=None
        Smallest number of categories of each feature (of every feature for
        an int). ``None``: one more than the largest code seen in ``fit``.
        Codes at or above this number are refused after ``fit``.
    learning_rate : float, default=0.1
        Step size of the gradient updates (averaged over the minibatch).
    batch_size : int, default=10
        Rows per minibatch (and persistent chains, unless ``n_chains``).
    n_iter : int, default=10
        Number of epochs (passes over the training data).
    k : int, default=1
        Block-Gibbs steps per minibatch in the negative phase.
    persistent : bool, default=True
        Persistent chains (PCD, as :class:`BernoulliRBM`), or restarting
        from the data each minibatch (CD-k) if False.
    n_chains : int or None, default=None
        Number of persistent chains; ``None`` is ``batch_size``.
    momentum : float, default=0.0
        Momentum of the parameter updates, in [0, 1).
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    log_partition : {"auto", "exact", "ais"} or None, default="auto"
        How :meth:`score_samples` gets ``log Z`` when first needed:
        ``"exact"`` enumerates the ``2**n_components`` hidden states (at
        most 20 hidden units) with each softmax group summed out in closed
        form; ``"ais"`` runs annealed importance sampling from independent
        categorical variables at the training data's frequencies;
        ``"auto"`` enumerates when that is cheap. None: no ``log Z``.
    n_ais_chains : int, default=100
        AIS chains.
    n_ais_temperatures : int, default=1000
        AIS intermediate distributions.
    verbose : int, default=0
        If positive, print one line per epoch (also in ``history_``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the chains and the AIS estimate. Results depend
        only on this seed, not on the number of threads.

    Attributes
    ----------
    n_categories_ : ndarray of shape (n_features_in_,), dtype int64
        Categories of each feature.
    components_ : ndarray of shape (n_components, sum(n_categories_))
        Weights ``W``; columns in feature order, each feature's categories
        in code order.
    intercept_visible_ : ndarray of shape (sum(n_categories_),)
        Visible biases ``b`` (the log-frequencies of the categories in the
        training data at the start of training).
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``c``.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains.
    history_ : dict of lists
        Per epoch: ``epoch``, ``pseudo_log_likelihood`` (``n_features *
        log p(x_f | x_-f)`` of one feature per monitored row),
        ``reconstruction_error`` (on the one-hot units) and ``time``.
    n_iter_ : int
        Epochs trained.
    log_partition_ : float or None
        ``log Z`` (computed on first use).
    log_partition_stderr_ : float or None
        Its standard error (0 when exact).
    log_partition_method_ : {"exact", "ais"} or None
        How it was computed.
    random_state_ : RandomState
        Generator of later draws (partial_fit epochs, gibbs, the AIS seed).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    BernoulliRBM : Independent binary visible units.
    EnergyOutlierDetector : Flag unlikely rows with any density model.
    sklearn.naive_bayes.CategoricalNB : The same encoding of the input.

    References
    ----------
    .. [1] Salakhutdinov, R., Mnih, A. and Hinton, G. (2007). Restricted
       Boltzmann machines for collaborative filtering. ICML.
    .. [2] Tieleman, T. (2008). Training restricted Boltzmann machines using
       approximations to the likelihood gradient. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import CategoricalRBM
    >>> X = np.array([[0, 2], [1, 0], [0, 2], [1, 0], [2, 1]])
    >>> model = CategoricalRBM(n_components=2, n_iter=50, random_state=0).fit(X)
    >>> model.n_categories_
    array([3, 3])
    >>> p = np.exp(model.score_samples([[0, 2], [0, 0]]))
    >>> bool(p[0] > p[1])
    True
    """

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in _BaseRBM._parameter_constraints.items()
            if key
            not in (
                "sampler",
                "n_temperatures",
                "early_stopping",
                "validation_fraction",
                "n_iter_no_change",
                "tol",
            )
        },
        "min_categories": [
            Interval(Integral, 1, None, closed="left"),
            "array-like",
            None,
        ],
    }

    def __init__(
        self,
        n_components=256,
        *,
        min_categories=None,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        k=1,
        persistent=True,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        log_partition="auto",
        n_ais_chains=100,
        n_ais_temperatures=1000,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.min_categories = min_categories
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.log_partition = log_partition
        self.n_ais_chains = n_ais_chains
        self.n_ais_temperatures = n_ais_temperatures
        self.verbose = verbose
        self.random_state = random_state

    # -------------------------------------------------------------- input
    def _validate_codes(self, X, *, reset):
        """``X`` validated as category codes: float64 ``(n, n_features)``
        of non-negative integers (below ``n_categories_`` after fit)."""
        X = validate_data(self, X, dtype=np.float64, reset=reset)
        return self._check_codes(X)

    def _check_codes(self, X):
        """The domain check of the codes (a hook: tests switch it off)."""
        name = type(self).__name__
        checks = ((X < 0, "Negative"), (X != np.floor(X), "Non-integer"))
        for bad, what in checks:
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise ValueError(
                    f"{what} values in data passed to {name}: it takes "
                    f"category codes 0, 1, 2, ... (non-negative integers, "
                    f"e.g. from OrdinalEncoder or "
                    f"KBinsDiscretizer(encode='ordinal')); got "
                    f"{X[row, col]!r} at row {row}, column {col}."
                )
        return X

    def _set_categories(self, codes):
        n_features = codes.shape[1]
        biggest = codes.max(axis=0)
        if biggest.max() >= MAX_VISIBLE_UNITS:
            f = int(np.argmax(biggest))
            raise ValueError(
                f"Category code {biggest[f]!r} of feature {f} is too large: "
                f"the one-hot layer may have at most {MAX_VISIBLE_UNITS} units. "
                f"Number each feature's categories 0, 1, 2, ... (OrdinalEncoder)."
            )
        seen = biggest.astype(np.int64) + 1
        least = self.min_categories
        if least is None:
            least = 1
        least = np.asarray(least)
        if least.ndim == 1 and least.shape[0] != n_features or least.ndim > 1:
            raise ValueError(
                f"min_categories must be an int or hold one int per feature "
                f"({n_features}), got {self.min_categories!r}."
            )
        if least.dtype.kind not in "iu" or (least < 1).any():
            raise ValueError(
                f"min_categories must hold positive integers, got "
                f"{self.min_categories!r}."
            )
        if (least > MAX_VISIBLE_UNITS).any():
            raise ValueError(
                f"min_categories={self.min_categories!r} is too large: the "
                f"one-hot layer may have at most {MAX_VISIBLE_UNITS} units."
            )
        least = np.broadcast_to(least, (n_features,))
        n_categories = np.maximum(seen, least).astype(np.int64)
        if n_categories.sum() > MAX_VISIBLE_UNITS:
            f = int(np.argmax(n_categories))
            raise ValueError(
                f"The features' categories add up to {n_categories.sum()} "
                f"visible units; the one-hot layer may have at most "
                f"{MAX_VISIBLE_UNITS}: feature {f} has "
                f"{n_categories[f]} categories (codes up to {n_categories[f] - 1}). "
                f"Number each feature's categories 0, 1, 2, ... (OrdinalEncoder)."
            )
        self.n_categories_ = n_categories

    def _validate_X(self, X, *, reset, dtype=None):
        """Category codes -> their one-hot encoding (CSR, float64): the
        visible units the kernels train on."""
        if sp.issparse(X):
            raise TypeError(
                f"{type(self).__name__} takes dense category codes, got a "
                f"sparse matrix; pass X.toarray()."
            )
        codes = self._validate_codes(X, reset=reset)
        if reset:
            self._set_categories(codes)
        return self._one_hot(codes)

    def _one_hot(self, codes):
        n_cat = self.n_categories_
        too_big = codes >= n_cat
        if too_big.any():
            row, col = np.argwhere(too_big)[0]
            raise ValueError(
                f"Category {int(codes[row, col])} of feature {col} (row {row}) "
                f"was not seen in fit: this model has {n_cat[col]} categories "
                f"for it (codes 0 to {n_cat[col] - 1}). Refit, or set "
                f"min_categories."
            )
        n, n_features = codes.shape
        offsets = self._groups()
        columns = (codes.astype(np.int64) + offsets[:-1]).ravel()
        return sp.csr_matrix(
            (
                np.ones(n * n_features),
                columns,
                np.arange(0, n * n_features + 1, n_features),
            ),
            shape=(n, int(offsets[-1])),
        )

    def _groups(self):
        if not hasattr(self, "n_categories_"):
            return None
        return np.concatenate([[0], np.cumsum(self.n_categories_)]).astype(np.int64)

    def _initial_visible(self, X, dtype):
        from .partition import _base_category_bias

        bias = _base_category_bias(X, self._groups()).astype(dtype)
        zeros = np.zeros(X.shape[1], dtype)
        return bias, zeros, zeros.copy()

    def _decode(self, V):
        """One-hot (or per-category probability) rows -> the most likely
        code of each feature, as float64 codes."""
        groups = self._groups()
        out = np.empty((V.shape[0], groups.size - 1))
        for f in range(groups.size - 1):
            out[:, f] = np.argmax(V[:, groups[f] : groups[f + 1]], axis=1)
        return out

    # ---------------------------------------------------------- inference
    def transform(self, X):
        """Hidden-unit activation probabilities ``p(h = 1 | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Category codes (dense).

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representations of the rows.
        """
        return super().transform(X)

    def free_energy(self, X):
        """Free energy ``F(x)``, with ``p(x) = exp(-F(x)) / Z``: minus the
        visible biases of the rows' categories minus ``sum_j softplus(c_j +
        sum_f W[j, (f, x_f)])``. Cheap: no partition function needed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Category codes (dense).

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            Free energy of each row, in nats (float64).
        """
        return super().free_energy(X)

    @blas_pinned
    def sample(self, n_samples=1, *, n_steps=200, random_state=None):
        """Draw rows from the model by block Gibbs sampling.

        Each chain starts from categories drawn uniformly and runs
        ``n_steps`` steps; the last visible sample is returned.

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
        X : ndarray of shape (n_samples, n_features_in_)
            Category codes (float64).
        """
        return super().sample(n_samples, n_steps=n_steps, random_state=random_state)

    def _chain_starts(self, n_samples, state):
        """Each chain starts from categories drawn uniformly."""
        from ._kernels._layers import softmax_sample_

        v0 = np.zeros((n_samples, self.components_.shape[1]))
        softmax_sample_(v0, self._groups(), state)
        return v0

    def _from_visible(self, V):
        return self._decode(V)

    @blas_pinned
    def gibbs(self, v):
        """Perform one block-Gibbs step ``v -> h -> v'``.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features_in_)
            Category codes to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features_in_)
            Category codes after one Gibbs step (float64).
        """
        return self._one_gibbs_step(v)

    def _clamped_units(self, clamp, codes):
        """``clamp`` on the codes, checked, and spread over their units."""
        mask, _ = check_clamp(clamp, codes)
        if mask is None:
            return None, None
        return mask, np.ascontiguousarray(np.repeat(mask, self.n_categories_, axis=1))

    @blas_pinned
    def reconstruct(self, X, *, n_steps=1, clamp=None, noise=None):
        """The most probable category of each feature after mean-field
        passes.

        One pass maps the one-hot rows to ``h = p(h = 1 | v)``
        (:meth:`transform`) and back to the softmax probabilities of every
        feature's categories; the result is each feature's most probable
        category. With ``clamp``, the marked features are held at their
        categories in ``X`` between passes and only the others are filled
        in (imputation of missing categories by mean field).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Category codes. Entries not clamped are where the passes start
            (any valid category, e.g. the most frequent).
        n_steps : int, default=1
            Up-and-down passes.
        clamp : array-like of bool of shape (n_samples, n_features_in_), \
default=None
            True for the features to hold fixed (observed).
        noise : None
            Not supported (no noise model for categories); must be None.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            Category codes (float64); clamped entries equal ``X``'s.
        """
        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        if noise is not None:
            raise ValueError(
                f"{type(self).__name__}.reconstruct has no noise model: noise "
                f"must be None, got {noise!r}."
            )
        codes = self._validate_codes(X, reset=False)
        start = self._one_hot(codes).toarray()
        mask, units = self._clamped_units(clamp, codes)
        V = start
        for _ in range(n_steps):
            V = self._visible_mean(self._hidden_means(V))
            if units is not None:
                V[units] = start[units]
        out = self._decode(V)
        if mask is not None:
            out[mask] = codes[mask]
        return out

    @blas_pinned
    def sample_conditional(self, X, clamp, *, n_steps=200, random_state=None):
        """Sample the features not in ``clamp`` given those that are.

        Block Gibbs sampling from the rows of ``X``, with the clamped
        features put back after every visible draw: each row's chain
        samples ``p(x_free | x_clamped)`` (multiple imputation of missing
        categories).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Category codes; clamped entries are held, the others are the
            chains' starting values (any valid category).
        clamp : array-like of bool of shape (n_samples, n_features_in_)
            True for the features to hold fixed. None clamps nothing.
        n_steps : int, default=200
            Gibbs steps per row.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's ``random_state``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_in_)
            One sample of category codes per row (float64).
        """
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        codes = self._validate_codes(X, reset=False)
        V = np.ascontiguousarray(self._one_hot(codes).toarray())
        mask, units = self._clamped_units(clamp, codes)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        state = seed_state(draw_seed(rng), V.shape[0])
        out = self._decode(self._gibbs_chains(V, state, n_steps, units))
        if mask is not None:
            out[mask] = codes[mask]
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.positive_only = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
