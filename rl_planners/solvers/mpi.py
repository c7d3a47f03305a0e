r"""Modified policy iteration: a greedy step, then ``m`` partial evaluation sweeps."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from rl_planners.bellman import operators
from rl_planners.bellman.operators import PolicyOperator, SweepStats
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.solvers.iteration import IterationCallback, StoppingRule, iterate, planning_result
from rl_planners.solvers.vi import SWEEP_METHODS
from rl_planners.validation import (
    check_choice,
    check_gamma,
    check_int,
    check_max_iterations,
    check_tol,
    check_values,
)

__all__ = ["FORCING", "modified_policy_iteration"]

FORCING = 0.01
"""The evaluation sweeps of one improvement stop once a sweep changes ``V`` by
this fraction of the improvement's own change (as the stopping rule measures)."""


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
    method: str = "jacobi",
    backend: str = "auto",
) -> PlanningResult:
    r"""Modified policy iteration: greedy step, then ``m`` partial evaluation sweeps.

    From ``V_k``: ``π_k`` greedy w.r.t. ``V_k``; ``V_{k+1} = T_{π_k}^{m_k+1} V_k``
    (the first sweep is ``T V_k``), ``1 ≤ m_k ≤ m``. The stopping rule is
    value iteration's, applied to ``d = T V_k − V_k``, with the same
    guarantees: for γ < 1, ``‖V − V*‖∞ < tol/2`` and an ε-optimal greedy
    policy. ``m = 0`` is value iteration.

    ``m_k`` is ``m`` unless the evaluation has done its part sooner: the
    (Jacobi) sweeps stop once one changes ``V`` by at most :data:`FORCING`
    ``= 1/100`` of ``d_k`` (or by less than the stopping rule's threshold),
    both measured as the stopping rule measures ``d`` (its span, or its sup
    norm). Further sweeps would move ``V`` by less than the next greedy step
    will, a forcing term as in inexact policy iteration (Gargiani et al.
    2024). Puterman's convergence results (Thm 6.5.5, 6.5.7) hold for any
    orders ``m_k ≥ 1``: the guarantees above do not depend on them. On a
    10⁶-state Garnet the forcing term cuts the evaluation sweeps from 140 to
    60 for one more improvement (``benchmarks/RESULTS.md``). Gauss–Seidel
    evaluation sweeps (``method``) always run all ``m``: stopped the same way
    on a 1000 × 1000 grid, they cost more improvements than they saved sweeps.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1].
    m : int
        Partial evaluation sweeps per improvement at most, ``m ≥ 0``.
    tol : float
        ``ε`` of the stopping rule.
    max_iterations : int
        Cap on iterations (improvement steps, and with Gauss–Seidel the
        certifying sweeps), never overridden.
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
    method : {"jacobi", "gauss-seidel"}
        ``"jacobi"``: the sweeps above. ``"gauss-seidel"`` (needs numba, one
        core): the greedy step is an in-place Gauss–Seidel sweep of ``T``
        (:func:`value_iteration`'s), which records each state's maximising
        action ``π_k(s)`` as it backs the state up, and the ``m`` evaluation
        sweeps are in-place sweeps of ``T_{π_k}`` over the policy's gathered
        rows, each about ``1/A`` of a full sweep; the directions alternate
        from sweep to sweep. From the default ``V0`` every sweep keeps ``V``
        a subsolution below ``V*`` (a state's new value is ``Q(s, π_k(s))``
        of values no larger than the new ones, so ``V ≤ T_{π_k} V ≤ T V``)
        and the iterates increase monotonically to ``V*``, at least as fast
        as Gauss–Seidel value iteration's. The stop is Gauss–Seidel value
        iteration's: once a greedy sweep's change meets the rule, a Jacobi
        sweep ``T V`` certifies it (its own iteration), with the guarantees
        above; else the solve goes on from ``T V``. It pays where
        Gauss–Seidel value iteration does (grids numbered along the flow of
        values: a 1000 × 1000 slippery grid, ``benchmarks/RESULTS.md``), not
        on fast-mixing models.
    backend : {"auto", "numpy", "compiled"}
        As in :func:`value_iteration`.

    Returns
    -------
    PlanningResult
        ``residuals[k] = ‖T V_k − V_k‖∞`` (Gauss–Seidel: the change of the
        iteration's first sweep); ``backups`` and ``policy_products`` count
        the full and the policy sweeps.

    References
    ----------
    Puterman (1994), §6.5 (modified policy iteration) and §6.3.3 (Gauss–Seidel).
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    m = check_int(m, "m", 0, "partial evaluation sweeps")
    check_choice(method, "method", SWEEP_METHODS)
    gauss_seidel = method == "gauss-seidel"
    ops = operators(mdp, backend, gauss_seidel=gauss_seidel)
    rule = StoppingRule(gamma, tol, stopping, ops=ops)
    if V0 is not None:
        V = check_values(mdp, V0, "V0")
    elif gamma < 1.0:
        V = np.full(mdp.n_states, min(0.0, float(mdp.R.min())) / (1.0 - gamma))
    else:
        V = np.zeros(mdp.n_states)
    spare = np.empty_like(V)
    actions = np.zeros(mdp.n_states, dtype=np.int64)  # π_k, written by the greedy sweep
    operator: PolicyOperator | None = None
    certify = False  # Gauss–Seidel: the last greedy sweep met the rule; a Jacobi sweep checks
    reverse = False  # the direction of the next Gauss–Seidel sweep

    def improve_and_evaluate() -> tuple[bool, float]:
        nonlocal V, spare, operator, certify, reverse
        if gauss_seidel and not certify:
            stats = ops.gauss_seidel(V, gamma, reverse=reverse, policy=actions)
            reverse = not reverse
            certify, residual, _ = rule.decide(V, stats)
            if certify or m == 0:
                return False, residual
            operator = ops.policy(actions, previous=operator)
            for _ in range(m):
                operator.gauss_seidel(V, gamma, reverse=reverse)
                reverse = not reverse
            return False, residual
        stats = ops.backup(V, gamma, spare, policy=actions)  # T V and its greedy policy
        V, spare = spare, V
        stop, residual, V = rule.decide(V, stats)
        if stop or m == 0 or certify:
            certify = False
            return stop, residual
        operator = ops.policy(actions, previous=operator)
        enough = evaluated_enough(stats)
        for _ in range(m):
            inner = operator.sweep(V, gamma, spare)
            V, spare = spare, V
            if enough(inner):
                break
        return stop, residual

    def evaluated_enough(improvement: SweepStats) -> Callable[[tuple[float, float]], bool]:
        """Whether an evaluation sweep's change is below the forcing target (docstring)."""
        target = max(FORCING * rule.measure(improvement), rule.threshold)
        return lambda inner: rule.measure_extremes(*inner) <= target

    residuals, status = iterate(
        "modified_policy_iteration", improve_and_evaluate, max_iterations, callback, interruptible
    )
    spare = operator = None  # free the sweeps' buffers before the final greedy pass
    return planning_result(
        ops,
        V,
        gamma,
        residuals=residuals,
        status=status,
        start=start,
        tie_atol=tol if gamma == 1.0 else None,
    )
