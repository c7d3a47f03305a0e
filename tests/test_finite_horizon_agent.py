"""Tests of rl_planners.finite_horizon_agent: optimal within the env's time limit.

Reference figures are computed independently of the code under test, by the
dense NumPy backward induction of ``independent.py`` on arrays built straight
from the env's outcome lists ``env.unwrapped.P`` and its
``initial_state_distrib``. They are also compared with the optima Gymnasium's
registry quotes in comments (0.74 for FrozenLake-v1, 0.91 for
FrozenLake8x8-v1), which hold only within those time limits; those and the
4-decimal figures pinned beside them live in ``reference_values.py``.

Sampled figures must lie within 4 standard errors of the exact ones, with
fixed seeds.
"""

from __future__ import annotations

from functools import cache

import gymnasium as gym
import numpy as np
import pytest
from agent_cases import AGENTS, rewrite_agent_file
from gymnasium.envs.toy_text import FrozenLakeEnv
from gymnasium.wrappers import RecordEpisodeStatistics, TimeLimit
from independent import dense_backward_induction, dense_finite_horizon_value, dense_model
from reference_values import (
    FROZEN_LAKE_REGISTRY_OPTIMUM,
    FROZEN_LAKE_STATIONARY_WITHIN_LIMIT,
    FROZEN_LAKE_TIME_LIMITED_OPTIMUM,
)

from rl_planners import load_agent
from rl_planners.agents import ValueIterationAgent
from rl_planners.agents.evaluation import expected_return
from rl_planners.agents.finite_horizon import FiniteHorizonAgent, TimeStepTracker
from rl_planners.solvers.horizon import FiniteHorizonResult, finite_horizon_policy_value

Z_MAX = 4.0


@cache
def planned(env_id: str, agent_class: type = FiniteHorizonAgent):
    return agent_class(gym.make(env_id))


# ------------------------------------------------------------ dense references
@cache
def env_model(env_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``T[s, a, s']``, ``R[s, a]`` (``independent.dense_model``) and ``μ₀`` of the env."""
    base = gym.make(env_id).unwrapped
    T, R = dense_model(base.P)
    return T, R, np.asarray(base.initial_state_distrib, dtype=np.float64)


def dense_optimum(env_id: str, horizon: int) -> float:
    """``μ₀ · V_0`` with ``V_H = 0``, ``V_t = max_a (R + T V_{t+1})``."""
    T, R, mu = env_model(env_id)
    V, _ = dense_backward_induction(T, R, horizon, 1.0)
    return float(mu @ V[0])


def dense_return_within(env_id: str, policy: np.ndarray, horizon: int) -> float:
    """``μ₀ · V^π_0`` for a stationary ``[S]`` or time-dependent ``[H, S]`` policy."""
    T, R, mu = env_model(env_id)
    return float(mu @ dense_finite_horizon_value(T, R, policy, horizon, 1.0))


def assert_within_noise(result) -> None:
    gap = abs(result.mean_return - result.expected_return)
    assert gap <= Z_MAX * result.standard_error, (
        f"sampled {result.mean_return} vs exact {result.expected_return}: z = {result.z_score:.2f}"
    )


# ----------------------------------------------------------------- exact value
@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "FrozenLake8x8-v1"])
def test_exact_time_limited_value_is_the_published_optimum(env_id):
    agent = planned(env_id)
    horizon = gym.make(env_id).spec.max_episode_steps
    assert agent.horizon == agent.max_episode_steps == horizon
    exact = agent.expected_return_within_limit()
    assert exact == pytest.approx(dense_optimum(env_id, horizon), rel=1e-10)
    assert round(exact, 2) == FROZEN_LAKE_REGISTRY_OPTIMUM[env_id]
    assert exact == pytest.approx(FROZEN_LAKE_TIME_LIMITED_OPTIMUM[env_id], abs=5e-5)
    # The plan achieves it: its value by an independent evaluation of the
    # [H, S] policy, and the backward induction's own V_0, agree.
    assert dense_return_within(env_id, agent.policy, horizon) == pytest.approx(exact, rel=1e-10)
    mdp = agent.mdp
    assert float(mdp.initial_distribution @ agent.V[0]) == pytest.approx(exact, rel=1e-12)
    V = finite_horizon_policy_value(mdp, agent.policy, horizon)
    assert float(mdp.initial_distribution @ V) == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "FrozenLake8x8-v1"])
@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda c: c.__name__)
def test_the_time_limited_optimum_beats_every_stationary_planner(env_id, agent_class):
    stationary = planned(env_id, agent_class)
    horizon = stationary.max_episode_steps
    within = stationary.expected_return_within_limit()
    # one function gives the time-limited value of stationary and time-dependent policies
    assert expected_return(stationary.mdp, stationary.policy, horizon=horizon) == within
    assert within == pytest.approx(dense_return_within(env_id, stationary.policy, horizon))
    assert within == pytest.approx(FROZEN_LAKE_STATIONARY_WITHIN_LIMIT[env_id], abs=5e-5)
    optimum = planned(env_id)
    assert expected_return(optimum.mdp, optimum.policy, horizon=horizon) == pytest.approx(
        optimum.expected_return_within_limit(), rel=1e-12
    )
    assert optimum.expected_return_within_limit() > within


def test_keep_all_keeps_every_step_and_plans_the_same():
    agent = FiniteHorizonAgent(gym.make("FrozenLake-v1"), keep="all")
    lean = planned("FrozenLake-v1")
    assert agent.V.shape == (101, 16) and agent.Q.shape == (100, 16, 4)
    assert lean.V.shape == (1, 16)
    np.testing.assert_array_equal(agent.policy, lean.policy)
    np.testing.assert_allclose(agent.V[0], lean.V[0], rtol=1e-12)
    assert np.all(agent.V[100] == 0)
    with pytest.raises(AttributeError, match=r"keep='policy'.*keep='all'"):
        lean.Q  # noqa: B018
    assert isinstance(lean.result, FiniteHorizonResult)
    with pytest.raises(ValueError, match="read-only"):
        lean.policy[0, 0] = 1


def test_a_discounted_plan_and_a_shorter_limit():
    env = gym.make("FrozenLake8x8-v1")
    agent = FiniteHorizonAgent(env, gamma=0.99)
    mu = agent.mdp.initial_distribution
    assert agent.expected_return_within_limit(gamma=0.99) == pytest.approx(mu @ agent.V[0])
    optimum = planned("FrozenLake8x8-v1")
    # the first 50 steps of the plan, as evaluated within 50 steps
    assert optimum.expected_return_within_limit(50) == pytest.approx(
        dense_return_within("FrozenLake8x8-v1", optimum.policy[:50], 50)
    )
    with pytest.raises(ValueError, match=r"planned 200 steps .* within 201 steps is undefined"):
        optimum.expected_return_within_limit(201)
    with pytest.raises(ValueError, match=r"return without a time limit is undefined"):
        optimum.expected_return()


# ------------------------------------------------------------- sampled value
def test_sampled_success_rate_on_frozenlake8x8_agrees_and_beats_the_stationary_planner():
    env_id = "FrozenLake8x8-v1"
    agent = planned(env_id)
    result = agent.evaluate(gym.make(env_id), n_episodes=3000, seed=8)
    assert result.horizon == 200 and result.n_cut == 0
    assert result.expected_return == pytest.approx(agent.expected_return_within_limit())
    assert result.expected_return_unlimited is None
    assert_within_noise(result)
    stationary = planned(env_id, ValueIterationAgent)
    baseline = stationary.evaluate(gym.make(env_id), n_episodes=3000, seed=8)
    assert_within_noise(baseline)
    # 0.9132 vs 0.8630: about 8 combined standard errors apart at 3000 episodes
    gap = result.mean_return - baseline.mean_return
    assert gap > Z_MAX * np.hypot(result.standard_error, baseline.standard_error)
    assert result.mean_return - baseline.expected_return > Z_MAX * result.standard_error


def test_sampled_success_rate_on_frozenlake_agrees_with_the_exact_optimum():
    # 0.7442 vs the stationary 0.7402 is under one standard error at 4000
    # episodes, so only the exact figures can tell them apart (tested above).
    agent = planned("FrozenLake-v1")
    result = agent.evaluate(gym.make("FrozenLake-v1"), n_episodes=4000, seed=4)
    assert result.horizon == 100 and result.n_cut == 0
    assert_within_noise(result)
    assert result.expected_return == pytest.approx(
        FROZEN_LAKE_TIME_LIMITED_OPTIMUM["FrozenLake-v1"], abs=5e-5
    )


# ---------------------------------------------------------- the env loop: wrap
def test_the_plain_loop_with_wrap_plays_exactly_what_evaluate_plays():
    # Same seed, same episodes: the step count the wrapper keeps is the t
    # evaluate passes, episode after episode.
    agent = planned("FrozenLake8x8-v1")
    env = agent.wrap(gym.make("FrozenLake8x8-v1"))
    assert isinstance(env, TimeStepTracker)
    returns, lengths = [], []
    for episode in range(150):
        obs, _ = env.reset(seed=21) if episode == 0 else env.reset()
        total, steps = 0.0, 0
        while True:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
            total, steps = total + reward, steps + 1
            if terminated or truncated:
                break
        returns.append(total)
        lengths.append(steps)
    result = agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=150, seed=21)
    np.testing.assert_array_equal(returns, result.returns)
    np.testing.assert_array_equal(lengths, result.lengths)


def test_wrap_counts_steps_not_calls_to_act():
    agent = planned("FrozenLake8x8-v1")
    env = agent.wrap(gym.make("FrozenLake8x8-v1"))
    obs, _ = env.reset(seed=0)
    for _ in range(5):
        action = agent.act(obs)
        assert agent.act(obs) == action  # asking twice does not advance time
        obs, _, terminated, truncated, _ = env.step(action)
        assert not (terminated or truncated)
    assert env.elapsed_steps == 5
    assert agent.act(obs) == agent.act(obs, t=5) == agent.policy[5, obs]
    env.reset(seed=1)
    assert env.elapsed_steps == 0


def test_wrap_is_idempotent_and_works_under_other_wrappers():
    agent = planned("FrozenLake-v1")
    tracked = agent.wrap(gym.make("FrozenLake-v1"))
    assert agent.wrap(tracked) is tracked
    outer = RecordEpisodeStatistics(tracked)
    assert agent.wrap(outer) is outer
    obs, _ = outer.reset(seed=3)
    obs, *_ = outer.step(agent.act(obs))
    assert agent.act(obs) == agent.policy[1, obs]


def test_forgetting_wrap_raises_instead_of_acting_at_t0():
    agent = FiniteHorizonAgent(gym.make("FrozenLake-v1"))
    env = gym.make("FrozenLake-v1")
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match=r"needs the time step.*env = agent\.wrap\(env\).*t="):
        agent.act(obs)
    # an explicit t always works
    assert agent.act(obs, t=0) == agent.policy[0, obs]


def test_stepping_the_env_inside_the_wrapper_raises():
    agent = FiniteHorizonAgent(gym.make("FrozenLake8x8-v1"))
    env = gym.make("FrozenLake8x8-v1")
    agent.wrap(env)  # the returned wrapper is discarded
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match=r"needs the time step"):
        agent.act(obs)
    tracked = agent.wrap(env)
    obs, _ = env.reset(seed=0)  # reset the inner env, not the wrapper
    with pytest.raises(ValueError, match=r"does not carry it.*not the env inside it"):
        agent.act(obs)
    obs, _ = tracked.reset(seed=0)
    tracked.step(agent.act(obs))
    obs = int(env.unwrapped.s)
    while obs == tracked.last_observation:  # step the inner env until the state differs
        obs, *_ = env.step(0)
    with pytest.raises(ValueError, match=r"does not carry it.*not the env inside it"):
        agent.act(obs)


def test_wrap_records_nothing_on_the_agent_and_observations_carry_the_time_step():
    import copy

    agent = planned("FrozenLake8x8-v1")
    before = copy.copy(vars(agent))
    first, second = (agent.wrap(gym.make("FrozenLake8x8-v1")) for _ in range(2))
    assert vars(agent) == before  # no state set by wrap
    a, _ = first.reset(seed=0)
    b, _ = second.reset(seed=1)
    a, *_ = first.step(agent.act(a))
    a, *_ = first.step(agent.act(a))
    # one agent, two episodes at different time steps, each read from its observation
    assert (a.t, b.t) == (2, 0)
    assert agent.act(a) == agent.policy[2, a] and agent.act(b) == agent.policy[0, b]
    assert isinstance(a, int) and repr(a) == repr(int(a)) and a == int(a)


def test_acting_on_the_last_observation_of_an_episode_raises():
    agent = planned("FrozenLake-v1")
    env = agent.wrap(gym.make("FrozenLake-v1"))
    obs, _ = env.reset(seed=0)
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, _ = env.step(agent.act(obs))
    with pytest.raises(ValueError, match=r"has ended.*env\.reset\(\)"):
        agent.act(obs)


def test_acting_after_the_episode_ended_raises():
    env_id = "FrozenLake-v1"
    agent = planned(env_id)
    env = agent.wrap(gym.make(env_id, is_slippery=False))
    obs, _ = env.reset(seed=0)
    for action in (1, 1, 2, 2, 1, 2):  # down, down, right, right, down, right: the goal
        obs, reward, terminated, _, _ = env.step(action)
    assert terminated and reward == 1.0
    with pytest.raises(ValueError, match=r"episode .* has ended .*after 6 steps.*env\.reset"):
        agent.act(obs)
    obs, _ = env.reset()
    assert agent.act(obs) == agent.policy[0, obs]


@pytest.mark.parametrize(
    ("t", "error", "match"),
    [
        (100, ValueError, r"time step 100 is past the horizon: the agent planned 100 steps"),
        (250, ValueError, r"TimeLimit\(env, 100\)"),
        (-1, ValueError, r"t must be >= 0"),
        (1.0, TypeError, r"t must be an int"),
        (True, TypeError, r"t must be an int"),
    ],
)
def test_a_bad_time_step_raises(t, error, match):
    with pytest.raises(error, match=match):
        planned("FrozenLake-v1").act(0, t=t)


def test_acting_past_a_shorter_horizon_raises_in_the_loop():
    with pytest.warns(UserWarning, match=r"horizon=3 is shorter than the time limit .*100 steps"):
        agent = FiniteHorizonAgent(gym.make("FrozenLake-v1"), horizon=3)
    env = agent.wrap(gym.make("FrozenLake-v1", is_slippery=False))
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(agent.act(obs))
    with pytest.raises(ValueError, match=r"time step 3 is past the horizon"):
        agent.act(obs)


# ------------------------------------------------------------------ predict
def test_predict_single_and_batched_with_state_and_episode_start():
    agent = planned("FrozenLake8x8-v1")
    action, state = agent.predict(5, episode_start=True)
    assert action.shape == state.shape == () and action.dtype == state.dtype == np.int64
    assert action == agent.policy[0, 5] and state == 1
    action, state = agent.predict(5, state=state)
    assert action == agent.policy[1, 5] and state == 2
    obs = np.array([0, 9, 9, 63 - 8])
    t = np.array([0, 7, 150, 199])
    actions, state = agent.predict(obs, state=t, episode_start=[False, False, True, False])
    np.testing.assert_array_equal(actions, agent.policy[[0, 7, 0, 199], obs])
    np.testing.assert_array_equal(state, [1, 8, 1, 200])
    actions, state = agent.predict(obs, state=t, episode_start=np.array([0, 0, 1, 0.0]))
    np.testing.assert_array_equal(state, [1, 8, 1, 200])
    empty, state = agent.predict(np.array([], dtype=np.int64), state=np.array([], dtype=np.int64))
    assert empty.shape == state.shape == (0,)


def test_predict_runs_the_loop_of_stable_baselines3_evaluate_policy():
    # The loop of stable_baselines3.common.evaluation.evaluate_policy over a
    # DummyVecEnv (sub-envs reset automatically when done): state=None and
    # episode_start all True first, then the returned state and
    # episode_start = dones; envs past their quota keep stepping.
    env_id, n_envs, n_episodes = "FrozenLake8x8-v1", 3, 600
    agent = planned(env_id)
    envs = [gym.make(env_id) for _ in range(n_envs)]
    observations = np.array([env.reset(seed=100 + i)[0] for i, env in enumerate(envs)])
    targets = np.array([(n_episodes + i) // n_envs for i in range(n_envs)])
    counts, current, rewards_seen = np.zeros(n_envs, int), np.zeros(n_envs), []
    states, episode_starts = None, np.ones(n_envs, dtype=bool)
    while (counts < targets).any():
        actions, states = agent.predict(observations, state=states, episode_start=episode_starts)
        for i, env in enumerate(envs):
            obs, reward, terminated, truncated, _ = env.step(int(actions[i]))
            done = terminated or truncated
            if done:
                obs, _ = env.reset()
            observations[i] = obs
            current[i] += reward
            if counts[i] < targets[i]:
                episode_starts[i] = done
                if done:
                    rewards_seen.append(current[i])
                    counts[i] += 1
            if done:
                current[i] = 0.0
    returns = np.array(rewards_seen)
    assert returns.size == n_episodes
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert abs(returns.mean() - agent.expected_return_within_limit()) <= Z_MAX * standard_error


def test_stable_baselines3_evaluate_policy_runs_the_agent():
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    agent = planned("FrozenLake8x8-v1")
    vec = DummyVecEnv([lambda: Monitor(gym.make("FrozenLake8x8-v1")) for _ in range(3)])
    vec.seed(1)
    returns, lengths = evaluate_policy(agent, vec, n_eval_episodes=600, return_episode_rewards=True)
    returns = np.asarray(returns, dtype=np.float64)
    standard_error = returns.std(ddof=1) / np.sqrt(returns.size)
    assert max(lengths) <= 200
    assert abs(returns.mean() - agent.expected_return_within_limit()) <= Z_MAX * standard_error


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, r"predict needs the time step of each observation: pass episode_start=True"),
        ({"episode_start": [True, False]}, r"\(episode_start is False at 1\)"),
        ({"state": [1, 2, 3]}, r"state must hold one time step per observation \(2\), got 3"),
        ({"state": [1.0, 2.0]}, r"state must hold integer time steps"),
        ({"state": [1, -2]}, r"negative time step"),
        ({"state": [1, 200]}, r"time step 200 is past the horizon.* at index 1.*episode_start"),
        ({"state": [1, 2], "episode_start": [True]}, r"episode_start must have one entry per"),
        ({"state": [1, 2], "episode_start": [2, 0]}, r"episode_start must be booleans"),
    ],
)
def test_predict_without_a_known_time_step_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        planned("FrozenLake8x8-v1").predict([0, 1], **kwargs)


def test_predict_and_evaluate_do_not_touch_the_followed_episode():
    agent = planned("FrozenLake8x8-v1")
    env = agent.wrap(gym.make("FrozenLake8x8-v1"))
    obs, _ = env.reset(seed=5)
    obs, *_ = env.step(agent.act(obs))
    agent.predict([0, 1], episode_start=[True, True])
    agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=5, seed=0)
    assert env.elapsed_steps == 1
    assert agent.act(obs) == agent.policy[1, obs]


# ------------------------------------------------------------------ horizon
def test_an_env_without_a_time_limit_needs_an_explicit_horizon():
    with pytest.raises(ValueError, match=r"'CliffWalking-v1' has no time limit.*horizon=<steps>"):
        FiniteHorizonAgent(gym.make("CliffWalking-v1"))
    agent = FiniteHorizonAgent(gym.make("CliffWalking-v1"), horizon=20)
    assert agent.horizon == 20 and agent.max_episode_steps is None
    # the optimal path: 13 steps along the cliff, -1 each (S&B Example 6.6)
    assert agent.expected_return_within_limit() == pytest.approx(-13.0)
    result = agent.evaluate(gym.make("CliffWalking-v1"), n_episodes=3, seed=0)
    assert result.horizon == 20 and result.mean_return == -13.0


def test_evaluate_cuts_at_the_horizon_on_an_env_without_a_limit_without_warning(recwarn):
    agent = FiniteHorizonAgent(FrozenLakeEnv(map_name="8x8"), horizon=30)
    result = agent.evaluate(FrozenLakeEnv(map_name="8x8"), n_episodes=500, seed=0)
    assert result.horizon == 30 and result.lengths.max() == 30 and result.n_cut > 0
    assert not [w for w in recwarn if "cut" in str(w.message)]
    assert_within_noise(result)


def test_a_horizon_other_than_the_time_limit_warns_and_evaluate_says_what_to_do():
    env = gym.make("FrozenLake8x8-v1")
    with pytest.warns(UserWarning, match=r"horizon=300 is longer .* optimal for 300-step"):
        longer = FiniteHorizonAgent(env, horizon=300)
    assert (
        longer.expected_return_within_limit() < FROZEN_LAKE_TIME_LIMITED_OPTIMUM["FrozenLake8x8-v1"]
    )
    with pytest.warns(UserWarning, match=r"horizon=50 is shorter"):
        shorter = FiniteHorizonAgent(env, horizon=50)
    with pytest.raises(
        ValueError, match=r"can run 200 steps, but the agent planned 50.*max_steps=50"
    ):
        shorter.evaluate(env, n_episodes=2)
    result = shorter.evaluate(env, n_episodes=300, seed=0, max_steps=50)
    assert result.horizon == 50
    assert result.expected_return == pytest.approx(dense_optimum("FrozenLake8x8-v1", 50), rel=1e-10)
    assert_within_noise(result)
    within_50 = TimeLimit(FrozenLakeEnv(map_name="8x8"), 50)
    assert shorter.evaluate(within_50, n_episodes=2, seed=0).horizon == 50


@pytest.mark.parametrize(
    ("horizon", "error", "match"),
    [(0, ValueError, r"horizon must be >= 1"), ("5", TypeError, r"horizon must be an int")],
)
def test_a_bad_horizon_raises(horizon, error, match):
    with pytest.raises(error, match=match):
        FiniteHorizonAgent(gym.make("FrozenLake-v1"), horizon=horizon)


def test_bad_options_raise():
    with pytest.raises(ValueError, match=r"keep must be 'policy' or 'all'"):
        FiniteHorizonAgent(gym.make("FrozenLake-v1"), keep="Q")
    with pytest.raises(TypeError, match=r"unknown solver option\(s\) 'tol'"):
        FiniteHorizonAgent(gym.make("FrozenLake-v1"), tol=1e-3)
    with pytest.raises(ValueError, match="gamma"):
        FiniteHorizonAgent(gym.make("FrozenLake-v1"), gamma=1.5)


def test_wrap_rejects_a_vector_env_and_another_env():
    agent = planned("FrozenLake-v1")
    with pytest.raises(ValueError, match=r"num_envs=2\. Use predict"):
        agent.wrap(gym.make_vec("FrozenLake-v1", num_envs=2))
    with pytest.raises(ValueError, match=r"wrap with the env the agent planned for"):
        agent.wrap(gym.make("Taxi-v4"))


# ------------------------------------------------------------- save and load
@pytest.mark.parametrize("keep", ["policy", "all"])
def test_save_and_load_round_trip(tmp_path, monkeypatch, keep):
    agent = FiniteHorizonAgent(gym.make("FrozenLake8x8-v1"), keep=keep)
    path = agent.save(tmp_path / "agent")

    def refuse(*args, **kwargs):
        raise AssertionError("loading must not plan")

    monkeypatch.setattr(FiniteHorizonAgent, "solver", staticmethod(refuse))
    loaded = FiniteHorizonAgent.load(path)
    assert type(loaded) is FiniteHorizonAgent
    np.testing.assert_array_equal(loaded.policy, agent.policy)
    np.testing.assert_array_equal(loaded.V, agent.V)
    if keep == "all":
        np.testing.assert_array_equal(loaded.Q, agent.Q)
    assert (loaded.horizon, loaded.gamma, loaded.env_id) == (200, 1.0, "FrozenLake8x8-v1")
    assert loaded.result.keep == keep and loaded.options == {"keep": keep}
    assert loaded.expected_return_within_limit() == agent.expected_return_within_limit()
    first = agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=30, seed=4)
    again = loaded.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=30, seed=4)
    np.testing.assert_array_equal(first.returns, again.returns)
    bare = load_agent(agent.save(tmp_path / "bare", include_model=False))
    assert bare.act(9, t=17) == agent.act(9, t=17)
    with pytest.raises(AttributeError, match="has no mdp"):
        bare.expected_return_within_limit()


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"policy": lambda p: p[:-1]}, r"policy has shape \(199, 64\), expected \(200, 64\)"),
        ({"policy": lambda p: np.where(p == p, 4, p)}, r"action 4 at time step 0, state 0"),
        ({"V": lambda v: np.zeros((2, 64))}, r"V has shape \(2, 64\), expected \(1, 64\)"),
        ({"keep": "all"}, r"keep 'all' without Q"),
        ({"horizon": None}, r"lacks Q, iterations, converged, residuals"),
        ({"agent_class": "ValueIterationAgent"}, r"names a ValueIterationAgent but holds a time"),
    ],
)
def test_load_rejects_a_damaged_finite_horizon_file(tmp_path, changes, match):
    path = planned("FrozenLake8x8-v1").save(tmp_path / "agent.npz")
    rewrite_agent_file(path, **changes)
    with pytest.raises(ValueError, match=match):
        load_agent(path)


def test_repr_names_the_horizon():
    assert repr(planned("FrozenLake-v1")) == (
        "FiniteHorizonAgent(env_id='FrozenLake-v1', horizon=100, gamma=1.0, "
        "n_states=16, n_actions=4)"
    )
