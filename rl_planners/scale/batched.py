r"""Value iteration over many small models of the same shape in one array pass.

An :class:`MDPBatch` holds ``B`` models that share ``S`` states and ``A``
actions; :func:`batched_value_iteration` sweeps all of them at once, one
compiled pass (or batched dense product) per iteration instead of ``B``
small solves whose per-call overhead dominates their arithmetic. With ``P_b`` the
continuation matrix of model ``b`` (non-terminating outcomes only) and
``R_b`` its expected reward, every sweep computes, for all ``b`` together,

    ``Q_b = R_b + γ_b P_b V_b``,   ``V_b ← max_a Q_b``,

and each model stops by :func:`rl_planners.solvers.value_iteration`'s
sup-norm rule on its own: ``‖V_{k+1} − V_k‖∞ < ε(1−γ_b)/(2γ_b)``, which gives
``‖V_b − V*_b‖∞ < ε/2`` (Puterman 1994, Thm 6.3.1).

Layouts (:class:`~rl_planners.scale.batch.MDPBatch`): the sparse one is swept by
one compiled pass over the batch (:mod:`rl_planners.scale.batched_kernel`),
the dense one by a batched NumPy product.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes*. Wiley. §6.3, Thm 6.3.1.
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
Introduction*, 2nd ed., §4.4.
"""

from __future__ import annotations

import time

import numpy as np

from rl_planners.mdp import TabularMDP  # noqa: F401  (the doctest's name)
from rl_planners.scale.batch import BatchedPlanningResult, MDPBatch
from rl_planners.scale.batched_kernel import CompiledSweeps
from rl_planners.scale.stopping import (
    batch_gammas,
    greedy_policies,
    raise_if_not_finite,
    stops,
    sup_thresholds,
    warn_unconverged,
)
from rl_planners.validation import check_max_iterations, check_tol

__all__ = ["BatchedPlanningResult", "MDPBatch", "batch_q_values", "batched_value_iteration"]


class _DenseSweeps:
    """Sweeps of the dense layout: ``γ_b P_b`` action-major, ``[n, A*S, S]``, for the kept models.

    Models are dropped from the stack once at most half of those kept still
    run, so the work follows the running models.
    """

    def __init__(self, batch: MDPBatch, gammas: np.ndarray) -> None:
        n_states, n_actions = batch.n_states, batch.n_actions
        by_action = np.arange(n_states * n_actions).reshape(n_states, n_actions).T.reshape(-1)
        self.shape = (n_actions, n_states)
        self.kept = np.arange(batch.n_models)  # batch index of each stacked model
        self.R = np.ascontiguousarray(batch.R.transpose(0, 2, 1))  # [n, A, S]
        self.dense = batch.dense_continuation[:, by_action, :] * gammas[:, None, None]

    def __call__(
        self,
        running: np.ndarray,
        V: np.ndarray,
        V_next: np.ndarray,
        residual: np.ndarray,
        top: np.ndarray,
    ) -> None:
        """As :meth:`~rl_planners.scale.batched_kernel.CompiledSweeps.__call__`, in NumPy."""
        if 2 * int(running.sum()) <= self.kept.size:
            mask = running[self.kept]
            self.kept, self.R, self.dense = self.kept[mask], self.R[mask], self.dense[mask]
        kept = self.kept
        Q = np.matmul(self.dense, V[kept, :, None]).reshape(kept.size, *self.shape)
        with np.errstate(over="ignore", invalid="ignore"):  # reported by the caller
            Q += self.R
            V_next[kept] = Q.max(axis=1)
            residual[kept] = np.abs(V_next[kept] - V[kept]).max(axis=1)
        top[kept] = np.abs(V_next[kept]).max(axis=1)


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
        on that model alone: bit for bit with the sparse layout and that
        function's NumPy backend, the default below 5·10⁵ outcomes (the same
        float64 operations in the same order, see
        :mod:`~rl_planners.scale.batched_kernel`), up to float64 rounding with
        the dense one (there ``γ_b`` multiplies ``P_b`` once, not each
        sweep's ``P_b V``). ``Q[b]`` is
        ``R_b + γ_b P_b V_b`` of the returned values and ``policy[b]`` its
        greedy policy (:func:`rl_planners.bellman.greedy_policy`: ties within
        float64 rounding to the lowest index; at γ_b = 1, ties within ``tol``,
        to an action that keeps the episode terminating).

    Raises
    ------
    TypeError, ValueError
        Bad ``batch``, ``gamma`` (the model is named), ``tol`` or ``max_iterations``.
    NonFiniteValueError
        A value that overflows float64 (the model, state and sweep are named);
        a ``ValueError``.

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
    ``max|V_{b,k+1}|``. Models that have stopped are no longer swept (the
    compiled sweep skips their rows; the dense one drops them once at most
    half of its models run), so the work follows the models still running.

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
    if batch.continuation is not None:
        sweep_batch = CompiledSweeps(batch.continuation, batch.R, gammas)
    else:
        sweep_batch = _DenseSweeps(batch, gammas)
    running = np.ones(n_models, dtype=bool)  # [B] the models still sweeping
    V = np.zeros((n_models, batch.n_states))  # [B, S]; rows of stopped models go stale
    V_next = np.zeros_like(V)
    residual, top = np.zeros(n_models), np.zeros(n_models)
    for sweep in range(1, max_iterations + 1):
        sweep_batch(running, V, V_next, residual, top)
        if not np.isfinite(residual[running]).all():
            rows = np.flatnonzero(running)
            raise_if_not_finite(V_next[rows], rows, sweep)
        V, V_next = V_next, V
        done = running & stops(residual, top, thresholds)
        if done.any():
            V_out[done] = V[done]
            iterations[done] = sweep
            converged[done] = True
            running &= ~done
            if not running.any():
                break
    else:
        V_out[running] = V[running]
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
