"""The time step of an episode, for agents whose policy depends on it.

:class:`TimeStepTracker` is the wrapper that counts the steps of an env's
episodes and stamps each observation with its time step
(:class:`TimedObservation`, made by
:meth:`~rl_planners.agents.finite_horizon.FiniteHorizonAgent.wrap`);
:func:`observed_time_step` reads the stamp for ``act(obs)``, and
:func:`recurrent_time_steps` reads Stable-Baselines3's recurrent ``state`` and
``episode_start`` for ``predict``. Every check names the value and what to do.
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np

from rl_planners.agents.policies import TimeDependentPolicy
from rl_planners.gym_env import env_name
from rl_planners.validation import check_int

__all__ = [
    "TimeStepTracker",
    "TimedObservation",
    "check_flags",
    "check_steps",
    "first_index",
    "observed_time_step",
    "planning_horizon",
    "recurrent_time_steps",
]


class TimedObservation(int):
    """A state index that carries the time step at which the env returned it.

    An ``int`` in every respect (comparisons, indexing, ``repr``, JSON), with
    two attributes more, read by :meth:`FiniteHorizonAgent.act
    <rl_planners.agents.finite_horizon.FiniteHorizonAgent.act>`:

    Attributes
    ----------
    t : int or None
        Steps the episode had taken when this observation was returned: the
        time step of the next action.
    episode_over : bool
        Whether the step that returned it ended the episode.
    """

    t: int | None
    episode_over: bool

    def __new__(cls, state: int, t: int | None = None, episode_over: bool = False):
        observation = super().__new__(cls, state)
        observation.t = t
        observation.episode_over = episode_over
        return observation

    __repr__ = int.__repr__
    __str__ = int.__str__


class TimeStepTracker(gym.Wrapper):
    """A wrapper that counts the steps of each episode and stamps its observations with them.

    Made by :meth:`FiniteHorizonAgent.wrap
    <rl_planners.agents.finite_horizon.FiniteHorizonAgent.wrap>`. It changes
    no value the env returns: an integer observation comes back as a
    :class:`TimedObservation`, the same ``int`` with the time step ``t`` of
    the next action attached, which is where the agent reads it. The
    tracker also records, after each ``reset`` and ``step``, how many steps
    the episode has taken, the last observation, and whether the episode
    has ended.

    Attributes
    ----------
    elapsed_steps : int or None
        Steps taken since the last ``reset``: the time step ``t`` of the
        next action. ``None`` until the first ``reset``.
    last_observation : Any
        The observation the last ``reset`` or ``step`` returned.
    episode_over : bool
        Whether the last ``step`` reported ``terminated`` or ``truncated``.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.elapsed_steps: int | None = None
        self.last_observation: Any = None
        self.episode_over = False

    def _stamp(self, obs: Any) -> Any:
        if isinstance(obs, bool) or not isinstance(obs, int | np.integer):
            return obs
        return TimedObservation(int(obs), self.elapsed_steps, self.episode_over)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self.elapsed_steps, self.episode_over = 0, False
        self.last_observation = obs = self._stamp(obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        if self.elapsed_steps is None:
            raise gym.error.ResetNeeded("call env.reset() before env.step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.elapsed_steps += 1
        self.episode_over = bool(terminated or truncated)
        self.last_observation = obs = self._stamp(obs)
        return obs, reward, terminated, truncated, info


def observed_time_step(observation: Any, plan: TimeDependentPolicy, owner: str) -> int:
    """The time step ``observation`` carries (a :class:`TimedObservation`), checked.

    ``owner`` names the agent class in the messages.
    """
    t = getattr(observation, "t", None)
    if not isinstance(observation, TimedObservation) or t is None:
        raise ValueError(
            f"{owner}.act needs the time step of the episode and this observation does "
            "not carry it: call env = agent.wrap(env) once before the loop and reset and "
            "step the env it returns (not the env inside it), whose observations carry "
            "their time step; or pass it: agent.act(obs, t=<steps taken in the episode>)"
        )
    if observation.episode_over:
        raise ValueError(
            f"the episode this observation ended has ended (terminated or truncated "
            f"after {t} steps): call env.reset() before acting again"
        )
    return plan.check_time_step(t)


def recurrent_time_steps(
    shape: tuple[int, ...], state: Any, episode_start: Any, plan: TimeDependentPolicy, owner: str
) -> np.ndarray:
    """``t`` of each observation from ``state`` and ``episode_start`` (SB3's recurrence).

    Checked to lie in ``0..H-1`` for ``plan``; ``owner`` names the agent class
    in the messages.
    """
    size = int(np.prod(shape, dtype=np.int64))
    starts = None
    if episode_start is not None:
        starts = check_flags(episode_start, size, "episode_start").reshape(shape)
    if state is None:
        if starts is None or not starts.all():
            unknown = (
                "" if starts is None else f" (episode_start is False at {first_index(~starts)})"
            )
            raise ValueError(
                f"{owner}.predict needs the time step of each "
                f"observation{unknown}: pass episode_start=True at the first step of "
                "an episode (state=None then means t = 0) and afterwards the state "
                "predict returned, with episode_start=dones, as Stable-Baselines3's "
                "evaluate_policy does; or state=<steps taken in each episode>"
            )
        return np.zeros(shape, dtype=np.int64)
    t = check_steps(state, size).reshape(shape)
    if starts is not None:
        t = np.where(starts, 0, t)
    late = t >= plan.horizon
    if late.any():
        first = int(t[late].flat[0])
        where = f" at index {first_index(late)}" if t.ndim else ""
        raise ValueError(
            f"{plan.past_horizon(first)}{where}; with Stable-Baselines3 pass "
            "episode_start=dones so that the time step restarts with each episode"
        )
    return t


def check_flags(value: Any, size: int, name: str) -> np.ndarray:
    """``value`` as a bool array of ``size`` entries (bools, or 0/1 numbers), or raise."""
    try:
        array = np.asarray(value).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be booleans, got {value!r}") from error
    if array.size != size:
        raise ValueError(
            f"{name} must have one entry per observation ({size}), got {array.size}: {value!r}"
        )
    if array.dtype.kind != "b":
        if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
            raise ValueError(f"{name} must be booleans (or 0/1), got {value!r}")
        array = array != 0
    return array


def check_steps(value: Any, size: int) -> np.ndarray:
    """``state`` as an int64 array of ``size`` time steps ``>= 0``, or raise."""
    try:
        array = np.asarray(value).reshape(-1)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"state must hold the time step of each observation (ints), got {value!r}"
        ) from error
    if array.size != size:
        raise ValueError(
            f"state must hold one time step per observation ({size}), got {array.size}: "
            f"{value!r}; pass the state the previous predict returned"
        )
    if array.size and array.dtype.kind not in "iu":
        raise ValueError(
            f"state must hold integer time steps, got dtype {array.dtype}: {value!r}; "
            "pass the state the previous predict returned"
        )
    if (array < 0).any():
        raise ValueError(f"state holds a negative time step: {value!r}")
    return array.astype(np.int64)


def first_index(mask: np.ndarray) -> int:
    """The flat index of the first set entry of ``mask``."""
    return int(np.flatnonzero(mask.reshape(-1))[0])


def planning_horizon(env: Any, horizon: Any, limit: int | None) -> int:
    """The horizon to plan for: ``horizon``, or the env's time limit; warn if they differ."""
    if horizon is None:
        if limit is None:
            raise ValueError(
                f"{env_name(env)} has no time limit (no TimeLimit wrapper, "
                "max_episode_steps is None), so FiniteHorizonAgent cannot take its "
                "horizon from it: pass horizon=<steps>, and end episodes there "
                "(gymnasium.wrappers.TimeLimit(env, <steps>))"
            )
        return limit
    horizon = check_int(horizon, "horizon", 1, "the number of steps")
    if limit is not None and horizon < limit:
        warnings.warn(
            f"horizon={horizon} is shorter than the time limit of {env_name(env)} "
            f"({limit} steps): the agent has no action after step {horizon - 1} and "
            f"raises there if the episode is still running; leave horizon=None to plan "
            f"for the env's limit, or cut episodes with TimeLimit(env, {horizon})",
            UserWarning,
            stacklevel=3,
        )
    elif limit is not None and horizon > limit:
        warnings.warn(
            f"horizon={horizon} is longer than the time limit of {env_name(env)} "
            f"({limit} steps): the plan is optimal for {horizon}-step episodes, not for "
            f"the env's {limit}; leave horizon=None to plan for the env's limit",
            UserWarning,
            stacklevel=3,
        )
    return horizon
