"""Unit-layer maths shared by every model: written once, used everywhere.

A layer of units contributes to an energy model through (a) the conditional
distribution of its units given their total input (pre-activation) and (b)
the term it adds to the free energy when it is summed out.  For binary
(Bernoulli) units with pre-activation ``a``:

- mean: ``p(u = 1 | a) = sigmoid(a)``
- sample: ``u = 1`` with probability ``sigmoid(a)``
- free-energy term when summed out: ``-softplus(a) = -log(1 + exp(a))``

Gaussian visible units with standard deviation ``sigma_i`` enter an RBM only
through ``v_i / sigma_i``; the kernels work in these *scaled* coordinates
``v' = v / sigma``, where the units have unit variance and the visible bias
is ``a' = a / sigma``:

- conditional: ``v' | h ~ N(a' + (hW), 1)``, i.e. the mean is the
  pre-activation and a sample adds standard normal noise;
- energy term of a clamped layer: ``(v' - a')² / 2``;
- log-partition term when the layer is integrated out: ``pre² / 2`` (plus
  the constant ``log(sqrt(2 pi))`` per unit and the ``-a'²/2`` of the bias,
  added by the caller).

Pre-activations of a bipartite model are computed with one BLAS call each
(:func:`hidden_preactivation`, :func:`visible_preactivation`), bias included
through ``beta = 1``.  All functions accept float32 and float64 arrays and keep
the dtype of their output argument; scalar maths is done in float64.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._arrays import fill_rows
from ._blas import NO_TRANS, TRANS, gemm
from ._jit import helper, kernel
from ._rng import load_row, store_row, u64_to_unit, xoshiro_step
from ._vmath import (
    _ONE_F32,
    _ZERO_F32,
    exp_nonpositive,
    exp_nonpositive_f32,
    log1p_unit,
)


def sigmoid(x):
    """Logistic function, stable for large ``|x|``; branch-free, so loops of
    it vectorise in callers compiled with ``error_model="numpy"``.

    Computed in float32 for a float32 ``x`` (eight lanes per AVX2 register
    instead of four, and a shorter polynomial), else in float64.  Only
    callable from jitted code.
    """
    raise NotImplementedError("sigmoid is only callable from numba-jitted code")


@njit(inline="always")
def _sigmoid_f32(x):
    z = exp_nonpositive_f32(-abs(x))
    s = _ONE_F32 / (_ONE_F32 + z)
    return s if x >= _ZERO_F32 else z * s


@njit(inline="always")
def _sigmoid_f64(x):
    x = float(x)
    z = exp_nonpositive(-abs(x))
    s = 1.0 / (1.0 + z)
    return s if x >= 0.0 else z * s


# Not inline="always": numba's IR inlining of overloads trips its SSA checks
# on the select above (NumbaIRAssumptionWarning); LLVM inlines the call
# anyway, so loops of it still vectorise.
@overload(sigmoid)
def _sigmoid_overload(x):
    if x == types.float32:
        return lambda x: _sigmoid_f32(x)
    return lambda x: _sigmoid_f64(x)


# A helper, not inline="always": IR-inlining it (and the exp and log1p it
# inlines) into every caller cost about 0.3 s of compile time each; LLVM
# inlines the call anyway, so loops of it still vectorise.
@helper(error_model="numpy")
def softplus(x):
    """``log(1 + exp(x))`` without overflow; branch-free like :func:`sigmoid`."""
    x = float(x)
    return max(x, 0.0) + log1p_unit(exp_nonpositive(-abs(x)))


@kernel
def hidden_preactivation(V, W, hid_bias, out):
    """``out = V @ W.T + hid_bias`` (W has shape (n_hidden, n_visible))."""
    fill_rows(out, hid_bias)
    gemm(NO_TRANS, TRANS, 1.0, V[:, :], W[:, :], 1.0, out[:, :])


@kernel
def visible_preactivation(H, W, vis_bias, out):
    """``out = H @ W + vis_bias``."""
    fill_rows(out, vis_bias)
    gemm(NO_TRANS, NO_TRANS, 1.0, H[:, :], W[:, :], 1.0, out[:, :])


@njit(inline="always")
def _sigmoid_(row):
    """In place on a contiguous 1-d array. Loops index from 0: a loop from a
    run-time start does not vectorise (numba's negative-index wraparound
    stays in it)."""
    for c in range(row.shape[0]):
        row[c] = sigmoid(row[c])


@kernel(error_model="numpy")
def bernoulli_mean_(pre):
    """In place: pre-activations -> ``p(u = 1 | pre)``."""
    for r in range(pre.shape[0]):
        _sigmoid_(pre[r])


@kernel(error_model="numpy")
def bernoulli_mean_columns_(pre, c0, c1):
    """:func:`bernoulli_mean_` on columns ``c0:c1`` only.  Give it the whole
    C-contiguous array: loops over a column range of its rows vectorise,
    loops over the rows of a column slice do not."""
    for r in range(pre.shape[0]):
        _sigmoid_(pre[r][c0:c1])


@kernel
def bernoulli_sample_(probs, state):
    """In place: probabilities -> binary samples; row ``r`` uses RNG row ``r``."""
    for r in range(probs.shape[0]):
        s0, s1, s2, s3 = load_row(state, r)
        for c in range(probs.shape[1]):
            x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            probs[r, c] = 1.0 if u64_to_unit(x) < probs[r, c] else 0.0
        store_row(state, r, s0, s1, s2, s3)


@kernel(error_model="numpy")
def bernoulli_mean_sample_(pre, state):
    """In place: pre-activations -> binary samples (row by row: a vectorised
    sigmoid pass, then the draws)."""
    for r in range(pre.shape[0]):
        row = pre[r]
        _sigmoid_(row)
        s0, s1, s2, s3 = load_row(state, r)
        for c in range(row.shape[0]):
            x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            row[c] = 1.0 if u64_to_unit(x) < row[c] else 0.0
        store_row(state, r, s0, s1, s2, s3)


@kernel
def random_binary(n_rows, n_cols, dtype_like, rng_state):
    """``(n_rows, n_cols)`` fair coin flips (dtype of ``dtype_like``)."""
    out = np.full((n_rows, n_cols), 0.5, dtype_like.dtype)
    bernoulli_sample_(out, rng_state)
    return out


@njit(inline="always")
def _polar_normal_pair(s0, s1, s2, s3):
    """Two independent standard normals (Marsaglia's polar method)."""
    while True:
        x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        u = 2.0 * u64_to_unit(x) - 1.0
        x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        v = 2.0 * u64_to_unit(x) - 1.0
        s = u * u + v * v
        if 0.0 < s < 1.0:
            f = np.sqrt(-2.0 * np.log(s) / s)
            return u * f, v * f, s0, s1, s2, s3


@kernel
def gaussian_sample_(mean, std, state):
    """In place: ``mean[r, c] += std[c] * z`` with ``z ~ N(0, 1)``; row ``r``
    uses RNG row ``r`` (two draws per polar step, none wasted within a row)."""
    n_cols = mean.shape[1]
    for r in range(mean.shape[0]):
        s0, s1, s2, s3 = load_row(state, r)
        c = 0
        while c < n_cols:
            z1, z2, s0, s1, s2, s3 = _polar_normal_pair(s0, s1, s2, s3)
            mean[r, c] += std[c] * z1
            if c + 1 < n_cols:
                mean[r, c + 1] += std[c + 1] * z2
            c += 2
        store_row(state, r, s0, s1, s2, s3)


@kernel
def visible_sample_(pre, unit_std, groups, state):
    """In place: visible pre-activations -> samples of a Bernoulli layer
    (``unit_std`` and ``groups`` None: numba compiles neither the Gaussian
    nor the softmax code then), of a unit-variance Gaussian layer in scaled
    coordinates (``unit_std`` ones), or of softmax groups (``groups``: the
    int64 offsets of :func:`softmax_sample_`)."""
    if groups is not None:
        softmax_sample_(pre, groups, state)
    elif unit_std is None:
        bernoulli_mean_sample_(pre, state)
    else:
        gaussian_sample_(pre, unit_std, state)


@kernel
def visible_mean_(pre, gaussian, groups):
    """In place: visible pre-activations -> conditional means (softmax
    probabilities with ``groups``)."""
    if groups is not None:
        softmax_mean_(pre, groups)
    elif not gaussian:
        bernoulli_mean_(pre)


@njit(inline="always")
def softmax_segment_(row, lo, hi):
    """In place: ``row[lo:hi]`` -> its softmax (in the row's dtype). Used by
    the softmax groups here and by the modern Hopfield network's
    attention."""
    top = row[lo]
    for k in range(lo + 1, hi):
        top = max(top, row[k])
    total = 0.0
    for k in range(lo, hi):
        row[k] = np.exp(row[k] - top)
        total += row[k]
    for k in range(lo, hi):
        row[k] /= total


@kernel
def softmax_mean_(pre, groups):
    """In place: pre-activations -> probabilities of softmax groups: the
    units ``groups[g]:groups[g + 1]`` of group ``g`` are one categorical
    variable (exactly one of them is on), ``p(u_k = 1) = exp(a_k) /
    sum_{k' in g} exp(a_k')``."""
    for r in range(pre.shape[0]):
        row = pre[r]
        for g in range(groups.shape[0] - 1):
            softmax_segment_(row, groups[g], groups[g + 1])


@kernel
def softmax_sample_(pre, groups, state):
    """In place: pre-activations -> one-hot samples of softmax groups (see
    :func:`softmax_mean_`): one uniform per group, inverted through the
    group's cumulative probabilities; row ``r`` uses RNG row ``r``."""
    for r in range(pre.shape[0]):
        row = pre[r]
        s0, s1, s2, s3 = load_row(state, r)
        for g in range(groups.shape[0] - 1):
            lo, hi = groups[g], groups[g + 1]
            softmax_segment_(row, lo, hi)
            x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            u = u64_to_unit(x)
            chosen = hi - 1  # (a group of NaN stays one-hot: see the end check)
            acc = 0.0
            for k in range(lo, hi):
                acc += row[k]
                if row[k] > 0.0:
                    chosen = k  # the last possible one if round-off
                    if u < acc:  # leaves the cumulative sum below u
                        break
            for k in range(lo, hi):
                row[k] = 0.0
            row[chosen] = 1.0
        store_row(state, r, s0, s1, s2, s3)


@njit(inline="always")
def summed_out_log_term(pre, gaussian):
    """Log of the sum (Bernoulli) or integral (unit Gaussian, up to
    ``partition.HALF_LOG_2PI``) over one unit with pre-activation ``pre``."""
    if gaussian:
        return 0.5 * pre * pre
    return softplus(pre)


@njit(inline="always")
def softplus_sum(row, scale, tmp):
    """``sum_j softplus(scale * row[j])``: a vectorisable pass into the
    float64 scratch ``tmp`` (at least as long as ``row``), then the sum in
    order. Callers need ``error_model="numpy"`` for the vectorisation."""
    n = row.shape[0]
    for j in range(n):
        tmp[j] = softplus(scale * row[j])
    acc = 0.0
    for j in range(n):
        acc += tmp[j]
    return acc


@kernel(error_model="numpy")
def bernoulli_free_energy_term(pre, out):
    """``out[r] += -sum_j softplus(pre[r, j])`` (a summed-out binary layer)."""
    tmp = np.empty(pre.shape[1], np.float64)
    for r in range(pre.shape[0]):
        out[r] -= softplus_sum(pre[r], 1.0, tmp)


@kernel(error_model="numpy")
def rbm_free_energy(V, W, vis_bias, hid_bias, gaussian):
    """Free energy ``F(v) = E_vis(v) - sum_j softplus(c_j + W_j·v)`` per row.

    ``E_vis`` is ``-v·b`` for Bernoulli visible units and ``|v' - a'|² / 2``
    for Gaussian ones (``V`` and ``vis_bias`` in scaled coordinates). Dense
    ``V`` only; returned in float64 whatever the model's dtype. One
    function (with the product), so that a first ``score_samples`` compiles
    little beyond what ``transform`` has.
    """
    n = V.shape[0]
    out = np.empty(n, np.float64)
    pre = np.empty((n, W.shape[0]), W.dtype)
    hidden_preactivation(V, W, hid_bias, pre)
    tmp = np.empty(W.shape[0], np.float64)
    for r in range(n):
        acc = 0.0
        if gaussian:
            for c in range(V.shape[1]):
                d = V[r, c] - vis_bias[c]
                acc += 0.5 * d * d
        else:
            for c in range(V.shape[1]):
                acc -= V[r, c] * vis_bias[c]
        out[r] = acc - softplus_sum(pre[r], 1.0, tmp)
    return out
