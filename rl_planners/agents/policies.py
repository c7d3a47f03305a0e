"""Policies as small frozen values, and the checks of the observations they act on.

A policy answers ``action(state, t)``: :class:`StationaryPolicy` ignores the
time step (``π(s)``, an ``[S]`` array), :class:`TimeDependentPolicy` needs it
(``π_t(s)``, an ``[H, S]`` array, no action at ``t ≥ H``). Both give, for the
exact figures, the array :func:`~rl_planners.solvers.finite_horizon_policy_value`
takes for a horizon ``h``. The agents hold one; evaluation reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_planners.validation import check_int

__all__ = ["StationaryPolicy", "TimeDependentPolicy", "check_state", "check_states"]


def _read_only(array: Any) -> np.ndarray:
    frozen = np.array(array, dtype=np.int64)  # its own copy
    frozen.setflags(write=False)
    return frozen


@dataclass(frozen=True, eq=False)
class StationaryPolicy:
    """``π(s)``, the same action at every time step.

    Attributes
    ----------
    actions : numpy.ndarray
        ``[S]`` int64, read-only.
    """

    actions: np.ndarray  # [S]
    horizon = None
    """No horizon: a stationary policy acts at every step."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", _read_only(self.actions))

    def select(self, states: np.ndarray, t: Any = None) -> np.ndarray:
        """The actions in checked ``states`` (``t`` is ignored)."""
        return self.actions[states]

    def for_horizon(self, horizon: int) -> np.ndarray:
        """``[S]``: the same array for any horizon."""
        return self.actions


@dataclass(frozen=True, eq=False)
class TimeDependentPolicy:
    """``π_t(s)`` for ``t = 0 … H − 1``; no action is planned at ``t ≥ H``.

    Attributes
    ----------
    actions : numpy.ndarray
        ``[H, S]`` int64, read-only.
    limit_note : str
        What the messages say about the time limit of the env planned for.
    """

    actions: np.ndarray  # [H, S]
    limit_note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", _read_only(self.actions))

    @property
    def horizon(self) -> int:
        """``H``, the number of steps planned."""
        return int(self.actions.shape[0])

    def check_time_step(self, t: Any) -> int:
        """``t`` as an int in ``0..H-1``, or raise ``TypeError``/``ValueError``."""
        t = check_int(t, "t", 0, "steps taken in the episode")
        if t >= self.horizon:
            raise ValueError(self.past_horizon(t))
        return t

    def past_horizon(self, t: int) -> str:
        """The message for an action asked at step ``t ≥ H``."""
        return (
            f"time step {t} is past the horizon: the agent planned {self.horizon} steps "
            f"(t = 0..{self.horizon - 1}) and has no action after them{self.limit_note}. End "
            f"episodes at the horizon (gymnasium.wrappers.TimeLimit(env, {self.horizon})), "
            "or plan with a longer horizon"
        )

    def select(self, states: np.ndarray, t: Any) -> np.ndarray:
        """The actions in checked ``states`` at step ``t`` (an int or an array like ``states``)."""
        if isinstance(t, np.ndarray):  # checked time steps, one per state (predict)
            return self.actions[t, states]
        return self.actions[self.check_time_step(t), states]

    def for_horizon(self, horizon: int) -> np.ndarray:
        """``[h, S]``: the first ``h ≤ H`` steps of the plan."""
        horizon = check_int(horizon, "horizon", 0, "the number of steps")
        if horizon > self.horizon:
            raise ValueError(
                f"the agent planned {self.horizon} steps and has no action after them, "
                f"so its return within {horizon} steps is undefined: ask for horizon <= "
                f"{self.horizon}, or plan with FiniteHorizonAgent(env, horizon={horizon})"
            )
        return self.actions[:horizon]


def check_state(obs: Any, n_states: int, planned_for: str = "") -> int:
    """``obs`` as a state index in ``0..n_states-1``, or a ``ValueError`` naming it.

    ``planned_for`` ends the messages (e.g. ``" of 'FrozenLake-v1' that the
    agent planned for"``).
    """
    if type(obs) is int and 0 <= obs < n_states:
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
            f"observation must be an integer state index in 0..{n_states - 1}"
            f"{planned_for}; got {obs!r}{hint}"
        )
    if not 0 <= index < n_states:
        raise ValueError(
            f"observation {index} is outside the state space 0..{n_states - 1}{planned_for}"
        )
    return int(index)


def check_states(observation: Any, n_states: int, planned_for: str = "") -> np.ndarray:
    """``observation`` as int64 state indices of shape ``()`` or ``(n,)``, or a ``ValueError``."""
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
            f"observations must be integer state indices in 0..{n_states - 1}{planned_for}; "
            f"got {observation!r} (dtype {obs.dtype})"
        )
    flat = obs.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat >= n_states))
    if bad.size:
        where = f" at index {bad[0]}" if obs.ndim else ""
        raise ValueError(
            f"observation {flat[bad[0]]}{where} is outside the state space "
            f"0..{n_states - 1}{planned_for}"
        )
    return obs.astype(np.int64)
