r"""What every agent shares: the env it planned for, its policy, its figures and its file.

:class:`TabularAgent` holds a solver's result and a policy value
(:mod:`~rl_planners.agents.policies`), and answers questions; nothing about
it changes after construction (a :class:`FiniteHorizonAgent` reads the time
step from the observations of the env
:meth:`~rl_planners.agents.finite_horizon.FiniteHorizonAgent.wrap` returns, not
from itself). Acting, evaluating and
the exact figures all go through the policy value, so the stationary and the
time-dependent agents share them without hooks:

- :meth:`TabularAgent.act` and :meth:`TabularAgent.predict` give ``π(s)`` for
  one observation or a batch, the latter in Stable-Baselines3's shape;
- :meth:`TabularAgent.evaluate` plays episodes and reports the sampled returns
  beside their exact expectation (:func:`~rl_planners.agents.evaluation.evaluate_policy`);
- :meth:`TabularAgent.expected_return_within_limit` gives ``J_H = μ₀ · V^π_0``;
- :meth:`TabularAgent.save` writes one ``.npz``; each class declares what it
  saves (:meth:`TabularAgent.saved_parts`) and how it is restored
  (:meth:`TabularAgent.from_saved`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from gymnasium import spaces

from rl_planners.agents.env_match import check_env_matches, model_of, same_model
from rl_planners.agents.evaluation import EvaluationResult, evaluate_policy, expected_return
from rl_planners.agents.policies import (
    StationaryPolicy,
    TimeDependentPolicy,
    check_state,
    check_states,
)
from rl_planners.mdp import TabularMDP
from rl_planners.persistence import AgentFile, read_agent_file, write_agent_file
from rl_planners.result import FiniteHorizonResult, PlanningResult
from rl_planners.validation import check_int

__all__ = ["TabularAgent", "same_model", "subclass_named"]


class TabularAgent:
    """The state and the questions every agent shares; subclasses plan.

    A subclass's ``__init__`` plans and then calls :meth:`_hold` with what it
    found; loading restores the same parts with :meth:`from_saved`.
    """

    def _hold(
        self,
        *,
        result: PlanningResult | FiniteHorizonResult,
        plan: StationaryPolicy | TimeDependentPolicy,
        mdp: TabularMDP | None,
        gamma: float,
        options: Mapping[str, Any],
        env_id: str | None,
        max_episode_steps: int | None,
        n_actions: int,
        source: str | None = None,
    ) -> None:
        """Set every attribute; the only place an agent's state is written."""
        self._result = result
        self._plan = plan
        self._mdp = mdp
        self._gamma = float(gamma)
        self._options = MappingProxyType(dict(options))
        self._env_id = env_id
        self._max_episode_steps = max_episode_steps
        self._observation_space = spaces.Discrete(int(plan.actions.shape[-1]))
        self._action_space = spaces.Discrete(int(n_actions))
        self._source = source

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
    def result(self) -> PlanningResult | FiniteHorizonResult:
        """What the solver returned."""
        return self._result

    @property
    def V(self) -> np.ndarray:
        """The state values the solver returned."""
        return self._result.V

    @property
    def policy(self) -> np.ndarray:
        """The actions the agent takes: ``[S]`` (stationary) or ``[H, S]`` (by time step)."""
        return self._plan.actions

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
        return int(self._plan.select(check_state(obs, self.n_states, self._planned_for()), None))

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
        obs = check_states(observation, self.n_states, self._planned_for())
        actions = np.asarray(self._plan.select(obs, None), dtype=np.int64)
        return actions, state

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
        n_episodes = check_int(n_episodes, "n_episodes", 1)
        self._check_env(env)
        return evaluate_policy(
            self._plan,
            env,
            n_episodes,
            seed,
            max_steps=max_steps,
            mdp=self._model_of(env),
            planned_for=self._planned_for(),
        )

    def expected_return_within_limit(self, horizon: int | None = None, gamma: float = 1.0) -> float:
        """Exact expected return within a time limit: ``J_H = μ₀ · V^π_0``.

        ``V^π_0(s) = E_π[Σ_{t<H} γ^t r_{t+1} | s_0 = s]``, the episode cut
        after ``H`` steps as Gymnasium's ``TimeLimit`` cuts it
        (:func:`~rl_planners.solvers.horizon.finite_horizon_policy_value`).

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
        return expected_return(self.mdp, self._plan.for_horizon(horizon), gamma, horizon=horizon)

    def _check_env(
        self,
        env: Any,
        verb: str = "evaluate",
        vector_advice: str = "Pass one env, or use Stable-Baselines3's "
        "evaluate_policy(agent, vec_env), which calls predict.",
    ) -> None:
        """Raise ``ValueError`` unless ``env`` is one env with the spaces planned for."""
        spaces = (self._observation_space, self._action_space)
        check_env_matches(env, spaces, self._env_id, verb, vector_advice)

    def _model_of(self, env: Any) -> TabularMDP | None:
        """The model of ``env`` (warning if it differs from the one planned on)."""
        return model_of(env, self._mdp, self._env_id, stacklevel=4)

    # --------------------------------------------------------------- saving
    def saved_parts(self, include_model: bool = True) -> AgentFile:
        """What :meth:`save` writes: the result, the model and what the agent planned for."""
        mdp = None
        if include_model:
            try:
                mdp = self.mdp
            except AttributeError as error:
                raise ValueError(f"{error} To save it anyway, pass include_model=False.") from None
        return AgentFile(
            agent_class=type(self).__name__,
            env_id=self._env_id,
            gamma=self._gamma,
            options=dict(self._options),
            max_episode_steps=self._max_episode_steps,
            n_states=self.n_states,
            n_actions=self.n_actions,
            result=self._result,
            mdp=mdp,
        )

    @classmethod
    def from_saved(cls, parts: AgentFile, source: str) -> TabularAgent:
        """An agent of this class from what :meth:`saved_parts` wrote, without planning."""
        raise NotImplementedError(f"{cls.__name__} does not say how it is restored")

    def save(self, path: str | os.PathLike[str], *, include_model: bool = True) -> Any:
        """Write the agent to one ``.npz`` file, atomically; see :func:`rl_planners.save_agent`."""
        return write_agent_file(path, self.saved_parts(include_model))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TabularAgent:
        """Read an agent saved by :meth:`save` as its own class (this one or a subclass).

        Raises ``ValueError`` if the file holds an agent of another class
        (use :func:`rl_planners.load_agent` for any class).
        """
        parts = read_agent_file(path)
        found = subclass_named(cls, parts.agent_class)
        if found is None:
            raise ValueError(
                f"{os.fspath(path)!r} holds a {parts.agent_class}, not a {cls.__name__}: "
                f"use {parts.agent_class}.load or rl_planners.load_agent"
            )
        return found.from_saved(parts, os.fspath(path))


def subclass_named(cls: type, name: str) -> type | None:
    """``cls`` or the subclass of it named ``name`` (defined anywhere), or ``None``."""
    if cls.__name__ == name:
        return cls
    for subclass in cls.__subclasses__():
        found = subclass_named(subclass, name)
        if found is not None:
            return found
    return None
