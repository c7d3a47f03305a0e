r"""Value iteration, ``V_{k+1} = T V_k``, with Jacobi or Gauss–Seidel sweeps.

``(T V)(s) = max_a Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``; the stopping rules
and their guarantees are those of :mod:`~rl_planners.solvers.iteration`.
"""

from __future__ import annotations

import time

import numpy as np

from rl_planners.bellman import operators
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.solvers.iteration import IterationCallback, StoppingRule, iterate, planning_result
from rl_planners.validation import (
    check_choice,
    check_gamma,
    check_max_iterations,
    check_tol,
    check_values,
)

__all__ = ["SWEEP_METHODS", "value_iteration"]

SWEEP_METHODS = ("jacobi", "gauss-seidel")


def value_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    V0: np.ndarray | None = None,
    stopping: str | None = None,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    method: str = "jacobi",
    backend: str = "auto",
) -> PlanningResult:
    r"""Value iteration: repeat ``V_{k+1} = T V_k`` until the stopping rule holds.

    ``(T V)(s) = max_a Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``, swept
    synchronously from ``V0`` (zeros by default).

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1]; 1 for episodic tasks.
    tol : float
        ``ε``: for γ < 1 the result satisfies ``‖V − V*‖∞ < ε/2`` and its
        greedy policy is ε-optimal, ``‖V^π − V*‖∞ < ε``.
    max_iterations : int
        Sweep cap, never overridden. Capped at ``k`` the result holds the
        k-th sweep ``T^k V0``, ``converged=False``, and a
        :class:`ConvergenceWarning` is issued.
    V0 : array_like, shape (S,), optional
        Initial values. Default zeros; with ``method="gauss-seidel"`` and
        γ < 1, ``min(0, min R)/(1−γ)`` everywhere, a lower bound of ``V*`` from
        which ``T V0 ≥ V0`` (Puterman Thm 6.5.5): an in-place sweep in the
        right order then carries the values of the states near the rewards
        across the model at once (a 300 × 300 grid: 218 sweeps against 707
        from zeros).
    stopping : {"span", "sup"}, optional
        The stopping rule (module docstring). Default ``"span"`` (with the
        MacQueen–Porteus correction) for γ < 1 and ``"sup"`` at γ = 1.
    callback : callable, optional
        ``callback(iteration, residual)`` after every iteration (progress bars).
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`) instead of
        raising ``KeyboardInterrupt``.
    method : {"jacobi", "gauss-seidel"}
        ``"jacobi"``: synchronous sweeps. ``"gauss-seidel"``: in-place sweeps,
        each backup using the values already updated in that sweep (Puterman
        §6.3.3; needs numba, one core), alternately in increasing and
        decreasing state order (symmetric Gauss–Seidel), so that values
        travel both ways along the state numbering in every pair of sweeps.
        A Gauss–Seidel sweep ``G`` in either order is a γ-contraction in the
        sup norm with fixed point ``V*`` (Puterman §6.3.3), so
        ``‖G V − V*‖∞ ≤ γ/(1−γ) ‖G V − V‖∞``: once the stopping rule holds
        for a Gauss–Seidel change, ``V`` is that close to ``V*``, and one
        Jacobi sweep ``T V`` follows to certify it: the rule is applied to
        *its* change and the result is that Jacobi sweep's, with exactly the
        guarantees above for ``V`` and its greedy policy (else Gauss–Seidel
        goes on from ``T V``). Every sweep of either kind counts as an
        iteration. Gauss–Seidel pays where the state numbering follows the
        flow of values (a 300 × 300 slippery grid: 218 sweeps against 820
        Jacobi sweeps); on fast-mixing models, where the span rule stops
        Jacobi sweeps after a few dozen, it does not (its change does not
        settle to a constant, so it stops as late as the sup rule would: a
        10⁴-state Garnet, about 1,200 sweeps against 35).
    backend : {"auto", "numpy", "compiled"}
        Where the sweeps run (:mod:`rl_planners.bellman.kernels`): ``"auto"`` takes
        the fused compiled kernel on models of
        :data:`~rl_planners.bellman.kernels.KERNEL_MIN_OUTCOMES` outcomes or more.

    Returns
    -------
    PlanningResult
        ``residuals[k] = ‖V_{k+1} − V_k‖∞``; the policy is greedy w.r.t. ``V``
        (ties to the lowest index; at γ = 1 to actions that terminate, see
        :func:`rl_planners.bellman.greedy_policy`, with ties within ``tol``).

    Raises
    ------
    NonFiniteValueError
        If a value overflows float64 (names the states).

    References
    ----------
    Puterman (1994), Thm 6.3.1 and Prop. 6.6.5; Sutton & Barto (2018), §4.4.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]],
    ...                              [[0.0, 1.0], [0.0, 0.0]], terminal_states=[1])
    >>> result = value_iteration(mdp, 0.9)
    >>> result.V.round(6), result.policy
    (array([1., 0.]), array([1, 0]))
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    check_choice(method, "method", SWEEP_METHODS)
    gauss_seidel = method == "gauss-seidel"
    ops = operators(mdp, backend, gauss_seidel=gauss_seidel)
    rule = StoppingRule(gamma, tol, stopping, ops=ops)
    if V0 is not None:
        V = check_values(mdp, V0, "V0")
    elif gauss_seidel and gamma < 1.0:
        V = np.full(mdp.n_states, min(0.0, float(mdp.R.min())) / (1.0 - gamma))
    else:
        V = np.zeros(mdp.n_states)
    spare = np.empty_like(V)
    certify = False  # Gauss–Seidel: the last sweep met the rule; a Jacobi sweep checks
    reverse = False  # the direction of the next Gauss–Seidel sweep

    def sweep() -> tuple[bool, float]:
        nonlocal V, spare, certify, reverse
        if gauss_seidel and not certify:
            stats = ops.gauss_seidel(V, gamma, reverse=reverse)
            reverse = not reverse
            certify, residual, _ = rule.decide(V, stats)
            return False, residual
        stats = ops.backup(V, gamma, spare)
        V, spare = spare, V
        certify = False
        stop, residual, V = rule.decide(V, stats)
        return stop, residual

    residuals, status = iterate("value_iteration", sweep, max_iterations, callback, interruptible)
    spare = None  # the sweeps' second buffer: free before the final greedy pass
    return planning_result(
        ops,
        V,
        gamma,
        residuals=residuals,
        status=status,
        start=start,
        tie_atol=tol if gamma == 1.0 else None,
    )
