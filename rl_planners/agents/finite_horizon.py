r"""An agent that plans for the time limit the env enforces: acting on (state, time step).

Gymnasium scores its benchmarks within a time limit: ``gym.make`` wraps
FrozenLake-v1 in a ``TimeLimit`` of 100 steps, FrozenLake8x8-v1 and Taxi-v4
in one of 200. A stationary policy ``π(s)`` from the infinite-horizon
solvers is not optimal under that limit: with few steps left, the best
action differs from the one that is best with unlimited time. The optimal
policy for ``H`` steps depends on the time step ``t`` and is found exactly by
backward induction (:func:`~rl_planners.solvers.backward_induction`):

.. math::

    V_H = 0, \qquad
    Q_t(s, a) = R(s, a) + γ \sum_{s'} P_{\text{cont}}(s'|s, a) V_{t+1}(s'), \qquad
    V_t(s) = \max_a Q_t(s, a), \qquad π_t(s) = \operatorname{argmax}_a Q_t(s, a),

for ``t = H − 1, …, 0``. ``J_H^* = μ₀ · V_0`` is the best expected return
any policy reaches within ``H`` steps (Puterman 1994, Thm. 4.5.1): on
FrozenLake8x8-v1 within 200 steps, 0.9132, the "optimum = 0.91" of
Gymnasium's registry, where the stationary value-iteration policy
(γ = 0.99) reaches 0.8630.

:class:`FiniteHorizonAgent` holds ``π_t`` as an ``[H, S]`` array and needs
the time step to act. It gets it in one of three ways, and never guesses:

- ``env = agent.wrap(env)`` once, before the loop: the returned
  :class:`TimeStepTracker` counts the steps since the env's last ``reset``
  and stamps each observation with the count, which
  :meth:`FiniteHorizonAgent.act` reads from the observation. The count is
  the env's, not the agent's: it cannot drift if ``act`` is called twice
  for one step, and every ``env.reset()`` restarts it;
- ``agent.act(obs, t)``: the caller gives ``t``;
- :meth:`FiniteHorizonAgent.predict` carries ``t`` in the recurrent
  ``state``, as Stable-Baselines3 does for recurrent policies.

Without any of them, ``act`` raises ``ValueError`` saying what to do; it
never acts as if ``t = 0``.

The README's "Planning for the time limit" shows the loop.

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
   Programming*, Wiley, 1994, ch. 4 (finite-horizon MDPs; §4.5 backward
   induction).
.. [2] Stable-Baselines3, ``BasePolicy.predict`` and ``evaluate_policy``: the
   ``state`` / ``episode_start`` convention of recurrent policies.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from rl_planners.agents.base import TabularAgent
from rl_planners.agents.policies import TimeDependentPolicy, check_state, check_states
from rl_planners.agents.time_steps import (
    TimeStepTracker,
    observed_time_step,
    planning_horizon,
    recurrent_time_steps,
)
from rl_planners.gym_env import env_id, find_wrapper, time_limit
from rl_planners.mdp import TabularMDP
from rl_planners.persistence import AgentFile
from rl_planners.result import FiniteHorizonResult
from rl_planners.solvers import backward_induction, check_solver_options
from rl_planners.validation import check_choice, check_gamma

__all__ = ["FiniteHorizonAgent", "TimeStepTracker"]


class FiniteHorizonAgent(TabularAgent):
    r"""Optimal within a time limit: plans by backward induction, acts on (state, time step).

    Parameters
    ----------
    env : gymnasium.Env
        An env with ``Discrete`` spaces and a model, wrapped or not.
    horizon : int, optional
        ``H ≥ 1``, the number of steps to plan for. Default: the env's time
        limit (the smallest ``TimeLimit`` wrapping it, ``max_episode_steps``
        for ``gym.make``). A horizon other than the env's limit is allowed
        with a ``UserWarning`` that says what it costs: with ``H`` shorter,
        the agent has no action after step ``H − 1`` and raises there
        unless the episode has ended; with ``H`` longer, its plan is optimal
        for ``H``-step episodes, not for the env's.
    gamma : float, default 1.0
        Discount in ``[0, 1]``. The default 1 plans for the undiscounted
        return Gymnasium reports (the success rate on FrozenLake).
    keep : {"policy", "all"}, default "policy"
        What to keep of :func:`~rl_planners.solvers.backward_induction`:
        ``"policy"`` keeps ``π_t`` ``[H, S]`` and ``V_0`` (memory
        ``O(H·S + S·A)``); ``"all"`` also ``V_t`` ``[H + 1, S]`` and ``Q_t``
        ``[H, S, A]``.
    **solver_options
        Other options of ``backward_induction`` (``terminal_values``).

    Raises
    ------
    ValueError
        If ``horizon`` is not given and the env has no time limit, or is
        below 1; or ``gamma`` or ``keep`` is invalid.
    TypeError
        If ``horizon`` is not an int, or an option is not one
        ``backward_induction`` takes.
    ModelError
        If the env has no model or its spaces are not ``Discrete``.

    Warns
    -----
    UserWarning
        If ``horizon`` differs from the env's time limit.

    Attributes
    ----------
    horizon : int
        ``H``.
    policy : numpy.ndarray
        ``[H, S]`` int64, ``policy[t, s] = π_t(s)``, the action in ``s`` at
        step ``t`` of an episode (read-only).
    V : numpy.ndarray
        ``result.V``: ``[1, S]`` holding ``V_0`` with ``keep="policy"``,
        ``[H + 1, S]`` with ``keep="all"``; ``V[0]`` is ``V_0`` in both.
    Q : numpy.ndarray
        ``[H, S, A]`` ``Q_t(s, a)``; only with ``keep="all"``.
    result : FiniteHorizonResult
    mdp, gamma, options, env_id, max_episode_steps, observation_space, action_space
        As for :class:`~rl_planners.agents.PlanningAgent`.

    Notes
    -----
    **State.** The agent holds only what it planned; nothing changes after
    construction. :meth:`wrap` records nothing on the agent: the time step
    travels with each observation of the wrapped env
    (:class:`~rl_planners.agents.time_steps.TimedObservation`), and
    :meth:`act` without ``t`` reads it from the observation it is given.

    **Acting past the horizon.** At ``t ≥ H`` there is no planned action:
    ``act`` and ``predict`` raise ``ValueError`` rather than fall back to
    some stationary rule. With the default horizon the env truncates the
    episode at ``H`` and this cannot happen.

    **Evaluating.** :meth:`evaluate` is the base class's, acting at step
    ``t`` of each episode with ``π_t``. Its exact figure is
    ``J_h = μ₀ · V^π_0`` for the first ``h`` steps of the plan, ``h`` the
    step limit the episodes run under; ``expected_return_unlimited`` is
    ``None``. ``max_steps`` defaults to the env's time limit, or to ``H`` if
    the env has none (episodes still running are cut there and counted in
    ``n_cut``, without a warning). If episodes could run longer than ``H``
    (the env's limit or ``max_steps`` exceeds it) it raises ``ValueError``
    before playing: pass ``max_steps=H``, or plan for the env's limit.

    **Exact figures.** :meth:`expected_return_within_limit` is
    ``J_H(π) = μ₀ · V^π_0`` with ``V^π_H = 0``,
    ``V^π_t(s) = R(s, π_t(s)) + γ Σ_{s'} P_cont(s'|s, π_t(s)) V^π_{t+1}(s')``
    (:func:`~rl_planners.solvers.finite_horizon_policy_value` on the
    ``[H, S]`` policy). At the ``gamma`` planned with, and without
    ``terminal_values``, it equals ``μ₀ · V[0]`` from the backward induction
    itself: the optimum ``J_H^*``. A plan for
    ``H`` steps has no return without a time limit: :meth:`expected_return`
    raises.

    Examples
    --------
    >>> import gymnasium as gym
    >>> agent = FiniteHorizonAgent(gym.make("FrozenLake-v1"))
    >>> agent.horizon, agent.policy.shape
    (100, (100, 16))
    >>> actions, state = agent.predict([0, 0], episode_start=[True, True])
    >>> state
    array([1, 1])
    """

    solver = staticmethod(backward_induction)
    """The solver, called as ``solver(mdp, horizon, gamma, keep=..., **options)``."""

    def __init__(
        self,
        env: Any,
        horizon: int | None = None,
        gamma: float = 1.0,
        *,
        keep: Literal["policy", "all"] = "policy",
        **solver_options: Any,
    ) -> None:
        limit = time_limit(env)
        horizon = planning_horizon(env, horizon, limit)
        gamma = check_gamma(gamma)
        check_choice(keep, "keep", ("policy", "all"))
        check_solver_options(type(self).__name__, self.solver, solver_options)
        mdp = TabularMDP.from_env(env)
        result = self.solver(mdp, horizon, gamma, keep=keep, **solver_options)
        self._hold_plan(
            result,
            mdp=mdp,
            gamma=gamma,
            options={"keep": keep, **solver_options},
            env_id=env_id(env),
            max_episode_steps=limit,
            n_actions=mdp.n_actions,
        )

    def _hold_plan(self, result: FiniteHorizonResult, **parts: Any) -> None:
        limit = parts["max_episode_steps"]
        note = (
            "; the env planned for has no time limit"
            if limit is None
            else f"; the env planned for cuts episodes after {limit} steps"
        )
        self._hold(result=result, plan=TimeDependentPolicy(result.policy, note), **parts)
        self._horizon = int(result.horizon)

    @classmethod
    def from_saved(cls, parts: AgentFile, source: str) -> FiniteHorizonAgent:
        """An agent of this class from a saved file's parts, without planning."""
        if not isinstance(parts.result, FiniteHorizonResult):
            raise ValueError(
                f"{source!r} is inconsistent: it names a {parts.agent_class} but holds no horizon"
            )
        agent = cls.__new__(cls)
        agent._hold_plan(
            parts.result,
            mdp=parts.mdp,
            gamma=parts.gamma,
            options=parts.options,
            env_id=parts.env_id,
            max_episode_steps=parts.max_episode_steps,
            n_actions=parts.n_actions,
            source=source,
        )
        return agent

    # ----------------------------------------------------------- attributes
    @property
    def horizon(self) -> int:
        """``H``, the number of steps planned for."""
        return self._horizon

    @property
    def result(self) -> FiniteHorizonResult:
        """The :class:`~rl_planners.solvers.FiniteHorizonResult` of the backward induction."""
        return self._result

    @property
    def V(self) -> np.ndarray:
        """``[H + 1, S]`` ``V_t`` (``keep="all"``) or ``[1, S]`` ``V_0``; ``V[0]`` is ``V_0``."""
        return self._result.V

    @property
    def Q(self) -> np.ndarray:
        """``[H, S, A]`` ``Q_t(s, a)``; kept only when planned with ``keep="all"``."""
        if self._result.Q is None:
            raise AttributeError(
                f"this {type(self).__name__} kept only the policy and V_0 (keep='policy'); "
                "plan with FiniteHorizonAgent(env, keep='all') to keep Q_t for every step"
            )
        return self._result.Q

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(env_id={self._env_id!r}, horizon={self._horizon}, "
            f"gamma={self._gamma}, n_states={self.n_states}, n_actions={self.n_actions})"
        )

    # --------------------------------------------------------------- acting
    def wrap(self, env: Any) -> Any:
        """``env`` wrapped in a :class:`TimeStepTracker`, whose observations carry their time step.

        Call it once, before the loop, and reset and step the returned env
        from then on: each observation it returns is the same ``int`` with
        the episode's step count attached
        (:class:`~rl_planners.agents.time_steps.TimedObservation`), and
        :meth:`act` without ``t`` reads it there. If ``env`` already has a
        tracker among its wrappers, ``env`` is returned unchanged. The agent
        records nothing: one agent can act in several wrapped envs at once.

        Raises
        ------
        ValueError
            If ``env`` is a vectorised env, or its spaces differ from the
            ones planned for.
        """
        self._check_env(
            env,
            verb="wrap",
            vector_advice="Use predict(obs, state, episode_start), which keeps the time "
            "step of each env in state.",
        )
        if find_wrapper(env, TimeStepTracker) is None:
            env = TimeStepTracker(env)
        return env

    def act(self, obs: Any, t: int | None = None) -> int:
        """The action ``π_t(obs)`` at time step ``t`` of the episode, as a Python ``int``.

        Parameters
        ----------
        obs : int
            A state index in ``0..S-1``.
        t : int, optional
            Steps taken in the episode before this action (0 for the first).
            Default: the time step ``obs`` carries, if it came from an env
            :meth:`wrap` returned.

        Raises
        ------
        ValueError
            If ``obs`` is not a state index in range; if ``t`` is negative
            or at least ``horizon`` (no action is planned there); or, without
            ``t``, if ``obs`` carries no time step (no env was wrapped, or
            the env inside the wrapper was reset or stepped directly), or it
            ended its episode.
        TypeError
            If ``t`` is not an int.
        """
        state = check_state(obs, self.n_states, self._planned_for())
        if t is None:
            t = observed_time_step(obs, self._plan, type(self).__name__)
        else:
            t = self._plan.check_time_step(t)
        return int(self._plan.actions[t, state])

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions for one observation or a batch, as a Stable-Baselines3 recurrent policy.

        The recurrent ``state`` is the time step of each env: ``t`` of the
        observation given, and ``t + 1`` returned. ``episode_start[i]`` set
        restarts env ``i`` at ``t = 0``. That is the loop of
        Stable-Baselines3's ``evaluate_policy``: ``state=None`` and
        ``episode_start`` all ``True`` at the first call, then the returned
        state and ``episode_start = dones``.

        Parameters
        ----------
        observation : int or array_like of int
            A state index (shape ``()``) or a batch (shape ``(n,)``).
        state : array_like of int, optional
            ``t`` of each observation, of the observation's size, as the
            previous call returned it. ``None`` only where every
            ``episode_start`` is set.
        episode_start : array_like of bool, optional
            Whether each observation is the first of an episode (``t = 0``
            whatever ``state`` says); of the observation's size.
        deterministic : bool, default True
            Unused: the policy is deterministic.

        Returns
        -------
        action : numpy.ndarray
            int64, of the observation's shape.
        state : numpy.ndarray
            int64, of the observation's shape: ``t + 1``.

        Raises
        ------
        ValueError
            If an observation is not a state index in range; if ``state``
            is ``None`` and not every ``episode_start`` is set (the time step
            is unknown); if ``state`` or ``episode_start`` has the wrong size
            or values; or if a time step is at least ``horizon``.
        """
        obs = check_states(observation, self.n_states, self._planned_for())
        t = self._time_steps(obs.shape, state, episode_start)
        actions = np.asarray(self._plan.select(obs, t), dtype=np.int64)
        return actions, np.asarray(t + 1, dtype=np.int64)

    def _time_steps(self, shape: tuple[int, ...], state: Any, episode_start: Any) -> np.ndarray:
        """``t`` of each observation from ``state`` and ``episode_start`` (SB3's recurrence)."""
        return recurrent_time_steps(shape, state, episode_start, self._plan, type(self).__name__)

    def expected_return(self, gamma: float | None = None) -> float:
        """Undefined for a plan of ``H`` steps: raises ``ValueError``.

        Use :meth:`expected_return_within_limit`, the exact return within
        the time limit.
        """
        raise ValueError(
            f"a {type(self).__name__} planned {self._horizon} steps and has no action "
            "after them, so its return without a time limit is undefined: use "
            "expected_return_within_limit(), the exact return within the time limit"
        )

    def expected_return_within_limit(self, horizon: int | None = None, gamma: float = 1.0) -> float:
        """Exact expected return within a time limit: ``J_h = μ₀ · V^π_0``.

        ``V^π_h = 0``, ``V^π_t(s) = R(s, π_t(s)) + γ Σ_{s'} P_cont(s'|s, π_t(s)) V^π_{t+1}(s')``
        for the plan's first ``h`` steps
        (:func:`~rl_planners.solvers.finite_horizon_policy_value`).

        Parameters
        ----------
        horizon : int, optional
            ``h ≤ H``; default the time limit of the env planned for, or
            ``H`` if it had none.
        gamma : float, default 1.0
            Discount; 1 gives the expected sum of rewards of an episode.

        Raises
        ------
        ValueError
            If ``h`` exceeds the agent's horizon.
        """
        if horizon is None:
            limit = self._max_episode_steps
            horizon = self._horizon if limit is None else limit
        return super().expected_return_within_limit(horizon, gamma)
