"""Log-partition functions of RBMs: exact enumeration and AIS.

Exact: with ``E(v, h) = -b·v - c·h - hᵀ W v``, summing out the larger layer
analytically leaves a sum over the ``2**n`` states of the smaller one,

    log Z = logsumexp_h [ c·h + sum_i softplus(b_i + (Wᵀ h)_i) ].

States are visited in Gray-code order so each step flips one unit and updates
the pre-activations of the other layer with one row of ``W``.

For Gaussian visible units (scaled coordinates, see ``_layers``) only the
hidden layer can be enumerated; the visible integral is closed form and the
summed-out term of a unit with pre-activation ``p`` is ``p² / 2`` instead of
``softplus(p)`` (the caller adds the constants).

AIS (Neal 2001; Salakhutdinov & Murray, ICML 2008): anneal from a base-rate
model ``p_A(v) ∝ exp(b_A·v)`` (W = 0, hidden biases 0) to the RBM through

    f_β(v) = (1 - β) b_A·v + β b·v + sum_j softplus(β (c_j + W_j·v)),

with ``Z_0 = 2**n_hidden prod_i (1 + exp(b_A_i))`` (softmax groups: the
visible draws are categorical, and ``Z_0 = 2**n_hidden prod_g sum_{k in
g} exp(b_A_k)``).  For Gaussian visible
units the visible terms are quadratic, ``η_β·v' - λ_β ⊙ v'²/2`` with the
natural parameters interpolated between a Gaussian base model ``(η_A, λ_A)``
and the model's ``(a', 1)``; ``p_β(v' | h)`` is then Gaussian with precision
``λ_β`` and mean ``(η_β + β hW) / λ_β``.  The transitions are block Gibbs
steps that leave ``p_β`` invariant.  Returns one log-weight per chain.
"""

import numpy as np
from numba import njit

from ._arrays import copy_1d, fill_rows
from ._blas import NO_TRANS, TRANS, gemm
from ._gray import add_log_term, gray_flip
from ._jit import helper, kernel
from ._layers import (
    bernoulli_mean_sample_,
    gaussian_sample_,
    softplus_sum,
    summed_out_log_term,
    visible_sample_,
)
from ._sync import run_threads, span


@njit(inline="always")
def _summed_out_term(pre, lin, gaussian):
    acc = lin
    for i in range(pre.size):
        acc += summed_out_log_term(pre[i], gaussian)
    return acc


@njit(inline="always")
def _grouped_term(pre, lin, groups):
    """``lin + sum_g log sum_{k in g} exp(pre[k])``: softmax groups summed
    out (each group is one categorical variable)."""
    acc = lin
    for g in range(groups.shape[0] - 1):
        lo, hi = groups[g], groups[g + 1]
        m = pre[lo]
        for k in range(lo + 1, hi):
            m = max(m, pre[k])
        total = 0.0
        for k in range(lo, hi):
            total += np.exp(pre[k] - m)
        acc += m + np.log(total)
    return acc


@kernel
def log_partition_enumerate(W_small, small_bias, large_bias, large_gaussian,
                            large_groups):  # fmt: skip
    """``log Z`` of an RBM by enumerating the binary states of one layer.

    ``W_small`` has shape ``(n_small, n_large)``: for enumerating hidden units
    pass ``W`` (hidden × visible); for enumerating visible units pass ``Wᵀ``.
    ``large_gaussian``: the summed-out layer is unit-variance Gaussian
    (result then excludes its constants ``n_large·log√(2π) - |bias|²/2``).
    ``large_groups`` (None, or int64 offsets): the summed-out layer is made
    of softmax groups (``_layers.softmax_mean_``). Accumulates in float64.
    """
    n_small, n_large = W_small.shape
    pre = np.empty(n_large, np.float64)
    for i in range(n_large):
        pre[i] = large_bias[i]
    lin = 0.0
    state = np.zeros(n_small, np.int8)

    if large_groups is None:
        running_max = _summed_out_term(pre, lin, large_gaussian)
    else:
        running_max = _grouped_term(pre, lin, large_groups)
    running_sum = 1.0
    n_states = 1 << n_small
    for t in range(1, n_states):
        j = gray_flip(t)
        sign = 1.0 if state[j] == 0 else -1.0
        state[j] = 1 - state[j]
        lin += sign * small_bias[j]
        for i in range(n_large):
            pre[i] += sign * W_small[j, i]
        if large_groups is None:
            x = _summed_out_term(pre, lin, large_gaussian)
        else:
            x = _grouped_term(pre, lin, large_groups)
        running_max, running_sum, _, _ = add_log_term(x, running_max, running_sum)
    return running_max + np.log(running_sum)


@helper(error_model="numpy")
def _annealed_log_f(pre, V, beta, eta, precision, gaussian, out, tmp):
    """``out[r] = f_β(V[r])`` given hidden pre-activations ``pre = V Wᵀ + c``
    and the interpolated visible natural parameters ``eta``/``precision``
    (``tmp``: float64 scratch of ``n_hidden``)."""
    for r in range(V.shape[0]):
        acc = 0.0
        for i in range(V.shape[1]):
            acc += V[r, i] * eta[i]
            if gaussian:
                acc -= 0.5 * precision[i] * V[r, i] * V[r, i]
        out[r] = acc + softplus_sum(pre[r], beta, tmp)


@helper
def _interpolate(beta, vis_bias, base_eta, base_precision, eta, precision):
    for i in range(eta.size):
        eta[i] = (1.0 - beta) * base_eta[i] + beta * vis_bias[i]
        precision[i] = (1.0 - beta) * base_precision[i] + beta


def rbm_ais(
    W,
    vis_bias,
    hid_bias,
    base_eta,
    base_precision,
    betas,
    rng_state,
    gaussian,
    n_threads=1,
    groups=None,
):
    """Run AIS with one chain per row of ``rng_state``; return log-weights.
    ``groups`` (None, or int64 offsets): the visible units are softmax
    groups, the base model independent categorical variables.

    Chains are independent, so they go in two fixed blocks (one when there
    is a single chain), each run by a thread through every temperature with
    no synchronisation; the blocks are fixed by the number of chains, so
    the result does not depend on ``n_threads``. See :func:`_rbm_ais_block`.
    """
    n_chains = rng_state.shape[0]
    n_blocks = min(2, n_chains)
    log_w = np.zeros(n_chains, np.float64)
    if n_blocks == 0:
        return log_w
    args = (
        W, vis_bias, hid_bias, base_eta, base_precision, betas, rng_state,
        bool(gaussian), groups, n_blocks, log_w,
    )  # fmt: skip
    run_threads(_rbm_ais_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return log_w


@kernel
def _rbm_ais_kernel(
    W,
    vis_bias,
    hid_bias,
    base_eta,
    base_precision,
    betas,
    rng_state,
    gaussian,
    groups,
    n_blocks,
    log_w,
    tid,
    n_threads,
    sync,
):
    n_chains = rng_state.shape[0]
    for blk in range(tid, n_blocks, n_threads):
        q0, q1 = span(n_chains, blk, n_blocks)
        block_log_w = _rbm_ais_block(
            W, vis_bias, hid_bias, base_eta, base_precision, betas,
            rng_state[q0:q1], gaussian, groups,
        )  # fmt: skip
        copy_1d(log_w[q0:q1], block_log_w)


@helper
def _rbm_ais_block(
    W, vis_bias, hid_bias, base_eta, base_precision, betas, rng_state, gaussian,
    groups,
):  # fmt: skip
    """AIS with one chain per row of ``rng_state``; returns the log-weights.

    ``betas`` increases from 0 to 1.  Bernoulli visible units: ``base_eta``
    are the base-rate biases (``base_precision`` unused).  Gaussian visible
    units (scaled coordinates): ``(base_eta, base_precision)`` are the base
    Gaussian's natural parameters.  ``log Z_f ≈ log Z_0 +
    logmeanexp(weights)`` where ``Z_f`` normalises ``f_1``.
    """
    n_chains = rng_state.shape[0]
    n_hidden, n_visible = W.shape
    dtype = W.dtype
    V = np.empty((n_chains, n_visible), dtype)
    H = np.empty((n_chains, n_hidden), dtype)
    pre = np.empty((n_chains, n_hidden), dtype)
    f_hi = np.empty(n_chains, np.float64)
    f_lo = np.empty(n_chains, np.float64)
    tmp = np.empty(n_hidden, np.float64)
    log_w = np.zeros(n_chains, np.float64)
    eta = np.empty(n_visible, np.float64)
    precision = np.empty(n_visible, np.float64)
    eta_lo = np.empty(n_visible, np.float64)
    precision_lo = np.empty(n_visible, np.float64)
    vis_input = np.empty(n_visible, dtype)
    std = np.empty(n_visible, dtype)
    Vtmp = np.empty((n_chains, n_visible) if gaussian else (0, n_visible), dtype)

    # Exact draw from the base model.
    for i in range(n_visible):
        if gaussian:
            std[i] = 1.0 / np.sqrt(base_precision[i])
            vis_input[i] = base_eta[i] / base_precision[i]
        else:
            vis_input[i] = base_eta[i]
    fill_rows(V, vis_input)
    if gaussian:
        gaussian_sample_(V, std, rng_state)
    else:
        visible_sample_(V, None, groups, rng_state)

    n_betas = betas.size
    for k in range(1, n_betas):
        beta_lo = betas[k - 1]
        beta = betas[k]
        fill_rows(pre, hid_bias)
        gemm(NO_TRANS, TRANS, 1.0, V[:, :], W[:, :], 1.0, pre[:, :])
        _interpolate(beta, vis_bias, base_eta, base_precision, eta, precision)
        _interpolate(beta_lo, vis_bias, base_eta, base_precision, eta_lo, precision_lo)
        _annealed_log_f(pre, V, beta, eta, precision, gaussian, f_hi, tmp)
        _annealed_log_f(pre, V, beta_lo, eta_lo, precision_lo, gaussian, f_lo, tmp)
        for r in range(n_chains):
            log_w[r] += f_hi[r] - f_lo[r]
        if k == n_betas - 1:
            break
        # Block Gibbs step leaving p_beta invariant.
        for r in range(n_chains):
            for j in range(n_hidden):
                H[r, j] = beta * pre[r, j]
        bernoulli_mean_sample_(H, rng_state)
        if gaussian:
            for i in range(n_visible):
                vis_input[i] = eta[i] / precision[i]
                std[i] = 1.0 / np.sqrt(precision[i])
            fill_rows(V, vis_input)
            for r in range(n_chains):
                for j in range(n_hidden):
                    H[r, j] *= beta
            # mean = (eta + beta hW) / precision: scale the product per column.
            gemm(NO_TRANS, NO_TRANS, 1.0, H[:, :], W[:, :], 0.0, Vtmp[:, :])
            for r in range(n_chains):
                for i in range(n_visible):
                    V[r, i] += Vtmp[r, i] / precision[i]
            gaussian_sample_(V, std, rng_state)
        else:
            for i in range(n_visible):
                vis_input[i] = eta[i]
            fill_rows(V, vis_input)
            gemm(NO_TRANS, NO_TRANS, beta, H[:, :], W[:, :], 1.0, V[:, :])
            visible_sample_(V, None, groups, rng_state)
    return log_w
