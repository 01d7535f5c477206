"""Input checks shared by the estimators: one message per kind of problem."""

import contextvars
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp

#: Values within this many units in the last place (of the data's dtype) of
#: 0 or 1 are round-off, not out-of-range data: MinMaxScaler's output, for
#: one, reaches 1.0000000000000002. They are treated as the bound.
_UNIT_INTERVAL_ULPS = 8


def _values(X):
    return X.data if sp.issparse(X) else X


def _locate(X, flat_index):
    """``(row, column)`` of entry ``flat_index`` of ``_values(X)``."""
    if sp.issparse(X):  # CSR (the estimators convert CSC before checking)
        X = sp.csr_matrix(X)
        row = int(np.searchsorted(X.indptr, flat_index, side="right") - 1)
        return row, int(X.indices[flat_index])
    row, col = np.unravel_index(flat_index, X.shape)
    return int(row), int(col)


def in_unit_interval(values):
    """Whether every entry of the float array ``values`` lies in [0, 1],
    round-off of the bounds included (the rule of
    :func:`check_unit_interval`)."""
    if values.size == 0:
        return True
    tol = _UNIT_INTERVAL_ULPS * np.finfo(values.dtype).eps
    return bool(values.min() >= -tol and values.max() <= 1 + tol)


def check_unit_interval(X, estimator_name, *, fitting=True):
    """Check that every entry of ``X`` lies in [0, 1]; return X.

    ``X`` has already been through ``validate_data`` (finite, numeric).
    Entries within a few units in the last place of 0 or 1 (round-off of a
    scaler) count as the bound: if there are any, a clipped copy of ``X``
    is returned (the caller's array is never modified). Otherwise raise a
    ``ValueError`` that names the offending value, at full precision, and
    its position. ``fitting`` chooses the advice: rescale the training
    data, or clip new rows (``MinMaxScaler(clip=True)``).
    """
    values = _values(X)
    if values.size == 0:
        return X
    low, high = values.min(), values.max()
    if low >= 0 and high <= 1:
        return X
    tol = _UNIT_INTERVAL_ULPS * np.finfo(values.dtype).eps
    if in_unit_interval(values):
        X = X.copy()
        np.clip(_values(X), 0, 1, out=_values(X))
        return X
    bad = values.argmin() if low < -tol else values.argmax()
    row, col = _locate(X, bad)
    kind = "Negative values" if low < -tol else "Values greater than 1"
    advice = (
        "Rescale it, e.g. with sklearn.preprocessing.MinMaxScaler."
        if fitting
        else "Rescale it as the training data were; with "
        "sklearn.preprocessing.MinMaxScaler, use clip=True so that new rows "
        "outside the training range are clipped to [0, 1]."
    )
    # The wording starts like scikit-learn's for its ``positive_only`` tag.
    raise ValueError(
        f"{kind} in data passed to {estimator_name}: it models binary units, "
        f"so X must lie in [0, 1] (binary values or probabilities); found "
        f"{float(values.flat[bad])!r} at row {row}, column {col}. {advice}"
    )


#: False inside ``EnergyOutlierDetector``, which uses the scores of
#: non-binary rows as a ranking (a context variable: per thread, per task).
WARN_NON_BINARY = contextvars.ContextVar("skebm_warn_non_binary", default=True)


def warn_if_not_binary(X, estimator_name):
    """Warn (``UserWarning``) when X, already validated, has an entry other
    than 0 or 1: the model's ``log p(x)`` is defined for binary rows only."""
    if not WARN_NON_BINARY.get():
        return
    X = sp.csr_matrix(X) if sp.issparse(X) else np.asarray(X)
    values = _values(X)
    grey = (values != 0) & (values != 1)
    if grey.any():
        first = int(np.flatnonzero(grey)[0])
        row, col = _locate(X, first)
        warnings.warn(
            f"{estimator_name}.score_samples got non-binary data (e.g. "
            f"{float(values.flat[first])!r} at row {row}, column {col}). Its "
            f"units are binary, so log p(x) is defined for binary x only; "
            f"for other values the result, -F(x) - log Z, is not a "
            f"log-probability. Binarise X (e.g. X > 0.5) to score it.",
            UserWarning,
            stacklevel=3,
        )


def check_positive_int(value, name):
    """Raise ``ValueError`` unless ``value`` is an int >= 1 (not a bool)."""
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, Integral)
        or value < 1
    ):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_number(value, name, *, low, integer=False, strict=False):
    """``value`` if it is a finite number ``>= low`` (``> low`` when
    ``strict``), an int when ``integer``; never a bool. ``TypeError`` for
    the wrong kind, ``ValueError`` for the wrong range, naming ``name``."""
    kind = Integral if integer else Real
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}, got {value!r}.")
    if not np.isfinite(value) or value < low or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}.")
    return value


def check_noise(noise, gaussian):
    """``noise`` of ``reconstruct``: None, a flip probability in (0, 0.5)
    for binary visible units, or a standard deviation > 0 for Gaussian
    ones; returned as a float. ``TypeError``/``ValueError`` otherwise."""
    if noise is None:
        return None
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, Real):
        raise TypeError(f"noise must be a real number or None, got {noise!r}.")
    noise = float(noise)
    if gaussian and not (0 < noise < np.inf):
        raise ValueError(
            f"noise must be the standard deviation of the Gaussian noise on X, "
            f"a positive finite number; got {noise!r}."
        )
    if not gaussian and not (0 < noise < 0.5):
        raise ValueError(
            f"noise must be the probability that a binary entry of X was "
            f"flipped, in (0, 0.5); got {noise!r}."
        )
    return noise


def flip_evidence(X, noise):
    """Log-odds that a clean binary unit is 1 given its observed value ``x``
    when each entry was flipped with probability ``noise``:
    ``(2x - 1) log((1 - noise) / noise)``."""
    return (2.0 * X - 1.0) * np.log((1.0 - noise) / noise)


def check_clamp(clamp, X, *, dense=False):
    """``(clamp, X)``: the boolean mask of entries to hold fixed as an
    array, and ``X`` dense (left as it is when there is no mask, unless
    ``dense``); ``TypeError`` unless the mask is boolean, ``ValueError``
    unless it has X's shape."""
    if clamp is None:
        return None, (X.toarray() if dense and hasattr(X, "toarray") else X)
    mask = np.asarray(clamp)
    if mask.dtype != np.bool_:
        raise TypeError(
            f"clamp must be a boolean array (True: hold the entry of X), got "
            f"dtype {mask.dtype}."
        )
    if mask.shape != X.shape:
        raise ValueError(
            f"clamp has shape {mask.shape}, X has shape {X.shape}: they must be equal."
        )
    dense = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    return mask, dense


def check_dtype_range(X, dtype, estimator_name):
    """Raise ``ValueError`` if finite ``X`` holds values that overflow
    ``dtype`` (float64 rows given to a model fitted in float32)."""
    values = _values(X)
    if values.size == 0 or np.dtype(dtype).itemsize >= values.dtype.itemsize:
        return
    big = np.finfo(dtype).max
    worst = np.abs(values).argmax()
    if abs(values.flat[worst]) > big:
        row, col = _locate(X, worst)
        raise ValueError(
            f"X holds {float(values.flat[worst])!r} (row {row}, column {col}), "
            f"beyond the range of {np.dtype(dtype).name} in which this "
            f"{estimator_name} was fitted (largest {float(big):.4g}). Rescale "
            f"X, or fit the model on float64 data."
        )


def check_no_overflow(result, estimator_name):
    """Return ``result``, or raise ``ValueError`` if a row of it is NaN: for
    finite input that means ``X @ W`` overflowed to ``inf - inf`` (values
    near the end of the float range)."""
    if np.isnan(result).any():
        row = int(np.isnan(result).reshape(len(result), -1).any(axis=1).argmax())
        raise ValueError(
            f"X is too large for {estimator_name}: the input of its first "
            f"layer overflowed for row {row}. Rescale X as the training data "
            f"were (e.g. with sklearn.preprocessing.StandardScaler)."
        )
    return result
