"""SoftValueIterationAgent: samples the Boltzmann policy with its own seeded generator.

References are independent of ``rl_planners``: the dense model of
``tests/independent.dense_model`` and ``np.linalg.solve`` for the exact return.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rl_planners import SoftValueIterationAgent, ValueIterationAgent, load_agent
from tests.independent import dense_model, dense_policy_value


@pytest.fixture(scope="module")
def env():
    return gym.make("FrozenLake-v1")


@pytest.fixture(scope="module")
def agent(env):
    return SoftValueIterationAgent(env, gamma=0.9, temperature=0.05, seed=7)


def test_sampled_actions_follow_the_boltzmann_policy(env):
    agent = SoftValueIterationAgent(env, gamma=0.9, temperature=0.05, seed=1)
    state, n = 6, 20_000
    actions, _ = agent.predict(np.full(n, state))
    frequencies = np.bincount(actions, minlength=agent.n_actions) / n
    probabilities = agent.action_probabilities[state]
    standard_errors = np.sqrt(probabilities * (1 - probabilities) / n)
    assert np.all(np.abs(frequencies - probabilities) <= 5 * standard_errors + 1e-12)
    assert len(set(actions.tolist())) > 1  # it does sample


def test_the_same_seed_gives_the_same_actions_and_another_seed_other_actions(env):
    def draws(seed):
        agent = SoftValueIterationAgent(env, gamma=0.9, temperature=1.0, seed=seed)
        return [agent.act(s) for s in range(16) for _ in range(5)]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_deterministic_takes_the_argmax_with_the_lowest_index_among_ties(agent):
    Q = agent.Q
    expected = np.array([np.flatnonzero(row >= row.max() - 1e-12)[0] for row in Q])
    assert np.array_equal(agent.policy, expected)
    assert np.array_equal(agent.predict(np.arange(16), deterministic=True)[0], expected)
    assert [agent.act(s, deterministic=True) for s in range(16)] == expected.tolist()


def test_probabilities_are_the_softmax_of_q(agent):
    Q, tau = agent.Q, agent.temperature
    weights = np.exp((Q - Q.max(axis=1, keepdims=True)) / tau)
    np.testing.assert_allclose(
        agent.action_probabilities, weights / weights.sum(1, keepdims=True), atol=1e-12
    )


def test_expected_return_is_that_of_the_boltzmann_policy(env, agent):
    T, R = dense_model(env.unwrapped.P)
    V = dense_policy_value(T, R, agent.action_probabilities, 0.9)
    initial = env.unwrapped.initial_state_distrib
    assert agent.expected_return() == pytest.approx(float(initial @ V), abs=1e-10)


def test_a_low_temperature_acts_as_value_iteration(env):
    soft = SoftValueIterationAgent(env, gamma=0.9, temperature=1e-4, seed=0)
    hard = ValueIterationAgent(env, gamma=0.9)
    assert soft.expected_return() == pytest.approx(hard.expected_return(), abs=1e-3)


def test_save_and_load_keep_the_policy_and_restart_the_generator(env, agent, tmp_path):
    path = agent.save(tmp_path / "soft")
    loaded = load_agent(path)
    assert type(loaded) is SoftValueIterationAgent
    assert loaded.temperature == agent.temperature
    assert dict(loaded.options) == {"temperature": 0.05, "seed": 7}
    np.testing.assert_allclose(loaded.action_probabilities, agent.action_probabilities)
    assert np.array_equal(loaded.policy, agent.policy)
    fresh = SoftValueIterationAgent(env, gamma=0.9, temperature=0.05, seed=7)
    assert [fresh.act(6) for _ in range(30)] == [loaded.act(6) for _ in range(30)]
    assert SoftValueIterationAgent.load(path).temperature == 0.05


def test_bad_options_are_named(env):
    with pytest.raises(TypeError, match=r"unknown solver option\(s\) 'm'"):
        SoftValueIterationAgent(env, m=3)
    with pytest.raises(ValueError, match="temperature"):
        SoftValueIterationAgent(env, temperature=0.0)
    with pytest.raises(ValueError, match="state"):
        SoftValueIterationAgent(env, seed=0).act(99)
