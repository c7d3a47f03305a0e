r"""Policy iteration: exact evaluation, then strict greedy improvement, until stable."""

from __future__ import annotations

import time

import numpy as np

from rl_planners.bellman import greedy_policy, operators, tie_tolerance
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.termination import endless_states, terminating_choice
from rl_planners.result import PlanningResult
from rl_planners.solvers.evaluate import raise_if_nonterminating
from rl_planners.solvers.iteration import IterationCallback, check_finite, iterate, planning_result
from rl_planners.solvers.linear import solve_policy_system
from rl_planners.validation import check_gamma, check_max_iterations, check_policy, format_states

__all__ = ["initial_policy", "policy_iteration"]


def terminating_policy(mdp: TabularMDP, consequence: str) -> np.ndarray:
    """``[S]`` a policy that terminates (with probability 1) from every state, for γ = 1.

    Raises
    ------
    NonTerminatingPolicyError
        Naming the states from which no policy terminates; ``consequence``
        (what that means for the caller's solver, and what to do) ends the message.
    """
    allowed = np.ones((mdp.n_states, mdp.n_actions), dtype=bool)
    policy, terminates = terminating_choice(mdp, allowed)
    if not terminates.all():
        stuck = np.flatnonzero(~terminates)
        raise NonTerminatingPolicyError(
            f"at gamma = 1 no policy terminates (with probability 1) from {stuck.size} "
            f"state(s): {format_states(stuck)}, {consequence}",
            stuck,
        )
    return policy


def initial_policy(mdp: TabularMDP, gamma: float) -> np.ndarray:
    """Greedy on immediate reward (γ < 1); at γ = 1 a policy that terminates."""
    if gamma < 1.0:
        return greedy_policy(mdp, np.asarray(mdp.R), gamma)
    return terminating_policy(
        mdp,
        "so policy iteration cannot evaluate any policy there. Use gamma < 1, or "
        "value_iteration, which handles such states.",
    )


def policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    max_iterations: int = 1_000,
    policy0: np.ndarray | None = None,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    backend: str = "auto",
) -> PlanningResult:
    r"""Policy iteration: exact evaluation, then greedy improvement, until stable.

    Evaluate ``V^{π_k}`` exactly (:func:`policy_evaluation`; on large models
    BiCGSTAB warm-started from ``V^{π_{k-1}}``, so later evaluations, whose
    policies differ in few states, take few iterations), compute
    ``Q^{π_k}``, and set ``π_{k+1}(s) = argmax_a Q^{π_k}(s,a)`` *only where it
    improves strictly* on ``Q^{π_k}(s, π_k(s))`` (beyond float64 rounding);
    elsewhere keep ``π_k(s)``. So ties cannot make it cycle, and it stops at
    the first policy that no state can improve: an optimal one.

    At γ = 1 the default initial policy terminates from every state (it moves
    towards termination), and strict improvement keeps it so whenever ``V*``
    is finite: a closed loop that never terminates would need every one of
    its states to have improved strictly on a terminating policy with zero
    reward around the loop, which cannot happen.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1].
    max_iterations : int
        Cap on improvement steps, never overridden.
    policy0 : array_like of int, shape (S,), optional
        Initial deterministic policy. Default: greedy on the immediate reward
        for γ < 1; at γ = 1 one that terminates from every state.
    callback : callable, optional
        ``callback(iteration, residual)`` after every iteration (progress bars).
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`) instead of
        raising ``KeyboardInterrupt``.
    backend : {"auto", "numpy", "compiled"}
        As in :func:`value_iteration`; the compiled kernels also do the
        Krylov solve's products ``(I − γ P_π) x``.

    Returns
    -------
    PlanningResult
        ``V = V^π`` of the final policy, ``iterations`` = evaluations, and
        ``residuals[k] = ‖T V^{π_k} − V^{π_k}‖∞``.

    Raises
    ------
    NonTerminatingPolicyError
        At γ = 1, if ``policy0`` does not terminate, if no policy terminates
        from some states, or if never terminating earns more than any
        terminating policy (a zero-reward loop beats negative-reward endings).

    References
    ----------
    Puterman (1994), §6.4; Sutton & Barto (2018), §4.3.
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    max_iterations = check_max_iterations(max_iterations)
    if policy0 is None:
        policy = initial_policy(mdp, gamma)
    else:
        policy = check_policy(mdp, policy0)
        if policy.ndim != 1:
            raise ValueError(
                f"policy0 must be deterministic, shape (S,) of actions; got shape {policy.shape}"
            )
    states = np.arange(mdp.n_states)
    ops = operators(mdp, backend)

    def evaluate(V_previous: np.ndarray | None) -> np.ndarray:
        if gamma == 1.0:
            raise_if_nonterminating(mdp, policy)
        V = solve_policy_system(ops, policy, gamma, V_previous)
        check_finite(V, "V^pi", gamma)
        return V

    V = evaluate(None)

    def improve() -> tuple[bool, float]:
        nonlocal V, policy
        Q_by_action = ops.q(V, gamma).T  # [A, S]: on NumPy, C-ordered (contiguous max_a)
        best_value = np.maximum.reduce(Q_by_action, axis=0)  # max_a Q(s, a)
        residual = float(np.abs(best_value - V).max())
        improves = best_value - Q_by_action[policy, states] > tie_tolerance(Q_by_action)
        if not improves.any():
            return True, residual
        # the first maximising action where the policy improves (argmax over
        # those states only: late in a solve, a few)
        changed = np.flatnonzero(improves)
        policy = policy.copy()
        policy[changed] = np.argmax(Q_by_action[:, changed], axis=0)
        del Q_by_action, best_value, improves  # not kept through the evaluation
        V = evaluate(V)
        return False, residual

    residuals, status = iterate(
        "policy_iteration", improve, max_iterations, callback, interruptible
    )
    if gamma == 1.0 and status == "converged":
        _raise_if_never_ending_pays(mdp, V, ops.q(V, gamma))
    return planning_result(
        ops, V, gamma, residuals=residuals, status=status, start=start, policy=policy
    )


def _raise_if_never_ending_pays(mdp: TabularMDP, V: np.ndarray, Q: np.ndarray) -> None:
    """At γ = 1, refuse a terminating policy that a never-ending one beats.

    Policy iteration at γ = 1 stays among policies that terminate. If actions
    as good as the policy's (``Q(s,a) ≥ V(s)``) can keep the episode going
    forever from a state whose value is negative, the rewards along such a
    loop add up to ``V(s) − V(s_n)``, more than ``V(s)``: never ending beats
    every terminating policy, and the task is not episodic.
    """
    atol = tie_tolerance(Q)
    endless = endless_states(mdp, Q >= V[:, None] - atol)
    losing = np.flatnonzero(endless & (V < -atol))
    if losing.size:
        raise NonTerminatingPolicyError(
            f"at gamma = 1 never ending the episode earns more than any policy that ends "
            f"it from {losing.size} state(s): {format_states(losing)} (their best terminating "
            f"value is negative, and a zero-sum loop of equally good actions avoids it), so "
            "the task is not episodic and policy iteration's answer would not be optimal. Use "
            "value_iteration, which values such loops by their rewards, or gamma < 1.",
            losing,
        )
