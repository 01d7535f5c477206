"""Input checks shared by the estimators: one message per kind of problem."""

import numpy as np
import scipy.sparse as sp


def _values(X):
    return X.data if sp.issparse(X) else X


def check_unit_interval(X, estimator_name):
    """Raise ``ValueError`` unless every entry of ``X`` lies in [0, 1].

    ``X`` has already been through ``validate_data`` (finite, numeric).
    """
    values = _values(X)
    if values.size == 0:
        return
    low = values.min()
    if low < 0:
        # The wording starts like scikit-learn's for its ``positive_only`` tag.
        raise ValueError(
            f"Negative values in data passed to {estimator_name}: it models "
            f"binary units, so X must lie in [0, 1] (binary values or "
            f"probabilities); the smallest value is {low:.6g}. Rescale it, "
            f"e.g. with sklearn.preprocessing.MinMaxScaler."
        )
    high = values.max()
    if high > 1:
        raise ValueError(
            f"Values greater than 1 in data passed to {estimator_name}: it "
            f"models binary units, so X must lie in [0, 1] (binary values or "
            f"probabilities); the largest value is {high:.6g}. Rescale it, "
            f"e.g. with sklearn.preprocessing.MinMaxScaler."
        )


def as_kernel_input(X):
    """Dense C-contiguous array, or CSR with sorted int64 indices, for kernels.

    Returns ``(dense, data, indices, indptr, is_sparse)`` where the unused
    parts are empty placeholders of the right types.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        dense = np.empty((0, X.shape[1]), dtype=X.dtype)
        return (
            dense,
            np.ascontiguousarray(X.data),
            np.ascontiguousarray(X.indices, dtype=np.int64),
            np.ascontiguousarray(X.indptr, dtype=np.int64),
            True,
        )
    empty_i = np.empty(0, dtype=np.int64)
    return (
        np.ascontiguousarray(X),
        np.empty(0, dtype=X.dtype),
        empty_i,
        empty_i,
        False,
    )
