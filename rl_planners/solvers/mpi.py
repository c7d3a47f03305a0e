r"""Modified policy iteration: a greedy step, then ``m`` partial evaluation sweeps."""

from __future__ import annotations

import time

import numpy as np

from rl_planners.bellman import operators
from rl_planners.bellman.operators import sweep_stats
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.solvers.iteration import IterationCallback, StoppingRule, iterate, planning_result
from rl_planners.validation import (
    check_gamma,
    check_int,
    check_max_iterations,
    check_tol,
    check_values,
)

__all__ = ["modified_policy_iteration"]


def modified_policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    m: int = 20,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    V0: np.ndarray | None = None,
    stopping: str | None = None,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    backend: str = "auto",
) -> PlanningResult:
    r"""Modified policy iteration: greedy step, then ``m`` partial evaluation sweeps.

    From ``V_k``: ``π_k`` greedy w.r.t. ``V_k``; ``V_{k+1} = T_{π_k}^{m+1} V_k``
    (the first sweep is ``T V_k``). The stopping rule is value iteration's,
    applied to ``d = T V_k − V_k``, with the same guarantees: for γ < 1,
    ``‖V − V*‖∞ < tol/2`` and an ε-optimal greedy policy. ``m = 0`` is value
    iteration; ``m → ∞`` is policy iteration.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1].
    m : int
        Partial evaluation sweeps per improvement, ``m ≥ 0``.
    tol : float
        ``ε`` of the stopping rule.
    max_iterations : int
        Cap on improvement steps, never overridden.
    V0 : array_like, shape (S,), optional
        Default ``min(0, min R)/(1−γ)`` everywhere for γ < 1 (then
        ``T V0 ≥ V0`` and the iterates increase monotonically to ``V*``,
        Puterman Thm 6.5.5), zeros at γ = 1.
    stopping : {"span", "sup"}, optional
        As in :func:`value_iteration`.
    callback : callable, optional
        ``callback(iteration, residual)`` after every iteration (progress bars).
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`) instead of
        raising ``KeyboardInterrupt``.
    backend : {"auto", "numpy", "compiled"}
        As in :func:`value_iteration`.

    Returns
    -------
    PlanningResult
        ``residuals[k] = ‖T V_k − V_k‖∞``.

    References
    ----------
    Puterman (1994), §6.5.
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    m = check_int(m, "m", 0, "partial evaluation sweeps")
    rule = StoppingRule(gamma, tol, stopping, mdp)
    if V0 is not None:
        V = check_values(mdp, V0, "V0")
    elif gamma < 1.0:
        V = np.full(mdp.n_states, min(0.0, float(mdp.R.min())) / (1.0 - gamma))
    else:
        V = np.zeros(mdp.n_states)

    ops = operators(mdp, backend)
    spare = np.empty_like(V)

    def improve_and_evaluate() -> tuple[bool, float]:
        nonlocal V, spare
        Q = ops.q(V, gamma)
        V_next = Q.max(axis=1)
        stop, residual, V = rule.decide(V_next, sweep_stats(V, V_next))
        if stop or m == 0:
            return stop, residual
        operator = ops.policy(np.argmax(Q, axis=1))
        for _ in range(m):
            V_next = operator.apply(V, gamma, out=spare)
            V, spare = V_next, V
        return stop, residual

    residuals, status = iterate(
        "modified_policy_iteration", improve_and_evaluate, max_iterations, callback, interruptible
    )
    return planning_result(
        ops,
        V,
        gamma,
        residuals=residuals,
        status=status,
        start=start,
        tie_atol=tol if gamma == 1.0 else None,
    )
