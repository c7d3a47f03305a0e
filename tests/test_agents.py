"""Tests of rl_planners.agents: planning on construction, act, predict and errors.

Sampled and exact evaluation are tested in ``test_evaluation.py``, saving and
loading in ``test_persistence.py``.
"""

from __future__ import annotations

from functools import cache

import gymnasium as gym
import numpy as np
import pytest
from agent_cases import AGENTS, ENV_IDS
from gymnasium.wrappers import RecordEpisodeStatistics

from rl_planners.agents import (
    InexactPolicyIterationAgent,
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    ValueIterationAgent,
)
from rl_planners.errors import ConvergenceWarning, ModelError


@cache
def planned(env_id: str, agent_class: type) -> PlanningAgent:
    return agent_class(gym.make(env_id))


# ------------------------------------------------------------------ planning
@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_agent_plans_on_construction_and_acts_greedily(env_id, agent_class):
    env = gym.make(env_id)
    agent = planned(env_id, agent_class)
    n_states, n_actions = env.observation_space.n, env.action_space.n
    assert (agent.n_states, agent.n_actions) == (n_states, n_actions)
    assert agent.observation_space == env.observation_space
    assert agent.action_space == env.action_space
    assert agent.env_id == env_id
    assert agent.max_episode_steps == env.spec.max_episode_steps
    assert agent.gamma == 0.99 == agent.result.gamma
    assert agent.result.converged
    assert agent.mdp.n_states == n_states
    assert agent.V is agent.result.V and agent.Q is agent.result.Q
    np.testing.assert_array_equal(agent.policy, agent.result.policy)
    assert agent.V.shape == (n_states,) and agent.Q.shape == (n_states, n_actions)
    # the policy is greedy in Q (ties within rounding)
    states = np.arange(n_states)
    scale = max(1.0, float(np.abs(agent.Q).max()))
    assert np.all(agent.Q[states, agent.policy] >= agent.Q.max(axis=1) - 1e-9 * scale)
    actions = [agent.act(s) for s in range(n_states)]
    assert all(type(a) is int for a in actions)
    np.testing.assert_array_equal(actions, agent.policy)


def test_the_agents_find_equally_good_policies():
    figures = [planned("Taxi-v4", cls).expected_return() for cls in AGENTS]
    assert figures == pytest.approx([figures[0]] * len(AGENTS), rel=1e-6)


def test_every_planner_of_the_table_has_its_agent_among_the_tested_ones():
    from rl_planners.agents.planners import PLANNERS

    assert [planner.agent for planner in PLANNERS.values()] == AGENTS


def test_inexact_policy_iteration_agent_is_tol_optimal_against_policy_iteration():
    """For γ < 1: ‖V − V*‖∞ < tol/2 and the greedy policy is tol-optimal
    (inexact_policy_iteration's docstring); V* from policy iteration's exact solve."""
    env = gym.make("FrozenLake8x8-v1")
    exact = PolicyIterationAgent(env, gamma=0.95)
    agent = InexactPolicyIterationAgent(env, gamma=0.95, tol=1e-4, inner_ratio=0.5)
    assert agent.options == {"tol": 1e-4, "inner_ratio": 0.5}
    assert agent.result.converged
    assert np.max(np.abs(agent.V - exact.V)) < 1e-4 / 2
    assert agent.expected_return() > exact.expected_return() - 1e-4


def test_the_agent_runs_in_the_ordinary_env_loop():
    env = gym.make("FrozenLake8x8-v1")
    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    obs, _ = env.reset(seed=0)
    steps = 0
    while True:
        obs, _, terminated, truncated, _ = env.step(agent.act(obs))
        steps += 1
        if terminated or truncated:
            break
    assert 1 <= steps <= 200


def test_an_agent_does_not_change_after_construction():
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    for name in ("V", "Q", "policy", "result", "mdp", "gamma", "options", "env_id"):
        with pytest.raises(AttributeError):
            setattr(agent, name, None)
    for array in (agent.V, agent.Q, agent.policy):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    with pytest.raises(TypeError):
        agent.options["tol"] = 1.0


def test_repr_names_the_env_and_the_outcome():
    text = repr(planned("Taxi-v4", PolicyIterationAgent))
    assert text.startswith("PolicyIterationAgent(env_id='Taxi-v4', gamma=0.99")
    assert "converged=True" in text


# ------------------------------------------------------------------- options
def test_solver_options_pass_through():
    env = gym.make("FrozenLake-v1")
    with pytest.warns(ConvergenceWarning):
        capped = ValueIterationAgent(env, gamma=0.9, max_iterations=3)
    assert capped.result.iterations == 3 and not capped.result.converged
    assert dict(capped.options) == {"max_iterations": 3}
    assert capped.gamma == 0.9
    loose = ValueIterationAgent(env, tol=1e-2, stopping="sup")
    tight = ValueIterationAgent(env, tol=1e-10, stopping="sup")
    assert loose.result.iterations < tight.result.iterations
    assert ModifiedPolicyIterationAgent(env, m=0).options == {"m": 0}
    sweeps = []
    observed = ValueIterationAgent(env, callback=lambda i, r: sweeps.append(i), interruptible=True)
    assert len(sweeps) == observed.result.iterations > 0
    assert dict(observed.options) == {}  # run controls are not part of the plan
    policy0 = np.full(16, 2)
    agent = PolicyIterationAgent(env, policy0=policy0, max_iterations=50)
    assert agent.options["policy0"] is policy0
    assert agent.result.converged


@pytest.mark.parametrize(
    ("agent_class", "options", "match"),
    [
        (
            ValueIterationAgent,
            {"m": 5},
            r"ValueIterationAgent got unknown solver option\(s\) 'm'; value_iteration takes "
            r"tol, .*\bV0\b",
        ),
        (PolicyIterationAgent, {"tol": 1e-3}, r"unknown solver option\(s\) 'tol'"),
        (ModifiedPolicyIterationAgent, {"M": 5, "sweeps": 1}, r"'M', 'sweeps'"),
        (InexactPolicyIterationAgent, {"m": 5}, r"inexact_policy_iteration takes tol, "),
    ],
)
def test_unknown_solver_options_raise(agent_class, options, match):
    with pytest.raises(TypeError, match=match):
        agent_class(gym.make("FrozenLake-v1"), **options)


@pytest.mark.parametrize(
    ("gamma", "error"), [(1.5, ValueError), (-0.1, ValueError), ("0.9", TypeError)]
)
def test_a_bad_gamma_raises(gamma, error):
    with pytest.raises(error, match="gamma"):
        ValueIterationAgent(gym.make("FrozenLake-v1"), gamma=gamma)


def test_the_base_class_names_no_solver():
    with pytest.raises(TypeError, match="PlanningAgent names no solver"):
        PlanningAgent(gym.make("FrozenLake-v1"))


# ------------------------------------------------------------ bad envs
class NoModelEnv(gym.Env):
    """Discrete spaces, but no P."""

    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 0.0, True, False, {}


def test_an_env_without_a_model_raises():
    with pytest.raises(ModelError, match=r"exposes no transition model.*env\.unwrapped\.P"):
        ValueIterationAgent(NoModelEnv())


@pytest.mark.parametrize(
    ("env_id", "match"),
    [
        ("CartPole-v1", r"needs a Discrete observation_space.*got Box"),
        ("Blackjack-v1", r"needs a Discrete observation_space.*got Tuple"),
    ],
)
def test_non_discrete_spaces_raise(env_id, match):
    with pytest.raises(ModelError, match=match):
        PolicyIterationAgent(gym.make(env_id))


# --------------------------------------------------------------------- act
@pytest.mark.parametrize("obs", [3, np.int64(3), np.int32(3), np.uint8(3), np.array(3)])
def test_act_accepts_python_and_numpy_integers(obs):
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    action = agent.act(obs)
    assert type(action) is int
    assert action == agent.policy[3]


@pytest.mark.parametrize(
    ("obs", "match"),
    [
        (16, r"observation 16 is outside the state space 0\.\.15 of 'FrozenLake-v1'"),
        (-1, r"observation -1 is outside the state space 0\.\.15"),
        (np.int64(99), r"observation 99 is outside"),
        (3.0, r"integer state index in 0\.\.15 .*got 3\.0"),
        (True, r"integer state index .*got True"),
        ("3", r"integer state index .*got '3'"),
        (None, r"integer state index .*got None"),
        ([1, 2], r"got \[1, 2\]; act takes one observation, use predict for a batch"),
        (np.array([1]), r"use predict for a batch"),
    ],
)
def test_act_rejects_what_is_not_a_state(obs, match):
    with pytest.raises(ValueError, match=match):
        planned("FrozenLake-v1", ValueIterationAgent).act(obs)


# ------------------------------------------------------------------ predict
def test_predict_a_single_observation_gives_a_0d_array_as_sb3_does():
    agent = planned("Taxi-v4", ValueIterationAgent)
    for obs in (7, np.int64(7), np.array(7)):
        action, state = agent.predict(obs)
        assert isinstance(action, np.ndarray)
        assert action.shape == () and action.dtype == np.int64
        assert action == agent.policy[7]
        assert state is None


@pytest.mark.parametrize("batch", [[0, 5, 499, 5], np.array([0, 5, 499, 5], dtype=np.int32)])
def test_predict_a_batch_gives_a_batch(batch):
    agent = planned("Taxi-v4", ValueIterationAgent)
    actions, _ = agent.predict(batch)
    assert actions.shape == (4,) and actions.dtype == np.int64
    np.testing.assert_array_equal(actions, agent.policy[[0, 5, 499, 5]])


def test_predict_every_state_at_once():
    agent = planned("CliffWalkingSlippery-v1", PolicyIterationAgent)
    actions, _ = agent.predict(np.arange(48))
    np.testing.assert_array_equal(actions, agent.policy)
    empty, _ = agent.predict(np.array([], dtype=np.int64))
    assert empty.shape == (0,)


def test_predict_passes_state_through_and_ignores_the_sb3_flags():
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    hidden = object()
    obs = np.array([0, 4, 8])
    actions, state = agent.predict(
        obs, state=hidden, episode_start=np.array([True, False, True]), deterministic=False
    )
    assert state is hidden
    np.testing.assert_array_equal(actions, agent.predict(obs)[0])


@pytest.mark.parametrize(
    ("obs", "match"),
    [
        (np.zeros((2, 2), dtype=np.int64), r"unexpected observation shape \(2, 2\)"),
        ([0, 3, 16], r"observation 16 at index 2 is outside the state space 0\.\.15"),
        (-2, r"observation -2 is outside"),
        (np.array([0.0, 1.0]), r"integer state indices in 0\.\.15.*dtype float64"),
        ([True, False], r"integer state indices.*dtype bool"),
        ("a", r"integer state indices"),
    ],
)
def test_predict_rejects_what_is_not_a_state(obs, match):
    with pytest.raises(ValueError, match=match):
        planned("FrozenLake-v1", ValueIterationAgent).predict(obs)


# ----------------------------------------------------------------- wrappers
@pytest.mark.parametrize(
    "make",
    [
        lambda: gym.make("FrozenLake8x8-v1"),
        lambda: gym.make("FrozenLake8x8-v1").unwrapped,
        lambda: RecordEpisodeStatistics(gym.make("FrozenLake8x8-v1")),
        lambda: gym.make("FrozenLake8x8-v1", disable_env_checker=True, max_episode_steps=20),
    ],
    ids=["make", "unwrapped", "record-episode-statistics", "no-checker-short-limit"],
)
def test_agents_plan_through_wrappers(make):
    agent = ValueIterationAgent(make())
    np.testing.assert_array_equal(
        agent.policy, planned("FrozenLake8x8-v1", ValueIterationAgent).policy
    )


def test_act_through_record_episode_statistics():
    env = RecordEpisodeStatistics(gym.make("Taxi-v4"))
    agent = ValueIterationAgent(env)
    obs, _ = env.reset(seed=3)
    while True:
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        if terminated or truncated:
            break
    assert terminated
    assert info["episode"]["r"] > 0  # the passenger was delivered


# ----------------------------------------------------------- Stable-Baselines3
def test_stable_baselines3_evaluate_policy_runs_an_agent_unchanged():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    exact = agent.expected_return_within_limit()
    single = Monitor(gym.make("FrozenLake8x8-v1"))
    single.reset(seed=0)
    vec = DummyVecEnv([lambda: Monitor(gym.make("FrozenLake8x8-v1")) for _ in range(3)])
    vec.seed(1)
    for env in (single, vec):
        returns, lengths = evaluate_policy(
            agent, env, n_eval_episodes=300, return_episode_rewards=True
        )
        returns = np.asarray(returns, dtype=np.float64)
        standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
        assert returns.size == 300 and max(lengths) <= 200
        assert abs(returns.mean() - exact) <= 4 * standard_error
