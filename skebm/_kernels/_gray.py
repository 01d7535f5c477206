"""Exact sums over binary states, one flip at a time.

Every exact quantity skebm computes by enumeration (an RBM's ``log Z``, a
Boltzmann machine's ``log Z``, free energies, marginals and moments) visits
the ``2**n`` states of ``n`` binary units in Gray-code order: state ``t``
differs from state ``t - 1`` in one unit, so energies and fields are
updated in ``O(n)`` instead of recomputed. Each running sum of ``exp`` is a
streaming log-sum-exp, rescaled whenever a larger term appears, so no term
overflows.
"""

import numpy as np
from numba import njit


@njit(inline="always")
def gray_flip(t):
    """The unit that changes between Gray codes ``t - 1`` and ``t``: the
    lowest set bit of ``t`` (``t >= 1``)."""
    j = 0
    while not (t >> j) & 1:
        j += 1
    return j


@njit(inline="always")
def add_log_term(x, running_max, running_sum):
    """One step of a streaming log-sum-exp: ``running_sum`` holds
    ``Σ exp(term - running_max)``; add ``exp(x)``.

    Returns ``(running_max, running_sum, scale, weight)``: the old terms
    were multiplied by ``scale`` and the new one counts ``weight``, so that
    weighted sums kept alongside update as ``s = s * scale + weight * v``.
    The log of the total is ``running_max + log(running_sum)``.
    """
    if x > running_max:
        scale = np.exp(running_max - x)
        return x, running_sum * scale + 1.0, scale, 1.0
    weight = np.exp(x - running_max)
    return running_max, running_sum + weight, 1.0, weight
