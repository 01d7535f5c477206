"""How skebm compiles its numba code.

Every jitted function is cached on disk (``cache=True``), releases the
GIL (``nogil=True``, so that ``_sync.run_threads`` can run it on two
threads) and has no C-function wrapper (nothing calls it through ctypes).
Functions that Python calls are compiled with :func:`kernel`; functions
that only other jitted functions call with :func:`helper`, without the
CPython wrapper either. Each wrapper is more code for LLVM to optimise and
emit on a new user's first run (the CPython wrapper of a kernel that takes
a tuple of arrays unboxes every element).
"""

from numba import njit


def kernel(function=None, **options):
    """``@kernel`` or ``@kernel(error_model="numpy", ...)``: a jitted
    function callable from Python and from jitted code."""
    decorate = njit(cache=True, nogil=True, no_cfunc_wrapper=True, **options)
    return decorate if function is None else decorate(function)


def helper(function=None, **options):
    """``@helper`` or ``@helper(error_model="numpy", ...)``: a jitted
    function callable from jitted code only."""
    decorate = njit(
        cache=True,
        nogil=True,
        no_cpython_wrapper=True,
        no_cfunc_wrapper=True,
        **options,
    )
    return decorate if function is None else decorate(function)
