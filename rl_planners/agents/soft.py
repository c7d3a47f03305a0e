r"""An agent that acts on the Boltzmann policy of soft (entropy-regularised) value iteration.

:class:`SoftValueIterationAgent` plans once with
:func:`~rl_planners.solvers.soft.soft_value_iteration` and keeps its result:
the soft values ``V(s) = τ log Σ_a exp(Q(s,a)/τ)`` and the Boltzmann policy
``π(a|s) = exp((Q(s,a) − V(s))/τ)``. It samples actions from ``π(·|s)`` with
its own generator, seeded by its ``seed`` option, so that the same seed gives
the same actions; ``deterministic=True`` takes the argmax of ``Q`` instead
(the lowest action among ties within float64 rounding, the library's tie rule,
:attr:`SoftPlanningResult.greedy <rl_planners.solvers.soft.SoftPlanningResult>`).

The generator is the only thing that changes after construction, as a random
stream does when it is drawn from; everything else is fixed.

Example
-------
>>> import gymnasium as gym
>>> agent = SoftValueIterationAgent(gym.make("FrozenLake-v1"), gamma=0.99,
...                                 temperature=0.01, seed=0)
>>> agent.act(0, deterministic=True) == int(agent.policy[0])
True
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rl_planners import gym_env
from rl_planners.agents.base import TabularAgent
from rl_planners.agents.evaluation import expected_return
from rl_planners.agents.policies import StationaryPolicy, check_state, check_states
from rl_planners.mdp import TabularMDP
from rl_planners.persistence import AgentFile
from rl_planners.result import PlanningResult
from rl_planners.solvers import check_solver_options
from rl_planners.solvers.soft import SoftPlanningResult, boltzmann_policy, soft_value_iteration
from rl_planners.validation import check_gamma

__all__ = ["SoftValueIterationAgent"]


class SoftValueIterationAgent(TabularAgent):
    """Plans with :func:`~rl_planners.solvers.soft.soft_value_iteration`; samples ``a ~ π(·|s)``.

    Parameters
    ----------
    env : gymnasium.Env
        An env with ``Discrete`` spaces and a model, wrapped or not.
    gamma : float, default 0.99
        Discount factor in [0, 1).
    temperature : float, default 1.0
        ``τ > 0``; as ``τ → 0`` the policy tends to the greedy one of value iteration.
    seed : int, optional
        Seeds the agent's own ``numpy.random.Generator`` that :meth:`act` and
        :meth:`predict` sample with.
    **solver_options
        ``tol``, ``max_iterations``, ``V0`` of the solver.

    Notes
    -----
    :meth:`evaluate` and :meth:`expected_return_within_limit` are those of
    every agent: they play and value the greedy policy (``deterministic=True``);
    :meth:`expected_return` values the Boltzmann policy the agent samples from.

    Attributes
    ----------
    result : SoftPlanningResult
        What the solver returned (``V``, ``Q``, ``policy`` ``[S, A]``, ``greedy`` ``[S]``).
    policy : numpy.ndarray
        ``[S]`` the greedy actions ``argmax_a Q(s, a)`` (what ``deterministic=True`` takes).
    action_probabilities : numpy.ndarray
        ``[S, A]`` the Boltzmann policy ``π(a|s)`` the agent samples from.
    temperature : float
    options : Mapping
        ``temperature``, ``seed`` and the solver options planned with.

    Raises
    ------
    TypeError
        An option the solver does not take.
    ValueError
        A bad ``gamma``, ``temperature`` or option (as the solver raises it).
    """

    def __init__(
        self,
        env: Any,
        gamma: float = 0.99,
        temperature: float = 1.0,
        *,
        seed: int | None = None,
        **solver_options: Any,
    ) -> None:
        gamma = check_gamma(gamma)
        check_solver_options(type(self).__name__, soft_value_iteration, solver_options)
        mdp = TabularMDP.from_env(env)
        result = soft_value_iteration(mdp, gamma, temperature, **solver_options)
        self._hold_soft(
            result,
            mdp=mdp,
            options={"temperature": result.temperature, "seed": seed, **solver_options},
            env_id=gym_env.env_id(env),
            max_episode_steps=gym_env.time_limit(env),
        )

    def _hold_soft(self, result: SoftPlanningResult, **parts: Any) -> None:
        self._hold(
            result=result,
            plan=StationaryPolicy(result.greedy),
            gamma=result.gamma,
            n_actions=result.Q.shape[1],
            **parts,
        )
        self._rng = np.random.default_rng(self._options.get("seed"))

    # ----------------------------------------------------------- attributes
    @property
    def result(self) -> SoftPlanningResult:
        """The solver's :class:`~rl_planners.solvers.soft.SoftPlanningResult`."""
        return self._result

    @property
    def Q(self) -> np.ndarray:
        """``[S, A]`` the soft action values."""
        return self._result.Q

    @property
    def temperature(self) -> float:
        """``τ``."""
        return float(self._result.temperature)

    @property
    def action_probabilities(self) -> np.ndarray:
        """``[S, A]`` the Boltzmann policy ``π(a|s)``; each row sums to 1."""
        return self._result.policy

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(env_id={self._env_id!r}, gamma={self._gamma}, "
            f"temperature={self.temperature}, n_states={self.n_states}, "
            f"n_actions={self.n_actions}, converged={self._result.converged})"
        )

    # --------------------------------------------------------------- acting
    def _sample(self, states: np.ndarray) -> np.ndarray:
        """``a ~ π(·|s)`` for each state, by inverse CDF on the agent's generator."""
        cumulative = np.cumsum(self._result.policy[states], axis=-1)  # [..., A]
        draws = self._rng.random(np.shape(states)) * cumulative[..., -1]
        actions = (cumulative <= draws[..., None]).sum(axis=-1)
        return np.minimum(actions, self.n_actions - 1).astype(np.int64)

    def act(self, obs: Any, deterministic: bool = False) -> int:
        """An action for one observation: sampled from ``π(·|obs)``, or the argmax.

        Parameters
        ----------
        obs : int
            A state index in ``0..S-1``.
        deterministic : bool, default False
            Take ``argmax_a Q(obs, a)`` (lowest index among ties) instead of sampling.

        Raises
        ------
        ValueError
            If ``obs`` is not an integer state index in range.
        """
        state = check_state(obs, self.n_states, self._planned_for())
        if deterministic:
            return int(self._plan.select(state))
        return int(self._sample(np.asarray(state)))

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Actions for one observation or a batch, as Stable-Baselines3's ``predict``.

        ``deterministic=False`` (Stable-Baselines3's default) samples each
        action from ``π(·|s)``; ``True`` takes the argmax (lowest index among
        ties). ``state`` is returned unchanged and ``episode_start`` unused.
        """
        obs = check_states(observation, self.n_states, self._planned_for())
        if deterministic:
            return np.asarray(self._plan.select(obs), dtype=np.int64), state
        return self._sample(np.asarray(obs)), state

    def expected_return(self, gamma: float | None = None) -> float:
        """Exact expected return of the Boltzmann policy: ``J_∞ = μ₀ · V^π``.

        ``V^π`` solves ``(I − γ P_π) V^π = R_π`` with ``P_π``, ``R_π``
        averaged over ``π(a|s)``. This is the plain (not entropy-regularised)
        return; ``gamma`` defaults to the agent's own.
        """
        gamma = self._gamma if gamma is None else gamma
        return expected_return(self.mdp, self._result.policy, gamma)

    # --------------------------------------------------------------- saving
    def saved_parts(self, include_model: bool = True) -> AgentFile:
        """The greedy actions, ``V``, ``Q`` and the options (``temperature``, ``seed``).

        The Boltzmann policy is not stored: loading recomputes it from ``Q``
        and ``temperature`` (:func:`~rl_planners.solvers.soft.boltzmann_policy`).
        """
        parts = super().saved_parts(include_model)
        soft = self._result
        stored = PlanningResult(
            V=soft.V,
            Q=soft.Q,
            policy=soft.greedy,
            iterations=soft.iterations,
            converged=soft.converged,
            residuals=soft.residuals,
            gamma=soft.gamma,
            wall_time=soft.wall_time,
            status="converged" if soft.converged else "max_iterations",
        )
        return dataclasses.replace(parts, result=stored)

    @classmethod
    def from_saved(cls, parts: AgentFile, source: str) -> SoftValueIterationAgent:
        """A saved agent, without planning; its generator starts again at ``seed``."""
        stored = parts.result
        if not isinstance(stored, PlanningResult) or "temperature" not in parts.options:
            raise ValueError(
                f"{source!r} is inconsistent: it names a {parts.agent_class} but holds no "
                "stationary result with a temperature"
            )
        temperature = float(parts.options["temperature"])
        result = SoftPlanningResult(
            V=stored.V,
            Q=stored.Q,
            policy=boltzmann_policy(stored.Q, temperature),
            greedy=stored.policy,
            iterations=stored.iterations,
            converged=stored.converged,
            residuals=stored.residuals,
            gamma=stored.gamma,
            temperature=temperature,
            wall_time=stored.wall_time,
        )
        agent = cls.__new__(cls)
        agent._hold_soft(
            result,
            mdp=parts.mdp,
            options=parts.options,
            env_id=parts.env_id,
            max_episode_steps=parts.max_episode_steps,
            source=source,
        )
        return agent
