"""Log-partition functions of fitted RBMs: exact enumeration and AIS.

The estimators call these same functions at the end of ``fit`` to make
``score_samples`` a normalised log-probability.

References
----------
Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of deep
belief networks. ICML.
Neal, R. M. (2001). Annealed importance sampling. Statistics and Computing 11.
"""

import numpy as np
import scipy.sparse as sp
from scipy.special import logit, logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

__all__ = ["exact_log_partition", "ais_log_partition", "MAX_EXACT_UNITS"]

#: Largest smaller-layer size that exact enumeration accepts (2**20 states).
MAX_EXACT_UNITS = 20


def _bernoulli_params(rbm):
    check_is_fitted(rbm, "components_")
    W = np.ascontiguousarray(rbm.components_)
    b = np.ascontiguousarray(rbm.intercept_visible_, dtype=W.dtype)
    c = np.ascontiguousarray(rbm.intercept_hidden_, dtype=W.dtype)
    return W, b, c


def bernoulli_exact_log_partition(W, vis_bias, hid_bias):
    """Exact log Z of a Bernoulli RBM from its arrays (float64 result)."""
    from ._kernels._ais import log_partition_enumerate

    n_hidden, n_visible = W.shape
    if min(n_hidden, n_visible) > MAX_EXACT_UNITS:
        raise ValueError(
            f"Exact log-partition needs a layer of at most {MAX_EXACT_UNITS} "
            f"units to enumerate; this RBM has {n_visible} visible and "
            f"{n_hidden} hidden units. Use ais_log_partition instead."
        )
    W = np.asarray(W, dtype=np.float64)
    vis_bias = np.asarray(vis_bias, dtype=np.float64)
    hid_bias = np.asarray(hid_bias, dtype=np.float64)
    if n_hidden <= n_visible:
        return float(
            log_partition_enumerate(np.ascontiguousarray(W), hid_bias, vis_bias)
        )
    return float(log_partition_enumerate(np.ascontiguousarray(W.T), vis_bias, hid_bias))


def ais_schedule(n_temperatures):
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


def base_rate_bias(X, n_visible):
    """Visible biases of the AIS base-rate model: smoothed logit of the data
    means (Laplace smoothing keeps them finite); zeros without data."""
    if X is None:
        return np.zeros(n_visible)
    n = X.shape[0]
    total = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    return logit((total + 1.0) / (n + 2.0))


def bernoulli_ais_log_partition(
    W, vis_bias, hid_bias, base_vis_bias, n_chains, n_temperatures, seed
):
    """AIS estimate of log Z from arrays: returns ``(log_z, stderr)``.

    ``stderr`` is the delta-method standard error of ``log Ẑ``:
    ``std(w) / (sqrt(n_chains) * mean(w))`` over the importance weights.
    """
    from ._kernels._ais import bernoulli_rbm_ais
    from ._kernels._rng import seed_state

    dtype = W.dtype
    betas = ais_schedule(n_temperatures)
    base = np.ascontiguousarray(base_vis_bias, dtype=dtype)
    state = seed_state(seed, n_chains)
    log_w = bernoulli_rbm_ais(
        np.ascontiguousarray(W),
        np.ascontiguousarray(vis_bias, dtype=dtype),
        np.ascontiguousarray(hid_bias, dtype=dtype),
        base,
        betas,
        state,
    )
    n_hidden = W.shape[0]
    log_z0 = n_hidden * np.log(2.0) + np.logaddexp(0.0, base.astype(np.float64)).sum()
    log_mean_w = logsumexp(log_w) - np.log(n_chains)
    w = np.exp(log_w - log_w.max())
    stderr = w.std(ddof=1) / (np.sqrt(n_chains) * w.mean())
    return float(log_z0 + log_mean_w), float(stderr)


def exact_log_partition(rbm):
    """Exact log-partition function ``log Z`` of a fitted Bernoulli RBM.

    Enumerates the ``2**n`` states of the smaller layer, with the other layer
    summed out analytically.

    Parameters
    ----------
    rbm : BernoulliRBM
        A fitted RBM (``components_``, ``intercept_visible_``,
        ``intercept_hidden_``) whose smaller layer has at most
        :data:`MAX_EXACT_UNITS` units.

    Returns
    -------
    log_z : float
        ``log sum_{v,h} exp(-E(v, h))`` in nats.
    """
    return bernoulli_exact_log_partition(*_bernoulli_params(rbm))


def ais_log_partition(
    rbm, X=None, *, n_chains=100, n_temperatures=1000, random_state=None
):
    """Annealed importance sampling estimate of ``log Z`` of a fitted RBM.

    Parameters
    ----------
    rbm : BernoulliRBM
        A fitted RBM.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        Data whose per-feature means define the base-rate model the chains
        start from (Salakhutdinov & Murray 2008). ``None`` starts from the
        uniform distribution, which gives noisier estimates.
    n_chains : int, default=100
        Number of independent AIS runs.
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
    W, b, c = _bernoulli_params(rbm)
    if X is not None and sp.issparse(X):
        X = sp.csr_matrix(X)
    base = base_rate_bias(None if X is None else X, W.shape[1])
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return bernoulli_ais_log_partition(
        W, b, c, base, int(n_chains), int(n_temperatures), seed
    )
