"""Branch-free ``exp`` and ``log1p`` that LLVM can vectorise.

Numba lowers ``np.exp`` and ``np.log1p`` to scalar libm calls (there is no
SVML here), about 7-8 ns each; the sigmoids of a minibatch and the
softpluses of a free energy were a third of an RBM epoch on small models.
These versions are plain arithmetic, so a loop over an array row that calls
them compiles to AVX2 code.  They need the caller to be compiled with
``error_model="numpy"`` (otherwise numba guards every division with a
zero check, which stops vectorisation).

Accuracy (``tests/test_vmath.py`` checks it against NumPy over the whole
range): within 2 ulp for ``exp_nonpositive`` on ``[-708, 0]`` and 3 for
``log1p_unit`` on ``[0, 1]``.

- :func:`exp_nonpositive`: Cody-Waite reduction ``x = k ln2 + r`` with
  ``|r| <= ln2 / 2`` (``k`` found with the 1.5·2**52 rounding shift, so
  ``2**k`` is built from its bits), then the degree-13 Taylor polynomial of
  ``exp(r)`` (truncation error below 2e-17 relative).  Inputs below -708
  give 0 (libm would give a subnormal down to -745).
- :func:`log1p_unit`: ``log(1 + z) = 2 atanh(s)``, ``s = f / (2 + f)``,
  with ``1 + z`` halved (``+ ln 2``) when above ``sqrt(2)`` so that
  ``|s| <= 0.172``; 12 odd terms of the series.
- :func:`exp_nonpositive_f32`: the float32 version (Cephes ``expf``:
  the same reduction in float32 and a degree-5 polynomial, within 2 ulp of
  float32), so that float32 models compute their sigmoids in float32, eight
  lanes at a time, instead of converting to float64.
- :func:`logit_unit`: ``log(q)`` for ``q = u / (1 - u)`` from the exponent
  and mantissa of ``q`` (``q = 2**e m``, ``log q = e ln 2 + log1p(m - 1)``).
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
_LN2_HI = 6.93147180369123816490e-01  # high bits of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + _SHIFT rounds x to an integer
_SHIFT_BITS = int(np.float64(_SHIFT).view(np.int64))
_SQRT2_M1 = 0.41421356237309503  # sqrt(2) - 1

# float32 exp (Cephes expf's reduction and polynomial); numba types numpy
# float32 globals as float32 constants, so the arithmetic stays float32.
_F32 = np.float32
_LOG2E_F32 = _F32(1.44269504088896341)
_SHIFT_F32 = _F32(12582912.0)  # 1.5 * 2**23
_SHIFT_BITS_F32 = int(_SHIFT_F32.view(np.int32))
_LN2_HI_F32 = _F32(0.693359375)  # 9 significant bits: k * _LN2_HI_F32 is exact
_LN2_LO_F32 = _F32(-2.12194440e-4)
_EXP_MIN_F32 = _F32(-87.0)  # exp(-87) = 1.6e-38, near the smallest normal
_ZERO_F32 = _F32(0.0)
_ONE_F32 = _F32(1.0)
_P0_F32, _P1_F32, _P2_F32, _P3_F32, _P4_F32, _P5_F32 = (
    _F32(c)
    for c in (
        1.9875691500e-4,
        1.3981999507e-3,
        8.3334519073e-3,
        4.1665795894e-2,
        1.6666665459e-1,
        5.0000001201e-1,
    )
)
_MANTISSA = 0x000FFFFFFFFFFFFF  # the 52 fraction bits of a float64
_ONE_BITS = 0x3FF0000000000000  # the exponent bits of 1.0
#: ``logit_unit(0)``: below any finite field a unit can have.
LOGIT_ZERO = -1e300

# 1 / n! for the exp polynomial, 1 / (2n + 1) for the atanh series.
_E = [1.0 / float(np.prod(np.arange(1, n + 1, dtype=np.float64))) for n in range(14)]
_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13 = _E
_A = [1.0 / (2 * n + 1) for n in range(12)]
_A0, _A1, _A2, _A3, _A4, _A5, _A6, _A7, _A8, _A9, _A10, _A11 = _A


@intrinsic
def _bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a register bitcast)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, n):
    """The float64 whose IEEE-754 bits are the int64 ``n``."""
    if n != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _mul_add(typingctx, a, b, c):
    """``a * b + c``, fused into one FMA where the CPU has it
    (``llvm.fmuladd``: the same result every call on a given machine);
    all three float64 or all three float32."""
    if not (a == b == c) or a not in (types.float64, types.float32):
        return None
    dtype = a

    def codegen(context, builder, signature, args):
        flt = ir.DoubleType() if dtype == types.float64 else ir.FloatType()
        fn = builder.module.declare_intrinsic(
            "llvm.fmuladd", [flt], ir.FunctionType(flt, [flt] * 3)
        )
        return builder.call(fn, args)

    return dtype(dtype, dtype, dtype), codegen


@intrinsic
def _pow2_from_shifted_f32(typingctx, t):
    """``2**k`` (float32) for ``t = k + 1.5 * 2**23`` as rounded by the
    shift trick: ``k`` sits in the low bits of ``t``'s mantissa.  Valid for
    ``-126 <= k <= 127``."""
    if t != types.float32:
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        bits = builder.bitcast(args[0], i32)
        bits = builder.sub(bits, ir.Constant(i32, _SHIFT_BITS_F32 - 127))
        bits = builder.shl(bits, ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())

    return types.float32(types.float32), codegen


@njit(inline="always")
def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (float64), branch-free."""
    low = x < -708.0  # exp(x) < 3.3e-308: returned as 0 (a NaN stays NaN)
    x = -708.0 if low else x
    t = x * _LOG2E + _SHIFT
    k = t - _SHIFT  # round(x / ln 2)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _mul_add(_E13, r, _E12)
    p = _mul_add(p, r, _E11)
    p = _mul_add(p, r, _E10)
    p = _mul_add(p, r, _E9)
    p = _mul_add(p, r, _E8)
    p = _mul_add(p, r, _E7)
    p = _mul_add(p, r, _E6)
    p = _mul_add(p, r, _E5)
    p = _mul_add(p, r, _E4)
    p = _mul_add(p, r, _E3)
    p = _mul_add(p, r, _E2)
    p = _mul_add(p, r, _E1)
    p = _mul_add(p, r, _E0)
    # 2**k from its exponent bits; k in [-1022, 0], so always a normal number
    y = p * _from_bits((_bits(t) - _SHIFT_BITS + 1023) << 52)
    return 0.0 if low else y


@njit(inline="always")
def exp_nonpositive_f32(x):
    """``exp(x)`` for float32 ``x <= 0``, in float32, branch-free; inputs
    below -87 give 0 (a NaN stays NaN)."""
    low = x < _EXP_MIN_F32
    x = _EXP_MIN_F32 if low else x
    t = x * _LOG2E_F32 + _SHIFT_F32
    k = t - _SHIFT_F32  # round(x / ln 2)
    r = (x - k * _LN2_HI_F32) - k * _LN2_LO_F32
    p = _mul_add(_P0_F32, r, _P1_F32)
    p = _mul_add(p, r, _P2_F32)
    p = _mul_add(p, r, _P3_F32)
    p = _mul_add(p, r, _P4_F32)
    p = _mul_add(p, r, _P5_F32)
    y = _mul_add(p, r * r, r) + _ONE_F32
    y = y * _pow2_from_shifted_f32(t)
    return _ZERO_F32 if low else y


@njit(inline="always")
def log1p_unit(z):
    """``log(1 + z)`` for ``0 <= z <= 1`` (float64), branch-free."""
    big = z > _SQRT2_M1
    # f = m - 1 with m = 1 + z or (1 + z) / 2, computed without rounding 1 + z
    f = 0.5 * (z - 1.0) if big else z
    s = f / (2.0 + f)
    s2 = s * s
    q = _mul_add(_A11, s2, _A10)
    q = _mul_add(q, s2, _A9)
    q = _mul_add(q, s2, _A8)
    q = _mul_add(q, s2, _A7)
    q = _mul_add(q, s2, _A6)
    q = _mul_add(q, s2, _A5)
    q = _mul_add(q, s2, _A4)
    q = _mul_add(q, s2, _A3)
    q = _mul_add(q, s2, _A2)
    q = _mul_add(q, s2, _A1)
    q = _mul_add(q, s2, _A0)
    return 2.0 * s * q + (_LN2 if big else 0.0)


@njit(inline="always")
def logit_unit(u):
    """``log(u / (1 - u))`` for ``0 <= u < 1`` (float64), branch-free;
    :data:`LOGIT_ZERO` for ``u = 0``.

    A uniform ``u`` gives ``u < sigmoid(a)`` exactly when
    ``a > logit_unit(u)`` (up to rounding), so samplers draw the thresholds
    of a whole sweep in one vectorised pass and the sequential loop that
    follows only compares. Within 4 ulp plus ``2**-52`` (the rounding of
    ``q`` near 1, i.e. of ``u`` near 1/2, where the logit crosses zero).
    """
    zero = u <= 0.0
    q = u / (1.0 - u)
    q = 1.0 if zero else q  # q >= 2**-53 otherwise: a normal number
    bits = _bits(q)
    e = float((bits >> 52) - 1023)
    m = _from_bits((bits & _MANTISSA) | _ONE_BITS)  # q = 2**e m, m in [1, 2)
    y = e * _LN2_HI + (log1p_unit(m - 1.0) + e * _LN2_LO)
    return LOGIT_ZERO if zero else y
