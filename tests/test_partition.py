"""skebm.partition helpers (AIS and exact enumeration themselves are checked
against brute force in test_kernels_rbm.py and test_kernels_gaussian.py)."""

import numpy as np
import scipy.sparse as sp

from skebm.partition import _base_rate_bias


def test_base_rate_bias_is_finite_for_constant_and_out_of_range_columns():
    n = 40
    X = np.column_stack([np.zeros(n), np.ones(n), np.full(n, 3.0), np.full(n, -2.0)])
    bias = _base_rate_bias(X, X.shape[1])
    assert bias.dtype == np.float64 and bias.shape == (4,)
    assert np.isfinite(bias).all()
    # all zeros / all ones: Laplace smoothing, 1 / (n + 2) and (n + 1) / (n + 2)
    np.testing.assert_allclose(bias[:2], [-np.log(n + 1), np.log(n + 1)])
    # beyond [0, 1]: the smoothed rate is clipped into [1e-6, 1 - 1e-6]
    np.testing.assert_allclose(bias[2:], [np.log(1e6 - 1), -np.log(1e6 - 1)])


def test_base_rate_bias_is_the_log_odds_of_the_smoothed_mean(rng):
    X = (rng.uniform(size=(50, 6)) < 0.3).astype(np.float64)
    p = (X.sum(axis=0) + 1.0) / (X.shape[0] + 2.0)
    assert ((0.0 < p) & (p < 1.0)).all()
    np.testing.assert_allclose(_base_rate_bias(X, 6), np.log(p / (1.0 - p)))
    np.testing.assert_array_equal(
        _base_rate_bias(sp.csr_matrix(X), 6), _base_rate_bias(X, 6)
    )
    np.testing.assert_array_equal(_base_rate_bias(None, 6), np.zeros(6))
