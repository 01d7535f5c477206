"""In-place BLAS ``gemm`` callable from cached numba kernels.

``numba.np.dot`` always allocates its output and has no alpha/beta, so a
weight update ``W += lr * (H_posᵀ V_pos - H_negᵀ V_neg)`` costs an extra
temporary and an extra pass over ``W``.  Here we call numba's own BLAS bridge
(the ``numba_xxgemm`` helper that ``np.dot`` uses, which dispatches to SciPy's
``cython_blas``) with our own transposes, alpha and beta.  The symbol is
resolved by name at load time, so kernels that use it can be cached on disk.
"""

import numpy as np
from numba import njit, types
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


@njit(nogil=True, cache=True)
def matmul_add(trans_a, trans_b, alpha, a, b, beta, c):
    """``c = alpha * op(a) @ op(b) + beta * c`` (serial; BLAS pinned to one
    thread by the estimators, so results never depend on the thread count).

    Never ``parallel=True``: a cached kernel that calls a cached
    ``parallel=True`` function segfaults when it was compiled in a process
    that loaded the parallel function from the disk cache and is itself
    later loaded from the cache (numba issue #8578, reproduced here with
    numba 0.68). Kernels that want two cores split their products into
    column blocks run by their own threads instead (:mod:`._sync`).
    """
    gemm(trans_a, trans_b, alpha, a, b, beta, c)
