"""The solve progress bar: drawn only on a terminal, after a delay, unless silenced."""

from __future__ import annotations

import io

import gymnasium as gym

from rl_planners import TabularMDP, value_iteration
from rl_planners.interface.progress import SolveProgress


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _frozen_lake() -> TabularMDP:
    return TabularMDP.from_env(gym.make("FrozenLake-v1"))


def test_silent_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    with SolveProgress(file=stream, delay=0.0) as progress:
        result = value_iteration(_frozen_lake(), 0.99, callback=progress)
    assert stream.getvalue() == ""
    assert not progress.shown
    assert progress.iteration == result.iterations


def test_silent_when_not_verbose():
    stream = FakeTerminal()
    with SolveProgress(file=stream, delay=0.0, verbose=False) as progress:
        value_iteration(_frozen_lake(), 0.99, callback=progress)
    assert stream.getvalue() == ""
    assert not progress.shown


def test_silent_during_the_delay_then_shows_iterations_and_residual():
    stream, clock = FakeTerminal(), FakeClock()
    progress = SolveProgress("value iteration", file=stream, delay=1.0, clock=clock)
    progress(1, 0.5)
    clock.now = 0.9
    progress(2, 0.25)
    assert stream.getvalue() == ""
    clock.now = 1.5
    progress(3, 0.125)
    progress(4, 0.0625)
    assert progress.shown
    progress.close()
    drawn = stream.getvalue()
    assert "value iteration" in drawn
    assert "residual=0.125" in drawn
    assert progress.iteration == 4
    assert progress.residual == 0.0625


def test_counts_every_iteration_of_a_solve():
    stream = FakeTerminal()
    with SolveProgress(file=stream, delay=0.0) as progress:
        result = value_iteration(_frozen_lake(), 0.99, callback=progress)
    assert progress.shown
    assert progress._bar.n == result.iterations
    assert progress.residual == result.residuals[-1]
    assert "it" in stream.getvalue()


def test_a_closed_stream_counts_as_no_terminal():
    stream = io.StringIO()
    stream.close()  # its isatty() raises ValueError
    progress = SolveProgress(file=stream, delay=0.0)
    progress(1, 1.0)
    assert not progress.shown
