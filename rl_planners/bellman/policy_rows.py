"""Products with a deterministic policy's rows, on the compiled backend.

For a policy ``π`` ``[S]`` these give ``α x + β R_π + g P_π x``: with
``α = 0, β = 1, g = γ`` the expectation backup ``T_π x = R_π + γ P_π x``, with
``α = 1, β = 0, g = −γ`` the product ``(I − γ P_π) x`` of the linear system
``(I − γ P_π) V = R_π``.

- :func:`policy_apply` reads the policy's rows where they lie in the full model;
- :func:`gather_policy_rows` copies them once into contiguous ``[S]`` rows
  (terminating outcomes folded into zero weights), and :func:`rows_apply`
  then streams only those, ``1/A`` of the model's bytes: the partial
  evaluation sweeps of modified policy iteration and the Krylov products of
  (inexact) policy iteration.
"""

from __future__ import annotations

import numpy as np

from rl_planners.bellman.kernels import SweepModel
from rl_planners.bellman.loops import PARALLEL_LOCK, compile_loops

__all__ = ["gather_policy_rows", "policy_apply", "rows_apply"]


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
    with PARALLEL_LOCK:
        compile_loops(model.row_width).gather_rows(
            *model.outcome_arrays,
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
        )
    return out
