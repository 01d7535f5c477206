"""The classic Hopfield network: an associative memory of binary patterns
(the continuous modern network is in ``_modern_hopfield.py``)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _NoBoolParamsMixin, atomic_fit, blas_pinned, draw_seed

_BINARY, _BIPOLAR = "binary", "bipolar"


def detect_encoding(X, estimator_name):
    """``"binary"`` ({0, 1}), ``"bipolar"`` ({-1, +1}) or None (only ones,
    which fits both); ``ValueError`` for any other value."""
    is_zero = X == 0
    is_minus_one = X == -1
    bad = ~(is_zero | is_minus_one | (X == 1))
    has_zero, has_minus_one = bool(is_zero.any()), bool(is_minus_one.any())
    if bad.any() or (has_zero and has_minus_one):
        detail = (
            f"e.g. {X[bad][0]:.6g}"
            if bad.any()
            else "both 0 and -1, which mixes the two encodings"
        )
        raise ValueError(
            f"{estimator_name} stores binary {{0, 1}} or bipolar {{-1, +1}} "
            f"patterns, but X contains other values ({detail}). Binarise it "
            f"first, e.g. with sklearn.preprocessing.Binarizer."
        )
    if has_zero:
        return _BINARY
    if has_minus_one:
        return _BIPOLAR
    return None


class HopfieldNetwork(
    _NoBoolParamsMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Hopfield network: an associative memory of binary patterns.

    ``fit`` stores the rows of ``X`` in the weights ``coef_``; ``transform``
    recalls, running the network's dynamics from each row until it reaches
    a fixed point, ideally the stored pattern closest to the probe.

    Patterns are binary {0, 1} or bipolar {-1, +1}: the encoding is detected
    in ``fit`` (``encoding_``) and used for every output. Internally the
    units are bipolar, ``s = 2x - 1`` for binary data, and the energy is

    .. math:: E(s) = -\\tfrac12 \\sum_{i \\ne j} W_{ij} s_i s_j

    with ``W = coef_`` symmetric with a zero diagonal and no thresholds.

    Parameters
    ----------
    learning_rule : {"hebbian", "storkey", "pseudoinverse"}, default="hebbian"
        How patterns set the weights (``N = n_features``, bipolar ``ξ``):

        - ``"hebbian"``: ``W = (1/N) Σ_μ ξ^μ ξ^μᵀ``; stores about
          ``0.14 N`` random patterns.
        - ``"storkey"``: Storkey's incremental rule, ``W_ij += (ξ_i ξ_j -
          ξ_i h_ji - h_ij ξ_j) / N`` with ``h_ij = Σ_{k≠i,j} W_ik ξ_k``;
          stores more, and correlated patterns better.
        - ``"pseudoinverse"``: the projection rule ``W = Ξ⁺ Ξ`` (patterns as
          rows of ``Ξ``); every stored pattern is a fixed point as long as
          the patterns are linearly independent (up to ``N - 1`` patterns).

        All three have the diagonal set to zero.
    update : {"async", "sync"}, default="async"
        ``"async"``: one unit at a time, every unit once per sweep in a new
        random order (the energy never increases at ``temperature=0``).
        ``"sync"``: all units at once from the previous state (may end in a
        2-cycle, detected and reported as not converged).
    max_iter : int, default=100
        Maximum number of sweeps (each unit updated once per sweep).
    temperature : float, default=0.0
        0: deterministic updates ``s_i ← sign(h_i)`` (a zero field keeps
        the unit's state) and recall stops at a fixed point. > 0: stochastic
        Glauber updates, ``s_i ← +1`` with probability
        ``1 / (1 + exp(-2 h_i / temperature))``, for exactly ``max_iter``
        sweeps.
    random_state : int, RandomState instance or None, default=None
        Seeds the random unit order of asynchronous recall and the Glauber
        draws. One seed is drawn in ``fit``; recall of a row then depends
        only on that seed and the row, never on the other rows.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_features)
        Weights ``W``, float64, symmetric, zero diagonal. A Hebbian network
        also keeps their integer counts ``N W`` (int16, a quarter of the
        memory of ``coef_``) and recalls on those, exactly and faster; if
        ``coef_`` is changed after fitting, recall notices (a check of every
        weight, on each call) and runs on ``coef_`` as it is.
    patterns_ : ndarray of shape (n_patterns, n_features)
        The stored patterns in the input encoding (kept for
        :meth:`predict` and for the pseudo-inverse rule's
        :meth:`partial_fit`).
    encoding_ : {"binary", "bipolar"}
        Encoding of the patterns (``"binary"`` if they contain only ones).
    n_features_in_ : int
        Number of features (units) seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    ModernHopfieldNetwork : Continuous retrieval with exponential capacity.

    Notes
    -----
    Weights are float64 whatever the input dtype (patterns of ±1 gain
    nothing from float32, and the sign dynamics need exact ties); the
    recalled states take the dtype of the input.

    References
    ----------
    .. [1] Hopfield, J. J. (1982). Neural networks and physical systems with
       emergent collective computational abilities. PNAS 79(8).
    .. [2] Storkey, A. (1997). Increasing the capacity of a Hopfield network
       without sacrificing functionality. ICANN.
    .. [3] Personnaz, L., Guyon, I. and Dreyfus, G. (1986). Collective
       computational properties of neural networks: new learning
       mechanisms. Phys. Rev. A 34(5).
    .. [4] Amit, D. J., Gutfreund, H. and Sompolinsky, H. (1987).
       Statistical mechanics of neural networks near saturation. Annals of
       Physics 173.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import HopfieldNetwork
    >>> patterns = np.array([[1, 1, 1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0, 1, 0]])
    >>> net = HopfieldNetwork(random_state=0).fit(patterns)
    >>> noisy = np.array([[1, 1, 1, 0, 0, 0, 0, 0]])
    >>> net.transform(noisy)
    array([[1., 1., 1., 1., 0., 0., 0., 0.]])
    >>> net.predict(noisy)
    array([0])
    """

    _parameter_constraints: dict = {
        "learning_rule": [StrOptions({"hebbian", "storkey", "pseudoinverse"})],
        "update": [StrOptions({"async", "sync"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        learning_rule="hebbian",
        *,
        update="async",
        max_iter=100,
        temperature=0.0,
        random_state=None,
    ):
        self.learning_rule = learning_rule
        self.update = update
        self.max_iter = max_iter
        self.temperature = temperature
        self.random_state = random_state

    # ------------------------------------------------------------------ input
    def _bipolar(self, X, *, reset):
        """Validated bipolar float64 copy of ``X`` and its encoding."""
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=reset)
        encoding = detect_encoding(X, type(self).__name__)
        S = np.ascontiguousarray(X, dtype=np.float64)
        if encoding == _BINARY:
            S = 2.0 * S - 1.0
        elif S is X:
            S = S.copy()  # the kernels write into S: never the caller's array
        return X, S, encoding

    def _probes(self, X):
        """Validated probes in the fitted encoding: ``(X, bipolar S)``."""
        check_is_fitted(self)
        X, S, encoding = self._bipolar(X, reset=False)
        S = np.ascontiguousarray(S, dtype=np.float64)
        if encoding is not None and encoding != self.encoding_:
            raise ValueError(
                f"X is {encoding} but {type(self).__name__} was fitted on "
                f"{self.encoding_} patterns; pass "
                f"{'{0, 1}' if self.encoding_ == _BINARY else '{-1, +1}'} "
                f"values."
            )
        return X, S

    def _output(self, S, dtype):
        out = (S + 1.0) / 2.0 if self.encoding_ == _BINARY else S
        return out.astype(dtype, copy=False)

    # --------------------------------------------------------------- training
    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the rows of X as patterns (replacing any stored before).

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Patterns, all binary {0, 1} or all bipolar {-1, +1}.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : HopfieldNetwork
            The fitted network.
        """
        X, S, encoding = self._bipolar(X, reset=True)
        S = np.ascontiguousarray(S, dtype=np.float64)
        rng = check_random_state(self.random_state)
        self._seed = draw_seed(rng)
        self.encoding_ = _BINARY if encoding is None else encoding
        W = np.zeros((S.shape[1], S.shape[1]))
        self._learn(W, S, S)
        self.patterns_ = np.array(X)
        return self

    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the rows of X to the stored patterns.

        The Hebbian and Storkey rules update ``coef_`` incrementally
        (Storkey's result depends on the order of the patterns); the
        pseudo-inverse rule recomputes it from all stored patterns.

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Patterns in the encoding of the first call.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : HopfieldNetwork
            The fitted network.
        """
        if not hasattr(self, "coef_"):
            return self.fit(X)
        X, S = self._probes(X)
        W = self.coef_.copy()
        patterns = np.concatenate(
            [self.patterns_, X.astype(self.patterns_.dtype, copy=False)]
        )
        all_bipolar = 2.0 * patterns - 1.0 if self.encoding_ == _BINARY else patterns
        self._learn(W, S, np.ascontiguousarray(all_bipolar, dtype=np.float64))
        self.patterns_ = patterns
        return self

    def _learn(self, W, S_new, S_all):
        """Set ``coef_`` from ``W`` (current weights) and the new patterns."""
        from ._kernels._hopfield import (
            hebbian_counts,
            hebbian_update_,
            pseudoinverse_weights,
            storkey_update_,
        )

        # Weights made by Hebb's rule alone (this fit, or a partial_fit on
        # top of such weights) are multiples of 1/N: recall runs on their
        # integer counts (see hopfield_recall).
        only_hebb = S_new is S_all or getattr(self, "_counts", None) is not None
        counts = None
        if self.learning_rule == "hebbian":
            hebbian_update_(W, S_new)
            if only_hebb:
                counts = hebbian_counts(W, S_all.shape[0])
        elif self.learning_rule == "storkey":
            storkey_update_(W, S_new)
        else:
            W = pseudoinverse_weights(S_all)
        self.coef_ = W
        self._counts = counts

    # ---------------------------------------------------------------- recall
    @blas_pinned
    def recall(self, X, *, return_n_iter=False):
        """Run the network's dynamics from each row of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probes (e.g. corrupted patterns) in the fitted encoding.
        return_n_iter : bool, default=False
            Whether to also return the number of sweeps and the convergence
            flag of each row.

        Returns
        -------
        states : ndarray of shape (n_samples, n_features)
            Final states, in the fitted encoding and the dtype of X.
        n_iter : ndarray of shape (n_samples,), dtype int64
            Sweeps run for each row (1 when the row is already a fixed
            point). Only returned if ``return_n_iter`` is True.
        converged : ndarray of shape (n_samples,), dtype bool
            Whether the last sweep changed no unit, i.e. the row ended in a
            fixed point (at ``temperature=0``). False after ``max_iter``
            sweeps or a 2-cycle of synchronous recall. Only returned if
            ``return_n_iter`` is True.
        """
        from ._kernels._hopfield import counts_match, hopfield_recall
        from ._kernels._rng import probe_states
        from ._kernels._sync import available_threads

        X, S = self._probes(X)
        counts = getattr(self, "_counts", None)
        factor = None
        if counts is not None and not counts_match(self.coef_, counts):
            counts = None  # coef_ was changed after fit: recall on it as is
        if counts is not None and 2 * len(self.patterns_) < S.shape[1]:
            # counts = PᵀP - pI: low-rank initial fields
            factor = np.ascontiguousarray(self.patterns_, dtype=np.float64)
            if self.encoding_ == _BINARY:
                factor = 2.0 * factor - 1.0
        n = S.shape[0]
        n_iter = np.zeros(n, dtype=np.int64)
        converged = np.zeros(n, dtype=bool)
        state = probe_states(S, self._seed)
        hopfield_recall(
            self.coef_,
            S,
            state,
            self.update == "sync",
            float(self.temperature),
            int(self.max_iter),
            n_iter,
            converged,
            n_threads=available_threads(),
            counts=counts,
            factor=factor,
        )
        out = self._output(S, X.dtype)
        return (out, n_iter, converged) if return_n_iter else out

    def transform(self, X):
        """Recall: the state each row of X settles in (see :meth:`recall`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probes in the fitted encoding.

        Returns
        -------
        states : ndarray of shape (n_samples, n_features)
            Recalled states, in the fitted encoding and the dtype of X.
        """
        return self.recall(X)

    def predict(self, X):
        """Index of the stored pattern each row of X is recalled to.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Probes in the fitted encoding.

        Returns
        -------
        index : ndarray of shape (n_samples,), dtype int64
            Row of ``patterns_`` equal to the recalled state (the first one
            if patterns repeat), or -1 when recall ends in a spurious state
            (including the sign-flipped copies ``-ξ`` of stored patterns,
            which are also fixed points).
        """
        states = self.recall(X)
        return self._match(states)

    @blas_pinned
    def _match(self, states):
        to_bipolar = (lambda A: 2.0 * A - 1.0) if self.encoding_ == _BINARY else None
        R = np.asarray(states, dtype=np.float64)
        P = np.asarray(self.patterns_, dtype=np.float64)
        if to_bipolar is not None:
            R, P = to_bipolar(R), to_bipolar(P)
        # overlaps of ±1 vectors are exact integers: equal iff overlap == N
        equal = (R @ P.T) == R.shape[1]
        return np.where(equal.any(axis=1), equal.argmax(axis=1), -1).astype(np.int64)

    # ---------------------------------------------------------------- energy
    @blas_pinned
    def energy(self, X):
        """Energy ``E(s) = -½ sᵀ W s`` of each row (bipolar ``s``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States in the fitted encoding.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            Energy of each row (float64); stored patterns sit in minima.
            Always finite: states are binary or bipolar.
        """
        _, S = self._probes(X)
        return -0.5 * np.einsum("ij,ij->i", S @ self.coef_, S)

    def score_samples(self, X):
        """Negative energy of each row: higher means more familiar.

        Not a log-probability: a Hopfield network has no tractable
        normaliser, so this is ``-energy(X)`` (the log-probability of the
        Boltzmann distribution at temperature 1, up to the unknown constant
        ``log Z``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States in the fitted encoding.

        Returns
        -------
        score : ndarray of shape (n_samples,)
            ``-E(x)`` for each row (finite: states are binary or bipolar).
        """
        return -self.energy(X)

    def score(self, X, y=None):
        """Mean negative energy of the rows of X (see :meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States in the fitted encoding.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Average ``-E(x)``.
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
