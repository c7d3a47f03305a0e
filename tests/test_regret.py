"""Exact regret against published figures and independent dense computations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_planners.agents import ValueIterationAgent
from rl_planners.analysis.regret import RegretResult, as_policy, regret
from rl_planners.mdp import TabularMDP
from rl_planners.solvers import value_iteration
from tests.independent import (
    dense_backward_induction,
    dense_finite_horizon_value,
    dense_model,
    dense_optimal_values,
    dense_policy_value,
)
from tests.reference_values import (
    FROZEN_LAKE_REGISTRY_OPTIMUM,
    FROZEN_LAKE_STATIONARY_WITHIN_LIMIT,
    FROZEN_LAKE_TIME_LIMITED_OPTIMUM,
)
from tests.strategies import deterministic_policies, random_mdps, stochastic_policies

# Gymnasium 1.4, gymnasium/envs/__init__.py: the registered time limits
# (max_episode_steps=100 for FrozenLake-v1, 200 for FrozenLake8x8-v1).
REGISTERED_TIME_LIMIT = {"FrozenLake-v1": 100, "FrozenLake8x8-v1": 200}
FOUR_DECIMALS = 5e-5 + 1e-9


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "FrozenLake8x8-v1"])
def test_value_iteration_policy_within_the_time_limit(env_id):
    env = gym.make(env_id)
    policy = value_iteration(TabularMDP.from_env(env), 0.99).policy
    result = regret(env, policy)
    assert result.horizon == REGISTERED_TIME_LIMIT[env_id]
    assert result.gamma == 1.0
    # The published figure: Gymnasium's registry comment "optimum = 0.74" (0.91 for 8x8).
    assert round(result.optimal_return, 2) == FROZEN_LAKE_REGISTRY_OPTIMUM[env_id]
    assert result.optimal_return == pytest.approx(
        FROZEN_LAKE_TIME_LIMITED_OPTIMUM[env_id], abs=FOUR_DECIMALS
    )
    assert result.policy_return == pytest.approx(
        FROZEN_LAKE_STATIONARY_WITHIN_LIMIT[env_id], abs=FOUR_DECIMALS
    )
    expected_gap = (
        FROZEN_LAKE_TIME_LIMITED_OPTIMUM[env_id] - FROZEN_LAKE_STATIONARY_WITHIN_LIMIT[env_id]
    )
    assert result.gap == pytest.approx(expected_gap, abs=2 * FOUR_DECIMALS)
    assert result.gap > 0.0  # a stationary policy loses to the time-dependent optimum
    assert np.all(result.state_gap >= -1e-12)


def test_random_policy_on_frozen_lake_matches_a_dense_computation():
    env = gym.make("FrozenLake-v1")
    pi = np.full((16, 4), 0.25)
    result = regret(env, pi)
    T, R = dense_model(env.unwrapped.P)
    V_star, _ = dense_backward_induction(T, R, 100, 1.0)
    V_pi = dense_finite_horizon_value(T, R, pi, 100, 1.0)
    start = env.unwrapped.initial_state_distrib
    assert result.gap == pytest.approx(start @ (V_star[0] - V_pi), abs=1e-12)
    assert result.gap > 0.5  # the random walk mostly falls into a hole (dense: 0.730)
    np.testing.assert_allclose(result.state_gap, V_star[0] - V_pi, atol=1e-12)


def test_a_smaller_time_limit_wins_and_gamma_alone_means_infinite_horizon():
    env = TimeLimit(gym.make("FrozenLake-v1"), 10)
    T, R = dense_model(env.unwrapped.P)
    policy = np.zeros(16, dtype=np.int64)
    result = regret(env, policy)
    assert result.horizon == 10
    V_star, _ = dense_backward_induction(T, R, 10, 1.0)
    assert result.optimal_return == pytest.approx(V_star[0][0], abs=1e-12)
    discounted = regret(env, policy, gamma=0.9)
    assert discounted.horizon is None
    V_star = dense_optimal_values(T, R, 0.9)
    V_pi = dense_policy_value(T, R, policy, 0.9)
    assert discounted.gap == pytest.approx(V_star[0] - V_pi[0], abs=1e-10)


# -------------------------------------------------------- random models
@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from([0.0, 0.5, 0.9, 0.99]))
def test_infinite_horizon_gap_matches_dense(data, gamma):
    model = data.draw(random_mdps())
    mdp = model.from_transitions()
    T, R = dense_model(model.P)
    mu0 = np.full(model.n_states, 1.0 / model.n_states)
    V_star = dense_optimal_values(T, R, gamma)
    policy = data.draw(
        st.one_of(
            deterministic_policies(model.n_states, model.n_actions),
            stochastic_policies(model.n_states, model.n_actions),
        )
    )
    result = regret(mdp, policy, gamma=gamma)
    V_pi = dense_policy_value(T, R, policy, gamma)
    scale = max(1.0, np.abs(V_star).max())
    np.testing.assert_allclose(result.state_gap, V_star - V_pi, atol=1e-9 * scale)
    assert result.gap == pytest.approx(mu0 @ (V_star - V_pi), abs=1e-9 * scale)
    assert np.all(result.state_gap >= -1e-9 * scale)
    # the greedy policy of V* has no regret
    optimal = np.argmax(R + gamma * T @ V_star, axis=1)
    best = regret(mdp, optimal, gamma=gamma)
    np.testing.assert_allclose(best.state_gap, 0.0, atol=1e-9 * scale)


@settings(max_examples=30, deadline=None)
@given(st.data(), st.integers(0, 10), st.sampled_from([1.0, 0.9]))
def test_finite_horizon_gap_matches_dense(data, horizon, gamma):
    model = data.draw(random_mdps())
    mdp = model.from_outcomes()
    T, R = dense_model(model.P)
    mu0 = np.full(model.n_states, 1.0 / model.n_states)
    policy = data.draw(stochastic_policies(model.n_states, model.n_actions))
    result = regret(mdp, policy, horizon=horizon, gamma=gamma)
    V_star, _ = dense_backward_induction(T, R, horizon, gamma)
    V_pi = dense_finite_horizon_value(T, R, policy, horizon, gamma)
    assert result.horizon == horizon
    assert result.gap == pytest.approx(mu0 @ (V_star[0] - V_pi), abs=1e-9)
    assert np.all(result.state_gap >= -1e-9)


# ---------------------------------------------------------- policy forms
class RecordingModel:
    """A stand-in for a Stable-Baselines3 model: remembers how predict was called."""

    def __init__(self, actions):
        self.actions = np.asarray(actions)
        self.calls = []

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        self.calls.append((np.array(observation), deterministic))
        return self.actions[np.asarray(observation)], state


def test_every_policy_form_gives_the_same_answer(tmp_path):
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_env(env)
    policy = value_iteration(mdp, 0.99).policy
    q_table = -np.abs(np.arange(4)[None, :] - policy[:, None]).astype(float)  # best: policy[s]
    np.save(tmp_path / "policy.npy", policy.astype(np.float64))  # saved as floats
    recorder = RecordingModel(policy)
    forms = {
        "actions": policy,
        "loaded from .npy": np.load(tmp_path / "policy.npy"),
        "list": policy.tolist(),
        "one-hot stochastic": np.eye(4)[policy],
        "q-table": q_table,
        "callable": lambda obs: int(policy[obs]),
        "predict": recorder,
        "agent": ValueIterationAgent(env, gamma=0.99),
    }
    reference = regret(env, policy)
    for name, form in forms.items():
        result = regret(env, form)
        assert result.gap == pytest.approx(reference.gap, abs=1e-12), name
        np.testing.assert_allclose(result.policy_values, reference.policy_values, atol=1e-12)
    assert len(recorder.calls) == 1
    observations, deterministic = recorder.calls[0]
    np.testing.assert_array_equal(observations, np.arange(16))
    assert deterministic is True


def test_q_table_ties_go_to_the_lowest_action():
    mdp = TabularMDP.from_arrays(np.tile(np.eye(3)[None], (3, 1, 1)), np.zeros((3, 3)))
    Q = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0 + 1e-15], [-1.0, -3.0, -1.0]])
    np.testing.assert_array_equal(as_policy(mdp, Q), [0, 1, 0])


def test_kind_overrides_the_guess():
    mdp = TabularMDP.from_arrays(np.full((2, 2, 2), 0.5), np.zeros((2, 2)))
    rows = np.array([[0.3, 0.7], [0.6, 0.4]])  # rows look like distributions
    np.testing.assert_array_equal(as_policy(mdp, rows), rows)
    np.testing.assert_array_equal(as_policy(mdp, rows, kind="q_values"), [1, 0])
    np.testing.assert_array_equal(as_policy(mdp, np.array([[1, 0], [0, 1]])), np.eye(2))
    result = regret(mdp, rows, gamma=0.5, kind="q_values")
    np.testing.assert_array_equal(result.policy, [1, 0])


def test_result_is_frozen_and_owns_its_arrays():
    mdp = TabularMDP.from_arrays(np.full((2, 2, 2), 0.5), np.array([[0.0, 1.0], [1.0, 0.0]]))
    policy = np.array([0, 0])
    result = regret(mdp, policy, gamma=0.5)
    assert isinstance(result, RegretResult)
    policy[0] = 1
    np.testing.assert_array_equal(result.policy, [0, 0])
    with pytest.raises(ValueError, match="read-only"):
        result.state_gap[0] = 1.0
    with pytest.raises(AttributeError):
        result.gap = 0.0


# ----------------------------------------------------------------- errors
@pytest.fixture(scope="module")
def frozen_lake() -> TabularMDP:
    return TabularMDP.from_env(gym.make("FrozenLake-v1"))


@pytest.mark.parametrize(
    ("policy_like", "match"),
    [
        (
            np.zeros(15, dtype=int),
            r"policy must have shape \(16,\) .*or \(16, 4\) .*got shape \(15,\)",
        ),
        (np.zeros((16, 3)), r"or \(16, 4\) \(probabilities .*got shape \(16, 3\)"),
        (np.array([0] * 7 + [4] + [0] * 8), r"actions must lie in 0..3; got 4 at state 7"),
        (np.array([0.0] * 3 + [1.5] + [0.0] * 12), r"integer actions; got 1\.5 at state 3"),
        (np.full((16, 4), np.nan), r"Q-values must be finite; got nan at state 0, action 0"),
        (np.array(["a"] * 16), r"must hold numbers"),
        (lambda obs: 9 if obs == 11 else 0, r"policy callable: .*got 9 at state 11"),
        (lambda obs: [0, 1], r"one integer action; got array\(\[0, 1\]\).* at state 0"),
        (lambda obs: True, r"one integer action; got array\(True\).* at state 0"),
        (RecordingModel([0] * 5 + [-1] + [0] * 10), r"predict\(.*\): .*got -1 at state 5"),
    ],
)
def test_bad_policies_are_named(frozen_lake, policy_like, match):
    with pytest.raises(ValueError, match=match):
        regret(frozen_lake, policy_like, gamma=0.9)


def test_predict_must_return_actions_and_state(frozen_lake):
    class NoState:
        def predict(self, observation, deterministic=True):
            return np.zeros(16, dtype=int)

    with pytest.raises(ValueError, match=r"must return \(actions, state\)"):
        regret(frozen_lake, NoState(), gamma=0.9)


def test_a_model_needs_gamma_or_horizon(frozen_lake):
    with pytest.raises(ValueError, match="TabularMDP holds no discount or horizon; pass gamma="):
        regret(frozen_lake, np.zeros(16, dtype=int))


def test_an_env_without_time_limit_needs_gamma_or_horizon():
    env = gym.make("FrozenLake-v1").unwrapped
    with pytest.raises(ValueError, match=r"no TimeLimit wrapper.*pass gamma="):
        regret(env, np.zeros(16, dtype=int))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "greedy"}, ValueError, "kind must be one of"),
        ({"kind": "stochastic"}, ValueError, r"kind 'stochastic' must have shape \(16, 4\)"),
        ({"horizon": -1}, ValueError, r"horizon must be >= 0 .*got -1"),
        ({"horizon": 1.5}, TypeError, "horizon must be an int"),
        ({"gamma": 2.0}, ValueError, r"gamma must lie in \[0, 1\]"),
    ],
)
def test_bad_arguments(frozen_lake, kwargs, error, match):
    with pytest.raises(error, match=match):
        regret(frozen_lake, np.zeros(16, dtype=int), **{"gamma": 0.9, **kwargs})


def test_kind_does_not_apply_to_callables(frozen_lake):
    with pytest.raises(ValueError, match="describes an array"):
        regret(frozen_lake, lambda obs: 0, gamma=0.9, kind="q_values")


def test_first_argument_must_be_an_env_or_a_model():
    with pytest.raises(
        TypeError,
        match=r"expected a gymnasium\.Env or a TabularMDP as the first argument, got dict",
    ):
        regret({0: {0: [(1.0, 0, 0.0, True)]}}, [0], gamma=0.9)
