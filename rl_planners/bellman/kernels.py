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
- :func:`gauss_seidel_sweep`: the same backup in place, in increasing or
  decreasing state order, each state seeing the values already updated in
  this sweep (one thread);
- either sweep can record each state's maximising action on the way (the
  greedy step of policy iteration's variants, without a ``Q`` array);
- :func:`q_values`: the full ``Q`` ``(S, A)``, when it is asked for;
- :func:`greedy_actions`: the greedy policy of ``V`` without an ``(S, A)``
  array (two passes: the scale of ``Q`` for the tie tolerance, then each
  state's first action within it of the best);
- :func:`continuation_extremes`: per state, the largest probability of going
  on (no outcome terminating) over the actions, and the smallest over all pairs;
- the products with a deterministic policy's rows (``T_π x`` and
  ``(I − γ P_π) x``) live in :mod:`rl_planners.bellman.policy_rows`.

The loops themselves, and their compilation, are in
:mod:`rl_planners.bellman.loops`; this module gives them their arrays.

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

from dataclasses import dataclass

import numpy as np

from rl_planners.bellman.loops import PARALLEL_LOCK, compile_loops, compiled_available
from rl_planners.mdp import TabularMDP

__all__ = [
    "BACKENDS",
    "KERNEL_MIN_OUTCOMES",
    "MAX_UNROLLED_WIDTH",
    "SweepModel",
    "SweepStats",
    "compiled_available",
    "continuation_extremes",
    "gauss_seidel_sweep",
    "greedy_actions",
    "jacobi_sweep",
    "prepare",
    "q_scale",
    "q_values",
    "reduce_stats",
    "row_width",
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


# ------------------------------------------------------------------ dispatch
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
    next_state: np.ndarray  # [N] int64 (gathered policy rows: int32 when S fits)
    prob: np.ndarray  # [N] float64
    terminated: np.ndarray  # [N] bool
    R: np.ndarray  # [S*A] float64
    has_terminations: bool
    n_chunks: int
    row_width: int

    @property
    def outcome_arrays(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool, np.ndarray]:
        """The arrays every loop takes first, in its order."""
        return (
            self.row_offsets,
            self.next_state,
            self.prob,
            self.terminated,
            self.has_terminations,
            self.R,
        )


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
    kernels = compile_loops(0)
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


def reduce_stats(stats: np.ndarray) -> SweepStats:
    """The :class:`SweepStats` of a sweep from its per-chunk rows ``(max d, min d, max |V'|)``."""
    return SweepStats(
        high=float(stats[:, 0].max()), low=float(stats[:, 1].min()), top=float(stats[:, 2].max())
    )


_NO_POLICY = np.zeros(0, dtype=np.int64)
"""Passed to a sweep kernel for ``policy=None``: record no actions."""


def _policy_out(model: SweepModel, policy: np.ndarray | None) -> np.ndarray:
    if policy is None:
        return _NO_POLICY
    if policy.shape != (model.n_states,) or policy.dtype != np.int64:
        raise ValueError("policy must be an int64 array of one action per state")
    return policy


def jacobi_sweep(
    model: SweepModel,
    V: np.ndarray,
    gamma: float,
    out: np.ndarray,
    policy: np.ndarray | None = None,
) -> SweepStats:
    """One synchronous sweep: ``out = T V`` (fused backup and max), on all cores.

    ``V`` and ``out`` are distinct float64 ``(S,)`` arrays; ``V`` is only read.
    If ``policy`` (``(S,)`` int64) is given, ``policy[s]`` receives the first
    action attaining the maximum, ``argmax_a Q(s,a)`` with ties to the lowest
    index: the greedy step of policy iteration's variants, without a ``Q`` array.
    """
    stats = np.empty((model.n_chunks, 3))
    with PARALLEL_LOCK:
        compile_loops(model.row_width).jacobi(
            *model.outcome_arrays,
            V,
            float(gamma),
            model.n_actions,
            out,
            _policy_out(model, policy),
            stats,
        )
    return reduce_stats(stats)


def gauss_seidel_sweep(
    model: SweepModel,
    V: np.ndarray,
    gamma: float,
    *,
    reverse: bool = False,
    policy: np.ndarray | None = None,
) -> SweepStats:
    """One Gauss–Seidel sweep, in place: for ``s = 0, 1, …``, ``V(s) ← (T V)(s)``.

    Each backup sees the values of the states already updated in this sweep
    (Puterman 1994, §6.3.3); ``reverse`` sweeps ``s = S−1, …, 0``. Alternated,
    values travel across the state numbering both ways within one pair of
    sweeps. Runs on one thread, so the result is deterministic. ``d`` in the
    statistics is each state's change. ``policy``, if given, receives each
    state's maximising action as in :func:`jacobi_sweep`. On the rows of one
    policy (:func:`~rl_planners.bellman.policy_rows.gather_policy_rows`, one
    action) the sweep is ``V(s) ← (T_π V)(s)``.
    """
    stats = np.empty((1, 3))
    loops = compile_loops(model.row_width)
    (loops.gauss_seidel_reverse if reverse else loops.gauss_seidel)(
        *model.outcome_arrays,
        V,
        float(gamma),
        model.n_actions,
        _policy_out(model, policy),
        stats,
    )
    return reduce_stats(stats)


def q_values(model: SweepModel, V: np.ndarray, gamma: float) -> np.ndarray:
    """``Q(s,a) = R(s,a) + γ Σ_k p_k [¬term_k] V(s'_k)``, ``[S, A]`` float64."""
    Q = np.empty(model.n_states * model.n_actions)
    with PARALLEL_LOCK:
        compile_loops(model.row_width).q_values(
            *model.outcome_arrays,
            V,
            float(gamma),
            Q,
        )
    return Q.reshape(model.n_states, model.n_actions)


def q_scale(model: SweepModel, V: np.ndarray, gamma: float) -> float:
    """``max_{s,a} |Q(s,a)|`` for ``Q = R + γ P_cont V``, without storing ``Q``."""
    scale = np.zeros(model.n_chunks)
    with PARALLEL_LOCK:
        compile_loops(model.row_width).q_scale(
            *model.outcome_arrays,
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
    with PARALLEL_LOCK:
        compile_loops(model.row_width).greedy(
            *model.outcome_arrays,
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
    with PARALLEL_LOCK:
        compile_loops(model.row_width).continuation(
            model.row_offsets,
            model.prob,
            model.terminated,
            model.has_terminations,
            model.n_actions,
            lowest,
            highest,
        )
    return float(lowest.min()), highest
