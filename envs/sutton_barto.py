"""The small gridworlds of Sutton & Barto (2018): Examples 4.1 and 3.5."""

from __future__ import annotations

import numpy as np

from envs.grid import Grid, GridEnv, grid_world_outcomes, parse_map
from rl_planners.mdp import TabularMDP

__all__ = ["SuttonBarto4x4Env", "SuttonBarto5x5Env"]


class SuttonBarto4x4Env(GridEnv):
    """The 4x4 gridworld of Sutton & Barto, Example 4.1.

    ## Description
    A 4x4 grid whose top-left and bottom-right corners (marked ``T``) are
    terminal. Every transition costs 1 until a terminal corner is reached.
    Under the equiprobable random policy at ``γ = 1`` its values are those of
    Figure 4.1 (0, -14, -20, -22 along the top row).

    ## Action Space
    ``Discrete(4)``, as FrozenLake: 0 left, 1 down, 2 right, 3 up.

    ## Observation Space
    ``Discrete(16)``: ``state = row * 4 + col``. The book numbers the
    non-terminal cells 1..14 in the same row-major order, so its state ``k``
    is this env's state ``k``; the terminal corners are states 0 and 15.

    ## Transitions
    Deterministic: the agent moves one cell in the chosen direction; a move
    off the grid leaves it in place. The terminal corners are zero-reward
    terminating self-loops.

    ## Rewards
    -1 on every transition, including the one into a terminal corner.

    ## Starting State
    Uniform over the 14 non-terminal cells.

    ## Episode End
    Terminated on entering a terminal corner. ``gym.make`` truncates after
    ``max_episode_steps=100``.

    ## Arguments
    render_mode : {None, "ansi", "rgb_array"}

    ## References
    Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
    Introduction*, 2nd ed., Example 4.1 and Figure 4.1.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, render_mode: str | None = None) -> None:
        grid = Grid(parse_map(["T...", "....", "....", "...T"], allowed="T."))
        outcomes = grid_world_outcomes(
            grid,
            slip_probability=0.0,
            step_reward=-1.0,
            bump_reward=-1.0,
            entry_rewards={},
            terminal_chars="T",
        )
        start = ~grid.mask("T")
        mdp = TabularMDP.from_outcomes(
            *outcomes, initial_distribution=start / np.count_nonzero(start)
        )
        super().__init__(mdp, grid, render_mode=render_mode)


class SuttonBarto5x5Env(GridEnv):
    """The 5x5 gridworld of Sutton & Barto, Example 3.5.

    ## Description
    A continuing task on a 5x5 grid with two special cells: from ``A`` (row
    0, column 1) every action jumps to ``A'`` (row 4, column 1) and earns
    +10; from ``B`` (row 0, column 3) every action jumps to ``B'`` (row 2,
    column 3) and earns +5. In the picture ``A'`` and ``B'`` are ``a`` and
    ``b``. At ``γ = 0.9`` its values are those of Figure 3.2 (random policy)
    and Figure 3.5 (optimal), e.g. ``V*(A) = 24.4``.

    ## Action Space
    ``Discrete(4)``, as FrozenLake: 0 left, 1 down, 2 right, 3 up.

    ## Observation Space
    ``Discrete(25)``: ``state = row * 5 + col``.

    ## Transitions
    Deterministic. From ``A`` and ``B`` every action jumps as above;
    elsewhere the agent moves one cell in the chosen direction, and a move
    off the grid leaves it in place.

    ## Rewards
    +10 for leaving ``A``, +5 for leaving ``B``, -1 for an attempt to move
    off the grid, 0 otherwise.

    ## Starting State
    Uniform over the 25 cells.

    ## Episode End
    Never terminated (a continuing task); ``gym.make`` truncates after
    ``max_episode_steps=100`` (``0.9**100 < 3e-5``).

    ## Arguments
    render_mode : {None, "ansi", "rgb_array"}

    ## References
    Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
    Introduction*, 2nd ed., Example 3.5, Figures 3.2 and 3.5.

    ## Version History
    * v0: initial version.
    """

    A, A_PRIME, B, B_PRIME = 1, 21, 3, 13
    """The special states (``row * 5 + col``) and where they jump to."""

    def __init__(self, render_mode: str | None = None) -> None:
        grid = Grid(parse_map([".A.B.", ".....", "...b.", ".....", ".a..."], allowed=".AaBb"))
        next_state, prob, reward, terminated = grid_world_outcomes(
            grid,
            slip_probability=0.0,
            step_reward=0.0,
            bump_reward=-1.0,
            entry_rewards={},
            terminal_chars="",
        )
        for state, target, bonus in ((self.A, self.A_PRIME, 10.0), (self.B, self.B_PRIME, 5.0)):
            next_state[state] = target
            reward[state] = bonus
        mdp = TabularMDP.from_outcomes(next_state, prob, reward, terminated)
        super().__init__(mdp, grid, render_mode=render_mode)
