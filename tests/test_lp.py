"""Tests of rl_planners.linear_programming.

References are computed independently of the code under test: by hand, by
enumerating every deterministic policy of a tiny model and solving its
Bellman expectation equation densely, by the dense policy iteration of
``independent.py``, or taken from the literature (with the source beside the
number).
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st
from independent import dense_model, dense_policy_iteration, dense_policy_value
from reference_values import FROZEN_LAKE_4X4_V_STAR_GAMMA_0_99
from scipy.optimize import OptimizeResult
from strategies import random_mdps

from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.solvers import policy_iteration
from rl_planners.solvers.lp import linear_programming


def optimum_by_enumeration(T, R, gamma):
    """V* = max over all A^S deterministic policies of V^π, state by state."""
    n_states, n_actions = R.shape
    values = [
        dense_policy_value(T, R, np.array(actions), gamma)
        for actions in itertools.product(range(n_actions), repeat=n_states)
    ]
    return np.max(values, axis=0)


# ---------------------------------------------------------------- by hand


def test_two_states_by_hand():
    # State 0: action 0 stays (reward 1), action 1 moves to state 1 (reward 0).
    # State 1: action 0 stays (reward 2), action 1 ends the episode (reward 5).
    # γ = 0.5: V(1) = max(2 + V(1)/2, 5) = max(4, 5) = 5 (end);
    #          V(0) = max(1 + V(0)/2, V(1)/2) = max(2, 2.5) = 2.5 (move).
    mdp = TabularMDP.from_transitions(
        {
            0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 1, 0.0, False)]},
            1: {0: [(1.0, 1, 2.0, False)], 1: [(1.0, 1, 5.0, True)]},
        }
    )
    result = linear_programming(mdp, gamma=0.5)
    assert isinstance(result, PlanningResult)
    np.testing.assert_allclose(result.V, [2.5, 5.0], rtol=0, atol=1e-12)
    # Q(0, ·) = (1 + 2.5/2, 5/2), Q(1, ·) = (2 + 5/2, 5).
    np.testing.assert_allclose(result.Q, [[2.25, 2.5], [4.5, 5.0]], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(result.policy, [1, 1])
    assert result.policy.dtype == np.int64
    assert result.converged and result.iterations >= 1 and result.gamma == 0.5
    assert result.residuals.shape == (1,) and result.residuals[0] < 1e-12


# ------------------------------------------------------------- properties


@given(model=random_mdps(max_states=3, max_actions=3), gamma=st.floats(0.0, 0.95))
def test_lp_matches_enumeration_of_all_policies(model, gamma):
    mdp = model.from_outcomes()
    T, R = dense_model(model.P)
    V_star = optimum_by_enumeration(T, R, gamma)
    result = linear_programming(mdp, gamma)
    scale = max(1.0, np.max(np.abs(V_star)))
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=1e-9 * scale)
    # Its greedy policy is optimal, and V satisfies the Bellman equation.
    V_policy = dense_policy_value(T, R, result.policy, gamma)
    np.testing.assert_allclose(V_policy, V_star, rtol=0, atol=1e-9 * scale)
    assert result.residuals[0] <= 1e-9 * scale


@given(model=random_mdps(), gamma=st.floats(0.0, 0.99))
def test_lp_agrees_with_policy_iteration(model, gamma):
    mdp = model.from_transitions()
    V_lp = linear_programming(mdp, gamma).V
    V_pi = policy_iteration(mdp, gamma).V
    scale = max(1.0, np.max(np.abs(V_pi)))
    np.testing.assert_allclose(V_lp, V_pi, rtol=0, atol=1e-8 * scale)


# ------------------------------------------------------------ Gymnasium envs


def test_frozen_lake_published_values():
    # Morales' table (reference_values), printed to 4 decimals.
    result = linear_programming(TabularMDP.from_env(gym.make("FrozenLake-v1")), 0.99)
    np.testing.assert_allclose(result.V, FROZEN_LAKE_4X4_V_STAR_GAMMA_0_99, rtol=0, atol=5e-5)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "FrozenLake8x8-v1", "Taxi-v4"])
def test_gym_envs_match_dense_policy_iteration(env_id):
    # Taxi's drop-off outcome terminates without an absorbing state: an LP that
    # gave it future value would be off by far more than the tolerance.
    gamma = 0.99
    env = gym.make(env_id)
    T, R = dense_model(env.unwrapped.P)
    V_reference = dense_policy_iteration(T, R, gamma)
    result = linear_programming(TabularMDP.from_env(env), gamma)
    np.testing.assert_allclose(result.V, V_reference, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        dense_policy_value(T, R, result.policy, gamma), V_reference, rtol=0, atol=1e-9
    )


# ------------------------------------------------------------------ errors


def test_undiscounted_is_refused_with_advice():
    mdp = TabularMDP.from_transitions({0: {0: [(1.0, 0, 0.0, False)]}})
    with pytest.raises(ValueError, match=r"gamma < 1.*value_iteration or policy_iteration"):
        linear_programming(mdp, 1.0)


@pytest.mark.parametrize(
    ("gamma", "error", "match"),
    [
        (1.5, ValueError, r"gamma must lie in \[0, 1\]"),
        (-0.5, ValueError, r"gamma must lie in \[0, 1\]"),
        (float("nan"), ValueError, r"gamma must lie in \[0, 1\]"),
        ("0.9", TypeError, "gamma must be a real number"),
    ],
)
def test_bad_gamma(gamma, error, match):
    mdp = TabularMDP.from_transitions({0: {0: [(1.0, 0, 0.0, True)]}})
    with pytest.raises(error, match=match):
        linear_programming(mdp, gamma)


def test_solver_failure_is_reported(monkeypatch):
    def failing_linprog(*args, **kwargs):
        return OptimizeResult(
            x=None, status=4, message="Numerical difficulties encountered.", nit=3
        )

    monkeypatch.setattr(scipy.optimize, "linprog", failing_linprog)
    mdp = TabularMDP.from_transitions({0: {0: [(1.0, 0, 1.0, True)]}})
    with pytest.raises(RuntimeError, match=r"status 4 \(Numerical difficulties"):
        linear_programming(mdp, 0.9)
