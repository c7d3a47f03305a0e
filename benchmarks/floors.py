"""What the memory system allows: measured bandwidth and the floor of a sweep.

A value-iteration sweep must read every outcome's next state and probability
(plus the row offsets, ``R``, and ``V`` itself) and write ``V'``. On a large
model that is far more than the caches hold, so a sweep cannot beat

- the **streaming floor**: the bytes it must stream divided by the machine's
  streaming read bandwidth (measured here on all cores), nor
- the **random-read floor**: the measured time of a bare gather
  ``Σ_j V[next_state[j]]`` over the model's own next states (the index
  stream plus the random reads of ``V``, no arithmetic to speak of), plus the
  streaming time of the remaining bytes.

On the 1000 × 1000 grid next states are neighbours, so the reads of ``V``
hit the cache and the streaming floor is the bar; on Garnet they are
uniformly random and the random-read floor is.

On a shared host the memory system's speed drifts over seconds (on this one
the same Garnet 10^6 sweep took 32 ms for a few seconds, then 90-160 ms). So
the benchmark does not time a sweep and its floor minutes apart: it calls
them in turn, round after round (:func:`alternating`), and compares them
round by round.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numba
import numpy as np
from numba import prange

__all__ = [
    "alternating",
    "gather_call",
    "median_time",
    "read_bandwidth",
    "read_call",
    "sweep_bytes",
]


# A prange reduction with fastmath: numba splits it over the threads and LLVM
# vectorises each thread's share (a loop-carried float sum without fastmath
# would measure the adder's latency, not the memory).
@numba.njit(parallel=True, cache=True, fastmath=True)
def _read_sum(x):  # pragma: no cover - compiled
    acc = 0.0
    for i in prange(x.shape[0]):
        acc += x[i]
    return acc


@numba.njit(parallel=True, cache=True)
def _gather_sum(index, V, n_chunks):  # pragma: no cover - compiled
    # Scalar loads, four independent sums per thread so that many reads are in
    # flight (no fastmath: vectorised gathers are microcoded and slow on AMD).
    partial = np.zeros(n_chunks)
    n = index.shape[0]
    for chunk in prange(n_chunks):
        first, last = chunk * n // n_chunks, (chunk + 1) * n // n_chunks
        a0 = a1 = a2 = a3 = 0.0
        j = first
        while j + 4 <= last:
            a0 += V[index[j]]
            a1 += V[index[j + 1]]
            a2 += V[index[j + 2]]
            a3 += V[index[j + 3]]
            j += 4
        while j < last:
            a0 += V[index[j]]
            j += 1
        partial[chunk] = a0 + a1 + a2 + a3
    return partial.sum()


def median_time(function, repeats: int) -> float:
    """Median seconds of ``repeats`` back-to-back calls, after one warm-up call.

    Back to back, as a solver's sweeps run: on this VM, memory left idle for a
    fraction of a second is slow to touch again (a Garnet 10^6 sweep took
    about 34 ms back to back and 67-86 ms with 0.2 s pauses between sweeps).
    """
    function()  # warm up (compile or load, touch the pages)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def alternating(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, np.ndarray]:
    """Seconds of every call in each of ``rounds`` rounds, the calls made in turn.

    One warm-up round first (compile or load, touch the pages). Dividing one
    call's times by another's round by round compares them under the same
    conditions, however the machine's speed drifts during the run.
    """
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: np.array(seconds) for name, seconds in times.items()}


def read_call(n_bytes: int) -> Callable[[], float]:
    """A call that streams ``n_bytes`` (a sum over all cores of a fresh array)."""
    x = np.ones(n_bytes // 8)
    return lambda: _read_sum(x)


def read_bandwidth(n_bytes: int = 1 << 29, repeats: int = 7) -> float:
    """Streaming read bandwidth in bytes/s over all cores (median of ``repeats``)."""
    return n_bytes / median_time(read_call(n_bytes), repeats)


def gather_call(next_state: np.ndarray, n_states: int) -> Callable[[], float]:
    """A call that computes ``Σ_j V[next_state[j]]`` over all cores, for a random ``V``."""
    V = np.random.default_rng(0).random(n_states)
    chunks = 8 * numba.get_num_threads()
    return lambda: _gather_sum(next_state, V, chunks)


def sweep_bytes(mdp) -> dict[str, int]:
    """Bytes one fused sweep must move, by array (writes of ``V'`` count twice)."""
    n_rows = mdp.n_states * mdp.n_actions
    moved = {
        "next_state": mdp.next_state.nbytes,
        "prob": mdp.prob.nbytes,
        "row_offsets": mdp.row_offsets.nbytes,
        "R": 8 * n_rows,
        "V (read once)": 8 * mdp.n_states,
        "V' (write)": 16 * mdp.n_states,
    }
    if mdp.terminated.any():
        moved["terminated"] = mdp.terminated.nbytes
    return moved
