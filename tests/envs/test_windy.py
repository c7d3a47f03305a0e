"""WindyGridWorld-v0: Sutton & Barto's Example 6.5 and Exercises 6.9 and 6.10."""

from __future__ import annotations

from collections import defaultdict

import gymnasium as gym
import numpy as np
import pytest
from envs_reference import (
    WINDY_KING_SHORTEST_PATH,
    WINDY_SHORTEST_PATH,
    WINDY_START,
    shortest_path,
    value_iteration,
)

import envs  # noqa: F401  (registers the ids)
from envs import WindyGridWorldEnv
from rl_planners import TabularMDP
from rl_planners import value_iteration as solve

LEFT, DOWN, RIGHT, UP = 0, 1, 2, 3
DOWN_LEFT, DOWN_RIGHT, UP_RIGHT, UP_LEFT = 4, 5, 6, 7


def state(row: int, col: int) -> int:
    return row * 10 + col


@pytest.mark.parametrize(
    ("king_moves", "steps"),
    [(False, WINDY_SHORTEST_PATH), (True, WINDY_KING_SHORTEST_PATH)],
    ids=["four-moves", "king-moves"],
)
def test_shortest_path_from_the_start(king_moves: bool, steps: int) -> None:
    env = gym.make("rl_planners/WindyGridWorld-v0", king_moves=king_moves)
    P = env.unwrapped.P
    assert shortest_path(P, WINDY_START) == steps
    result = solve(TabularMDP.from_env(env), 1.0)
    assert result.V[WINDY_START] == pytest.approx(-steps)
    assert value_iteration(P, 1.0)[WINDY_START] == pytest.approx(-steps)
    # Following the greedy policy through gym.make reaches the goal in that many steps.
    obs, _ = env.reset(seed=0)
    assert obs == WINDY_START
    for t in range(1, steps + 1):
        obs, reward, terminated, truncated, _ = env.step(int(result.policy[obs]))
        assert reward == -1.0 and not truncated
        assert terminated == (t == steps)


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        ((3, 0), RIGHT, (3, 1)),  # calm column
        ((3, 3), RIGHT, (2, 4)),  # wind 1 in column 3 (the column moved from)
        ((3, 6), RIGHT, (1, 7)),  # wind 2
        ((3, 6), DOWN, (2, 6)),  # down 1, up 2
        ((1, 7), UP, (0, 7)),  # up 1 + wind 2, clipped at the top
        ((0, 9), RIGHT, (0, 9)),  # clipped at the right edge
        ((6, 0), DOWN, (6, 0)),
        ((2, 8), DOWN, (2, 8)),  # wind 1 cancels the move down
        ((4, 7), LEFT, (2, 6)),  # wind 2 of column 7
    ],
)
def test_the_wind_of_the_current_column_pushes_up(start, action, end) -> None:
    env = WindyGridWorldEnv()
    [(p, s_next, reward, _)] = env.P[state(*start)][action]
    assert (p, s_next, reward) == (1.0, state(*end), -1.0)


def test_king_moves() -> None:
    env = WindyGridWorldEnv(king_moves=True)
    assert env.action_space.n == 8
    expected = {
        DOWN_LEFT: (5, 1),
        DOWN_RIGHT: (5, 3),
        UP_RIGHT: (3, 3),
        UP_LEFT: (3, 1),
    }
    for action, end in expected.items():
        assert env.P[state(4, 2)][action] == [(1.0, state(*end), -1.0, False)]
    assert env.P[state(4, 5)][DOWN_RIGHT] == [(1.0, state(4, 6), -1.0, False)]  # wind 1
    assert env.P[state(4, 6)][UP_RIGHT] == [(1.0, state(1, 7), -1.0, False)]  # wind 2
    assert env.P[state(6, 6)][UP_RIGHT] == [(1.0, state(3, 7), -1.0, True)]  # into the goal


def distribution(outcomes) -> dict:
    table: dict = defaultdict(float)
    for p, s_next, _, _ in outcomes:
        table[s_next] += p
    return {s: round(p, 12) for s, p in table.items()}


def test_stochastic_wind_varies_by_one_a_third_of_the_time_each() -> None:
    env = WindyGridWorldEnv(stochastic_wind=True)
    third = round(1 / 3, 12)
    # Column 6 has wind 2: the agent is pushed up 1, 2 or 3 cells.
    assert distribution(env.P[state(5, 6)][LEFT]) == {
        state(4, 5): third,
        state(3, 5): third,
        state(2, 5): third,
    }
    # Near the top the pushes are clipped and fall on the same cell.
    assert distribution(env.P[state(1, 6)][RIGHT]) == {state(0, 7): 1.0}
    # Calm columns stay calm.
    assert distribution(env.P[state(3, 0)][RIGHT]) == {state(3, 1): 1.0}


def test_the_goal_terminates_and_then_absorbs() -> None:
    env = WindyGridWorldEnv()
    goal = state(3, 7)
    assert env.P[state(3, 8)][LEFT] == [(1.0, state(2, 7), -1.0, False)]  # wind 1 in column 8
    assert env.P[state(4, 8)][LEFT] == [(1.0, goal, -1.0, True)]
    assert all(env.P[goal][a] == [(1.0, goal, 0.0, True)] for a in range(4))
    np.testing.assert_array_equal(np.flatnonzero(env.initial_state_distrib), [WINDY_START])


def test_the_text_frame_shows_the_wind() -> None:
    env = WindyGridWorldEnv(render_mode="ansi")
    env.reset(seed=0)
    assert env.render().endswith("0001112210  (wind)\n")


@pytest.mark.parametrize("option", ["king_moves", "stochastic_wind"])
def test_options_must_be_booleans(option: str) -> None:
    with pytest.raises(ValueError, match=f"{option} must be True or False, got 'yes'"):
        WindyGridWorldEnv(**{option: "yes"})


@pytest.mark.parametrize("king_moves", [False, True])
def test_every_action_has_a_name(king_moves: bool) -> None:
    env = WindyGridWorldEnv(render_mode="ansi", king_moves=king_moves)
    assert len(env.action_names) == env.action_space.n
    env.reset(seed=0)
    env.step(env.action_space.n - 1)
    assert env.render().startswith("  (Up-left)\n" if king_moves else "  (Up)\n")
