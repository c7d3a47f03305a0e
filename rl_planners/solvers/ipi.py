r"""Inexact policy iteration: greedy steps, each policy evaluated approximately by BiCGSTAB.

From ``V_k``: one backup ``T V_k`` (its change ``d_k = T V_k − V_k`` feeds
value iteration's stopping rule), the greedy policy ``π_k``, then an
approximate solve of ``(I − γ P_{π_k}) V = R_{π_k}`` by BiCGSTAB, warm-started
from ``T V_k = T_{π_k} V_k`` and stopped once its residual is a fraction of
the outer one, ``‖r‖ ≤ η_k ‖d_k‖``, both measured as the stopping rule
measures ``d`` (the sup norm, or the span: a constant in ``r`` is taken out
exactly by the safeguard below when ``P_π 1 = 1``). The fraction
``η_k = min(η, (‖d_k‖/‖d_{k−1}‖)²)`` follows the outer convergence, an
inexact Newton forcing term (:func:`_inner_target`). Value iteration (no
inner step), policy iteration (exact inner solves) and optimistic policy
iteration (a fixed number of inner sweeps) are the limits of this scheme;
here the inner work adapts to the outer residual (Gargiani et al. 2024).
On models where no outcome terminates, ``P_π 1 = 1`` makes the constant
vector an eigenvector of ``I − γ P_π`` with the smallest eigenvalue,
``1 − γ``; BiCGSTAB is preconditioned with the exact inverse on it
(``M⁻¹ y = y + γ/(1−γ) mean(y)``).

Safeguard (γ < 1). The inner solve's iterate ``W`` is lowered by its
residual ``r = R_π − (I − γ P_π) W``: ``W⁻ = W + min(0, min r)/(1−γ)``. Then
``T_π W⁻ − W⁻ ≥ r − min(0, min r) ≥ 0`` (``P_π`` is substochastic), so
``W⁻ ≤ T W⁻``: ``W⁻`` is a *subsolution*, and every subsolution lies below
``V*``. The next iterate is ``V_{k+1} = max(W⁻, T V_k)`` whenever ``V_k`` is
a subsolution (then so is ``T V_k``): from the second improvement on, and at
the first if ``min d_0 ≥ 0``. The maximum of two subsolutions is one. Hence
``T^k V_1 ≤ V_{k+1} ≤ V*``: however inexact the inner solves, the iterates
increase monotonically and converge at least as fast as value iteration's,
and in practice like policy iteration's (a few improvements, each a few
dozen products with the policy's ``S`` rows). ``r`` is BiCGSTAB's recursive
residual, which equals the true one up to rounding (one product per
improvement fewer than recomputing it), so these inequalities hold up to
rounding too; the stopping rule's guarantee below holds for any iterate.

The stopping rule and its guarantee are value iteration's
(:mod:`~rl_planners.solvers.iteration`), applied to ``d_k``: for γ < 1 the
returned ``V`` satisfies ``‖V − V*‖∞ < ε/2`` and its greedy policy is
ε-optimal.

At γ = 1 (episodic tasks) there is no contraction to bound an inexact
iterate, and ``T`` may have fixed points above ``V*`` (zero-reward loops,
as in Sutton & Barto's gambler): a greedy policy that terminates from every
state is evaluated to float64 rounding
(:func:`~rl_planners.solvers.linear.solve_policy_system`), so that
``V^π ≤ V*`` is a subsolution and ``V_{k+1} = max(V^π, T V_k)`` as above; a
greedy policy that does not terminate gives a value-iteration step
``V_{k+1} = T V_k`` instead. Models of up to
:data:`~rl_planners.solvers.linear.DIRECT_SOLVE_MAX_STATES` states are
evaluated exactly too (a dense or sparse LU solve costs less there than the
Python loop of BiCGSTAB), which makes the method policy iteration on them,
started from ``V0`` and stopped by value iteration's rule.

References
----------
Gargiani, M. et al. (2024). madupite: a high-performance distributed solver
for large-scale Markov decision processes (inexact policy iteration).
arXiv:2404.06136.
Eisenstat, S. C. & Walker, H. F. (1996). Choosing the forcing terms in an
inexact Newton method. *SIAM J. Sci. Comput.* 17(1), 16–32.
Puterman, M. L. (1994). *Markov Decision Processes*, §6.5 (modified policy
iteration; subsolutions and monotone convergence, Thm 6.5.5).
Puterman, M. L. & Brumelle, S. L. (1979). On the convergence of policy
iteration in stationary dynamic programming. *Math. Oper. Res.* 4(1), 60–69.
van der Vorst, H. A. (1992). Bi-CGSTAB. *SIAM J. Sci. Stat. Comput.* 13(2).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from rl_planners.bellman import greedy_policy, operators
from rl_planners.bellman.operators import PolicyOperator, sweep_stats
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.termination import nonterminating_states
from rl_planners.result import PlanningResult
from rl_planners.solvers.iteration import IterationCallback, StoppingRule, iterate, planning_result
from rl_planners.solvers.linear import (
    DIRECT_SOLVE_MAX_STATES,
    KrylovWorkspace,
    bicgstab,
    solve_policy_system,
)
from rl_planners.solvers.pi import terminating_policy
from rl_planners.validation import (
    check_gamma,
    check_int,
    check_max_iterations,
    check_real,
    check_tol,
    check_values,
)

__all__ = ["inexact_policy_iteration"]


def inexact_policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-8,
    max_iterations: int = 10_000,
    V0: np.ndarray | None = None,
    stopping: str | None = None,
    inner_ratio: float = 0.1,
    max_inner: int = 100,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    backend: str = "auto",
) -> PlanningResult:
    r"""Inexact policy iteration: greedy steps with Krylov evaluations of tied accuracy.

    Repeat: ``d_k = T V_k − V_k``; stop by value iteration's rule on ``d_k``;
    else ``π_k(s) = argmax_a Q^{V_k}(s,a)`` and ``V_{k+1}`` from BiCGSTAB on
    ``(I − γ P_{π_k}) V = R_{π_k}`` from ``T V_k``, run until
    ``‖R_{π_k} − (I − γ P_{π_k}) V‖ ≤ η_k ‖d_k‖`` (the stopping rule's measure,
    ``η_k = min(η, (‖d_k‖/‖d_{k−1}‖)²)``, never below half the rule's threshold)
    or ``max_inner`` iterations, then made a subsolution (module docstring).

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1]; 1 for episodic tasks.
    tol : float
        ``ε``: for γ < 1 the result satisfies ``‖V − V*‖∞ < ε/2`` and its
        greedy policy is ε-optimal, ``‖V^π − V*‖∞ < ε``, as for
        :func:`value_iteration`. At γ = 1 the solve stops when
        ``‖T V − V‖∞ < ε``.
    max_iterations : int
        Cap on improvement steps, never overridden; capped, the result is
        ``converged=False`` with a :class:`ConvergenceWarning`.
    V0 : array_like, shape (S,), optional
        Initial values (default zeros). Need not be a subsolution.
    stopping : {"span", "sup"}, optional
        As in :func:`value_iteration`.
    inner_ratio : float
        ``η`` in ``(0, 1]``: the inner residual target as a fraction of the
        outer residual at most (less where the outer residual falls fast).
        Smaller: fewer improvements, more products each.
    max_inner : int
        BiCGSTAB iterations per improvement at most (two products each).
    callback : callable, optional
        ``callback(iteration, residual)`` after every improvement.
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`).
    backend : {"auto", "numpy", "compiled"}
        As in :func:`value_iteration`; the products use the policy's rows
        gathered once per improvement.

    Returns
    -------
    PlanningResult
        ``iterations`` = improvements, ``residuals[k] = ‖T V_k − V_k‖∞``;
        ``backups`` and ``policy_products`` count the work.

    Raises
    ------
    NonTerminatingPolicyError
        At γ = 1, if no policy terminates (with probability 1) from some
        states (named), as :func:`policy_iteration` does.
    NonFiniteValueError
        If a value overflows float64 (names the states).

    References
    ----------
    Gargiani et al. (2024), arXiv:2404.06136; Puterman (1994), §6.5.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]],
    ...                              [[0.0, 1.0], [0.0, 0.0]], terminal_states=[1])
    >>> result = inexact_policy_iteration(mdp, 0.9)
    >>> result.V.round(6), result.policy
    (array([1., 0.]), array([1, 0]))
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    inner_ratio = check_real(inner_ratio, "inner_ratio", low=0.0, high=1.0, low_open=True)
    max_inner = check_int(max_inner, "max_inner", 1, "BiCGSTAB iterations per improvement")
    rule = StoppingRule(gamma, tol, stopping, mdp)
    V = np.zeros(mdp.n_states) if V0 is None else check_values(mdp, V0, "V0")
    if gamma == 1.0:
        terminating_policy(
            mdp,
            "so their undiscounted return is not an episodic one. Use gamma < 1, or "
            "value_iteration, which values such states by their rewards.",
        )
    ops = operators(mdp, backend)
    constant_mode = None if rule.terminates else _constant_mode_inverse(gamma)
    workspace = KrylovWorkspace(
        mdp.n_states, preconditioned=constant_mode is not None, compiled=ops.backend == "compiled"
    )
    actions = np.zeros(mdp.n_states, dtype=np.int64)  # π_k, written by the backup
    spare = np.empty_like(V)
    operator: PolicyOperator | None = None

    measures: list[float] = []  # the rule's measure of d_0, d_1, …
    subsolution = False  # V_k ≤ T V_k is known (then T V_k is a subsolution too)

    def improve_and_evaluate() -> tuple[bool, float]:
        nonlocal V, spare, operator, subsolution
        if gamma < 1.0:
            stats = ops.backup(V, gamma, spare, policy=actions)  # T V and its greedy policy
            V_next, spare = spare, None
            policy: np.ndarray | None = actions
        else:  # the greedy policy's ties need the whole Q (see _policy_to_evaluate)
            Q = ops.q(V, gamma)  # [S, A]
            V_next = Q.max(axis=1)
            stats = sweep_stats(V, V_next)
            policy = _policy_to_evaluate(mdp, Q, gamma)
            del Q
        stop, residual, V_reported = rule.decide(V_next, stats)
        if stop:
            V = V_reported
            return True, residual
        measures.append(rule.measure(stats))
        if policy is None:  # γ = 1 and no greedy policy terminates: a value-iteration step
            V, spare = V_next, V
            return False, residual
        if gamma == 1.0 or mdp.n_states <= DIRECT_SOLVE_MAX_STATES:
            # At γ = 1 no contraction bounds an inexact iterate: evaluate to
            # float64 rounding, so that V^π ≤ V* is a subsolution (module
            # docstring). Small models: a direct solve costs less than the
            # Python loop of BiCGSTAB.
            W = solve_policy_system(ops, policy, gamma, V_next)
        else:
            operator = ops.policy(policy, previous=operator)
            evaluation = operator  # bound for the closure below

            def system(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
                return evaluation.system_product(x, gamma, out)

            target = _inner_target(rule, measures, inner_ratio)
            W, r = bicgstab(
                system,
                operator.R_pi,
                V_next,
                target,
                max_inner,
                rule.measure_extremes,  # the residual as the stopping rule measures d
                constant_mode,
                workspace,
                out=V,  # V_k's memory, free after the backup: none new per improvement
            )
            W += min(0.0, float(r.min())) / (1.0 - gamma)  # the safeguard (module docstring)
        if not np.all(np.isfinite(W)):
            V, spare = V_next, V  # the solve broke down: a value-iteration step
            return False, residual
        if subsolution or stats.low >= 0.0:  # V_k ≤ T V_k, so T V_k is a subsolution too
            np.maximum(W, V_next, out=W)
        V, spare = W, (V_next if W is V else V)  # Krylov: W is V_k's memory; LU: a new array
        subsolution = True  # W⁻ is one, and so is the maximum of two
        return False, residual

    residuals, status = iterate(
        "inexact_policy_iteration", improve_and_evaluate, max_iterations, callback, interruptible
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


def _inner_target(rule: StoppingRule, measures: list[float], inner_ratio: float) -> float:
    r"""The inner solve's residual target ``max(η_k m_k, θ/2)``, ``η_k = min(η, (m_k/m_{k−1})²)``.

    ``m_k`` is the stopping rule's measure of ``d_k`` (``measures[-1]``),
    ``θ`` its threshold, and ``η_0 = η``. Policy iteration is Newton's method
    on the Bellman equation (Puterman & Brumelle 1979). A forcing term that
    follows the outer convergence (Eisenstat & Walker 1996, choice 2) solves
    more exactly only where the outer residual falls fast, the Newton regime
    (Garnet 10^6: 9 improvements and 49 products, against 12 and 60 with a
    fixed ``η``), and keeps ``η`` where it falls slowly because the policy
    changes a step at a time (300 × 300 grid: 669 improvements and 41,003
    products, against 679 and 39,664; ``η_k = min(η, m_k/m_0)`` took 701 and
    48,912 there). No solve aims below ``θ/2``: the next ``d`` is about the
    solve's residual, so that is enough for the rule to stop.
    """
    measure = measures[-1]
    forcing = inner_ratio if len(measures) < 2 else min(inner_ratio, (measure / measures[-2]) ** 2)
    return max(forcing * measure, rule.threshold / 2.0)


def _policy_to_evaluate(mdp: TabularMDP, Q: np.ndarray, gamma: float) -> np.ndarray | None:
    """The greedy policy of ``Q``; at γ = 1 one that terminates, or ``None`` if none does."""
    policy = np.argmax(Q, axis=1)
    if gamma < 1.0 or nonterminating_states(mdp, policy).size == 0:
        return policy
    policy = greedy_policy(mdp, Q, gamma)  # ties go to actions that terminate
    return policy if nonterminating_states(mdp, policy).size == 0 else None


def _constant_mode_inverse(gamma: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    r"""The preconditioner ``M⁻¹ y = y + γ/(1−γ) · mean(y) · 1`` for a model that never terminates.

    There ``P_π 1 = 1``, so ``(I − γ P_π) 1 = (1−γ) 1``: the constant vector
    is an eigenvector with the smallest eigenvalue, ``1−γ``, the mode that
    slows every Krylov method at γ close to 1 (and that the span measure
    ignores anyway). ``M⁻¹`` inverts ``I − γ P_π`` exactly on it,
    ``M⁻¹ 1 = 1/(1−γ)``, and leaves mean-zero vectors unchanged, so
    ``(I − γ P_π) M⁻¹`` maps ``1`` to itself and the iteration works on the
    other modes.
    """
    scale = gamma / (1.0 - gamma)

    def apply(y: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.add(y, scale * float(y.mean()), out=out)

    return apply
