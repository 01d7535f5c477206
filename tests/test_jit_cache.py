"""skebm's numba cache saves are locked against concurrent processes."""

import threading
import time

from numba.core.caching import IndexDataCacheFile

from skebm._kernels._jit import _LockedIndexDataCacheFile


class _SlowIndex(_LockedIndexDataCacheFile):
    """Waits between reading the index and writing it back, so that
    unlocked saves running at once would all start from the same index."""

    def _load_index(self):
        overloads = super()._load_index()
        time.sleep(0.02)
        return overloads


def test_concurrent_saves_keep_every_entry_with_its_own_data(tmp_path):
    # flock locks of separate open() calls exclude each other within one
    # process too, so threads stand in for processes; without the lock
    # each save rewrote the index it had read (16 threads: entries lost,
    # and data files shared between keys)
    def save(i):
        _SlowIndex(str(tmp_path), "f", "stamp").save(("key", i), ("data", i))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = IndexDataCacheFile(str(tmp_path), "f", "stamp")
    assert [reader.load(("key", i)) for i in range(16)] == [
        ("data", i) for i in range(16)
    ]


def test_every_kernel_and_helper_saves_under_the_lock():
    import importlib
    import pkgutil

    from numba.core.registry import CPUDispatcher

    import skebm._kernels as package

    dispatchers = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"skebm._kernels.{info.name}")
        dispatchers += [
            value
            for value in vars(module).values()
            if isinstance(value, CPUDispatcher) and value._cache is not None
            and value._cache.__class__.__name__ == "FunctionCache"
        ]  # fmt: skip
    assert len(dispatchers) > 20
    for dispatcher in dispatchers:
        assert type(dispatcher._cache._cache_file) is _LockedIndexDataCacheFile
