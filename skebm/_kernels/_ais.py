"""Log-partition functions of Bernoulli RBMs: exact enumeration and AIS.

Exact: with ``E(v, h) = -b·v - c·h - hᵀ W v``, summing out the larger layer
analytically leaves a sum over the ``2**n`` states of the smaller one,

    log Z = logsumexp_h [ c·h + sum_i softplus(b_i + (Wᵀ h)_i) ].

States are visited in Gray-code order so each step flips one unit and updates
the pre-activations of the other layer with one row of ``W``.

AIS (Neal 2001; Salakhutdinov & Murray, ICML 2008): anneal from a base-rate
model ``p_A(v) ∝ exp(b_A·v)`` (W = 0, hidden biases 0) to the RBM through

    f_β(v) = (1 - β) b_A·v + β b·v + sum_j softplus(β (c_j + W_j·v)),

with ``Z_0 = 2**n_hidden prod_i (1 + exp(b_A_i))``.  The transitions are block
Gibbs steps that leave ``p_β`` invariant.  Returns one log-weight per chain.
"""

import numpy as np
from numba import njit

from ._blas import matmul_add
from ._layers import bernoulli_mean_sample_, fill_rows, softplus


@njit(inline="always")
def _summed_out_term(pre, lin):
    acc = lin
    for i in range(pre.size):
        acc += softplus(pre[i])
    return acc


@njit(cache=True, nogil=True)
def log_partition_enumerate(W_small, small_bias, large_bias):
    """Exact ``log Z`` of a Bernoulli RBM by enumerating its smaller layer.

    ``W_small`` has shape ``(n_small, n_large)``: for enumerating hidden units
    pass ``W`` (hidden × visible); for enumerating visible units pass ``Wᵀ``.
    Accumulates in float64.
    """
    n_small, n_large = W_small.shape
    pre = np.empty(n_large, np.float64)
    for i in range(n_large):
        pre[i] = large_bias[i]
    lin = 0.0
    state = np.zeros(n_small, np.int8)

    running_max = _summed_out_term(pre, lin)
    running_sum = 1.0
    n_states = 1 << n_small
    for t in range(1, n_states):
        # Gray code: the bit that changes between t-1 and t is the lowest set
        # bit of t.
        j = 0
        while not (t >> j) & 1:
            j += 1
        sign = 1.0 if state[j] == 0 else -1.0
        state[j] = 1 - state[j]
        lin += sign * small_bias[j]
        for i in range(n_large):
            pre[i] += sign * W_small[j, i]
        x = _summed_out_term(pre, lin)
        if x > running_max:
            running_sum = running_sum * np.exp(running_max - x) + 1.0
            running_max = x
        else:
            running_sum += np.exp(x - running_max)
    return running_max + np.log(running_sum)


@njit(cache=True, nogil=True)
def _annealed_log_f(pre, V, beta, vis_bias, base_vis_bias, out):
    """``out[r] = f_β(V[r])`` given hidden pre-activations ``pre = V Wᵀ + c``."""
    for r in range(V.shape[0]):
        acc = 0.0
        for i in range(V.shape[1]):
            acc += V[r, i] * ((1.0 - beta) * base_vis_bias[i] + beta * vis_bias[i])
        for j in range(pre.shape[1]):
            acc += softplus(beta * pre[r, j])
        out[r] = acc


@njit(cache=True, nogil=True)
def bernoulli_rbm_ais(W, vis_bias, hid_bias, base_vis_bias, betas, rng_state):
    """Run AIS with one chain per row of ``rng_state``; return log-weights.

    ``betas`` increases from 0 to 1.  ``log Z ≈ log Z_0 + logmeanexp(weights)``.
    """
    n_chains = rng_state.shape[0]
    n_hidden, n_visible = W.shape
    dtype = W.dtype
    V = np.empty((n_chains, n_visible), dtype)
    H = np.empty((n_chains, n_hidden), dtype)
    pre = np.empty((n_chains, n_hidden), dtype)
    f_hi = np.empty(n_chains, np.float64)
    f_lo = np.empty(n_chains, np.float64)
    log_w = np.zeros(n_chains, np.float64)
    vis_input = np.empty(n_visible, dtype)

    # Exact draw from the base model.
    for r in range(n_chains):
        for i in range(n_visible):
            V[r, i] = base_vis_bias[i]
    bernoulli_mean_sample_(V, rng_state)

    n_betas = betas.size
    for k in range(1, n_betas):
        beta_lo = betas[k - 1]
        beta = betas[k]
        fill_rows(pre, hid_bias)
        matmul_add(False, True, 1.0, V, W, 1.0, pre)
        _annealed_log_f(pre, V, beta, vis_bias, base_vis_bias, f_hi)
        _annealed_log_f(pre, V, beta_lo, vis_bias, base_vis_bias, f_lo)
        for r in range(n_chains):
            log_w[r] += f_hi[r] - f_lo[r]
        if k == n_betas - 1:
            break
        # Block Gibbs step leaving p_beta invariant.
        for r in range(n_chains):
            for j in range(n_hidden):
                H[r, j] = beta * pre[r, j]
        bernoulli_mean_sample_(H, rng_state)
        for i in range(n_visible):
            vis_input[i] = (1.0 - beta) * base_vis_bias[i] + beta * vis_bias[i]
        fill_rows(V, vis_input)
        matmul_add(False, False, beta, H, W, 1.0, V)
        bernoulli_mean_sample_(V, rng_state)
    return log_w
