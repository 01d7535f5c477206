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


# --------------------------------------------------------------------------
# Gaussian-Bernoulli RBM: E(v, h) = sum_i (v_i - a_i)² / (2 σ_i²) - c·h
#                                    - sum_ij h_j W_ji v_i / σ_i


def gaussian_neg_energy(V, H, W, a, c, sigma):
    """``-E(v, h)`` for every row of V (axis 0) and of H (axis 1)."""
    quad = (((V - a) / sigma) ** 2).sum(axis=1) / 2.0
    return -quad[:, None] + (H @ c)[None, :] + (V / sigma) @ W.T @ H.T


def gaussian_free_energy(V, W, a, c, sigma):
    """``-log sum_h exp(-E(v, h))`` by summing over every h."""
    H = all_states(W.shape[0])
    return -logsumexp(gaussian_neg_energy(V, H, W, a, c, sigma), axis=1)


def gaussian_mixture(W, a, c, sigma):
    """p(v) as a mixture over h: returns (weights, means); each component is
    N(means[h], diag(sigma²)). From completing the square in v for each h."""
    H = all_states(W.shape[0])
    U = H @ W  # (2**n_hidden, n_visible): u = Wᵀh per state
    log_w = H @ c + (U**2 / 2.0 + U * (a / sigma)).sum(axis=1)
    weights = np.exp(log_w - logsumexp(log_w))
    return weights, a + sigma * U


def gaussian_log_partition(W, a, c, sigma):
    H = all_states(W.shape[0])
    U = H @ W
    log_w = H @ c + (U**2 / 2.0 + U * (a / sigma)).sum(axis=1)
    return logsumexp(log_w) + np.sum(np.log(sigma * np.sqrt(2 * np.pi)))


def gaussian_moments(W, a, c, sigma):
    """Exact mean and covariance of v."""
    weights, means = gaussian_mixture(W, a, c, sigma)
    mean = weights @ means
    second = (means * weights[:, None]).T @ means + np.diag(sigma**2)
    return mean, second - np.outer(mean, mean)


def gaussian_sample(W, a, c, sigma, n, rng):
    """Exact samples of v (independent of skebm's samplers)."""
    weights, means = gaussian_mixture(W, a, c, sigma)
    k = rng.choice(len(weights), size=n, p=weights)
    return means[k] + sigma * rng.standard_normal((n, len(a)))
