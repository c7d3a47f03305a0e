r"""Agents: a planner solved once for an env, then acting in the ordinary env loop.

An agent reads the env's model (:meth:`TabularMDP.from_env`), runs its solver
once on construction and keeps the :class:`PlanningResult`. From then on it
only answers questions; nothing about it changes:

- :meth:`PlanningAgent.act` and :meth:`PlanningAgent.predict` give the greedy
  action ``π(s) = argmax_a Q(s, a)`` for one observation or a batch, the
  latter in Stable-Baselines3's shape, so ``evaluate_policy(agent, env)`` runs;
- :meth:`PlanningAgent.evaluate` plays episodes and reports the sampled
  returns beside their exact expectation (:mod:`rl_planners.evaluation`);
- :meth:`PlanningAgent.expected_return` and
  :meth:`PlanningAgent.expected_return_within_limit` give the exact expected
  return from the initial distribution, ``μ₀ · V^π``, with or without a time limit;
- :meth:`PlanningAgent.save` writes one ``.npz`` that
  :func:`rl_planners.load_agent` reads back without replanning.

All but the planning is :class:`~rl_planners.agents.base.TabularAgent`'s.

Example
-------
>>> import gymnasium as gym
>>> env = gym.make("FrozenLake-v1")
>>> agent = ValueIterationAgent(env, gamma=0.99)
>>> obs, info = env.reset(seed=0)
>>> while True:
...     obs, reward, terminated, truncated, info = env.step(agent.act(obs))
...     if terminated or truncated:
...         break
>>> agent.predict([0, 5, 14])[0]
array([0, 0, 1])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from rl_planners import gym_env
from rl_planners.agents.base import TabularAgent
from rl_planners.agents.evaluation import expected_return
from rl_planners.agents.policies import StationaryPolicy
from rl_planners.mdp import TabularMDP
from rl_planners.persistence import AgentFile
from rl_planners.result import PlanningResult
from rl_planners.solvers import (
    RUN_CONTROLS,
    check_solver_options,
    inexact_policy_iteration,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from rl_planners.validation import check_gamma

__all__ = [
    "InexactPolicyIterationAgent",
    "ModifiedPolicyIterationAgent",
    "PlanningAgent",
    "PolicyIterationAgent",
    "ValueIterationAgent",
]


class PlanningAgent(TabularAgent):
    """An agent that plans on construction and then acts greedily.

    Subclasses name their solver and nothing else::

        class ValueIterationAgent(PlanningAgent):
            solver = staticmethod(value_iteration)

    Parameters
    ----------
    env : gymnasium.Env
        An env with ``Discrete`` spaces and a model (``env.unwrapped.P``, or a
        :class:`TabularMDP` held by the env), wrapped or not.
    gamma : float, default 0.99
        Discount factor in [0, 1] to plan with.
    **solver_options
        Keyword options of the solver (e.g. ``tol``, ``max_iterations``).

    Raises
    ------
    ModelError
        If the env has no model or its spaces are not ``Discrete``.
    TypeError
        If an option is not one the solver takes.
    ValueError, NonTerminatingPolicyError
        As raised by the solver for a bad ``gamma`` or option.

    Attributes
    ----------
    mdp : TabularMDP
        The model planned on.
    result : PlanningResult
        What the solver returned.
    V, Q, policy : numpy.ndarray
        ``result.V`` ``[S]``, ``result.Q`` ``[S, A]`` and ``result.policy``
        ``[S]`` (read-only).
    gamma : float
    options : Mapping
        The solver options planned with (read-only), except the run controls
        ``callback`` and ``interruptible`` (:data:`~rl_planners.solvers.RUN_CONTROLS`).
    env_id : str or None
        ``env.spec.id`` of the env planned for, if it has one.
    max_episode_steps : int or None
        The time limit of the env planned for, if it has one.
    observation_space, action_space : gymnasium.spaces.Discrete
        The spaces planned for.

    """

    solver: ClassVar[Callable[..., PlanningResult]]
    """The solver, called as ``solver(mdp, gamma, **options)``."""

    def __init__(self, env: Any, gamma: float = 0.99, **solver_options: Any) -> None:
        solver = getattr(type(self), "solver", None)
        if solver is None:
            raise TypeError(
                f"{type(self).__name__} names no solver: use ValueIterationAgent, "
                "PolicyIterationAgent, ModifiedPolicyIterationAgent or "
                "InexactPolicyIterationAgent, or set the "
                "class attribute solver = staticmethod(<solver function>)"
            )
        gamma = check_gamma(gamma)
        check_solver_options(type(self).__name__, solver, solver_options)
        mdp = TabularMDP.from_env(env)
        result = solver(mdp, gamma, **solver_options)
        self._hold(
            result=result,
            plan=StationaryPolicy(result.policy),
            mdp=mdp,
            gamma=gamma,
            options={k: v for k, v in solver_options.items() if k not in RUN_CONTROLS},
            env_id=gym_env.env_id(env),
            max_episode_steps=gym_env.time_limit(env),
            n_actions=mdp.n_actions,
        )

    @property
    def result(self) -> PlanningResult:
        """The solver's :class:`PlanningResult`."""
        return self._result

    @property
    def Q(self) -> np.ndarray:
        """``[S, A]`` ``Q(s,a) = Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``."""
        return self._result.Q

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(env_id={self._env_id!r}, gamma={self._gamma}, "
            f"n_states={self.n_states}, n_actions={self.n_actions}, "
            f"converged={self._result.converged})"
        )

    @classmethod
    def from_saved(cls, parts: AgentFile, source: str) -> PlanningAgent:
        """An agent of this class from a saved file's parts, without planning."""
        if not isinstance(parts.result, PlanningResult):
            raise ValueError(
                f"{source!r} is inconsistent: it names a {parts.agent_class} but holds "
                "a time-dependent policy (horizon)"
            )
        agent = cls.__new__(cls)
        agent._hold(
            result=parts.result,
            plan=StationaryPolicy(parts.result.policy),
            mdp=parts.mdp,
            gamma=parts.gamma,
            options=parts.options,
            env_id=parts.env_id,
            max_episode_steps=parts.max_episode_steps,
            n_actions=parts.n_actions,
            source=source,
        )
        return agent

    def expected_return(self, gamma: float | None = None) -> float:
        """Exact expected return over the infinite horizon: ``J_∞ = μ₀ · V^π``.

        ``V^π`` solves ``(I − γ P_π) V^π = R_π`` for the agent's policy, and
        ``μ₀`` is the initial distribution of the env planned for.

        Parameters
        ----------
        gamma : float, optional
            Discount; default the agent's own. At ``γ = 1`` this is the
            expected undiscounted return with no time limit.

        Raises
        ------
        NonTerminatingPolicyError
            At ``γ = 1``, if the policy does not end the episode with
            probability 1 from some state it reaches (names them).
        """
        gamma = self._gamma if gamma is None else gamma
        return expected_return(self.mdp, self.policy, gamma)


class ValueIterationAgent(PlanningAgent):
    """Plans with :func:`~rl_planners.solvers.value_iteration`.

    Options: ``tol``, ``max_iterations``, ``V0``, ``stopping``. See
    :class:`PlanningAgent` for the rest.
    """

    solver = staticmethod(value_iteration)


class PolicyIterationAgent(PlanningAgent):
    """Plans with :func:`~rl_planners.solvers.policy_iteration`.

    Options: ``max_iterations``, ``policy0``. See :class:`PlanningAgent`.
    """

    solver = staticmethod(policy_iteration)


class ModifiedPolicyIterationAgent(PlanningAgent):
    """Plans with :func:`~rl_planners.solvers.modified_policy_iteration`.

    Options: ``m``, ``tol``, ``max_iterations``, ``V0``, ``stopping``. See
    :class:`PlanningAgent`.
    """

    solver = staticmethod(modified_policy_iteration)


class InexactPolicyIterationAgent(PlanningAgent):
    """Plans with :func:`~rl_planners.solvers.inexact_policy_iteration`.

    Options: ``tol``, ``max_iterations``, ``V0``, ``stopping``, ``inner_ratio``,
    ``max_inner``, ``backend``. For γ < 1 its greedy policy is ``tol``-optimal,
    as value iteration's. See :class:`PlanningAgent`.
    """

    solver = staticmethod(inexact_policy_iteration)
