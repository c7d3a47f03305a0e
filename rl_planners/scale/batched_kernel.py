r"""One compiled sweep of value iteration over every running model of a batch (numba).

Layout. The block-diagonal continuation of an
:class:`~rl_planners.scale.batch.MDPBatch` is repacked once per solve with
every row padded to the batch's widest row, ``K`` entries (ELLPACK):
``prob [B·S·A, K]`` float64 and ``column [B·S·A, K]`` the next state within
the model (uint8, uint16 or int32: the smallest that holds ``S``), padding
with probability 0 and column 0. A sweep then reads them in order, row
``b·S·A + s·A + a`` after row, each row a loop of constant length (compiled
for that ``K`` and unrolled up to :data:`MAX_UNROLLED_WIDTH`): no row
offsets to read and no loop exit to mispredict, which on 8×8 FrozenLake maps
(rows of 1 to 3 entries) made a sweep twice as fast as the CSR loop. Each
model's ``V_b`` (``S`` values) stays in cache. The padding is paid for in
memory and time, ``B·S·A·K`` slots in all: a batch with a few rows much
wider than the rest is better served by ``MDPBatch(..., layout="dense")``
when its models are small.

One pass computes, for every model ``b`` still running,

    ``V'_b(s) = max_a [ (Σ_k prob_k V_b(column_k)) · γ_b + R_b(s, a) ]``,

its sup-norm change ``‖V'_b − V_b‖∞`` and ``max_s |V'_b(s)|``, with the sum
over the row's stored entries in order (a padding entry adds ``+0.0``), then
scaled by ``γ_b`` and added to ``R_b``: the float64 operations of
:func:`rl_planners.bellman.optimality_backup` on that model alone, in its
order, so a model swept here gets that function's values bit for bit.
Models that have stopped are skipped (their rows are not read).

numba is imported, and the kernel compiled (or loaded from numba's on-disk
cache), on the first solve only.
"""

from __future__ import annotations

import functools
import types
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["MAX_UNROLLED_WIDTH", "CompiledSweeps"]

MAX_UNROLLED_WIDTH = 8
"""Rows up to this many entries get a kernel compiled for their width."""


class CompiledSweeps:
    """The padded arrays of one solve, and its sweep over the running models.

    Parameters
    ----------
    continuation : scipy.sparse.csr_matrix
        ``[B·S·A, B·S]`` block-diagonal (row ``b·S·A + s·A + a``, column ``b·S + s'``).
    R : numpy.ndarray
        ``[B, S, A]`` expected rewards.
    gammas : numpy.ndarray
        ``[B]`` discounts.

    Attributes
    ----------
    arrays : tuple of numpy.ndarray
        What every sweep reads in full: ``prob``, ``column``, ``R`` (for the
        streaming floor of ``benchmarks/batched.py``).
    """

    def __init__(self, continuation: sp.csr_matrix, R: np.ndarray, gammas: np.ndarray) -> None:
        n_models, n_states, n_actions = R.shape
        counts = np.diff(continuation.indptr)
        width = max(int(counts.max(initial=0)), 1)
        n_rows = counts.size
        slot = np.arange(continuation.nnz) - np.repeat(continuation.indptr[:-1], counts)
        row = np.repeat(np.arange(n_rows), counts)
        first_column = np.repeat(np.arange(n_models) * n_states, n_states * n_actions)
        prob = np.zeros((n_rows, width))  # [B*S*A, K]
        prob[row, slot] = continuation.data
        column = np.zeros((n_rows, width), dtype=np.min_scalar_type(n_states - 1))
        column[row, slot] = continuation.indices - first_column[row]
        self.arrays = (prob, column, np.ascontiguousarray(R, dtype=np.float64))
        self.gammas = gammas
        self._kernel = _compiled(width if width <= MAX_UNROLLED_WIDTH else 0)

    def __call__(
        self,
        running: np.ndarray,
        V: np.ndarray,
        V_next: np.ndarray,
        residual: np.ndarray,
        top: np.ndarray,
    ) -> None:
        """One sweep of the models ``running [B]`` marks, from ``V [B, S]``.

        Fills, for those models only, ``V_next [B, S]``, ``residual [B]``
        (``‖V'_b − V_b‖∞``) and ``top [B]`` (``max_s |V'_b(s)|``); NaN or
        ``inf`` where a value overflows.
        """
        prob, column, R = self.arrays
        self._kernel(prob, column, R, self.gammas, running, V, V_next, residual, top)


# Plain Python; `_compiled` compiles it with numba, `_WIDTH` a compile-time
# constant (0: the width of the arrays).
_WIDTH = 0


def _sweep_kernel(prob, column, R, gammas, running, V, V_next, residual, top):
    n_models, n_states, n_actions = R.shape
    width = _WIDTH if _WIDTH > 0 else prob.shape[1]
    for b in range(n_models):
        if not running[b]:
            continue
        gamma = gammas[b]
        V_b, R_b, V_next_b = V[b], R[b], V_next[b]
        change = 0.0
        largest = 0.0
        for s in range(n_states):
            row = (b * n_states + s) * n_actions
            best = -np.inf
            for a in range(n_actions):
                future = 0.0
                for k in range(width):
                    future += prob[row + a, k] * V_b[column[row + a, k]]
                q = future * gamma + R_b[s, a]
                if best == best and not q <= best:  # q > best or NaN; NaN sticks (np.max)
                    best = q
            V_next_b[s] = best
            step, size = abs(best - V_b[s]), abs(best)
            if change == change and not step <= change:
                change = step
            if largest == largest and not size <= largest:
                largest = size
        residual[b] = change
        top[b] = largest


@functools.cache
def _compiled(width: int) -> Any:
    """Import numba and compile the kernel for rows of ``width`` entries (0: any), or load it."""
    import numba

    scope = dict(globals(), _WIDTH=width)
    copy = types.FunctionType(_sweep_kernel.__code__, scope, _sweep_kernel.__name__)
    # numba's on-disk cache is keyed by qualified name and bytecode: the width goes in the name.
    copy.__qualname__ = f"_sweep_kernel_width{width}"
    return numba.njit(cache=True, nogil=True, error_model="numpy")(copy)
