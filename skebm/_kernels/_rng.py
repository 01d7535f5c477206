"""Counter-free per-chain random number streams for the kernels.

Every kernel that draws random numbers takes a ``state`` array of shape
``(n_rows, 4)`` and dtype uint64: one xoshiro256** generator (Blackman & Vigna,
"Scrambled linear pseudorandom number generators", 2021) per row.  Row ``r`` is
used only for the ``r``-th chain / sample of a batch, so what a chain draws
depends only on the seed and its own history, never on thread count, on which
kernels compiled first, or on numba's global generator (which seeding from
Python does not reach).

The state rows are created from one integer seed with NumPy's ``SeedSequence``,
which spreads the seed into well-mixed, independent 256-bit states.
"""

import numpy as np
from numba import njit

from ._jit import helper, kernel

_U53 = 1.0 / 9007199254740992.0  # 2**-53


def seed_state(seed, n_rows):
    """Return a fresh ``(n_rows, 4)`` uint64 generator state from an int seed."""
    words = np.random.SeedSequence(int(seed)).generate_state(
        4 * max(int(n_rows), 1), dtype=np.uint64
    )
    state = words.reshape(-1, 4)[: int(n_rows)].copy()
    # xoshiro must not start from the all-zero state (probability 2**-256).
    state[np.all(state == 0, axis=1), 0] = np.uint64(0x9E3779B97F4A7C15)
    return state


@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@helper(error_model="numpy")
def xoshiro_step(s0, s1, s2, s3):
    """One xoshiro256** step on a state held in locals (registers).

    Returns ``(output, s0, s1, s2, s3)``. Loops that draw many numbers from
    one row load the row once, call this, and store the row back once.
    """
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, s0, s1, s2, s3


@helper(error_model="numpy")
def u64_to_unit(x):
    """Uniform double in [0, 1) from the top 53 bits of ``x``."""
    return float(x >> np.uint64(11)) * _U53


@helper(error_model="numpy")
def load_row(state, row):
    """Generator ``row``'s four state words, into locals (registers)."""
    return state[row, 0], state[row, 1], state[row, 2], state[row, 3]


@helper(error_model="numpy")
def store_row(state, row, s0, s1, s2, s3):
    """Write locals back as generator ``row``'s state (see :func:`load_row`)."""
    state[row, 0] = s0
    state[row, 1] = s1
    state[row, 2] = s2
    state[row, 3] = s3


@kernel
def fill_uniform(state, out):
    """Fill a 2-D array with uniforms, row ``r`` from generator ``r``."""
    for r in range(out.shape[0]):
        s0, s1, s2, s3 = load_row(state, r)
        for c in range(out.shape[1]):
            x, s0, s1, s2, s3 = xoshiro_step(s0, s1, s2, s3)
            out[r, c] = u64_to_unit(x)
        store_row(state, r, s0, s1, s2, s3)


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(inline="always")
def _mix64(z):
    """SplitMix64's finaliser: a bijective scramble of 64 bits."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@kernel
def probe_states(S, seed):
    """One xoshiro256** state row per probe, from ``seed`` and the probe.

    The row hashes the seed together with the probe's signs, so a probe's
    random numbers do not depend on its position in the batch or on the
    other probes: recall of a row is a function of the row (and the seed).
    """
    n, N = S.shape
    state = np.empty((n, 4), dtype=np.uint64)
    for r in range(n):
        acc = _mix64(np.uint64(seed) + _GOLDEN)
        word = np.uint64(0)
        for j in range(N):
            word = (word << np.uint64(1)) | np.uint64(1 if S[r, j] > 0 else 0)
            if (j & 63) == 63 or j == N - 1:
                acc = _mix64(acc ^ word) + _GOLDEN
                word = np.uint64(0)
        # SplitMix64 stream from the hash fills the four state words.
        for k in range(4):
            acc += _GOLDEN
            state[r, k] = _mix64(acc)
        if state[r, 0] == 0 and state[r, 1] == 0 and state[r, 2] == 0:
            state[r, 3] |= np.uint64(1)  # never the all-zero state
    return state
