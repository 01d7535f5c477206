"""Markov chain Monte Carlo over a continuous energy (``skebm.sampling``).

One chain per row of ``X``: random-walk Metropolis-Hastings, the unadjusted
Langevin algorithm, MALA and HMC (leapfrog), chosen by ``method`` (a
run-time int: one compiled kernel for all four). During the first
``n_warmup`` steps each chain adapts its own log step size by a
Robbins-Monro step towards the target acceptance probability; the steps
after warm-up use the adapted size and count towards the acceptance rate.

The energy is a Gaussian-Bernoulli RBM's free energy over its visible
units, ``model = (W, a, c, inv_sigma)`` in float64:
``F(v) = sum_i (v_i - a_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + sum_i
W_ji v_i / sigma_i)``.

Row ``r`` draws only from generator row ``r`` and rows go in fixed blocks,
so results never depend on the thread count.
"""

import numpy as np

from ._jit import helper, kernel
from ._layers import _polar_normal_pair, sigmoid, softplus
from ._rng import load_row, store_row, u64_to_unit, xoshiro_step
from ._sync import run_threads

RWMH, ULA, MALA, HMC = 0, 1, 2, 3
#: Rows per block of the row-parallel sampler.
_BLOCK = 64


@helper(error_model="numpy")
def energy_grad(model, x, g):
    """``F(x)``; writes ``dF/dx`` into ``g``."""
    W, a, c, inv_sigma = model
    e = 0.0
    for i in range(x.shape[0]):
        d = x[i] - a[i]
        g[i] = d * inv_sigma[i] * inv_sigma[i]
        e += 0.5 * d * g[i]
    for j in range(W.shape[0]):
        pre = c[j]
        for i in range(x.shape[0]):
            pre += W[j, i] * x[i] * inv_sigma[i]
        e -= softplus(pre)
        s = sigmoid(pre)
        for i in range(x.shape[0]):
            g[i] -= s * W[j, i] * inv_sigma[i]
    return e


@kernel(error_model="numpy")
def energies_and_grads(model, X, G):
    """:func:`energy_grad` of every row of ``X`` (gradients into ``G``)."""
    out = np.empty(X.shape[0])
    for r in range(X.shape[0]):
        out[r] = energy_grad(model, X[r], G[r])
    return out


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
def _propose(model, method, step, n_leapfrog, x, g, e, y, gy, z):
    """Write the proposal into ``y`` (its gradient into ``gy``); return
    ``(F(y), log acceptance ratio)``. ``z`` holds standard normals (the
    momentum for HMC)."""
    n = x.shape[0]
    if method == HMC:
        kinetic = 0.0
        for i in range(n):
            y[i] = x[i]
            gy[i] = g[i]
            kinetic += 0.5 * z[i] * z[i]
        for _ in range(n_leapfrog):
            for i in range(n):
                z[i] -= 0.5 * step * gy[i]
                y[i] += step * z[i]
            ey = energy_grad(model, y, gy)
            for i in range(n):
                z[i] -= 0.5 * step * gy[i]
        new_kinetic = 0.0
        for i in range(n):
            new_kinetic += 0.5 * z[i] * z[i]
        return ey, (e + kinetic) - (ey + new_kinetic)
    drift = 0.0 if method == RWMH else 0.5 * step * step
    for i in range(n):
        y[i] = x[i] - drift * g[i] + step * z[i]
    ey = energy_grad(model, y, gy)
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
def _chain(model, X, r, state, settings, log_step, accepted):
    """Run chain ``r`` (row ``r`` of ``X``, in place) through warm-up and
    sampling; ``accepted[r]``: the mean acceptance probability after
    warm-up."""
    method, n_warmup, n_steps, n_leapfrog, target = settings
    n = X.shape[1]
    x = X[r].copy()
    g, y, gy, z = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    e = energy_grad(model, x, g)
    s0, s1, s2, s3 = load_row(state, r)
    total = 0.0
    for t in range(n_warmup + n_steps):
        s0, s1, s2, s3 = _normals(z, s0, s1, s2, s3)
        bits, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        step = np.exp(log_step[r])
        ey, log_ratio = _propose(model, method, step, n_leapfrog, x, g, e, y, gy, z)
        if method == ULA:
            prob = 1.0
        elif log_ratio >= 0.0:
            prob = 1.0
        elif log_ratio == log_ratio:  # not NaN: an overflow is a rejection
            prob = np.exp(log_ratio)
        else:
            prob = 0.0
        if method == ULA or u64_to_unit(bits) < prob:
            for i in range(n):
                x[i] = y[i]
                g[i] = gy[i]
            e = ey
        if t < n_warmup:
            if method != ULA:
                log_step[r] += (prob - target) / (t + 1.0) ** 0.6
        else:
            total += prob
    store_row(state, r, s0, s1, s2, s3)
    for i in range(n):
        X[r, i] = x[i]
    accepted[r] = total / max(n_steps, 1)


@kernel
def _mcmc_kernel(model, X, state, settings, log_step, accepted, tid, n_threads,
                 sync):  # fmt: skip
    for start in range(tid * _BLOCK, X.shape[0], n_threads * _BLOCK):
        for r in range(start, min(X.shape[0], start + _BLOCK)):
            _chain(model, X, r, state, settings, log_step, accepted)


def run_chains(model, X, state, settings, log_step, n_threads=1):
    """In place: every row of ``X`` (float64, C order) through its chain;
    ``log_step`` (per row) is adapted in place. Returns the acceptance
    rates after warm-up. ``settings``: (method, n_warmup, n_steps,
    n_leapfrog, target acceptance)."""
    accepted = np.zeros(X.shape[0])
    n_blocks = -(-X.shape[0] // _BLOCK)
    args = (model, X, state, settings, log_step, accepted)
    run_threads(_mcmc_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return accepted
