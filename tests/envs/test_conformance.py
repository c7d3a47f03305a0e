"""One conformance suite over every environment registered under ``rl_planners/``.

For each id: Gymnasium's ``check_env`` passes with warnings turned into
errors, ``P`` is a valid model (every row a distribution), ``step`` samples
outcomes with the frequencies ``P`` gives them (chi-square test, fixed seed),
and seeded runs repeat exactly.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter, defaultdict

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from scipy import stats

import envs
from rl_planners import TabularMDP

ISSUE_IDS = {
    "rl_planners/GridWorld-v0",
    "rl_planners/SuttonBarto4x4-v0",
    "rl_planners/SuttonBarto5x5-v0",
    "rl_planners/GamblersProblem-v0",
    "rl_planners/JacksCarRental-v0",
    "rl_planners/WindyGridWorld-v0",
    "rl_planners/ForestManagement-v0",
    "rl_planners/Garnet-v0",
}
REGISTERED = sorted(env_id for env_id in gym.registry if env_id.startswith("rl_planners/"))

SAMPLES_PER_ROW = 2_000
ROWS_PER_ENV = 12
MIN_EXPECTED = 5.0
"""Outcomes expected fewer times than this are pooled into one chi-square bin."""
P_VALUE_FLOOR = 1e-6
"""A row fails if its chi-square p-value is below this (about 100 rows are tested)."""


@pytest.fixture(scope="module", params=REGISTERED)
def env(request: pytest.FixtureRequest) -> gym.Env:
    """One unwrapped env per registered id, shared by the tests of this module."""
    return gym.make(request.param).unwrapped


def test_the_issue_envs_are_registered_and_nothing_else() -> None:
    assert set(REGISTERED) == ISSUE_IDS
    assert set(envs.ENV_IDS) == ISSUE_IDS


@pytest.mark.parametrize("env_id", REGISTERED)
def test_registration_truncates_episodes(env_id: str) -> None:
    steps = gym.spec(env_id).max_episode_steps
    assert isinstance(steps, int) and steps >= 100
    env = gym.make(env_id)
    env.reset(seed=0)
    for t in range(1, steps + 1):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated:
            break
        assert truncated == (t == steps)


def test_check_env_passes_without_warnings(env: gym.Env) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env)


def test_P_is_a_valid_model_of_the_spaces(env: gym.Env) -> None:
    n_states, n_actions = env.observation_space.n, env.action_space.n
    P = env.P
    assert sorted(P) == list(range(n_states))
    for s in range(n_states):
        assert sorted(P[s]) == list(range(n_actions))
        for a in range(n_actions):
            outcomes = P[s][a]
            assert outcomes, f"P[{s}][{a}] is empty"
            probs, next_states, rewards, flags = zip(*outcomes, strict=True)
            assert min(probs) > 0.0 and max(probs) <= 1.0, f"P[{s}][{a}]"
            assert min(next_states) >= 0 and max(next_states) < n_states, f"P[{s}][{a}]"
            assert all(math.isfinite(r) for r in rewards), f"P[{s}][{a}]"
            assert all(type(flag) is bool for flag in flags), f"P[{s}][{a}]"
            assert abs(math.fsum(probs) - 1.0) < 1e-9, f"P[{s}][{a}] sums to {math.fsum(probs)}"
    initial = np.asarray(env.initial_state_distrib)
    assert initial.shape == (n_states,)
    assert initial.min() >= 0 and initial.sum() == pytest.approx(1.0)


def test_P_and_the_model_are_the_same(env: gym.Env) -> None:
    assert TabularMDP.from_env(env) is env.mdp  # the array fast path
    rebuilt = TabularMDP.from_transitions(env.P, env.initial_state_distrib)
    np.testing.assert_array_equal(rebuilt.continuation.toarray(), env.mdp.continuation.toarray())
    np.testing.assert_array_equal(rebuilt.R, env.mdp.R)


def _outcome_distribution(outcomes) -> dict[tuple[int, float, bool], float]:
    """The probability of each distinct ``(s', r, terminated)``; duplicates add up."""
    distribution: dict[tuple[int, float, bool], float] = defaultdict(float)
    for p, s_next, r, done in outcomes:
        distribution[(s_next, r, done)] += p
    return dict(distribution)


def sampling_p_value(env: gym.Env, state: int, action: int, n: int) -> float:
    """Chi-square p-value of ``n`` sampled steps from ``(state, action)`` against ``P``.

    Outcomes that ``P`` does not list fail at once; outcomes expected fewer
    than ``MIN_EXPECTED`` times are pooled into one bin.
    """
    expected = _outcome_distribution(env.P[state][action])
    counts: Counter = Counter()
    for _ in range(n):
        env.s = state
        s_next, r, terminated, truncated, _ = env.step(action)
        key = (s_next, r, terminated)
        assert key in expected, f"step from ({state}, {action}) gave {key}, not in P"
        assert truncated is False
        counts[key] += 1
    keys = sorted(expected)
    probs = np.array([expected[k] for k in keys])
    observed = np.array([counts[k] for k in keys], dtype=float)
    rare = probs * n < MIN_EXPECTED
    if rare.any():
        probs = np.append(probs[~rare], probs[rare].sum())
        observed = np.append(observed[~rare], observed[rare].sum())
    if probs.size < 2:
        return 1.0 if observed.sum() == n else 0.0
    statistic = ((observed - n * probs) ** 2 / (n * probs)).sum()
    return float(stats.chi2.sf(statistic, df=probs.size - 1))


def _rows_to_test(env: gym.Env, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``ROWS_PER_ENV`` random pairs, stochastic ones (several outcomes) first."""
    mdp = env.mdp
    counts = np.diff(mdp.row_offsets)
    stochastic = np.flatnonzero(counts > 1)
    pool = stochastic if stochastic.size else np.arange(counts.size)
    rows = rng.choice(pool, size=min(ROWS_PER_ENV, pool.size), replace=False)
    return [divmod(int(row), mdp.n_actions) for row in rows]


def test_step_samples_outcomes_with_the_probabilities_of_P(env: gym.Env) -> None:
    env.reset(seed=12345)
    for state, action in _rows_to_test(env, np.random.default_rng(7)):
        p_value = sampling_p_value(env, state, action, SAMPLES_PER_ROW)
        assert p_value > P_VALUE_FLOOR, f"state {state}, action {action}: p = {p_value:.2e}"


def test_reset_samples_the_initial_distribution(env: gym.Env) -> None:
    n = 2_000
    initial = np.asarray(env.initial_state_distrib)
    counts = np.bincount(
        [env.reset(seed=None if i else 99)[0] for i in range(n)], minlength=initial.size
    )
    assert counts[initial == 0].sum() == 0
    support = initial > 0
    if support.sum() > 1 and n * initial[support].min() >= MIN_EXPECTED:
        result = stats.chisquare(counts[support], n * initial[support])
        assert result.pvalue > P_VALUE_FLOOR


def test_the_frequency_test_detects_a_wrong_sampler() -> None:
    """The chi-square check above can fail: a sampler biased by 10 points is caught."""
    env = gym.make("rl_planners/GamblersProblem-v0").unwrapped  # heads 0.4, tails 0.6
    biased = gym.make("rl_planners/GamblersProblem-v0", p_heads=0.5).unwrapped
    biased.P = env.P  # claims p_heads = 0.4 but samples with 0.5
    biased.reset(seed=0)
    assert sampling_p_value(biased, 50, 10, SAMPLES_PER_ROW) < P_VALUE_FLOOR


def _trajectory(env_id: str, seed: int, n_steps: int = 50) -> list:
    env = gym.make(env_id)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    trajectory = [(obs, info["prob"])]
    for _ in range(n_steps):
        step = env.step(env.action_space.sample())
        trajectory.append(step)
        if step[2] or step[3]:
            obs, info = env.reset()
            trajectory.append((obs, info["prob"]))
    return trajectory


@pytest.mark.parametrize("env_id", REGISTERED)
def test_seeded_runs_repeat_exactly(env_id: str) -> None:
    first = _trajectory(env_id, seed=3)
    assert first == _trajectory(env_id, seed=3)
    observations = [step[0] for step in first]
    assert all(type(obs) is int for obs in observations)
