"""Brute-force references for tiny Bernoulli RBMs (enumerate every state).

Written independently of skebm's kernels: plain NumPy over all 2**n states.
"""

import numpy as np
from scipy.special import expit, logsumexp


def all_states(n):
    """All binary vectors of length n, shape (2**n, n)."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.float64)


def neg_energy_table(W, b, c):
    """``-E(v, h)`` for every (v, h): shape (2**n_visible, 2**n_hidden)."""
    V = all_states(W.shape[1])
    H = all_states(W.shape[0])
    return (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T


def log_partition(W, b, c):
    return logsumexp(neg_energy_table(W, b, c))


def free_energy(V, W, b, c):
    """``-log sum_h exp(-E(v, h))`` by summing over every h."""
    H = all_states(W.shape[0])
    table = (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T
    return -logsumexp(table, axis=1)


def visible_distribution(W, b, c):
    """Exact p(v) over all_states(n_visible)."""
    t = neg_energy_table(W, b, c)
    log_pv = logsumexp(t, axis=1) - logsumexp(t)
    return np.exp(log_pv)


def state_index(V):
    """Row index of each binary row of V in all_states order."""
    return (V.astype(np.int64) << np.arange(V.shape[1])).sum(axis=1)


def ml_gradient(data, W, b, c):
    """Exact log-likelihood gradient (mean over data) w.r.t. (W, b, c)."""
    V = all_states(W.shape[1])
    pv = visible_distribution(W, b, c)
    h_data = expit(data @ W.T + c)
    h_model = expit(V @ W.T + c)
    gW = h_data.T @ data / len(data) - (h_model * pv[:, None]).T @ V
    gb = data.mean(0) - pv @ V
    gc = h_data.mean(0) - pv @ h_model
    return gW, gb, gc


def cd1_expected_negative(data, W, b, c):
    """E[p(h | v') v'] etc. for v' one CD-1 step from each data row.

    Returns the expected negative statistics (W, b, c shapes) averaged over
    the data, with h ~ p(h | v) sampled and v' ~ p(v' | h) sampled.
    """
    H = all_states(W.shape[0])
    V = all_states(W.shape[1])
    ph_data = expit(data @ W.T + c)  # (n, nh)
    # p(h | v) for every enumerated h
    p_h = np.prod(
        np.where(H[None, :, :] == 1, ph_data[:, None, :], 1 - ph_data[:, None, :]),
        axis=2,
    )
    pv_h = expit(H @ W + b)  # (nh_states, nv)
    p_v_given_h = np.prod(
        np.where(V[None, :, :] == 1, pv_h[:, None, :], 1 - pv_h[:, None, :]), axis=2
    )
    p_vprime = (p_h @ p_v_given_h).mean(axis=0)  # (nv_states,)
    h_vprime = expit(V @ W.T + c)
    return (h_vprime * p_vprime[:, None]).T @ V, p_vprime @ V, p_vprime @ h_vprime
