"""SuttonBarto4x4-v0 and SuttonBarto5x5-v0 against Sutton & Barto's figures.

The published values come from ``tests/reference_values.py`` (with their
sources); every one is also recomputed by the pure-Python evaluation of
``envs_reference`` over ``P``, so a wrong env and a wrong solver cannot agree
by accident.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from envs_reference import evaluate, value_iteration
from reference_values import (
    FIGURE_3_2_V_RANDOM,
    FIGURE_3_5_V_STAR,
    FIGURE_4_1_ITERATES,
    FIGURE_4_1_LIMIT,
    GRIDWORLD_4X4_TERMINALS,
    GRIDWORLD_5X5_GAMMA,
    PRINTED_ATOL,
)

import envs  # noqa: F401  (registers the ids)
from rl_planners import ConvergenceWarning, TabularMDP, policy_evaluation
from rl_planners import value_iteration as solve


def model(env_id: str) -> tuple[gym.Env, TabularMDP]:
    env = gym.make(env_id).unwrapped
    return env, TabularMDP.from_env(env)


def equiprobable(n_actions: int):
    return lambda s: dict.fromkeys(range(n_actions), 1.0 / n_actions)


# ------------------------------------------------------------------ 4x4
def test_4x4_random_policy_values_are_figure_4_1() -> None:
    env, mdp = model("rl_planners/SuttonBarto4x4-v0")
    uniform = np.full((16, 4), 0.25)
    V = policy_evaluation(mdp, uniform, 1.0)
    np.testing.assert_allclose(V, np.ravel(FIGURE_4_1_LIMIT), atol=1e-9)
    reference = evaluate(env.P, equiprobable(4), 1.0, tol=1e-13)
    np.testing.assert_allclose(reference, np.ravel(FIGURE_4_1_LIMIT), atol=1e-9)


@pytest.mark.parametrize("k", sorted(FIGURE_4_1_ITERATES))
def test_4x4_evaluation_iterates_are_figure_4_1(k: int) -> None:
    env, mdp = model("rl_planners/SuttonBarto4x4-v0")
    published = np.ravel(FIGURE_4_1_ITERATES[k])
    reference = evaluate(env.P, equiprobable(4), 1.0, sweeps=k)
    np.testing.assert_allclose(reference, published, atol=PRINTED_ATOL)
    with pytest.warns(ConvergenceWarning):
        V = policy_evaluation(
            mdp, np.full((16, 4), 0.25), 1.0, method="iterative", max_iterations=k
        )
    np.testing.assert_allclose(V, reference, atol=1e-12)


def test_4x4_optimal_values_are_minus_the_distance_to_the_nearest_corner() -> None:
    env, mdp = model("rl_planners/SuttonBarto4x4-v0")
    rows, cols = np.divmod(np.arange(16), 4)
    distance = np.minimum(rows + cols, 6 - rows - cols)
    result = solve(mdp, 1.0)
    np.testing.assert_allclose(result.V, -distance, atol=1e-9)
    np.testing.assert_allclose(value_iteration(env.P, 1.0), -distance, atol=1e-9)


def test_4x4_dynamics() -> None:
    env = gym.make("rl_planners/SuttonBarto4x4-v0").unwrapped
    for terminal in GRIDWORLD_4X4_TERMINALS:
        assert all(env.P[terminal][a] == [(1.0, terminal, 0.0, True)] for a in range(4))
    # Example 4.1: p(6, -1 | 5, right) = 1, p(10, -1 | 5, right) = 0, p(7, -1 | 7, right) = 1.
    assert env.P[5][2] == [(1.0, 6, -1.0, False)]
    assert env.P[7][2] == [(1.0, 7, -1.0, False)]
    assert env.P[1][0] == [(1.0, 0, -1.0, True)]  # left from 1 ends the episode
    assert env.P[14][2] == [(1.0, 15, -1.0, True)]
    start = np.full(16, 1 / 14)
    start[list(GRIDWORLD_4X4_TERMINALS)] = 0.0
    np.testing.assert_allclose(env.initial_state_distrib, start)


# ------------------------------------------------------------------ 5x5
def test_5x5_random_policy_values_are_figure_3_2() -> None:
    env, mdp = model("rl_planners/SuttonBarto5x5-v0")
    V = policy_evaluation(mdp, np.full((25, 4), 0.25), GRIDWORLD_5X5_GAMMA)
    np.testing.assert_allclose(V, np.ravel(FIGURE_3_2_V_RANDOM), atol=PRINTED_ATOL)
    reference = evaluate(env.P, equiprobable(4), GRIDWORLD_5X5_GAMMA, tol=1e-12)
    np.testing.assert_allclose(V, reference, atol=1e-9)


def test_5x5_optimal_values_are_figure_3_5() -> None:
    env, mdp = model("rl_planners/SuttonBarto5x5-v0")
    result = solve(mdp, GRIDWORLD_5X5_GAMMA, tol=1e-10)
    np.testing.assert_allclose(result.V, np.ravel(FIGURE_3_5_V_STAR), atol=PRINTED_ATOL)
    reference = value_iteration(env.P, GRIDWORLD_5X5_GAMMA)
    np.testing.assert_allclose(result.V, reference, atol=1e-8)
    # Figure 3.5 (right): from A every action is optimal; v*(A) = 10 + 0.9 v*(A').
    assert result.V[1] == pytest.approx(10 + 0.9 * result.V[21])


def test_5x5_dynamics() -> None:
    env = gym.make("rl_planners/SuttonBarto5x5-v0").unwrapped
    for a in range(4):
        assert env.P[1][a] == [(1.0, 21, 10.0, False)]  # A -> A'
        assert env.P[3][a] == [(1.0, 13, 5.0, False)]  # B -> B'
    assert env.P[0][3] == [(1.0, 0, -1.0, False)]  # off the grid
    assert env.P[24][2] == [(1.0, 24, -1.0, False)]
    assert env.P[12][1] == [(1.0, 17, 0.0, False)]
    assert not env.mdp.terminated.any()
    np.testing.assert_allclose(env.initial_state_distrib, np.full(25, 1 / 25))
