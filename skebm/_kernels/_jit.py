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
here holds an exclusive lock on a file next to the index, each load a
shared one (:class:`_LockedIndexDataCacheFile`; POSIX ``flock``; none on
Windows or where the lock cannot be taken, as numba has it).
"""

import contextlib
import os

from numba import njit

try:
    import fcntl
except ImportError:  # (Windows: numba's own, unlocked saves)
    fcntl = None
try:
    from numba.core.caching import IndexDataCacheFile
except ImportError:  # (a numba that moved it: numba's own saves)
    IndexDataCacheFile = None

#: Lock files this process holds open; a child forked meanwhile closes its
#: copies, or the lock would outlive the parent's release (flock locks
#: belong to the open file, which fork shares).
_HELD = set()


def _close_held_in_child():
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_in_child)


@contextlib.contextmanager
def _locked_file(path, exclusive=True):
    """Hold an exclusive (or a shared) ``flock`` on ``path`` (created if need be,
    opened read-only: ``flock`` needs no write access, so users sharing a
    cache can all take it); nothing when it cannot be opened or locked (no
    ``fcntl``, a file system without ``flock``), as numba saves without
    one."""
    fd = None
    if fcntl is not None and path is not None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o666)
            _HELD.add(fd)
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        except OSError:
            if fd is not None:
                _HELD.discard(fd)
                os.close(fd)
            fd = None
    try:
        yield
    finally:
        if fd is not None:
            _HELD.discard(fd)
            os.close(fd)  # releases the lock


if IndexDataCacheFile is not None:

    class _LockedIndexDataCacheFile(IndexDataCacheFile):
        """numba's index-and-data cache file whose :meth:`save` (read the
        index, add the entry, write index and data) holds an exclusive
        lock on ``<index file>.lock`` (``....nbi.lock``), so that
        concurrent saves cannot lose entries or give two entries one data
        file, and whose :meth:`load` holds a shared one, so that it never
        reads an index entry before its data is written."""

        def _lock_path(self):
            index = getattr(self, "_index_path", None)
            return None if index is None else index + ".lock"

        def save(self, key, data):
            with _locked_file(self._lock_path()):
                super().save(key, data)

        def load(self, key):
            with _locked_file(self._lock_path(), exclusive=False):
                return super().load(key)


def _locked(dispatcher):
    """``dispatcher`` with its cache file's saves and loads locked (left
    as it is if numba's cache is not built as expected)."""
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if IndexDataCacheFile is not None and type(cache_file) is IndexDataCacheFile:
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
