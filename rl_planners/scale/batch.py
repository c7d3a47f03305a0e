r"""A batch of tabular models that share their numbers of states and actions, and its result.

Layouts. The continuation matrices are stored either as one block-diagonal
CSR matrix ``[B*S*A, B*S]`` (swept by a compiled pass, rows padded to the
widest: :mod:`rl_planners.scale.batched_kernel`) or as a stacked dense array
``[B, S*A, S]`` (swept by a batched NumPy product). A sweep streams the
whole of it, so its time follows its bytes (``benchmarks/batched.py``
measures one against the streaming floor): ``layout="auto"`` takes the
layout with fewer bytes, 12 per stored CSR entry (value and int32 column)
against 8 per dense entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from rl_planners.mdp import TabularMDP

__all__ = ["BatchedPlanningResult", "MDPBatch", "read_only"]

LAYOUTS = ("auto", "sparse", "dense")

_CSR_BYTES_PER_ENTRY = 12
"""A float64 value and an int32 column index per stored entry."""


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only (it must be the caller's own)."""
    array.setflags(write=False)
    return array


# ------------------------------------------------------------------- the batch
@dataclass(frozen=True, eq=False)
class MDPBatch:
    """``B`` tabular models that share their numbers of states and actions.

    Parameters
    ----------
    models : sequence of TabularMDP
        At least one; all with the same ``n_states`` and ``n_actions``. The
        same model may appear several times (e.g. to solve it at several γ).
    layout : {"auto", "sparse", "dense"}
        How the continuation matrices are held (module docstring). ``"auto"``:
        the one with fewer bytes to stream per sweep.

    Attributes
    ----------
    models : tuple of TabularMDP
        The models, in batch order (immutable themselves).
    layout : str
        ``"sparse"`` or ``"dense"``, as chosen.
    R : numpy.ndarray
        ``[B, S, A]`` expected rewards ``R_b(s, a)``.
    continuation : scipy.sparse.csr_matrix or None
        ``[B*S*A, B*S]`` block-diagonal: row ``b*S*A + s*A + a``, column
        ``b*S + s'`` holds ``P_b,cont(s'|s,a)``. None for the dense layout.
    dense_continuation : numpy.ndarray or None
        ``[B, S*A, S]``, the same probabilities; None for the sparse layout.

    Raises
    ------
    ValueError
        No models, a model that is not a TabularMDP, models of different
        shapes (the index of the first that differs from model 0 is named), or
        an unknown layout.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [2.0]])
    >>> batch = MDPBatch([mdp, mdp, mdp])
    >>> batch.n_models, batch.n_states, batch.n_actions, batch.layout
    (3, 2, 1, 'sparse')
    """

    models: tuple[TabularMDP, ...]
    layout: str = "auto"
    R: np.ndarray = field(init=False, repr=False)
    continuation: sp.csr_matrix | None = field(init=False, repr=False)
    dense_continuation: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.models, TabularMDP) or not isinstance(self.models, Sequence):
            raise TypeError(
                f"models must be a sequence of TabularMDP, got {type(self.models).__name__}"
            )
        models = tuple(self.models)
        if not models:
            raise ValueError("an MDPBatch needs at least one model, got an empty sequence")
        for index, model in enumerate(models):
            if not isinstance(model, TabularMDP):
                raise TypeError(
                    f"models must be TabularMDP instances; got {type(model).__name__} at "
                    f"index {index} (build it with TabularMDP.from_env or from_transitions)"
                )
        n_states, n_actions = models[0].n_states, models[0].n_actions
        for index, model in enumerate(models):
            if (model.n_states, model.n_actions) != (n_states, n_actions):
                raise ValueError(
                    f"every model of a batch must have the shape of model 0 ({n_states} "
                    f"states, {n_actions} actions); model {index} has {model.n_states} "
                    f"states and {model.n_actions} actions; batch models of one shape only"
                )
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        layout = self.layout
        if layout == "auto":
            stored = sum(model.continuation.nnz for model in models)
            dense_bytes = 8 * len(models) * n_states * n_actions * n_states
            layout = "dense" if dense_bytes < _CSR_BYTES_PER_ENTRY * stored else "sparse"
        R = read_only(np.stack([model.R for model in models]))  # [B, S, A], a new array
        continuation, dense = None, None
        if layout == "sparse":
            continuation = _block_diagonal([model.continuation for model in models], n_states)
        else:
            dense = read_only(np.stack([model.continuation.toarray() for model in models]))
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "continuation", continuation)
        object.__setattr__(self, "dense_continuation", dense)

    @property
    def n_models(self) -> int:
        """``B``, the number of models."""
        return len(self.models)

    @property
    def n_states(self) -> int:
        """``S``, shared by every model."""
        return self.models[0].n_states

    @property
    def n_actions(self) -> int:
        """``A``, shared by every model."""
        return self.models[0].n_actions

    def __repr__(self) -> str:
        return (
            f"MDPBatch(n_models={self.n_models}, n_states={self.n_states}, "
            f"n_actions={self.n_actions}, layout={self.layout!r})"
        )


def _block_diagonal(blocks: Sequence[sp.csr_matrix], n_states: int) -> sp.csr_matrix:
    """One CSR matrix with ``blocks[b]`` at rows ``b*rows`` and columns ``b*n_states``."""
    n_rows = blocks[0].shape[0]
    counts = np.array([block.nnz for block in blocks], dtype=np.int64)
    data = np.concatenate([block.data for block in blocks]).astype(np.float64)
    shift = np.repeat(np.arange(len(blocks), dtype=np.int64) * n_states, counts)
    indices = np.concatenate([block.indices for block in blocks]) + shift
    nnz_before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    indptr = np.concatenate(
        [block.indptr[:-1] + first for block, first in zip(blocks, nnz_before, strict=True)]
        + [[counts.sum()]]
    )
    size = len(blocks)
    index_type = np.int32 if size * max(n_rows, n_states) < 2**31 else np.int64
    matrix = sp.csr_matrix(
        (data, indices.astype(index_type), indptr.astype(index_type)),
        shape=(size * n_rows, size * n_states),
    )
    for array in (matrix.data, matrix.indices, matrix.indptr):
        array.setflags(write=False)
    return matrix


# ------------------------------------------------------------------ the result
@dataclass(frozen=True, eq=False)
class BatchedPlanningResult:
    """What :func:`batched_value_iteration` returns; entry ``b`` belongs to model ``b``.

    Attributes
    ----------
    V : numpy.ndarray
        ``[B, S]`` state values.
    Q : numpy.ndarray
        ``[B, S, A]`` action values of ``V``: ``Q_b = R_b + γ_b P_b V_b``.
    policy : numpy.ndarray
        ``[B, S]`` int64 greedy policies.
    iterations : numpy.ndarray
        ``[B]`` int64 sweeps each model took to meet its stopping rule (or the cap).
    converged : numpy.ndarray
        ``[B]`` bool, whether each model met its stopping rule.
    gamma : numpy.ndarray
        ``[B]`` float64 discount of each model.
    wall_time : float
        Seconds spent in the solver, for the whole batch.
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    gamma: np.ndarray
    wall_time: float

    def __post_init__(self) -> None:
        for name in ("V", "Q", "policy", "iterations", "converged", "gamma"):
            object.__setattr__(self, name, read_only(np.array(getattr(self, name))))

    def __repr__(self) -> str:
        return (
            f"BatchedPlanningResult(n_models={self.V.shape[0]}, n_states={self.V.shape[1]}, "
            f"converged={int(self.converged.sum())}/{self.converged.size}, "
            f"max_iterations={int(self.iterations.max())}, wall_time={self.wall_time:.4f}s)"
        )
