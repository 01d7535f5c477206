"""Markov chain Monte Carlo over a model's continuous energy.

Four samplers of a density ``p(x) ∝ exp(-F(x))`` over real vectors, each
running one independent chain per row of ``X0``:

- :func:`metropolis`: random-walk Metropolis-Hastings, ``y = x + s z``;
- :func:`langevin`: the unadjusted Langevin algorithm,
  ``y = x - (s²/2) ∇F(x) + s z``, always accepted (biased by O(s));
- :func:`mala`: the same proposal with a Metropolis-Hastings correction
  (exact for any step size);
- :func:`hmc`: Hamiltonian Monte Carlo, ``n_leapfrog`` leapfrog steps of
  size ``s`` with a fresh standard-normal momentum, then the
  Metropolis-Hastings test on the total energy.

``z`` is standard normal. During the first ``n_warmup`` steps each chain
adapts its own step size towards ``target_acceptance`` (a Robbins-Monro
step on ``log s``); the ``n_steps`` steps after warm-up use the adapted
size. The models supported: a fitted :class:`~skebm.EnergyDensity` (its
energy; the chains run on whitened rows, ``(x - mean_) @ whitening_``, so
step sizes are in whitened units, while starting states and samples are in
data units), and a fitted :class:`~skebm.GaussianBernoulliRBM`, whose
energy is its free energy over the visible units (data units, learned
``sigma_`` included).

Chains run in numba kernels; a chain draws only from its own generator, so
the result is the same bits for the same ``random_state`` whatever the
number of threads.
"""

import numpy as np
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

__all__ = ["metropolis", "langevin", "mala", "hmc"]


def _model_space(model):
    """``(arrays, to_model, to_data)``: the model's energy as
    :mod:`._kernels._energy_net`'s ``(theta, sizes, m, p)`` over the
    coordinates the chains run in, and the maps from data units to those
    coordinates and back (an :class:`~skebm.EnergyDensity`'s chains run on
    whitened rows; an RBM's in data units)."""
    from ._rbm import GaussianBernoulliRBM

    if hasattr(model, "_sampling_space"):  # EnergyDensity
        check_is_fitted(model)
        return model._sampling_space()
    if not isinstance(model, GaussianBernoulliRBM):
        raise TypeError(
            f"skebm.sampling samples the energy of a fitted EnergyDensity or "
            f"GaussianBernoulliRBM (its free energy over the visible units); "
            f"got {type(model).__name__}."
        )
    check_is_fitted(model)
    arrays = rbm_net_model(model.components_, model.intercept_visible_,
                           model.intercept_hidden_, model.sigma_)  # fmt: skip
    return arrays, None, None


def rbm_net_model(W, a, c, sigma):
    """A Gaussian-Bernoulli RBM's free energy over its visible units as a
    one-layer energy network (see :mod:`._kernels._energy_net`)."""
    from ._kernels._energy_net import no_mixture

    W, a, c = (np.asarray(v, dtype=np.float64) for v in (W, a, c))
    inv_sigma = 1.0 / np.asarray(sigma, dtype=np.float64)
    theta = np.concatenate([(W * inv_sigma).ravel(), c, -np.ones(len(c))])
    sizes = np.array(W.shape[::-1], dtype=np.int64)
    return (theta, sizes, np.ascontiguousarray(a), inv_sigma, no_mixture(len(a)))


def _run(method, model, X0, n_steps, step_size, n_warmup, target, n_leapfrog,
         random_state):  # fmt: skip
    arrays, to_model, to_data = _model_space(model)
    X = _check_starts(X0, arrays)
    if to_model is not None:
        X = to_model(X)
    result = _run_arrays(method, arrays, X, n_steps, step_size, n_warmup, target,
                         n_leapfrog, random_state)  # fmt: skip
    if to_data is not None:
        result.samples = to_data(result.samples)
    return result


def _check_starts(X0, arrays):
    """``X0`` as a float64 copy, checked (finite, one column per input)."""
    X = check_array(X0, dtype=np.float64, order="C", copy=True)
    if X.shape[1] != arrays[1][0]:
        raise ValueError(
            f"X0 has {X.shape[1]} features, but the model has "
            f"{arrays[1][0]} visible units (input features)."
        )
    return X


def _run_arrays(method, arrays, X, n_steps, step_size, n_warmup, target,
                n_leapfrog, random_state):  # fmt: skip
    """The chains from the rows of ``X`` (float64, C order, checked; moved
    in place) over the kernel model ``arrays``."""
    from ._base import draw_seed
    from ._kernels._mcmc import run_chains
    from ._kernels._rng import seed_state
    from ._kernels._sync import available_threads
    from ._validation import check_number

    check_number(n_steps, "n_steps", low=0, integer=True)
    check_number(n_warmup, "n_warmup", low=0, integer=True)
    check_number(n_leapfrog, "n_leapfrog", low=1, integer=True)
    check_number(step_size, "step_size", low=0.0, strict=True)
    if target is not None:
        check_number(target, "target_acceptance", low=0.0, strict=True)
        if target >= 1:
            raise ValueError(f"target_acceptance must be < 1, got {target!r}.")
    seed = draw_seed(check_random_state(random_state))
    state = seed_state(seed, X.shape[0])
    log_step = np.full(X.shape[0], np.log(float(step_size)))
    settings = (int(method), int(n_warmup), int(n_steps), int(n_leapfrog),
                float(0.0 if target is None else target))  # fmt: skip
    accepted = run_chains(arrays, X, state, settings, log_step, available_threads())
    if not np.all(np.isfinite(X)):
        raise ValueError(
            "The chains left the finite range (the step size is far too large "
            "for this energy): lower step_size."
        )
    return Bunch(samples=X, acceptance_rate=accepted, step_size=np.exp(log_step))


def metropolis(model, X0, *, n_steps=1000, step_size=0.1, n_warmup=500,
               target_acceptance=0.234, random_state=None):  # fmt: skip
    """Random-walk Metropolis-Hastings chains over the model's energy.

    Proposal ``y = x + s z``, accepted with probability
    ``min(1, exp(F(x) - F(y)))``.

    Parameters
    ----------
    model : EnergyDensity or GaussianBernoulliRBM
        A fitted model: ``F`` is its energy (for an RBM, the free energy
        over the visible units).
    X0 : array-like of shape (n_chains, n_features)
        Starting states, one chain per row (data units).
    n_steps : int, default=1000
        Steps per chain after warm-up.
    step_size : float, default=0.1
        Initial step size ``s`` (data units; whitened units for an
        EnergyDensity).
    n_warmup : int, default=500
        Steps per chain before the counted ones, adapting the step size.
    target_acceptance : float, default=0.234
        Acceptance probability the warm-up aims at, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    result : Bunch
        ``samples``: ndarray of shape (n_chains, n_features), each chain's
        state after its last step; ``acceptance_rate``: ndarray of shape
        (n_chains,), the mean acceptance probability over the steps after
        warm-up; ``step_size``: ndarray of shape (n_chains,),
        each chain's (adapted) step size.
    """
    return _run(0, model, X0, n_steps, step_size, n_warmup, target_acceptance,
                1, random_state)  # fmt: skip


def langevin(model, X0, *, n_steps=1000, step_size=0.05, n_warmup=0,
             random_state=None):  # fmt: skip
    """Unadjusted Langevin chains over the model's energy.

    ``x <- x - (s²/2) ∇F(x) + s z``, every move accepted: cheap, but its
    stationary law differs from ``exp(-F)`` by O(s); see :func:`mala`.

    Parameters
    ----------
    model : EnergyDensity or GaussianBernoulliRBM
        A fitted model: ``F`` is its energy (for an RBM, the free energy
        over the visible units).
    X0 : array-like of shape (n_chains, n_features)
        Starting states, one chain per row (data units).
    n_steps : int, default=1000
        Steps per chain after warm-up.
    step_size : float, default=0.05
        Initial step size ``s`` (data units; whitened units for an
        EnergyDensity), kept fixed.
    n_warmup : int, default=0
        Steps per chain before the counted ones.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    result : Bunch
        ``samples``: ndarray of shape (n_chains, n_features), each chain's
        state after its last step; ``acceptance_rate``: ndarray of shape
        (n_chains,), the mean acceptance probability over the steps after
        warm-up (1: nothing is rejected); ``step_size``: ndarray of shape (n_chains,),
        each chain's (adapted) step size.
    """
    return _run(1, model, X0, n_steps, step_size, n_warmup, None, 1, random_state)


def mala(model, X0, *, n_steps=1000, step_size=0.1, n_warmup=500,
         target_acceptance=0.574, random_state=None):  # fmt: skip
    """Metropolis-adjusted Langevin (MALA) chains over the model's energy.

    The Langevin proposal ``y = x - (s²/2) ∇F(x) + s z`` with the
    Metropolis-Hastings correction, so that ``exp(-F)`` is the stationary
    law whatever the step size.

    Parameters
    ----------
    model : EnergyDensity or GaussianBernoulliRBM
        A fitted model: ``F`` is its energy (for an RBM, the free energy
        over the visible units).
    X0 : array-like of shape (n_chains, n_features)
        Starting states, one chain per row (data units).
    n_steps : int, default=1000
        Steps per chain after warm-up.
    step_size : float, default=0.1
        Initial step size ``s`` (data units; whitened units for an
        EnergyDensity).
    n_warmup : int, default=500
        Steps per chain before the counted ones, adapting the step size.
    target_acceptance : float, default=0.574
        Acceptance probability the warm-up aims at, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    result : Bunch
        ``samples``: ndarray of shape (n_chains, n_features), each chain's
        state after its last step; ``acceptance_rate``: ndarray of shape
        (n_chains,), the mean acceptance probability over the steps after
        warm-up; ``step_size``: ndarray of shape (n_chains,),
        each chain's (adapted) step size.
    """
    return _run(2, model, X0, n_steps, step_size, n_warmup, target_acceptance,
                1, random_state)  # fmt: skip


def hmc(model, X0, *, n_steps=1000, step_size=0.1, n_leapfrog=10, n_warmup=500,
        target_acceptance=0.65, random_state=None):  # fmt: skip
    """Hamiltonian Monte Carlo chains over the model's energy.

    Each step draws a standard-normal momentum ``p``, runs ``n_leapfrog``
    leapfrog steps of size ``s``, and accepts with probability
    ``min(1, exp(H_old - H_new))``, ``H = F(x) + |p|²/2``.

    Parameters
    ----------
    model : EnergyDensity or GaussianBernoulliRBM
        A fitted model: ``F`` is its energy (for an RBM, the free energy
        over the visible units).
    X0 : array-like of shape (n_chains, n_features)
        Starting states, one chain per row (data units).
    n_steps : int, default=1000
        Steps per chain after warm-up.
    step_size : float, default=0.1
        Initial step size ``s`` (data units; whitened units for an
        EnergyDensity).
    n_leapfrog : int, default=10
        Leapfrog steps per proposal.
    n_warmup : int, default=500
        Steps per chain before the counted ones, adapting the step size.
    target_acceptance : float, default=0.65
        Acceptance probability the warm-up aims at, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    result : Bunch
        ``samples``: ndarray of shape (n_chains, n_features), each chain's
        state after its last step; ``acceptance_rate``: ndarray of shape
        (n_chains,), the mean acceptance probability over the steps after
        warm-up; ``step_size``: ndarray of shape (n_chains,),
        each chain's (adapted) step size.
    """
    return _run(3, model, X0, n_steps, step_size, n_warmup, target_acceptance,
                n_leapfrog, random_state)  # fmt: skip
