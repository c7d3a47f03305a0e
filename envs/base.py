"""The :class:`TabularEnv` base: a Gymnasium environment backed by a :class:`TabularMDP`.

Subclasses only build the model (and, for grids, a layout to draw); sampling,
``P``, seeding and text rendering live here once.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rl_planners.mdp import TabularMDP

__all__ = ["TabularEnv"]


class TabularEnv(gym.Env[int, int]):
    """A ``gymnasium.Env`` whose dynamics are exactly a finite MDP.

    ``step`` samples one outcome of the pair ``(s, a)`` from the model with the
    env's own ``np_random``, so seeded runs are reproducible and the empirical
    frequencies of outcomes are those of ``P``.

    Parameters
    ----------
    mdp : TabularMDP
        The model: transitions, rewards, per-outcome termination and the
        initial distribution.
    render_mode : {None, "ansi"}, optional
        ``"ansi"`` returns a text picture of the current state. Grid
        environments also offer ``"rgb_array"``.

    Attributes
    ----------
    mdp : TabularMDP
        The model; ``TabularMDP.from_env`` reads it directly (no dicts).
    P : dict
        The model in Gymnasium's toy-text form,
        ``P[s][a] = [(prob, next_state, reward, terminated), ...]``. Built on
        first access and cached, so a large env costs no Python objects until
        someone reads it.
    initial_state_distrib : numpy.ndarray
        ``[S]`` the distribution of the first state (read-only), as in toy_text.
    s : int or None
        The current state; ``None`` until the first ``reset``.
    lastaction : int or None
        The last action taken, for rendering.

    Notes
    -----
    Termination is per outcome: ``terminated`` is the flag of the sampled
    outcome. Truncation is left to the ``TimeLimit`` wrapper that
    ``gymnasium.make`` adds (``max_episode_steps`` of the registration).
    ``info`` holds ``"prob"``, the probability of the sampled outcome (or, after
    ``reset``, of the initial state), as in FrozenLake.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(self, mdp: TabularMDP, render_mode: str | None = None) -> None:
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
        modes = self.metadata["render_modes"]
        if render_mode is not None and render_mode not in modes:
            raise ValueError(f"render_mode must be one of {modes} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.mdp = mdp
        self.observation_space = spaces.Discrete(mdp.n_states)
        self.action_space = spaces.Discrete(mdp.n_actions)
        self.initial_state_distrib = mdp.initial_distribution
        self._initial_cdf = np.cumsum(mdp.initial_distribution)  # [S]
        self.s: int | None = None
        self.lastaction: int | None = None

    @cached_property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """``P[s][a] = [(prob, next_state, reward, terminated), ...]``, built once."""
        return self.mdp.to_transitions()

    # ------------------------------------------------------------- the loop
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Draw the first state from ``initial_state_distrib``.

        Returns
        -------
        observation : int
            The state.
        info : dict
            ``{"prob": P(s_0 = observation)}``.
        """
        super().reset(seed=seed)
        state = _sample(self._initial_cdf, self.np_random)
        self.s = state
        self.lastaction = None
        return state, {"prob": float(self.mdp.initial_distribution[state])}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Sample ``(s', r, terminated)`` from the outcomes of ``(s, action)``.

        Returns
        -------
        observation, reward, terminated, truncated, info
            ``truncated`` is always ``False`` here; ``info["prob"]`` is the
            probability of the sampled outcome.

        Raises
        ------
        gymnasium.error.ResetNeeded
            If called before ``reset``.
        ValueError
            If ``action`` is not an action index ``0..A-1``.
        """
        if self.s is None:
            raise gym.error.ResetNeeded("call env.reset() before env.step()")
        a = self._action_index(action)
        mdp = self.mdp
        row = self.s * mdp.n_actions + a
        start, stop = int(mdp.row_offsets[row]), int(mdp.row_offsets[row + 1])
        k = start + _sample(np.cumsum(mdp.prob[start:stop]), self.np_random)
        state = int(mdp.next_state[k])
        self.s = state
        self.lastaction = a
        return (
            state,
            float(mdp.reward[k]),
            bool(mdp.terminated[k]),
            False,
            {"prob": float(mdp.prob[k])},
        )

    def _action_index(self, action: Any) -> int:
        n_actions = self.mdp.n_actions
        try:
            a = int(action)
        except (TypeError, ValueError):
            a = -1
        if isinstance(action, bool) or a != action or not 0 <= a < n_actions:
            raise ValueError(f"action must be an integer in 0..{n_actions - 1}, got {action!r}")
        return a

    # ------------------------------------------------------------ rendering
    def render(self) -> str | np.ndarray | None:
        """Render the current state as ``render_mode`` asks (text or an image)."""
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                "You can specify the render_mode at initialization, e.g. "
                f'gym.make("{self.spec.id if self.spec else type(self).__name__}", '
                'render_mode="ansi")'
            )
            return None
        if self.s is None:
            raise gym.error.ResetNeeded("call env.reset() before env.render()")
        if self.render_mode == "ansi":
            return self._render_text()
        return self._render_rgb()

    def _render_text(self) -> str:
        """The ``"ansi"`` frame; subclasses describe their state in words."""
        return f"state {self.s}{self._last_action_text()}\n"

    def _render_rgb(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no rgb_array rendering")

    def action_name(self, action: int) -> str:
        """A short human-readable name of ``action`` (used by ``render``)."""
        return f"action {action}"

    def _last_action_text(self) -> str:
        if self.lastaction is None:
            return ""
        return f"  ({self.action_name(self.lastaction)})"


def _sample(cdf: np.ndarray, rng: np.random.Generator) -> int:
    """Index ``k`` drawn with probability ``Δcdf[k]`` by inversion (one uniform draw).

    ``cdf`` is the running sum of non-negative weights; it is rescaled by its
    total so a row summing to ``1 ± 1e-6`` is sampled exactly in proportion,
    and a weight of 0 is never drawn.
    """
    total = cdf[-1]
    k = int(np.searchsorted(cdf, rng.random() * total, side="right"))
    if k == cdf.size:  # u * total rounded up to the total: take the last positive weight
        k = int(np.searchsorted(cdf, total, side="left"))
    return k
