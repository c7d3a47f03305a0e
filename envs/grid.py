"""What grid environments share: the layout, the moves, and :class:`GridEnv`.

A grid of ``n_rows x n_cols`` cells has one state per cell,
``state = row * n_cols + col``. Actions follow FrozenLake: 0 left, 1 down,
2 right, 3 up. A move off the grid or into a wall (``#``) leaves the agent
where it is, and is reported as a *bump*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from envs.base import TabularEnv
from envs.outcomes import make_absorbing
from envs.rendering import cell_colors, grid_image, grid_text
from rl_planners.mdp import TabularMDP

__all__ = [
    "ACTION_NAMES",
    "MOVES",
    "Grid",
    "GridEnv",
    "grid_world_outcomes",
    "parse_map",
]

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
ACTION_NAMES = ("Left", "Down", "Right", "Up")
MOVES = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], dtype=np.int64)
"""``[4, 2]`` the (Δrow, Δcol) of each action, in FrozenLake's order."""


def parse_map(desc: str | Sequence[str], *, allowed: str, option: str = "desc") -> np.ndarray:
    """Read an ASCII map into a ``[R, C]`` array of characters.

    Parameters
    ----------
    desc : str or sequence of str
        One string per row, or one multi-line string (blank lines and
        surrounding whitespace are ignored).
    allowed : str
        The characters a map may hold.
    option : str
        The keyword the map came from, for error messages.

    Raises
    ------
    ValueError
        If the map is empty, not rectangular, or holds a character outside
        ``allowed``.
    """
    if isinstance(desc, str):
        rows = [line.strip() for line in desc.strip().splitlines() if line.strip()]
    elif isinstance(desc, Sequence) and all(isinstance(line, str) for line in desc):
        rows = list(desc)
    else:
        raise ValueError(
            f"{option} must be a string or a sequence of strings (one per row), got {desc!r}"
        )
    if not rows or not rows[0]:
        raise ValueError(f"{option} must have at least one row and column, got {desc!r}")
    widths = {len(line) for line in rows}
    if len(widths) > 1:
        raise ValueError(
            f"{option} must be rectangular; its rows have lengths {[len(line) for line in rows]}"
        )
    cells = np.array([list(line) for line in rows], dtype="<U1")
    bad = np.argwhere(~np.isin(cells, list(allowed)))
    if bad.size:
        row, col = (int(i) for i in bad[0])
        raise ValueError(
            f"{option} has the unknown map character {str(cells[row, col])!r} at row {row}, "
            f"column {col}; expected one of {', '.join(map(repr, allowed))}"
        )
    return cells


class Grid:
    """A rectangular layout of map characters with the grid's geometry.

    Parameters
    ----------
    cells : numpy.ndarray
        ``[R, C]`` map characters; ``#`` marks a wall.
    """

    def __init__(self, cells: np.ndarray) -> None:
        self.cells = np.array(cells, dtype="<U1")
        self.cells.setflags(write=False)
        self.n_rows, self.n_cols = self.cells.shape
        self.n_states = self.n_rows * self.n_cols

    def mask(self, chars: str) -> np.ndarray:
        """``[S]`` whether each state's cell is one of ``chars``."""
        return np.isin(self.cells.reshape(-1), list(chars))

    def coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """``([S], [S])`` the row and column of every state."""
        return np.divmod(np.arange(self.n_states, dtype=np.int64), self.n_cols)

    def targets(self, moves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each move leads from each cell.

        Parameters
        ----------
        moves : numpy.ndarray
            ``[M, 2]`` (Δrow, Δcol) displacements.

        Returns
        -------
        next_state : numpy.ndarray
            ``[S, M]`` the cell reached, or the cell itself if the move would
            leave the grid or enter a wall.
        bumped : numpy.ndarray
            ``[S, M]`` bool, whether the move was blocked.
        """
        rows, cols = self.coordinates()
        new_rows = rows[:, None] + moves[None, :, 0]  # [S, M]
        new_cols = cols[:, None] + moves[None, :, 1]
        inside = (
            (new_rows >= 0) & (new_rows < self.n_rows) & (new_cols >= 0) & (new_cols < self.n_cols)
        )
        target = np.where(inside, new_rows * self.n_cols + new_cols, 0)
        bumped = ~inside | self.mask("#")[target]
        next_state = np.where(bumped, np.arange(self.n_states)[:, None], target)
        return next_state, bumped


def grid_world_outcomes(
    grid: Grid,
    *,
    slip_probability: float,
    step_reward: float,
    bump_reward: float,
    entry_rewards: Mapping[str, float],
    terminal_chars: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``(S, 4, 3)`` outcome arrays of a grid world with slips.

    Action ``a`` moves in its direction with probability ``1 - 2p`` and in
    each perpendicular direction, ``(a - 1) mod 4`` and ``(a + 1) mod 4``,
    with probability ``p`` (outcomes listed in that order, as FrozenLake
    lists them). The reward of an outcome is ``entry_rewards[c]`` if it enters
    a cell of character ``c`` listed there, else ``bump_reward`` if the move
    was blocked, else ``step_reward``. Entering a cell in ``terminal_chars``
    terminates. Terminal cells and walls are zero-reward terminating
    self-loops, so their value is 0 and every policy terminates from them.

    Returns
    -------
    next_state, prob, reward, terminated : numpy.ndarray
        ``[S, 4, 3]`` each, for :meth:`TabularMDP.from_outcomes`.
    """
    directions = (np.arange(4)[:, None] + np.array([-1, 0, 1])[None, :]) % 4  # [4, 3]
    targets, blocked = grid.targets(MOVES)  # [S, 4]
    next_state = targets[:, directions]  # [S, 4, 3]
    bumped = blocked[:, directions]
    p = slip_probability
    prob = np.broadcast_to(np.array([p, 1.0 - 2.0 * p, p]), next_state.shape).copy()
    reward = np.where(bumped, bump_reward, step_reward)
    cells = grid.cells.reshape(-1)
    for char, value in entry_rewards.items():
        reward = np.where((cells[next_state] == char) & ~bumped, value, reward)
    terminal = grid.mask(terminal_chars)
    terminated = terminal[next_state]
    absorbing = terminal | grid.mask("#")
    make_absorbing(absorbing, next_state, prob, reward, terminated)
    return next_state, prob, reward, terminated


class GridEnv(TabularEnv):
    """A :class:`TabularEnv` on a grid, drawn as text or as an RGB image.

    Parameters
    ----------
    mdp : TabularMDP
        The model, one state per cell (``state = row * n_cols + col``).
    grid : Grid
        The layout to draw.
    render_mode : {None, "ansi", "rgb_array"}, optional
    colors : numpy.ndarray, optional
        ``[R, C, 3]`` uint8 cell colours for ``"rgb_array"``; by default the
        colour of each map character.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "rgb_array"],
        "render_fps": 4,
    }
    action_names: tuple[str, ...] = ACTION_NAMES

    def __init__(
        self,
        mdp: TabularMDP,
        grid: Grid,
        render_mode: str | None = None,
        colors: np.ndarray | None = None,
    ) -> None:
        super().__init__(mdp, render_mode=render_mode)
        self.grid = grid
        self.desc = grid.cells
        self.nrow, self.ncol = grid.n_rows, grid.n_cols
        self._colors = cell_colors(grid.cells) if colors is None else colors

    def action_name(self, action: int) -> str:
        """The direction of ``action`` (``"Left"``, ``"Down"``, ...)."""
        return self.action_names[action]

    def _render_text(self) -> str:
        row, col = divmod(self.s, self.ncol)
        return grid_text(self.grid.cells, row, col, self._last_action_text())

    def _render_rgb(self) -> np.ndarray:
        row, col = divmod(self.s, self.ncol)
        return grid_image(self._colors, row, col)
