"""Pictures of grid environments: ANSI text and RGB images (no window needed).

Drawing is kept apart from the models: these functions take a layout of cell
characters (or colours) and the agent's cell, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from gymnasium import utils

__all__ = ["CELL_PIXELS", "PALETTE", "cell_colors", "grid_image", "grid_text"]

CELL_PIXELS = 32
"""Side of one grid cell in the ``rgb_array`` image, in pixels."""

PALETTE: Mapping[str, tuple[int, int, int]] = {
    ".": (235, 235, 235),  # free
    "S": (190, 215, 250),  # start
    "#": (70, 70, 70),  # wall
    "G": (120, 200, 120),  # goal
    "H": (45, 70, 130),  # hole
    "T": (160, 160, 160),  # terminal (Sutton & Barto 4x4)
    "A": (250, 190, 110),  # special state A and its target a
    "a": (252, 225, 180),
    "B": (230, 140, 200),  # special state B and its target b
    "b": (245, 200, 230),
}
"""RGB colour of each map character."""

_AGENT = np.array([220, 40, 40], dtype=np.uint8)
_LINE = np.array([150, 150, 150], dtype=np.uint8)


def cell_colors(cells: np.ndarray) -> np.ndarray:
    """``[R, C, 3]`` uint8 colours of a ``[R, C]`` array of map characters."""
    colors = np.empty((*cells.shape, 3), dtype=np.uint8)
    for char in np.unique(cells):
        colors[cells == char] = PALETTE.get(str(char), PALETTE["."])
    return colors


def grid_text(cells: np.ndarray, row: int, col: int, header: str = "") -> str:
    """The map as text, the agent's cell highlighted in red, under ``header``.

    Parameters
    ----------
    cells : numpy.ndarray
        ``[R, C]`` map characters.
    row, col : int
        The agent's cell.
    header : str
        First line (e.g. the last action), as FrozenLake prints it.
    """
    lines = [list(map(str, line)) for line in cells.tolist()]
    lines[row][col] = utils.colorize(lines[row][col], "red", highlight=True)
    return header + "\n" + "\n".join("".join(line) for line in lines) + "\n"


def grid_image(colors: np.ndarray, row: int, col: int, cell: int = CELL_PIXELS) -> np.ndarray:
    """An RGB image of the grid with the agent drawn as a red disc.

    Parameters
    ----------
    colors : numpy.ndarray
        ``[R, C, 3]`` uint8 colour of each cell.
    row, col : int
        The agent's cell.
    cell : int
        Pixels per cell side.

    Returns
    -------
    numpy.ndarray
        ``[R*cell, C*cell, 3]`` uint8.
    """
    image = np.repeat(np.repeat(colors, cell, axis=0), cell, axis=1)
    image[::cell, :] = _LINE
    image[:, ::cell] = _LINE
    image[-1, :] = _LINE
    image[:, -1] = _LINE
    ys, xs = np.ogrid[:cell, :cell]
    centre = (cell - 1) / 2
    disc = (ys - centre) ** 2 + (xs - centre) ** 2 <= (0.3 * cell) ** 2
    block = image[row * cell : (row + 1) * cell, col * cell : (col + 1) * cell]
    block[disc] = _AGENT
    return image
