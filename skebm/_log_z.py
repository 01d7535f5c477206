"""When and how the density models compute ``log Z`` (private).

``fit``/``partial_fit`` only *plan* the computation (exact enumeration or
AIS, with the AIS base model, seed and sizes fixed at fit time) and store a
:class:`LogPartitionCache`; the first call that needs ``log Z``
(``score_samples``, ``score``, ``log_partition_``) computes it, once. The
functions here take the estimator (``model``) for its parameters and
fitted arrays.
"""

import threading

import numpy as np

from ._base import draw_seed, single_threaded_blas
from .partition import (
    MAX_EXACT_UNITS,
    _ais_log_sum_weight,
    _ais_schedule,
    _base_model,
    _base_rate_bias,
    _enumerated_sizes,
    _rbm_ais_log_partition,
    _rbm_exact_log_partition,
)

#: ``log_partition="auto"`` enumerates exactly when the enumeration makes
#: at most this many unit updates (about 0.5 s on one core), see
#: :func:`enumeration_is_cheap`.
AUTO_EXACT_COST = 2**25
#: Boltzmann machines: ``"exact"`` refuses machines with more units (RBMs:
#: ``partition.MAX_EXACT_UNITS`` in the enumerated layer).
BM_MAX_EXACT_UNITS = 24
#: Boltzmann machines: ``energy`` and ``score_samples`` enumerate
#: 2**n_hidden states per row.
BM_MAX_ENUMERATED_HIDDEN = 16


def enumeration_is_cheap(n_enumerated, work_per_state, budget=AUTO_EXACT_COST):
    """The rule every density model uses to choose exact enumeration over
    AIS: ``2**n_enumerated`` states, each updated in ``work_per_state``
    operations (an RBM's other layer; a Boltzmann machine's ``n`` fields),
    within ``budget``. (For a Boltzmann machine this enumerates up to 20
    units.)"""
    return 2**n_enumerated * work_per_state <= budget


class LogPartitionCache:
    """``(log_z, stderr, method)`` of a fitted model, computed on first use.

    ``fit``/``partial_fit`` store a new cache holding only the *plan* (how
    to compute ``log Z``: None, an exact enumeration, or AIS with the seed
    and base model fixed at fit time), so training never pays for an
    estimate nobody asked for, and the value does not depend on when it is
    asked for. The first call that needs it computes it (under a lock, so
    concurrent callers share one computation) and keeps it until the next
    training step replaces the cache. Pickles with its value, if computed.
    """

    def __init__(self, plan):
        self.plan = plan
        self.value = None if plan is not None else (None, None, None)
        self._lock = threading.Lock()

    def get(self, compute):
        """The cached value, computing it with ``compute(plan)`` if needed."""
        if self.value is None:
            with self._lock:
                if self.value is None:
                    with single_threaded_blas():  # the bits must not depend on it
                        self.value = compute(self.plan)
        return self.value

    def __getstate__(self):
        return {"plan": self.plan, "value": self.value}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


def rbm_log_partition_plan(model, X, W, b, log_sigma):
    """How ``log Z`` will be computed when first needed (a dict, or
    None): exact enumeration, or AIS with its base model from the
    training data and its seed and sizes fixed now, so that the
    estimate does not depend on when it is made."""
    mode = model.log_partition
    if mode is None:
        return None
    gaussian = log_sigma is not None
    groups = model._groups()
    n_hidden, n_visible = W.shape
    n_small, n_large = _enumerated_sizes(W.shape, gaussian, groups)
    exact_possible = n_small <= MAX_EXACT_UNITS
    if mode == "exact" and not exact_possible:
        layer = "hidden layer" if gaussian or groups is not None else "layer"
        raise ValueError(
            f"log_partition='exact' needs a {layer} of at most "
            f"{MAX_EXACT_UNITS} units; this model has {n_visible} visible "
            f"and {n_hidden} hidden units. Use 'ais' or 'auto'."
        )
    if mode == "exact" or (
        mode == "auto" and exact_possible and enumeration_is_cheap(n_small, n_large)
    ):
        return {"method": "exact", "log_sigma": log_sigma, "groups": groups}
    eta, precision = _base_model(X, b, log_sigma, groups)
    return {
        "method": "ais",
        "log_sigma": log_sigma,
        "groups": groups,
        "eta": eta,
        "precision": precision,
        "n_chains": int(model.n_ais_chains),
        "n_temperatures": int(model.n_ais_temperatures),
        "seed": draw_seed(model.random_state_),
    }


def rbm_log_partition(model, plan):
    """``(log_z, stderr, method)`` of an RBM by the plan of
    :func:`rbm_log_partition_plan`."""
    W, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_
    groups = plan.get("groups")
    if plan["method"] == "exact":
        log_z = _rbm_exact_log_partition(W, b, c, plan["log_sigma"], groups)
        return log_z, 0.0, "exact"
    log_z, stderr = _rbm_ais_log_partition(
        W,
        b,
        c,
        plan["eta"],
        plan["precision"],
        plan["n_chains"],
        plan["n_temperatures"],
        plan["seed"],
        plan["log_sigma"],
        groups,
    )
    return log_z, stderr, "ais"


def boltzmann_log_partition_plan(model, X, n):
    """How ``log Z`` will be computed when first needed (a dict, or
    None), with the AIS base model, seed and sizes fixed now."""
    mode = model.log_partition
    if mode is None:
        return None
    if mode == "exact" and n > BM_MAX_EXACT_UNITS:
        raise ValueError(
            f"log_partition='exact' enumerates all 2**n_units states and "
            f"accepts at most {BM_MAX_EXACT_UNITS} units; this machine has "
            f"{n} ({X.shape[1]} visible + {model.n_hidden} hidden). Use "
            f"'ais' or 'auto'."
        )
    if mode == "exact" or (mode == "auto" and enumeration_is_cheap(n, n)):
        return {"method": "exact"}
    if mode == "auto" and model.n_hidden > BM_MAX_ENUMERATED_HIDDEN:
        return None  # score_samples cannot sum out the hidden units
    base = np.zeros(n)
    base[: X.shape[1]] = _base_rate_bias(X, X.shape[1])
    return {
        "method": "ais",
        "base": base,
        "n_chains": int(model.n_ais_chains),
        "n_temperatures": int(model.n_ais_temperatures),
        "seed": draw_seed(model.random_state_),
    }


def boltzmann_log_partition(model, plan):
    """``(log_z, stderr, method)`` of a Boltzmann machine by the plan of
    :func:`boltzmann_log_partition_plan`."""
    from ._kernels._boltzmann import bm_ais, bm_log_partition
    from ._kernels._rng import seed_state
    from ._kernels._sync import available_threads

    W, b = model.coef_, model.intercept_
    if plan["method"] == "exact":
        return float(bm_log_partition(W, b)), 0.0, "exact"
    base, state = plan["base"], seed_state(plan["seed"], plan["n_chains"])
    betas = _ais_schedule(plan["n_temperatures"])
    log_w = bm_ais(W, b, base, betas, state, available_threads())
    log_sum_w, stderr = _ais_log_sum_weight(log_w)
    log_z0 = np.logaddexp(0.0, base).sum()
    return float(log_z0 + log_sum_w - np.log(len(log_w))), stderr, "ais"


def dbm_check_log_partition(mode, sizes):
    """Refuse ``log_partition="exact"`` for a deep Boltzmann machine with
    layer ``sizes`` that it cannot enumerate (checked before training)."""
    n_even, n_odd = sum(sizes[0::2]), sum(sizes[1::2])
    if mode == "exact" and min(n_even, n_odd) > MAX_EXACT_UNITS:
        raise ValueError(
            f"log_partition='exact' enumerates the even or the odd layers "
            f"and needs one set of at most {MAX_EXACT_UNITS} units; this "
            f"machine has {n_even} units in its even layers (visible "
            f"included) and {n_odd} in its odd layers. Use 'ais' or 'auto'."
        )


def dbm_log_partition_plan(model, X, arrays):
    """How ``log Z`` of a deep Boltzmann machine (the RBM between its even
    and odd layers) will be computed, with the AIS base model and seed
    fixed now; ``arrays`` is the kernels' model tuple."""
    mode = model.log_partition
    if mode is None:
        return None
    sizes = [int(s) for s in arrays[2]]
    dbm_check_log_partition(mode, sizes)
    n_even, n_odd = sum(sizes[0::2]), sum(sizes[1::2])
    n_small, n_large = min(n_even, n_odd), max(n_even, n_odd)
    if mode == "exact" or (
        mode == "auto"
        and n_small <= MAX_EXACT_UNITS
        and enumeration_is_cheap(n_small, n_large)
    ):
        return {"method": "exact"}
    # base model: independent units with the base rates of the data and of
    # its mean-field posteriors in the even hidden layers (of the monitor's
    # rows: at most 256, spread evenly over X)
    from ._monitor import monitor_rows

    MU = model._mean_field(arrays, X[monitor_rows(X.shape[0])])
    even = [MU[:, o : o + n] for o, n in zip(arrays[3][2::2], sizes[2::2])]
    eta = _base_rate_bias(X, sizes[0])
    if even:
        eta = np.concatenate([eta, _base_rate_bias(np.hstack(even), n_even - sizes[0])])
    return {
        "method": "ais",
        "eta": eta,
        "n_chains": int(model.n_ais_chains),
        "n_temperatures": int(model.n_ais_temperatures),
        "seed": draw_seed(model.random_state_),
    }


def dbm_log_partition(model, plan):
    """``(log_z, stderr, method)`` of a deep Boltzmann machine by the plan
    of :func:`dbm_log_partition_plan`."""
    from ._dbm_model import bipartite

    M, b_even, b_odd = bipartite(model.coefs_, model.intercepts_)
    W = np.ascontiguousarray(M.T)  # RBM layout: (odd units, even units)
    if plan["method"] == "exact":
        return _rbm_exact_log_partition(W, b_even, b_odd), 0.0, "exact"
    log_z, stderr = _rbm_ais_log_partition(
        W,
        b_even,
        b_odd,
        plan["eta"],
        np.ones(len(b_even)),
        plan["n_chains"],
        plan["n_temperatures"],
        plan["seed"],
    )
    return log_z, stderr, "ais"
