"""A smooth energy over real vectors: a quadratic plus a softplus network.

``model = (theta, sizes, m, p, mix)``: ``sizes = [d, h_1, ..., h_L]`` (int64),
``theta`` the network's parameters in one float64 vector (for each layer
``l``: ``W_l`` of shape ``(h_l, h_{l-1})`` row by row, then ``b_l``; then
the output weights ``v`` of length ``h_L``), ``m`` and ``p`` (length ``d``)
the centre and precision scale of the quadratic, and ``mix = (means,
chol, log_norm)`` a Gaussian mixture base ``q`` (``K`` components, ``K = 0``
for none: :func:`no_mixture`; ``chol[k]`` the Cholesky factor of component
``k``'s precision, as :class:`sklearn.mixture.GaussianMixture` keeps it,
``log_norm[k]`` its log weight plus its log normaliser)::

    E(x) = sum_i (x_i - m_i)^2 p_i^2 / 2 - log q(x) + v . z_L,
    z_0 = x,  z_l = softplus(W_l z_{l-1} + b_l),
    log q(x) = logsumexp_k (log_norm_k - |(x - means_k) chol_k|^2 / 2).

The network is Lipschitz in ``x``, so the quadratic (or the mixture) wins
far away and ``exp(-E)`` is integrable for every finite ``theta`` and
positive ``p`` (or ``K >= 1``).
A Gaussian-Bernoulli RBM's free energy over its visible units is the case
``L = 1``, ``W_1 = W / sigma``, ``b_1 = c``, ``v = -1``, ``m = a``,
``p = 1 / sigma``; :class:`skebm.EnergyDensity` learns all of it.

``work`` buffers hold a row's pre-activations, activations and two
back-propagated vectors: :func:`work_size` floats.
"""

import numpy as np

from ._jit import helper, kernel
from ._layers import sigmoid, softplus
from ._sync import run_threads

#: Rows per block of the parameter-gradient kernel (fixed: the sums do not
#: depend on the thread count).
_BLOCK = 64


@helper
def work_size(sizes):
    """Floats of ``work`` a row needs."""
    total = 0
    widest = 0
    for layer in range(1, sizes.shape[0]):
        total += sizes[layer]
        widest = max(widest, sizes[layer])
    return 2 * total + 2 * widest


@helper(error_model="numpy")
def _forward(theta, sizes, x, work, total):
    """Pre-activations into ``work[:total]``, activations into
    ``work[total:2 total]``; returns the offset of ``v`` in ``theta``."""
    off = 0
    a_off = 0
    prev = 0
    for layer in range(1, sizes.shape[0]):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        b_off = off + n_in * n_out
        for j in range(n_out):
            s = theta[b_off + j]
            row = off + j * n_in
            if layer == 1:
                for i in range(n_in):
                    s += theta[row + i] * x[i]
            else:
                for i in range(n_in):
                    s += theta[row + i] * work[total + prev + i]
            work[a_off + j] = s
            work[total + a_off + j] = softplus(s)
        prev = a_off
        a_off += n_out
        off = b_off + n_out
    return off


@helper(error_model="numpy")
def net_energy(theta, sizes, x, work, gx, gtheta, weight):
    """``v . z_L`` of ``x``; adds its gradient in ``x`` to ``gx`` and, unless
    ``weight`` is 0, ``weight`` times its gradient in ``theta`` to
    ``gtheta``."""
    n_layers = sizes.shape[0] - 1
    total = 0
    widest = 0
    for layer in range(1, n_layers + 1):
        total += sizes[layer]
        widest = max(widest, sizes[layer])
    v_off = _forward(theta, sizes, x, work, total)
    cur = 2 * total  # delta of the current layer: work[cur:cur + h_l]
    nxt = cur + widest
    last = total - sizes[n_layers]
    accumulate = weight != 0.0
    e = 0.0
    for k in range(sizes[n_layers]):
        e += theta[v_off + k] * work[total + last + k]
        work[cur + k] = theta[v_off + k] * sigmoid(work[last + k])
        if accumulate:
            gtheta[v_off + k] += weight * work[total + last + k]
    p_off = v_off
    a_end = total
    for layer in range(n_layers, 0, -1):
        n_in = sizes[layer - 1]
        n_out = sizes[layer]
        p_off -= n_in * n_out + n_out
        a_off = a_end - n_out
        prev = a_off - n_in  # the previous layer's offset (l > 1)
        b_off = p_off + n_in * n_out
        if accumulate:
            for j in range(n_out):
                d = weight * work[cur + j]
                gtheta[b_off + j] += d
                row = p_off + j * n_in
                if layer == 1:
                    for i in range(n_in):
                        gtheta[row + i] += d * x[i]
                else:
                    for i in range(n_in):
                        gtheta[row + i] += d * work[total + prev + i]
        if layer == 1:
            for j in range(n_out):
                d = work[cur + j]
                row = p_off + j * n_in
                for i in range(n_in):
                    gx[i] += theta[row + i] * d
        else:
            for i in range(n_in):
                work[nxt + i] = 0.0
            for j in range(n_out):
                d = work[cur + j]
                row = p_off + j * n_in
                for i in range(n_in):
                    work[nxt + i] += theta[row + i] * d
            for i in range(n_in):
                work[nxt + i] *= sigmoid(work[prev + i])
            cur, nxt = nxt, cur
        a_end = a_off
    return e


def no_mixture(d):
    """The ``mix`` of a model without a mixture base (``K = 0``)."""
    return (np.empty((0, d)), np.empty((0, d, d)), np.empty(0))


@helper(error_model="numpy")
def mixture_energy(mix, x, g, work):
    """``-log q(x)`` of the mixture base (0 when it has no component); adds
    its gradient to ``g``. ``work``: at least ``K + d`` floats."""
    means, chol, log_norm = mix
    K, d = means.shape
    if K == 0:
        return 0.0
    top = -np.inf
    for k in range(K):
        acc = 0.0
        for j in range(d):
            y = 0.0
            for i in range(d):
                y += (x[i] - means[k, i]) * chol[k, i, j]
            acc += y * y
        work[k] = log_norm[k] - 0.5 * acc
        top = max(top, work[k])
    total = 0.0
    for k in range(K):
        work[k] = np.exp(work[k] - top)
        total += work[k]
    y = work[K : K + d]
    for k in range(K):
        r = work[k] / total
        # dE/dx += r_k * chol_k chol_k^T (x - mu_k)
        for j in range(d):
            acc = 0.0
            for i in range(d):
                acc += (x[i] - means[k, i]) * chol[k, i, j]
            y[j] = acc
        for i in range(d):
            acc = 0.0
            for j in range(d):
                acc += chol[k, i, j] * y[j]
            g[i] += r * acc
    return -(top + np.log(total))


@helper
def _base_work_size(model):
    return model[4][0].shape[0] + model[4][0].shape[1]


@helper(error_model="numpy")
def energy_grad(model, x, g, work):
    """``E(x)``; writes ``dE/dx`` into ``g``. ``work``: :func:`work_size`
    floats, then :func:`_base_work_size` more."""
    theta, sizes, m, p, mix = model
    e = 0.0
    for i in range(x.shape[0]):
        d = x[i] - m[i]
        g[i] = d * p[i] * p[i]
        e += 0.5 * d * g[i]
    e += net_energy(theta, sizes, x, work, g, work, 0.0)
    return e + mixture_energy(mix, x, g, work[work_size(sizes) :])


@helper
def model_work_size(model):
    """Floats of ``work`` :func:`energy_grad` needs."""
    return work_size(model[1]) + _base_work_size(model)


@kernel(error_model="numpy")
def energies_and_grads(model, X, G):
    """:func:`energy_grad` of every row of ``X`` (gradients into ``G``)."""
    work = np.empty(model_work_size(model))
    out = np.empty(X.shape[0])
    for r in range(X.shape[0]):
        out[r] = energy_grad(model, X[r], G[r], work)
    return out


@kernel(error_model="numpy")
def _param_grad_kernel(model, X, weights, energies, sums, tid, n_threads, sync):
    theta, sizes, m, p, mix = model
    work = np.empty(model_work_size(model))
    base_work = work[work_size(sizes) :]
    gx = np.empty(X.shape[1])
    for block in range(tid, sums.shape[0], n_threads):
        out = sums[block]
        for r in range(block * _BLOCK, min(X.shape[0], (block + 1) * _BLOCK)):
            e = net_energy(theta, sizes, X[r], work, gx, out, weights[r])
            q = 0.0
            for i in range(X.shape[1]):
                d = X[r, i] - m[i]
                q += 0.5 * d * d * p[i] * p[i]
            energies[r] = q + e + mixture_energy(mix, X[r], gx, base_work)


def param_grad_sum(model, X, weights, n_threads=1):
    """``(energies, g)``: ``E`` of every row of ``X`` and ``sum_r weights[r]
    dE/dtheta`` over the rows (the network's parameters; the quadratic's
    are cheap in NumPy). Blocks of rows are summed in a fixed order: the same bits on
    any number of threads."""
    n_blocks = max(1, -(-X.shape[0] // _BLOCK))
    sums = np.zeros((n_blocks, model[0].shape[0]))
    energies = np.empty(X.shape[0])
    run_threads(_param_grad_kernel, (model, X, weights, energies, sums),
                max(1, min(int(n_threads), n_blocks)))  # fmt: skip
    total = sums[0].copy()
    for block in range(1, n_blocks):
        total += sums[block]
    return energies, total
