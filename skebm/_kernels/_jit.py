"""How skebm compiles its numba code.

Every jitted function is cached on disk (``cache=True``), releases the
GIL (``nogil=True``, so that ``_sync.run_threads`` can run it on two
threads) and has no C-function wrapper (nothing calls it through ctypes).
Functions that Python calls are compiled with :func:`kernel`; functions
that only other jitted functions call with :func:`helper`, without the
CPython wrapper either. Each wrapper is more code for LLVM to optimise and
emit on a new user's first run (the CPython wrapper of a kernel that takes
a tuple of arrays unboxes every element).

numba adds an entry to a function's cache by reading the index, adding
the entry and writing index and data back, with nothing to stop another
process doing the same at once: two processes compiling different
specialisations of one function (``GridSearchCV(n_jobs=2)`` from a cold
cache) could each give their entry the same data file, and a later run
load one specialisation's machine code for the other's types. Each save
here holds an exclusive lock on a file next to the index
(:class:`_LockedIndexDataCacheFile`; POSIX ``flock``, none on Windows).
"""

import contextlib

from numba import njit
from numba.core.caching import IndexDataCacheFile

try:
    import fcntl
except ImportError:  # (Windows: numba's own, unlocked saves)
    fcntl = None


@contextlib.contextmanager
def _exclusive(path):
    """Hold an exclusive lock on ``path`` (created if need be); nothing
    when it cannot be opened or locked (a read-only cache, no ``flock``),
    as numba saves without one."""
    handle = None
    if fcntl is not None:
        try:
            handle = open(path, "ab")
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:
            if handle is not None:
                handle.close()
            handle = None
    try:
        yield
    finally:
        if handle is not None:
            handle.close()  # releases the lock


class _LockedIndexDataCacheFile(IndexDataCacheFile):
    """numba's index-and-data cache file whose :meth:`save` (read the
    index, add the entry, write index and data) runs under an exclusive
    lock on ``<index>.lock``, so that concurrent saves cannot lose entries
    or give two entries one data file."""

    def save(self, key, data):
        with _exclusive(self._index_path + ".lock"):
            super().save(key, data)


def _locked(dispatcher):
    """``dispatcher`` with its cache file's saves locked (left as it is
    if numba's cache is not built as expected)."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if type(cache_file) is IndexDataCacheFile:
        cache_file.__class__ = _LockedIndexDataCacheFile
    return dispatcher


def _compiler(function, options):
    decorate = njit(cache=True, nogil=True, no_cfunc_wrapper=True, **options)

    def compile_locked(f):
        return _locked(decorate(f))

    return compile_locked if function is None else compile_locked(function)


def kernel(function=None, **options):
    """``@kernel`` or ``@kernel(error_model="numpy", ...)``: a jitted
    function callable from Python and from jitted code."""
    return _compiler(function, options)


def helper(function=None, **options):
    """``@helper`` or ``@helper(error_model="numpy", ...)``: a jitted
    function callable from jitted code only."""
    return _compiler(function, {"no_cpython_wrapper": True, **options})
