r"""The exact expected return of a policy from a model's initial distribution.

With a time limit ``H`` the return is ``J_H(π) = Σ_s μ₀(s) V^π_0(s)`` with
``V^π_H = 0``, ``V^π_t = R_π + γ P_π V^π_{t+1}``
(:func:`rl_planners.solvers.finite_horizon_policy_value`); without one
``J_∞(π) = μ₀ · V^π`` with ``(I − γ P_π) V^π = R_π``
(:func:`rl_planners.solvers.policy_evaluation`). At ``γ = 1`` the latter
exists only if the episode ends with probability 1 from every state
reachable from ``μ₀`` (:func:`reachable_states`); states the policy never
reaches do not matter.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes*, §4.2 and §6.1.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import policy_model
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.solvers import finite_horizon_policy_value, policy_evaluation
from rl_planners.validation import check_gamma, check_policy, format_states

__all__ = ["expected_return", "reachable_states"]


def reachable_states(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """``[S]`` bool: the states an episode can visit under a stationary policy.

    A state is reachable if it has positive initial probability or follows a
    reachable state through a non-terminating outcome of positive probability
    under ``π`` (breadth-first search over ``P_π``).
    """
    from scipy.sparse import csgraph  # on first use: it loads scipy.sparse.linalg

    P_pi, _ = policy_model(mdp, policy)  # [S, S]
    n_states = mdp.n_states
    support = np.flatnonzero(mdp.initial_distribution > 0)
    start = sp.csr_matrix(
        (np.ones(support.size, dtype=bool), (np.zeros(support.size, dtype=np.int64), support)),
        shape=(1, n_states + 1),
    )
    # Node S is a virtual start with an edge to every initial state.
    graph = sp.vstack(
        [sp.hstack([P_pi > 0, sp.csr_matrix((n_states, 1), dtype=bool)]), start]
    ).tocsr()
    order = csgraph.breadth_first_order(graph, n_states, directed=True, return_predecessors=False)
    reached = np.zeros(n_states + 1, dtype=bool)
    reached[order] = True
    return reached[:n_states]


def expected_return(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float = 1.0,
    *,
    horizon: int | None = None,
) -> float:
    r"""Exact expected return of a policy from the model's initial distribution.

    With a horizon ``H``: ``J_H = μ₀ · V^π_0``, the expected sum of the first
    ``H`` rewards discounted by ``γ`` (episodes cut after ``H`` steps, as by
    Gymnasium's ``TimeLimit``), by the backward recursion of
    :func:`~rl_planners.solvers.finite_horizon_policy_value`. Without one:
    ``J_∞ = μ₀ · V^π`` with ``(I − γ P_π) V^π = R_π``.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        ``(S,)`` int or ``(S, A)`` float; with a horizon also time-dependent
        ``(H, S)`` int or ``(H, S, A)`` float.
    gamma : float, default 1.0
        Discount factor in [0, 1]; 1 gives Gymnasium's undiscounted return.
    horizon : int, optional
        ``H ≥ 0``; ``None`` for no time limit.

    Returns
    -------
    float

    Raises
    ------
    NonTerminatingPolicyError
        Without a horizon at ``γ = 1``, if from some state the policy can
        reach, the episode does not end with probability 1 (its return is
        undefined). Its ``states`` are those reachable states. States the
        policy never reaches from ``μ₀`` do not matter.
    ValueError
        A bad policy, ``gamma`` or ``horizon``.

    Examples
    --------
    One state; action 0 earns 1 and continues, action 1 earns 2 and ends:

    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 0, 2.0, True)]}})
    >>> expected_return(mdp, [0], horizon=3)
    3.0
    >>> expected_return(mdp, [1])
    2.0
    >>> expected_return(mdp, [0], 0.5)
    2.0
    """
    gamma = check_gamma(gamma)
    if horizon is not None:
        V = finite_horizon_policy_value(mdp, policy, horizon, gamma)  # [S]
        return float(mdp.initial_distribution @ V)
    policy = check_policy(mdp, policy)
    if gamma < 1.0:
        return float(mdp.initial_distribution @ policy_evaluation(mdp, policy, gamma))
    # At γ = 1 only the states reachable from μ₀ must terminate: make every
    # outcome of an unreachable state terminating. No reachable state moves to
    # an unreachable one, so the reachable states keep their values.
    reachable = reachable_states(mdp, policy)
    outcome_state = mdp.outcome_row // mdp.n_actions  # [N]
    restricted = TabularMDP(
        mdp.n_states,
        mdp.n_actions,
        mdp.row_offsets,
        mdp.next_state,
        mdp.prob,
        mdp.reward,
        mdp.terminated | ~reachable[outcome_state],
        mdp.initial_distribution,
    )
    try:
        V = policy_evaluation(restricted, policy, 1.0)
    except NonTerminatingPolicyError as error:
        stuck = np.asarray(error.states)
        raise NonTerminatingPolicyError(
            f"the undiscounted return without a time limit is undefined: from "
            f"{stuck.size} state(s) the policy reaches from the initial distribution "
            f"({format_states(stuck)}), the episode does not end with probability 1. "
            "Give a horizon (the env's time limit) or gamma < 1.",
            stuck,
        ) from None
    return float(mdp.initial_distribution @ V)
