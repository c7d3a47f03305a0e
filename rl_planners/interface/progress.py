"""A progress bar for long solves, shown only where a person is watching.

The solvers call ``callback(iteration, residual)`` after every iteration.
:class:`SolveProgress` is such a callback: it stays silent for the first
``delay`` seconds (most solves are over by then) and whenever its stream is
not a terminal (pipes, files, pytest's capture) or ``verbose=False``; past
that it draws a ``tqdm`` bar with the iteration count, the rate and the
current residual.

>>> from rl_planners import TabularMDP, value_iteration
>>> mdp = TabularMDP.from_arrays([[[1.0]]], [[1.0]])
>>> with SolveProgress("value iteration") as progress:
...     result = value_iteration(mdp, 0.9, callback=progress)
>>> progress.shown  # a short solve draws nothing
False
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = ["SolveProgress"]


class SolveProgress:
    """A solver callback that draws a progress bar once a solve runs long.

    Parameters
    ----------
    description : str
        Shown before the bar, e.g. ``"value iteration"``.
    verbose : bool
        False never draws anything.
    delay : float
        Seconds of silence before the bar appears.
    file : file object, optional
        Where to draw (default ``sys.stderr``); only drawn if ``file.isatty()``.
    clock : callable, optional
        Returns the time in seconds (default :func:`time.monotonic`).

    Attributes
    ----------
    shown : bool
        Whether the bar has been drawn.
    iteration, residual : int, float
        The last values the solver reported.

    Notes
    -----
    Use it as a context manager, or call :meth:`close`, so that the bar is
    finished (its line ended) before anything else is printed.
    """

    def __init__(
        self,
        description: str = "solving",
        *,
        verbose: bool = True,
        delay: float = 1.0,
        file: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description = description
        self.file = sys.stderr if file is None else file
        self.enabled = bool(verbose) and _is_terminal(self.file)
        self.delay = float(delay)
        self.clock = clock
        self.start = clock()
        self.iteration = 0
        self.residual = float("nan")
        self._bar: Any = None

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def __call__(self, iteration: int, residual: float) -> None:
        """Record one iteration; draw or update the bar if it is due."""
        done = iteration - self.iteration
        self.iteration, self.residual = iteration, residual
        if not self.enabled:
            return
        status = f"residual={residual:.3g}"
        if self._bar is None:
            if self.clock() - self.start >= self.delay:
                self._bar = self._open_bar(initial=iteration, status=status)
            return
        # The bar redraws (with the new residual) at most every tqdm ``mininterval``.
        self._bar.set_postfix_str(status, refresh=False)
        self._bar.update(done)

    def _open_bar(self, initial: int, status: str) -> Any:
        from tqdm import tqdm  # imported only when a bar is drawn

        return tqdm(
            desc=self.description,
            initial=initial,
            postfix=status,
            unit="it",
            file=self.file,
            dynamic_ncols=True,
            leave=False,
        )

    def close(self) -> None:
        """Finish the bar (if any) so the terminal line is free again."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> SolveProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_terminal(file: IO[str]) -> bool:
    isatty = getattr(file, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed stream
        return False
