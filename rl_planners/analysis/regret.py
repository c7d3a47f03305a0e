r"""The exact regret of any policy: how much expected return it leaves on the table.

For a policy ``π`` and the model's initial distribution ``μ0``,

.. math::

    \text{gap} = μ_0 \cdot V^* − μ_0 \cdot V^π \;\ge\; 0, \qquad
    \text{state gap}(s) = V^*(s) − V^π(s) \;\ge\; 0,

computed exactly from the model (no sampling), for one of two objectives:

- a horizon ``H`` (an episode cut off after ``H`` steps, as Gymnasium's
  ``TimeLimit`` does): ``V^*`` is the optimal ``H``-step value, which a
  time-dependent policy attains (:func:`rl_planners.solvers.horizon.backward_induction`),
  and ``V^π`` the ``H``-step value of the stationary ``π``
  (:func:`rl_planners.solvers.horizon.finite_horizon_policy_value`);
- an infinite horizon with discount ``γ``: ``V^*`` from
  :func:`rl_planners.solvers.policy_iteration` (exact evaluation of the final
  policy) and ``V^π`` from :func:`rl_planners.solvers.policy_evaluation`
  (an exact linear solve).

The policy may come as an array of actions, of probabilities or of
Q-values, as a function of the observation, or as any object with
Stable-Baselines3's ``predict``: :func:`~rl_planners.analysis.policy_forms.as_policy`
(re-exported here) turns each into an array.

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, §4.5
   (finite horizon) and §6.4 (policy iteration).
.. [2] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An
   Introduction*, 2nd ed., MIT Press, 2018, §3.6 (optimal value functions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rl_planners import gym_env
from rl_planners.analysis.policy_forms import PolicyKind, as_policy, check_kind
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.checks import read_only_copy
from rl_planners.solvers import policy_evaluation, policy_iteration
from rl_planners.solvers.horizon import backward_induction, finite_horizon_policy_value
from rl_planners.validation import check_gamma, check_int

__all__ = ["RegretResult", "as_policy", "regret"]


@dataclass(frozen=True, eq=False)
class RegretResult:
    """What :func:`regret` returns.

    Attributes
    ----------
    policy_return : float
        ``μ0 · V^π``, the policy's exact expected return from the start.
    optimal_return : float
        ``μ0 · V^*``, the best expected return for the same objective.
    gap : float
        ``optimal_return − policy_return``: ≥ 0 up to float64 rounding.
    state_gap : numpy.ndarray
        ``[S]`` ``V^*(s) − V^π(s)``: ≥ 0 up to rounding.
    policy_values : numpy.ndarray
        ``[S]`` ``V^π``.
    optimal_values : numpy.ndarray
        ``[S]`` ``V^*``.
    gamma : float
        The discount factor.
    horizon : int or None
        ``H`` for the ``H``-step objective; ``None`` for the infinite horizon.
    policy : numpy.ndarray
        The policy evaluated: ``[S]`` int64 actions or ``[S, A]`` float64
        ``π(a|s)``.
    """

    policy_return: float
    optimal_return: float
    gap: float
    state_gap: np.ndarray
    policy_values: np.ndarray
    optimal_values: np.ndarray
    gamma: float
    horizon: int | None
    policy: np.ndarray

    def __post_init__(self) -> None:
        for name in ("state_gap", "policy_values", "optimal_values", "policy"):
            object.__setattr__(self, name, read_only_copy(getattr(self, name)))

    def __repr__(self) -> str:
        objective = "infinite horizon" if self.horizon is None else f"horizon={self.horizon}"
        return (
            f"RegretResult(gap={self.gap:.6g}, policy_return={self.policy_return:.6g}, "
            f"optimal_return={self.optimal_return:.6g}, gamma={self.gamma}, {objective})"
        )


def regret(
    env_or_mdp: Any,
    policy_like: Any,
    *,
    gamma: float | None = None,
    horizon: int | None = None,
    kind: PolicyKind | None = None,
) -> RegretResult:
    r"""Exact regret ``μ0 · V^* − μ0 · V^π`` of a policy, and its value from every state.

    Parameters
    ----------
    env_or_mdp : gymnasium.Env or TabularMDP
        A Gymnasium env with a tabular model (read by
        :meth:`TabularMDP.from_env`, wrapped or not) or the model itself.
    policy_like : array_like, callable or object with ``predict``
        The policy, in any form :func:`as_policy` reads: ``[S]`` int actions,
        ``[S, A]`` probabilities, ``[S, A]`` Q-values (greedy), ``obs -> action``,
        or an object with ``predict(obs, deterministic=True)``.
    gamma : float, optional
        Discount factor in ``[0, 1]``.
    horizon : int, optional
        ``H ≥ 0``: the ``H``-step objective.
    kind : {"actions", "stochastic", "q_values"}, optional
        How to read an array (see :func:`as_policy`); default: guessed.

    Which objective:

    - ``horizon`` given: the ``H``-step return, discounted by ``gamma``
      (default 1);
    - ``gamma`` given, no ``horizon``: the infinite-horizon discounted return
      (a time limit on the env is then ignored; pass ``horizon=`` to respect it);
    - neither, and an env: its ``TimeLimit`` (the smallest one in the wrapper
      chain, as ``gym.make`` adds it from ``max_episode_steps``) as the
      horizon, with ``γ = 1``;
    - neither, and a model or an env without a ``TimeLimit``: an error.

    Returns
    -------
    RegretResult
        ``policy_return``, ``optimal_return``, ``gap``, ``state_gap``,
        ``policy_values``, ``optimal_values``, ``gamma``, ``horizon`` and the
        ``policy`` array evaluated.

    Raises
    ------
    ValueError
        No objective can be chosen (the message says what to pass); a policy
        of the wrong shape, an action out of range or not an integer (the
        state is named), probabilities that are not distributions, non-finite
        Q-values; a bad ``gamma``, ``horizon`` or ``kind``.
    TypeError
        ``env_or_mdp`` is neither an env nor a model; ``gamma`` or ``horizon``
        of the wrong type.
    NonTerminatingPolicyError
        Infinite horizon at ``γ = 1`` where the policy (or every policy)
        fails to terminate from some states (named).

    Notes
    -----
    ``V^*`` of the ``H``-step objective is optimal among all, also
    time-dependent, policies (Puterman 1994, Thm 4.5.1), so a stationary
    policy's gap within a time limit can be positive even if the policy is
    optimal for the infinite horizon. Both values are exact up to the
    rounding of ``H`` sparse products or of one linear solve per policy.

    References
    ----------
    Puterman (1994), §4.5 and §6.4.

    Examples
    --------
    One state; action 0 earns 1 and continues, action 1 earns 2 and ends:

    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 0, 2.0, True)]}})
    >>> regret(mdp, np.array([1]), horizon=3).gap  # ends at once: 2 of 4
    2.0
    >>> regret(mdp, lambda obs: 0, gamma=0.5).gap  # 1/(1-γ) = 2 vs 2
    0.0
    """
    kind = check_kind(kind)
    mdp, time_limit = _model_and_time_limit(env_or_mdp)
    gamma, horizon = _objective(gamma, horizon, time_limit, env_or_mdp is not mdp)
    policy = as_policy(mdp, policy_like, kind=kind, gamma=gamma)
    if horizon is None:
        optimal_values = policy_iteration(mdp, gamma).V  # [S]
        policy_values = policy_evaluation(mdp, policy, gamma)  # [S]
    else:
        optimal_values = backward_induction(mdp, horizon, gamma, keep="policy").V[0]  # [S]
        policy_values = finite_horizon_policy_value(mdp, policy, horizon, gamma)  # [S]
    initial = mdp.initial_distribution  # [S]
    optimal_return = float(initial @ optimal_values)
    policy_return = float(initial @ policy_values)
    return RegretResult(
        policy_return=policy_return,
        optimal_return=optimal_return,
        gap=optimal_return - policy_return,
        state_gap=optimal_values - policy_values,
        policy_values=policy_values,
        optimal_values=optimal_values,
        gamma=gamma,
        horizon=horizon,
        policy=policy,
    )


# ---------------------------------------------------------------- helpers
def _model_and_time_limit(env_or_mdp: Any) -> tuple[TabularMDP, int | None]:
    """The model, and the env's ``TimeLimit`` (``None`` for a model or no limit)."""
    if isinstance(env_or_mdp, TabularMDP):
        return env_or_mdp, None
    if isinstance(env_or_mdp, gym.Env):
        return TabularMDP.from_env(env_or_mdp), gym_env.time_limit(env_or_mdp)
    raise TypeError(
        "expected a gymnasium.Env or a TabularMDP as the first argument, got "
        f"{type(env_or_mdp).__name__}; build a model with TabularMDP.from_transitions "
        "or TabularMDP.from_arrays"
    )


def _objective(
    gamma: Any, horizon: Any, time_limit: int | None, is_env: bool
) -> tuple[float, int | None]:
    """``(gamma, horizon)`` by the rules of :func:`regret`."""
    if horizon is not None:
        horizon = check_int(horizon, "horizon", 0, "a number of steps")
        return (1.0 if gamma is None else check_gamma(gamma)), horizon
    if gamma is not None:
        return check_gamma(gamma), None
    if time_limit is not None:
        return 1.0, time_limit
    if is_env:
        raise ValueError(
            "the env has no TimeLimit wrapper, so there is no horizon to take from it; "
            "pass gamma= (infinite-horizon discounted return) or horizon= (the number "
            "of steps an episode may last)"
        )
    raise ValueError(
        "a TabularMDP holds no discount or horizon; pass gamma= (infinite-horizon "
        "discounted return) or horizon= (the number of steps an episode may last)"
    )
