"""Markov chain Monte Carlo over a continuous energy (``skebm.sampling``,
:class:`skebm.EnergyDensity`).

One chain per row of ``X``: random-walk Metropolis-Hastings, the unadjusted
Langevin algorithm, MALA and HMC (leapfrog), chosen by ``method`` (a
run-time int: one compiled kernel for all four). During the first
``n_warmup`` steps each chain adapts its own log step size by a
Robbins-Monro step towards the target acceptance probability; the steps
after warm-up use the adapted size and count towards the acceptance rate.

The energy is :mod:`._energy_net`'s ``E`` (a quadratic plus a softplus
network; a Gaussian-Bernoulli RBM's free energy is a special case),
annealed towards a diagonal Gaussian base ``E_0(x) = sum_i (x_i -
mu_i)^2 q_i / 2`` as ``E_beta = beta E + (1 - beta) E_0`` (``beta = 1``:
the model itself). :func:`run_ais` moves chains through a ladder of
``beta`` with one transition per rung and returns their log importance
weights.

Row ``r`` draws only from generator row ``r`` and rows go in fixed blocks,
so results never depend on the thread count.
"""

import numpy as np

from ._energy_net import energy_grad, model_work_size
from ._jit import helper, kernel
from ._layers import _polar_normal_pair
from ._rng import load_row, store_row, u64_to_unit, xoshiro_step
from ._sync import run_threads

RWMH, ULA, MALA, HMC = 0, 1, 2, 3
#: Rows per block of the row-parallel samplers.
_BLOCK = 64


@helper(error_model="numpy")
def base_energy(base, x):
    """``E_0(x)`` of the Gaussian base ``(mu, q)``."""
    mu, q = base
    e = 0.0
    for i in range(x.shape[0]):
        d = x[i] - mu[i]
        e += 0.5 * d * d * q[i]
    return e


@helper(error_model="numpy")
def annealed_energy_grad(model, base, beta, x, g, work):
    """``E_beta(x)``; writes its gradient into ``g``."""
    e = energy_grad(model, x, g, work)
    if beta == 1.0:
        return e
    mu, q = base
    e0 = 0.0
    for i in range(x.shape[0]):
        d = x[i] - mu[i]
        e0 += 0.5 * d * d * q[i]
        g[i] = beta * g[i] + (1.0 - beta) * d * q[i]
    return beta * e + (1.0 - beta) * e0


@helper(error_model="numpy")
def _normals(z, s0, s1, s2, s3):
    """Fill ``z`` with standard normals; the new generator words."""
    n = z.shape[0]
    k = 0
    while k < n:
        z1, z2, s0, s1, s2, s3 = _polar_normal_pair(s0, s1, s2, s3)
        z[k] = z1
        if k + 1 < n:
            z[k + 1] = z2
        k += 2
    return s0, s1, s2, s3


@helper(error_model="numpy")
def _propose(energy, method, step, n_leapfrog, x, g, e, y, gy, z, work):
    """Write the proposal into ``y`` (its gradient into ``gy``); return
    ``(E(y), log acceptance ratio)``. ``energy = (model, base, beta)``;
    ``z`` holds standard normals (the momentum for HMC)."""
    model, base, beta = energy
    n = x.shape[0]
    if method == HMC:
        kinetic = 0.0
        for i in range(n):
            y[i] = x[i]
            gy[i] = g[i]
            kinetic += 0.5 * z[i] * z[i]
        ey = e
        for _ in range(n_leapfrog):
            for i in range(n):
                z[i] -= 0.5 * step * gy[i]
                y[i] += step * z[i]
            ey = annealed_energy_grad(model, base, beta, y, gy, work)
            for i in range(n):
                z[i] -= 0.5 * step * gy[i]
        new_kinetic = 0.0
        for i in range(n):
            new_kinetic += 0.5 * z[i] * z[i]
        return ey, (e + kinetic) - (ey + new_kinetic)
    drift = 0.0 if method == RWMH else 0.5 * step * step
    for i in range(n):
        y[i] = x[i] - drift * g[i] + step * z[i]
    ey = annealed_energy_grad(model, base, beta, y, gy, work)
    log_ratio = e - ey
    if method == MALA:  # log q(x | y) - log q(y | x)
        back = 0.0
        forth = 0.0
        for i in range(n):
            r = x[i] - y[i] + drift * gy[i]
            back += r * r
            forth += z[i] * z[i] * step * step
        log_ratio += (forth - back) / (2.0 * step * step)
    return ey, log_ratio


@helper(error_model="numpy")
def _transition(energy, method, step, n_leapfrog, x, g, e, buffers, words):
    """One step of chain state ``(x, g, e)`` (in place); returns ``(e,
    acceptance probability, generator words)``."""
    y, gy, z, work = buffers
    s0, s1, s2, s3 = words
    s0, s1, s2, s3 = _normals(z, s0, s1, s2, s3)
    bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
    ey, log_ratio = _propose(energy, method, step, n_leapfrog, x, g, e, y, gy, z, work)
    if method == ULA:
        prob = 1.0
    elif log_ratio >= 0.0:
        prob = 1.0
    elif log_ratio == log_ratio:  # not NaN: an overflow is a rejection
        prob = np.exp(log_ratio)
    else:
        prob = 0.0
    if method == ULA or u64_to_unit(bits) < prob:
        for i in range(x.shape[0]):
            x[i] = y[i]
            g[i] = gy[i]
        e = ey
    return e, prob, (s0, s1, s2, s3)


@helper(error_model="numpy")
def _buffers(model, n):
    return np.empty(n), np.empty(n), np.empty(n), np.empty(model_work_size(model))


@helper(error_model="numpy")
def _chain(energy, X, r, state, settings, log_step, accepted):
    """Run chain ``r`` (row ``r`` of ``X``, in place) through warm-up and
    sampling at ``energy = (model, base, betas)``'s ``betas[r]``;
    ``accepted[r]``: the mean acceptance probability after warm-up."""
    method, n_warmup, n_steps, n_leapfrog, target = settings
    model, base, betas = energy
    n = X.shape[1]
    x = X[r].copy()
    g = np.empty(n)
    buffers = _buffers(model, n)
    energy = (model, base, betas[r])
    e = annealed_energy_grad(model, base, betas[r], x, g, buffers[3])
    words = load_row(state, r)
    total = 0.0
    for t in range(n_warmup + n_steps):
        step = np.exp(log_step[r])
        e, prob, words = _transition(energy, method, step, n_leapfrog, x, g, e,
                                     buffers, words)  # fmt: skip
        if t < n_warmup:
            if method != ULA:
                log_step[r] += (prob - target) / (t + 1.0) ** 0.6
        else:
            total += prob
    store_row(state, r, words[0], words[1], words[2], words[3])
    for i in range(n):
        X[r, i] = x[i]
    accepted[r] = total / max(n_steps, 1)


@kernel
def _mcmc_kernel(energy, X, state, settings, log_step, accepted, tid, n_threads,
                 sync):  # fmt: skip
    for start in range(tid * _BLOCK, X.shape[0], n_threads * _BLOCK):
        for r in range(start, min(X.shape[0], start + _BLOCK)):
            _chain(energy, X, r, state, settings, log_step, accepted)


def run_chains(model, X, state, settings, log_step, n_threads=1, tempering=None):
    """In place: every row of ``X`` (float64, C order) through its chain;
    ``log_step`` (per row) is adapted in place. Returns the acceptance
    rates after warm-up. ``settings``: (method, n_warmup, n_steps,
    n_leapfrog, target acceptance). ``tempering = (base, betas)``: row
    ``r`` samples ``E_beta`` at ``betas[r]``; None: all at ``beta = 1``."""
    accepted = np.zeros(X.shape[0])
    n_blocks = -(-X.shape[0] // _BLOCK)
    if tempering is None:
        d = X.shape[1]
        tempering = ((np.zeros(d), np.ones(d)), np.ones(X.shape[0]))
    energy = (model, tempering[0], tempering[1])
    args = (energy, X, state, settings, log_step, accepted)
    run_threads(_mcmc_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return accepted


@helper(error_model="numpy")
def _ais_chain(model, base, betas, X, r, state, settings, log_steps, out):
    """Chain ``r`` from its base draw ``X[r]`` up the ladder ``betas``; its
    log weight into ``out[r]``. ``settings = (method, n_leapfrog, target,
    adapt)``: with ``adapt``, the chain adapts its step size on every rung
    and records it in ``log_steps[r]``; without, it uses ``log_steps[0]``."""
    method, n_leapfrog, target, adapt = settings
    n = X.shape[1]
    x = X[r].copy()
    g = np.empty(n)
    buffers = _buffers(model, n)
    words = load_row(state, r)
    log_w = 0.0
    log_step = log_steps[0, 0]
    for k in range(1, betas.shape[0]):
        gap = betas[k] - betas[k - 1]
        e1 = energy_grad(model, x, g, buffers[3])
        log_w += gap * (base_energy(base, x) - e1)
        energy = (model, base, betas[k])
        e = annealed_energy_grad(model, base, betas[k], x, g, buffers[3])
        step = np.exp(log_step if adapt else log_steps[0, k])
        e, prob, words = _transition(energy, method, step, n_leapfrog, x, g, e,
                                     buffers, words)  # fmt: skip
        if adapt:
            log_step += 0.1 * (prob - target)
            log_steps[r, k] = log_step
    store_row(state, r, words[0], words[1], words[2], words[3])
    for i in range(n):
        X[r, i] = x[i]
    out[r] = log_w


@kernel
def _ais_kernel(model, base, betas, X, state, settings, log_steps, out, tid,
                n_threads, sync):  # fmt: skip
    for start in range(tid * _BLOCK, X.shape[0], n_threads * _BLOCK):
        for r in range(start, min(X.shape[0], start + _BLOCK)):
            _ais_chain(model, base, betas, X, r, state, settings, log_steps, out)


def run_ais(model, base, betas, X, state, settings, log_steps, n_threads=1):
    """Log AIS weights of the chains started at the base draws ``X`` (moved
    in place) up ``betas`` (``0 = beta_0 < ... < beta_K = 1``).
    ``log_steps``: shape ``(n_chains, K + 1)``, filled when adapting,
    else row 0 the fixed schedule. See :func:`_ais_chain`."""
    out = np.zeros(X.shape[0])
    n_blocks = -(-X.shape[0] // _BLOCK)
    args = (model, base, betas, X, state, settings, log_steps, out)
    run_threads(_ais_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return out
