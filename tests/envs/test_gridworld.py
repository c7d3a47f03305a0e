"""GridWorld-v0: the map, the slips, the rewards, and two independent references.

Gymnasium's FrozenLake is an independent implementation of the same dynamics
(map, slips to the perpendicular sides, zero-reward terminal self-loops);
Russell & Norvig's 4x3 world gives published values.
"""

from __future__ import annotations

from collections import defaultdict

import gymnasium as gym
import numpy as np
import pytest
from envs_reference import AIMA_4X3_MAP, AIMA_4X3_UTILITIES, AIMA_PRINTED_ATOL, value_iteration

import envs  # noqa: F401  (registers the ids)
from envs import GridWorldEnv
from envs.gridworld import DEFAULT_MAP
from rl_planners import TabularMDP
from rl_planners import value_iteration as solve

FROZEN_LAKE_8X8 = [
    "SFFFFFFF",
    "FFFFFFFF",
    "FFFHFFFF",
    "FFFFFHFF",
    "FFFHFFFF",
    "FHHFFFHF",
    "FHFFHFHF",
    "FFFHFFFG",
]


def aggregated(P) -> dict:
    """``{(s, a): {(s', r, terminated): probability}}`` with duplicate outcomes summed."""
    table = {}
    for s in P:
        for a in P[s]:
            row: dict = defaultdict(float)
            for p, s_next, r, done in P[s][a]:
                row[(int(s_next), float(r), bool(done))] += p
            table[(s, a)] = {key: round(p, 12) for key, p in row.items() if p > 0}
    return table


@pytest.mark.parametrize(
    ("kwargs", "frozen_lake_kwargs"),
    [
        ({}, {"is_slippery": False}),
        ({"slip_probability": 1 / 3}, {"is_slippery": True}),
        (
            {"desc": [row.replace("F", ".") for row in FROZEN_LAKE_8X8], "slip_probability": 1 / 3},
            {"map_name": "8x8"},
        ),
        ({"slip_probability": 0.1}, {"success_rate": 0.8}),
    ],
    ids=["4x4-deterministic", "4x4-slippery", "8x8-slippery", "4x4-success-0.8"],
)
def test_frozen_lake_maps_give_frozen_lakes_model(kwargs, frozen_lake_kwargs) -> None:
    ours = gym.make("rl_planners/GridWorld-v0", **kwargs).unwrapped
    theirs = gym.make("FrozenLake-v1", **frozen_lake_kwargs).unwrapped
    assert aggregated(ours.P) == aggregated(theirs.P)
    np.testing.assert_array_equal(ours.initial_state_distrib, theirs.initial_state_distrib)


def test_the_default_map_is_frozen_lakes_4x4_map() -> None:
    frozen_lake = gym.make("FrozenLake-v1").unwrapped.desc.astype(str)
    assert ["".join(row).replace("F", ".") for row in frozen_lake] == list(DEFAULT_MAP)


def aima_env() -> GridWorldEnv:
    # R&N's rewards are on states: R(s) = -0.04, terminals +1 / -1. As transition
    # rewards: -0.04 per move, and entering a terminal earns -0.04 + (±1).
    return GridWorldEnv(
        desc=AIMA_4X3_MAP,
        slip_probability=0.1,
        step_reward=-0.04,
        goal_reward=0.96,
        hole_reward=-1.04,
    )


def test_russell_norvig_4x3_utilities() -> None:
    env = aima_env()
    result = solve(TabularMDP.from_env(env), 1.0, tol=1e-10)
    reference = value_iteration(env.P, 1.0)
    np.testing.assert_allclose(result.V, reference, atol=1e-8)
    for row, values in enumerate(AIMA_4X3_UTILITIES):
        for col, published in enumerate(values):
            if published is not None:
                assert result.V[row * 4 + col] == pytest.approx(published, abs=AIMA_PRINTED_ATOL)
    # Figure 17.2's optimal policy from the start (row 2, column 0): up.
    assert result.policy[8] == 3


def test_a_bump_stays_put_and_earns_the_bump_reward() -> None:
    env = GridWorldEnv(desc=["S#", ".G"], step_reward=-1.0, bump_reward=-5.0, goal_reward=10.0)
    P = env.P
    assert P[0][0] == [(1.0, 0, -5.0, False)]  # left edge
    assert P[0][2] == [(1.0, 0, -5.0, False)]  # into the wall
    assert P[0][3] == [(1.0, 0, -5.0, False)]  # top edge
    assert P[0][1] == [(1.0, 2, -1.0, False)]  # down: an ordinary step
    assert P[2][2] == [(1.0, 3, 10.0, True)]  # right, into the goal


def test_rewards_default_to_the_step_reward() -> None:
    env = GridWorldEnv(desc=["SH."], step_reward=-2.0)
    assert env.P[0][0] == [(1.0, 0, -2.0, False)]  # bump
    assert env.P[0][2] == [(1.0, 1, -2.0, True)]  # into the hole


def test_slips_go_to_the_perpendicular_sides() -> None:
    env = GridWorldEnv(desc=["...", ".S.", "..."], slip_probability=0.2)
    # From the centre (state 4), "up": up 0.6, left 0.2, right 0.2.
    assert aggregated(env.P)[(4, 3)] == {
        (1, 0.0, False): 0.6,
        (3, 0.0, False): 0.2,
        (5, 0.0, False): 0.2,
    }


def test_slipping_half_the_time_to_each_side_never_moves_as_intended() -> None:
    env = GridWorldEnv(desc=["...", ".S.", "..."], slip_probability=0.5)
    assert sorted(s for _, s, _, _ in env.P[4][3]) == [3, 5]


def test_terminal_cells_and_walls_are_zero_reward_terminating_self_loops() -> None:
    env = GridWorldEnv(desc=["S#", "HG"], step_reward=-1.0, slip_probability=0.1)
    for state in (1, 2, 3):
        for action in range(4):
            assert env.P[state][action] == [(1.0, state, 0.0, True)]


def test_several_start_cells_start_uniformly() -> None:
    env = GridWorldEnv(desc=["S.S", "S.G"])
    np.testing.assert_allclose(env.initial_state_distrib, [1 / 3, 0, 1 / 3, 1 / 3, 0, 0])


def test_a_multi_line_string_is_a_map() -> None:
    env = GridWorldEnv(
        desc="""
        S..
        .#G
    """
    )
    assert env.observation_space.n == 6
    assert env.desc.tolist() == [["S", ".", "."], [".", "#", "G"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"desc": ["S.X", "..G"]}, r"unknown map character 'X' at row 0, column 2"),
        ({"desc": ["...", "..G"]}, r"desc must contain a start cell 'S'"),
        ({"desc": ["S..", "G"]}, r"desc must be rectangular; its rows have lengths \[3, 1\]"),
        ({"desc": []}, r"desc must have at least one row"),
        ({"desc": 42}, r"desc must be a string or a sequence of strings"),
        (
            {"slip_probability": 0.6},
            r"slip_probability must be a probability in \[0, 0.5\], got 0.6",
        ),
        ({"slip_probability": -0.1}, r"slip_probability must be .* got -0.1"),
        ({"step_reward": float("nan")}, r"step_reward must be finite, got nan"),
        ({"goal_reward": "1"}, r"goal_reward must be a real number, got '1'"),
        ({"hole_reward": float("-inf")}, r"hole_reward must be finite"),
        (
            {"bump_reward": None, "step_reward": None},
            r"step_reward must be a real number, got None",
        ),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(**kwargs)


def test_a_greedy_episode_reaches_the_goal_through_gym_make() -> None:
    env = gym.make("rl_planners/GridWorld-v0")
    result = solve(TabularMDP.from_env(env), 0.9)
    obs, _ = env.reset(seed=0)
    total, steps = 0.0, 0
    while True:
        obs, reward, terminated, truncated, _ = env.step(int(result.policy[obs]))
        total, steps = total + reward, steps + 1
        if terminated or truncated:
            break
    assert (terminated, total, steps) == (True, 1.0, 6)  # the shortest path on FrozenLake's map
