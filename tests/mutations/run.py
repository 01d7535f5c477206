"""Run the curated mutation check (see ``doc/developers.rst``).

    python tests/mutations/run.py [--only ID ...] [--jobs N] [--timeout S]
                                  [--fresh-cache] [--no-baseline] [--keep]

For each mutation in ``tests/mutations/mutations.py``: copy ``skebm/``,
``tests/``, ``setup.cfg`` and ``pyproject.toml`` to a temporary directory,
apply the mutation there (never to this checkout), and run

    python -m pytest -x -q -p no:cacheprovider <the mutation's tests>

from the copy, so that ``import skebm`` is the mutated copy (checked before
every run: the script aborts if it resolves anywhere else), with
``NUMBA_CACHE_DIR`` set to a directory of the mutant's own.

Outcomes: *killed* (pytest exit code 1: a test failed), *survived* (exit
code 0), *error* (any other exit code: collection or usage error, no tests
collected) and *timeout*. The script prints a table and the totals and
exits with status 1 when fewer than 95% of the (non-equivalent) mutations
are killed, 2 when the unmutated copy fails its tests or a mutation does not
apply.

Numba cache. Before the mutants, the unmutated copy runs the union of all
the selected tests (a baseline: a test that fails without any mutation
would "kill" every mutant) with a fresh cache, which it fills. A mutant's
cache directory starts as a copy of that cache *minus every entry that the
mutation could make stale*: numba keys a cached function by the hash of its
own source file, so it recompiles functions of the mutated file by itself,
but it does not notice edits to other files whose code was compiled into
a cached function (a helper from ``_layers.py``, ``_vmath.py`` or
``_sync.py`` inlined or linked into a kernel of ``_cd.py``). So for a
mutation of ``skebm/_kernels/X.py`` the entries of ``X`` and of every kernel
module that imports ``X``, directly or not, are left out; a mutation of a
module outside ``skebm/_kernels`` (no numba code) keeps the whole cache.
Every entry a mutant reuses was compiled from source identical to the
mutant's, so the result is the same as with an empty cache, only faster.
``--fresh-cache`` gives every mutant an empty cache instead (slower).
"""

import argparse
import ast
import concurrent.futures
import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KERNELS = "skebm/_kernels"
#: Fraction of the (non-equivalent) mutations that must be killed.
REQUIRED = 0.95
PYTEST = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", "mutants*")


def load_mutations():
    spec = importlib.util.spec_from_file_location(
        "_skebm_mutations", Path(__file__).with_name("mutations.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MUTATIONS


def check_mutations(mutations, root=ROOT):
    """Every id unique, every ``old`` found exactly once under ``root``."""
    problems, seen = [], set()
    for m in mutations:
        if m["id"] in seen:
            problems.append(f"{m['id']}: duplicate id")
        seen.add(m["id"])
        if not m["file"].startswith("skebm/"):
            problems.append(f"{m['id']}: {m['file']} is not under skebm/")
            continue
        text = (root / m["file"]).read_text(encoding="utf-8")
        count = text.count(m["old"])
        if count != 1:
            problems.append(
                f"{m['id']}: `old` occurs {count} times in {m['file']} (must be 1)"
            )
        elif m["old"] == m["new"]:
            problems.append(f"{m['id']}: `new` equals `old`")
    return problems


def make_copy(dest, source=ROOT):
    """Copy what the tests need from ``source`` into ``dest``."""
    dest.mkdir(parents=True)
    for name in ("skebm", "tests"):
        shutil.copytree(source / name, dest / name, ignore=_IGNORE)
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        if (source / name).exists():
            shutil.copy2(source / name, dest / name)


def apply_mutation(copy, m):
    path = copy / m["file"]
    text = path.read_text(encoding="utf-8")
    if text.count(m["old"]) != 1:
        raise RuntimeError(f"{m['id']} does not apply to {path}")
    path.write_text(text.replace(m["old"], m["new"]), encoding="utf-8")


def child_env(cache_dir):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # nothing may put this checkout first
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


_WHERE = "import os, skebm; print(os.path.realpath(skebm.__file__))"


def check_import(copy, env):
    """Abort unless ``import skebm`` in ``copy`` (as pytest will run it:
    same interpreter, working directory and environment) is the copy."""
    out = subprocess.run(
        [sys.executable, "-c", _WHERE],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
    )
    where = out.stdout.strip()
    expected = os.path.realpath(copy / "skebm" / "__init__.py")
    if out.returncode != 0 or where != expected:
        sys.exit(
            f"ABORT: in {copy}, `import skebm` resolves to {where or out.stderr!r}, "
            f"not to the copy ({expected}); mutants would test the wrong code."
        )


def kernel_subdir(copy):
    """Name of the numba cache subdirectory of ``copy``'s kernel modules
    (numba's ``_CacheLocator.get_suitable_cache_subpath``)."""
    path = os.path.abspath(copy / KERNELS)
    return "_".join([os.path.basename(path), hashlib.sha1(path.encode()).hexdigest()])


def kernel_importers(root):
    """``{module: set of kernel modules importing it, directly or not}``."""
    direct = {}
    for path in (root / KERNELS).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                direct.setdefault(node.module, set()).add(path.stem)
    closure = {}
    for module in {p.stem for p in (root / KERNELS).glob("*.py")}:
        seen, todo = set(), [module]
        while todo:
            for user in direct.get(todo.pop(), ()):
                if user not in seen:
                    seen.add(user)
                    todo.append(user)
        closure[module] = seen
    return closure


def stale_modules(m, importers):
    """Kernel modules whose cached code the mutation may change."""
    if not m["file"].startswith(KERNELS + "/"):
        return set()
    module = Path(m["file"]).stem
    return {module} | importers[module]


def seed_cache(warm, warm_copy, copy, cache_dir, stale):
    """Start ``cache_dir`` as the warm cache of ``warm_copy``, renamed for
    ``copy``, without the entries of the ``stale`` modules."""
    cache_dir.mkdir(parents=True)
    if warm is None:
        return
    src = warm / kernel_subdir(warm_copy)
    if not src.is_dir():
        return
    dst = cache_dir / kernel_subdir(copy)
    dst.mkdir()
    for entry in src.iterdir():
        if entry.name.split(".", 1)[0] not in stale:
            shutil.copy2(entry, dst / entry.name)


def run_pytest(copy, args, env, timeout, log):
    start = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            PYTEST + list(args),
            cwd=copy,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended on timeout
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    return code, time.perf_counter() - start


def outcome(code):
    if code is None:
        return "timeout"
    return {0: "survived", 1: "killed"}.get(code, f"error({code})")


def tail(path, n=15):
    lines = Path(path).read_text(errors="replace").splitlines()
    return "\n".join("    | " + line for line in lines[-n:])


def test_files(args):
    """The test files named in pytest arguments (``-k``/``-m`` values and
    other options skipped, ``::`` ids cut)."""
    files, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-k", "-m"):
            skip = True
        elif not a.startswith("-"):
            files.append(a.split("::")[0])
    return files


def union_of_tests(mutations):
    """One pytest invocation per distinct selection, whole files merged."""
    files, selections = [], []
    for m in mutations:
        args = list(m["tests"])
        if any(a.startswith("-") or "::" in a for a in args):
            if args not in selections:
                selections.append(args)
        else:
            files += [a for a in args if a not in files]
    # a -k / ::id selection inside files already run whole adds nothing
    extra = [s for s in selections if not set(test_files(s)) <= set(files)]
    return [[f] for f in files] + extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="ID", help="run these mutations")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    parser.add_argument(
        "--fresh-cache", action="store_true", help="an empty numba cache per mutant"
    )
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the unmutated run (implies --fresh-cache)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the copies")
    parser.add_argument("--list", action="store_true", help="list and exit")
    opts = parser.parse_args(argv)

    mutations = load_mutations()
    if opts.only:
        unknown = set(opts.only) - {m["id"] for m in mutations}
        if unknown:
            sys.exit(f"unknown mutation id(s): {', '.join(sorted(unknown))}")
        mutations = [m for m in mutations if m["id"] in opts.only]
    if opts.list:
        for m in mutations:
            print(f"{m['id']:48s} {m['file']:32s} {m['why']}")
        return 0

    work = Path(tempfile.mkdtemp(prefix="skebm-mutants-"))
    print(f"work directory: {work}", flush=True)
    t0 = time.perf_counter()
    try:
        # One snapshot of the checkout: every copy is made from it, so edits
        # to the checkout while the check runs do not mix into it.
        source = work / "source"
        make_copy(source)
        problems = check_mutations(load_mutations(), source)
        if problems:
            print("Mutations that do not apply:", *problems, sep="\n  ")
            return 2
        warm = warm_copy = None
        if not opts.no_baseline:
            warm_copy, warm = work / "baseline", work / "baseline-numba-cache"
            make_copy(warm_copy, source)
            warm.mkdir()
            env = child_env(warm)
            check_import(warm_copy, env)
            # one run per test file (the runs share, and fill, one cache)
            selections = union_of_tests(mutations)

            def baseline(i):
                log = work / f"baseline-{i}.log"
                return run_pytest(warm_copy, selections[i], env, opts.timeout, log)

            failed = False
            with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
                for i, (code, secs) in enumerate(
                    pool.map(baseline, range(len(selections)))
                ):
                    args = " ".join(selections[i])
                    verdict = "passed" if code == 0 else f"FAILED ({outcome(code)})"
                    print(f"baseline {args}: {verdict} {secs:.0f}s", flush=True)
                    if code != 0:
                        print(tail(work / f"baseline-{i}.log", 30))
                        failed = True
            if failed:
                print("ABORT: the unmutated copy fails its tests.")
                return 2
        if opts.fresh_cache:
            warm = None
        importers = kernel_importers(source)

        def run_one(m):
            try:
                return run_mutant(m)
            except Exception as exc:  # reported, not fatal to the others
                log = work / f"{m['id']}.log"
                log.write_text(f"{type(exc).__name__}: {exc}\n")
                return m, "error(script)", 0.0, log

        def run_mutant(m):
            copy = work / m["id"]
            make_copy(copy, source)
            apply_mutation(copy, m)
            cache = work / f"{m['id']}-numba-cache"
            seed_cache(warm, warm_copy, copy, cache, stale_modules(m, importers))
            env = child_env(cache)
            check_import(copy, env)
            log = work / f"{m['id']}.log"
            code, secs = run_pytest(copy, m["tests"], env, opts.timeout, log)
            if not opts.keep:
                shutil.rmtree(copy, ignore_errors=True)
                shutil.rmtree(cache, ignore_errors=True)
            return m, outcome(code), secs, log

        results = {}
        with concurrent.futures.ThreadPoolExecutor(max(1, opts.jobs)) as pool:
            for m, result, secs, log in pool.map(run_one, mutations):
                results[m["id"]] = (result, secs, log)
                print(f"  {m['id']:48s} {result:9s} {secs:6.0f}s", flush=True)

        print(f"\n{'id':48s} {'outcome':9s} {'seconds':>7s}")
        for m in mutations:
            result, secs, _ = results[m["id"]]
            mark = " (equivalent)" if m.get("equivalent") else ""
            print(f"{m['id']:48s} {result:9s} {secs:7.0f}{mark}")
        counted = [m for m in mutations if not m.get("equivalent")]
        killed = sum(results[m["id"]][0] == "killed" for m in counted)
        survived = [m for m in counted if results[m["id"]][0] == "survived"]
        errors = [
            m for m in counted if results[m["id"]][0] not in ("killed", "survived")
        ]
        n = len(counted)
        share = killed / n if n else 1.0
        print(
            f"\nkilled {killed}/{n} ({100 * share:.1f}%), survived {len(survived)}, "
            f"error/timeout {len(errors)}, equivalent (not counted) "
            f"{len(mutations) - n}; wall time {time.perf_counter() - t0:.0f}s"
        )
        for m in survived + errors:
            print(f"\n{m['id']} ({results[m['id']][0]}): {m['why']}")
            print(tail(results[m["id"]][2]))
        return 0 if share >= REQUIRED else 1
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
