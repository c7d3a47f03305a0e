r"""Policy evaluation: the value ``V^π`` of a fixed policy.

``V^π(s) = Σ_a π(a|s) Σ_s' P(s'|s,a)[R(s,a,s') + γ V^π(s')]``, the Bellman
expectation equation, solved exactly (:mod:`~rl_planners.solvers.linear`) or
by synchronous sweeps ``V ← T_π V``.
"""

from __future__ import annotations

import numpy as np

from rl_planners.bellman import operators
from rl_planners.bellman.operators import sweep_stats
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.termination import nonterminating_states
from rl_planners.solvers.iteration import StoppingRule, check_finite, warn_cap
from rl_planners.solvers.linear import solve_policy_system
from rl_planners.validation import (
    check_choice,
    check_gamma,
    check_max_iterations,
    check_policy,
    check_tol,
    format_states,
)

__all__ = ["EVALUATION_METHODS", "policy_evaluation", "raise_if_nonterminating"]

EVALUATION_METHODS = ("exact", "iterative", "krylov")


def policy_evaluation(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float,
    *,
    method: str = "exact",
    tol: float = 1e-10,
    max_iterations: int = 100_000,
) -> np.ndarray:
    r"""The value of a policy, from the Bellman expectation equation.

    ``V^π(s) = Σ_a π(a|s) Σ_s' P(s'|s,a)[R(s,a,s') + γ V^π(s')]``, i.e.
    ``(I − γ P_π) V^π = R_π``.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic ``(S,)`` int or stochastic ``(S, A)`` float ``π(a|s)``.
    gamma : float
        Discount in [0, 1]. At 1 the policy must terminate with probability 1
        from every state.
    method : {"exact", "iterative", "krylov"}
        ``"exact"`` solves the linear system with a sparse LU factorisation
        (dense for deterministic policies up to 128 states) up to 600 states
        and, beyond (where LU fills in on unstructured models: 155 s for a
        10,000-state Garnet), with ``"krylov"``: BiCGSTAB run until
        ``‖R_π − (I − γ P_π) V‖∞ ≤ 10⁻¹² (1−γ) ‖V‖∞`` (so
        ``‖V − V^π‖∞ ≤ 10⁻¹² ‖V‖∞``; a few units of float64 rounding at
        γ = 1), falling back to LU should it not get there (on large models:
        its best iterate, with a :class:`ConvergenceWarning`);
        ``"iterative"`` sweeps ``V ← T_π V`` synchronously from ``V = 0``
        until ``‖V_{k+1} − V_k‖∞ < tol (1−γ)/γ`` (then ``‖V − V^π‖∞ < tol``;
        at γ = 1, until the change is below ``tol``). Capped at
        ``max_iterations = k`` it returns the k-th sweep ``T_π^k 0`` (with a
        :class:`ConvergenceWarning`), e.g. Sutton & Barto's Figure 4.1 iterates.
    tol : float
        Tolerance of the iterative method.
    max_iterations : int
        Sweep cap of the iterative method.

    Returns
    -------
    numpy.ndarray
        ``[S]`` float64 ``V^π``.

    Raises
    ------
    ValueError
        Bad policy, gamma, tol, max_iterations or method.
    NonTerminatingPolicyError
        At γ = 1, if the policy does not terminate from some states (named).

    References
    ----------
    Sutton & Barto (2018), eq. (4.5) and §4.1; Puterman (1994), Thm 6.1.1.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [2.0]])
    >>> policy_evaluation(mdp, [0, 0], 0.5)
    array([2., 4.])
    """
    policy = check_policy(mdp, policy)
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    check_choice(method, "method", EVALUATION_METHODS)
    if gamma == 1.0:
        raise_if_nonterminating(mdp, policy)
    ops = operators(mdp)
    if method != "iterative":
        V = solve_policy_system(ops, policy, gamma, krylov=True if method == "krylov" else None)
        check_finite(V, "V^pi", gamma)
        return V
    operator = ops.policy(policy)
    # The sup rule's ε/2 bound on V_{k+1} − V^π, with ε = 2·tol (γ < 1).
    rule = StoppingRule(gamma, 2.0 * tol if gamma < 1.0 else tol, "sup")
    V = np.zeros(mdp.n_states)
    for _ in range(max_iterations):
        V_next = operator.apply(V, gamma)
        stop, residual, V_next = rule.decide(V_next, sweep_stats(V, V_next))
        V = V_next
        if stop:
            return V
    warn_cap("policy_evaluation", max_iterations, residual)
    return V


def raise_if_nonterminating(mdp: TabularMDP, policy: np.ndarray) -> None:
    """At γ = 1, raise :class:`NonTerminatingPolicyError` naming where ``π`` never ends."""
    stuck = nonterminating_states(mdp, policy)
    if stuck.size:
        raise NonTerminatingPolicyError(
            f"at gamma = 1 the policy never terminates (with probability 1) from "
            f"{stuck.size} state(s): {format_states(stuck)}; their undiscounted return is "
            "undefined. Use gamma < 1, or a policy that reaches a terminating outcome from every "
            "state (policy_iteration's default initial policy does).",
            stuck,
        )
