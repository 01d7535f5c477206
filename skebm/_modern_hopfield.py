"""The modern (continuous) Hopfield network: softmax retrieval of
real-valued patterns (Ramsauer et al., 2021)."""

from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import _NoBoolParamsMixin, atomic_fit, blas_pinned

#: Bound on the products that retrieval and the energy form (``β |ξ| M``,
#: ``|ξ|²``, ``β M²`` with ``M`` the largest pattern norm): below it no
#: intermediate overflows float64, so no result is NaN.
_MAX_PRODUCT = float(np.finfo(np.float64).max) / 16


def _row_norms(X):
    with np.errstate(over="ignore"):
        return np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))


class ModernHopfieldNetwork(
    _NoBoolParamsMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Modern (continuous) Hopfield network: softmax retrieval.

    Stores real-valued patterns (rows of ``X``) and retrieves from a query
    ``ξ`` by the update of Ramsauer et al. (2020),

    .. math:: \\xi \\leftarrow X^\\top \\operatorname{softmax}(\\beta X \\xi),

    which is attention with the stored patterns as keys and values. With a
    large ``beta`` one update lands on the stored pattern most similar to
    the query; with a small one it returns a weighted mean (a metastable
    state). The update never increases the energy

    .. math:: E(\\xi) = -\\operatorname{lse}(\\beta, X\\xi)
              + \\tfrac12 \\xi^\\top \\xi + \\beta^{-1} \\log p
              + \\tfrac12 M^2,

    with ``lse(β, z) = β⁻¹ log Σ_i exp(β z_i)``, ``p`` stored patterns and
    ``M`` the largest pattern norm; the last two constants make
    ``0 <= E <= 2 M²`` (Ramsauer et al., Lemma A1).

    Parameters
    ----------
    beta : float, default=1.0
        Inverse temperature of the softmax (``1/sqrt(n_features)`` is
        attention's scaling; larger values separate patterns better).
    max_iter : int, default=100
        Maximum number of updates per query.
    tol : float, default=1e-6
        A query has converged when an update moves no coordinate by more
        than ``tol``.

    Attributes
    ----------
    patterns_ : ndarray of shape (n_patterns, n_features)
        The stored patterns (dtype of the training data).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when they are all strings.

    See Also
    --------
    HopfieldNetwork : The classic binary network.

    References
    ----------
    .. [1] Ramsauer, H. et al. (2021). Hopfield networks is all you need.
       ICLR. arXiv:2008.02217.

    Examples
    --------
    >>> import numpy as np
    >>> from skebm import ModernHopfieldNetwork
    >>> X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> net = ModernHopfieldNetwork(beta=20.0).fit(X)
    >>> net.set_params(max_iter=1).transform([[0.7, 0.5, 0.0]]).round(3)
    array([[0.982, 0.018, 0.   ]])
    >>> net.set_params(max_iter=100).transform([[0.7, 0.5, 0.0]]).round(3)
    array([[1., 0., 0.]])
    >>> net.predict([[0.7, 0.5, 0.0]])
    array([0])
    """

    _parameter_constraints: dict = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, beta=1.0, *, max_iter=100, tol=1e-6):
        self.beta = beta
        self.max_iter = max_iter
        self.tol = tol

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the rows of X as patterns (replacing any stored before).

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Real-valued patterns. A pattern whose squared norm (times
            ``beta``) would overflow float64 raises ``ValueError``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : ModernHopfieldNetwork
            The fitted network.
        """
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=True)
        self._check_range(X)
        self.patterns_ = np.array(X)
        return self

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the rows of X to the stored patterns.

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Real-valued patterns. A pattern whose squared norm (times
            ``beta``) would overflow float64 raises ``ValueError``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : ModernHopfieldNetwork
            The fitted network.
        """
        if not hasattr(self, "patterns_"):
            return self.fit(X)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        self._check_range(X)
        self.patterns_ = np.concatenate(
            [self.patterns_, X.astype(self.patterns_.dtype, copy=False)]
        )
        return self

    def _check_range(self, X, largest_pattern_norm=None):
        """``ValueError`` for rows of X whose products in retrieval and in
        the energy (``|x|²`` and ``β |x| M``, with ``M = |x|`` for patterns
        being stored) would overflow float64."""
        norms = _row_norms(X)
        stored = largest_pattern_norm is None
        other = norms if stored else largest_pattern_norm
        with np.errstate(over="ignore"):
            products = np.maximum(norms**2, float(self.beta) * norms * other)
        if norms.size and not products.max() < _MAX_PRODUCT:
            row = int(np.nan_to_num(products, nan=np.inf).argmax())
            raise ValueError(
                f"{'Pattern' if stored else 'Row'} {row} of X is too large for "
                f"{type(self).__name__}: its squared norm, or its norm times "
                f"beta={self.beta!r} and the largest pattern norm, exceeds "
                f"{_MAX_PRODUCT:.3g}, beyond float64 arithmetic. Rescale X"
                f"{'' if stored else ' as the patterns were'}."
            )

    def _queries(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        Q = np.array(X, dtype=np.float64, order="C")  # a copy, always
        self._check_range(Q, _row_norms(np.asarray(self.patterns_, np.float64)).max())
        return X, Q

    @blas_pinned
    def recall(self, X, *, return_n_iter=False):
        """Retrieve from each row of X by repeated softmax updates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Queries.
        return_n_iter : bool, default=False
            Whether to also return the number of updates and the
            convergence flag of each row.

        Returns
        -------
        retrieved : ndarray of shape (n_samples, n_features)
            Final states (dtype of X). Rows so large that their squared
            norm, or their norm times ``beta`` and the largest pattern
            norm, would overflow float64 raise ``ValueError`` (here and in
            every method that takes queries); nothing returned is NaN.
        n_iter : ndarray of shape (n_samples,), dtype int64
            Updates applied to each row. Only returned if ``return_n_iter``.
        converged : ndarray of shape (n_samples,), dtype bool
            Whether the last update moved no coordinate by more than
            ``tol``. Only returned if ``return_n_iter``.
        """
        from ._kernels._hopfield import modern_hopfield_retrieve

        X, Q = self._queries(X)
        n = Q.shape[0]
        n_iter = np.zeros(n, dtype=np.int64)
        converged = np.zeros(n, dtype=bool)
        modern_hopfield_retrieve(
            np.ascontiguousarray(self.patterns_, dtype=np.float64),
            Q,
            float(self.beta),
            int(self.max_iter),
            float(self.tol),
            n_iter,
            converged,
        )
        out = Q.astype(X.dtype, copy=False)
        return (out, n_iter, converged) if return_n_iter else out

    def transform(self, X):
        """Retrieve from each row of X (see :meth:`recall`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Queries.

        Returns
        -------
        retrieved : ndarray of shape (n_samples, n_features)
            Retrieved states (dtype of X); ``ValueError`` for rows beyond
            float64's range, as :meth:`recall`.
        """
        return self.recall(X)

    @blas_pinned
    def predict(self, X):
        """Index of the stored pattern closest (Euclidean) to each retrieved
        state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Queries.

        Returns
        -------
        index : ndarray of shape (n_samples,), dtype int64
            Row of ``patterns_`` nearest to the retrieved state
            (``ValueError`` for rows beyond float64's range, as
            :meth:`recall`).
        """
        R = np.asarray(self.recall(X), dtype=np.float64)
        P = np.asarray(self.patterns_, dtype=np.float64)
        dist2 = (P * P).sum(axis=1) - 2.0 * (R @ P.T)  # + |r|², same per row
        return dist2.argmin(axis=1).astype(np.int64)

    @blas_pinned
    def energy(self, X):
        """Energy ``E(ξ)`` of each row (see the class docstring).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            ``-lse(β, Xξ) + ½ξᵀξ + β⁻¹ log p + ½M²`` (float64, >= 0).
            Rows beyond float64's range raise ``ValueError`` (see
            :meth:`recall`).
        """
        _, Q = self._queries(X)
        P = np.asarray(self.patterns_, dtype=np.float64)
        beta = float(self.beta)
        # -lse(β, Pξ) + log(p)/β, as one quotient: finite for any beta > 0
        # (log(p)/β alone overflows for tiny beta)
        lse_term = (logsumexp(beta * (Q @ P.T), axis=1) - np.log(P.shape[0])) / beta
        M2 = float((P * P).sum(axis=1).max())
        return -lse_term + 0.5 * (Q * Q).sum(axis=1) + 0.5 * M2

    def score_samples(self, X):
        """Negative energy of each row: higher means closer to the memories.

        Not a log-probability (``-energy(X)``, see :meth:`energy`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States.

        Returns
        -------
        score : ndarray of shape (n_samples,)
            ``-E(x)`` for each row (``ValueError`` for rows beyond
            float64's range, as :meth:`recall`).
        """
        return -self.energy(X)

    def score(self, X, y=None):
        """Mean negative energy of the rows of X (see :meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States.
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
