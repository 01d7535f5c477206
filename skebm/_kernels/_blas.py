"""In-place BLAS ``gemm`` callable from cached numba kernels.

``numba.np.dot`` always allocates its output and has no alpha/beta, so a
weight update ``W += lr * (H_posᵀ V_pos - H_negᵀ V_neg)`` costs an extra
temporary and an extra pass over ``W``.  Here we call numba's own BLAS bridge
(the ``numba_xxgemm`` helper that ``np.dot`` uses, which dispatches to SciPy's
``cython_blas``) with our own transposes, alpha and beta.  The symbol is
resolved by name at load time, so kernels that use it can be cached on disk.

The call itself is an intrinsic (emitted inline, no compilation of its
own), and :func:`gemm` is an ordinary cached function of strided 2-d
arrays: every kernel shares its one compiled version per dtype.
"""

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import kernel

_KIND = {types.float64: ord("d"), types.float32: ord("s")}


@intrinsic
def _xxgemm(typingctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """``numba_xxgemm`` (column-major BLAS gemm) on the data of arrays
    ``a``, ``b``, ``c`` of one float dtype; ``alpha`` and ``beta`` are
    passed by value and converted to it. Returns the BLAS status."""
    arrays = (a, b, c)
    if not all(isinstance(x, types.Array) for x in arrays):
        return None
    dtype = c.dtype
    if dtype not in _KIND or a.dtype != dtype or b.dtype != dtype:
        return None
    sig = types.int32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        char = ir.IntType(8)
        intp = context.get_value_type(types.intp)
        void_p = cgutils.voidptr_t
        fnty = ir.FunctionType(
            ir.IntType(32),
            [char, char, char, intp, intp, intp, void_p, void_p, intp,
             void_p, intp, void_p, void_p, intp],
        )  # fmt: skip
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        ta, tb, mm, nn, kk, al, aa, la, bb, lb, be, cc, lc = args
        sty = signature.args

        def integer(value, ty, ll_type):
            return context.cast(builder, value, ty, types.intp if ll_type is intp
                                else types.int8)  # fmt: skip

        def scalar(value, ty):
            slot = cgutils.alloca_once(builder, context.get_value_type(dtype))
            builder.store(context.cast(builder, value, ty, dtype), slot)
            return builder.bitcast(slot, void_p)

        def data(value, ty):
            return builder.bitcast(context.make_array(ty)(context, builder, value).data,
                                   void_p)  # fmt: skip

        return builder.call(
            fn,
            (
                ir.Constant(char, _KIND[dtype]),
                integer(ta, sty[0], char),
                integer(tb, sty[1], char),
                integer(mm, sty[2], intp),
                integer(nn, sty[3], intp),
                integer(kk, sty[4], intp),
                scalar(al, sty[5]),
                data(aa, sty[6]),
                integer(la, sty[7], intp),
                data(bb, sty[8]),
                integer(lb, sty[9], intp),
                scalar(be, sty[10]),
                data(cc, sty[11]),
                integer(lc, sty[12], intp),
            ),
        )

    return sig, codegen


_T = 116  # ord("t")
_N = 110  # ord("n")

#: Transpose flags for :func:`gemm`. NumPy booleans rather than ``True`` and
#: ``False``: numba compiles a jitted function once per *literal* argument
#: value, so literal flags would compile ``gemm`` once per combination.
TRANS = np.True_
NO_TRANS = np.False_


@kernel
def gemm(trans_a, trans_b, alpha, a, b, beta, c):
    """``c = alpha * op(a) @ op(b) + beta * c`` for row-major 2-D arrays.

    Only callable from jitted code.  Rows of ``a``, ``b`` and ``c`` must be
    contiguous (a C-contiguous array or a slice of rows of one).  Callers
    pass strided views (``a[:, :]``), so every call site shares one compiled
    specialisation per dtype instead of one per combination of layouts.

    Serial: BLAS is pinned to one thread by the estimators, so results
    never depend on the thread count. Never ``parallel=True``: a cached
    kernel that calls a cached ``parallel=True`` function segfaults when it
    was compiled in a process that loaded the parallel function from the
    disk cache and is itself later loaded from the cache (numba issue
    #8578, reproduced here with numba 0.68). Kernels that want two cores
    split their products into column blocks run by their own threads
    instead (:mod:`._sync`).
    """
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] *= beta
        return
    isz = c.itemsize
    if a.strides[1] != isz or b.strides[1] != isz or c.strides[1] != isz:
        raise ValueError("gemm needs arrays with contiguous rows")
    # Row-major C = op(A) op(B) is column-major Cᵀ = op(B)ᵀ op(A)ᵀ: swap
    # the operands and keep each one's transpose flag.
    status = _xxgemm(
        _T if trans_b else _N,
        _T if trans_a else _N,
        n,
        m,
        k,
        alpha,
        b,
        max(b.strides[0] // isz, 1),
        a,
        max(a.strides[0] // isz, 1),
        beta,
        c,
        max(c.strides[0] // isz, 1),
    )
    if status != 0:
        raise RuntimeError("BLAS gemm call failed")
