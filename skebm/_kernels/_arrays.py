"""Array helpers of the kernels: copies and fills as explicit loops.

numba compiles an array-to-array slice assignment (``a[i:j] = b``) with an
error path that formats the shapes, about 2 s of compile time on a cold
cache, once per process; these loops compile in milliseconds and are
inlined where they are used.
"""

from ._jit import helper


@helper(error_model="numpy")
def copy_1d(dst, src):
    """``dst[:] = src`` for 1-d arrays of the same length."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@helper(error_model="numpy")
def copy_2d(dst, src):
    """``dst[:, :] = src`` for 2-d arrays of the same shape."""
    for r in range(dst.shape[0]):
        for c in range(dst.shape[1]):
            dst[r, c] = src[r, c]


@helper(error_model="numpy")
def copy_columns(dst, src, c0, c1):
    """``dst[:, c0:c1] = src[:, c0:c1]``, looping over ranges of whole rows
    (loops over the rows of a column slice do not vectorise)."""
    for r in range(dst.shape[0]):
        d = dst[r][c0:c1]  # from index 0: a loop from a run-time start
        s = src[r][c0:c1]  # does not vectorise (negative-index wraparound)
        for k in range(d.shape[0]):
            d[k] = s[k]


@helper(error_model="numpy")
def fill_columns(out, row, c0, c1):
    """``out[:, c0:c1] = row[c0:c1]`` on every row, looping over ranges of
    whole rows (see :func:`copy_columns`)."""
    src = row[c0:c1]
    for r in range(out.shape[0]):
        dst = out[r][c0:c1]
        for k in range(src.shape[0]):
            dst[k] = src[k]


@helper
def fill_rows(out, row):
    """Set every row of ``out`` to ``row``."""
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = row[c]
