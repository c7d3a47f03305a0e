"""Pictures of a solution with matplotlib: a value heatmap and a convergence plot.

matplotlib is an optional extra (``pip install "rl_planners[plot]"``); it is
imported when a plot is drawn, not when this module is.

Each function draws on the ``ax`` it is given, or on a new figure, and
returns the axes. To write a file without any GUI backend::

    from matplotlib.figure import Figure
    figure = Figure(figsize=(6, 4))
    value_heatmap(result.V, result.policy, (4, 4), ax=figure.add_subplot())
    figure.savefig("values.png")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rl_planners.interface.display import (
    FROZEN_LAKE_ARROWS,
    Layout,
    model_and_layout,
    policy_symbols,
    terminal_states,
)
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "convergence_figure",
    "convergence_plot",
    "require_matplotlib",
    "solution_figure",
    "value_heatmap",
]

_INSTALL_HINT = (
    'plotting needs matplotlib, an optional extra: pip install "rl_planners[plot]" '
    "(or pip install matplotlib)"
)
_MAX_ANNOTATED_CELLS = 400
"""Grids with more cells than this get no per-cell text (it would be unreadable)."""


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """``ax``, or the axes of a new pyplot figure (so notebooks show it)."""
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error
    _, ax = plt.subplots(figsize=figsize)
    return ax


def require_matplotlib() -> None:
    """Raise an ``ImportError`` that says what to install if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(_INSTALL_HINT) from error


def value_heatmap(
    V: np.ndarray,
    policy: np.ndarray | None,
    grid_shape: tuple[int, int],
    arrows: Sequence[str] | None = FROZEN_LAKE_ARROWS,
    ax: Axes | None = None,
    *,
    terminal: np.ndarray | None = None,
    annotate: bool | None = None,
    cmap: str = "viridis",
    title: str | None = "V and the greedy policy",
) -> Axes:
    """A heatmap of ``V`` over a grid, with the policy drawn as arrows.

    Parameters
    ----------
    V : array_like, shape (S,)
        State values; state ``row * n_cols + col`` is drawn at ``(row, col)``.
    policy : array_like of int, shape (S,), optional
        The action of each state; None draws no arrows.
    grid_shape : tuple of int
        ``(n_rows, n_cols)`` with ``n_rows * n_cols = S``
        (:func:`rl_planners.display.grid_shape` reads it from an env).
    arrows : sequence of str, optional
        The symbol of each action in action order: ``"←↓→↑"`` for FrozenLake
        and our grids (the default), ``"↑→↓←"`` for CliffWalking
        (:func:`rl_planners.display.action_arrows`). None writes action indices.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    terminal : array_like of bool, shape (S,), optional
        States drawn with a dot instead of an arrow.
    annotate : bool, optional
        Write the value in each cell. Default: on for grids of at most 400 cells.
    cmap : str
        The colour map.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    n_rows, n_cols = grid_shape
    values = np.asarray(V, dtype=np.float64)
    if values.shape != (n_rows * n_cols,):
        raise ValueError(
            f"V must have one value per cell of the {n_rows}x{n_cols} grid "
            f"({n_rows * n_cols}), got shape {values.shape}"
        )
    ax = _new_axes(ax, figsize=(max(4.0, 0.6 * n_cols + 2.0), max(3.0, 0.6 * n_rows + 1.0)))
    grid = values.reshape(n_rows, n_cols)
    image = ax.imshow(grid, cmap=cmap, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="V(s)")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    if annotate is None:
        annotate = n_rows * n_cols <= _MAX_ANNOTATED_CELLS
    if policy is None and not annotate:
        return ax
    labels = None if policy is None else policy_symbols(policy, arrows, terminal=terminal)
    if labels is not None and len(labels) != values.size:
        raise ValueError(
            f"policy must have one action per state ({values.size}), got {len(labels)}"
        )
    low, high = float(grid.min()), float(grid.max())
    middle = (low + high) / 2.0
    size = float(np.clip(140.0 / max(n_rows, n_cols), 5.0, 16.0))
    for state in range(values.size):
        row, col = divmod(state, n_cols)
        # Light text on the dark end of the map, dark text on the light end.
        color = "white" if values[state] <= middle and high > low else "black"
        arrow_row = row - 0.15 if annotate else row
        if labels is not None:
            ax.text(
                col,
                arrow_row,
                labels[state],
                ha="center",
                va="center",
                color=color,
                fontsize=size,
                fontweight="bold",
            )
        if annotate:
            ax.text(
                col,
                row + 0.28,
                f"{values[state]:.2f}",
                ha="center",
                va="center",
                color=color,
                fontsize=size * 0.55,
            )
    return ax


def convergence_plot(
    results: PlanningResult | Sequence[PlanningResult] | Mapping[str, PlanningResult],
    ax: Axes | None = None,
    *,
    title: str | None = "Convergence",
) -> Axes:
    """The residual of each iteration on a log scale, for one or several results.

    Parameters
    ----------
    results : PlanningResult, sequence of them, or mapping of name to result
        Each is drawn as one line of ``residuals[k]`` against ``k + 1``:
        ``‖V_{k+1} − V_k‖∞`` per sweep for value iteration, the Bellman
        residual of each policy for (modified) policy iteration. A mapping's
        keys label the lines.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    A residual of exactly 0 (policy iteration's last step can have one) has
    no place on a log scale and is left out of its line.
    """
    named = _named_results(results)
    ax = _new_axes(ax, figsize=(6.0, 4.0))
    for name, result in named.items():
        residuals = np.asarray(result.residuals, dtype=np.float64)
        iterations = np.arange(1, residuals.size + 1)
        shown = np.where(residuals > 0, residuals, np.nan)
        marker = "o" if residuals.size <= 30 else None
        ax.plot(iterations, shown, marker=marker, markersize=3, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("residual (sup-norm)")
    ax.grid(True, which="major", alpha=0.3)
    if title:
        ax.set_title(title)
    if any(name for name in named):
        ax.legend()
    return ax


def solution_figure(
    mdp: TabularMDP | Any,
    result: PlanningResult,
    label: str = "",
    *,
    layout: Layout | None = None,
) -> Figure:
    """A figure of a solve: the value heatmap with arrows (grids) and the convergence plot.

    Made without pyplot (no window, no global figure list), ready for
    ``figure.savefig("plan.png")``: 11 x 4.5 inches with both panels for a
    grid (``layout.shape``), 6 x 4 with the convergence plot alone otherwise,
    at 100 dpi.

    Parameters
    ----------
    mdp : TabularMDP or gymnasium.Env
        The model planned on (it gives the terminal states). An env (as
        before) is read for both its model and its layout.
    result : PlanningResult
    label : str
        The name of the planner, for the legend.
    layout : Layout, optional
        How to draw the states (:meth:`rl_planners.interface.display.Layout.of`
        an env); default: none for a model (the convergence plot alone), the
        env's for an env.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    mdp, layout = model_and_layout(mdp, layout)
    if layout.shape is None:
        return convergence_figure({label: result})
    figure = Figure(figsize=(11.0, 4.5), dpi=100)
    value_heatmap(
        result.V,
        result.policy,
        layout.shape,
        layout.arrows,
        ax=figure.add_subplot(1, 2, 1),
        terminal=terminal_states(mdp),
        title=f"{layout.env_id}: V and the greedy policy"
        if layout.env_id
        else "V and the greedy policy",
    )
    convergence_plot({label: result}, ax=figure.add_subplot(1, 2, 2))
    figure.tight_layout()
    return figure


def convergence_figure(
    results: PlanningResult | Sequence[PlanningResult] | Mapping[str, PlanningResult],
) -> Figure:
    """A 6 x 4 inch, 100 dpi figure of :func:`convergence_plot`, made without pyplot."""
    require_matplotlib()
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.0), dpi=100)
    convergence_plot(results, ax=figure.add_subplot())
    figure.tight_layout()
    return figure


# -------------------------------------------------------------------- helpers
def _named_results(results: Any) -> dict[str, PlanningResult]:
    if isinstance(results, PlanningResult):
        named = {"": results}
    elif isinstance(results, Mapping):
        named = {str(name): result for name, result in results.items()}
    elif isinstance(results, Sequence) and not isinstance(results, str):
        named = {f"result {i}": result for i, result in enumerate(results)}
    else:
        raise TypeError(
            "results must be a PlanningResult, a sequence of them or a mapping "
            f"of name to PlanningResult, got {type(results).__name__}"
        )
    for name, result in named.items():
        if not isinstance(result, PlanningResult):
            raise TypeError(
                f"results[{name!r}] must be a PlanningResult, got {type(result).__name__}"
            )
    if not named:
        raise ValueError("results is empty: give at least one PlanningResult")
    return named
