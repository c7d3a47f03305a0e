"""GamblersProblem-v0: Sutton & Barto's Example 4.3 and Figure 4.3."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from envs_reference import value_iteration
from reference_values import GAMBLER_GOAL, GAMBLER_HEADS_PROBABILITY, GAMBLER_V_STAR

import envs  # noqa: F401  (registers the ids)
from envs import GamblersProblemEnv
from rl_planners import TabularMDP, policy_evaluation
from rl_planners import value_iteration as solve


def test_optimal_values_are_figure_4_3() -> None:
    env = gym.make(
        "rl_planners/GamblersProblem-v0", p_heads=GAMBLER_HEADS_PROBABILITY, goal=GAMBLER_GOAL
    )
    result = solve(TabularMDP.from_env(env), 1.0, tol=1e-12)
    for capital, published in GAMBLER_V_STAR.items():
        assert result.V[capital] == pytest.approx(published, abs=1e-9)
    reference = value_iteration(env.unwrapped.P, 1.0, tol=1e-13)
    np.testing.assert_allclose(result.V, reference, atol=1e-9)


def test_bold_play_is_optimal_when_the_coin_is_unfavourable() -> None:
    """Dubins & Savage (1965): for p_heads < 1/2, staking min(s, goal - s) is optimal."""
    env = GamblersProblemEnv(p_heads=0.25, goal=32)
    mdp = TabularMDP.from_env(env)
    capital = np.arange(33)
    bold = np.minimum(capital, 32 - capital)
    V_bold = policy_evaluation(mdp, bold, 1.0)
    np.testing.assert_allclose(solve(mdp, 1.0, tol=1e-12).V, V_bold, atol=1e-9)
    assert V_bold[16] == pytest.approx(0.25) and V_bold[8] == pytest.approx(0.25**2)


def test_a_fair_coin_wins_in_proportion_to_the_capital() -> None:
    """With p_heads = 1/2 the capital is a martingale: V*(s) = s / goal for 0 < s < goal."""
    env = GamblersProblemEnv(p_heads=0.5, goal=10)
    result = solve(TabularMDP.from_env(env), 1.0, tol=1e-12)
    np.testing.assert_allclose(result.V[1:10], np.arange(1, 10) / 10, atol=1e-9)
    assert result.V[0] == result.V[10] == 0.0  # terminal: the +1 is earned on arrival


def test_stakes_are_clipped_to_what_can_be_won_or_lost() -> None:
    env = GamblersProblemEnv()
    assert env.action_space.n == 51 and env.observation_space.n == 101
    assert env.P[10][50] == [(0.4, 20, 0.0, False), (0.6, 0, 0.0, True)]  # stake 10
    assert env.P[90][50] == [(0.4, 100, 1.0, True), (0.6, 80, 0.0, False)]  # stake 10
    assert env.P[50][50] == [(0.4, 100, 1.0, True), (0.6, 0, 0.0, True)]
    assert env.P[37][5] == [(0.4, 42, 0.0, False), (0.6, 32, 0.0, False)]


def test_stake_zero_is_a_self_loop_and_the_ends_are_absorbing() -> None:
    env = GamblersProblemEnv()
    assert sum(p for p, s, r, done in env.P[30][0] if (s, r, done) == (30, 0.0, False)) == 1.0
    for end in (0, 100):
        assert all(env.P[end][a] == [(1.0, end, 0.0, True)] for a in range(51))
    expected = np.full(101, 1 / 99)
    expected[[0, 100]] = 0.0
    np.testing.assert_allclose(env.initial_state_distrib, expected)


def test_a_certain_coin_keeps_one_outcome() -> None:
    env = GamblersProblemEnv(p_heads=1.0, goal=4)
    assert env.P[1][1] == [(1.0, 2, 0.0, False)]


def test_the_text_frame_names_capital_and_stake() -> None:
    env = GamblersProblemEnv(render_mode="ansi", goal=10)
    env.reset(seed=0)
    env.s = 4
    env.step(3)
    assert env.render() in ("capital 7 of 10  (stake 3)\n", "capital 1 of 10  (stake 3)\n")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p_heads": 1.5}, r"p_heads must be a probability in \[0, 1\], got 1.5"),
        ({"p_heads": -0.1}, r"p_heads must be a probability in \[0, 1\], got -0.1"),
        ({"p_heads": float("nan")}, r"p_heads must be a probability in \[0, 1\], got nan"),
        ({"goal": 1}, r"goal must be at least 2, got 1"),
        ({"goal": 10.0}, r"goal must be an integer, got 10.0"),
        ({"goal": True}, r"goal must be an integer, got True"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        GamblersProblemEnv(**kwargs)
