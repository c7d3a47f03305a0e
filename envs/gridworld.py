"""``rl_planners/GridWorld-v0``: a grid world read from an ASCII map."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.grid import Grid, GridEnv, grid_world_outcomes, parse_map
from envs.options import check_finite, check_probability
from rl_planners.mdp import TabularMDP

__all__ = ["DEFAULT_MAP", "GridWorldEnv"]

DEFAULT_MAP = ("S...", ".H.H", "...H", "H..G")
"""FrozenLake's 4x4 map, in this env's characters."""


class GridWorldEnv(GridEnv):
    """A grid world from an ASCII map, with optional slipping.

    ## Description
    The agent walks on a grid from a start cell to a goal, avoiding holes and
    walls. With ``slip_probability=1/3`` and the default rewards it is
    Gymnasium's FrozenLake (``is_slippery=True``) on the same map; with the
    map and rewards of Russell & Norvig's 4x3 world (see the example) it is
    that world.

    ## Map
    One string per row: ``S`` start, ``.`` free, ``#`` wall, ``G`` goal,
    ``H`` hole. ``G`` and ``H`` are terminal.

    ## Action Space
    ``Discrete(4)``, as FrozenLake: 0 left, 1 down, 2 right, 3 up.

    ## Observation Space
    ``Discrete(n_rows * n_cols)``: ``state = row * n_cols + col``. Wall cells
    are states too, but cannot be entered.

    ## Transitions
    Action ``a`` moves one cell in its direction with probability
    ``1 - 2 * slip_probability`` and one cell in each perpendicular direction
    with probability ``slip_probability`` each. A move off the grid or into a
    wall leaves the agent in place (a *bump*). ``G``, ``H`` and ``#`` cells are
    zero-reward terminating self-loops (as FrozenLake's holes), so their
    value is 0.

    ## Rewards
    One reward per transition, the first that applies: ``goal_reward`` for
    entering ``G``, ``hole_reward`` for entering ``H``, ``bump_reward`` for a
    blocked move, ``step_reward`` otherwise.

    ## Starting State
    An ``S`` cell (uniformly at random if there are several).

    ## Episode End
    Terminated on entering ``G`` or ``H``. ``gym.make`` truncates after
    ``max_episode_steps=100``.

    ## Arguments
    desc : str or sequence of str, optional
        The map (default: FrozenLake's 4x4 map, :data:`DEFAULT_MAP`).
    slip_probability : float, default 0
        Probability of moving to each perpendicular side, in ``[0, 0.5]``.
    step_reward : float, default 0
    goal_reward : float, default 1
    hole_reward : float, optional
        Default: ``step_reward``.
    bump_reward : float, optional
        Default: ``step_reward``.
    render_mode : {None, "ansi", "rgb_array"}

    ## Example
    Russell & Norvig (2010), *Artificial Intelligence: A Modern Approach*,
    3rd ed., Figure 17.1 (their rewards are on states; entering a terminal
    earns its ±1 plus the step's -0.04):

    >>> env = GridWorldEnv(desc=["...G", ".#.H", "S..."], slip_probability=0.1,
    ...                    step_reward=-0.04, goal_reward=0.96, hole_reward=-1.04)
    >>> env.observation_space, env.action_space
    (Discrete(12), Discrete(4))

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        desc: str | Sequence[str] | None = None,
        slip_probability: float = 0.0,
        step_reward: float = 0.0,
        goal_reward: float = 1.0,
        hole_reward: float | None = None,
        bump_reward: float | None = None,
    ) -> None:
        cells = parse_map(DEFAULT_MAP if desc is None else desc, allowed="S.#GH")
        grid = Grid(cells)
        start = grid.mask("S")
        if not start.any():
            raise ValueError(f"desc must contain a start cell 'S', got {desc!r}")
        p = check_probability("slip_probability", slip_probability, maximum=0.5)
        step = check_finite("step_reward", step_reward)
        rewards = {
            "G": check_finite("goal_reward", goal_reward),
            "H": step if hole_reward is None else check_finite("hole_reward", hole_reward),
        }
        bump = step if bump_reward is None else check_finite("bump_reward", bump_reward)
        outcomes = grid_world_outcomes(
            grid,
            slip_probability=p,
            step_reward=step,
            bump_reward=bump,
            entry_rewards=rewards,
            terminal_chars="GH",
        )
        mdp = TabularMDP.from_outcomes(
            *outcomes, initial_distribution=start / np.count_nonzero(start)
        )
        super().__init__(mdp, grid, render_mode=render_mode)
