"""The arrays of a deep Boltzmann machine and the sums over its states
(private): packing for the kernels, the bipartite RBM it is, exact
log-marginals where a set of layers is small enough to enumerate, and the
mean-field bound elsewhere.

A DBM's even layers (the visible one included) and odd layers are
conditionally independent given each other, so the machine is an RBM
whose "visible" units are the even layers and whose "hidden" units are
the odd ones, with a block-structured weight matrix. Its log Z is that
RBM's (exact enumeration or AIS, :mod:`skebm.partition`), and ``log p*(v)``
sums one parity of hidden layers by enumeration and the other in closed
form.
"""

import numpy as np
from scipy.special import entr, logsumexp

from ._log_z import enumeration_is_cheap
from .partition import MAX_EXACT_UNITS

#: Elements of the largest temporary array of the exact log-marginal
#: (rows are scored in chunks).
_CHUNK_ELEMENTS = 2**22
#: Largest number of operations per scored row of the exact log-marginal
#: (about a millisecond): beyond it ``free_energy`` uses the bound.
_ROW_BUDGET = 2**18


def pack(coefs, intercepts, scales=None):
    """The kernels' ``model`` tuple (:mod:`._kernels._dbm`) from per-layer
    arrays (copied into flat float64 arrays)."""
    sizes = np.array([len(b) for b in intercepts], np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    w_offsets = np.concatenate([[0], np.cumsum([W.size for W in coefs])])
    w = np.concatenate([np.ravel(W) for W in coefs]).astype(np.float64)
    b = np.concatenate(intercepts).astype(np.float64)
    if scales is None:
        scales = np.ones((len(sizes), 2))
    scales = np.ascontiguousarray(scales, np.float64)
    return (w, b, sizes, offsets, w_offsets.astype(np.int64), scales)


def unpack(model):
    """``(coefs, intercepts)``: lists of views into the flat arrays."""
    w, b, sizes, offsets, w_offsets, _ = model
    coefs = [
        w[w_offsets[i] : w_offsets[i + 1]].reshape(sizes[i], sizes[i + 1])
        for i in range(len(sizes) - 1)
    ]
    intercepts = [b[offsets[i] : offsets[i + 1]] for i in range(len(sizes))]
    return coefs, intercepts


def bipartite(coefs, intercepts):
    """``(M, b_even, b_odd)``: the DBM as an RBM between its even layers
    (visible first; ``M`` rows) and its odd layers (``M`` columns), with
    ``E = -b_even·e - b_odd·o - eᵀ M o``."""
    sizes = [len(b) for b in intercepts]
    start = {}
    for parity in (0, 1):
        position = 0
        for i in range(parity, len(sizes), 2):
            start[i] = position
            position += sizes[i]
    n_even = sum(sizes[0::2])
    M = np.zeros((n_even, sum(sizes[1::2])))
    for i, W in enumerate(coefs):
        e, o = (i, i + 1) if i % 2 == 0 else (i + 1, i)
        block = W if i % 2 == 0 else W.T
        M[start[e] : start[e] + sizes[e], start[o] : start[o] + sizes[o]] = block
    return M, np.concatenate(intercepts[0::2]), np.concatenate(intercepts[1::2])


def _states(n):
    """All ``2**n`` binary vectors of length ``n``, as float64 rows."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    return ((codes >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def exact_plan(sizes):
    """How :func:`log_marginal` sums out the hidden layers exactly:
    ``"even"`` (enumerate the even hidden layers, sum the odd ones in
    closed form), ``"odd"`` (the reverse), or None when neither is cheap
    enough. Every scored row costs ``2**n_even_hidden * n_odd`` operations
    (``"even"``) or ``2**n_odd * n_odd`` (``"odd"``, after a one-off
    ``2**n_odd * n_even_hidden``); each must stay within
    ``_ROW_BUDGET`` (the one-off within the budget of
    :func:`~._log_z.enumeration_is_cheap`), the cheaper one is used."""
    n_even_hidden, n_odd = sum(sizes[2::2]), sum(sizes[1::2])
    options = []
    if n_even_hidden <= MAX_EXACT_UNITS and enumeration_is_cheap(
        n_even_hidden, n_odd, _ROW_BUDGET
    ):
        options.append((2**n_even_hidden * n_odd, "even"))
    if (
        n_odd <= MAX_EXACT_UNITS
        and enumeration_is_cheap(n_odd, n_odd, _ROW_BUDGET)
        and enumeration_is_cheap(n_odd, n_even_hidden)
    ):
        options.append((2**n_odd * n_odd, "odd"))
    return min(options)[1] if options else None


def _softplus(x):
    return np.logaddexp(0.0, x)


def log_marginal(V, coefs, intercepts, how):
    """Exact ``log p*(v) = log Σ_h exp(-E(v, h))`` of each row of ``V``
    (float64), enumerating the layers ``how`` (:func:`exact_plan`) names."""
    M, b_even, b_odd = bipartite(coefs, intercepts)
    n_visible = V.shape[1]
    M_v, M_s, b_v, b_s = (
        M[:n_visible],
        M[n_visible:],
        b_even[:n_visible],
        b_even[n_visible:],
    )
    odd_input = V @ M_v + b_odd  # (n, n_odd)
    out = V @ b_v
    if how == "even":
        S = _states(len(b_s))
        Q, linear = S @ M_s, S @ b_s
        chunk = max(1, _CHUNK_ELEMENTS // Q.size)
        for r in range(0, len(V), chunk):
            terms = _softplus(odd_input[r : r + chunk, None, :] + Q[None]).sum(-1)
            out[r : r + chunk] += logsumexp(terms + linear, axis=1)
        return out
    T = _states(len(b_odd))
    summed = np.empty(len(T))  # the even hidden layers summed out, given T
    chunk = max(1, _CHUNK_ELEMENTS // max(len(b_s), 1))
    for t in range(0, len(T), chunk):
        summed[t : t + chunk] = _softplus(T[t : t + chunk] @ M_s.T + b_s).sum(1)
    chunk = max(1, _CHUNK_ELEMENTS // len(T))
    for r in range(0, len(V), chunk):
        out[r : r + chunk] += logsumexp(odd_input[r : r + chunk] @ T.T + summed, axis=1)
    return out


def mean_field_bound(V, MU, coefs, intercepts):
    """The variational lower bound on ``log p*(v)`` of each row at the
    mean-field posteriors ``MU`` (visible columns equal to ``V``):
    ``-E(v, μ) + H(μ)``, with the energy linear in each layer's marginals
    and ``H`` the entropy of the factorised posterior."""
    offsets = np.cumsum([0] + [len(b) for b in intercepts])
    layers = [MU[:, offsets[i] : offsets[i + 1]] for i in range(len(intercepts))]
    layers[0] = V
    bound = sum(x @ b for x, b in zip(layers, intercepts))
    for i, W in enumerate(coefs):
        bound = bound + np.einsum("ij,ij->i", layers[i] @ W, layers[i + 1])
    return (
        bound
        + entr(MU[:, offsets[1] :]).sum(1)
        + entr(1.0 - MU[:, offsets[1] :]).sum(1)
    )
