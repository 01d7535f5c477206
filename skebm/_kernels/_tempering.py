"""Parallel tempering for the persistent chains of an RBM (Desjardins et
al. 2010; Cho et al. 2010).

``K`` inverse temperatures ``1 = beta_0 > beta_1 > ... > beta_{K-1} > 0``,
each with ``C`` chains: chain row ``k * C + c`` runs at ``beta_k`` (the
``beta = 1`` rows come first, and only they enter the gradient). A chain at
``beta`` samples ``p_beta(v, h) ∝ exp(-beta E(v, h))``; its block Gibbs
steps use the pre-activations scaled by ``beta`` (``sigmoid(beta a)`` for
binary units, ``N(a, 1 / beta)`` for unit-variance Gaussian ones).

After every visible draw, the ``K`` chains of each ladder ``c`` try to swap
their joint states ``(v, h)`` with their neighbours, from the hottest pair
down to the coldest (so a state found by a hot chain can reach ``beta = 1``
in one sweep). Swapping chains ``a`` (at ``beta_a``) and ``b`` (at
``beta_b``) is accepted with probability ``min(1, exp((beta_a - beta_b)
(E_a - E_b)))``: a Metropolis-Hastings move that leaves the product of the
tempered distributions invariant. Only the visible rows are exchanged: the
hidden units are drawn afresh from the new visible states next, which
leaves the same distributions invariant.

Decisions are row-blocked by ladder, and the decision for a pair takes its
uniform number from the generator row of the pair's colder chain, so
results depend on the seed and the block count only, never on threads.
"""

import numpy as np

from ._jit import helper
from ._layers import (
    bernoulli_mean_columns_,
    bernoulli_mean_sample_,
    gaussian_sample_,
    sigmoid,
    visible_sample_,
)
from ._rng import load_row, store_row, u64_to_unit, xoshiro_step
from ._sync import span


def temperature_ladder(n_temperatures):
    """The inverse temperatures of ``sampler="pt"``: ``n_temperatures``
    values, evenly spaced from 1 down to ``1 / n_temperatures`` (float64)."""
    K = int(n_temperatures)
    return 1.0 - np.arange(K, dtype=np.float64) / K


class Tempering:
    """Tempering state for :func:`~._cd.rbm_epoch`: the ladder ``betas``
    (``K``,), ``n_ladders`` chains per temperature, and per epoch the
    swap counts ``accepted`` (``n_ladders``, ``K - 1``)."""

    def __init__(self, betas, n_ladders):
        self.betas = np.ascontiguousarray(betas, dtype=np.float64)
        self.n_ladders = int(n_ladders)
        K = self.betas.shape[0]
        self.row_betas = np.repeat(self.betas, self.n_ladders)
        self.energy = np.zeros(K * self.n_ladders, np.float64)
        self.accepted = np.zeros((self.n_ladders, max(K - 1, 0)), np.int64)

    def kernel_state(self):
        """The tuple the epoch kernel reads (counts zeroed)."""
        self.accepted[:] = 0
        return (self.betas, self.row_betas, self.energy, self.accepted)

    def acceptance(self, n_sweeps):
        """Fraction of accepted swaps per neighbouring pair (coldest pair
        first) over ``n_sweeps`` sweeps of every ladder."""
        attempts = max(int(n_sweeps) * self.n_ladders, 1)
        return self.accepted.sum(axis=0) / attempts


@helper(error_model="numpy")
def tempered_visible_draw_(pre, hidden, hid_bias, betas, energy, unit_std, state):
    """In place: visible pre-activations ``a`` of chain rows -> samples at
    each row's inverse temperature; ``energy[r] = E(v_r, h_r)`` (up to a
    constant shared by all rows) for the swaps. ``hidden`` are the chains'
    hidden states the pre-activations came from."""
    n_vis = pre.shape[1]
    saved = np.empty(n_vis, np.float64)
    std = np.empty(n_vis, pre.dtype)
    for r in range(pre.shape[0]):
        row = pre[r]
        beta = betas[r]
        for c in range(n_vis):
            saved[c] = row[c]
        e = 0.0
        if unit_std is None:  # binary units: v ~ sigmoid(beta a)
            for c in range(n_vis):
                row[c] = row[c] * beta
            bernoulli_mean_sample_(pre[r : r + 1], state[r : r + 1])
            for c in range(n_vis):
                e -= row[c] * saved[c]
        else:  # Gaussian units: v ~ N(a, 1 / beta)
            scale = 1.0 / np.sqrt(beta)
            for c in range(n_vis):
                std[c] = unit_std[c] * scale
            gaussian_sample_(pre[r : r + 1], std, state[r : r + 1])
            for c in range(n_vis):
                v = float(row[c])
                e += v * (0.5 * v - saved[c])
        h = hidden[r]
        for j in range(h.shape[0]):
            e -= hid_bias[j] * h[j]
        energy[r] = e


@helper(error_model="numpy")
def tempered_mean_columns_(out, n_pos, row_betas, c0, c1):
    """Columns ``c0:c1`` of ``out``, in place: pre-activations ->
    probabilities; rows below ``n_pos`` at ``beta = 1``, row ``n_pos + q``
    at ``row_betas[q]``."""
    for r in range(out.shape[0]):
        beta = 1.0 if r < n_pos else row_betas[r - n_pos]
        row = out[r][c0:c1]
        for k in range(row.shape[0]):
            row[k] = sigmoid(row[k] * beta)


@helper(error_model="numpy")
def scale_rows_(rows, row_betas):
    """In place: row ``r`` of ``rows`` times ``row_betas[r]``."""
    for r in range(rows.shape[0]):
        beta = row_betas[r]
        row = rows[r]
        for k in range(row.shape[0]):
            row[k] = row[k] * beta


@helper(error_model="numpy")
def swap_sweep_(V, betas, energy, accepted, n_ladders, c0, c1, state):
    """Ladders ``c0:c1``: one sweep of neighbour swaps, hottest pair first.
    ``V`` holds the chain rows (``k * n_ladders + c``); accepted swaps
    exchange rows of ``V`` and ``energy`` and are counted in ``accepted``."""
    K = betas.shape[0]
    for c in range(c0, c1):
        for k in range(K - 2, -1, -1):
            a = k * n_ladders + c
            b = a + n_ladders
            log_ratio = (betas[k] - betas[k + 1]) * (energy[a] - energy[b])
            s0, s1, s2, s3 = load_row(state, a)
            x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            store_row(state, a, s0, s1, s2, s3)
            if u64_to_unit(x) < np.exp(min(log_ratio, 0.0)):
                row_a, row_b = V[a], V[b]
                for j in range(row_a.shape[0]):
                    t = row_a[j]
                    row_a[j] = row_b[j]
                    row_b[j] = t
                energy[a], energy[b] = energy[b], energy[a]
                accepted[c, k] += 1


# Entry points of the epoch kernel: each takes the tempering state ``pt``
# (None without tempering) as an argument, so that numba prunes the branch
# that does not apply (it prunes ``if arg is None`` on arguments only).


@helper
def n_temperatures(pt):
    """``K``, or 1 without tempering."""
    if pt is None:
        return 1
    return pt[0].shape[0]


@helper(error_model="numpy")
def draw_visible_(pre, hidden, hid_bias, pt, q0, unit_std, groups, state):
    """Chain rows ``q0:q0 + len(pre)``: visible pre-activations ->
    samples, at each row's temperature with ``pt`` (Bernoulli or Gaussian
    units only: ``rbm_epoch`` refuses tempering with softmax ``groups``)."""
    if pt is None:
        visible_sample_(pre, unit_std, groups, state)
    else:
        n = pre.shape[0]
        tempered_visible_draw_(pre, hidden, hid_bias, pt[1][q0 : q0 + n],
                               pt[2][q0 : q0 + n], unit_std, state)  # fmt: skip


@helper(error_model="numpy")
def swap_(V, pt, n_ladders, blk, n_blocks, state):
    """Block ``blk`` of the ladders: one sweep of swaps (nothing without
    ``pt``)."""
    if pt is not None:
        c0, c1 = span(n_ladders, blk, n_blocks)
        swap_sweep_(V, pt[0], pt[2], pt[3], n_ladders, c0, c1, state)


@helper(error_model="numpy")
def temper_rows_(rows, pt, q0):
    """Chain rows ``q0:q0 + len(rows)`` of hidden pre-activations, times
    their inverse temperatures (nothing without ``pt``)."""
    if pt is not None:
        scale_rows_(rows, pt[1][q0 : q0 + rows.shape[0]])


@helper(error_model="numpy")
def hidden_mean_columns_(out, n_pos, pt, c0, c1):
    """Columns ``c0:c1`` of ``out``: pre-activations -> probabilities, the
    chain rows (from ``n_pos``) at their temperatures with ``pt``."""
    if pt is None:
        bernoulli_mean_columns_(out, c0, c1)
    else:
        tempered_mean_columns_(out, n_pos, pt[1], c0, c1)
