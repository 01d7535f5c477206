"""Restoration methods of the energy models (private): mean-field
reconstruction (:meth:`reconstruct`, with ``clamp`` for inpainting) and
clamped Gibbs sampling (:meth:`sample_conditional`).

Mixins of :class:`~skebm._rbm_base._BaseRBM` and
:class:`~skebm.BoltzmannMachine`; the deep belief network composes its
layers' methods (``_dbn.py``).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._base import blas_pinned, draw_seed
from ._validation import (
    check_clamp,
    check_dtype_range,
    check_noise,
    check_positive_int,
    flip_evidence,
)


class _RBMRestorationMixin:
    """``reconstruct`` and ``sample_conditional`` of the RBMs; uses the
    model's ``_validate_X``, ``_hidden_means``, ``_visible_mean``,
    ``_scaled`` and ``_gibbs_chains``."""

    def _visible_posterior_mean(self, H, X, noise):
        """``E[v | h = H, x = X]`` when ``X`` is ``v`` corrupted by
        ``noise`` (flips, or additive Gaussian noise of that sd); the
        plain down-pass ``E[v | h]`` when ``noise`` is None."""
        if noise is None:
            return self._visible_mean(H)
        if self._gaussian:
            mean, var = self._visible_mean(H), np.exp(2.0 * self._log_sigma())
            return (noise**2 * mean + var * X) / (noise**2 + var)
        return self._visible_mean(H, flip_evidence(X, noise))

    @blas_pinned
    def reconstruct(self, X, *, n_steps=1, clamp=None, noise=None):
        """Mean-field reconstruction: the visible units' conditional mean
        given the hidden units' probabilities, ``n_steps`` times.

        One step maps ``v`` to ``h = p(h = 1 | v)`` (:meth:`transform`) and
        back to ``E[v | h]``: ``sigmoid(h @ components_ +
        intercept_visible_)`` for binary visible units,
        ``intercept_visible_ + sigma_ * (h @ components_)`` for Gaussian
        ones. Deterministic; a noisy or partly corrupted row comes back
        closer to what the model has learned (denoising). With ``clamp``,
        the marked entries are held at their values in ``X`` after every
        step and only the others are filled in (inpainting).

        With ``noise``, ``X`` is taken as a corrupted observation of clean
        rows and each step returns the posterior mean of the clean units
        given the hidden units *and* ``X`` (mean-field denoising under that
        noise model). For binary units each entry was flipped with
        probability ``noise``: ``sigmoid(h @ components_ +
        intercept_visible_ + (2x - 1) log((1 - noise) / noise))``. For
        Gaussian units ``noise`` is the standard deviation of additive
        Gaussian noise: ``(noise² E[v | h] + sigma_² x) / (noise² +
        sigma_²)``. The passes then weigh the model against the evidence
        instead of drifting towards the model's favourite rows, so several
        passes help.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to reconstruct. Entries not clamped are the starting
            values of the ones to fill in (e.g. 0.5 or the feature mean).
        n_steps : int, default=1
            Up-and-down passes; each starts from the previous one's means.
        clamp : array-like of bool of shape (n_samples, n_features), default=None
            True for the entries of ``X`` to hold fixed (observed), False
            for those to reconstruct. None reconstructs every entry.
        noise : float, default=None
            The corruption ``X`` carries, for denoising: the probability
            that an entry was flipped, in (0, 0.5), for
            :class:`BernoulliRBM`; the standard deviation of additive
            Gaussian noise, > 0 and in data units, for
            :class:`GaussianBernoulliRBM`. None: no noise model (the plain
            down-pass).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The reconstruction, dense, in the input's dtype (float32 or
            float64).
        """
        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        noise = check_noise(noise, self._gaussian)
        X = self._validate_X(X, reset=False)
        clamp, X_dense = check_clamp(clamp, X, dense=noise is not None)
        dtype = X.dtype
        V = X
        for _ in range(n_steps):
            H = self._hidden_means(V)
            V = self._visible_posterior_mean(H, X_dense, noise)
            if clamp is not None:
                V[clamp] = X_dense[clamp]
        return V.astype(dtype, copy=False)

    @blas_pinned
    def sample_conditional(self, X, clamp, *, n_steps=200, random_state=None):
        """Sample the visible units not in ``clamp`` given those that are.

        Block Gibbs sampling started from the rows of ``X``, with the
        entries marked in ``clamp`` put back to their values in ``X`` after
        every visible draw: the chain of each row samples
        ``p(v_free | v_clamped)`` (inpainting, imputation, or conditional
        generation). Stochastic; for the deterministic counterpart see
        :meth:`reconstruct` with ``clamp``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to condition on. Clamped entries are the values held
            fixed; the others are the chain's starting values.
        clamp : array-like of bool of shape (n_samples, n_features)
            True for the entries of ``X`` to hold fixed (observed), False
            for those to sample. None clamps nothing (plain Gibbs sampling
            started from ``X``).
        n_steps : int, default=200
            Gibbs steps per row.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's
            ``random_state``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            One sample per row (dtype of ``components_``): the clamped
            entries equal to ``X``'s, the others binary for
            :class:`BernoulliRBM`, real for :class:`GaussianBernoulliRBM`.
        """
        from ._kernels._rng import seed_state

        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        X = self._validate_X(X, reset=False)
        check_dtype_range(X, self.components_.dtype, type(self).__name__)
        clamp, X_dense = check_clamp(clamp, X)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        V = self._scaled(np.array(X_dense, dtype=self.components_.dtype, order="C"))
        state = seed_state(draw_seed(rng), V.shape[0])
        mask = None if clamp is None else np.ascontiguousarray(clamp)
        out = self._gibbs_chains(V, state, n_steps, mask)
        if clamp is not None:
            out[clamp] = X_dense[clamp]
        return out


class _BoltzmannRestorationMixin:
    """``reconstruct`` and ``sample_conditional`` of
    :class:`~skebm.BoltzmannMachine`; uses its ``_validate_X`` and
    ``_hidden_marginals``."""

    @blas_pinned
    def reconstruct(self, X, *, n_steps=1, clamp=None, noise=None):
        """Mean-field reconstruction of the visible units.

        One pass takes the hidden marginals given the rows
        (:meth:`transform`), then updates every visible unit at once to its
        conditional mean given the others and the hidden marginals,
        ``sigmoid(b_i + sum_j W_ij x_j)`` over all other units ``j``
        (a parallel mean-field step). Deterministic. With ``noise`` (each
        entry of ``X`` flipped with that probability), the posterior mean
        given ``X`` as well: ``(2x_i - 1) log((1 - noise) / noise)`` is
        added inside the sigmoid.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to reconstruct, values in [0, 1]; entries not clamped are
            starting values.
        n_steps : int, default=1
            Passes, each starting from the previous one's means.
        clamp : array-like of bool of shape (n_samples, n_features), default=None
            True for the entries of ``X`` to hold fixed after every pass,
            False for those to reconstruct (inpainting).
        noise : float, default=None
            Probability, in (0, 0.5), that an entry of ``X`` was flipped,
            for denoising under that noise model (see
            :meth:`BernoulliRBM.reconstruct`). None: no noise model.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Visible means in [0, 1] (float64).
        """
        from scipy.special import expit

        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        noise = check_noise(noise, gaussian=False)
        X = self._validate_X(X, reset=False)
        clamp, X_dense = check_clamp(clamp, X)
        n_visible = X.shape[1]
        W, b = self.coef_, self.intercept_
        V = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
        bias = b[:n_visible] + (0.0 if noise is None else flip_evidence(V, noise))
        for _ in range(n_steps):
            units = np.hstack([V, self._hidden_marginals(V)])
            V = expit(units @ W[:, :n_visible] + bias)
            if clamp is not None:
                V[clamp] = X_dense[clamp]
        return V

    @blas_pinned
    def sample_conditional(self, X, clamp, *, n_steps=500, random_state=None):
        """Sample the visible units not in ``clamp`` given those that are.

        Sequential Gibbs sweeps over the free visible units and all hidden
        units, started from the rows of ``X`` (hidden units from fair coin
        flips); the entries marked in ``clamp`` are never updated, so the
        chain of each row samples ``p(v_free | v_clamped)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to condition on, values in [0, 1]. Clamped entries are the
            values held fixed; the others are the chain's starting values.
        clamp : array-like of bool of shape (n_samples, n_features)
            True for the entries of ``X`` to hold fixed (observed), False
            for those to sample. None clamps nothing.
        n_steps : int, default=500
            Gibbs sweeps per row, as in :meth:`sample`.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains. ``None`` uses the estimator's
            ``random_state``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            One sample per row (float64): the clamped entries equal to
            ``X``'s, the others binary.
        """
        from ._kernels._boltzmann import bm_gibbs
        from ._kernels._rng import seed_state
        from ._kernels._sync import available_threads

        check_is_fitted(self)
        n_steps = check_positive_int(n_steps, "n_steps")
        X = self._validate_X(X, reset=False)
        clamp, X_dense = check_clamp(clamp, X)
        rng = check_random_state(
            self.random_state if random_state is None else random_state
        )
        n_rows, n_visible = X.shape
        state = seed_state(draw_seed(rng), n_rows)
        chains = self._coin_flips(rng, n_rows, self.intercept_.size)
        chains[:, :n_visible] = X_dense
        pinned = np.zeros(chains.shape, dtype=bool)
        if clamp is not None:
            pinned[:, :n_visible] = clamp
        threads = available_threads()
        bm_gibbs(
            chains, self.coef_, self.intercept_, 0, n_steps, state, threads, pinned
        )
        return chains[:, :n_visible].copy()
