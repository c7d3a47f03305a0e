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
  :func:`rl_planners.persistence.load_agent` reads back without replanning.

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

import inspect
import os
import warnings
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.evaluation import (
    EvaluationResult,
    check_episode_count,
    expected_return,
    run_episodes,
    step_limit,
    time_limit,
    warn_cut,
)
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.solvers import modified_policy_iteration, policy_iteration, value_iteration
from rl_planners.validation import check_gamma

__all__ = [
    "ModifiedPolicyIterationAgent",
    "PlanningAgent",
    "PolicyIterationAgent",
    "ValueIterationAgent",
]

AGENT_CLASSES: dict[str, type[PlanningAgent]] = {}
"""Every agent class by name, so that a saved agent can be loaded as its class."""

RUN_CONTROLS = frozenset({"callback", "interruptible"})
"""Solver options that steer how planning runs, not what it computes: passed to
the solver but not kept in ``agent.options`` (nor saved)."""


class PlanningAgent:
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
        ``callback`` and ``interruptible`` (:data:`RUN_CONTROLS`).
    env_id : str or None
        ``env.spec.id`` of the env planned for, if it has one.
    max_episode_steps : int or None
        The time limit of the env planned for, if it has one.
    observation_space, action_space : gymnasium.spaces.Discrete
        The spaces planned for.

    Notes
    -----
    A subclass whose policy depends on the time step (finite horizon) reuses
    :meth:`evaluate` and the exact figures by overriding two hooks:
    ``_act(states, t)``, the actions in ``states`` at step ``t`` of the
    episode (``t`` is ``None`` from :meth:`act` and :meth:`predict`), and
    ``_policy_for_horizon(horizon)``, the policy as
    :func:`~rl_planners.horizon.finite_horizon_policy_value` takes it.
    """

    solver: ClassVar[Callable[..., PlanningResult]]
    """The solver, called as ``solver(mdp, gamma, **options)``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        AGENT_CLASSES[cls.__name__] = cls

    def __init__(self, env: Any, gamma: float = 0.99, **solver_options: Any) -> None:
        solver = getattr(type(self), "solver", None)
        if solver is None:
            raise TypeError(
                f"{type(self).__name__} names no solver: use ValueIterationAgent, "
                "PolicyIterationAgent or ModifiedPolicyIterationAgent, or set the "
                "class attribute solver = staticmethod(<solver function>)"
            )
        gamma = check_gamma(gamma)
        _check_options(type(self).__name__, solver, solver_options)
        mdp = TabularMDP.from_env(env)
        result = solver(mdp, gamma, **solver_options)
        self._setup(
            result=result,
            mdp=mdp,
            gamma=gamma,
            options={k: v for k, v in solver_options.items() if k not in RUN_CONTROLS},
            env_id=_env_id(env),
            max_episode_steps=time_limit(env),
        )

    def _setup(
        self,
        *,
        result: PlanningResult,
        mdp: TabularMDP | None,
        gamma: float,
        options: Mapping[str, Any],
        env_id: str | None,
        max_episode_steps: int | None,
        source: str | None = None,
        n_actions: int | None = None,
    ) -> None:
        """Set every attribute; the only place an agent's state is written.

        ``n_actions`` defaults to the width of ``result.Q`` (a subclass whose
        result may hold no ``Q`` passes it).
        """
        from gymnasium import spaces

        n_states = np.shape(result.policy)[-1]
        if n_actions is None:
            n_actions = np.shape(result.Q)[1]
        self._result = result
        self._mdp = mdp
        self._gamma = float(gamma)
        self._options = MappingProxyType(dict(options))
        self._env_id = env_id
        self._max_episode_steps = max_episode_steps
        self._observation_space = spaces.Discrete(n_states)
        self._action_space = spaces.Discrete(n_actions)
        self._policy = result.policy  # [S] int64, read-only
        self._source = source

    @classmethod
    def _from_parts(cls, **parts: Any) -> PlanningAgent:
        """An agent from a stored result, without planning (used by loading)."""
        agent = cls.__new__(cls)
        agent._setup(**parts)
        return agent

    # ----------------------------------------------------------- attributes
    @property
    def mdp(self) -> TabularMDP:
        """The model planned on."""
        if self._mdp is None:
            raise AttributeError(
                f"this {type(self).__name__} was loaded from {self._source!r}, saved "
                "without its model (include_model=False), so it has no mdp: it can act, "
                "predict and evaluate (sampled figures only), but not compute exact "
                "returns. Save it with include_model=True, or plan again on the env."
            )
        return self._mdp

    @property
    def result(self) -> PlanningResult:
        """The solver's :class:`PlanningResult`."""
        return self._result

    @property
    def V(self) -> np.ndarray:
        """``[S]`` the state values the solver returned."""
        return self._result.V

    @property
    def Q(self) -> np.ndarray:
        """``[S, A]`` ``Q(s,a) = Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``."""
        return self._result.Q

    @property
    def policy(self) -> np.ndarray:
        """``[S]`` int64, the action the agent takes in each state."""
        return self._policy

    @property
    def gamma(self) -> float:
        """The discount factor planned with."""
        return self._gamma

    @property
    def options(self) -> Mapping[str, Any]:
        """The solver options planned with (read-only)."""
        return self._options

    @property
    def env_id(self) -> str | None:
        """``spec.id`` of the env planned for, or ``None``."""
        return self._env_id

    @property
    def max_episode_steps(self) -> int | None:
        """The ``TimeLimit`` of the env planned for, or ``None`` if it had none."""
        return self._max_episode_steps

    @property
    def observation_space(self) -> Any:
        """``Discrete(S)``, the observation space planned for."""
        return self._observation_space

    @property
    def action_space(self) -> Any:
        """``Discrete(A)``, the action space planned for."""
        return self._action_space

    @property
    def n_states(self) -> int:
        """``S``."""
        return int(self._observation_space.n)

    @property
    def n_actions(self) -> int:
        """``A``."""
        return int(self._action_space.n)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(env_id={self._env_id!r}, gamma={self._gamma}, "
            f"n_states={self.n_states}, n_actions={self.n_actions}, "
            f"converged={self._result.converged})"
        )

    # --------------------------------------------------------------- acting
    def act(self, obs: Any) -> int:
        """The action for one observation, ``π(obs)``, as a Python ``int``.

        Parameters
        ----------
        obs : int
            A state index in ``0..S-1`` (Python or NumPy integer, or a 0-d
            integer array).

        Raises
        ------
        ValueError
            If ``obs`` is not an integer state index in range.
        """
        return int(self._act(self._state_index(obs), None))

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """Actions for one observation or a batch, as Stable-Baselines3's ``predict``.

        Parameters
        ----------
        observation : int or array_like of int
            A state index (shape ``()``) or a batch of them (shape ``(n,)``, as
            a ``VecEnv`` gives them).
        state : any, optional
            Returned unchanged (a recurrent policy's hidden state; none here).
        episode_start : array_like of bool, optional
            Unused: the policy does not depend on the episode's history.
        deterministic : bool, default True
            Unused: the policy is deterministic, so sampling from it gives
            the same actions.

        Returns
        -------
        action : numpy.ndarray
            int64, of the observation's shape: ``()`` for one, ``(n,)`` for a batch.
        state : any
            ``state``, unchanged.

        Raises
        ------
        ValueError
            If an observation is not an integer state index in range, or the
            shape is neither ``()`` nor ``(n,)``.
        """
        obs = self._observations(observation)
        actions = np.asarray(self._act(obs, None), dtype=np.int64)
        return actions, state

    def _observations(self, observation: Any) -> np.ndarray:
        """``observation`` as int64 state indices of shape ``()`` or ``(n,)``, or raise."""
        try:
            obs = np.asarray(observation)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"observation must be a state index or a 1-d batch of them, got {observation!r}"
            ) from error
        if obs.ndim > 1:
            raise ValueError(
                f"unexpected observation shape {obs.shape} for a Discrete observation "
                "space: use () for one observation or (n_envs,) for a batch"
            )
        if obs.size == 0:
            return np.zeros(obs.shape, dtype=np.int64)
        if obs.dtype.kind not in "iu":
            raise ValueError(
                "observations must be integer state indices in "
                f"0..{self.n_states - 1}{self._planned_for()}; got {observation!r} "
                f"(dtype {obs.dtype})"
            )
        bad = np.flatnonzero((obs.reshape(-1) < 0) | (obs.reshape(-1) >= self.n_states))
        if bad.size:
            where = f" at index {bad[0]}" if obs.ndim else ""
            raise ValueError(
                f"observation {obs.reshape(-1)[bad[0]]}{where} is outside the state space "
                f"0..{self.n_states - 1}{self._planned_for()}"
            )
        return obs.astype(np.int64)

    def _act(self, states: Any, t: Any) -> Any:
        """Actions in validated ``states`` at step ``t`` (stationary: ``t`` is ignored)."""
        return self._policy[states]

    def _policy_for_horizon(self, horizon: int) -> np.ndarray:
        """The policy over ``horizon`` steps, as ``finite_horizon_policy_value`` takes it."""
        return self._policy

    def _state_index(self, obs: Any) -> int:
        """``obs`` as a state index, or a ``ValueError`` naming it and the valid range."""
        if type(obs) is int and 0 <= obs < self._observation_space.n:
            return obs
        index = obs
        if isinstance(obs, np.ndarray) and obs.ndim == 0:
            index = obs.item()
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            hint = (
                "; act takes one observation, use predict for a batch"
                if isinstance(obs, list | tuple | np.ndarray)
                else ""
            )
            raise ValueError(
                f"observation must be an integer state index in 0..{self.n_states - 1}"
                f"{self._planned_for()}; got {obs!r}{hint}"
            )
        if not 0 <= index < self.n_states:
            raise ValueError(
                f"observation {index} is outside the state space 0..{self.n_states - 1}"
                f"{self._planned_for()}"
            )
        return int(index)

    def _planned_for(self) -> str:
        return f" of {self._env_id!r} that the agent planned for" if self._env_id else ""

    # ----------------------------------------------------------- evaluating
    def evaluate(
        self,
        env: Any,
        n_episodes: int = 100,
        seed: int | None = None,
        *,
        max_steps: int | None = None,
    ) -> EvaluationResult:
        """Play the policy in ``env`` and report its returns beside the exact figure.

        Each episode runs until the env reports ``terminated`` or ``truncated``
        (its ``TimeLimit`` and other wrappers apply) and its return is the
        undiscounted sum of rewards, as Gymnasium reports it. The exact
        expected return within the same step limit ``H``,
        ``J_H = μ₀ · V^π_0`` (γ = 1, :func:`~rl_planners.evaluation.expected_return`),
        is computed from the model of ``env`` and is what ``mean_return``
        estimates, within a few ``standard_error``. An agent whose policy
        depends on the time step (:class:`~rl_planners.finite_horizon_agent.FiniteHorizonAgent`)
        acts with ``π_t`` at step ``t``; its class notes say how it bounds ``H``.

        Parameters
        ----------
        env : gymnasium.Env
            A single env with the spaces planned for, wrapped or not.
        n_episodes : int, default 100
        seed : int, optional
            Seeds the first ``env.reset``; the later resets continue the env's
            random stream, so the same seed gives the same episodes.
        max_steps : int, optional
            Cut an episode after this many steps if the env has not ended it.
            Default: the env's time limit, or
            :data:`~rl_planners.evaluation.DEFAULT_MAX_STEPS` if it has none
            (CliffWalking-v1 has none), so that every evaluation ends. A
            warning says when episodes were cut.

        Returns
        -------
        EvaluationResult
            ``mean_return``, ``std_return``, ``mean_length``, ``returns``,
            ``lengths``, ``standard_error``, ``horizon``, ``expected_return``
            (``J_H``) and ``expected_return_unlimited`` (``J_∞`` at γ = 1,
            ``None`` if undefined); both exact figures are ``None`` if ``env``
            exposes no model.

        Raises
        ------
        ValueError
            If ``env`` is a vectorised env, or its spaces differ from the ones
            planned for.

        Warns
        -----
        UserWarning
            If ``env``'s model differs from the one planned on (the figures
            are for ``env``), or episodes were cut at ``max_steps``.
        """
        n_episodes = check_episode_count(n_episodes)
        self._check_env(env)
        horizon = self._evaluation_horizon(env, max_steps)
        mdp = self._model_of(env)
        n_states, policy = self._observation_space.n, self._policy
        stationary = type(self)._act is PlanningAgent._act

        def choose_action(obs: Any, t: int) -> int:
            if stationary and type(obs) is int and 0 <= obs < n_states:
                return int(policy[obs])  # the common case, without the general checks
            return int(self._act(self._state_index(obs), t))

        returns, lengths, n_cut = run_episodes(env, choose_action, n_episodes, seed, horizon)
        if n_cut:
            self._warn_cut(n_cut, n_episodes, horizon)
        exact = unlimited = None
        if mdp is not None:
            exact = expected_return(mdp, self._policy_for_horizon(horizon), 1.0, horizon=horizon)
            unlimited = self._unlimited_return(mdp)
        return EvaluationResult(
            returns=returns,
            lengths=lengths,
            horizon=horizon,
            expected_return=exact,
            expected_return_unlimited=unlimited,
            n_cut=n_cut,
            seed=seed,
        )

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
        return expected_return(self.mdp, self._policy, gamma)

    def expected_return_within_limit(self, horizon: int | None = None, gamma: float = 1.0) -> float:
        """Exact expected return within a time limit: ``J_H = μ₀ · V^π_0``.

        ``V^π_0(s) = E_π[Σ_{t<H} γ^t r_{t+1} | s_0 = s]``, the episode cut
        after ``H`` steps as Gymnasium's ``TimeLimit`` cuts it
        (:func:`~rl_planners.horizon.finite_horizon_policy_value`).

        Parameters
        ----------
        horizon : int, optional
            ``H``; default the time limit of the env planned for.
        gamma : float, default 1.0
            Discount; the default 1 gives the expected sum of rewards that an
            episode of the env returns, the figure :meth:`evaluate`'s
            ``mean_return`` estimates.

        Raises
        ------
        ValueError
            If ``horizon`` is not given and the env planned for had no time limit.
        """
        if horizon is None:
            horizon = self._max_episode_steps
            if horizon is None:
                name = repr(self._env_id) if self._env_id else "the env planned for"
                raise ValueError(
                    f"{name} has no time limit (max_episode_steps is None): pass "
                    "horizon=<steps>, or use expected_return(gamma=1.0) for the "
                    "return with no limit"
                )
        return expected_return(self.mdp, self._policy_for_horizon(horizon), gamma, horizon=horizon)

    def _evaluation_horizon(self, env: Any, max_steps: Any) -> int:
        """The step limit :meth:`evaluate` plays episodes under."""
        return step_limit(env, max_steps)

    def _warn_cut(self, n_cut: int, n_episodes: int, horizon: int) -> None:
        """Warn that :meth:`evaluate`, not the env, ended ``n_cut`` episodes."""
        warn_cut(n_cut, n_episodes, horizon, stacklevel=4)  # names evaluate's caller

    def _unlimited_return(self, mdp: TabularMDP) -> float | None:
        """``J_∞`` at γ = 1 in ``mdp``, or ``None`` where it is undefined."""
        try:
            return expected_return(mdp, self._policy, 1.0)
        except NonTerminatingPolicyError:
            return None

    def _check_env(
        self,
        env: Any,
        verb: str = "evaluate",
        vector_advice: str = "Pass one env, or use Stable-Baselines3's "
        "evaluate_policy(agent, vec_env), which calls predict.",
    ) -> None:
        """Raise ``ValueError`` unless ``env`` is one env with the spaces planned for.

        ``verb`` names the method asking (``evaluate``, ``wrap``) in the messages.
        """
        num_envs = getattr(env, "num_envs", None)
        if num_envs is not None:
            raise ValueError(
                f"{verb} takes a single Gymnasium env; got a vectorised env with "
                f"num_envs={num_envs}. {vector_advice}"
            )
        spaces = (getattr(env, "observation_space", None), getattr(env, "action_space", None))
        if spaces != (self._observation_space, self._action_space):
            raise ValueError(
                f"the agent planned for{' ' + repr(self._env_id) if self._env_id else ''} "
                f"with observation space {self._observation_space} and action space "
                f"{self._action_space}, but {_env_name(env)} has {spaces[0]} and "
                f"{spaces[1]}: {verb} with the env the agent planned for"
            )

    def _model_of(self, env: Any) -> TabularMDP | None:
        """The model of ``env`` (warning if it differs from the one planned on)."""
        base = getattr(env, "unwrapped", env)
        if (
            not isinstance(getattr(base, "mdp", None), TabularMDP)
            and getattr(base, "P", None) is None
        ):
            return None
        mdp = TabularMDP.from_env(env)
        if self._mdp is not None and mdp is not self._mdp and not _same_model(mdp, self._mdp):
            warnings.warn(
                f"{_env_name(env)}'s model differs from the one "
                f"{repr(self._env_id) + ' ' if self._env_id else ''}the agent planned on "
                "(another map or dynamics?): the policy may not be optimal there, and the "
                "exact figures are computed for the env evaluated on",
                UserWarning,
                stacklevel=3,
            )
        return mdp

    # --------------------------------------------------------------- saving
    def save(self, path: str | os.PathLike[str], *, include_model: bool = True) -> Any:
        """Write the agent to one ``.npz`` file; see :func:`rl_planners.persistence.save_agent`."""
        from rl_planners.persistence import save_agent

        return save_agent(self, path, include_model=include_model)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PlanningAgent:
        """Read an agent saved by :meth:`save`, without planning again.

        Raises ``ValueError`` if the file holds an agent of another class
        (use :func:`rl_planners.persistence.load_agent` for any class).
        """
        from rl_planners.persistence import load_agent

        agent = load_agent(path)
        if not isinstance(agent, cls):
            raise ValueError(
                f"{os.fspath(path)!r} holds a {type(agent).__name__}, not a {cls.__name__}: "
                f"use {type(agent).__name__}.load or rl_planners.persistence.load_agent"
            )
        return agent


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


# ---------------------------------------------------------------- helpers
def _check_options(agent: str, solver: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` for an option the solver does not take, listing those it does."""
    parameters = inspect.signature(solver).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"{agent} got unknown solver option(s) {', '.join(map(repr, unknown))}; "
            f"{getattr(solver, '__name__', 'its solver')} takes {', '.join(accepted) or 'none'}"
        )


def _env_id(env: Any) -> str | None:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or None


def _env_name(env: Any) -> str:
    env_id = _env_id(env)
    if env_id:
        return f"env {env_id!r}"
    return f"env {type(getattr(env, 'unwrapped', env)).__name__}"


def _same_model(a: TabularMDP, b: TabularMDP) -> bool:
    """Whether two models hold the same outcomes and initial distribution."""
    if (a.n_states, a.n_actions, a.n_outcomes) != (b.n_states, b.n_actions, b.n_outcomes):
        return False
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("row_offsets", "next_state", "prob", "reward", "terminated")
    ) and np.allclose(a.initial_distribution, b.initial_distribution)
