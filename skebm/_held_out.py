"""Early stopping of the RBMs on held-out log-likelihood (private).

Each epoch, :class:`HeldOutTracker` computes the mean ``log p(v)`` of the
validation rows: ``-F(v) - log Z`` with ``log Z`` exact when enumerating it
is cheap, and otherwise from a small AIS run whose seed, chains and
temperatures stay the same every epoch (common random numbers), so that its
epoch-to-epoch changes follow those of the exact value even where its level
is slightly off. It keeps a copy of the parameters of the best epoch and
says when ``n_iter_no_change`` epochs in a row have not improved on the
best by more than ``tol``.
"""

import numpy as np

from ._log_z import enumeration_is_cheap
from .partition import (
    MAX_EXACT_UNITS,
    _base_model,
    _enumerated_sizes,
    _rbm_ais_log_partition,
    _rbm_exact_log_partition,
)

#: Exact log Z every epoch when enumerating it costs at most this (the
#: score-time rule of ``_log_z`` with a 32 times smaller budget).
TRACK_EXACT_COST = 2**20
#: The AIS run that tracks log Z between epochs otherwise.
TRACK_AIS_CHAINS = 20
TRACK_AIS_TEMPERATURES = 200


class HeldOutTracker:
    """Held-out log-likelihood of each epoch, and early stopping."""

    def __init__(
        self, X_val, X_train, gaussian, seed, tol, n_iter_no_change, groups=None
    ):
        self.X_val = X_val.toarray() if hasattr(X_val, "toarray") else X_val
        self.X_train = X_train
        self.gaussian = gaussian
        self.groups = groups
        self.seed = seed
        self.tol = tol
        self.patience = n_iter_no_change
        self.best_score = -np.inf
        self.best_epoch = None
        self.best_params = None
        self.n_bad = 0

    def score(self, params):
        """Mean ``log p(v)`` of the validation rows under ``params`` (the
        kernels' parameters: Gaussian visible biases and data scaled by
        sigma)."""
        from ._kernels._rbm_inference import free_energies

        W, b, c = params["W"], params["b"], params["c"]
        log_sigma = np.asarray(params["log_sigma"], np.float64)
        V = np.asarray(self.X_val, dtype=W.dtype)
        if self.gaussian:
            V = V * np.exp(-log_sigma).astype(W.dtype)
        free = free_energies(np.ascontiguousarray(V), W, b, c, self.gaussian)
        return float(-free.mean() - self._log_partition(W, b, c, log_sigma))

    def _log_partition(self, W, b, c, log_sigma):
        n_small, n_large = _enumerated_sizes(W.shape, self.gaussian, self.groups)
        if self.gaussian:
            a = (b * np.exp(log_sigma)).astype(W.dtype)  # data units
        else:
            a, log_sigma = b, None
        if n_small <= MAX_EXACT_UNITS and enumeration_is_cheap(
            n_small, n_large, TRACK_EXACT_COST
        ):
            return _rbm_exact_log_partition(W, a, c, log_sigma, self.groups)
        eta, precision = _base_model(self.X_train, a, log_sigma, self.groups)
        log_z, _ = _rbm_ais_log_partition(
            W,
            a,
            c,
            eta,
            precision,
            TRACK_AIS_CHAINS,
            TRACK_AIS_TEMPERATURES,
            self.seed,
            log_sigma,
            self.groups,
        )
        return log_z

    def update(self, epoch, score, params):
        """Record epoch ``epoch``'s score; True when training should stop."""
        if score > self.best_score:
            self.best_epoch = epoch
            self.best_params = {key: value.copy() for key, value in params.items()}
        self.n_bad = 0 if score > self.best_score + self.tol else self.n_bad + 1
        self.best_score = max(self.best_score, score)
        return self.n_bad >= self.patience

    def restore_best(self, params):
        """Put the best epoch's parameters back into ``params``, in place."""
        for key, value in self.best_params.items():
            params[key][...] = value
