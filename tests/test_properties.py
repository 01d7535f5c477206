"""Property-based bad-input sweep over every public estimator and method.

For every class in ``skebm.__all__`` and every public method (discovered with
:mod:`inspect`), and for the public helpers of :mod:`skebm.partition`, the
tests feed inputs of each bad kind -- NaN/inf, out-of-domain values, values
finite but beyond float32 (1e39) or near the float64 limit (1e200),
empty/1-row/1-feature data, wrong ``n_features``, every dtype, DataFrames,
sparse formats, read-only and strided arrays, bad hyperparameters and bad
method arguments -- and check one oracle, :func:`assert_clean`:

* the call raises ``ValueError`` or ``TypeError`` whose message names the
  problem (one of the probe's keywords, or the parameter's name), raised by
  skebm or scikit-learn's validation, never from inside NumPy or numba and
  never with a Python/NumPy internal message ("an integer is required",
  "could not be broadcast", ...); any other exception type fails;
* or it returns output of the right shape (the shape the same method gives
  on valid data, with one row per input row) holding no NaN, and no
  infinity unless the input holds values so large (>= 1e15) that ±inf is an
  honest answer (the issue allows ±inf, never NaN, beyond the model's
  numeric range).

Each probe also says whether the input is valid (a call that raises fails),
invalid (a call that returns fails) or either. Every call must leave its
input unchanged; methods other than ``fit``/``partial_fit`` must leave the
estimator unchanged, and a ``fit``/``partial_fit`` that raises must leave the
fitted estimator exactly as it was. A successful fit is followed by the
estimator's other methods on the same data (a model fitted on a row holding
1e200 must not answer NaN).

Every bad kind runs for every estimator and method as an explicit
``@example``; Hypothesis then varies the details (which entry, how many rows,
which value). The "default" profile (tests/conftest.py) keeps the module
under a minute; ``--hypothesis-profile=thorough`` runs many more examples.
"""

import copy
import inspect
import numbers
import os
import traceback
import warnings
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import example, given
from hypothesis import strategies as st
from sklearn.utils import get_tags

import skebm
import skebm.partition
from skebm._validation import _UNIT_INTERVAL_ULPS

# Bernoulli models warn when scoring non-binary data, fits stop at max_iter,
# DataFrames without the fitted feature names warn: none of that is a failure
pytestmark = pytest.mark.filterwarnings("ignore")

# --------------------------------------------------------------- the oracle

#: An error raised in a frame under these directories is an internal error.
_INTERNAL_ROOTS = tuple(os.path.dirname(m.__file__) + os.sep for m in (np, numba))

#: Messages of Python or NumPy internals, which name no parameter or problem.
_INTERNAL_MESSAGES = (
    "an integer is required",
    "cannot be interpreted as an integer",
    "could not be broadcast",
    "zero-size array",
    "not supported between instances",
    "unsupported operand type",
    "object is not subscriptable",
    "object is not iterable",
    "has no len",
    "out of bounds",
    "unhashable type",
)

#: Values at least this large may legitimately give ±inf (never NaN).
_EXTREME = 1e15

SUCCEED, FAIL, EITHER = "succeed", "fail", "either"


@dataclass(frozen=True)
class Expect:
    """What a call on a probe may do.

    ``outcome``: ``SUCCEED`` (valid input: raising fails), ``FAIL`` (invalid
    input: returning fails) or ``EITHER``. ``words``: an error message must
    contain one of them (case-insensitive). ``allow_inf``: the input holds
    values so large that ±inf in the output is acceptable.
    """

    outcome: str
    words: tuple = ()
    allow_inf: bool = False


class Raised:
    """Returned by :func:`assert_clean` when the call raised as allowed."""

    def __init__(self, exc):
        self.exc = exc


def _describe(exc):
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _check_error(exc, expect):
    what = _describe(exc)
    assert isinstance(exc, (ValueError, TypeError)), f"unexpected {what}"
    assert expect.outcome != SUCCEED, f"rejected valid input: {what}"
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1].filename if frames else ""
    assert not last.startswith(_INTERNAL_ROOTS), (
        f"raised inside {last}:{frames[-1].lineno}: {what}"
    )
    message = str(exc).lower()
    internal = [m for m in _INTERNAL_MESSAGES if m in message]
    assert not internal, f"internal message {internal}: {what}"
    assert any(w.lower() in message for w in expect.words), (
        f"message names none of {expect.words}: {what}"
    )


def _float_arrays(value, depth=0):
    """The floating-point arrays in a result (arrays, scalars, tuples, lists,
    DataFrames) or, with depth, in an estimator's fitted attributes."""
    if isinstance(value, (bool, np.bool_)):
        return
    if isinstance(value, (numbers.Real, numbers.Complex)) and not isinstance(
        value, numbers.Integral
    ):
        yield np.asarray(value)
    elif isinstance(value, pd.DataFrame | pd.Series):
        yield from _float_arrays(value.to_numpy(), depth)
    elif sp.issparse(value):
        yield from _float_arrays(value.data, depth)
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "fc":
            yield value
        elif value.dtype == object:
            for item in value.ravel():
                yield from _float_arrays(item, depth)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _float_arrays(item, depth)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _float_arrays(item, depth)
    elif depth < 3 and hasattr(value, "get_params"):  # a (sub-)estimator
        for name, item in vars(value).items():
            if name.endswith("_") and not name.startswith("_"):
                yield from _float_arrays(item, depth + 1)


def _check_finite(value, allow_inf, what="output"):
    for array in _float_arrays(value):
        assert not np.isnan(array).any(), f"NaN in {what}"
        if not allow_inf:
            assert np.isfinite(array).all(), f"infinity in {what}"


def assert_clean(call, expect):
    """Run ``call()`` under ``expect`` (see the module docstring).

    Returns the call's result, or a :class:`Raised` for an accepted error.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except Exception as exc:  # noqa: BLE001 - every error is judged
        _check_error(exc, expect)
        return Raised(exc)
    assert expect.outcome != FAIL, (
        f"accepted invalid input, returned {_summary(result)}"
    )
    _check_finite(result, expect.allow_inf)
    return result


def _summary(result):
    shape = getattr(result, "shape", None)
    return f"{type(result).__name__} {shape if shape is not None else result!r}"


# -------------------------------------------------- state and input snapshots


#: Methods that draw random numbers (and may advance ``random_state_``).
_STOCHASTIC = {"gibbs", "sample"}


def _same(a, b, ignore=()):
    """Deep equality of inputs and estimator state (NaN equals NaN), not
    comparing objects of the types in ``ignore``."""
    if type(a) is not type(b):
        return False
    if ignore and isinstance(a, ignore):
        return True
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        if a.dtype == object:
            return all(_same(x, y) for x, y in zip(a.ravel(), b.ravel()))
        return bool(np.array_equal(a, b))
    if sp.issparse(a):
        return a.format == b.format and _same(a.toarray(), b.toarray())
    if isinstance(a, pd.DataFrame | pd.Series):
        return a.equals(b) and list(a.dtypes if a.ndim == 2 else [a.dtype]) == list(
            b.dtypes if b.ndim == 2 else [b.dtype]
        )
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], ignore) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y, ignore) for x, y in zip(a, b))
    if isinstance(a, np.random.RandomState):
        return _same(a.get_state(), b.get_state())
    if isinstance(a, float):
        return a == b or (np.isnan(a) and np.isnan(b))
    if hasattr(a, "get_params"):
        return _same(vars(a), vars(b), ignore)
    if type(a).__name__ == "LogPartitionCache":
        # log Z is computed on the first call that needs it (score_samples):
        # only its plan, fixed by fit, must not change
        return _same(a.plan, b.plan, ignore)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable objects: same identity
        return a is b


def _snapshot(value):
    return copy.deepcopy(value)


# ------------------------------------------------------------ the estimators

UNIT, BINARY, REAL = "[0, 1]", "{0, 1}", "real"
CODES = "codes"  # category codes 0, 1, 2 (three categories per feature)

_AIS = {"n_ais_chains": 16, "n_ais_temperatures": 50}
_RBM = {"n_components": 3, "n_iter": 2, "random_state": 0, **_AIS}
_DBN = {"hidden_layer_sizes": (4, 3), "n_iter": 2, "random_state": 0}
_DBNC = {
    "hidden_layer_sizes": (4, 3),
    "pretrain_n_iter": 2,
    "max_iter": 5,
    "random_state": 0,
}

#: Fast parameters and the data domain of each estimator, with variants.
_CONFIGS = {
    "BernoulliRBM": [("", _RBM, UNIT)],
    "BoltzmannMachine": [
        ("", {"n_hidden": 2, "n_iter": 2, "random_state": 0, **_AIS}, UNIT)
    ],
    "CategoricalRBM": [("", {**_RBM, "min_categories": 3}, CODES)],
    "DBNClassifier": [
        ("", _DBNC, UNIT),
        ("nopretrain", {**_DBNC, "pretrain": False}, UNIT),
        ("gaussian", {**_DBNC, "visible": "gaussian"}, REAL),
    ],
    "DeepBeliefNetwork": [
        ("", _DBN, UNIT),
        ("gaussian", {**_DBN, "visible": "gaussian"}, REAL),
    ],
    "DeepBoltzmannMachine": [
        (
            "",
            {**_DBN, "pretrain_n_iter": 1, "batch_size": 4, "n_chains": 5, **_AIS},
            UNIT,
        )
    ],
    "EnergyDensity": [
        ("", {"hidden_layer_sizes": (4,), "n_iter": 2, "random_state": 0, **_AIS}, REAL)
    ],
    "EnergyOutlierDetector": [
        ("", {"estimator": ("GaussianBernoulliRBM", _RBM)}, REAL),
        ("bernoulli", {"estimator": ("BernoulliRBM", _RBM)}, UNIT),
    ],
    "EnergyImputer": [
        ("", {"estimator": ("BernoulliRBM", _RBM), "max_iter": 1}, UNIT),
        (
            "gaussian",
            {"estimator": ("GaussianBernoulliRBM", _RBM), "max_iter": 1},
            REAL,
        ),
    ],
    "GaussianBernoulliRBM": [("", _RBM, REAL)],
    "HopfieldNetwork": [("", {"max_iter": 20, "random_state": 0}, BINARY)],
    "ModernHopfieldNetwork": [("", {"max_iter": 20}, REAL)],
}

#: Public estimators: every class that skebm exports.
ESTIMATORS = sorted(n for n in skebm.__all__ if inspect.isclass(getattr(skebm, n)))

N_TRAIN, N_FEATURES, N_REF = 12, 5, 3


@dataclass(frozen=True)
class Setup:
    """One estimator configuration, fitted on ``dtype`` data of ``domain``."""

    name: str
    variant: str
    params: dict
    domain: str
    dtype: type

    @property
    def id(self):
        parts = [self.name, self.variant, np.dtype(self.dtype).name]
        return "-".join(p for p in parts if p)

    def make(self):
        params = {
            k: getattr(skebm, v[0])(**v[1])
            if isinstance(v, tuple) and k == "estimator"
            else v
            for k, v in self.params.items()
        }
        return getattr(skebm, self.name)(**params)

    @property
    def supervised(self):
        return _requires_y(getattr(skebm, self.name).fit)

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return self.id


def _setups():
    out = []
    for name in ESTIMATORS:
        for variant, params, domain in _CONFIGS.get(name, []):
            out.append(Setup(name, variant, params, domain, np.float64))
            if domain == REAL and not variant:  # 1e39 is beyond float32
                out.append(Setup(name, variant, params, domain, np.float32))
    return out


SETUPS = _setups()
#: One float64 setup per estimator: hyperparameter probes.
BASE_SETUPS = [s for s in SETUPS if s.variant == "" and s.dtype is np.float64]


def _valid_X(domain, n_rows, n_features=N_FEATURES, seed=0):
    rng = np.random.RandomState(seed)
    if domain == REAL:
        return rng.randn(n_rows, n_features)
    if domain == CODES:
        return rng.randint(0, 3, size=(n_rows, n_features)).astype(np.float64)
    return (rng.rand(n_rows, n_features) < 0.5).astype(np.float64)


def _labels(n_rows):
    return np.arange(n_rows) % 2


def _requires_y(func):
    param = inspect.signature(func).parameters.get("y")
    return param is not None and param.default is inspect.Parameter.empty


def _clamp_for(X):
    """A mask clamping every other column of ``X`` (None unless 2-D): the
    second argument of ``sample_conditional``."""
    try:
        shape = getattr(X, "shape", None) or np.shape(X)
    except ValueError:  # a ragged list: sample_conditional must refuse X
        return None
    if len(shape) != 2:
        return None
    mask = np.zeros(shape, dtype=bool)
    mask[:, ::2] = True
    return mask


def _call(model, method, X, n_rows):
    func = getattr(model, method)
    if _requires_y(func):
        return func(X, _labels(n_rows))
    if method == "sample_conditional":
        return func(X, _clamp_for(X))
    return func(X)


# ------------------------------------------------------------- the methods

FIT, UPDATE, APPLY, SAMPLE = "fit", "update", "apply", "sample"
#: scikit-learn plumbing, not data methods: get_params, set_output, ...
_PLUMBING_PREFIXES = ("get_", "set_")


def method_role(cls, name):
    """``FIT`` (fit, fit_transform, fit_predict), ``UPDATE`` (partial_fit),
    ``SAMPLE`` or ``APPLY`` (any method whose first argument is the data)."""
    if name == "partial_fit":
        return UPDATE
    if name.startswith("fit"):
        return FIT
    if name == "sample":
        return SAMPLE
    first = list(inspect.signature(getattr(cls, name)).parameters)[1]
    return APPLY if first in ("X", "v") else None


def public_methods(cls):
    return sorted(
        name
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_")
        and not name.startswith(_PLUMBING_PREFIXES)
        and not inspect.isclass(member)
    )


def _data_methods(roles):
    return [
        pytest.param(setup, method, id=f"{setup.id}.{method}")
        for setup in SETUPS
        for method in public_methods(getattr(skebm, setup.name))
        if method_role(getattr(skebm, setup.name), method) in roles
    ]


class Fitted(dict):
    """Setup -> estimator fitted on its valid training data, built lazily."""

    def __repr__(self):  # Hypothesis prints the arguments of a failure
        return "<fitted estimators>"

    def __missing__(self, setup):
        X = _valid_X(setup.domain, N_TRAIN).astype(setup.dtype)
        model = setup.make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _call(model, "fit", X, N_TRAIN)
        self[setup] = model
        return model


@pytest.fixture(scope="module")
def fitted():
    return Fitted()


#: Reference output (type and trailing shape) of each (setup, method) on
#: valid data with N_REF rows.
_REFERENCE = {}


def _signature(result, n_rows):
    if isinstance(result, tuple):
        return ("tuple", tuple(_signature(r, n_rows) for r in result))
    if isinstance(result, np.ndarray) and result.ndim:
        per_row = result.shape[0] == n_rows
        return (
            "rows" if per_row else "array",
            result.shape[1:] if per_row else result.shape,
        )
    if hasattr(result, "get_params"):
        return ("estimator",)
    return ("scalar",)


def reference(fitted, setup, method):
    key = (setup.id, method)
    if key not in _REFERENCE:
        model = copy.deepcopy(fitted[setup])
        n_rows = N_TRAIN if method_role(type(model), method) == FIT else N_REF
        X = _valid_X(setup.domain, n_rows, seed=1)
        result = assert_clean(lambda: _call(model, method, X, n_rows), Expect(SUCCEED))
        _REFERENCE[key] = _signature(result, n_rows)
    return _REFERENCE[key]


def _check_shape(result, ref, n_rows, role):
    if ref[0] == "estimator":
        return
    got = _signature(result, n_rows)
    if role == FIT:  # refitting on another feature count may change the width
        got, ref = got[0], ref[0]
    assert got == ref, f"output {_summary(result)} is not {ref} for {n_rows} rows"


# ------------------------------------------------------------------ probes


@dataclass(frozen=True)
class Probe:
    """One bad input, independent of the estimator: a ``kind`` and the
    details Hypothesis varies (rows, which entry, the value put there)."""

    kind: str
    n_rows: int = 4
    row: int = 0
    col: int = 0
    value: float = 0.0


def _place(X, probe):
    X = X.copy()
    X[probe.row % X.shape[0], probe.col % X.shape[1]] = probe.value
    return X


def _unaligned(X):
    buffer = np.zeros(X.nbytes + 1, dtype=np.uint8)
    out = np.ndarray(X.shape, dtype=X.dtype, buffer=buffer, offset=1)
    out[...] = X
    return out


def _frame(X):
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


def _with_na(X, probe):
    frame = _frame(X).astype("Float64")
    frame.iloc[probe.row % X.shape[0], probe.col % X.shape[1]] = pd.NA
    return frame


def _with_string_column(X):
    frame = _frame(X)
    frame["x0"] = "a"
    return frame


def _sparse_nan(X, probe):
    X = X.copy()
    X[probe.row % X.shape[0], probe.col % X.shape[1]] = np.nan
    return sp.csr_matrix(X)


def _object_none(X, probe):
    X = X.astype(object)
    X[probe.row % X.shape[0], probe.col % X.shape[1]] = None
    return X


def _ragged(X):
    rows = X.tolist()
    rows[0] = rows[0][:-1]
    return rows


NAN_WORDS = ("nan", "finite", "missing")
SHAPE_WORDS = ("2d", "2-dimensional", "reshape", "dim", "shape", "scalar")
FEATURE_WORDS = ("feature",)
STRING_WORDS = ("string", "convert", "numeric", "dtype")

#: kind -> (build(X valid, probe), words, outcome by role: FIT/UPDATE/APPLY)
#: An outcome of None means "valid for this data", decided from the data.
_KINDS = {
    # values (from probe.value): outcome decided from the data and domain
    "value": (_place, None, None),
    # shapes
    "empty_rows": (lambda X, p: X[:0], ("sample", "empty"), (FAIL, EITHER, EITHER)),
    "one_row": (lambda X, p: X[:1], ("sample", "class"), (EITHER, SUCCEED, SUCCEED)),
    "no_features": (lambda X, p: X[:, :0], FEATURE_WORDS, (FAIL, FAIL, FAIL)),
    "one_feature": (lambda X, p: X[:, :1], FEATURE_WORDS, (EITHER, FAIL, FAIL)),
    "fewer_features": (lambda X, p: X[:, :-1], FEATURE_WORDS, (SUCCEED, FAIL, FAIL)),
    "extra_feature": (
        lambda X, p: np.hstack([X, X[:, :1]]),
        FEATURE_WORDS,
        (SUCCEED, FAIL, FAIL),
    ),
    "vector": (lambda X, p: X[0], SHAPE_WORDS, (FAIL, FAIL, FAIL)),
    "tensor": (lambda X, p: np.stack([X, X], axis=2), SHAPE_WORDS, (FAIL,) * 3),
    "scalar": (lambda X, p: X[0, 0], SHAPE_WORDS, (FAIL, FAIL, FAIL)),
    "none": (lambda X, p: None, (*SHAPE_WORDS, "none"), (FAIL, FAIL, FAIL)),
    "list": (lambda X, p: X.tolist(), (), (SUCCEED, SUCCEED, SUCCEED)),
    "ragged_list": (
        lambda X, p: _ragged(X),
        ("shape", "sequence", "inhomogeneous", "feature"),  # 1 row: too short
        (FAIL, FAIL, FAIL),
    ),
    "empty_list": (lambda X, p: [], (*SHAPE_WORDS, "sample", "empty"), (FAIL,) * 3),
    # dtypes
    "bool": (lambda X, p: X.astype(bool), (), None),
    "int8": (lambda X, p: X.astype(np.int8), (), None),
    "uint8": (lambda X, p: np.abs(X).astype(np.uint8), (), None),
    "int64": (lambda X, p: X.astype(np.int64), (), None),
    "float16": (lambda X, p: X.astype(np.float16), (), None),
    "float32": (lambda X, p: X.astype(np.float32), (), None),
    "big_endian": (lambda X, p: X.astype(">f8"), (), None),
    "longdouble": (lambda X, p: X.astype(np.longdouble), (), None),
    "object": (lambda X, p: X.astype(object), (), None),
    "object_none": (_object_none, (*NAN_WORDS, "none"), (FAIL, FAIL, FAIL)),
    "complex": (lambda X, p: X.astype(complex), ("complex",), (FAIL, FAIL, FAIL)),
    "complex_imag": (lambda X, p: X + 1j, ("complex",), (FAIL, FAIL, FAIL)),
    "numeric_strings": (lambda X, p: X.astype(str), STRING_WORDS, (EITHER,) * 3),
    "strings": (lambda X, p: np.full(X.shape, "a"), STRING_WORDS, (FAIL,) * 3),
    "bytes": (lambda X, p: X.astype(bytes), STRING_WORDS, (EITHER,) * 3),
    # containers
    "dataframe": (lambda X, p: _frame(X), (), None),
    "dataframe_int_names": (lambda X, p: pd.DataFrame(X), (), None),
    "dataframe_nullable": (lambda X, p: _frame(X).astype("Float64"), (), None),
    "dataframe_na": (_with_na, (*NAN_WORDS, "<na>"), (FAIL, FAIL, FAIL)),
    "dataframe_strings": (
        lambda X, p: _with_string_column(X),
        STRING_WORDS,
        (FAIL,) * 3,
    ),
    "series": (lambda X, p: pd.Series(X[0]), SHAPE_WORDS, (FAIL, FAIL, FAIL)),
    "matrix": (lambda X, p: np.asmatrix(X), ("matrix",), (EITHER,) * 3),
    "sparse_nan": (_sparse_nan, (*NAN_WORDS, "sparse"), (FAIL, FAIL, FAIL)),
    # layouts
    "readonly": (lambda X, p: _readonly(X), (), None),
    "fortran": (lambda X, p: np.asfortranarray(X), (), None),
    "strided_columns": (lambda X, p: np.repeat(X, 2, axis=1)[:, ::2], (), None),
    "strided_rows": (lambda X, p: np.repeat(X, 2, axis=0)[::2], (), None),
    "reversed": (lambda X, p: X[::-1, ::-1], (), None),
    "unaligned": (lambda X, p: _unaligned(X), (), None),
    "broadcast": (lambda X, p: np.broadcast_to(X[:1], X.shape), (), None),
}

SPARSE_FORMATS = (
    "csr_matrix",
    "csc_matrix",
    "coo_matrix",
    "lil_matrix",
    "dok_matrix",
    "bsr_matrix",
    "dia_matrix",
    "csr_array",
    "coo_array",
)
for _fmt in SPARSE_FORMATS:
    _KINDS[_fmt] = (
        lambda X, p, _f=_fmt: getattr(sp, _f)(X),
        ("sparse", "dense"),
        "sparse",
    )


def _readonly(X):
    X = X.copy()
    X.flags.writeable = False
    return X


def _within_ulps_of_unit(values):
    """Values outside [0, 1] by at most the round-off skebm takes for the
    bound (MinMaxScaler's 1.0000000000000002; the tolerance has no public
    accessor, hence the private constant)."""
    tol = _UNIT_INTERVAL_ULPS * np.finfo(np.float64).eps
    return np.all((values >= -tol) & (values <= 1 + tol))


def _value_expect(X, setup, role):
    """Expectation for a dense float array: from its values and the domain."""
    finite = np.isfinite(X)
    if np.isnan(X).any():
        return Expect(FAIL, NAN_WORDS)
    if not finite.all():
        return Expect(FAIL, ("infinity", "inf", "finite"))
    biggest = np.abs(X).max(initial=0)
    extreme = bool(biggest >= _EXTREME)
    large = ("large", "range", "float32", "overflow", "infinity", "finite", "scale")
    if setup.domain == REAL:
        # training on unscaled data may diverge: a named error is fine
        diverges = role in (FIT, UPDATE) and biggest >= 1e3
        outcome = EITHER if extreme or diverges else SUCCEED
        return Expect(outcome, (*large, "diverged"), allow_inf=extreme)
    if setup.domain == UNIT:
        words = ("[0, 1]", "greater than 1", "negative")
        if ((X >= 0) & (X <= 1)).all():
            return Expect(SUCCEED)
        if _within_ulps_of_unit(X):  # issue 16: accepted as the bound
            return Expect(SUCCEED, words)
        return Expect(FAIL, words)
    if setup.domain == CODES:
        return _codes_expect(X, role)
    values = set(np.unique(X).tolist())
    binary, bipolar = values <= {0.0, 1.0}, values <= {-1.0, 1.0}
    valid = binary or (bipolar and role == FIT)
    return Expect(SUCCEED if valid else FAIL, ("binary", "bipolar"))


def _codes_expect(X, role):
    """Category codes: non-negative integers; after fit, below the fitted
    3 categories; at fit, within the one-hot layer's size limit."""
    from skebm._categorical_rbm import MAX_VISIBLE_UNITS

    words = ("negative", "non-integer", "category", "categories")
    if X.size == 0 or not ((X >= 0) & (X == np.floor(X))).all():
        return Expect(FAIL, words)
    if role != FIT:
        return Expect(SUCCEED if X.max() < 3 else FAIL, words)
    units = np.maximum(X.max(axis=0) + 1, 3).sum()
    return Expect(SUCCEED if units <= MAX_VISIBLE_UNITS else FAIL, words)


def _accepts_sparse(model):
    return get_tags(model).input_tags.sparse


def materialise(probe, setup, role, model):
    """``(X, n_rows, Expect)`` of ``probe`` for ``setup``'s estimator."""
    build, words, outcomes = _KINDS[probe.kind]
    n_rows = max(probe.n_rows, 2) if role == FIT else probe.n_rows
    base = _valid_X(setup.domain, n_rows, seed=probe.row + 7 * probe.col)
    X = build(base, probe)
    rows = getattr(X, "shape", (len(X),) if isinstance(X, list) else (0,))
    rows = rows[0] if len(rows) else 0
    if outcomes == "sparse":
        expect = Expect(SUCCEED) if _accepts_sparse(model) else Expect(FAIL, words)
    elif outcomes is None:
        expect = _value_expect(np.asarray(build(base, probe), dtype=float), setup, role)
        if words:
            expect = Expect(expect.outcome, words + expect.words, expect.allow_inf)
    else:
        outcome = outcomes[(FIT, UPDATE, APPLY).index(role)]
        expect = Expect(outcome, words)
    if setup.name == "EnergyImputer" and set(NAN_WORDS) & set(expect.words):
        # NaN marks the entries it fills in: fine, unless it must fail anyway
        # (a column with nothing observed, sparse input, ...)
        expect = Expect(EITHER, expect.words, expect.allow_inf)
    return X, rows, expect


_SPECIAL_VALUES = (
    np.nan,
    np.inf,
    -np.inf,
    1e39,
    -1e39,
    1e200,
    -1e200,
    np.finfo(np.float64).max,
    1e-310,
    -5e-324,
    1 + 2.0**-52,
    0.5,
    -0.5,
    1.5,
    2.0,
    -1.0,
    1e10,
)

#: One explicit example per kind (and per special value): every kind runs
#: for every estimator and method in every profile.
#: Sparse formats run as explicit examples (the others only when drawn).
_EXPLICIT_SPARSE = ("csr_matrix", "csc_matrix", "coo_matrix", "dia_matrix", "csr_array")
#: Special values drawn, but not run as explicit examples (mirror images).
_DRAWN_ONLY = (-1e39, -1e200, -5e-324, 2.0)
CANONICAL = [
    Probe("value", value=v, row=1, col=2)
    for v in _SPECIAL_VALUES
    if v not in _DRAWN_ONLY
] + [
    Probe(kind)
    for kind in _KINDS
    if kind != "value" and (kind not in SPARSE_FORMATS or kind in _EXPLICIT_SPARSE)
]

probes = st.builds(
    Probe,
    kind=st.sampled_from(sorted(_KINDS)),
    n_rows=st.integers(1, 8),
    row=st.integers(0, 50),
    col=st.integers(0, 50),
    value=st.one_of(st.sampled_from(_SPECIAL_VALUES), st.floats()),
)


def with_examples(name, values, **fixed):
    """Decorator: an explicit ``@example(name=value, **fixed)`` per value."""

    def decorate(test):
        for value in reversed(values):
            test = example(**{name: value}, **fixed)(test)
        return test

    return decorate


# ------------------------------------------------------------------- tests


def test_every_public_estimator_and_method_is_probed():
    """Discovery: a new estimator or method cannot silently escape."""
    assert set(ESTIMATORS) == set(_CONFIGS)
    for name in ESTIMATORS:
        cls = getattr(skebm, name)
        for method in public_methods(cls):
            assert method_role(cls, method) is not None, f"{name}.{method}"
    helpers = {
        n
        for n in skebm.partition.__all__
        if inspect.isfunction(getattr(skebm.partition, n))
    }
    assert helpers == {"exact_log_partition", "ais_log_partition"}


def _after_fit(model, X, n_rows, follow):
    """A successful fit: no NaN in the fitted attributes, and the apply
    methods answer ``X`` (the training data) as ``follow`` expects."""
    _check_finite(model, follow.allow_inf, "fitted attributes")
    for method in public_methods(type(model)):
        if method_role(type(model), method) != APPLY:
            continue
        if _requires_y(getattr(model, method)):
            continue
        result = assert_clean(lambda m=method: _call(model, m, X, n_rows), follow)
        if not isinstance(result, Raised):
            assert _signature(result, n_rows)[0] in ("rows", "scalar"), method


def check_probe(fitted, setup, method, probe):
    """Run one probe through ``setup``'s fitted estimator's ``method``."""
    role = method_role(getattr(skebm, setup.name), method)
    # fit methods get a copy; the others must leave the cached model unchanged
    model = fitted[setup] if role == APPLY else copy.deepcopy(fitted[setup])
    X, n_rows, expect = materialise(probe, setup, role, model)
    ref = reference(fitted, setup, method)
    X_before, state_before = _snapshot(X), _snapshot(vars(model))

    result = assert_clean(lambda: _call(model, method, X, n_rows), expect)

    assert _same(X, X_before), "the input was modified"
    if isinstance(result, Raised) or role == APPLY:
        # sampling methods (gibbs) may advance the estimator's random state
        ignore = np.random.RandomState if method in _STOCHASTIC else ()
        if not _same(vars(model), state_before, ignore):
            fitted.pop(setup, None)  # refit the cached model for the next probe
            raise AssertionError(
                "the estimator changed" + (" in a failed fit" if role != APPLY else "")
            )
    if isinstance(result, Raised):
        return
    _check_shape(result, ref, n_rows, role)
    if method in ("fit", "partial_fit"):
        assert result is model, f"{method} did not return self"
    if method in ("fit", "partial_fit"):  # fit_transform etc. call fit
        outcome = EITHER if expect.outcome == EITHER else SUCCEED
        _after_fit(model, X, n_rows, Expect(outcome, expect.words, expect.allow_inf))
    if (
        setup.name == "EnergyOutlierDetector"
        and method == "predict"
        and probe.kind == "value"
        and expect.allow_inf
        and n_rows
    ):
        # issue 16: a row beyond the model's range is an outlier, not NaN
        assert result[probe.row % n_rows] == -1, "an extreme row predicted inlier"


@pytest.mark.parametrize(("setup", "method"), _data_methods({FIT, UPDATE, APPLY}))
@given(probe=probes)
@with_examples("probe", CANONICAL)
def test_bad_X(fitted, setup, method, probe):
    check_probe(fitted, setup, method, probe)


# ------------------------------------------------------- hyperparameters

_HYPER_VALUES = (
    -1,
    0,
    1,
    2,
    0.5,
    -0.5,
    1.5,
    1e300,
    np.nan,
    np.inf,
    -np.inf,
    True,
    False,
    None,
    "bad",
    "",
    (),
    (0,),
    (2, -1),
    (2.5,),
    [3],
    1j,
    np.int64(2),
    np.float32(0.5),
)

hyper_values = st.one_of(
    st.sampled_from(_HYPER_VALUES), st.integers(-3, 3), st.floats(), st.text(max_size=3)
)


def _hyper_params():
    return [
        pytest.param(setup, name, id=f"{setup.name}.{name}")
        for setup in BASE_SETUPS
        for name in sorted(setup.make().get_params(deep=False))
    ]


@pytest.mark.parametrize(("setup", "param"), _hyper_params())
@given(value=hyper_values)
@with_examples("value", _HYPER_VALUES)
def test_bad_hyperparameter(fitted, setup, param, value):
    """Any value: a clear error naming the parameter, or a clean fit."""
    model = setup.make().set_params(**{param: value})
    X = _valid_X(setup.domain, N_TRAIN)
    expect = Expect(EITHER, (param,))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _call(model, "fit", X, N_TRAIN)
    except FloatingPointError as exc:  # training diverged: a named failure
        assert "diverged" in str(exc), _describe(exc)
        return
    except Exception as exc:  # noqa: BLE001
        _check_error(exc, expect)
        return
    assert result is model
    # e.g. log_partition=None: score_samples then names log_partition
    _after_fit(model, X, N_TRAIN, expect)


# ------------------------------------------------------------ supervised y

_Y_PROBES = {
    "mixed_types": (lambda n: np.array([0, "a"] * n, dtype=object)[:n], FAIL),
    "nan": (lambda n: np.where(np.arange(n) == 0, np.nan, _labels(n)), FAIL),
    "inf": (lambda n: np.where(np.arange(n) == 0, np.inf, _labels(n)), FAIL),
    "continuous": (lambda n: np.linspace(0, 1, n) + 0.5, FAIL),
    "object_none": (lambda n: np.array([None, 1] * n, dtype=object)[:n], FAIL),
    "wrong_length": (lambda n: _labels(n + 1), FAIL),
    "none": (lambda n: None, FAIL),
    "single_class": (lambda n: np.zeros(n, dtype=int), EITHER),
    "column": (lambda n: _labels(n)[:, None], EITHER),
    "multilabel": (lambda n: np.stack([_labels(n), 1 - _labels(n)], axis=1), EITHER),
    "strings": (lambda n: np.array(["a", "b"] * n)[:n], EITHER),
    "bool": (lambda n: _labels(n).astype(bool), EITHER),
    "list": (lambda n: _labels(n).tolist(), EITHER),
    "series": (lambda n: pd.Series(_labels(n)), EITHER),
    "huge_ints": (lambda n: _labels(n) * 2**62, EITHER),
    "three_classes": (lambda n: np.arange(n) % 3, EITHER),
}
_Y_WORDS = (
    "label",
    "target",
    "class",
    "type",
    "mix",
    "sample",
    "inconsistent",
    "nan",
    "finite",
    "infinity",
    "continuous",
    "none",
    "y",
)


@pytest.mark.parametrize(
    ("setup", "method"),
    [
        pytest.param(s, m, id=f"{s.id}.{m}")
        for s in SETUPS
        for m in public_methods(getattr(skebm, s.name))
        if _requires_y(getattr(getattr(skebm, s.name), m))
    ],
)
@given(kind=st.sampled_from(sorted(_Y_PROBES)), n_rows=st.integers(2, 9))
@with_examples("kind", sorted(_Y_PROBES), n_rows=6)
def test_bad_y(fitted, setup, method, kind, n_rows):
    model = copy.deepcopy(fitted[setup])
    make_y, outcome = _Y_PROBES[kind]
    if method != "fit" and kind in ("single_class", "strings", "three_classes"):
        outcome = EITHER
    X, y = _valid_X(setup.domain, n_rows), make_y(n_rows)
    y_before, state_before = _snapshot(y), _snapshot(vars(model))
    result = assert_clean(
        lambda: getattr(model, method)(X, y), Expect(outcome, _Y_WORDS)
    )
    assert _same(y, y_before), "y was modified"
    if isinstance(result, Raised):
        assert _same(vars(model), state_before), "a failed call changed the model"
    elif method == "score":
        assert np.ndim(result) == 0 and 0 <= result <= 1, result


@pytest.mark.parametrize(
    "setup", [s for s in SETUPS if s.name == "DBNClassifier"], ids=lambda s: s.id
)
@given(probe=probes)
@with_examples("probe", CANONICAL)
def test_bad_X_unlabeled(fitted, setup, probe):
    """``DBNClassifier.fit``'s ``X_unlabeled`` gets the X probes of a
    ``partial_fit`` (the fitted feature count applies)."""
    model = copy.deepcopy(fitted[setup])
    X_extra, _, expect = materialise(probe, setup, UPDATE, model)
    if probe.kind in ("empty_rows", "empty_list", "none"):
        expect = Expect(EITHER, expect.words)  # no extra rows is fine
    if not setup.params.get("pretrain", True):
        expect = Expect(EITHER, expect.words)  # ignored without pretraining
    X = _valid_X(setup.domain, N_TRAIN)
    before = _snapshot(X_extra)
    result = assert_clean(
        lambda: model.fit(X, _labels(N_TRAIN), X_unlabeled=X_extra), expect
    )
    assert _same(X_extra, before), "X_unlabeled was modified"
    if not isinstance(result, Raised):
        _after_fit(model, X, N_TRAIN, Expect(SUCCEED))


# ----------------------------------------------------- counts and seeds

_COUNT_VALUES = (
    0,
    1,
    3,
    -1,
    2.5,
    2.0,
    True,
    False,
    None,
    "3",
    np.nan,
    np.inf,
    [2],
    np.int64(2),
    np.uint8(2),
    np.array(2),
    1e300,
)
_SEED_VALUES = (
    None,
    0,
    np.random.RandomState(0),
    -1,
    "bad",
    2**40,
    1.5,
    [1, 2],
)


def count_expect(name, value):
    """A positive integer count is valid, 0 may be, anything else fails."""
    if isinstance(value, (bool, np.bool_)):
        return Expect(FAIL, (name,))
    if isinstance(value, numbers.Integral):
        if value >= 1:
            return Expect(SUCCEED)
        return Expect(EITHER if value == 0 else FAIL, (name,))
    if isinstance(value, np.ndarray) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    ):
        return Expect(EITHER, (name,))
    return Expect(FAIL, (name,))


def seed_expect(name, value):
    if value is None or isinstance(value, np.random.RandomState):
        return Expect(SUCCEED)
    if isinstance(value, numbers.Integral) and 0 <= value < 2**32:
        return Expect(SUCCEED)
    return Expect(FAIL, (name, "seed", "randomstate"))


count_values = st.one_of(
    st.sampled_from(_COUNT_VALUES), st.integers(-3, 4), st.floats(-1e3, 1e3)
)


def _argument_params(method, names):
    out = []
    for setup in SETUPS:
        cls = getattr(skebm, setup.name)
        if not hasattr(cls, method):
            continue
        for name in inspect.signature(getattr(cls, method)).parameters:
            if name in names:
                out.append(pytest.param(setup, name, id=f"{setup.id}.{name}"))
    return out


def check_sample(fitted, setup, param, value):
    model = copy.deepcopy(fitted[setup])
    kwargs = {"n_samples": 2, "n_steps": 2, "random_state": 0, param: value}
    expect_for = seed_expect if param == "random_state" else count_expect
    state_before = _snapshot(vars(model))
    result = assert_clean(lambda: model.sample(**kwargs), expect_for(param, value))
    assert _same(vars(model), state_before), "sample changed the estimator"
    if not isinstance(result, Raised):
        n = int(kwargs["n_samples"])
        assert result.shape == (n, model.n_features_in_), result.shape


@pytest.mark.parametrize(
    ("setup", "param"), _argument_params("sample", {"n_samples", "n_steps"})
)
@given(value=count_values)
@with_examples("value", _COUNT_VALUES)
def test_bad_sample_counts(fitted, setup, param, value):
    check_sample(fitted, setup, param, value)


@pytest.mark.parametrize(
    ("setup", "param"), _argument_params("sample", {"random_state"})
)
@given(value=st.sampled_from(_SEED_VALUES) | st.integers(-5, 2**33))
@with_examples("value", _SEED_VALUES)
def test_bad_sample_seed(fitted, setup, param, value):
    check_sample(fitted, setup, param, value)


# ------------------------------------------------------ skebm.partition

RBM_SETUPS = [s for s in SETUPS if s.name.endswith("RBM")]


@pytest.mark.parametrize("setup", RBM_SETUPS, ids=lambda s: s.id)
@given(probe=probes)
@with_examples("probe", CANONICAL)
def test_ais_log_partition_bad_X(fitted, setup, probe):
    rbm = fitted[setup]
    X, _, expect = materialise(probe, setup, APPLY, rbm)
    if probe.kind == "value" and expect.outcome == FAIL and np.isfinite(probe.value):
        # out of a Bernoulli domain: the base rates are clipped, so a finite
        # estimate is as good as an error
        expect = Expect(EITHER, expect.words)
    if probe.kind in SPARSE_FORMATS and not _accepts_sparse(rbm):
        expect = Expect(FAIL, ("sparse",))  # CategoricalRBM: dense codes
    elif probe.kind in SPARSE_FORMATS or probe.kind == "none":
        expect = Expect(SUCCEED)  # any sparse format; None is the default
    if probe.kind == "scalar":  # refused by its parameter check, by name
        expect = Expect(FAIL, ("'X' parameter",))
    before, state = _snapshot(X), _snapshot(vars(rbm))
    result = assert_clean(
        lambda: skebm.partition.ais_log_partition(
            rbm, X, n_chains=8, n_temperatures=20, random_state=0
        ),
        expect,
    )
    assert _same(X, before), "X was modified"
    assert _same(vars(rbm), state), "the RBM was modified"
    if not isinstance(result, Raised):
        assert isinstance(result, tuple) and len(result) == 2, _summary(result)


def check_ais_argument(fitted, setup, param, value):
    rbm = fitted[setup]
    kwargs = {"n_chains": 8, "n_temperatures": 20, "random_state": 0, param: value}
    if param == "random_state":
        expect = seed_expect(param, value)
    else:
        expect = count_expect(param, value)
        if param == "n_chains" and expect.outcome == SUCCEED and value == 1:
            # one chain has no standard error: an error or a finite one
            expect = Expect(EITHER, (param,))
    X = _valid_X(setup.domain, N_REF)
    result = assert_clean(
        lambda: skebm.partition.ais_log_partition(rbm, X, **kwargs), expect
    )
    if not isinstance(result, Raised):
        assert isinstance(result, tuple) and len(result) == 2, _summary(result)


@pytest.mark.parametrize(
    ("setup", "param"),
    [
        pytest.param(s, p, id=f"{s.id}.{p}")
        for s in RBM_SETUPS
        for p in ("n_chains", "n_temperatures")
    ],
)
@given(value=count_values)
@with_examples("value", _COUNT_VALUES)
def test_ais_log_partition_bad_counts(fitted, setup, param, value):
    check_ais_argument(fitted, setup, param, value)


@pytest.mark.parametrize("setup", RBM_SETUPS, ids=lambda s: s.id)
@given(value=st.sampled_from(_SEED_VALUES) | st.integers(-5, 2**33))
@with_examples("value", _SEED_VALUES)
def test_ais_log_partition_bad_seed(fitted, setup, value):
    check_ais_argument(fitted, setup, "random_state", value)


def _not_rbms(fitted):
    by_name = {s.name: fitted[s] for s in BASE_SETUPS}
    return {
        "unfitted": skebm.BernoulliRBM(),
        "hopfield": by_name["HopfieldNetwork"],
        "dbn": by_name["DeepBeliefNetwork"],
        "boltzmann": by_name["BoltzmannMachine"],
        "class": skebm.BernoulliRBM,
        "string": "rbm",
        "none": None,
    }


@pytest.mark.parametrize(
    "what", ["unfitted", "hopfield", "dbn", "boltzmann", "class", "string", "none"]
)
def test_exact_log_partition_rejects_non_rbms(fitted, what):
    obj = _not_rbms(fitted)[what]
    assert_clean(
        lambda: skebm.partition.exact_log_partition(obj),
        Expect(FAIL, ("fitted", "rbm", "estimator", "components_", "instance")),
    )


@pytest.mark.parametrize("setup", RBM_SETUPS, ids=lambda s: s.id)
def test_exact_log_partition_of_fitted_rbms(fitted, setup):
    result = assert_clean(
        lambda: skebm.partition.exact_log_partition(fitted[setup]), Expect(SUCCEED)
    )
    assert np.ndim(result) == 0
