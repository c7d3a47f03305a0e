"""Text pictures of a solution: ``V`` as a grid of numbers, the policy as arrows.

The functions that format take arrays and a grid shape, nothing else; the
ones that look at an environment (:func:`grid_shape`, :func:`action_arrows`)
say how to draw it, and :meth:`Layout.of` reads all of that from an env once.
:func:`describe_solution` then takes the model and the layout, not the env.
The CLI and the plots share them.

>>> import numpy as np
>>> print(format_values(np.array([0.5, 0.25, 1.0, 0.0]), (2, 2), precision=2))
0.50  0.25
1.00  0.00
>>> print(format_policy(np.array([2, 1, 2, 0]), (2, 2), "←↓→↑", terminal=[False] * 3 + [True]))
→ ↓
→ ·
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rl_planners.mdp import TabularMDP

__all__ = [
    "ASCII_ARROWS",
    "CLIFF_WALKING_ARROWS",
    "FROZEN_LAKE_ARROWS",
    "TERMINAL_MARK",
    "Layout",
    "action_arrows",
    "describe_solution",
    "format_policy",
    "format_table",
    "format_values",
    "grid_shape",
    "policy_symbols",
    "terminal_states",
]

FROZEN_LAKE_ARROWS = "←↓→↑"
"""Arrows of FrozenLake's actions (0 left, 1 down, 2 right, 3 up), also our grids' order."""

CLIFF_WALKING_ARROWS = "↑→↓←"
"""Arrows of CliffWalking's actions (0 up, 1 right, 2 down, 3 left)."""

ASCII_ARROWS = {
    "←": "<",
    "↓": "v",
    "→": ">",
    "↑": "^",
    "↙": "/",
    "↘": "\\",
    "↗": "/",
    "↖": "\\",
    "·": ".",
}
"""Plain-ASCII stand-ins for terminals that cannot print the arrows."""

TERMINAL_MARK = "·"
"""Drawn instead of an arrow where the action does not matter (terminal states)."""

MAX_GRID_SIDE = 40
""":func:`describe_solution` draws grids up to this many rows and columns."""

MAX_LISTED_STATES = 20
""":func:`describe_solution` lists this many states of an env that is not a grid."""

_DIRECTION_ARROWS = {
    "left": "←",
    "down": "↓",
    "right": "→",
    "up": "↑",
    "down-left": "↙",
    "down-right": "↘",
    "up-right": "↗",
    "up-left": "↖",
}
"""Arrow of each action name our grid envs use (``action_names``, lower-cased)."""


# ------------------------------------------------------------ the environment
def grid_shape(env: Any) -> tuple[int, int] | None:
    """``(n_rows, n_cols)`` of a grid env whose state is ``row * n_cols + col``, else None.

    Reads, in order, ``grid_shape``, ``shape`` (CliffWalking) and ``nrow``,
    ``ncol`` (FrozenLake and our grid envs) on ``env.unwrapped``, and accepts
    the shape only if it has as many cells as the env has states, so that
    Taxi (500 states on a 5x5 map) is not taken for a grid.
    """
    base = getattr(env, "unwrapped", env)
    n_states = getattr(getattr(base, "observation_space", None), "n", None)
    candidates = (
        getattr(base, "grid_shape", None),
        getattr(base, "shape", None),
        (getattr(base, "nrow", None), getattr(base, "ncol", None)),
    )
    for shape in candidates:
        if _is_shape(shape) and n_states is not None and shape[0] * shape[1] == int(n_states):
            return int(shape[0]), int(shape[1])
    return None


def action_arrows(env: Any) -> str | None:
    """One arrow per action of a grid env, in the env's action order, else None.

    Our grid envs name their actions (``action_names``: ``"Left"``, ...);
    FrozenLake moves 0 left, 1 down, 2 right, 3 up; CliffWalking 0 up,
    1 right, 2 down, 3 left. Other envs (Taxi) get None: draw action indices.
    """
    from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv
    from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv

    base = getattr(env, "unwrapped", env)
    names = getattr(base, "action_names", None)
    if names is not None:
        arrows = [_DIRECTION_ARROWS.get(str(name).lower()) for name in names]
        return "".join(arrows) if all(arrows) else None
    if isinstance(base, CliffWalkingEnv):
        return CLIFF_WALKING_ARROWS
    if isinstance(base, FrozenLakeEnv):
        return FROZEN_LAKE_ARROWS
    return None


def terminal_states(mdp: TabularMDP) -> np.ndarray:
    """``[S]`` bool: states where every action ends the episode with reward 0.

    Their value is 0 whatever the action (FrozenLake's holes and goal, our
    grids' ``G``, ``H`` and walls), so a policy picture shows no arrow there.
    """
    ends = np.all(mdp.termination_probability >= 1.0 - 1e-12, axis=1)
    return ends & np.all(mdp.R == 0.0, axis=1)


# ----------------------------------------------------------------- formatting
def format_values(
    V: np.ndarray, shape: tuple[int, int], *, precision: int = 3, separator: str = "  "
) -> str:
    """``V`` as a grid of numbers, right-aligned in columns.

    Parameters
    ----------
    V : array_like, shape (S,)
        State values, ``S = n_rows * n_cols``, state ``row * n_cols + col``.
    shape : tuple of int
        ``(n_rows, n_cols)``.
    precision : int
        Digits after the decimal point.
    separator : str
        Between columns.
    """
    grid = _as_grid(np.asarray(V, dtype=np.float64), shape, "V")
    cells = [[f"{value:.{precision}f}" for value in row] for row in grid]
    width = max(len(cell) for row in cells for cell in row)
    return "\n".join(separator.join(cell.rjust(width) for cell in row) for row in cells)


def policy_symbols(
    policy: np.ndarray,
    arrows: Sequence[str] | None = FROZEN_LAKE_ARROWS,
    *,
    terminal: np.ndarray | Sequence[bool] | None = None,
) -> list[str]:
    """The symbol of each state's action: its arrow, or :data:`TERMINAL_MARK`.

    Parameters
    ----------
    policy : array_like of int, shape (S,)
        The action of each state.
    arrows : sequence of str, optional
        The symbol of each action, in action order (:func:`action_arrows`);
        None uses the action indices.
    terminal : array_like of bool, shape (S,), optional
        States marked :data:`TERMINAL_MARK` (:func:`terminal_states`).

    Raises
    ------
    ValueError
        If the policy is not a vector of actions with a symbol each.
    """
    actions = np.asarray(policy)
    if actions.ndim != 1 or actions.size == 0 or actions.dtype.kind not in "iu":
        raise ValueError(
            f"policy must be a non-empty vector of integer actions, got shape "
            f"{actions.shape} and dtype {actions.dtype}"
        )
    symbols = [str(a) for a in range(int(actions.max()) + 1)] if arrows is None else list(arrows)
    if actions.min() < 0 or actions.max() >= len(symbols):
        raise ValueError(
            f"policy has actions {int(actions.min())}..{int(actions.max())} but there are "
            f"{len(symbols)} arrows ({''.join(symbols)!r}); give one arrow per action"
        )
    labels = [symbols[a] for a in actions]
    if terminal is not None:
        mask = np.asarray(terminal, dtype=bool)
        if mask.shape != actions.shape:
            raise ValueError(
                f"terminal must have one flag per state ({actions.size}), got shape {mask.shape}"
            )
        for state in np.flatnonzero(mask):
            labels[state] = TERMINAL_MARK
    return labels


def format_policy(
    policy: np.ndarray,
    shape: tuple[int, int],
    arrows: Sequence[str] | None = FROZEN_LAKE_ARROWS,
    *,
    terminal: np.ndarray | Sequence[bool] | None = None,
    ascii_only: bool = False,
) -> str:
    """A deterministic policy as a grid of arrows.

    Parameters
    ----------
    policy : array_like of int, shape (S,)
        The action of each state, ``S = n_rows * n_cols``.
    shape : tuple of int
        ``(n_rows, n_cols)``.
    arrows, terminal
        As in :func:`policy_symbols`.
    ascii_only : bool
        Replace the arrows by ``< v > ^`` (:data:`ASCII_ARROWS`), for
        terminals that cannot print them.
    """
    labels = policy_symbols(policy, arrows, terminal=terminal)
    if ascii_only:
        labels = [ASCII_ARROWS.get(label, label) for label in labels]
    grid = _as_grid(np.array(labels, dtype=object), shape, "policy")
    width = max(len(label) for label in labels)
    return "\n".join(" ".join(label.rjust(width) for label in row) for row in grid)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table: a header line, a rule, one line per row.

    Text columns are left-aligned, numbers (already formatted as text that
    starts with a digit, sign or ``.``) right-aligned.

    >>> print(format_table(["algorithm", "iterations"], [["vi", "12"], ["pi", "3"]]))
    algorithm  iterations
    ---------  ----------
    vi                 12
    pi                  3
    """
    table = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str], header: bool = False) -> str:
        padded = [
            cell.rjust(width) if not header and _numeric(cell) else cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ]
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers, header=True), rule, *(line(row) for row in table)])


@dataclass(frozen=True)
class Layout:
    """How to draw an env's states and actions: what the model does not say.

    Attributes
    ----------
    shape : tuple of int or None
        ``(n_rows, n_cols)`` of a grid env (:func:`grid_shape`), else None.
    arrows : str or None
        One arrow per action (:func:`action_arrows`), else None.
    action_names : tuple of str or None
        The env's name of each action (``env.unwrapped.action_name(a)``), if it has them.
    env_id : str or None
        ``env.spec.id``, if the env has one.
    """

    shape: tuple[int, int] | None = None
    arrows: str | None = None
    action_names: tuple[str, ...] | None = None
    env_id: str | None = None

    @classmethod
    def of(cls, env: Any) -> Layout:
        """The layout of ``env`` (wrapped or not), read once."""
        base = getattr(env, "unwrapped", env)
        action_name = getattr(base, "action_name", None)
        n_actions = getattr(getattr(base, "action_space", None), "n", None)
        names = None
        if callable(action_name) and n_actions is not None:
            names = tuple(str(action_name(action)) for action in range(int(n_actions)))
        spec = getattr(env, "spec", None)
        return cls(grid_shape(env), action_arrows(env), names, getattr(spec, "id", None))


def model_and_layout(source: Any, layout: Layout | None = None) -> tuple[TabularMDP, Layout]:
    """``source`` as a model and a layout: a :class:`TabularMDP` is its own model,
    drawn without a layout unless one is given; an env gives both (its model
    read with :meth:`TabularMDP.from_env`)."""
    if isinstance(source, TabularMDP):
        return source, Layout() if layout is None else layout
    return TabularMDP.from_env(source), Layout.of(source) if layout is None else layout


def describe_solution(
    mdp: TabularMDP | Any,
    V: np.ndarray,
    policy: np.ndarray,
    *,
    layout: Layout | None = None,
    ascii_only: bool = False,
) -> str:
    """``V`` and the policy of a model, as the command line prints them.

    A grid (``layout.shape``) of at most :data:`MAX_GRID_SIDE` rows and
    columns gets two grids, the values and the arrows (:func:`format_values`,
    :func:`format_policy`), and a legend; anything else a table of its first
    :data:`MAX_LISTED_STATES` states and a summary of ``V``.

    Parameters
    ----------
    mdp : TabularMDP or gymnasium.Env
        The model planned on: it gives the terminal states and the initial
        distribution. An env (as before) is read for both its model and its layout.
    V : array_like, shape (S,)
    policy : array_like of int, shape (S,)
    layout : Layout, optional
        How to draw the states and actions (:meth:`Layout.of` an env);
        default: none for a model (a table of states), the env's for an env.
    ascii_only : bool
        Draw ``< v > ^`` instead of arrows.
    """
    mdp, layout = model_and_layout(mdp, layout)
    values, actions = np.asarray(V, dtype=np.float64), np.asarray(policy)
    shape = layout.shape
    if shape is not None and max(shape) <= MAX_GRID_SIDE:
        arrows, terminal = layout.arrows, terminal_states(mdp)
        symbols = [str(a) for a in range(mdp.n_actions)] if arrows is None else list(arrows)
        dot = TERMINAL_MARK
        if ascii_only:
            symbols, dot = [ASCII_ARROWS.get(s, s) for s in symbols], ASCII_ARROWS[dot]
        legend = ", ".join(f"{symbol} = action {a}" for a, symbol in enumerate(symbols))
        if terminal.any():
            legend += f"; {dot} = terminal state"
        return "\n".join(
            [
                "V (state values, as on the map):",
                format_values(values, shape),
                "",
                "policy (greedy action in each state):",
                format_policy(actions, shape, arrows, terminal=terminal, ascii_only=ascii_only),
                f"({legend})",
            ]
        )
    lines = [] if shape is None else [f"(a {shape[0]}x{shape[1]} grid: too large to draw)"]
    rows = []
    for state in range(min(mdp.n_states, MAX_LISTED_STATES)):
        action = int(actions[state])
        named = layout.action_names is not None and action < len(layout.action_names)
        name = layout.action_names[action] if named else f"action {action}"
        label = str(action) if name == f"action {action}" else f"{action} ({name})"
        rows.append([str(state), f"{values[state]:.4f}", label])
    lines.append(format_table(["state", "V", "action"], rows))
    if mdp.n_states > len(rows):
        lines.append(f"... and {mdp.n_states - len(rows)} more states")
    lines.append(
        f"V over all states: min {values.min():.4f}, max {values.max():.4f}; "
        f"from the initial distribution {float(mdp.initial_distribution @ values):.4f}"
    )
    return "\n".join(lines)


# -------------------------------------------------------------------- helpers
def _is_shape(shape: Any) -> bool:
    if not isinstance(shape, tuple | list) or len(shape) != 2:
        return False
    return all(isinstance(n, int | np.integer) and not isinstance(n, bool) and n > 0 for n in shape)


def _as_grid(array: np.ndarray, shape: tuple[int, int], name: str) -> np.ndarray:
    n_rows, n_cols = shape
    if array.shape != (n_rows * n_cols,):
        raise ValueError(
            f"{name} must have one entry per cell of the {n_rows}x{n_cols} grid "
            f"({n_rows * n_cols}), got shape {array.shape}"
        )
    return array.reshape(n_rows, n_cols)


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "+-−." or cell in ("nan", "inf"))
