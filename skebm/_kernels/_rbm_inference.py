"""Inference with a trained RBM: hidden probabilities, free energies and
block Gibbs sampling, each row-parallel.

Rows go in fixed blocks shared out to the threads (thread ``t`` of ``n``
takes blocks ``t, t + n, ...``), and a row draws only from its own
generator row, so results never depend on the thread count.
"""

import numpy as np

from ._arrays import copy_1d, copy_2d
from ._jit import helper, kernel
from ._layers import (
    bernoulli_mean_,
    bernoulli_mean_sample_,
    hidden_preactivation,
    rbm_free_energy,
    visible_preactivation,
    visible_sample_,
)
from ._sync import run_threads

#: Rows per block of the row-parallel inference functions below.
_ROW_BLOCK = 1024


def _row_threads(n_rows, n_threads):
    return max(1, min(int(n_threads), -(-n_rows // _ROW_BLOCK)))


def hidden_probabilities(V, W, hid_bias, n_threads=1):
    """``sigmoid(V @ W.T + c)`` for dense C-contiguous ``V`` of ``W``'s dtype.

    Rows go in fixed blocks of ``_ROW_BLOCK``, shared out to ``n_threads``
    threads (one product per block), so the result does not depend on the
    thread count. BLAS runs on one thread (the estimators pin it).
    """
    out = np.empty((V.shape[0], W.shape[0]), W.dtype)
    args = (V, W, hid_bias, out)
    run_threads(_hidden_probabilities_kernel, args, _row_threads(len(V), n_threads))
    return out


@kernel
def _hidden_probabilities_kernel(V, W, hid_bias, out, tid, n_threads, sync):
    n = V.shape[0]
    for start in range(tid * _ROW_BLOCK, n, n_threads * _ROW_BLOCK):
        stop = min(n, start + _ROW_BLOCK)
        hidden_preactivation(V[start:stop], W, hid_bias, out[start:stop])
        bernoulli_mean_(out[start:stop])


def free_energies(V, W, vis_bias, hid_bias, gaussian, n_threads=1):
    """:func:`~._layers.rbm_free_energy` of every row of dense ``V``, rows in
    fixed blocks shared out to ``n_threads`` threads (as
    :func:`hidden_probabilities`)."""
    out = np.empty(V.shape[0], np.float64)
    args = (V, W, vis_bias, hid_bias, bool(gaussian), out)
    run_threads(_free_energies_kernel, args, _row_threads(len(V), n_threads))
    return out


@kernel
def _free_energies_kernel(
    V, W, vis_bias, hid_bias, gaussian, out, tid, n_threads, sync
):
    n = V.shape[0]
    for start in range(tid * _ROW_BLOCK, n, n_threads * _ROW_BLOCK):
        stop = min(n, start + _ROW_BLOCK)
        copy_1d(
            out[start:stop],
            rbm_free_energy(V[start:stop], W, vis_bias, hid_bias, gaussian),
        )


#: Rows per block of the row-parallel Gibbs sampler.
_GIBBS_BLOCK = 128


def rbm_gibbs(
    V,
    W,
    vis_bias,
    hid_bias,
    rng_state,
    n_steps,
    gaussian,
    n_threads=1,
    clamp=None,
    groups=None,
):
    """Run ``n_steps`` block-Gibbs steps v -> h -> v from each row of ``V``
    (see :func:`_rbm_gibbs_block`); ``clamp`` (None, or a boolean array of
    ``V``'s shape) marks the visible units held at their values in ``V``;
    ``groups`` (None, or int64 offsets) makes the visible units softmax
    groups (``_layers.softmax_sample_``).

    Rows go in fixed blocks of ``_GIBBS_BLOCK`` shared out to ``n_threads``
    threads; row ``r`` draws from generator row ``r``, so the samples do not
    depend on the thread count.
    """
    out = np.empty((V.shape[0], W.shape[1]), W.dtype)
    n_blocks = -(-V.shape[0] // _GIBBS_BLOCK)
    unit_std = np.ones(W.shape[1], W.dtype) if gaussian else None
    args = (V, W, vis_bias, hid_bias, rng_state, int(n_steps), unit_std, clamp,
            groups, out)  # fmt: skip
    run_threads(_rbm_gibbs_kernel, args, max(1, min(int(n_threads), n_blocks)))
    return out


@kernel
def _rbm_gibbs_kernel(V, W, b, c, rng_state, n_steps, unit_std, clamp, groups, out,
                      tid, n_threads, sync):  # fmt: skip
    n = V.shape[0]
    for start in range(tid * _GIBBS_BLOCK, n, n_threads * _GIBBS_BLOCK):
        stop = min(n, start + _GIBBS_BLOCK)
        rows, state = V[start:stop], rng_state[start:stop]
        if clamp is None:
            samples = _rbm_gibbs_block(
                rows, W, b, c, state, n_steps, unit_std, None, groups
            )
        else:
            samples = _rbm_gibbs_block(
                rows, W, b, c, state, n_steps, unit_std, clamp[start:stop], groups
            )
        copy_2d(out[start:stop], samples)


@helper
def _rbm_gibbs_block(
    V, W, vis_bias, hid_bias, rng_state, n_steps, unit_std, clamp, groups
):
    """Run ``n_steps`` block-Gibbs steps v -> h -> v from each row of ``V``.

    Returns the last visible samples (dtype of ``W``): binary, or for
    Gaussian units (``unit_std`` ones, else None) real values in scaled
    coordinates (``V`` and ``vis_bias`` scaled too). Where ``clamp`` (None,
    or booleans of ``V``'s shape) is True the unit is put back to its value
    in ``V`` after every draw: the chain samples the other units given
    those (their draws still use the generator, so the random stream does
    not depend on the mask).
    """
    n, n_visible = V.shape
    n_hidden = W.shape[0]
    v = np.empty((n, n_visible), W.dtype)
    for r in range(n):
        for c in range(n_visible):
            v[r, c] = V[r, c]
    h = np.empty((n, n_hidden), W.dtype)
    for _ in range(n_steps):
        hidden_preactivation(v, W, hid_bias, h)
        bernoulli_mean_sample_(h, rng_state)
        visible_preactivation(h, W, vis_bias, v)
        visible_sample_(v, unit_std, groups, rng_state)
        if clamp is not None:
            for r in range(n):
                for c in range(n_visible):
                    if clamp[r, c]:
                        v[r, c] = V[r, c]
    return v
