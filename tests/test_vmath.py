"""The branch-free exp / log1p / sigmoid / softplus against NumPy's libm."""

import numba
import numpy as np
import pytest
from numba import njit

from skebm._kernels._layers import sigmoid, softplus
from skebm._kernels._vmath import (
    LOGIT_ZERO,
    exp_nonpositive,
    exp_nonpositive_f32,
    log1p_unit,
    logit_unit,
)


def _vectorised(f):
    @njit(error_model="numpy")
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = f(x[i])
        return out

    return apply


_exp = _vectorised(exp_nonpositive)
_log1p = _vectorised(log1p_unit)
_sigmoid = _vectorised(sigmoid)
_softplus = _vectorised(softplus)


def _ulps(got, want):
    """Error in units of the last place of ``want``."""
    return np.abs(got - want) / np.spacing(np.abs(want))


def _grid(lo, hi, n=200_001, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([np.linspace(lo, hi, n), rng.uniform(lo, hi, n)])


def test_exp_nonpositive_within_two_ulps():
    x = np.concatenate([_grid(-708.0, 0.0), -np.logspace(-320, 2.5, 10_000), [0.0]])
    assert _ulps(_exp(x), np.exp(x)).max() <= 2.0


def test_exp_nonpositive_below_range_and_special_values():
    out = _exp(np.array([-708.0, -708.01, -1e4, -np.inf, np.nan]))
    assert _ulps(out[:1], np.exp([-708.0]))[0] <= 2.0
    assert np.all(out[1:4] == 0.0)
    assert np.isnan(out[4])


def test_log1p_unit_within_three_ulps():
    z = np.concatenate([_grid(0.0, 1.0), np.logspace(-320, 0, 10_000)])
    z = z[z > 0]
    assert _ulps(_log1p(z), np.log1p(z)).max() <= 3.0
    assert _log1p(np.array([0.0]))[0] == 0.0
    assert np.isnan(_log1p(np.array([np.nan]))[0])


@pytest.mark.parametrize("scale", [1.0, 40.0, 700.0])
def test_sigmoid_and_softplus_match_numpy(scale):
    x = _grid(-scale, scale)
    with np.errstate(over="ignore"):
        sig = np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))
    # sigmoid: a few ulps from the exp, the division and the product
    assert _ulps(_sigmoid(x), sig)[np.abs(x) < 708].max() <= 4.0
    sp = np.logaddexp(0.0, x)
    assert np.allclose(_softplus(x), sp, rtol=8e-16, atol=0.0)


def test_sigmoid_softplus_extremes_are_finite_or_nan_propagating():
    x = np.array([-np.inf, -1e6, 1e6, np.inf, np.nan])
    s = _sigmoid(x)
    assert s[2] == 1.0 and s[3] == 1.0 and s[0] == 0.0 and s[1] == 0.0
    assert np.isnan(s[4])
    sp = _softplus(x)
    assert sp[0] == 0.0 and sp[2] == 1e6 and sp[3] == np.inf and np.isnan(sp[4])


def test_float32_inputs():
    x = np.linspace(-30, 30, 1001).astype(np.float32)
    assert np.allclose(
        _sigmoid(x), 1.0 / (1.0 + np.exp(-x.astype(np.float64))), rtol=1e-6
    )


_logit = _vectorised(logit_unit)


def test_logit_unit_matches_extended_precision():
    u = np.concatenate(
        [
            _grid(0.0, 1.0 - 2.0**-53),
            np.logspace(-16, -1, 10_000),
            1.0 - np.logspace(-16, -1, 10_000),
            0.5 + np.linspace(-1e-12, 1e-12, 1001),
            [2.0**-53, 1.0 - 2.0**-53],
        ]
    )
    u = u[(u > 0.0) & (u < 1.0)]
    ul = u.astype(np.longdouble)
    want = np.log(ul) - np.log1p(-ul)  # 64-bit mantissa on x86, else float64
    got = _logit(u)
    # 4 ulp of the result, plus the absolute error 2**-52 from rounding
    # q = u / (1 - u) near q = 1 (u near 1/2, where the logit crosses 0):
    # a threshold off by 2e-16 moves no sampling probability measurably
    bound = 4 * np.spacing(np.abs(want.astype(np.float64))) + 2.0**-52
    assert np.all(np.abs(got - want) <= bound)
    assert np.all(np.sign(got) == np.sign(want.astype(np.float64)))


def test_logit_unit_at_zero_is_below_every_finite_field():
    got = _logit(np.array([0.0]))
    assert got[0] == LOGIT_ZERO and LOGIT_ZERO < -1e299


_exp32 = _vectorised(exp_nonpositive_f32)


def _ulps32(got, want):
    """Error in float32 units of the last place of ``want`` (float64)."""
    return np.abs(got.astype(np.float64) - want) / np.spacing(
        np.abs(want).astype(np.float32)
    ).astype(np.float64)


def test_exp_nonpositive_f32_within_two_float32_ulps():
    x = np.concatenate([_grid(-87.0, 0.0), -np.logspace(-30, 1.9, 10_000), [0.0]])
    x = x.astype(np.float32)
    got = _exp32(x)
    assert got.dtype == np.float32
    assert _ulps32(got, np.exp(x.astype(np.float64))).max() <= 2.0


def test_exp_nonpositive_f32_below_range_and_nan():
    got = _exp32(np.array([-87.5, -1e4, -np.inf, np.nan], dtype=np.float32))
    np.testing.assert_array_equal(got[:3], 0.0)
    assert np.isnan(got[3])


def test_sigmoid_of_float32_is_float32_within_three_ulps():
    x = _grid(-90.0, 90.0).astype(np.float32)
    got = _sigmoid(x)
    assert got.dtype == np.float32
    x64 = x.astype(np.float64)
    want = np.exp(-np.logaddexp(0.0, -x64))
    keep = want > 1e-37  # float32 subnormals have no relative accuracy
    # exp within 2 ulp, then a division and (x < 0) a product
    assert _ulps32(got[keep], want[keep]).max() <= 3.0
    assert np.all((got >= 0) & (got <= 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_computes_in_its_arguments_precision(dtype):
    # the float32 path must not convert to float64, which the float32 output
    # arrays of the tests above would hide: check the type and the IR
    @njit(error_model="numpy")
    def apply(x, out):
        value = sigmoid(x[0])
        out[0] = value
        return value

    x = np.array([0.25], dtype)
    apply(x, np.empty(1, dtype))
    (signature,) = apply.nopython_signatures
    assert signature.return_type == numba.from_dtype(np.dtype(dtype))
    if dtype is np.float32:
        # the wrapper boxes the returned float32 as a Python float (one
        # fpext); the computation itself must add none
        assert apply.inspect_llvm(signature.args).count("fpext float") == 1
