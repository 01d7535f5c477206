"""In-place BLAS ``gemm`` callable from cached numba kernels.

``numba.np.dot`` always allocates its output and has no alpha/beta, so a
weight update ``W += lr * (H_posᵀ V_pos - H_negᵀ V_neg)`` costs an extra
temporary and an extra pass over ``W``.  Here we call numba's own BLAS bridge
(the ``numba_xxgemm`` helper that ``np.dot`` uses, which dispatches to SciPy's
``cython_blas``) with our own transposes, alpha and beta.  The symbol is
resolved by name at load time, so kernels that use it can be cached on disk.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import overload


def _xxgemm_signature(dtype):
    ptr = types.CPointer(dtype)
    return types.intc(
        types.char,  # kind: 's' or 'd'
        types.char,  # transa
        types.char,  # transb
        types.intp,  # m
        types.intp,  # n
        types.intp,  # k
        ptr,  # alpha
        ptr,  # a
        types.intp,  # lda
        ptr,  # b
        types.intp,  # ldb
        ptr,  # beta
        ptr,  # c
        types.intp,  # ldc
    )


_XXGEMM = {
    types.float64: types.ExternalFunction(
        "numba_xxgemm", _xxgemm_signature(types.float64)
    ),
    types.float32: types.ExternalFunction(
        "numba_xxgemm", _xxgemm_signature(types.float32)
    ),
}
_KIND = {types.float64: ord("d"), types.float32: ord("s")}


def gemm(trans_a, trans_b, alpha, a, b, beta, c):
    """``c = alpha * op(a) @ op(b) + beta * c`` for row-major 2-D arrays.

    Only callable from jitted code.  Rows of ``a``, ``b`` and ``c`` must be
    contiguous (a C-contiguous array or a slice of rows of one).
    """
    raise NotImplementedError("gemm is only callable from numba-jitted code")


@overload(gemm, jit_options={"nogil": True})
def _gemm_overload(trans_a, trans_b, alpha, a, b, beta, c):
    dtype = c.dtype
    if dtype not in _XXGEMM or a.dtype != dtype or b.dtype != dtype:
        return None
    xxgemm = _XXGEMM[dtype]
    kind = _KIND[dtype]
    np_dtype = np.float64 if dtype == types.float64 else np.float32

    def impl(trans_a, trans_b, alpha, a, b, beta, c):
        m, n = c.shape
        k = a.shape[0] if trans_a else a.shape[1]
        if m == 0 or n == 0:
            return
        scalars = np.empty(2, np_dtype)
        scalars[0] = alpha
        scalars[1] = beta
        if k == 0:
            for i in range(m):
                for j in range(n):
                    c[i, j] *= scalars[1]
            return
        isz = c.itemsize
        if a.strides[1] != isz or b.strides[1] != isz or c.strides[1] != isz:
            raise ValueError("gemm needs arrays with contiguous rows")
        # Row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ: swap
        # the operands and keep each one's transpose flag.
        status = xxgemm(
            kind,
            ord("t") if trans_b else ord("n"),
            ord("t") if trans_a else ord("n"),
            n,
            m,
            k,
            scalars[0:1].ctypes,
            b.ctypes,
            max(b.strides[0] // isz, 1),
            a.ctypes,
            max(a.strides[0] // isz, 1),
            scalars[1:2].ctypes,
            c.ctypes,
            max(c.strides[0] // isz, 1),
        )
        if status != 0:
            raise RuntimeError("BLAS gemm call failed")

    return impl


#: Products with at least this many multiply-adds (m * n * k) are split in
#: two column blocks computed on two threads. The split depends only on the
#: shapes, never on the thread count, so results are the same bits with one
#: thread or two. Measured here (784 x 500 weights): one block 39-42 GFLOP/s,
#: two blocks 69 GFLOP/s at 100-1000 rows; below ~4M multiply-adds the
#: thread hand-off costs more than it saves.
PARALLEL_MIN_WORK = 2**22


@njit(parallel=True, nogil=True, cache=True)
def _gemm_two_blocks(trans_a, trans_b, alpha, a, b, beta, c):
    n = c.shape[1]
    half = (n + 1) // 2
    for block in prange(2):
        c0 = block * half
        c1 = min(n, c0 + half)
        if trans_b:
            gemm(trans_a, trans_b, alpha, a, b[c0:c1], beta, c[:, c0:c1])
        else:
            gemm(trans_a, trans_b, alpha, a, b[:, c0:c1], beta, c[:, c0:c1])


@njit(nogil=True, cache=True)
def matmul_add(trans_a, trans_b, alpha, a, b, beta, c):
    """``c = alpha * op(a) @ op(b) + beta * c``; large products on 2 threads.

    BLAS itself must run single-threaded (the estimators pin it), so the
    only parallelism is this fixed split.
    """
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    if m * n * k >= PARALLEL_MIN_WORK and n >= 2:
        _gemm_two_blocks(trans_a, trans_b, alpha, a, b, beta, c)
    else:
        gemm(trans_a, trans_b, alpha, a, b, beta, c)
