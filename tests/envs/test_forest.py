"""ForestManagement-v0 against pymdptoolbox's documented forest example."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from envs_reference import (
    FOREST_GAMMA,
    FOREST_P,
    FOREST_POLICY,
    FOREST_R,
    FOREST_V_STAR,
    FOREST_VI_GAMMA,
    FOREST_VI_SWEEPS,
    FOREST_VI_V,
    greedy,
    value_iteration,
)
from independent import dense_model

import envs  # noqa: F401  (registers the ids)
from envs import ForestManagementEnv
from rl_planners import TabularMDP, policy_iteration
from rl_planners import value_iteration as solve


def mdptoolbox_arrays(P) -> tuple[np.ndarray, np.ndarray]:
    """``(P (A, S, S), R (S, A))`` of the outcome dict, as pymdptoolbox lays them out.

    The forest never terminates, so ``independent.dense_model``'s ``T`` holds
    every outcome.
    """
    T, R = dense_model(P)
    return T.transpose(1, 0, 2), R


def mdptoolbox_forest(S: int, r1: float, r2: float, p: float) -> tuple[np.ndarray, np.ndarray]:
    """The model pymdptoolbox's ``example.forest`` docstring draws, written out afresh."""
    P = np.zeros((2, S, S))
    for s in range(S):
        P[0, s, 0] = p
        P[0, s, min(s + 1, S - 1)] += 1 - p
        P[1, s, 0] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1 : S - 1, 1] = 1.0
    R[S - 1, 1] = r2
    return P, R


def test_the_default_model_is_the_documented_one() -> None:
    env = gym.make("rl_planners/ForestManagement-v0").unwrapped
    P, R = mdptoolbox_arrays(env.P)
    np.testing.assert_allclose(P, FOREST_P, atol=1e-15)
    np.testing.assert_allclose(R, FOREST_R, atol=1e-15)
    assert not env.mdp.terminated.any()
    np.testing.assert_array_equal(env.initial_state_distrib, [1.0, 0.0, 0.0])


@pytest.mark.parametrize(("S", "r1", "r2", "p"), [(2, 4, 2, 0.1), (5, 3, 7, 0.3), (7, 1, 0.5, 0.0)])
def test_other_parameters_give_the_documented_model(S, r1, r2, p) -> None:
    P, R = mdptoolbox_arrays(ForestManagementEnv(n_states=S, r1=r1, r2=r2, p=p).P)
    P_ref, R_ref = mdptoolbox_forest(S, r1, r2, p)
    np.testing.assert_allclose(P, P_ref, atol=1e-15)
    np.testing.assert_allclose(R, R_ref, atol=1e-15)


def test_optimal_values_and_policy_at_0_9() -> None:
    env = gym.make("rl_planners/ForestManagement-v0")
    mdp = TabularMDP.from_env(env)
    for result in (solve(mdp, FOREST_GAMMA, tol=1e-10), policy_iteration(mdp, FOREST_GAMMA)):
        np.testing.assert_allclose(result.V, FOREST_V_STAR, atol=1e-9)
        np.testing.assert_array_equal(result.policy, FOREST_POLICY)
    np.testing.assert_allclose(
        value_iteration(env.unwrapped.P, FOREST_GAMMA), FOREST_V_STAR, atol=1e-9
    )


def test_the_documented_value_iteration_run_is_four_sweeps_from_zero() -> None:
    """pymdptoolbox stops its run at 0.96 after 4 sweeps (its span rule, uncorrected)."""
    P = ForestManagementEnv().P
    V = value_iteration(P, FOREST_VI_GAMMA, sweeps=FOREST_VI_SWEEPS)
    np.testing.assert_allclose(V, FOREST_VI_V, atol=1e-8)
    assert greedy(P, V, FOREST_VI_GAMMA) == list(FOREST_POLICY)


def test_optimal_values_at_0_96() -> None:
    env = ForestManagementEnv()
    result = solve(TabularMDP.from_env(env), FOREST_VI_GAMMA, tol=1e-10)
    np.testing.assert_allclose(result.V, value_iteration(env.P, FOREST_VI_GAMMA), atol=1e-8)
    np.testing.assert_array_equal(result.policy, FOREST_POLICY)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_states": 1}, r"n_states must be at least 2, got 1"),
        ({"p": 1.1}, r"p must be a probability in \[0, 1\], got 1.1"),
        ({"r1": float("inf")}, r"r1 must be finite, got inf"),
        ({"r2": "2"}, r"r2 must be a real number, got '2'"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ForestManagementEnv(**kwargs)
