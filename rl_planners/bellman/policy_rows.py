"""Products with a deterministic policy's rows, on the compiled backend.

For a policy ``π`` ``[S]`` these give ``α x + β R_π + g P_π x``: with
``α = 0, β = 1, g = γ`` the expectation backup ``T_π x = R_π + γ P_π x``, with
``α = 1, β = 0, g = −γ`` the product ``(I − γ P_π) x`` of the linear system
``(I − γ P_π) V = R_π``.

- :func:`policy_apply` reads the policy's rows where they lie in the full model;
- :func:`gather_policy_rows` copies them once into contiguous ``[S]`` rows
  (terminating outcomes folded into zero weights, next states as int32 where
  they fit), and :func:`rows_apply` then streams only those, ``1/A`` of the
  model's bytes: the Krylov products of (inexact) policy iteration;
  :func:`rows_sweep` is ``T_π V`` with the extremes of its change (modified
  policy iteration's evaluation sweeps and their forcing term), and
  :func:`rows_gauss_seidel` the same sweep in place (its Gauss–Seidel method).
"""

from __future__ import annotations

import numpy as np

from rl_planners.bellman.kernels import SweepModel, SweepStats, reduce_stats
from rl_planners.bellman.loops import PARALLEL_LOCK, compile_loops

__all__ = [
    "gather_policy_rows",
    "policy_apply",
    "rows_apply",
    "rows_gauss_seidel",
    "rows_sweep",
]


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
    with PARALLEL_LOCK:
        compile_loops(model.row_width).policy_apply(
            *model.outcome_arrays,
            np.ascontiguousarray(policy, dtype=np.int64),
            np.ascontiguousarray(x, dtype=np.float64),
            float(alpha),
            float(beta),
            float(g),
            model.n_actions,
            out,
        )
    return out


def gather_policy_rows(
    model: SweepModel,
    policy: np.ndarray,
    into: SweepModel | None = None,
    into_policy: np.ndarray | None = None,
) -> SweepModel:
    """The rows ``s*A + π(s)`` of a deterministic policy, gathered into an ``[S]``-row model.

    Returns a :class:`SweepModel` with one action, whose row ``s`` holds the
    outcomes of ``(s, π(s))`` contiguously: ``prob`` is ``p_k [¬term_k]`` (a
    terminating outcome gets weight 0, so no flags are read) and ``R`` is
    ``R_π``. Gathering reads ``1/A`` of the model once; every
    :func:`rows_apply` after it streams only these rows.

    ``into``, rows gathered earlier from the same model for another policy
    and no longer used, is overwritten and returned when every row of the
    model has the same width (its arrays then fit any policy): no new memory.
    ``into_policy``, the policy ``into`` holds, limits the copying to the
    states whose action changed (late in a solve, a few).
    """
    n_states = model.n_states
    states = np.arange(n_states, dtype=np.int64)  # the states whose rows are copied
    if into is not None and model.row_width:
        offsets, next_state, weight, R_pi = into.row_offsets, into.next_state, into.prob, into.R
        if into_policy is not None:
            states = np.flatnonzero(into_policy != policy)
    else:
        if model.row_width:
            width = model.row_width
            offsets = np.arange(0, n_states * width + 1, width, dtype=np.int64)
        else:
            rows = np.arange(n_states, dtype=np.int64) * model.n_actions + policy
            offsets = np.zeros(n_states + 1, dtype=np.int64)
            np.cumsum(model.row_offsets[rows + 1] - model.row_offsets[rows], out=offsets[1:])
        # int32 indices where they fit: a fifth less to stream per product
        index_type = np.int32 if n_states <= np.iinfo(np.int32).max else np.int64
        next_state = np.empty(int(offsets[-1]), dtype=index_type)
        weight = np.empty(int(offsets[-1]))
        R_pi = np.empty(n_states)
    with PARALLEL_LOCK:
        compile_loops(model.row_width).gather_rows(
            *model.outcome_arrays,
            np.ascontiguousarray(policy, dtype=np.int64),
            states,
            model.n_actions,
            offsets,
            next_state,
            weight,
            R_pi,
        )
    if into is not None and next_state is into.next_state:
        return into
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
    _rows_product(rows, x, alpha, beta, g, out, np.empty((0, 3)))
    return out


def rows_sweep(rows: SweepModel, V: np.ndarray, gamma: float, out: np.ndarray) -> SweepStats:
    """``out = T_π V`` on gathered rows, and the statistics of ``d = out − V`` (one pass)."""
    stats = np.empty((rows.n_chunks, 3))
    _rows_product(rows, V, 0.0, 1.0, gamma, out, stats)
    return reduce_stats(stats)


def _rows_product(
    rows: SweepModel,
    x: np.ndarray,
    alpha: float,
    beta: float,
    g: float,
    out: np.ndarray,
    stats: np.ndarray,
) -> None:
    with PARALLEL_LOCK:
        compile_loops(rows.row_width).rows_apply(
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
            stats,
        )


def rows_gauss_seidel(
    rows: SweepModel, V: np.ndarray, gamma: float, *, reverse: bool = False
) -> None:
    """A Gauss–Seidel sweep of ``T_π`` in place on rows gathered by :func:`gather_policy_rows`.

    For ``s = 0, 1, …`` (``reverse``: ``S−1, …, 0``),
    ``V(s) ← R_π(s) + γ Σ_s' P_π(s'|s) V(s')`` with the values already updated
    in this sweep; one thread. The same floats as
    :func:`~rl_planners.bellman.kernels.gauss_seidel_sweep` on a one-action
    model, without its maximum over actions or its statistics.
    """
    loops = compile_loops(rows.row_width)
    (loops.rows_gauss_seidel_reverse if reverse else loops.rows_gauss_seidel)(
        rows.row_offsets,
        rows.next_state,
        rows.prob,
        rows.terminated,
        rows.R,
        V,
        float(gamma),
    )
