"""Hopfield networks: learning rules and recall dynamics.

States are bipolar (``s_i = ±1``); the estimators map binary {0, 1} data to
``2x - 1`` before calling.  The energy of a state is

.. math:: E(s) = -\\tfrac12 s^\\top W s

with a symmetric ``W`` whose diagonal is zero, so a unit's local field is
``h_i = Σ_j W_ij s_j`` and flipping unit ``i`` changes the energy by
``2 s_i h_i`` (its value before the flip).

Recall keeps the local fields of every probe and updates them after each
flip (``h += 2 s_i W_i``): a unit update costs O(1) when nothing changes
and O(N) when a unit flips, instead of O(N) every time.  The initial fields
of a block of probes come from BLAS products.  Rounding makes a field
that is exactly zero in exact arithmetic (common with the Hebbian rule,
whose weights are multiples of 1/N) come out as ±1e-17, so fields with
``|h_i| <= TIE_RTOL * max_i Σ_j |W_ij|`` count as ties, and a tie keeps the
unit's state.

Hebbian weights have more structure, which recall can be given:
``W = K / N`` with integer counts ``K = PᵀP - p I`` (``P``: the ``p``
stored bipolar patterns).  With ``K`` in int16 the fields are exact int32
sums (a tie is a field of exactly 0) and a flip reads a quarter of the
bytes of a float64 row, which is what recall of large networks waits for
(a row of 4000 float64 weights is 32 KB, and the whole matrix does not fit
in the cache).  The initial fields then come from the low-rank form,
``K s = Pᵀ (P s) - p s``: ``2 p N`` multiply-adds per probe instead of
``N²``.  The dynamics and the random numbers are the same, and so are the
results at zero temperature; at a positive temperature the Glauber
probabilities come from the exact field instead of a rounded one, which
changes a draw with probability about 1e-16.

Products go through the serial BLAS ``gemm`` bridge of :mod:`._blas` (see
there why no kernel is ``parallel=True``).

Random numbers come from one xoshiro256** row per probe
(:mod:`skebm._kernels._rng`).  Asynchronous recall draws a fresh random unit
order (Fisher-Yates) at the start of every sweep; with ``temperature > 0``
each unit update also draws one uniform.
"""

import numpy as np

from ._arrays import copy_1d
from ._blas import NO_TRANS, TRANS, gemm
from ._jit import helper, kernel
from ._layers import sigmoid, softmax_segment_
from ._rng import load_row, store_row, u64_to_unit, xoshiro_step
from ._sync import run_threads

#: Relative size of a local field treated as zero (a tie).  A nonzero
#: Hebbian field is at least 1/N in absolute value while a row of weights
#: sums to at most p in absolute value, so the two cannot be confused for
#: ``N * p < 1e10``; rounding in a float64 field of N terms (plus the drift
#: of the incremental updates) stays many orders of magnitude below it.
TIE_RTOL = 1e-10
#: Probes whose fields are held in memory at once (their BLAS block).
_PROBE_BLOCK = 256


@helper
def _shuffle(order, s0, s1, s2, s3):
    """Fisher-Yates shuffle of ``order`` in place; returns the RNG state."""
    for i in range(order.shape[0] - 1, 0, -1):
        x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        j = int(u64_to_unit(x) * (i + 1))
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
    return s0, s1, s2, s3


@kernel
def async_sweep_orders(state, row, n_units, n_sweeps):
    """The unit orders of the first ``n_sweeps`` zero-temperature
    asynchronous sweeps of generator ``row`` (advances ``state``).

    :func:`hopfield_recall` draws exactly these (except for the last sweep
    of a probe that reached a fixed point, whose order it does not need);
    exposed so that references and benchmarks can replay the same dynamics.
    """
    orders = np.empty((n_sweeps, n_units), dtype=np.int64)
    order = np.arange(n_units)
    s0, s1, s2, s3 = load_row(state, row)
    for t in range(n_sweeps):
        s0, s1, s2, s3 = _shuffle(order, s0, s1, s2, s3)
        copy_1d(orders[t], order)
    store_row(state, row, s0, s1, s2, s3)
    return orders


# -------------------------------------------------------------- learning
@kernel
def hebbian_update_(W, S):
    """Hebb's rule, in place: ``W += Sᵀ S / N`` with the diagonal kept at 0.

    ``S`` holds bipolar patterns as rows; ``W`` is ``(N, N)`` float64.
    """
    N = S.shape[1]
    gemm(TRANS, NO_TRANS, 1.0 / N, S[:, :], S[:, :], 1.0, W[:, :])
    for i in range(N):
        W[i, i] = 0.0


@kernel
def storkey_update_(W, S):
    """Storkey's rule (Storkey 1997), in place, one pattern at a time.

    For each pattern ``ξ`` (a row of ``S``), with ``h_ij = Σ_{k≠i,j} W_ik ξ_k``:

    ``W_ij += (ξ_i ξ_j - ξ_i h_ji - h_ij ξ_j) / N``  (i ≠ j).

    With ``h_i = Σ_k W_ik ξ_k`` (zero diagonal) this is
    ``(ξ_i ξ_j + 2 W_ij - (ξ_i h_j + h_i ξ_j)) / N``, computed in that
    symmetric form so that ``W`` stays exactly symmetric.
    """
    n, N = S.shape
    h = np.empty(N)
    inv_n = 1.0 / N
    for r in range(n):
        x = S[r]
        for i in range(N):
            acc = 0.0
            for j in range(N):
                acc += W[i, j] * x[j]
            h[i] = acc
        for i in range(N):
            xi = x[i]
            hi = h[i]
            for j in range(N):
                if j != i:
                    W[i, j] += inv_n * (
                        (xi * x[j] + 2.0 * W[i, j]) - (xi * h[j] + hi * x[j])
                    )


def pseudoinverse_weights(S):
    """Projection (pseudo-inverse) rule: ``W = S⁺ S`` with a zero diagonal.

    ``S⁺ S`` projects onto the span of the patterns (Personnaz, Guyon and
    Dreyfus 1986), so ``W ξ = ξ`` for every stored ``ξ``; with the diagonal
    removed the field is ``(1 - P_ii) ξ_i``, of the same sign (or a tie), so
    every stored pattern is still a fixed point (Kanter and Sompolinsky
    1987).  LAPACK-bound, so plain NumPy (an SVD of the ``(p, N)`` patterns).
    """
    S = np.asarray(S, dtype=np.float64)
    N = S.shape[1]
    _, sv, Vt = np.linalg.svd(S, full_matrices=False)
    if sv.size == 0 or sv[0] == 0.0:
        return np.zeros((N, N))
    rank = int(np.sum(sv > sv[0] * max(S.shape) * np.finfo(np.float64).eps))
    V = Vt[:rank]
    W = V.T @ V
    W = 0.5 * (W + W.T)  # exactly symmetric whatever BLAS did
    np.fill_diagonal(W, 0.0)
    return np.ascontiguousarray(W)


# ---------------------------------------------------------------- recall
@helper
def _sign_or_keep(h, s, tol):
    if h > tol:
        return 1.0
    if h < -tol:
        return -1.0
    return s


@helper
def _unit_update(h_i, s_i, stochastic, beta2, tol, s0, s1, s2, s3):
    """A unit's next state: Glauber draw (``stochastic``, one uniform) or
    the sign of its field (a tie keeps ``s_i``); returns it and the RNG."""
    if stochastic:
        x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
        new = 1.0 if u64_to_unit(x) < sigmoid(beta2 * h_i) else -1.0
        return new, s0, s1, s2, s3
    return _sign_or_keep(h_i, s_i, tol), s0, s1, s2, s3


@helper
def _is_fixed_point(s, h, tol):
    """No unit would flip: every field agrees with its unit or is a tie."""
    for i in range(s.shape[0]):
        if s[i] * h[i] < -tol:
            return False
    return True


@helper
def _add_row(h, W, i, scale):
    """``h += scale * W[i]`` (``scale`` of the fields' dtype: ±2)."""
    for j in range(h.shape[0]):
        h[j] += scale * W[i, j]


@kernel
def tie_tolerance(W):
    """``TIE_RTOL * max_i Σ_j |W_ij|``: fields this small are ties."""
    largest = 0.0
    for i in range(W.shape[0]):
        acc = 0.0
        for j in range(W.shape[1]):
            acc += abs(W[i, j])
        largest = max(largest, acc)
    return TIE_RTOL * largest


def hopfield_recall(
    W,
    S,
    rng_state,
    synchronous,
    temperature,
    max_iter,
    n_iter,
    converged,
    n_threads=1,
    *,
    counts=None,
    factor=None,
):
    """Run the Hopfield dynamics from every row of ``S``, in place.

    Parameters
    ----------
    W : (N, N) float64, symmetric, zero diagonal.
    S : (n_probes, N) float64 bipolar states; overwritten by the final states.
    rng_state : (n_probes, 4) uint64, one generator row per probe (advanced).
    synchronous : bool
        False: asynchronous sweeps, each unit once per sweep in a fresh
        random order. True: all units at once from the previous state.
    temperature : float
        0: ``s_i ← sign(h_i)`` (a tie keeps ``s_i``). > 0: Glauber updates,
        ``s_i ← +1`` with probability ``sigmoid(2 h_i / temperature)``.
    max_iter : int
        Maximum number of sweeps.
    n_iter : (n_probes,) int64, out
        Sweeps run per probe.
    converged : (n_probes,) bool, out
        Whether the last sweep changed no unit.
    n_threads : int
        Threads sharing the probe blocks (the results do not depend on it).
    counts : (N, N) int16, optional
        Hebbian weights as integer counts, ``W == counts / N`` up to
        rounding (:func:`hebbian_counts`; check with
        :func:`counts_match`): the dynamics then run on the exact integer
        fields ``counts @ s`` (ties are fields of exactly 0) and ``W`` only
        serves the initial fields when ``factor`` is not given.
    factor : (r, N) float64, optional
        With ``counts``: the bipolar patterns ``P`` behind them,
        ``counts = PᵀP - r I``, for initial fields in ``2 r N`` operations
        instead of ``N²`` (worth it for ``2 r < N``).

    At zero temperature a probe stops at the first sweep that changes no
    unit (a fixed point), and synchronous recall also stops on a 2-cycle
    (the units changed in a step are the ones changed in the step before,
    so the state alternates forever; ``converged`` is then False). With
    ``temperature > 0`` every probe runs ``max_iter`` sweeps (a sample of
    the Glauber chain); ``converged`` reports whether the last sweep left
    the state unchanged.

    Probes are independent, so blocks of ``_PROBE_BLOCK`` probes are shared
    out to ``n_threads`` threads (block ``k`` to thread ``k % n_threads``):
    a probe's result depends only on the probe, the weights and the seed.
    """
    N = W.shape[0]
    if counts is None:
        rows, unit, tol, fields_like = W, 1.0, tie_tolerance(W), np.empty(0)
        factor = None
    else:
        # integer fields: any tolerance in (0, 1) makes ties exact zeros
        rows, unit, tol = counts, float(N), 0.5
        fields_like = np.empty(0, dtype=np.int32)
    if factor is None:
        factor = np.empty((0, N))
    n_blocks = -(-S.shape[0] // _PROBE_BLOCK)
    model = (W, rows, factor, fields_like, float(unit), counts is not None, float(tol))
    probes = (S, rng_state, n_iter, converged)
    dynamics = (bool(synchronous), float(temperature), int(max_iter))
    run_threads(
        hopfield_recall_kernel,
        (model, probes, dynamics),
        max(1, min(int(n_threads), n_blocks)),
    )


def hebbian_counts(W, n_patterns):
    """Weights learnt by Hebb's rule alone from ``n_patterns`` patterns
    (``W = K / N``, :func:`hebbian_update_`) as the int16 counts ``K`` for
    :func:`hopfield_recall`, or None when they might not fit (more than
    32767 patterns, or ``N * n_patterns`` reaching 2**31, which int32
    fields could overflow). Only for weights that Hebb's rule made: other
    weights are not multiples of ``1 / N``."""
    N = W.shape[0]
    if n_patterns > np.iinfo(np.int16).max or N * n_patterns >= 2**31:
        return None
    K = np.empty(W.shape, dtype=np.int16)
    _round_counts(W, float(N), K)
    return K


@kernel
def _round_counts(W, unit, K):
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            K[i, j] = round(W[i, j] * unit)


#: Largest ``|W N - K|`` for which :func:`counts_match` accepts counts ``K``
#: for weights ``W``: Hebbian weights accumulate rounding errors below
#: ``p² 2**-52 ≈ 2.4e-7`` for the largest ``p`` (32767) counts allow.
COUNTS_ATOL = 1e-6


@kernel
def counts_match(W, K):
    """Whether ``W == K / N`` within rounding (``COUNTS_ATOL`` in units of
    ``1 / N``): the counts still describe the weights, which someone may
    have changed since the counts were made."""
    unit = float(W.shape[0])
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            if abs(W[i, j] * unit - K[i, j]) > COUNTS_ATOL:
                return False
    return True


@helper
def _initial_fields(W, factor, unit, integer, S, H, F, M):
    """Fields of the probes ``S`` in units of ``1 / unit``, into ``F``:
    ``S W`` (``W`` symmetric), or with a low-rank ``factor`` P (counts
    ``PᵀP - r I``) ``(S Pᵀ) P - r S``; ``H`` and ``M`` are float64 scratch.
    ``integer`` fields are rounded: the products are exact integers (low
    rank) or within rounding of them (``unit S W``)."""
    r = factor.shape[0]
    if r > 0:
        gemm(NO_TRANS, TRANS, 1.0, S[:, :], factor[:, :], 0.0, M[:, :])
        gemm(NO_TRANS, NO_TRANS, 1.0, M[:, :], factor[:, :], 0.0, H[:, :])
        for p in range(S.shape[0]):
            for j in range(S.shape[1]):
                H[p, j] -= r * S[p, j]
    else:
        gemm(NO_TRANS, NO_TRANS, unit, S[:, :], W[:, :], 0.0, H[:, :])
    for p in range(S.shape[0]):
        for j in range(S.shape[1]):
            F[p, j] = round(H[p, j]) if integer else H[p, j]


@kernel
def hopfield_recall_kernel(model, probes, dynamics, tid, n_threads, sync):
    """:func:`hopfield_recall` for the probe blocks of thread ``tid``.

    ``model = (W, rows, factor, fields_like, unit, integer, tol)``: flips
    add rows of ``rows`` (``W`` itself, or integer counts with ``W = rows /
    unit``, then ``integer``) to fields of ``fields_like``'s dtype; ``tol``
    is the tie tolerance in units of ``rows``. ``probes = (S, rng_state,
    n_iter, converged)``; ``dynamics = (synchronous, temperature,
    max_iter)``. ``sync`` unused: the threads never wait for each other.
    """
    W, rows, factor, fields_like, unit, integer, tol = model
    S = probes[0]
    n, N = S.shape
    b = min(n, _PROBE_BLOCK)
    H = np.empty((b, N))
    M = np.empty((b, factor.shape[0]))
    fields = np.empty((b, N), fields_like.dtype)
    two = np.empty(1, fields_like.dtype)  # 2 in the fields' dtype
    two[0] = 2
    scratch = (
        np.empty(N, dtype=np.int64),  # the update order
        np.empty(N, dtype=np.int64),  # units changed in this step ...
        np.empty(N, dtype=np.int64),  # ... and in the one before
        two,
    )
    for start in range(tid * _PROBE_BLOCK, n, n_threads * _PROBE_BLOCK):
        stop = min(n, start + _PROBE_BLOCK)
        k = stop - start
        Fb = fields[:k]
        _initial_fields(W, factor, unit, integer, S[start:stop], H[:k], Fb, M[:k])
        for r in range(start, stop):
            _recall_probe(r, Fb[r - start], rows, probes, dynamics, unit, tol,
                          scratch)  # fmt: skip


@helper
def _recall_probe(r, h, rows, probes, dynamics, unit, tol, scratch):
    """Run the dynamics of probe ``r`` (fields ``h``) to its end."""
    S, rng_state, n_iter, converged = probes
    synchronous, temperature, max_iter = dynamics
    order, changed, previous, two = scratch
    s = S[r]
    N = s.shape[0]
    stochastic = temperature > 0.0
    beta2 = 2.0 / (unit * temperature) if stochastic else 0.0
    s0, s1, s2, s3 = load_row(rng_state, r)
    for i in range(N):
        order[i] = i
    n_iter[r] = 0
    converged[r] = False
    n_previous = -1
    for sweep in range(max_iter):
        n_changed = 0
        if not synchronous:
            if not stochastic and _is_fixed_point(s, h, tol):
                # a sweep in any order would change nothing: skip drawing
                # its order
                n_iter[r] = sweep + 1
                converged[r] = True
                break
            s0, s1, s2, s3 = _shuffle(order, s0, s1, s2, s3)
            for t in range(N):
                i = order[t]
                new, s0, s1, s2, s3 = _unit_update(
                    h[i], s[i], stochastic, beta2, tol, s0, s1, s2, s3
                )
                if new != s[i]:
                    s[i] = new
                    n_changed += 1
                    _add_row(h, rows, i, two[0] if new > 0 else -two[0])
        else:
            for i in range(N):
                new, s0, s1, s2, s3 = _unit_update(
                    h[i], s[i], stochastic, beta2, tol, s0, s1, s2, s3
                )
                if new != s[i]:
                    changed[n_changed] = i
                    n_changed += 1
            for c in range(n_changed):
                i = changed[c]
                s[i] = -s[i]
                _add_row(h, rows, i, two[0] if s[i] > 0 else -two[0])
        n_iter[r] = sweep + 1
        if n_changed == 0:
            converged[r] = True
            if not stochastic:
                break
        else:
            converged[r] = False
        if synchronous and not stochastic:
            if n_changed == n_previous and _same_units(changed, previous, n_changed):
                break  # a 2-cycle
            for c in range(n_changed):
                previous[c] = changed[c]
            n_previous = n_changed
    store_row(rng_state, r, s0, s1, s2, s3)


@helper
def _same_units(changed, previous, n_changed):
    for c in range(n_changed):
        if changed[c] != previous[c]:
            return False
    return True


# ------------------------------------------------------ modern Hopfield
@helper
def _softmax_rows_(A):
    for r in range(A.shape[0]):
        softmax_segment_(A[r], 0, A.shape[1])


@kernel
def modern_hopfield_retrieve(X, Q, beta, max_iter, tol, n_iter, converged):
    """Modern Hopfield retrieval (Ramsauer et al. 2020), in place on ``Q``.

    Repeats ``ξ ← Xᵀ softmax(β X ξ)`` for every row ``ξ`` of ``Q`` (float64,
    ``(n, d)``) with the stored patterns as rows of ``X`` (``(p, d)``), until
    the largest change of a coordinate is at most ``tol`` (``converged``)
    or ``max_iter`` updates (``n_iter`` counts the updates applied). Rows
    still moving are gathered into blocks, two BLAS products per block.
    """
    n, d = Q.shape
    p = X.shape[0]
    block = min(n, _PROBE_BLOCK)
    Qa = np.empty((block, d))
    Qn = np.empty((block, d))
    A = np.empty((block, p))
    active = np.arange(n)
    n_active = n
    for r in range(n):
        n_iter[r] = 0
        converged[r] = False
    for it in range(max_iter):
        if n_active == 0:
            break
        for b0 in range(0, n_active, block):
            k = min(n_active, b0 + block) - b0
            for t in range(k):
                copy_1d(Qa[t], Q[active[b0 + t]])
            gemm(NO_TRANS, TRANS, beta, Qa[:k, :], X[:, :], 0.0, A[:k, :])
            _softmax_rows_(A[:k])
            gemm(NO_TRANS, NO_TRANS, 1.0, A[:k, :], X[:, :], 0.0, Qn[:k, :])
            for t in range(k):
                r = active[b0 + t]
                change = 0.0
                for c in range(d):
                    change = max(change, abs(Qn[t, c] - Qa[t, c]))
                    Q[r, c] = Qn[t, c]
                n_iter[r] = it + 1
                converged[r] = change <= tol
        kept = 0
        for t in range(n_active):
            if not converged[active[t]]:
                active[kept] = active[t]
                kept += 1
        n_active = kept
