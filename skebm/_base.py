"""What every skebm energy model shares: seeding, the epoch loop with its
per-epoch record (``history_``) and verbose line, divergence detection,
all-or-nothing fitting, and ``score_samples``/``score`` of the density
models."""

import functools
import time

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._validation import check_unit_interval, warn_if_not_binary

#: Absolute parameter size treated as divergence.  Sigmoid units saturate
#: long before this, so no sensibly trained model reaches it.
DIVERGENCE_LIMIT = 1e6


def batch_bounds(n_samples, batch_size):
    """Minibatch boundaries as an int64 array: minibatch ``i`` is rows
    ``bounds[i]:bounds[i + 1]``. The same slices scikit-learn's
    ``BernoulliRBM`` uses (``gen_even_slices``)."""
    from sklearn.utils import gen_even_slices

    n_batches = int(np.ceil(n_samples / batch_size))
    slices = gen_even_slices(n_batches * batch_size, n_batches, n_samples=n_samples)
    starts = [s.start for s in slices]
    return np.array(starts + [n_samples], dtype=np.int64)


def draw_seed(rng, *, numpy=False):
    """One 63-bit seed from a RandomState, for the kernels' RNG streams; with
    ``numpy=True`` reduced by :func:`numpy_seed` (for a NumPy
    ``RandomState`` or an estimator's ``random_state``). The one way skebm
    derives a seed from a generator, except the per-layer seeds of the DBNs
    and the AIS seed of :func:`skebm.partition.ais_log_partition`, whose
    formulas their docstrings give."""
    seed = int(rng.randint(np.iinfo(np.int64).max, dtype=np.int64))
    return numpy_seed(seed) if numpy else seed


def numpy_seed(seed):
    """``seed`` reduced to NumPy's seed range, [0, 2**32)."""
    return seed % (2**32)


def bernoulli_draws(rng, probabilities):
    """Binary float64 draws, 1 with the given probabilities, from a NumPy
    ``RandomState`` (one uniform per entry): the chain starts drawn in
    Python; the kernels draw from their own streams."""
    return (rng.uniform(size=probabilities.shape) < probabilities).astype(np.float64)


def resize_chains(chains, n):
    """Persistent chains with ``n`` rows (a C-contiguous copy): the first
    ``n`` if there are more, the existing ones repeated if fewer. The one
    rule for every model whose number of chains changed since fit."""
    return np.ascontiguousarray(np.resize(chains, (n, chains.shape[1])))


class DivergenceError(FloatingPointError, ValueError):
    """Training diverged: a ``FloatingPointError``, and a ``ValueError``
    since its usual cause is the data (not rescaled) or a hyperparameter
    (too large a learning rate)."""


def check_parameters_finite(estimator_name, epoch, **params):
    """Raise :class:`DivergenceError` when training has diverged."""
    for name, value in params.items():
        value = np.asarray(value)
        if value.size and (
            not np.all(np.isfinite(value)) or np.abs(value).max() > DIVERGENCE_LIMIT
        ):
            raise DivergenceError(
                f"{estimator_name} training diverged in epoch {epoch}: {name} "
                f"became non-finite or larger than {DIVERGENCE_LIMIT:g} in "
                f"absolute value. Lower learning_rate (or momentum), or "
                f"rescale the data."
            )


class _NoBoolParamsMixin:
    """Reject ``True``/``False`` for numeric hyperparameters.

    scikit-learn's ``Interval(Integral, ...)`` accepts bools (they are
    ints), so ``n_components=True`` would train a one-unit model or fail
    deep inside NumPy. Put this mixin before ``BaseEstimator``.
    """

    def _validate_params(self):
        from sklearn.utils._param_validation import Interval, InvalidParameterError

        super()._validate_params()
        params = self.get_params(deep=False)
        for name, constraints in self._parameter_constraints.items():
            value = params.get(name)
            if not isinstance(value, (bool, np.bool_)):
                continue
            if "boolean" in constraints or "verbose" in constraints:
                continue
            intervals = [c for c in constraints if isinstance(c, Interval)]
            if intervals:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be "
                    f"a number, not a bool ({intervals[0]}). Got {value!r} "
                    f"instead."
                )


def atomic_fit(method):
    """Decorate ``fit``/``partial_fit``: if it raises, restore the estimator's
    attributes as they were before the call, so a failed fit leaves no
    half-fitted state (validation sets ``n_features_in_`` early)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        before = dict(self.__dict__)
        # generators are advanced in place (partial_fit draws its seed from
        # random_state_ before training fails)
        generators = {
            name: value.get_state()
            for name, value in before.items()
            if isinstance(value, np.random.RandomState)
        }
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            for name, state in generators.items():
                before[name].set_state(state)
            raise

    return wrapper


class EpochRecorder:
    """Collects one row per epoch and prints it when ``verbose``.

    The record is kept on the estimator as ``history_``: a dict of 1-D
    arrays with one entry per epoch (``epoch``, ``time`` and the model's
    monitoring quantities).
    """

    def __init__(self, estimator_name, verbose, previous=None, first_epoch=1):
        self.name = estimator_name
        self.verbose = verbose
        self.rows = []
        self.previous = previous
        self.epoch = first_epoch
        self._t0 = time.perf_counter()

    def record(self, **values):
        now = time.perf_counter()
        row = {"epoch": self.epoch, **values, "time": now - self._t0}
        self._t0 = now
        self.rows.append(row)
        if self.verbose:
            parts = ", ".join(
                f"{k.replace('_', ' ')} = {_format_value(v)}"
                for k, v in row.items()
                if k not in ("epoch", "time")
            )
            elapsed = row["time"]
            name, epoch = self.name, self.epoch
            print(f"[{name}] Iteration {epoch}, {parts}, time = {elapsed:.2f}s")
        self.epoch += 1

    def history(self, keys):
        """The record as a dict of arrays (2-D for a quantity with one value
        per item, such as swap rates per pair of temperatures); a quantity
        recorded earlier but not now (a validation score, by fit but not
        partial_fit) continues with NaN."""
        out = {}
        previous = self.previous or {}
        extra = [key for key in previous if key not in ("epoch", *keys, "time")]
        for key in ("epoch", *keys, *extra, "time"):
            if key in extra:
                new = np.full((len(self.rows), *previous[key].shape[1:]), np.nan)
            else:
                new = np.array([row[key] for row in self.rows], dtype=np.float64)
            if key == "epoch":
                new = new.astype(np.int64)
            if previous:
                # NaN before a quantity's first record (sampler="pt" from
                # partial_fit on) or where its length changed
                # (n_temperatures)
                old = previous.get(key)
                if old is None or old.shape[1:] != new.shape[1:]:
                    n_old = len(previous["epoch"])
                    old = np.full((n_old, *new.shape[1:]), np.nan)
                new = np.concatenate([old, new])
            out[key] = new
        return out


def _format_value(value):
    """A monitoring value for a verbose line: ``0.1234``, or for a vector
    (swap rates) ``[0.12 0.34]``."""
    if np.ndim(value):
        return np.array2string(np.asarray(value), precision=2, separator=" ")
    return f"{value:.4f}"


_CONTROLLER = None


def single_threaded_blas():
    """Context manager: BLAS on one thread while skebm computes.

    OpenBLAS returns different low-order bits for different thread counts
    (its small-matrix path and work split depend on them). Pinning it to one
    thread inside our computations makes every result depend only on the
    seed, as promised, whatever the machine's thread settings.
    """
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if _CONTROLLER is None:
        # The kernels' products go through numba to SciPy's BLAS (its
        # cython_blas), which may not be loaded yet; the controller only
        # sees the libraries loaded when it is created.
        import scipy.linalg.cython_blas  # noqa: F401

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def blas_pinned(method):
    """Decorator: run ``method`` under :func:`single_threaded_blas`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return method(*args, **kwargs)

    return wrapper


class _MeanScoreMixin:
    """``score`` as the mean of ``score_samples`` (put before sklearn's mixins)."""

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over the samples in X.

        For a density model this is the mean log-probability (held-out
        log-likelihood per sample, in nats), so that
        :class:`~sklearn.model_selection.GridSearchCV` without a ``scoring``
        chooses the model that generalises best.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to score.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`: higher is a better fit
            (``-inf`` when a row scores ``-inf``; never NaN).
        """
        return float(np.mean(self.score_samples(X)))


class _DensityScoreMixin(_MeanScoreMixin):
    """``score_samples`` as ``-E(X) - log_partition_``, with ``log Z``
    computed when first needed (:class:`LogPartitionCache`, stored by
    ``fit`` as ``_log_partition_cache``; the model supplies
    ``_compute_log_partition(plan)``)."""

    @property
    def log_partition_(self):
        return self._log_partition_values()[0]

    @property
    def log_partition_stderr_(self):
        return self._log_partition_values()[1]

    @property
    def log_partition_method_(self):
        return self._log_partition_values()[2]

    def _log_partition_values(self):
        cache = self.__dict__.get("_log_partition_cache")
        if cache is None:
            raise AttributeError(
                f"This {type(self).__name__} instance is not fitted yet: it has "
                f"no log-partition function."
            )
        return cache.get(self._compute_log_partition)

    #: Method giving the (free) energy of visible rows, hidden units summed
    #: out, so that ``p(v) = exp(-E(v)) / Z``.
    _score_energy = "energy"
    #: What to use instead when ``log Z`` was not estimated (error message).
    _score_hint = "energy"
    #: Binary visible units: scoring non-binary rows warns.
    _binary_visible = False

    def score_samples(self, X):
        """Log-probability (or log density) ``log p(v)`` of each sample, in nats.

        Computed as minus the free energy of each row (hidden units summed
        out) minus ``log_partition_`` (exact enumeration or AIS, see
        ``log_partition``; estimated on the first call after training, with
        the seed fixed by ``fit``), so it is deterministic: unlike
        scikit-learn's ``BernoulliRBM.score_samples``, not a stochastic
        pseudo-likelihood.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible configurations.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(v)`` of each row: ``-inf`` for a real-valued row too
            large for float64 arithmetic (see ``free_energy``), never NaN.
            Binary units: non-binary rows give ``-F(v) - log Z``, which is
            not a log-probability, with a ``UserWarning``.
        """
        scores = self._unnormalised_score_samples(X)
        if self.log_partition_ is None:
            raise ValueError(
                "score_samples needs log Z, which was not estimated because "
                "log_partition=None. Refit with log_partition='auto', or use "
                f"{self._score_hint}."
            )
        return scores - self.log_partition_

    def _unnormalised_score_samples(self, X):
        """``score_samples(X) + log_partition_``, i.e. ``-E(X)``, with the
        same checks and warnings but without estimating ``log Z``: scores
        up to a constant, for rankings and thresholds
        (:class:`~skebm.EnergyOutlierDetector`)."""
        check_is_fitted(self)
        # the energy first: its own checks (input, model limits) come first
        energy = getattr(self, self._score_energy)(X)
        if self._binary_visible:
            warn_if_not_binary(X, type(self).__name__)
        return -energy


class _UnitIntervalInputMixin:
    """Input of the Boltzmann machines with binary visible units (general
    and deep): dense or sparse rows in [0, 1], as a C-contiguous float64
    array. ``_check_values`` is the domain check alone (the tests' domain-
    free variants override it). Put this mixin before ``BaseEstimator``."""

    def _validate_X(self, X, *, reset):
        import scipy.sparse as sp
        from sklearn.utils.validation import validate_data

        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=np.float64, reset=reset
        )
        X = self._check_values(X, reset)
        X = X.toarray() if sp.issparse(X) else X
        # a private C-contiguous copy only when needed; never written to
        return np.ascontiguousarray(X, dtype=np.float64)

    def _check_values(self, X, reset=True):
        return check_unit_interval(X, type(self).__name__, fitting=reset)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags
