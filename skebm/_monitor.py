"""Per-epoch monitoring quantities of the trained models (``history_``):
computed on one fixed subset of the training rows, so that they are
deterministic and comparable across epochs."""

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp

from ._base import numpy_seed

#: Rows of the training data used for the monitoring quantities.
MONITOR_ROWS = 256
#: Softmax groups: alternative rows of a chunk of the pseudo-likelihood.
_ALTERNATIVES = 4096


def monitor_rows(n_samples):
    """Indices of at most ``MONITOR_ROWS`` rows spread evenly over the data."""
    n = n_samples
    return np.unique(np.linspace(0, n - 1, min(n, MONITOR_ROWS)).round().astype(int))


class RBMMonitor:
    """Per-epoch monitoring on a fixed subset of training rows.

    ``pseudo_log_likelihood`` (Bernoulli units): ``n_features * log
    sigmoid(F(ṽ) - F(v))`` with one feature flipped per row (scikit-learn's
    proxy, but with the flipped features fixed by the seed, so it is
    deterministic and comparable across epochs); for softmax groups
    ``n_groups * log p(v_g | v_-g)`` of one group per row, its
    alternatives scored by their free energies. ``reconstruction_error``:
    mean squared difference, in data units, between the rows and their
    mean-field reconstruction ``E[v | E[h | v]]``.
    """

    def __init__(self, X, seed, dtype, gaussian, groups=None):
        V = X[monitor_rows(X.shape[0])]
        V = V.toarray() if sp.issparse(V) else np.array(V)
        self.gaussian, self.groups = gaussian, groups
        self.V = np.ascontiguousarray(V, dtype=dtype)
        if gaussian:
            return  # no flip exists
        if groups is not None:
            self._chosen_groups(seed)
            return
        flip = np.random.RandomState(numpy_seed(seed)).randint(
            0, X.shape[1], V.shape[0]
        )
        V_flip = V.copy()
        idx = np.arange(V.shape[0])
        V_flip[idx, flip] = 1 - V_flip[idx, flip]
        self.V_flip = np.ascontiguousarray(V_flip, dtype=dtype)

    def _chosen_groups(self, seed):
        """One group per row (fixed by the seed): ``chosen``, its ``(lo,
        hi)`` units and the row's own unit in it (``observed``)."""
        groups = self.groups
        rng = np.random.RandomState(numpy_seed(seed))
        self.chosen = rng.randint(0, groups.size - 1, self.V.shape[0])
        self.lo, self.hi = groups[self.chosen], groups[self.chosen + 1]
        column = np.arange(self.V.shape[1])
        inside = (column >= self.lo[:, None]) & (column < self.hi[:, None])
        self.observed = np.argmax(inside & (self.V > 0), axis=1)

    def _group_pseudo_log_likelihood(self, V, W, b, c):
        """``n_groups * mean log p(v_g | v_-g)``: the free energies of a
        row's alternatives differ only through its group's units, so each
        costs one column swap of the hidden input. Rows go by their chosen
        group, in chunks of at most ``_ALTERNATIVES`` alternative rows of
        hidden inputs (never a one-hot row per alternative)."""
        pre = V @ W.T + c  # (rows, hidden)
        base = V @ b
        total = 0.0
        for g in np.unique(self.chosen):
            lo, hi = self.groups[g], self.groups[g + 1]
            rows = np.flatnonzero(self.chosen == g)
            step = max(1, _ALTERNATIVES // (hi - lo))
            for r in np.array_split(rows, -(-rows.size // step)):
                k = self.observed[r]
                alt = (pre[r] - W[:, k].T)[:, None, :] + W[:, lo:hi].T[None]
                neg = (base[r] - b[k])[:, None] + b[lo:hi]
                neg += np.logaddexp(0.0, alt).sum(axis=2)
                total += np.sum(neg[np.arange(r.size), k - lo] - logsumexp(neg, axis=1))
        return float((self.groups.size - 1) * total / V.shape[0])

    def _pseudo_log_likelihood(self, V, W, b, c):
        from ._kernels._rbm_inference import free_energies

        if self.gaussian:
            return np.nan  # no flip exists
        if self.groups is not None:
            return self._group_pseudo_log_likelihood(V, W, b, c)
        gap = free_energies(V, W, b, c, False) - free_energies(
            self.V_flip, W, b, c, False
        )
        return float(np.mean(-V.shape[1] * np.logaddexp(0.0, gap)))

    def __call__(self, params):
        from ._kernels._layers import visible_mean_
        from ._kernels._rbm_inference import hidden_probabilities

        # The kernels that transform and score_samples use (compiled once
        # for all); the rest is a few small NumPy operations.
        W, b, c = params["W"], params["b"], params["c"]
        sigma = np.exp(params["log_sigma"]).astype(W.dtype)
        V = np.ascontiguousarray(self.V / sigma) if self.gaussian else self.V
        pll = self._pseudo_log_likelihood(V, W, b, c)
        recon = hidden_probabilities(V, W, c) @ W + b
        if self.groups is not None:
            recon = np.ascontiguousarray(recon)
            visible_mean_(recon, False, self.groups)
        elif not self.gaussian:
            recon = expit(recon)
        diff = ((V - recon) * sigma).astype(np.float64)
        return {
            "pseudo_log_likelihood": pll,
            "reconstruction_error": float(np.mean(diff * diff)),
        }


class BoltzmannMonitor:
    """``pseudo_log_likelihood`` on a fixed subset of training rows:
    ``Σ_i log p(v_i | v_-i, h)`` over the visible units, with ``h`` the
    mean-field hidden marginals (exact pseudo-likelihood when
    ``n_hidden=0``); deterministic, comparable across epochs."""

    def __init__(self, X, max_iter, tol):
        self.max_iter, self.tol = max_iter, tol
        self.V = np.ascontiguousarray(X[monitor_rows(X.shape[0])])

    def __call__(self, W, b):
        from ._kernels._boltzmann import bm_mean_field, bm_pseudo_log_likelihood

        n_visible = self.V.shape[1]
        if b.size > n_visible:
            H = bm_mean_field(self.V, W, b, self.max_iter, self.tol)
            states = np.ascontiguousarray(np.hstack([self.V, H]))
        else:
            states = self.V
        return float(bm_pseudo_log_likelihood(states, W, b, n_visible))
