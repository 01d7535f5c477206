"""The energy-model skeleton (private): ``fit``, ``partial_fit``, the epoch
loop, ``history_``, divergence checks and the atomic commit of the fitted
attributes, written once for every trained energy model.

Modelled on hmmlearn's ``BaseHMM``: the base owns the training protocol and
a model supplies a few hooks.

``_fitted_marker``
    Name of a fitted attribute: its presence means "fitted", so that
    ``partial_fit`` continues instead of starting.
``_history_keys``
    The per-epoch monitoring values ``history_`` records.
``_check_training_data(X)``
    Checks of validated training data beyond ``_validate_X`` (optional).
``_initial_parameters(X, rng)``
    A dict of fresh parameters, momentum buffers and persistent chains.
``_continued_parameters(X)``
    ``(X, params)`` to continue training from the fitted state (copies:
    a failing ``partial_fit`` must leave the model as it was).
``_epoch_plan(X, params, seed)``
    ``(run_epoch, monitor)``: ``run_epoch()`` trains one epoch on
    ``params`` in place (the kernels' generators seeded from ``seed``),
    ``monitor(params)`` returns the epoch's monitoring values.
``_checked_parameters(params)``
    ``{fitted name: array}`` checked for divergence after every epoch.
``_finish_fit(X, params, history)``
    Set every fitted attribute at once (and plan the log-partition
    estimate, made lazily by :class:`~._log_z.LogPartitionCache`).

A model with ``early_stopping`` also gets held-out scoring
(:mod:`._held_out`): ``best_epoch_`` and a ``validation_log_likelihood``
in ``history_``.
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import check_random_state

from ._base import (
    EpochRecorder,
    atomic_fit,
    blas_pinned,
    check_parameters_finite,
    draw_seed,
    numpy_seed,
)


class _EnergyModelMixin:
    """Training protocol of the energy models; see the module docstring."""

    _fitted_marker = None
    _history_keys = ()

    def _check_training_data(self, X):
        """Checks of validated training data (none by default)."""

    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the data X.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (the class docstring says which values and
            dtypes the model accepts).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted model.
        """
        X, params, rng = self._start(X)
        tracker = None
        if getattr(self, "early_stopping", False):
            X, tracker = self._validation_split(X, rng)
        history = self._train(X, params, self.n_iter, None, tracker)
        self._finish_fit(X, params, history)
        if hasattr(self, "early_stopping"):
            self.best_epoch_ = None if tracker is None else tracker.best_epoch
        return self

    @atomic_fit
    @blas_pinned
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train one epoch over X, continuing from the current state.

        X is split into minibatches of ``batch_size`` rows (unlike
        scikit-learn's ``BernoulliRBM.partial_fit``, which takes X as one
        minibatch); the persistent chains and the momentum carry over
        between calls. The first call starts as ``fit`` does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted model.
        """
        if not hasattr(self, self._fitted_marker):
            X, params, _ = self._start(X)
            previous = None
        else:
            X = self._validate_X(X, reset=False)
            self._check_training_data(X)
            X, params = self._continued_parameters(X)
            previous = self.history_
        history = self._train(X, params, 1, previous)
        self._finish_fit(X, params, history)
        return self

    def _start(self, X):
        """Validated data, fresh parameters and the fit's generator; draws
        ``random_state_`` (the seed source of every later epoch)."""
        X = self._validate_X(X, reset=True)
        self._check_training_data(X)
        rng = check_random_state(self.random_state)
        params = self._initial_parameters(X, rng)
        self.random_state_ = np.random.RandomState(draw_seed(rng, numpy=True))
        return X, params, rng

    def _validation_split(self, X, rng):
        """``(X_train, tracker)``: ``validation_fraction`` of the rows held
        out (drawn from ``rng``) to score each epoch."""
        from sklearn.model_selection import train_test_split

        from ._held_out import HeldOutTracker

        split_seed, ais_seed = (draw_seed(rng) for _ in range(2))
        X_train, X_val = train_test_split(
            X, test_size=self.validation_fraction, random_state=numpy_seed(split_seed)
        )
        tracker = HeldOutTracker(
            X_val,
            X_train,
            self._gaussian,
            ais_seed,
            self.tol,
            self.n_iter_no_change,
            self._groups(),
        )
        return X_train, tracker

    def _train(self, X, params, n_epochs, previous_history, tracker=None):
        """Run ``n_epochs`` epochs on ``params`` (updated in place) and
        return the history; with a ``tracker``, score each epoch on
        held-out rows, stop early and keep the best epoch's parameters."""
        name = type(self).__name__
        run_epoch, monitor = self._epoch_plan(X, params, draw_seed(self.random_state_))
        first_epoch = (
            1 if previous_history is None else len(previous_history["epoch"]) + 1
        )
        recorder = EpochRecorder(name, self.verbose, previous_history, first_epoch)
        keys = self._history_keys
        if tracker is not None:
            keys = (*keys, "validation_log_likelihood")
        for _ in range(n_epochs):
            run_epoch()
            check_parameters_finite(
                name, recorder.epoch, **self._checked_parameters(params)
            )
            values = monitor(params)
            values = {key: values[key] for key in keys if key in values}
            stop = False
            if tracker is not None:
                score = values["validation_log_likelihood"] = tracker.score(params)
                stop = tracker.update(recorder.epoch, score, params)
            recorder.record(**values)
            if stop:
                break
        if tracker is not None and tracker.best_params is not None:
            tracker.restore_best(params)
        return recorder.history(keys)
