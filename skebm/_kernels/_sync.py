"""Two threads in one kernel: atomics, a spinning barrier, and the launcher.

A minibatch of an RBM epoch is a chain of small steps (a product, a draw,
another product), each needing the previous one complete.  Splitting each
product into column blocks computed by two threads halves the time of large
products, but only if the threads meet between steps in well under a
microsecond, so the kernel's threads synchronise through a barrier that
spins on an atomic counter (``pause``, then ``sched_yield`` if the wait gets
long) instead of returning to Python or to numba's thread pool.

Why not ``prange``: a cached kernel that calls a cached ``parallel=True``
function segfaults in later processes (numba issue #8578); numba's
``workqueue`` layer aborts when two Python threads launch parallel work at
once; and GNU OpenMP, its other layer here, is not fork-safe.  These
threads are plain Python threads running a ``nogil`` kernel, started for the
call and joined at its end, so none of that applies.

Determinism: the caller splits work into a fixed number of *blocks* chosen
from the shapes alone; thread ``t`` of ``n`` runs blocks ``t, t + n, ...``.
Every block computes the same numbers whichever thread runs it, so the
result depends on the number of blocks, never on the number of threads.

The shared state is an int64 array ``sync``: ``[arrived, generation,
abort]``.  The launcher sets ``abort`` when a thread raised, so the other
one leaves its barrier instead of waiting forever.
"""

import functools
import os
import platform
import threading

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._jit import helper


def _element_pointer(context, builder, signature, args):
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])


def _int64_array(arr):
    return isinstance(arr, types.Array) and arr.dtype == types.int64


@intrinsic
def atomic_add(typingctx, arr, idx, val):
    """``arr[idx] += val`` atomically (sequentially consistent); returns
    the old value."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", ptr, value, "seq_cst")

    return types.int64(arr, types.intp, val), codegen


@intrinsic
def atomic_load(typingctx, arr, idx):
    """``arr[idx]``, read atomically (sequentially consistent)."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        return builder.load_atomic(ptr, "seq_cst", 8)

    return types.int64(arr, types.intp), codegen


@intrinsic
def atomic_store(typingctx, arr, idx, val):
    """``arr[idx] = val``, written atomically (sequentially consistent)."""
    if not _int64_array(arr):
        return None

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature, args)
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, ptr, "seq_cst", 8)
        return context.get_dummy_value()

    return types.void(arr, types.intp, val), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


@intrinsic
def _cpu_relax(typingctx):
    """The x86 ``pause`` hint inside a spin loop (nothing elsewhere)."""

    def codegen(context, builder, signature, args):
        if _X86:
            fnty = ir.FunctionType(ir.VoidType(), [])
            fn = builder.module.declare_intrinsic("llvm.x86.sse2.pause", (), fnty)
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


if os.name == "posix":
    _sched_yield = types.ExternalFunction("sched_yield", types.intc())

    @njit(inline="always")
    def _yield():
        _sched_yield()

else:  # pragma: no cover - the launcher runs one thread there

    @njit(inline="always")
    def _yield():
        _cpu_relax()


#: Spins with ``pause`` before a waiting thread starts yielding its core.
_SPINS_BEFORE_YIELD = 4000


@njit(inline="always")
def barrier(sync, n_threads):
    """Wait until all ``n_threads`` threads have arrived; False if aborted.

    Generation counting: the last thread to arrive resets the count and
    bumps the generation, which releases the others.  Sequentially
    consistent atomics order every ordinary write before the barrier ahead
    of every read after it.
    """
    if n_threads == 1:
        return True
    generation = atomic_load(sync, 1)
    if atomic_add(sync, 0, 1) == n_threads - 1:
        atomic_store(sync, 0, 0)
        atomic_add(sync, 1, 1)
    else:
        spins = 0
        while atomic_load(sync, 1) == generation:
            if atomic_load(sync, 2) != 0:
                return False
            spins += 1
            if spins < _SPINS_BEFORE_YIELD:
                _cpu_relax()
            else:
                _yield()
    return atomic_load(sync, 2) == 0


@helper(error_model="numpy")
def span(n, block, n_blocks):
    """Bounds of block ``block`` of ``n_blocks`` near-equal parts of ``n``."""
    return (block * n) // n_blocks, ((block + 1) * n) // n_blocks


def available_threads():
    """Threads a kernel may use: the CPUs this process may run on (cgroup
    quotas included, via joblib) and ``NUMBA_NUM_THREADS``; 1 off POSIX.

    :func:`run_threads` may grant fewer while other kernels of this process
    run on several threads."""
    if os.name != "posix":
        return 1
    from numba import config

    return max(1, min(int(config.NUMBA_NUM_THREADS), _cpu_count()))


@functools.lru_cache(maxsize=1)
def _cpu_count():
    """joblib's CPU count (affinity and cgroup quota), read once: it reads
    the cgroup files on every call (about 100 µs)."""
    from joblib import cpu_count

    return cpu_count()


#: Extra threads (beyond their callers) that kernels of this process run on
#: now; guarded by ``_EXTRA_LOCK``.
_EXTRA_IN_USE = 0
_EXTRA_LOCK = threading.Lock()


def _claim_extra(wanted):
    """Reserve up to ``wanted`` extra threads, so that fits running side by
    side in threads of one process (joblib's threading backend, a dask
    worker with several threads) do not each start spinning helpers on
    cores the others use. Any grant gives the same results."""
    global _EXTRA_IN_USE
    with _EXTRA_LOCK:
        budget = available_threads() - 1 - _EXTRA_IN_USE
        granted = max(0, min(wanted, budget))
        _EXTRA_IN_USE += granted
    return granted


def _release_extra(granted):
    global _EXTRA_IN_USE
    with _EXTRA_LOCK:
        _EXTRA_IN_USE -= granted


def run_threads(kernel, args, n_threads):
    """Run ``kernel(*args, tid, n, sync)`` on ``n <= n_threads`` threads (the
    calling one included) and return when all have finished; the first
    exception raised by any of them is re-raised.

    ``n`` is ``n_threads`` less the threads other kernels of this process
    hold right now; kernels must give the same results for every ``n``.
    """
    sync = np.zeros(3, np.int64)
    extra = _claim_extra(int(n_threads) - 1) if n_threads > 1 else 0
    if extra == 0:
        kernel(*args, 0, 1, sync)
        return
    n = extra + 1
    errors = []

    def work(tid):
        try:
            kernel(*args, tid, n, sync)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
            sync[2] = 1  # release the others from their barriers

    helpers = []
    try:
        for tid in range(1, n):
            thread = threading.Thread(target=work, args=(tid,), daemon=True)
            thread.start()
            helpers.append(thread)
        work(0)
    except BaseException:
        sync[2] = 1  # a helper failed to start, or an interrupt: stop the rest
        raise
    finally:
        for thread in helpers:
            thread.join()
        _release_extra(extra)
    if errors:
        raise errors[0]
