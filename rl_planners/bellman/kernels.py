r"""Compiled, fused sweep kernels for large models (numba), and when to use them.

The reference operators in :mod:`rl_planners.bellman` go through the
continuation matrix: ``Q = R + γ P_cont V`` as a SciPy CSR product, then
``max_a``. That is the right tool for small models (a few microseconds a
sweep, nothing to compile), but on a million states it writes and re-reads
an ``(S, A)`` array of ``Q`` and makes a separate pass for every NumPy
operation. The kernels here read the model's own per-outcome arrays once per
sweep and fuse everything a solver needs into that single pass:

- :func:`jacobi_sweep`: ``V'(s) = max_a [R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)]``
  for all ``s`` from the old ``V``, plus the statistics of ``d = V' − V``
  the stopping rules use (``max d``, ``min d``, ``max |V'|``);
- :func:`gauss_seidel_sweep`: the same backup in place, in state order, each
  state seeing the values already updated in this sweep (one thread);
  :func:`gauss_seidel_reverse_sweep` the same from the last state down;
- :func:`q_values`: the full ``Q`` ``(S, A)``, when it is asked for;
- :func:`greedy_actions`: the greedy policy of ``V`` without an ``(S, A)``
  array (two passes: the scale of ``Q`` for the tie tolerance, then each
  state's first action within it of the best);
- :func:`continuation_extremes`: per state, the largest probability of going
  on (no outcome terminating) over the actions, and the smallest over all pairs;
- :func:`policy_apply`: ``α x + β R_π + g P_π x`` for a deterministic ``π``,
  reading the policy's rows where they lie in the full model;
- :func:`gather_policy_rows` and :func:`rows_apply`: the same product on the
  policy's ``S`` rows gathered once into contiguous arrays (terminating
  outcomes folded into zero weights), so that each product streams ``1/A``
  of the model's bytes: the partial evaluation sweeps of modified policy
  iteration and the Krylov products of (inexact) policy iteration.

A terminating outcome is skipped (no future value) by reading the model's
``terminated`` flags; no continuation matrix or copy of the outcome arrays
is made, so a kernel sweep needs no memory beyond its ``(S,)`` output.
Repeated next states need no summing: each outcome contributes on its own.
The Jacobi, ``Q`` and policy kernels split the states over all cores. The
per-row sum and the per-state backup are written once (``_row_future``,
``_state_backup``) and inlined into every kernel.

When every row has the same number of outcomes ``K`` (Garnet, grids, most
models built with :meth:`TabularMDP.from_outcomes`), the kernels are compiled
for that ``K``: row ``r``'s outcomes are ``r·K … r·K + K − 1``, no offsets are
read, and the row loop, of constant length, is unrolled. Models with rows of
different lengths use the kernels compiled for any ``K``.

numba is imported, and the kernels compiled (or loaded from numba's on-disk
cache, ``cache=True``), on first use only. ``backend="auto"`` keeps models
with fewer than :data:`KERNEL_MIN_OUTCOMES` outcomes on the NumPy/SciPy path,
so FrozenLake or Taxi never import numba nor wait for a compile.
"""

from __future__ import annotations

import functools
import os
import threading
import types
from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_planners.mdp import TabularMDP

__all__ = [
    "BACKENDS",
    "KERNEL_MIN_OUTCOMES",
    "MAX_UNROLLED_WIDTH",
    "SweepModel",
    "SweepStats",
    "compiled_available",
    "continuation_extremes",
    "gather_policy_rows",
    "gauss_seidel_reverse_sweep",
    "gauss_seidel_sweep",
    "greedy_actions",
    "jacobi_sweep",
    "policy_apply",
    "prepare",
    "q_scale",
    "q_values",
    "row_width",
    "rows_apply",
    "uses_kernel",
]

KERNEL_MIN_OUTCOMES = 500_000
"""``backend="auto"`` uses the compiled kernels from this many outcomes on.

Below it a SciPy sweep takes a few milliseconds at most, and a whole solve
less than the one-off cost of the kernels in a fresh process (importing numba
and loading or compiling them; ``benchmarks/RESULTS.md`` records both).
"""

BACKENDS = ("auto", "numpy", "compiled")
"""``"numpy"``: SciPy/NumPy reference path; ``"compiled"``: the kernels here;
``"auto"``: the kernels for models of :data:`KERNEL_MIN_OUTCOMES` or more
outcomes when numba is installed, else NumPy."""

MAX_UNROLLED_WIDTH = 8
"""Rows of equal length up to this many outcomes get kernels compiled for it."""

_CHUNKS_PER_THREAD = 8
"""States are split into this many chunks per thread (each reports its own stats)."""

_PARALLEL_LOCK = threading.Lock()
"""Serialises the parallel kernels: numba's workqueue layer allows one launch at a time."""


# ------------------------------------------------------------------ dispatch
@functools.cache
def compiled_available() -> bool:
    """Whether numba can be imported (the compiled backend is usable)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def uses_kernel(mdp: TabularMDP, backend: str = "auto") -> bool:
    """Whether a solver with this ``backend`` option runs the compiled kernels.

    Raises
    ------
    ValueError
        If ``backend`` is not one of :data:`BACKENDS`.
    ModuleNotFoundError
        If ``backend="compiled"`` but numba is not installed.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "numpy":
        return False
    if backend == "compiled":
        if not compiled_available():
            raise ModuleNotFoundError(
                "backend='compiled' needs numba; install it (pip install numba) "
                "or use backend='auto' or 'numpy'"
            )
        return True
    return mdp.n_outcomes >= KERNEL_MIN_OUTCOMES and compiled_available()


@dataclass(frozen=True)
class SweepModel:
    """The arrays a kernel reads, gathered once per solve (views, no copies).

    ``R`` is ``mdp.R`` flattened to ``[S*A]``; ``has_terminations`` says
    whether any outcome terminates (if not, the kernels skip the flag test);
    ``row_width`` is the number of outcomes of every row when they all have
    the same, up to :data:`MAX_UNROLLED_WIDTH`, else 0 (rows of any length).
    """

    n_states: int
    n_actions: int
    row_offsets: np.ndarray  # [S*A + 1] int64
    next_state: np.ndarray  # [N] int64
    prob: np.ndarray  # [N] float64
    terminated: np.ndarray  # [N] bool
    R: np.ndarray  # [S*A] float64
    has_terminations: bool
    n_chunks: int
    row_width: int


@dataclass(frozen=True)
class SweepStats:
    """Statistics of ``d = V' − V`` over one sweep."""

    high: float  # max d
    low: float  # min d
    top: float  # max |V'|


def row_width(row_offsets: np.ndarray) -> int:
    """``K`` if every row has ``K ≤ MAX_UNROLLED_WIDTH`` outcomes, else 0."""
    n_rows = row_offsets.size - 1
    width = int(row_offsets[-1]) // max(1, n_rows)
    if not 0 < width <= MAX_UNROLLED_WIDTH or width * n_rows != row_offsets[-1]:
        return 0
    block = 1 << 16  # rows compared at a time: no temporary of the model's size
    for first in range(0, n_rows + 1, block):
        last = min(first + block, n_rows + 1)
        expected = np.arange(first * width, last * width, width)
        if not np.array_equal(row_offsets[first:last], expected):
            return 0
    return width


def prepare(mdp: TabularMDP) -> SweepModel:
    """Gather ``mdp``'s arrays for the kernels (and load numba)."""
    kernels = _compiled(0)
    n_chunks = max(1, min(mdp.n_states, kernels.n_threads * _CHUNKS_PER_THREAD))
    return SweepModel(
        n_states=mdp.n_states,
        n_actions=mdp.n_actions,
        row_offsets=mdp.row_offsets,
        next_state=mdp.next_state,
        prob=mdp.prob,
        terminated=mdp.terminated,
        R=np.ascontiguousarray(mdp.R).reshape(-1),
        has_terminations=bool(mdp.terminated.any()),
        n_chunks=n_chunks,
        row_width=row_width(mdp.row_offsets),
    )


def _reduce(stats: np.ndarray) -> SweepStats:
    return SweepStats(
        high=float(stats[:, 0].max()), low=float(stats[:, 1].min()), top=float(stats[:, 2].max())
    )


def jacobi_sweep(model: SweepModel, V: np.ndarray, gamma: float, out: np.ndarray) -> SweepStats:
    """One synchronous sweep: ``out = T V`` (fused backup and max), on all cores.

    ``V`` and ``out`` are distinct float64 ``(S,)`` arrays; ``V`` is only read.
    """
    stats = np.empty((model.n_chunks, 3))
    with _PARALLEL_LOCK:
        _compiled(model.row_width).jacobi(
            model.row_offsets,
            model.next_state,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.R,
            V,
            float(gamma),
            model.n_actions,
            out,
            stats,
        )
    return _reduce(stats)


def gauss_seidel_sweep(model: SweepModel, V: np.ndarray, gamma: float) -> SweepStats:
    """One Gauss–Seidel sweep, in place: for ``s = 0, 1, …``, ``V(s) ← (T V)(s)``.

    Each backup sees the values of states ``< s`` already updated in this
    sweep (Puterman 1994, §6.3.3). Runs on one thread, so the result is
    deterministic. ``d`` in the statistics is each state's change.
    """
    stats = np.empty((1, 3))
    _compiled(model.row_width).gauss_seidel(
        model.row_offsets,
        model.next_state,
        model.prob,
        model.terminated,
        model.has_terminations,
        model.R,
        V,
        float(gamma),
        model.n_actions,
        stats,
    )
    return _reduce(stats)


def gauss_seidel_reverse_sweep(model: SweepModel, V: np.ndarray, gamma: float) -> SweepStats:
    """:func:`gauss_seidel_sweep` in reverse state order: ``s = S−1, …, 0``.

    Alternated with forward sweeps (symmetric Gauss–Seidel), values travel
    across the state numbering in both directions within one pair of sweeps.
    """
    stats = np.empty((1, 3))
    _compiled(model.row_width).gauss_seidel_reverse(
        model.row_offsets,
        model.next_state,
        model.prob,
        model.terminated,
        model.has_terminations,
        model.R,
        V,
        float(gamma),
        model.n_actions,
        stats,
    )
    return _reduce(stats)


def q_values(model: SweepModel, V: np.ndarray, gamma: float) -> np.ndarray:
    """``Q(s,a) = R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)``, ``[S, A]`` float64."""
    Q = np.empty(model.n_states * model.n_actions)
    with _PARALLEL_LOCK:
        _compiled(model.row_width).q_values(
            model.row_offsets,
            model.next_state,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.R,
            V,
            float(gamma),
            Q,
        )
    return Q.reshape(model.n_states, model.n_actions)


def policy_apply(
    model: SweepModel,
    policy: np.ndarray,
    x: np.ndarray,
    *,
    alpha: float,
    beta: float,
    g: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``out = α x + β R_π + g P_π x`` for a deterministic policy ``π`` ``(S,)`` int64.

    ``α = 0, β = 1, g = γ`` is the expectation backup ``T_π x``;
    ``α = 1, β = 0, g = −γ`` is ``(I − γ P_π) x``.
    """
    if out is None:
        out = np.empty(model.n_states)
    with _PARALLEL_LOCK:
        _compiled(model.row_width).policy_apply(
            model.row_offsets,
            model.next_state,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.R,
            np.ascontiguousarray(policy, dtype=np.int64),
            np.ascontiguousarray(x, dtype=np.float64),
            float(alpha),
            float(beta),
            float(g),
            model.n_actions,
            out,
        )
    return out


def gather_policy_rows(model: SweepModel, policy: np.ndarray) -> SweepModel:
    """The rows ``s*A + π(s)`` of a deterministic policy, gathered into an ``[S]``-row model.

    Returns a :class:`SweepModel` with one action, whose row ``s`` holds the
    outcomes of ``(s, π(s))`` contiguously: ``prob`` is ``p_k [¬term_k]`` (a
    terminating outcome gets weight 0, so no flags are read) and ``R`` is
    ``R_π``. Gathering reads ``1/A`` of the model once; every
    :func:`rows_apply` after it streams only these rows.
    """
    n_states = model.n_states
    if model.row_width:
        offsets = np.arange(0, n_states * model.row_width + 1, model.row_width, dtype=np.int64)
    else:
        rows = np.arange(n_states, dtype=np.int64) * model.n_actions + policy
        offsets = np.zeros(n_states + 1, dtype=np.int64)
        np.cumsum(model.row_offsets[rows + 1] - model.row_offsets[rows], out=offsets[1:])
    next_state = np.empty(int(offsets[-1]), dtype=np.int64)
    weight = np.empty(int(offsets[-1]))
    R_pi = np.empty(n_states)
    with _PARALLEL_LOCK:
        _compiled(model.row_width).gather_rows(
            model.row_offsets,
            model.next_state,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.R,
            np.ascontiguousarray(policy, dtype=np.int64),
            model.n_actions,
            offsets,
            next_state,
            weight,
            R_pi,
        )
    return SweepModel(
        n_states=n_states,
        n_actions=1,
        row_offsets=offsets,
        next_state=next_state,
        prob=weight,
        terminated=np.zeros(0, dtype=bool),
        R=R_pi,
        has_terminations=False,
        n_chunks=model.n_chunks,
        row_width=model.row_width,
    )


def rows_apply(
    rows: SweepModel,
    x: np.ndarray,
    *,
    alpha: float,
    beta: float,
    g: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """``out = α x + β R_π + g P_π x`` on rows gathered by :func:`gather_policy_rows`.

    ``α = 0, β = 1, g = γ`` is ``T_π x``; ``α = 1, β = 0, g = −γ`` is
    ``(I − γ P_π) x``.
    """
    if out is None:
        out = np.empty(rows.n_states)
    with _PARALLEL_LOCK:
        _compiled(rows.row_width).rows_apply(
            rows.row_offsets,
            rows.next_state,
            rows.prob,
            rows.terminated,
            rows.R,
            np.ascontiguousarray(x, dtype=np.float64),
            float(alpha),
            float(beta),
            float(g),
            out,
        )
    return out


def q_scale(model: SweepModel, V: np.ndarray, gamma: float) -> float:
    """``max_{s,a} |Q(s,a)|`` for ``Q = R + γ P_cont V``, without storing ``Q``."""
    scale = np.zeros(model.n_chunks)
    with _PARALLEL_LOCK:
        _compiled(model.row_width).q_scale(
            model.row_offsets,
            model.next_state,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.R,
            V,
            float(gamma),
            model.n_actions,
            scale,
        )
    return float(scale.max())


def greedy_actions(model: SweepModel, V: np.ndarray, gamma: float, atol: float) -> np.ndarray:
    """``π(s) = min {a : Q(s,a) ≥ max_b Q(s,b) − atol}``, ``[S]`` int64, without storing ``Q``.

    ``Q(s,a) = R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)`` is computed exactly as
    :func:`q_values` computes it (same operations, same order), so the policy
    is, bit for bit, the one read off the full ``Q``: the lowest-index action
    within ``atol`` of the row's maximum.
    """
    policy = np.empty(model.n_states, dtype=np.int64)
    with _PARALLEL_LOCK:
        _compiled(model.row_width).greedy(
            model.row_offsets,
            model.next_state,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.R,
            V,
            float(gamma),
            model.n_actions,
            float(atol),
            model.n_chunks,
            policy,
        )
    return policy


def continuation_extremes(model: SweepModel) -> tuple[float, np.ndarray]:
    """``(min_{s,a} c(s,a), [S] max_a c(s,a))`` for ``c(s,a) = Σ_k p_k [¬term_k]``.

    ``c`` is the probability that taking ``a`` in ``s`` does not end the
    episode (:attr:`TabularMDP.continuation_probability`), summed here row by
    row in outcome order without an ``(S, A)`` array; the sums can differ from
    the model's blocked NumPy sums in the last unit of float64.
    """
    lowest = np.empty(model.n_chunks)
    highest = np.empty(model.n_states)
    with _PARALLEL_LOCK:
        _compiled(model.row_width).continuation(
            model.row_offsets,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.n_actions,
            lowest,
            highest,
        )
    return float(lowest.min()), highest


# ------------------------------------------------------------------- kernels
# Plain Python here; `_compiled` compiles them with numba, where `prange`
# becomes numba.prange (a parallel loop), `_ROW_WIDTH` a compile-time constant
# (0: rows of any length), and the helpers `_row_span`, `_row_future` and
# `_state_backup` compiled functions that numba inlines into the kernels.
prange = range
_ROW_WIDTH = 0


def _row_span(offsets, row):
    """Where row ``s*A + a``'s outcomes start, and how many it has.

    With a fixed width ``K`` that is ``row·K`` and ``K``: no offsets are read,
    and the row loop has a constant trip count for the compiler to unroll.
    """
    if _ROW_WIDTH:
        return row * _ROW_WIDTH, _ROW_WIDTH
    first = offsets[row]
    return first, offsets[row + 1] - first


def _row_future(next_state, prob, terminated, has_term, x, first, count):
    """``Σ_k p_k [¬term_k] x(s'_k)`` over the ``count`` outcomes from ``first`` (one row)."""
    acc = 0.0
    if has_term:
        for k in range(count):
            j = first + k
            if not terminated[j]:
                acc += prob[j] * x[next_state[j]]
    else:
        for k in range(count):
            j = first + k
            acc += prob[j] * x[next_state[j]]
    return acc


def _state_backup(offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s):
    """``(T V)(s) = max_a [R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)]`` (branch-free max)."""
    best = -np.inf
    row = s * n_actions
    for a in range(n_actions):
        first, count = _row_span(offsets, row + a)
        future = _row_future(next_state, prob, terminated, has_term, V, first, count)
        best = max(best, R[row + a] + gamma * future)
    return best


def _jacobi_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, out, stats
):
    n_states = V.shape[0]
    n_chunks = stats.shape[0]
    for chunk in prange(n_chunks):
        first = chunk * n_states // n_chunks
        last = (chunk + 1) * n_states // n_chunks
        high, low, top = -np.inf, np.inf, 0.0
        for s in range(first, last):
            best = _state_backup(
                offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
            )
            out[s] = best
            d = best - V[s]
            high = max(high, d)
            low = min(low, d)
            top = max(top, abs(best))
        stats[chunk, 0] = high
        stats[chunk, 1] = low
        stats[chunk, 2] = top


def _gauss_seidel_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, stats
):
    high, low, top = -np.inf, np.inf, 0.0
    for s in range(V.shape[0]):
        best = _state_backup(
            offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
        )
        d = best - V[s]
        V[s] = best
        high = max(high, d)
        low = min(low, d)
        top = max(top, abs(best))
    stats[0, 0] = high
    stats[0, 1] = low
    stats[0, 2] = top


def _gauss_seidel_reverse_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, stats
):
    high, low, top = -np.inf, np.inf, 0.0
    for s in range(V.shape[0] - 1, -1, -1):
        best = _state_backup(
            offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, s
        )
        d = best - V[s]
        V[s] = best
        high = max(high, d)
        low = min(low, d)
        top = max(top, abs(best))
    stats[0, 0] = high
    stats[0, 1] = low
    stats[0, 2] = top


def _q_kernel(offsets, next_state, prob, terminated, has_term, R, V, gamma, Q):
    for row in prange(Q.shape[0]):
        first, count = _row_span(offsets, row)
        future = _row_future(next_state, prob, terminated, has_term, V, first, count)
        Q[row] = R[row] + gamma * future


def _policy_kernel(
    offsets, next_state, prob, terminated, has_term, R, policy, x, alpha, beta, g, n_actions, out
):
    for s in prange(x.shape[0]):
        row = s * n_actions + policy[s]
        first, count = _row_span(offsets, row)
        future = _row_future(next_state, prob, terminated, has_term, x, first, count)
        out[s] = alpha * x[s] + beta * R[row] + g * future


def _gather_kernel(
    offsets,
    next_state,
    prob,
    terminated,
    has_term,
    R,
    policy,
    n_actions,
    offsets_out,
    next_state_out,
    weight_out,
    R_out,
):
    for s in prange(policy.shape[0]):
        row = s * n_actions + policy[s]
        first, count = _row_span(offsets, row)
        target = offsets_out[s]
        for k in range(count):
            j = first + k
            next_state_out[target + k] = next_state[j]
            weight_out[target + k] = 0.0 if has_term and terminated[j] else prob[j]
        R_out[s] = R[row]


def _rows_kernel(offsets, next_state, weight, terminated, R, x, alpha, beta, g, out):
    for s in prange(x.shape[0]):
        first, count = _row_span(offsets, s)
        # terminating outcomes already weigh 0: no flags to read
        future = _row_future(next_state, weight, terminated, False, x, first, count)
        out[s] = alpha * x[s] + beta * R[s] + g * future


def _q_scale_kernel(offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, scale):
    n_states = V.shape[0]
    n_chunks = scale.shape[0]
    for chunk in prange(n_chunks):
        top = 0.0
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            row = s * n_actions
            for a in range(n_actions):
                first, count = _row_span(offsets, row + a)
                future = _row_future(next_state, prob, terminated, has_term, V, first, count)
                top = max(top, abs(R[row + a] + gamma * future))
        scale[chunk] = top


def _greedy_kernel(
    offsets, next_state, prob, terminated, has_term, R, V, gamma, n_actions, atol, n_chunks, policy
):
    n_states = V.shape[0]
    for chunk in prange(n_chunks):
        q = np.empty(n_actions)  # one state's action values, reused across the chunk
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            row = s * n_actions
            best = -np.inf
            for a in range(n_actions):
                first, count = _row_span(offsets, row + a)
                future = _row_future(next_state, prob, terminated, has_term, V, first, count)
                q[a] = R[row + a] + gamma * future
                best = max(best, q[a])
            threshold = best - atol
            chosen = 0
            for a in range(n_actions):
                if q[a] >= threshold:
                    chosen = a
                    break
            policy[s] = chosen


def _continuation_kernel(offsets, prob, terminated, has_term, n_actions, lowest, highest):
    n_states = highest.shape[0]
    n_chunks = lowest.shape[0]
    for chunk in prange(n_chunks):
        low = np.inf
        for s in range(chunk * n_states // n_chunks, (chunk + 1) * n_states // n_chunks):
            high = -np.inf
            for a in range(n_actions):
                first, count = _row_span(offsets, s * n_actions + a)
                goes_on = 0.0
                for j in range(first, first + count):
                    if not (has_term and terminated[j]):
                        goes_on += prob[j]
                high = max(high, goes_on)
                low = min(low, goes_on)
            highest[s] = high
        lowest[chunk] = low


@functools.cache
def _compiled(row_width: int) -> Any:
    """Import numba and compile the kernels for ``row_width`` (0: any), or load them.

    Cached per process and width: the compiled code, not any model state.
    numba compiles each kernel on its first call, so a width compiles only
    the kernels its solver uses.
    """
    if not compiled_available():
        raise ModuleNotFoundError("the compiled kernels need numba (pip install numba)")
    import numba

    if "NUMBA_THREADING_LAYER" not in os.environ and numba.config.THREADING_LAYER == "default":
        # OpenMP's workers spin after every parallel loop and then fight NumPy's
        # OpenBLAS threads for the cores: on two cores a BiCGSTAB solve ran 10x
        # slower and a sweep 2-3x. The workqueue layer's workers sleep instead.
        # Honoured only if no parallel code has run yet; the user's choice wins.
        numba.config.THREADING_LAYER = "workqueue"

    scope = dict(globals(), prange=numba.prange, _ROW_WIDTH=row_width)

    def jit(function: Any, parallel: bool = False, inline: str = "never") -> Any:
        copy = types.FunctionType(function.__code__, scope, function.__name__)
        # numba's on-disk cache is looked up by qualified name and bytecode,
        # not by globals: the width goes into the name.
        copy.__qualname__ = f"{function.__qualname__}_width{row_width}"
        options = dict(cache=True, nogil=True, error_model="numpy", inline=inline)
        return numba.njit(parallel=parallel, **options)(copy)

    # The helpers first, inlined at numba's level rather than called once per
    # row or state with all their array arguments: the kernels' copies look
    # them up in `scope` when compiled.
    for helper in (_row_span, _row_future, _state_backup):
        scope[helper.__name__] = jit(helper, inline="always")

    return types.SimpleNamespace(
        jacobi=jit(_jacobi_kernel, parallel=True),
        gauss_seidel=jit(_gauss_seidel_kernel, parallel=False),
        gauss_seidel_reverse=jit(_gauss_seidel_reverse_kernel, parallel=False),
        q_values=jit(_q_kernel, parallel=True),
        policy_apply=jit(_policy_kernel, parallel=True),
        rows_apply=jit(_rows_kernel, parallel=True),
        gather_rows=jit(_gather_kernel, parallel=True),
        q_scale=jit(_q_scale_kernel, parallel=True),
        greedy=jit(_greedy_kernel, parallel=True),
        continuation=jit(_continuation_kernel, parallel=True),
        n_threads=numba.get_num_threads(),
    )
