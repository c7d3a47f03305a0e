"""Tests of rl_planners.evaluation and the agents' evaluate and exact figures.

Two kinds of check:

- exact figures against references computed independently of the code under
  test: the dense NumPy recursions and linear solves of ``independent.py`` on
  arrays built straight from the env's own outcome lists ``env.unwrapped.P``,
  weighted by its ``initial_state_distrib``;
- Monte Carlo means against those exact figures: with a fixed seed, the
  sampled mean return must lie within 4 standard errors of the exact expected
  return within the env's time limit (a wrong horizon, discount or initial
  distribution moves the exact figure by many standard errors; see
  ``test_the_time_limit_matters``).
"""

from __future__ import annotations

import dataclasses
from functools import cache

import gymnasium as gym
import numpy as np
import pytest
from agent_cases import AGENTS, ENV_IDS
from gymnasium.envs.toy_text import FrozenLakeEnv
from gymnasium.wrappers import RecordEpisodeStatistics, TimeLimit
from hypothesis import given
from hypothesis import strategies as st
from independent import (
    dense_finite_horizon_value,
    dense_model,
    dense_policy_model,
    dense_policy_value,
)
from strategies import deterministic_policies, random_mdps, stochastic_policies

from rl_planners.agents import ValueIterationAgent
from rl_planners.agents.evaluation import (
    DEFAULT_MAX_STEPS,
    EvaluationResult,
    evaluate_policy,
    expected_return,
    reachable_states,
    time_limit,
)
from rl_planners.agents.policies import TimeDependentPolicy
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult

N_EPISODES = 400
Z_MAX = 4.0


@cache
def planned(env_id: str, agent_class: type) -> ValueIterationAgent:
    """One agent per env and class for the whole module (planning is deterministic)."""
    return agent_class(gym.make(env_id))


# ------------------------------------------------------------ dense references
def dense_return_within(env, policy, horizon, gamma=1.0, model=None):
    """``μ₀ · V_0`` with ``V_H = 0``, ``V_t = R_π + γ T_π V_{t+1}``."""
    base = env.unwrapped
    T, R = dense_model(base.P) if model is None else model
    V = dense_finite_horizon_value(T, R, policy, horizon, gamma)
    return float(base.initial_state_distrib @ V)


def dense_return_unlimited(env, policy, gamma=1.0, model=None):
    """``μ₀ · V`` with ``(I − γ T_π) V = R_π`` over the states reachable from ``μ₀``."""
    base = env.unwrapped
    T, R = dense_model(base.P) if model is None else model
    T_pi, _ = dense_policy_model(T, R, policy)
    mu = np.asarray(base.initial_state_distrib, dtype=np.float64)
    reach = mu > 0
    while True:
        grown = reach | ((reach.astype(np.float64) @ T_pi) > 0)
        if np.array_equal(grown, reach):
            break
        reach = grown
    idx = np.flatnonzero(reach)
    V = dense_policy_value(T[idx][:, :, idx], R[idx], policy[idx], gamma)  # the closed chain
    return float(mu[idx] @ V)


def assert_within_noise(result: EvaluationResult) -> None:
    gap = abs(result.mean_return - result.expected_return)
    if result.standard_error == 0.0:
        assert gap <= 1e-9, (result.mean_return, result.expected_return)
    else:
        assert gap <= Z_MAX * result.standard_error, (
            f"sampled {result.mean_return} vs exact {result.expected_return}: "
            f"z = {result.z_score:.2f}"
        )


# ----------------------------------------------------- sampled against exact
@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sampled_mean_lies_within_noise_of_the_exact_time_limited_return(env_id, agent_class):
    agent = planned(env_id, agent_class)
    result = agent.evaluate(gym.make(env_id), n_episodes=N_EPISODES, seed=2024)
    assert result.n_episodes == N_EPISODES
    assert result.returns.shape == result.lengths.shape == (N_EPISODES,)
    assert result.mean_return == pytest.approx(result.returns.mean())
    assert result.mean_length == pytest.approx(result.lengths.mean())
    assert result.n_cut == 0
    assert_within_noise(result)


@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_exact_figures_match_dense_computations(env_id, agent_class):
    env = gym.make(env_id)
    agent = planned(env_id, agent_class)
    limit = env.spec.max_episode_steps
    horizon = DEFAULT_MAX_STEPS if limit is None else limit
    model = dense_model(env.unwrapped.P)
    within = dense_return_within(env, agent.policy, horizon, model=model)
    unlimited = dense_return_unlimited(env, agent.policy, model=model)
    result = agent.evaluate(env, n_episodes=2, seed=0)
    assert result.horizon == horizon
    assert result.expected_return == pytest.approx(within, rel=1e-9, abs=1e-9)
    assert result.expected_return_unlimited == pytest.approx(unlimited, rel=1e-9, abs=1e-9)
    assert agent.expected_return(gamma=1.0) == pytest.approx(unlimited, rel=1e-9, abs=1e-9)
    discounted = dense_return_unlimited(env, agent.policy, gamma=0.99, model=model)
    assert agent.expected_return() == pytest.approx(discounted, rel=1e-9, abs=1e-9)
    if limit is not None:
        assert agent.expected_return_within_limit() == pytest.approx(within, rel=1e-9, abs=1e-9)
        discounted_within = dense_return_within(env, agent.policy, limit, 0.99, model)
        assert agent.expected_return_within_limit(gamma=0.99) == pytest.approx(
            discounted_within, rel=1e-9, abs=1e-9
        )
    else:
        with pytest.raises(ValueError, match=r"has no time limit.*pass horizon="):
            agent.expected_return_within_limit()
        assert agent.expected_return_within_limit(13) == pytest.approx(
            dense_return_within(env, agent.policy, 13, model=model)
        )


def test_the_time_limit_matters():
    # Within 30 steps FrozenLake8x8's optimal policy reaches the goal far less
    # often than it eventually does: the sampled mean must match J_30, not J_∞.
    env = gym.make("FrozenLake8x8-v1", max_episode_steps=30)
    agent = ValueIterationAgent(env)
    assert agent.max_episode_steps == 30
    result = agent.evaluate(env, n_episodes=1000, seed=7)
    assert result.horizon == 30
    assert result.lengths.max() <= 30
    assert result.expected_return == pytest.approx(dense_return_within(env, agent.policy, 30))
    assert_within_noise(result)
    gap_to_unlimited = result.expected_return_unlimited - result.mean_return
    assert gap_to_unlimited > 10 * result.standard_error


def test_a_time_dependent_policy_is_evaluated_per_step():
    # A policy that changes with the step index, in a deterministic env: every
    # episode returns exactly the exact figure if and only if evaluation passes
    # the step index to the policy, and the exact figure uses the policy per step.
    env = gym.make("CliffWalking-v1", max_episode_steps=40)
    steps = np.random.default_rng(0).integers(0, 4, size=(40, 48))
    mdp = TabularMDP.from_env(env)
    result = evaluate_policy(TimeDependentPolicy(steps), env, 3, 0, mdp=mdp)
    exact = expected_return(mdp, steps, horizon=40)
    assert result.expected_return == pytest.approx(exact)
    np.testing.assert_allclose(result.returns, exact)
    assert exact != pytest.approx(expected_return(mdp, steps[0], horizon=40))


# -------------------------------------------------------------- reproducible
def test_a_seeded_evaluation_is_reproducible():
    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    first = agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=50, seed=11)
    again = agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=50, seed=11)
    other = agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=50, seed=12)
    np.testing.assert_array_equal(first.returns, again.returns)
    np.testing.assert_array_equal(first.lengths, again.lengths)
    assert not np.array_equal(first.lengths, other.lengths)
    assert first.seed == 11


def test_only_the_first_reset_is_seeded():
    # Seeding every reset with the same seed would replay one episode n times.
    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    result = agent.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=30, seed=5)
    assert np.unique(result.lengths).size > 1


# ------------------------------------------------------------------ wrappers
def test_evaluate_reports_what_record_episode_statistics_records():
    env = RecordEpisodeStatistics(gym.make("FrozenLake8x8-v1"))
    agent = ValueIterationAgent(env)
    np.testing.assert_array_equal(
        agent.policy, planned("FrozenLake8x8-v1", ValueIterationAgent).policy
    )
    result = agent.evaluate(env, n_episodes=40, seed=1)
    np.testing.assert_allclose(result.returns, np.array(env.return_queue, dtype=np.float64))
    np.testing.assert_array_equal(result.lengths, np.array(env.length_queue))
    assert result.horizon == 200


def test_evaluate_honours_a_time_limit_added_by_hand():
    env = TimeLimit(FrozenLakeEnv(map_name="8x8"), max_episode_steps=50)
    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    result = agent.evaluate(env, n_episodes=300, seed=0)
    assert result.horizon == 50
    assert result.lengths.max() <= 50
    assert result.expected_return == pytest.approx(dense_return_within(env, agent.policy, 50))
    assert_within_noise(result)


def test_evaluate_on_the_unwrapped_env_runs_until_termination():
    env = gym.make("FrozenLake-v1").unwrapped
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    result = agent.evaluate(env, n_episodes=300, seed=0)
    assert result.horizon == DEFAULT_MAX_STEPS
    assert result.n_cut == 0
    assert result.expected_return == pytest.approx(result.expected_return_unlimited)
    assert_within_noise(result)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: gym.make("FrozenLake-v1"), 100),
        (lambda: gym.make("FrozenLake-v1", max_episode_steps=7), 7),
        (lambda: gym.make("CliffWalking-v1"), None),
        (lambda: FrozenLakeEnv(), None),
        (lambda: TimeLimit(TimeLimit(FrozenLakeEnv(), 50), 30), 30),
        (lambda: TimeLimit(TimeLimit(FrozenLakeEnv(), 30), 50), 30),
        (lambda: RecordEpisodeStatistics(gym.make("Taxi-v4")), 200),
    ],
)
def test_time_limit_finds_the_smallest_time_limit_wrapper(make, expected):
    assert time_limit(make()) == expected


# ---------------------------------------------------------- episodes cut short
class AlwaysUpAgent(ValueIterationAgent):
    """A fixed policy that walks into the top wall of CliffWalking forever."""

    @staticmethod
    def solver(mdp, gamma):
        policy = np.zeros(mdp.n_states, dtype=np.int64)  # CliffWalking's action 0: up
        return PlanningResult(
            V=np.zeros(mdp.n_states),
            Q=np.zeros((mdp.n_states, mdp.n_actions)),
            policy=policy,
            iterations=0,
            converged=True,
            residuals=np.zeros(0),
            gamma=gamma,
            wall_time=0.0,
        )


def test_a_looping_policy_is_cut_at_max_steps_and_reported():
    env = gym.make("CliffWalking-v1")
    agent = AlwaysUpAgent(env)
    with pytest.warns(UserWarning, match=r"3 of 3 episodes .* max_steps=50"):
        result = agent.evaluate(env, n_episodes=3, seed=0, max_steps=50)
    assert result.n_cut == 3
    assert result.horizon == 50
    np.testing.assert_array_equal(result.lengths, [50, 50, 50])
    np.testing.assert_array_equal(result.returns, [-50.0, -50.0, -50.0])
    assert result.expected_return == pytest.approx(-50.0)
    assert result.expected_return_unlimited is None
    with pytest.raises(NonTerminatingPolicyError, match="reaches from the initial distribution"):
        agent.expected_return(gamma=1.0)
    assert agent.expected_return(gamma=0.5) == pytest.approx(-2.0)


def test_max_steps_below_the_env_limit_sets_the_horizon():
    env = gym.make("FrozenLake8x8-v1")
    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    with pytest.warns(UserWarning, match="cut there"):
        result = agent.evaluate(env, n_episodes=100, seed=0, max_steps=10)
    assert result.horizon == 10
    assert result.n_cut > 0
    assert result.expected_return == pytest.approx(dense_return_within(env, agent.policy, 10))
    assert_within_noise(result)


def test_max_steps_above_the_env_limit_leaves_the_env_limit():
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    result = agent.evaluate(gym.make("FrozenLake-v1"), n_episodes=5, seed=0, max_steps=10**6)
    assert result.horizon == 100


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_episodes": 0}, ValueError, "n_episodes must be >= 1, got 0"),
        ({"n_episodes": 2.5}, TypeError, "n_episodes must be an int"),
        ({"n_episodes": True}, TypeError, "n_episodes must be an int"),
        ({"max_steps": 0}, ValueError, "max_steps must be >= 1, got 0"),
        ({"max_steps": "10"}, TypeError, "max_steps must be an int >= 1"),
    ],
)
def test_bad_evaluation_arguments_raise(kwargs, error, match):
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    with pytest.raises(error, match=match):
        agent.evaluate(gym.make("FrozenLake-v1"), **kwargs)


def test_evaluate_on_an_env_with_other_spaces_raises():
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    with pytest.raises(
        ValueError,
        match=r"planned for 'FrozenLake-v1' with observation space Discrete\(16\).*"
        r"'FrozenLake8x8-v1' has Discrete\(64\)",
    ):
        agent.evaluate(gym.make("FrozenLake8x8-v1"))
    with pytest.raises(
        ValueError,
        match=r"action space Discrete\(6\), but env .* has Discrete\(500\) and Discrete\(4\)",
    ):
        planned("Taxi-v4", ValueIterationAgent).evaluate(_FourActions())


class _FourActions:
    """Taxi's observation space with FrozenLake's number of actions."""

    observation_space = gym.spaces.Discrete(500)
    action_space = gym.spaces.Discrete(4)


def test_evaluate_on_a_vector_env_raises():
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    envs = gym.make_vec("FrozenLake-v1", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match=r"single Gymnasium env.*num_envs=2"):
        agent.evaluate(envs)


def test_evaluate_on_another_model_with_the_same_spaces_warns_and_uses_that_model():
    agent = planned("FrozenLake-v1", ValueIterationAgent)
    env = gym.make("FrozenLake-v1", is_slippery=False)
    with pytest.warns(UserWarning, match="model differs from the one 'FrozenLake-v1'"):
        result = agent.evaluate(env, n_episodes=5, seed=0)
    assert result.expected_return == pytest.approx(dense_return_within(env, agent.policy, 100))


def test_an_env_without_a_model_gives_sampled_figures_only():
    class Opaque(gym.Wrapper):
        """Hides the model: unwrapped is the wrapper itself."""

        @property
        def unwrapped(self):
            return self

    agent = planned("FrozenLake-v1", ValueIterationAgent)
    result = agent.evaluate(Opaque(gym.make("FrozenLake-v1")), n_episodes=20, seed=0)
    assert result.expected_return is None
    assert result.expected_return_unlimited is None
    assert np.isnan(result.z_score)
    assert 0.0 <= result.mean_return <= 1.0


# ---------------------------------------------------------- EvaluationResult
def test_evaluation_result_statistics():
    result = EvaluationResult(
        returns=np.array([1.0, 0.0, 1.0, 0.0]),
        lengths=np.array([3, 5, 7, 9]),
        horizon=10,
        expected_return=0.25,
        expected_return_unlimited=None,
    )
    assert result.n_episodes == 4
    assert result.mean_return == 0.5
    assert result.std_return == 0.5  # ddof = 0, as np.std and SB3
    assert result.standard_error == pytest.approx(np.sqrt(1.0 / 3.0) / 2.0)
    assert result.mean_length == 6.0
    assert result.z_score == pytest.approx(0.25 / (np.sqrt(1.0 / 3.0) / 2.0))
    assert "mean_return=0.5" in repr(result)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mean_return = 1.0
    with pytest.raises(ValueError, match="read-only"):
        result.returns[0] = 2.0


@pytest.mark.parametrize(
    ("returns", "expected", "z"),
    [([-13.0, -13.0], -13.0, 0.0), ([-13.0, -13.0], -12.0, -np.inf), ([1.0], 1.0, np.nan)],
)
def test_z_score_without_spread(returns, expected, z):
    result = EvaluationResult(
        returns=np.array(returns),
        lengths=np.ones(len(returns), dtype=np.int64),
        horizon=10,
        expected_return=expected,
        expected_return_unlimited=None,
    )
    np.testing.assert_equal(result.z_score, z)


def test_evaluation_result_needs_episodes():
    with pytest.raises(ValueError, match="non-zero length"):
        EvaluationResult(np.zeros(0), np.zeros(0), 10, None, None)
    with pytest.raises(ValueError, match="same"):
        EvaluationResult(np.zeros(2), np.zeros(3), 10, None, None)


# ------------------------------------------------ expected_return, the function
def _chain():
    """0 → 1 → ends, reward 1 per step; state 2 loops on itself, unreachable from 0."""
    return TabularMDP.from_transitions(
        {
            0: {0: [(1.0, 1, 1.0, False)]},
            1: {0: [(1.0, 1, 1.0, True)]},
            2: {0: [(1.0, 2, 5.0, False)]},
        },
        initial_distribution=[1.0, 0.0, 0.0],
    )


def test_unreachable_loops_do_not_make_the_unlimited_return_undefined():
    mdp = _chain()
    np.testing.assert_array_equal(reachable_states(mdp, [0, 0, 0]), [True, True, False])
    assert expected_return(mdp, [0, 0, 0]) == 2.0
    assert expected_return(mdp, [0, 0, 0], horizon=1) == 1.0
    assert expected_return(mdp, [0, 0, 0], 0.5) == 1.5


def test_a_reachable_loop_makes_the_unlimited_return_undefined():
    mdp = _chain().with_initial_distribution([0.5, 0.0, 0.5])
    with pytest.raises(NonTerminatingPolicyError, match=r"1 state\(s\) .* \(2\)") as info:
        expected_return(mdp, [0, 0, 0])
    np.testing.assert_array_equal(info.value.states, [2])
    assert expected_return(mdp, [0, 0, 0], horizon=4) == pytest.approx(0.5 * 2 + 0.5 * 20)


@given(data=st.data(), mdp=random_mdps(max_states=6, max_actions=3), horizon=st.integers(0, 12))
def test_expected_return_within_a_horizon_matches_a_dense_recursion(data, mdp, horizon):
    gamma = data.draw(st.sampled_from([0.5, 0.9, 1.0]))
    stochastic = data.draw(st.booleans())
    draw_policy = stochastic_policies if stochastic else deterministic_policies
    policy = data.draw(draw_policy(mdp.n_states, mdp.n_actions))
    V = dense_finite_horizon_value(*dense_model(mdp.P), policy, horizon, gamma)
    model = mdp.from_transitions()
    reference = float(model.initial_distribution @ V)
    assert expected_return(model, policy, gamma, horizon=horizon) == pytest.approx(
        reference, rel=1e-9, abs=1e-9
    )


@given(data=st.data(), mdp=random_mdps(max_states=6, max_actions=3, episodic=True))
def test_the_unlimited_return_solves_the_undiscounted_bellman_equation(data, mdp):
    # Episodic draws terminate from every pair, so (I - T_pi) V = R_pi is nonsingular.
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    V = dense_policy_value(*dense_model(mdp.P), policy, 1.0)
    model = mdp.from_transitions()
    assert expected_return(model, policy) == pytest.approx(
        float(model.initial_distribution @ V), rel=1e-9, abs=1e-9
    )
