"""Log-partition functions of fitted RBMs: exact enumeration and AIS.

The estimators call these same functions, the first time ``score_samples``
(or ``log_partition_``) needs ``log Z`` after training, to make
``score_samples`` a normalised log-probability.

References
----------
Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of deep
belief networks. ICML.
Neal, R. M. (2001). Annealed importance sampling. Statistics and Computing 11.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.special import logit, logsumexp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ._validation import check_dtype_range

__all__ = ["exact_log_partition", "ais_log_partition", "MAX_EXACT_UNITS"]

#: Largest smaller-layer size that exact enumeration accepts (2**20 states).
MAX_EXACT_UNITS = 20

#: ``log(sqrt(2 pi))``: per-unit constant of a unit-variance Gaussian integral.
HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


def _rbm_arrays(rbm):
    """``(W, vis_bias, hid_bias, log_sigma, groups)`` of a fitted RBM of any
    kind; ``log_sigma`` is None except for Gaussian visible units,
    ``groups`` except for softmax groups (:class:`~skebm.CategoricalRBM`)."""
    check_is_fitted(rbm, "components_")
    W = np.ascontiguousarray(rbm.components_)
    b = np.ascontiguousarray(rbm.intercept_visible_, dtype=W.dtype)
    c = np.ascontiguousarray(rbm.intercept_hidden_, dtype=W.dtype)
    sigma = getattr(rbm, "sigma_", None)
    log_sigma = None if sigma is None else np.log(np.asarray(sigma, np.float64))
    groups = getattr(rbm, "_groups", lambda: None)()
    return W, b, c, log_sigma, groups


def _enumerated_sizes(shape, gaussian, groups):
    """``(n_small, n_large)``: the size of the layer an RBM of weights'
    ``shape`` (hidden, visible) enumerates for ``log Z``, and of the one it
    sums out. Only the hidden layer for Gaussian units or softmax groups;
    otherwise the smaller one."""
    n_hidden, n_visible = shape
    if gaussian or groups is not None:
        return n_hidden, n_visible
    return min(shape), max(shape)


def _rbm_exact_log_partition(W, vis_bias, hid_bias, log_sigma=None, groups=None):
    """Exact log Z of an RBM from its arrays (float64 result).

    Bernoulli visible units (``log_sigma=None``): the smaller layer is
    enumerated. Gaussian visible units with standard deviations
    ``exp(log_sigma)``: the hidden layer is enumerated and the visible
    integral taken in closed form,
    ``log Z = logsumexp_h [c·h + sum_i (u_i²/2 + u_i a_i/σ_i)]
    + sum_i log(σ_i √(2π))`` with ``u = Wᵀh``. Softmax groups (int64
    offsets ``groups``): the hidden layer is enumerated and each group
    summed out, ``log Z = logsumexp_h [c·h + sum_g logsumexp_{k in g}
    (b_k + (Wᵀh)_k)]``.
    """
    from ._kernels._ais import log_partition_enumerate

    n_hidden, n_visible = W.shape
    gaussian = log_sigma is not None
    hidden_only = gaussian or groups is not None
    n_small, _ = _enumerated_sizes(W.shape, gaussian, groups)
    if n_small > MAX_EXACT_UNITS:
        kind = "Gaussian visible units" if gaussian else "softmax groups"
        what = (
            f"{n_hidden} hidden units (the hidden layer is enumerated for {kind})"
            if hidden_only
            else f"{n_visible} visible and {n_hidden} hidden units"
        )
        raise ValueError(
            f"Exact log-partition needs a layer of at most {MAX_EXACT_UNITS} "
            f"units to enumerate; this RBM has {what}. Use "
            f"ais_log_partition instead."
        )
    W = np.ascontiguousarray(W, dtype=np.float64)
    vis_bias = np.asarray(vis_bias, dtype=np.float64)
    hid_bias = np.ascontiguousarray(hid_bias, dtype=np.float64)
    if gaussian:
        log_sigma = np.asarray(log_sigma, dtype=np.float64)
        scaled_bias = np.ascontiguousarray(vis_bias * np.exp(-log_sigma))
        log_z = log_partition_enumerate(W, hid_bias, scaled_bias, True, None)
        return float(
            log_z
            - 0.5 * np.dot(scaled_bias, scaled_bias)
            + (log_sigma + HALF_LOG_2PI).sum()
        )
    vis_bias = np.ascontiguousarray(vis_bias)
    if groups is not None:
        groups = np.ascontiguousarray(groups, dtype=np.int64)
        return float(log_partition_enumerate(W, hid_bias, vis_bias, False, groups))
    if n_hidden <= n_visible:
        return float(log_partition_enumerate(W, hid_bias, vis_bias, False, None))
    return float(
        log_partition_enumerate(
            np.ascontiguousarray(W.T), vis_bias, hid_bias, False, None
        )
    )


def _ais_schedule(n_temperatures):
    """Inverse temperatures 0 = β_0 < ... < β_K = 1, K = ``n_temperatures``.

    Spaced as in Salakhutdinov & Murray (2008): 500/14500 of the steps on
    [0, 0.5), 4000/14500 on [0.5, 0.9) and the rest on [0.9, 1].
    """
    n = int(n_temperatures)
    n1 = max(1, round(n * 500 / 14500))
    n2 = max(1, round(n * 4000 / 14500))
    n3 = max(1, n - n1 - n2)
    return np.concatenate(
        [
            np.linspace(0.0, 0.5, n1, endpoint=False),
            np.linspace(0.5, 0.9, n2, endpoint=False),
            np.linspace(0.9, 1.0, n3 + 1),
        ]
    )


#: The base rates are clipped into [eps, 1 - eps] before the logit.
_BASE_RATE_EPS = 1e-6


def _base_rate_bias(X, n_visible):
    """Visible biases of a base-rate model: the log-odds of the Laplace-
    smoothed column means of ``X`` (dense or sparse), float64; zeros when
    ``X`` is None.

    The smoothed means ``(sum + 1) / (n + 2)`` are clipped into
    ``[1e-6, 1 - 1e-6]``, so the biases are finite for any finite ``X``
    (columns outside [0, 1] included); for data in [0, 1] the clip only
    binds with a million rows or more. Used as the AIS base model and as
    the Boltzmann machine's initial visible biases.
    """
    if X is None:
        return np.zeros(n_visible)
    n = X.shape[0]
    total = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    rate = (total + 1.0) / (n + 2.0)
    return logit(np.clip(rate, _BASE_RATE_EPS, 1.0 - _BASE_RATE_EPS))


def _base_category_bias(X, groups):
    """Visible biases of independent categorical variables (softmax groups
    ``groups``) at the data's frequencies: ``log((count + 1) / (n + K))``
    for each category of a group of ``K`` (Laplace-smoothed, so finite);
    zeros when ``X`` is None. Used as the AIS base model and as
    :class:`~skebm.CategoricalRBM`'s initial visible biases."""
    groups = np.asarray(groups)
    sizes = np.diff(groups)
    if X is None:
        return np.zeros(int(groups[-1]))
    total = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    return np.log((total + 1.0) / (X.shape[0] + np.repeat(sizes, sizes)))


#: Smallest variance of the Gaussian AIS base model (scaled coordinates).
_MIN_BASE_VARIANCE = 1e-2


def _base_model(X, vis_bias, log_sigma=None, groups=None):
    """Natural parameters ``(eta, precision)`` of the AIS base model.

    Bernoulli units: ``eta`` are the base-rate biases (:func:`_base_rate_bias`)
    and ``precision`` is unused (ones). Softmax groups: ``eta`` are the log
    Laplace-smoothed frequencies of each category within its group
    (:func:`_base_category_bias`). Gaussian units (scaled coordinates
    ``v / sigma``): the per-feature Gaussian with the data's mean and
    variance (variance floored at 0.01), or without data the model's own
    visible term (mean ``a / sigma``, unit variance).
    """
    n_visible = len(vis_bias)
    if groups is not None:
        return _base_category_bias(X, groups), np.ones(n_visible)
    if log_sigma is None:
        return _base_rate_bias(X, n_visible), np.ones(n_visible)
    inv_sigma = np.exp(-np.asarray(log_sigma, np.float64))
    if X is None or X.shape[0] < 2:
        return np.asarray(vis_bias, np.float64) * inv_sigma, np.ones(n_visible)
    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):  # checked below
        mean = np.asarray(X.mean(axis=0), np.float64).ravel()
        sq = X.multiply(X) if sp.issparse(X) else np.square(X, dtype=np.float64)
        var = np.asarray(sq.mean(axis=0), np.float64).ravel() - mean**2
        var = np.maximum(var * n / (n - 1), 0.0) * inv_sigma**2
    if not np.isfinite(var).all():
        raise ValueError(
            f"X is too large to define the AIS base model: the variance of "
            f"feature {int(np.argmin(np.isfinite(var)))} overflows float64. "
            f"Rescale X as the training data were."
        )
    precision = 1.0 / np.maximum(var, _MIN_BASE_VARIANCE)
    return mean * inv_sigma * precision, precision


def _rbm_ais_log_partition(
    W,
    vis_bias,
    hid_bias,
    base_eta,
    base_precision,
    n_chains,
    n_temperatures,
    seed,
    log_sigma=None,
    groups=None,
):
    """AIS estimate of log Z from arrays: returns ``(log_z, stderr)``.

    ``(base_eta, base_precision)`` come from :func:`_base_model`. ``stderr``
    is the delta-method standard error of ``log Ẑ``:
    ``std(w) / (sqrt(n_chains) * mean(w))`` over the importance weights.
    """
    from ._base import single_threaded_blas
    from ._kernels._ais import rbm_ais
    from ._kernels._rng import seed_state
    from ._kernels._sync import available_threads

    dtype = W.dtype
    gaussian = log_sigma is not None
    betas = _ais_schedule(n_temperatures)
    eta = np.ascontiguousarray(base_eta, dtype=np.float64)
    precision = np.ascontiguousarray(base_precision, dtype=np.float64)
    vis = np.asarray(vis_bias, np.float64)
    if gaussian:
        log_sigma = np.asarray(log_sigma, np.float64)
        vis = vis * np.exp(-log_sigma)
    state = seed_state(seed, n_chains)
    with single_threaded_blas():  # BLAS bits depend on its thread count
        log_w = rbm_ais(
            np.ascontiguousarray(W),
            np.ascontiguousarray(vis, dtype=dtype),
            np.ascontiguousarray(hid_bias, dtype=dtype),
            eta,
            precision,
            betas,
            state,
            gaussian,
            available_threads(),
            None if groups is None else np.ascontiguousarray(groups, np.int64),
        )
    n_hidden = W.shape[0]
    if gaussian:
        # Z_0 = 2**H prod sqrt(2 pi / lambda) exp(eta² / 2 lambda); the
        # annealed target f_1 = -F(v') + |a'|²/2, and dv = prod(sigma) dv'.
        log_z0 = n_hidden * np.log(2.0) + np.sum(
            0.5 * np.log(2.0 * np.pi / precision) + 0.5 * eta**2 / precision
        )
        correction = -0.5 * np.dot(vis, vis) + log_sigma.sum()
    elif groups is not None:  # Z_0 = 2**H prod_g sum_{k in g} exp(eta_k)
        log_z0 = (
            n_hidden * np.log(2.0)
            + np.logaddexp.reduceat(eta, np.asarray(groups[:-1])).sum()
        )
        correction = 0.0
    else:
        log_z0 = n_hidden * np.log(2.0) + np.logaddexp(0.0, eta).sum()
        correction = 0.0
    log_sum_w, stderr = _ais_log_sum_weight(log_w)
    return float(log_z0 + (log_sum_w - np.log(n_chains)) + correction), stderr


def _ais_log_sum_weight(log_w):
    """``(log sum(w), stderr)`` of AIS log-weights ``log_w``: the
    log-sum-exp (``log Ẑ/Z_0 = log sum(w) - log n``), and the delta-method
    standard error of ``log mean(w)``, ``std(w) / (sqrt(n) * mean(w))``."""
    w = np.exp(log_w - log_w.max())
    stderr = w.std(ddof=1) / (np.sqrt(len(w)) * w.mean())
    return logsumexp(log_w), float(stderr)


@validate_params(
    {"rbm": [HasMethods(["free_energy", "transform"])]},
    prefer_skip_nested_validation=True,
)
def exact_log_partition(rbm):
    """Exact log-partition function ``log Z`` of a fitted RBM.

    Enumerates the ``2**n`` binary states of one layer, with the other layer
    summed (Bernoulli units, softmax groups) or integrated (Gaussian) out in
    closed form.

    Parameters
    ----------
    rbm : BernoulliRBM, GaussianBernoulliRBM or CategoricalRBM
        A fitted RBM (``components_``, ``intercept_visible_``,
        ``intercept_hidden_``, and ``sigma_`` for Gaussian visible units).
        A Bernoulli RBM's smaller layer, or the hidden layer of a Gaussian
        or categorical RBM, must have at most :data:`MAX_EXACT_UNITS`
        units.

    Returns
    -------
    log_z : float
        ``log sum_{v,h} exp(-E(v, h))`` in nats (an integral over ``v`` for
        Gaussian visible units, so that ``log p(v)`` is a log density).
    """
    return _rbm_exact_log_partition(*_rbm_arrays(rbm))


@validate_params(
    {
        "rbm": [HasMethods(["free_energy", "transform"])],
        "X": ["array-like", "sparse matrix", None],
        "n_chains": [Interval(Integral, 2, None, closed="left")],
        "n_temperatures": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def ais_log_partition(
    rbm, X=None, *, n_chains=100, n_temperatures=1000, random_state=None
):
    """Annealed importance sampling estimate of ``log Z`` of a fitted RBM.

    Parameters
    ----------
    rbm : BernoulliRBM, GaussianBernoulliRBM or CategoricalRBM
        A fitted RBM.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        Data defining the base model the chains start from: per-feature
        means (a base-rate model, Salakhutdinov & Murray 2008) for
        Bernoulli visible units, per-feature means and variances for
        Gaussian ones, each feature's category frequencies for a
        :class:`~skebm.CategoricalRBM`. ``None`` starts from the uniform distribution
        (Bernoulli) or the model's own visible term (Gaussian), which gives
        noisier estimates.
    n_chains : int, default=100
        Number of independent AIS runs (at least 2, for the standard
        error).
    n_temperatures : int, default=1000
        Number of intermediate distributions (Gibbs transitions per run).
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    log_z : float
        Estimate of ``log Z`` in nats. Its expectation is slightly below the
        true value (Jensen), more so with fewer temperatures.
    stderr : float
        Standard error of ``log_z`` (delta method over the weights).
    """
    if isinstance(n_temperatures, (bool, np.bool_)):
        raise ValueError(f"n_temperatures must be an int, got {n_temperatures!r}.")
    W, b, c, log_sigma, groups = _rbm_arrays(rbm)
    if X is not None:
        # the checks (shape, features, NaN, domain) rbm applies to its input;
        # the chains start from X's statistics in the model's dtype
        X = rbm._validate_X(X, reset=False)
        check_dtype_range(X, W.dtype, type(rbm).__name__)
    eta, precision = _base_model(X, b, log_sigma, groups)
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return _rbm_ais_log_partition(
        W,
        b,
        c,
        eta,
        precision,
        int(n_chains),
        int(n_temperatures),
        seed,
        log_sigma,
        groups,
    )
