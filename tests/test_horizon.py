"""Tests of rl_planners.solvers.horizon: backward induction and finite-horizon policy values.

Every reference is computed independently of the code under test: by hand
(closed forms in the comments), or by the dense NumPy recursions of
``independent.py`` on arrays built straight from the outcome lists, never from
``mdp.continuation`` or ``mdp.R``.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from independent import (
    dense_backward_induction,
    dense_finite_horizon_value,
    dense_model,
    dense_value_iteration,
)
from reference_values import (
    FROZEN_LAKE_4X4_PRINTED_ATOL,
    FROZEN_LAKE_4X4_V_STAR_GAMMA_1,
    FROZEN_LAKE_REGISTRY_OPTIMUM,
)
from strategies import deterministic_policies, random_mdps, stochastic_policies

from rl_planners.mdp import TabularMDP
from rl_planners.solvers.horizon import (
    FiniteHorizonResult,
    backward_induction,
    finite_horizon_policy_value,
)

# ------------------------------------------------------ hand-solvable models


def chain(stay_reward=1.0):
    """State 0: stay (reward ``stay_reward``) or move to 1 (reward 0).

    State 1: stay (reward 3) or quit (reward 0, terminates).
    """
    return TabularMDP.from_transitions(
        {
            0: {0: [(1.0, 0, stay_reward, False)], 1: [(1.0, 1, 0.0, False)]},
            1: {0: [(1.0, 1, 3.0, False)], 1: [(1.0, 1, 0.0, True)]},
        }
    )


def coin():
    """One state, one action: reward 1 and stop (prob 1/2), or reward 0 and go on."""
    return TabularMDP.from_transitions({0: {0: [(0.5, 0, 1.0, True), (0.5, 0, 0.0, False)]}})


def test_chain_by_hand_undiscounted():
    # With k steps to go: V_k(1) = 3k (stay); V_k(0) = max(1 + V_{k-1}(0), V_{k-1}(1)):
    # k = 1: max(1, 0) = 1 (stay); k = 2: max(2, 3) = 3 (move);
    # k = 3: max(4, 6) = 6 (move); k = 4: max(7, 9) = 9 (move).
    result = backward_induction(chain(), horizon=4)
    np.testing.assert_array_equal(result.V[:, 0], [9, 6, 3, 1, 0])
    np.testing.assert_array_equal(result.V[:, 1], [12, 9, 6, 3, 0])
    np.testing.assert_array_equal(result.policy, [[1, 0], [1, 0], [1, 0], [0, 0]])
    np.testing.assert_array_equal(result.Q[3], [[1, 0], [3, 0]])
    assert result.horizon == 4 and result.gamma == 1.0
    assert result.policy.dtype == np.int64


def test_chain_by_hand_discounted():
    # γ = 1/2, k steps to go: V_k(1) = 3 (1 − 2^-k) / (1 − 1/2) = 6 (1 − 2^-k),
    # V_k(0) = max(1 + V_{k-1}(0)/2, V_{k-1}(1)/2):
    # k = 1: max(1, 0) = 1; k = 2: max(1.5, 1.5) = 1.5, a tie: lowest index 0;
    # k = 3: max(1.75, 2.25) = 2.25 (move).
    result = backward_induction(chain(), horizon=3, gamma=0.5)
    np.testing.assert_allclose(result.V[:, 1], [5.25, 4.5, 3, 0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(result.V[:, 0], [2.25, 1.5, 1, 0], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(result.policy[:, 0], [1, 0, 0])


def test_exact_tie_goes_to_the_lowest_action():
    # Stay reward 1.5, γ = 1, two steps to go: stay 1.5 + 1.5 = 3 = move 0 + 3.
    result = backward_induction(chain(stay_reward=1.5), horizon=2)
    assert result.Q[0, 0, 0] == result.Q[0, 0, 1] == 3.0
    assert result.policy[0, 0] == 0


@pytest.mark.parametrize("gamma", [1.0, 0.9, 0.0])
def test_terminating_outcomes_get_no_future_value(gamma):
    # Coin: V_k = 1/2 + (γ/2) V_{k-1}, V_0 = v_H = 10; with c = γ/2,
    # V_k = (1/2)(1 − c^k)/(1 − c) + c^k v_H: v_H only through the continuing half.
    horizon, v_H, c = 6, 10.0, gamma / 2
    k = np.arange(horizon, -1, -1)
    expected = 0.5 * (1 - c**k) / (1 - c) + c**k * v_H
    result = backward_induction(coin(), horizon, gamma, terminal_values=[v_H])
    np.testing.assert_allclose(result.V[:, 0], expected, rtol=1e-14)


def test_terminal_values_change_the_last_decision():
    # One step to go from state 0 with v_H = (0, 100): move (0 + 100) beats stay (1 + 0).
    result = backward_induction(chain(), horizon=1, terminal_values=[0.0, 100.0])
    assert result.policy[0, 0] == 1
    np.testing.assert_array_equal(result.V[0], [100, 103])


def test_zero_horizon():
    result = backward_induction(chain(), horizon=0, terminal_values=[1.0, 2.0])
    np.testing.assert_array_equal(result.V, [[1.0, 2.0]])
    assert result.Q.shape == (0, 2, 2)
    assert result.policy.shape == (0, 2)
    np.testing.assert_array_equal(finite_horizon_policy_value(chain(), [0, 0], 0), [0, 0])


def test_keep_policy_drops_q_and_later_values():
    full = backward_induction(chain(), horizon=7, gamma=0.8)
    lean = backward_induction(chain(), horizon=7, gamma=0.8, keep="policy")
    assert lean.Q is None and lean.keep == "policy"
    assert lean.V.shape == (1, 2) and full.V.shape == (8, 2)
    np.testing.assert_array_equal(lean.V[0], full.V[0])
    np.testing.assert_array_equal(lean.policy, full.policy)


def test_result_is_read_only():
    result = backward_induction(chain(), horizon=2)
    assert isinstance(result, FiniteHorizonResult)
    with pytest.raises(ValueError, match="read-only"):
        result.V[0, 0] = 5.0
    with pytest.raises(AttributeError):
        result.horizon = 3


# ------------------------------------------------------------------ properties


@given(
    model=random_mdps(max_states=5, max_actions=3),
    horizon=st.integers(0, 12),
    gamma=st.sampled_from([0.0, 0.5, 0.95, 1.0]),
    terminal_scale=st.sampled_from([0.0, 1.0, 100.0]),
)
def test_backward_induction_matches_dense_recursion(model, horizon, gamma, terminal_scale):
    mdp = model.from_outcomes()
    T, R = dense_model(model.P)
    terminal = terminal_scale * np.cos(np.arange(model.n_states))  # signs vary
    result = backward_induction(mdp, horizon, gamma, terminal_values=terminal)
    V, Q = dense_backward_induction(T, R, horizon, gamma, terminal)
    np.testing.assert_allclose(result.V, V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.Q, Q, rtol=1e-12, atol=1e-12)
    # The policy attains the maximum of its own Q, at the lowest such index.
    first_best = np.argmax(result.Q == result.Q.max(axis=2, keepdims=True), axis=2)
    np.testing.assert_array_equal(result.policy, first_best)


@given(
    model=random_mdps(max_states=5, max_actions=3),
    horizon=st.sampled_from([0, 1, 5, 30, 400]),
    gamma=st.floats(0.0, 0.9),
)
def test_long_horizon_converges_to_infinite_horizon_optimum(model, horizon, gamma):
    # V_0 = T^H 0 and V* = T^H V*, so ‖V_0 − V*‖∞ ≤ γ^H ‖V*‖∞ (T a γ-contraction).
    T, R = dense_model(model.P)
    V_star = dense_value_iteration(T, R, gamma)
    V_0 = backward_induction(model.from_transitions(), horizon, gamma, keep="policy").V[0]
    bound = gamma**horizon * np.max(np.abs(V_star))
    assert np.max(np.abs(V_0 - V_star)) <= bound + 1e-10


@given(
    model=random_mdps(max_states=5, max_actions=3),
    horizon=st.integers(0, 10),
    gamma=st.sampled_from([0.0, 0.7, 1.0]),
    data=st.data(),
)
def test_policy_values(model, horizon, gamma, data):
    mdp = model.from_outcomes()
    T, R = dense_model(model.P)
    S, A = model.n_states, model.n_actions
    pi = data.draw(stochastic_policies(S, A))
    actions = data.draw(deterministic_policies(S, A))
    # Stationary stochastic and deterministic policies vs the dense recursion.
    V_pi = finite_horizon_policy_value(mdp, pi, horizon, gamma)
    V_det = finite_horizon_policy_value(mdp, actions, horizon, gamma)
    one_hot = np.eye(A)[actions]
    np.testing.assert_allclose(
        V_pi, dense_finite_horizon_value(T, R, pi, horizon, gamma), atol=1e-11
    )
    np.testing.assert_allclose(
        V_det, dense_finite_horizon_value(T, R, one_hot, horizon, gamma), atol=1e-11
    )
    # Time-dependent policies whose rows are all equal are the stationary ones.
    np.testing.assert_allclose(
        finite_horizon_policy_value(mdp, np.tile(pi, (horizon, 1, 1)), horizon, gamma),
        V_pi,
        atol=1e-11,
    )
    np.testing.assert_allclose(
        finite_horizon_policy_value(mdp, np.tile(actions, (horizon, 1)), horizon, gamma),
        V_det,
        atol=1e-11,
    )
    # The optimal time-dependent policy is worth V_0, and no policy is worth more.
    result = backward_induction(mdp, horizon, gamma)
    np.testing.assert_allclose(
        finite_horizon_policy_value(mdp, result.policy, horizon, gamma),
        result.V[0],
        atol=1e-11,
    )
    assert np.all(V_pi <= result.V[0] + 1e-11)
    assert np.all(V_det <= result.V[0] + 1e-11)


# -------------------------------------------------------------- Gymnasium maps


@pytest.mark.parametrize(
    ("env_id", "published_optimum"),
    # Gymnasium's registration comments (reference_values), within the time limits.
    list(FROZEN_LAKE_REGISTRY_OPTIMUM.items()),
)
def test_frozen_lake_optimum_within_the_time_limit(env_id, published_optimum):
    spec = gym.spec(env_id)
    horizon = spec.max_episode_steps
    env = gym.make(env_id)
    mdp = TabularMDP.from_env(env)
    result = backward_induction(mdp, horizon, keep="policy")
    success = mdp.initial_distribution @ result.V[0]

    T, R = dense_model(env.unwrapped.P)
    V_dense, _ = dense_backward_induction(T, R, horizon, gamma=1.0)
    assert success == pytest.approx(env.unwrapped.initial_state_distrib @ V_dense[0], abs=1e-12)
    # Measured: reference_values.FROZEN_LAKE_TIME_LIMITED_OPTIMUM (0.7442, 0.9132).
    assert success == pytest.approx(published_optimum, abs=0.005)
    assert success >= spec.reward_threshold
    # The time-dependent policy really earns it within the limit.
    V_policy = finite_horizon_policy_value(mdp, result.policy, horizon)
    assert mdp.initial_distribution @ V_policy == pytest.approx(success, abs=1e-12)


def test_frozen_lake_long_horizon_reaches_the_undiscounted_optimum():
    # γ = 1, rewards ≥ 0: V_0 grows with H towards V*, the probability of ever
    # reaching the goal (reference_values: the published 8-decimal table, k/17).
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    V_100 = backward_induction(mdp, 100, keep="policy").V[0]
    V_2000 = backward_induction(mdp, 2000, keep="policy").V[0]
    assert np.all(V_100 <= V_2000)
    assert np.max(FROZEN_LAKE_4X4_V_STAR_GAMMA_1 - V_100) > 0.1  # far from V* at 100
    np.testing.assert_allclose(
        V_2000, FROZEN_LAKE_4X4_V_STAR_GAMMA_1, rtol=0, atol=FROZEN_LAKE_4X4_PRINTED_ATOL
    )


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"horizon": -1}, ValueError, r"horizon must be >= 0 .*got -1"),
        ({"horizon": 2.5}, TypeError, r"horizon must be an int .*got 2\.5"),
        ({"horizon": True}, TypeError, "horizon must be an int"),
        ({"horizon": 3, "gamma": 1.5}, ValueError, r"gamma must lie in \[0, 1\]"),
        ({"horizon": 3, "gamma": -0.1}, ValueError, r"gamma must lie in \[0, 1\]"),
        ({"horizon": 3, "keep": "Q"}, ValueError, "keep must be"),
        ({"horizon": 3, "terminal_values": [1.0]}, ValueError, r"shape \(2,\)"),
        (
            {"horizon": 3, "terminal_values": [0.0, np.nan]},
            ValueError,
            "terminal_values must be finite; got nan at state 1",
        ),
    ],
)
def test_backward_induction_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        backward_induction(chain(), **kwargs)


@pytest.mark.parametrize(
    ("policy", "match"),
    [
        (np.array([0, 7]), r"actions must lie in 0\.\.1; got 7 at state 1"),
        (np.array([[0, 0], [0, 1], [1, -1]]), r"at time step 2: .*got -1 at state 1"),
        (
            np.array([[[1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [0.5, 0.4]], [[1, 0], [0, 1.0]]]),
            r"at time step 1: .*sums? to 0\.9.* at state 1",
        ),
        (
            np.array([[[1.0, 0.0], [0.5, 0.5]]] * 2 + [[[1.5, -0.5], [0, 1.0]]]),
            r"at time step 2: .*non-negative; got -0\.5 at state 0, action 1",
        ),
        (np.array([[0.5, 0.5], [0.25, 0.5]]), r"sums? to 0\.75 at state 1"),
        (np.zeros((4, 2), dtype=int), r"policy must have shape .*got shape \(4, 2\)"),
        (np.zeros((3, 2, 2), dtype=int), r"policy must have shape .*got shape \(3, 2, 2\)"),
        (np.zeros((2, 2, 2, 2)), "policy must have shape"),
    ],
)
def test_policy_value_rejects_bad_policies(policy, match):
    with pytest.raises(ValueError, match=match):
        finite_horizon_policy_value(chain(), policy, horizon=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"horizon": -2}, ValueError, "horizon must be >= 0"),
        ({"horizon": 1.0}, TypeError, "horizon must be an int"),
        ({"horizon": 2, "gamma": 2.0}, ValueError, r"gamma must lie in \[0, 1\]"),
    ],
)
def test_policy_value_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        finite_horizon_policy_value(chain(), np.array([0, 0]), **kwargs)
