r"""Value iteration over many small models of the same shape in one array pass.

An :class:`MDPBatch` holds ``B`` models that share ``S`` states and ``A``
actions; :func:`batched_value_iteration` sweeps all of them at once, one
sparse (or batched dense) product per iteration instead of ``B`` small ones
whose per-call overhead dominates their arithmetic. With ``P_b`` the
continuation matrix of model ``b`` (non-terminating outcomes only) and
``R_b`` its expected reward, every sweep computes, for all ``b`` together,

    ``Q_b = R_b + γ_b P_b V_b``,   ``V_b ← max_a Q_b``,

and each model stops by :func:`rl_planners.solvers.value_iteration`'s
sup-norm rule on its own: ``‖V_{k+1} − V_k‖∞ < ε(1−γ_b)/(2γ_b)``, which gives
``‖V_b − V*_b‖∞ < ε/2`` (Puterman 1994, Thm 6.3.1).

Layouts. The continuation matrices are stored either as one block-diagonal
CSR matrix ``[B*S*A, B*S]`` or as a stacked dense array ``[B, S*A, S]``.
A sweep streams the whole of it, so its time follows its bytes: measured
(1,000 models, S ≤ 64, A ≤ 4) the CSR product beat the batched dense one
wherever it had fewer bytes (64-state FrozenLake maps: 0.75 ms against
11.5 ms a sweep) and lost where it had more (fully dense 16-state models:
0.93 ms against 0.37 ms). ``layout="auto"`` therefore takes the layout with
fewer bytes: 12 per stored CSR entry (value and int32 column) against 8 per
dense entry.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes*. Wiley. §6.3, Thm 6.3.1.
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
Introduction*, 2nd ed., §4.4.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import greedy_policy
from rl_planners.errors import ConvergenceWarning
from rl_planners.mdp import TabularMDP
from rl_planners.validation import check_gamma, check_max_iterations, check_tol

__all__ = ["BatchedPlanningResult", "MDPBatch", "batched_value_iteration"]

_LAYOUTS = ("auto", "sparse", "dense")

_CSR_BYTES_PER_ENTRY = 12
"""A float64 value and an int32 column index per stored entry."""

_ROUNDING_ULPS = 8.0
"""A change within this many float64 units of ``max|V_b|`` counts as converged
(as in :func:`rl_planners.solvers.value_iteration`)."""


def _read_only(array: np.ndarray) -> np.ndarray:
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
        if self.layout not in _LAYOUTS:
            raise ValueError(f"layout must be one of {_LAYOUTS}, got {self.layout!r}")
        layout = self.layout
        if layout == "auto":
            stored = sum(model.continuation.nnz for model in models)
            dense_bytes = 8 * len(models) * n_states * n_actions * n_states
            layout = "dense" if dense_bytes < _CSR_BYTES_PER_ENTRY * stored else "sparse"
        R = _read_only(np.stack([model.R for model in models]))  # [B, S, A], a new array
        continuation, dense = None, None
        if layout == "sparse":
            continuation = _block_diagonal([model.continuation for model in models], n_states)
        else:
            dense = _read_only(np.stack([model.continuation.toarray() for model in models]))
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
            object.__setattr__(self, name, _read_only(np.array(getattr(self, name))))

    def __repr__(self) -> str:
        return (
            f"BatchedPlanningResult(n_models={self.V.shape[0]}, n_states={self.V.shape[1]}, "
            f"converged={int(self.converged.sum())}/{self.converged.size}, "
            f"max_iterations={int(self.iterations.max())}, wall_time={self.wall_time:.4f}s)"
        )


# ------------------------------------------------------------ argument checks
def batch_gammas(batch: MDPBatch, gamma: Any) -> np.ndarray:
    """``[B]`` float64 discounts from one number or one per model, each in [0, 1].

    Raises
    ------
    TypeError, ValueError
        A non-number, a vector of the wrong length, or a discount outside
        [0, 1] (the model index is named).
    """
    if np.ndim(gamma) == 0:
        return np.full(batch.n_models, check_gamma(gamma))
    try:
        gammas = np.array(gamma, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"gamma must be a number or an array of {batch.n_models} numbers, got {gamma!r}"
        ) from error
    if gammas.shape != (batch.n_models,):
        raise ValueError(
            f"gamma must be a number or have shape ({batch.n_models},) (one per model), "
            f"got shape {gammas.shape}"
        )
    bad = np.flatnonzero(~((gammas >= 0.0) & (gammas <= 1.0)))  # NaN fails both
    if bad.size:
        raise ValueError(
            f"gamma must lie in [0, 1]; got {gammas[bad[0]].item()!r} for model {bad[0]}"
        )
    return gammas


def sup_thresholds(gammas: np.ndarray, tol: float) -> np.ndarray:
    """``[B]`` the sup-norm stopping thresholds ``ε(1−γ_b)/(2γ_b)``.

    ``∞`` at γ = 0 (one sweep gives ``V* = max_a R``) and ``ε`` at γ = 1
    (no contraction bound; as :func:`rl_planners.solvers.value_iteration`).
    """
    with np.errstate(divide="ignore"):
        thresholds = tol * (1.0 - gammas) / (2.0 * gammas)
    thresholds[gammas == 0.0] = np.inf
    thresholds[gammas == 1.0] = tol
    return thresholds


def stops(residual: np.ndarray, top: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``[n]`` whether each model's sweep meets its rule.

    ``‖d_b‖∞ < threshold_b``, or ``‖d_b‖∞`` within float64 rounding of
    ``max|V_b|`` (:data:`_ROUNDING_ULPS` units), the closest float64 gets.
    """
    rounding = _ROUNDING_ULPS * np.finfo(np.float64).eps * np.maximum(1.0, top)
    return (residual < thresholds) | (residual <= rounding)


def raise_if_not_finite(V: np.ndarray, models: np.ndarray, sweep: int) -> None:
    """Raise ``ValueError`` naming the first model and state of ``V [n, S]`` that is not finite.

    ``models[i]`` is the batch index of row ``i``.
    """
    bad = np.argwhere(~np.isfinite(V))
    if bad.size:
        row, state = bad[0]
        raise ValueError(
            f"value iteration produced a non-finite value {V[row, state].item()!r} at model "
            f"{models[row]}, state {state} in sweep {sweep}: the values overflow float64; "
            "rescale that model's rewards (or lower its gamma)"
        )


def greedy_policies(batch: MDPBatch, Q: np.ndarray, gammas: np.ndarray, tol: float) -> np.ndarray:
    """``[B, S]`` :func:`rl_planners.bellman.greedy_policy` of each model's ``Q_b``.

    Ties within float64 rounding go to the lowest index; at γ_b = 1 ties are
    actions within ``tol`` and go to one that keeps the episode terminating,
    exactly as :func:`rl_planners.solvers.value_iteration` chooses. One
    vectorised call per model (a loop over models, not states).
    """
    return np.stack(
        [
            greedy_policy(model, Q_b, gamma, atol=tol if gamma == 1.0 else None)
            for model, Q_b, gamma in zip(batch.models, Q, gammas.tolist(), strict=True)
        ]
    )


def warn_unconverged(converged: np.ndarray, max_iterations: int, solver: str) -> None:
    """A :class:`ConvergenceWarning` naming the models that hit the cap, if any."""
    stuck = np.flatnonzero(~converged)
    if stuck.size:
        shown = ", ".join(map(str, stuck[:10])) + (" ..." if stuck.size > 10 else "")
        warnings.warn(
            f"{solver} stopped {stuck.size} model(s) at max_iterations={max_iterations} "
            f"before they met their stopping rule: {shown}; their results are not "
            "converged. Raise max_iterations or tol.",
            ConvergenceWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------- the sweeps
class _Sweeps:
    """The scaled continuation ``γ_b P_b`` of the models still sweeping, action-major.

    Rows of model ``i`` (its position among those kept) are ``i*A*S + a*S + s``
    and its columns ``i*S + s'``, so that ``max_a`` reads contiguous memory
    and the values of the kept models are one ``[n, S]`` array. :meth:`keep`
    drops the models that no longer need sweeping.
    """

    def __init__(self, batch: MDPBatch, gammas: np.ndarray) -> None:
        n_models, n_states, n_actions = batch.n_models, batch.n_states, batch.n_actions
        self.n_states, self.n_actions = n_states, n_actions
        by_action = np.arange(n_states * n_actions).reshape(n_states, n_actions).T.reshape(-1)
        self.R = np.ascontiguousarray(batch.R.transpose(0, 2, 1))  # [n, A, S]
        if batch.continuation is not None:
            rows = (np.arange(n_models)[:, None] * (n_states * n_actions) + by_action).reshape(-1)
            matrix = batch.continuation[rows]  # a new matrix, action-major
            per_row = np.repeat(gammas, n_states * n_actions)
            matrix.data *= np.repeat(per_row, np.diff(matrix.indptr))
            self.matrix, self.dense = matrix, None
        else:
            self.matrix = None
            self.dense = batch.dense_continuation[:, by_action, :] * gammas[:, None, None]

    def backup(self, V: np.ndarray) -> np.ndarray:
        """``[n, S]`` ``max_a (R_b + γ_b P_b V_b)`` for the kept models' ``V [n, S]``."""
        n = V.shape[0]
        if self.matrix is not None:
            Q = (self.matrix @ V.reshape(-1)).reshape(n, self.n_actions, self.n_states)
        else:
            Q = np.matmul(self.dense, V[:, :, None]).reshape(n, self.n_actions, self.n_states)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by the caller
            Q += self.R
            return Q.max(axis=1)

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the models ``mask`` marks (``[n]`` bool), in order."""
        self.R = self.R[mask]
        if self.dense is not None:
            self.dense = self.dense[mask]
            return
        block = self.n_states * self.n_actions
        kept = np.flatnonzero(mask)
        rows = (kept[:, None] * block + np.arange(block)).reshape(-1)
        matrix = self.matrix[rows]
        position = np.repeat(np.arange(kept.size), block)  # the new model of each row
        old_first = np.repeat(kept * self.n_states, block)
        shift = np.repeat(position * self.n_states - old_first, np.diff(matrix.indptr))
        matrix.indices += shift.astype(matrix.indices.dtype)
        self.matrix = sp.csr_matrix(
            (matrix.data, matrix.indices, matrix.indptr),
            shape=(kept.size * block, kept.size * self.n_states),
        )


def batched_value_iteration(
    batch: MDPBatch,
    gamma: float | np.ndarray,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
) -> BatchedPlanningResult:
    r"""Value iteration on every model of a batch at once.

    ``V_{b,k+1}(s) = max_a [R_b(s,a) + γ_b Σ_s' P_b,cont(s'|s,a) V_{b,k}(s')]``
    from ``V_{b,0} = 0``, one vectorised sweep over all models still sweeping.

    Parameters
    ----------
    batch : MDPBatch
    gamma : float or array_like, shape (B,)
        One discount in [0, 1] for all models or one per model (one model at
        many discounts: a batch of that model repeated, with a γ vector).
    tol : float
        ``ε``: for γ_b < 1, ``‖V_b − V*_b‖∞ < ε/2`` and the greedy policy is
        ε-optimal, ``‖V^π_b − V*_b‖∞ < ε``.
    max_iterations : int
        Sweep cap for every model, never overridden.

    Returns
    -------
    BatchedPlanningResult
        ``V[b]`` is the sweep at which model ``b`` met its stopping rule: a
        model is frozen (no longer swept) once it has, so its ``V[b]``,
        ``iterations[b]`` and ``converged[b]`` are exactly those of
        :func:`rl_planners.solvers.value_iteration` with ``stopping="sup"``
        on that model alone (up to float64 rounding: here ``γ_b`` multiplies
        ``P_b`` once, there each sweep's ``P_b V``). ``Q[b]`` is
        ``R_b + γ_b P_b V_b`` of the returned values and ``policy[b]`` its
        greedy policy (:func:`rl_planners.bellman.greedy_policy`: ties within
        float64 rounding to the lowest index; at γ_b = 1, ties within ``tol``,
        to an action that keeps the episode terminating).

    Raises
    ------
    TypeError, ValueError
        Bad ``batch``, ``gamma`` (the model is named), ``tol`` or ``max_iterations``.
    ValueError
        A value that overflows float64 (the model, state and sweep are named).

    Warns
    -----
    ConvergenceWarning
        If some models hit ``max_iterations`` (they are named); their
        ``converged`` is False and their ``V`` the last sweep's.

    Notes
    -----
    Stopping rule of model ``b``, with ``d_b = V_{b,k+1} − V_{b,k}``:
    ``‖d_b‖∞ < ε(1−γ_b)/(2γ_b)`` (Puterman 1994, Thm 6.3.1), ``∞`` at γ_b = 0
    and ``ε`` at γ_b = 1; or ``‖d_b‖∞`` within 8 float64 units of
    ``max|V_{b,k+1}|``. Models that have stopped are dropped from the sweep
    matrix whenever at most half of those still in it need sweeping, so the
    work follows the models still running.

    References
    ----------
    Puterman (1994), §6.3; Sutton & Barto (2018), §4.4.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [2.0]])
    >>> result = batched_value_iteration(MDPBatch([mdp, mdp]), [0.5, 0.75])
    >>> result.V.round(6)
    array([[2., 4.],
           [4., 8.]])
    """
    start = time.perf_counter()
    if not isinstance(batch, MDPBatch):
        raise TypeError(
            f"batch must be an MDPBatch, got {type(batch).__name__}; build one with "
            "MDPBatch([mdp, ...])"
        )
    gammas = batch_gammas(batch, gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    thresholds = sup_thresholds(gammas, tol)
    n_models = batch.n_models

    V_out = np.zeros((n_models, batch.n_states))  # [B, S]
    iterations = np.full(n_models, max_iterations, dtype=np.int64)
    converged = np.zeros(n_models, dtype=bool)
    sweeps = _Sweeps(batch, gammas)
    in_matrix = np.arange(n_models)  # batch index of each model in the sweep matrix
    pending = np.ones(n_models, dtype=bool)  # [n] which of those still sweep
    V = np.zeros((n_models, batch.n_states))  # [n, S]
    for sweep in range(1, max_iterations + 1):
        V_next = sweeps.backup(V)
        with np.errstate(invalid="ignore"):  # inf - inf: reported just below
            residual = np.abs(V_next - V).max(axis=1)
        if not np.isfinite(residual[pending]).all():
            raise_if_not_finite(V_next[pending], in_matrix[pending], sweep)
        done = pending & stops(residual, np.abs(V_next).max(axis=1), thresholds[in_matrix])
        V = V_next
        if done.any():
            finished = in_matrix[done]
            V_out[finished] = V[done]
            iterations[finished] = sweep
            converged[finished] = True
            pending &= ~done
            n_pending = int(pending.sum())
            if n_pending == 0:
                break
            if 2 * n_pending <= pending.size:
                sweeps.keep(pending)
                in_matrix, V = in_matrix[pending], V[pending]
                pending = np.ones(n_pending, dtype=bool)
    else:
        V_out[in_matrix[pending]] = V[pending]
        warn_unconverged(converged, max_iterations, "batched_value_iteration")

    Q = batch_q_values(batch, V_out, gammas)
    return BatchedPlanningResult(
        V=V_out,
        Q=Q,
        policy=greedy_policies(batch, Q, gammas, tol),
        iterations=iterations,
        converged=converged,
        gamma=gammas,
        wall_time=time.perf_counter() - start,
    )


def batch_q_values(batch: MDPBatch, V: np.ndarray, gammas: np.ndarray) -> np.ndarray:
    """``[B, S, A]`` action values ``Q_b = R_b + γ_b P_b V_b`` of ``V [B, S]``."""
    n_models, n_states, n_actions = batch.n_models, batch.n_states, batch.n_actions
    if batch.continuation is not None:
        PV = batch.continuation @ V.reshape(-1)
    else:
        PV = np.matmul(batch.dense_continuation, V[:, :, None])
    Q = PV.reshape(n_models, n_states, n_actions) * gammas[:, None, None]
    Q += batch.R
    return Q
