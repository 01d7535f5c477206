"""skebm's numba cache saves are locked against concurrent processes."""

import os
import threading
import time

import pytest
from numba.core.caching import IndexDataCacheFile

from skebm._kernels._jit import _locked_file, _LockedIndexDataCacheFile

fcntl = pytest.importorskip("fcntl")


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


def test_loads_wait_for_a_save_in_progress(tmp_path):
    # numba writes the index before the data: a load between the two would
    # find the entry and read an older data file
    writer = _LockedIndexDataCacheFile(str(tmp_path), "f", "stamp")
    writer.save(("key", 0), ("data", 0))
    loaded = []
    with _locked_file(writer._lock_path()):
        reader = threading.Thread(target=lambda: loaded.append(writer.load(("key", 0))))
        reader.start()
        time.sleep(0.2)
        assert loaded == []  # waiting for the lock
    reader.join(timeout=10)
    assert loaded == [("data", 0)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_a_save_does_not_keep_the_lock(tmp_path):
    # flock belongs to the open file, which fork shares: had the child kept
    # its copy, the lock would stay held until the child exits
    path = str(tmp_path / "f.nbi.lock")
    ready, started = os.pipe()
    with _locked_file(path):
        pid = os.fork()
        if pid == 0:  # the child (fork's hooks have run): outlive the parent
            os.write(started, b"1")
            time.sleep(2.0)
            os._exit(0)
        os.read(ready, 1)
    os.close(ready)
    os.close(started)
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free at once
        finally:
            os.close(fd)
    finally:
        os.waitpid(pid, 0)
