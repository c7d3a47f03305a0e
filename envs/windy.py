"""``rl_planners/WindyGridWorld-v0``: Sutton & Barto's windy gridworld (Example 6.5)."""

from __future__ import annotations

import numpy as np

from envs.grid import ACTION_NAMES, MOVES, Grid, GridEnv, parse_map
from envs.outcomes import make_absorbing
from envs.rendering import cell_colors
from rl_planners.mdp import TabularMDP

__all__ = ["WIND", "WindyGridWorldEnv"]

WIND = (0, 0, 0, 1, 1, 1, 2, 2, 1, 0)
"""Upward wind strength of each column (Sutton & Barto 2018, Figure of Example 6.5)."""

KING_MOVES = np.array([[1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=np.int64)
"""The diagonal (Δrow, Δcol) of actions 4..7: down-left, down-right, up-right, up-left."""

KING_ACTION_NAMES = (*ACTION_NAMES, "Down-left", "Down-right", "Up-right", "Up-left")

_MAP = (
    "..........",
    "..........",
    "..........",
    "S......G..",
    "..........",
    "..........",
    "..........",
)


class WindyGridWorldEnv(GridEnv):
    """The windy gridworld of Sutton & Barto, Example 6.5 (and Exercises 6.9, 6.10).

    ## Description
    A 7x10 grid with a start ``S`` (row 3, column 0) and a goal ``G`` (row 3,
    column 7). A crosswind pushes the agent upward by the strength of the
    column it moves from: 0 0 0 1 1 1 2 2 1 0 (:data:`WIND`). The shortest
    path takes 15 steps, 7 with king's moves.

    ## Action Space
    ``Discrete(4)``, as FrozenLake: 0 left, 1 down, 2 right, 3 up. With
    ``king_moves=True``, ``Discrete(8)``: also 4 down-left, 5 down-right,
    6 up-right, 7 up-left (Exercise 6.9).

    ## Observation Space
    ``Discrete(70)``: ``state = row * 10 + col``.

    ## Transitions
    From ``(row, col)``, action ``(Δrow, Δcol)`` leads to
    ``(clip(row + Δrow - w, 0, 6), clip(col + Δcol, 0, 9))`` where ``w`` is the
    wind of column ``col``: the move and the wind both act, and the result is
    clipped to the grid. With ``stochastic_wind=True`` (Exercise 6.10), in a
    column with wind, ``w`` is the column's strength minus 1, itself, or plus 1,
    each with probability 1/3; columns without wind stay calm. The goal is a
    zero-reward terminating self-loop.

    ## Rewards
    -1 on every transition, including the one into the goal.

    ## Starting State
    Always ``S`` (state 30).

    ## Episode End
    Terminated on entering the goal. ``gym.make`` truncates after
    ``max_episode_steps=1000``.

    ## Arguments
    king_moves : bool, default False
    stochastic_wind : bool, default False
    render_mode : {None, "ansi", "rgb_array"}

    ## References
    Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
    Introduction*, 2nd ed., Example 6.5, Exercises 6.9 and 6.10.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        king_moves: bool = False,
        stochastic_wind: bool = False,
    ) -> None:
        for name, value in (("king_moves", king_moves), ("stochastic_wind", stochastic_wind)):
            if not isinstance(value, bool | np.bool_):
                raise ValueError(f"{name} must be True or False, got {value!r}")
        grid = Grid(parse_map(_MAP, allowed="SG."))
        moves = np.concatenate([MOVES, KING_MOVES]) if king_moves else MOVES  # [A, 2]
        wind = np.array(WIND, dtype=np.int64)
        rows, cols = grid.coordinates()  # [S]
        gusts = np.array([-1, 0, 1] if stochastic_wind else [0])  # [K]
        column_wind = wind[cols]  # [S]
        strength = column_wind[:, None] + np.where(column_wind[:, None] > 0, gusts, 0)  # [S, K]
        new_rows = rows[:, None, None] + moves[None, :, 0, None] - strength[:, None, :]
        new_cols = cols[:, None, None] + moves[None, :, 1, None] + 0 * strength[:, None, :]
        next_state = np.clip(new_rows, 0, grid.n_rows - 1) * grid.n_cols + np.clip(
            new_cols, 0, grid.n_cols - 1
        )  # [S, A, K]
        prob = np.full(next_state.shape, 1.0 / gusts.size)
        reward = np.full(next_state.shape, -1.0)
        goal = grid.mask("G")
        terminated = goal[next_state]
        make_absorbing(goal, next_state, prob, reward, terminated)
        mdp = TabularMDP.from_outcomes(
            next_state, prob, reward, terminated, initial_distribution=grid.mask("S") * 1.0
        )
        colors = cell_colors(grid.cells)  # [R, C, 3]; free cells darker with more wind
        shade = np.broadcast_to(40 * wind[None, :, None], colors.shape)
        colors = np.where(grid.cells[:, :, None] == ".", colors - shade, colors)
        super().__init__(mdp, grid, render_mode=render_mode, colors=colors.astype(np.uint8))
        self.action_names = KING_ACTION_NAMES[: moves.shape[0]]
        self.king_moves = king_moves
        self.stochastic_wind = stochastic_wind

    def _render_text(self) -> str:
        return super()._render_text() + "".join(map(str, WIND)) + "  (wind)\n"
