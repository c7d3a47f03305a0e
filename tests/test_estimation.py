"""Tests of rl_planners.mdp.estimation: certainty-equivalence models from samples.

Every comparison is against an independent computation: the true model read
from the env's ``P`` (``TabularMDP.from_env``) and turned dense by
``tests.independent.dense_model``, samples built so that their frequencies
are the true probabilities, the Weissman formula evaluated directly in exact
integer arithmetic, and Monte Carlo draws for the confidence radius.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from rl_planners.mdp import TabularMDP
from rl_planners.mdp.estimation import (
    EstimatedModel,
    estimate_model,
    model_from_minari,
    model_from_samples,
)
from rl_planners.mdp.samples import count_transitions, sample_every_pair, weissman_l1_radius
from rl_planners.solvers import policy_evaluation, value_iteration
from tests.independent import dense_model, dense_optimal_values

GAMMA = 0.9


def outcome_distribution(mdp: TabularMDP) -> np.ndarray:
    """``[S, A, S+1]``: continue to each state, or end, from the dense model of ``P``."""
    T, _ = dense_model(mdp.to_transitions())
    return np.concatenate((T, 1.0 - T.sum(axis=2, keepdims=True)), axis=2)


@pytest.fixture(scope="module")
def frozen_lake_8x8():
    env = gym.make("FrozenLake-v1", map_name="8x8")
    return env, TabularMDP.from_env(env)


@pytest.fixture(scope="module")
def estimates_8x8(frozen_lake_8x8):
    env, _ = frozen_lake_8x8
    return {n: estimate_model(env, n, seed=n) for n in (1, 10, 100)}


def draw_samples(mdp: TabularMDP, n_per_pair: int, rng: np.random.Generator):
    """``n_per_pair`` i.i.d. samples of every pair, drawn from the dense ``P`` dict."""
    P = mdp.to_transitions()
    columns = ([], [], [], [], [])
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            outcomes = P[s][a]
            picks = rng.choice(len(outcomes), size=n_per_pair, p=[o[0] for o in outcomes])
            for k in picks:
                _, s_next, r, done = outcomes[k]
                for column, value in zip(columns, (s, a, r, s_next, done), strict=True):
                    column.append(value)
    return [np.asarray(column) for column in columns]


# ------------------------------------------------------------- planning quality
def test_regret_on_frozen_lake_8x8_shrinks_with_samples(frozen_lake_8x8, estimates_8x8):
    _, true = frozen_lake_8x8
    gamma = 0.99
    V_star = value_iteration(true, gamma, tol=1e-10).V
    mu = true.initial_distribution
    regrets = {}
    for n, estimate in estimates_8x8.items():
        planned = value_iteration(estimate.mdp, gamma, tol=1e-10).policy
        regrets[n] = float(mu @ (V_star - policy_evaluation(true, planned, gamma)))
    assert regrets[1] > regrets[10] > regrets[100] >= -1e-9
    # The optimum μ0·V* by an independent dense solve (0.4146). Measured with seeds
    # 0-2: regrets of 0.026-0.037 at n = 100 and 0.14-0.22 at n = 10; 15% of the
    # optimum (0.062) leaves room at n = 100.
    optimum = float(mu @ dense_optimal_values(*dense_model(true.to_transitions()), gamma))
    assert abs(optimum - float(mu @ V_star)) < 1e-8
    assert regrets[100] < 0.15 * optimum


def test_estimated_probabilities_converge_within_hoeffding(frozen_lake_8x8):
    _, true = frozen_lake_8x8
    p_true = outcome_distribution(true)  # [S, A, S+1]
    rng = np.random.default_rng(7)
    errors = {}
    for n in (20, 2000):
        estimate = model_from_samples(*draw_samples(true, n, rng), n_states=64, n_actions=4)
        error = np.abs(outcome_distribution(estimate.mdp) - p_true)
        errors[n] = error.max()
        # Hoeffding for each Binomial(n, p)/n entry, union bound over all K entries:
        # Pr(max |p̂ − p| ≥ t) ≤ 2K exp(−2 n t²); t at failure probability 1e-3.
        t = math.sqrt(math.log(2 * p_true.size / 1e-3) / (2 * n))
        assert errors[n] < t
    assert errors[2000] < errors[20] / 5  # 1/sqrt(n): a factor 10 expected


# ---------------------------------------------------------- the value bound
def test_simulation_lemma_bounds_the_value_error(frozen_lake_8x8, estimates_8x8):
    _, true = frozen_lake_8x8
    rng = np.random.default_rng(3)
    uniform = np.full((64, 4), 0.25)
    random_policy = rng.integers(0, 4, size=64)
    for n, estimate in estimates_8x8.items():
        planned = value_iteration(estimate.mdp, GAMMA, tol=1e-10).policy
        for policy in (planned, uniform, random_policy):
            error = np.abs(
                policy_evaluation(true, policy, GAMMA)
                - policy_evaluation(estimate.mdp, policy, GAMMA)
            ).max()
            bound = estimate.value_error_bound(policy, GAMMA, 0.05, reward_range=(0, 1))
            assert np.isfinite(bound)
            assert error <= bound, (n, error, bound)
    bounds = [
        estimates_8x8[n].value_error_bound(uniform, GAMMA, 0.05, reward_range=(0, 1))
        for n in (1, 10, 100)
    ]
    assert bounds[0] >= bounds[1] > bounds[2]


def test_value_error_bound_is_infinite_on_unvisited_pairs():
    estimate = model_from_samples([0], [0], [1.0], [1], [True], n_states=2, n_actions=2)
    assert estimate.value_error_bound([1, 0], GAMMA, 0.1) == math.inf
    assert estimate.value_error_bound([0, 0], GAMMA, 0.1) == math.inf  # state 1 unvisited
    two = model_from_samples(
        [0, 1], [0, 0], [1.0, 0.0], [1, 1], [True, True], n_states=2, n_actions=2
    )
    assert np.isfinite(two.value_error_bound([0, 0], GAMMA, 0.1))
    assert two.value_error_bound([1, 0], GAMMA, 0.1) == math.inf


# ------------------------------------------------------------- Weissman radius
@pytest.mark.parametrize("n_states", [1, 2, 3, 5])
@pytest.mark.parametrize("delta", [0.01, 0.2])
def test_weissman_radius_matches_the_direct_formula(n_states, delta):
    k = n_states + 1
    counts = np.array([1, 4, 50, 1000, 10**6])
    # Weissman et al. (2003), Thm 2.1, solved for ε in exact integers: 2^k − 2.
    direct = [min(2.0, math.sqrt(2 * math.log((2**k - 2) / delta) / n)) for n in counts]
    estimate = model_from_samples(
        np.zeros(2, int),
        np.zeros(2, int),
        np.zeros(2),
        np.zeros(2, int),
        np.zeros(2, bool),
        n_states=n_states,
        n_actions=1,
    )
    np.testing.assert_allclose(weissman_l1_radius(counts, delta, n_outcomes=k), direct, rtol=1e-13)
    expected = min(2.0, math.sqrt(2 * math.log((2**k - 2) / delta) / 2))
    np.testing.assert_allclose(estimate.l1_radius(delta)[0, 0], expected, rtol=1e-13)


def test_weissman_radius_for_large_and_degenerate_alphabets():
    # k = 5000: 2^k overflows float64; ln(2^k − 2) = k ln 2 up to 2^(1−k).
    k, delta, n = 5000, 0.05, np.array([10**6])
    expected = math.sqrt(2 * (k * math.log(2) - math.log(delta)) / n[0])
    np.testing.assert_allclose(weissman_l1_radius(n, delta, n_outcomes=k), [expected], rtol=1e-14)
    # one letter: the empirical distribution is exact; no samples: the trivial 2.
    np.testing.assert_array_equal(weissman_l1_radius([0, 3], 0.1, n_outcomes=1), [2.0, 0.0])
    np.testing.assert_array_equal(weissman_l1_radius([0], 0.1, n_outcomes=4), [2.0])


def test_weissman_radius_covers_monte_carlo_deviations():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    n, delta = 50, 0.3
    draws = np.random.default_rng(0).multinomial(n, p, size=20_000) / n
    deviations = np.abs(draws - p).sum(axis=1)
    radius = weissman_l1_radius([n], delta, n_outcomes=p.size)[0]
    # The theorem promises a failure rate of at most δ (measured: 1.4%; the
    # bound is loose). A radius half as large (0.20) fails 38% of these draws.
    assert np.mean(deviations >= radius) <= delta
    assert np.mean(deviations >= radius / 2) > delta


# ------------------------------------------------------------- exact recovery
@pytest.mark.parametrize("seed", range(8))
def test_exact_frequencies_recover_the_model(seed):
    rng = np.random.default_rng(seed)
    n_states, n_actions, n_outcomes, total = 4, 3, 3, 12
    parts = np.sort(rng.integers(0, total + 1, size=(n_states, n_actions, n_outcomes - 1)), axis=2)
    multiplicity = np.diff(parts, axis=2, prepend=0, append=total)  # [S, A, K], sums to total
    next_state = rng.integers(0, n_states, size=multiplicity.shape)
    reward = rng.normal(size=multiplicity.shape).round(3)
    terminated = rng.random(multiplicity.shape) < 0.3
    true = TabularMDP.from_outcomes(next_state, multiplicity / total, reward, terminated)
    repeat = multiplicity.reshape(-1) * (1 + seed % 3)
    s, a, _ = np.unravel_index(np.arange(repeat.size), multiplicity.shape)
    samples = [
        np.repeat(column.reshape(-1), repeat) for column in (s, a, reward, next_state, terminated)
    ]
    order = rng.permutation(samples[0].size)
    estimate = model_from_samples(
        *(column[order] for column in samples), n_states=n_states, n_actions=n_actions
    )
    T_true, R_true = dense_model(true.to_transitions())
    T_hat, R_hat = dense_model(estimate.mdp.to_transitions())
    np.testing.assert_allclose(T_hat, T_true, atol=1e-14)
    np.testing.assert_allclose(R_hat, R_true, atol=1e-12)
    np.testing.assert_allclose(
        estimate.mdp.termination_probability, true.termination_probability, atol=1e-14
    )
    np.testing.assert_array_equal(estimate.counts, total * (1 + seed % 3))
    assert estimate.visited.all()


@pytest.mark.parametrize("name", ["CliffWalking-v1", "Taxi-v4"])
def test_deterministic_env_is_recovered_from_one_sample_per_pair(name):
    env = gym.make(name)
    estimate = estimate_model(env, 1, seed=0)
    true = TabularMDP.from_env(env)
    T_true, R_true = dense_model(true.to_transitions())
    T_hat, R_hat = dense_model(estimate.mdp.to_transitions())
    np.testing.assert_array_equal(T_hat, T_true)
    np.testing.assert_array_equal(R_hat, R_true)
    np.testing.assert_array_equal(estimate.mdp.initial_distribution, true.initial_distribution)


def test_estimate_model_is_reproducible_and_counts_every_pair(frozen_lake_8x8):
    env, _ = frozen_lake_8x8
    first, again, other = (estimate_model(env, 5, seed=seed) for seed in (4, 4, 5))
    np.testing.assert_array_equal(first.mdp.prob, again.mdp.prob)
    np.testing.assert_array_equal(first.mdp.next_state, again.mdp.next_state)
    assert not np.array_equal(first.mdp.prob, other.mdp.prob)
    np.testing.assert_array_equal(first.counts, np.full((64, 4), 5))
    assert first.n_samples == 64 * 4 * 5


# --------------------------------------------------------------- the counting
def test_counts_and_unvisited_rules():
    states = np.array([0, 0, 0, 2, 0])
    actions = np.array([1, 1, 1, 0, 1])
    rewards = np.array([1.0, 3.0, -1.0, 5.0, 0.5])
    next_states = np.array([2, 2, 1, 2, 2])
    terminated = np.array([False, False, False, True, True])
    counts = count_transitions(
        states, actions, rewards, next_states, terminated, n_states=3, n_actions=2
    )
    expected_counts = np.zeros((3, 2), dtype=np.int64)
    np.add.at(expected_counts, (states, actions), 1)
    np.testing.assert_array_equal(counts.counts, expected_counts)
    np.testing.assert_array_equal(counts.visited, expected_counts > 0)
    assert counts.reward_range == (-1.0, 5.0)
    assert not counts.outcomes.prob.flags.writeable and not counts.counts.flags.writeable
    for rule, reward, ends in (("self_loop", 0.0, False), ("optimistic", 10.0, True)):
        estimate = model_from_samples(
            states,
            actions,
            rewards,
            next_states,
            terminated,
            n_states=3,
            n_actions=2,
            unvisited=rule,
            optimistic_reward=reward if ends else None,
        )
        assert estimate.unvisited == rule
        T, R = dense_model(estimate.mdp.to_transitions())
        # (0, 1): 4 samples; to 2 continuing with rewards 1, 3; to 1 with -1; to 2 ending, 0.5.
        np.testing.assert_allclose(T[0, 1], [0.0, 0.25, 0.5])
        assert R[0, 1] == pytest.approx((1.0 + 3.0 - 1.0 + 0.5) / 4)
        assert estimate.mdp.termination_probability[0, 1] == pytest.approx(0.25)
        assert R[2, 0] == 5.0 and estimate.mdp.termination_probability[2, 0] == 1.0
        for s, a in np.argwhere(expected_counts == 0):
            assert R[s, a] == reward
            assert estimate.mdp.termination_probability[s, a] == float(ends)
            np.testing.assert_array_equal(T[s, a], 0.0 if ends else np.eye(3)[s])


def test_sizes_and_initial_distribution_come_from_the_env():
    env = gym.make("FrozenLake-v1")
    estimate = model_from_samples([0, 1], [2, 3], [0, 0], [4, 0], [False, False], env=env)
    assert (estimate.mdp.n_states, estimate.mdp.n_actions) == (16, 4)
    np.testing.assert_array_equal(estimate.mdp.initial_distribution, np.eye(16)[0])
    assert isinstance(estimate, EstimatedModel)
    with pytest.raises(AttributeError):
        estimate.mdp = None


# --------------------------------------------------------------------- errors
GOOD = ([0, 1], [0, 1], [0.0, 1.0], [1, 0], [False, True])


def samples_with(index: int, value):
    columns = [list(column) for column in GOOD]
    columns[index] = value
    return columns


@pytest.mark.parametrize(
    ("index", "value", "error", "match"),
    [
        (0, [0.0, 1.0], TypeError, r"states must hold integer indices, got dtype float64"),
        (0, [0, 2], ValueError, r"states must lie in 0\.\.1 \(n_states=2\); got 2 at sample 1"),
        (1, [-1, 0], ValueError, r"actions must lie in 0\.\.1 \(n_actions=2\); got -1 at sample 0"),
        (3, [0, 5], ValueError, r"next_states must lie in 0\.\.1 .*got 5 at sample 1"),
        (2, [0.0, np.nan], ValueError, r"rewards must be finite; got nan at sample 1"),
        (2, ["a", "b"], TypeError, r"rewards must be real numbers"),
        (4, [0, 2], ValueError, r"terminated flags must be True/False or 0/1; got 2 at sample 1"),
        (4, [False], ValueError, r"must have one length"),
        (0, [[0, 1]], ValueError, r"states must be a 1-D array"),
    ],
)
def test_bad_samples_are_named(index, value, error, match):
    with pytest.raises(error, match=match):
        count_transitions(*samples_with(index, value), n_states=2, n_actions=2)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match=r"no samples"):
        count_transitions([], [], [], [], [], n_states=2, n_actions=2)
    with pytest.raises(ValueError, match=r"unvisited must be 'self_loop' or 'optimistic'"):
        count_transitions(*GOOD, n_states=2, n_actions=2, unvisited="zero")
    with pytest.raises(ValueError, match=r"needs a finite optimistic_reward"):
        count_transitions(*GOOD, n_states=2, n_actions=2, unvisited="optimistic")
    with pytest.raises(ValueError, match=r"needs a finite optimistic_reward.*inf"):
        count_transitions(
            *GOOD, n_states=2, n_actions=2, unvisited="optimistic", optimistic_reward=math.inf
        )
    with pytest.raises(ValueError, match=r"n_states must be at least 1, got 0"):
        count_transitions(*GOOD, n_states=0, n_actions=2)
    with pytest.raises(ValueError, match=r"pass n_states= and n_actions=, or env="):
        model_from_samples(*GOOD)
    with pytest.raises(
        ValueError,
        match=r"n_states=2 disagrees with env 'FrozenLake-v1', whose Discrete space has 16",
    ):
        model_from_samples(*GOOD, n_states=2, env=gym.make("FrozenLake-v1"))


def test_bad_bound_arguments_are_refused():
    estimate = model_from_samples(*GOOD, n_states=2, n_actions=2)
    with pytest.raises(ValueError, match=r"delta must lie strictly between 0 and 1, got 1.0"):
        estimate.l1_radius(1.0)
    with pytest.raises(ValueError, match=r"needs gamma < 1"):
        estimate.value_error_bound([0, 1], 1.0, 0.1)
    with pytest.raises(ValueError, match=r"must contain every sampled reward.*\[0.0, 1.0\]"):
        estimate.value_error_bound([0, 1], GAMMA, 0.1, reward_range=(0.5, 1.0))
    with pytest.raises(ValueError, match=r"reward_range must be finite"):
        estimate.value_error_bound([0, 1], GAMMA, 0.1, reward_range=(0.0, math.nan))
    with pytest.raises(ValueError, match=r"actions must lie in 0\.\.1; got 3 at state 1"):
        estimate.value_error_bound([0, 3], GAMMA, 0.1)
    with pytest.raises(ValueError, match=r"counts must be non-negative, got -1"):
        weissman_l1_radius([-1], 0.1, n_outcomes=3)


class NoStateEnv(gym.Env):
    """Discrete spaces, but the state lives where ``estimate_model`` cannot set it."""

    observation_space = gym.spaces.Discrete(3)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = 0
        return 0, {}

    def step(self, action):
        return 0, 0.0, False, False, {}


def test_envs_that_cannot_be_set_are_refused():
    with pytest.raises(
        ValueError,
        match=r"env NoStateEnv cannot be set to a state: .*"
        r"writable integer attribute `s`.*found s=None.*model_from_samples",
    ):
        estimate_model(NoStateEnv(), 2, seed=0)
    with pytest.raises(ValueError, match=r"env 'Taxi-v4' has fickle_passenger=True"):
        estimate_model(gym.make("Taxi-v4", fickle_passenger=True), 1, seed=0)
    with pytest.raises(ValueError, match=r"needs a Discrete observation_space"):
        estimate_model(gym.make("CartPole-v1"), 1, seed=0)
    with pytest.raises(ValueError, match=r"n_samples_per_pair must be at least 1, got 0"):
        estimate_model(gym.make("FrozenLake-v1"), 0, seed=0)


# --------------------------------------------------------------------- Minari
def test_model_from_a_local_minari_dataset(tmp_path, monkeypatch):
    minari = pytest.importorskip("minari")
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = gym.make("FrozenLake-v1")
    env.action_space.seed(11)
    recorded, buffers, starts = ([], [], [], [], []), [], []
    for episode in range(30):
        observation, _ = env.reset(seed=100 + episode)
        observations, actions, rewards, ends, cuts = [observation], [], [], [], []
        starts.append(observation)
        while True:
            action = int(env.action_space.sample())
            next_observation, reward, terminated, truncated, _ = env.step(action)
            for column, value in zip(
                recorded, (observation, action, reward, next_observation, terminated), strict=True
            ):
                column.append(value)
            observations.append(next_observation)
            actions.append(action)
            rewards.append(reward)
            ends.append(terminated)
            cuts.append(truncated)
            observation = next_observation
            if terminated or truncated:
                break
        buffers.append(
            EpisodeBuffer(
                id=episode,
                observations=observations,
                actions=actions,
                rewards=rewards,
                terminations=ends,
                truncations=cuts,
                infos={},
            )
        )
    with pytest.warns(UserWarning):  # minari asks for an e-mail, a description, an eval env
        minari.create_dataset_from_buffers(
            "rl_planners/frozen-lake-random-v0", buffers, env=env, algorithm_name="random"
        )
    estimate = model_from_minari("rl_planners/frozen-lake-random-v0")
    reference = model_from_samples(*(np.asarray(column) for column in recorded), env=env)
    T_hat, R_hat = dense_model(estimate.mdp.to_transitions())
    T_ref, R_ref = dense_model(reference.mdp.to_transitions())
    np.testing.assert_array_equal(T_hat, T_ref)
    np.testing.assert_array_equal(R_hat, R_ref)
    np.testing.assert_array_equal(estimate.counts, reference.counts)
    assert estimate.n_samples == len(recorded[0])
    np.testing.assert_array_equal(
        estimate.mdp.initial_distribution, np.bincount(starts, minlength=16) / len(starts)
    )


# ---------------------------------------------------------- the import graph
def test_counting_and_sampling_need_no_model_module():
    # TabularMDP.from_samples and .estimate build on rl_planners.mdp.samples and
    # .sampling: neither may import, even through the leaves below it, the model.
    import ast
    import importlib
    import types
    from pathlib import Path

    def imports(module: str) -> set[str]:
        path = Path(importlib.import_module(module).__file__)
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rl_"):
                for alias in node.names:  # "from rl_planners import gym_env" is gym_env
                    held = getattr(importlib.import_module(node.module), alias.name, None)
                    is_module = isinstance(held, types.ModuleType)
                    found.add(f"{node.module}.{alias.name}" if is_module else node.module)
        return {name for name in found if name.startswith("rl_planners")}

    seen, todo = set(), ["rl_planners.mdp.samples", "rl_planners.mdp.sampling"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(imports(module))
    assert seen <= {
        "rl_planners.errors",
        "rl_planners.gym_env",
        "rl_planners.mdp.checks",
        "rl_planners.mdp.outcomes",
        "rl_planners.mdp.samples",
        "rl_planners.mdp.sampling",
    }, seen


def test_sample_every_pair_lays_out_pairs_in_row_order(frozen_lake_8x8):
    env, true = frozen_lake_8x8
    states, actions, rewards, next_states, terminated = sample_every_pair(env, 3, seed=1)
    rows = states * 4 + actions
    np.testing.assert_array_equal(rows, np.repeat(np.arange(64 * 4), 3))
    # each sampled outcome is one of the pair's outcomes in P
    P = true.to_transitions()
    for s, a, r, s_next, done in zip(
        states, actions, rewards, next_states, terminated, strict=True
    ):
        assert any((o[1], o[2], o[3]) == (s_next, r, done) for o in P[s][a])
    counts = count_transitions(
        states, actions, rewards, next_states, terminated, n_states=64, n_actions=4
    )
    estimate = estimate_model(env, 3, seed=1)
    np.testing.assert_array_equal(counts.outcomes.prob, estimate.mdp.prob)
    np.testing.assert_array_equal(counts.outcomes.next_state, estimate.mdp.next_state)


def test_the_model_classmethods_build_the_estimated_model():
    # TabularMDP.from_samples / estimate give the same model as model_from_samples /
    # estimate_model, whose outcomes the tests above check against the true model.
    samples = ([0, 0, 1], [1, 1, 0], [1.0, 3.0, 0.5], [1, 1, 0], [False, False, True])
    direct = TabularMDP.from_samples(samples, n_states=2, n_actions=2)
    reported = model_from_samples(*samples, n_states=2, n_actions=2).mdp
    for name in ("row_offsets", "next_state", "prob", "reward", "terminated"):
        np.testing.assert_array_equal(getattr(direct, name), getattr(reported, name))
    assert direct.R[0, 1] == 2.0  # the mean of the two rewards sampled at (0, 1)
    env = gym.make("FrozenLake-v1", is_slippery=False)
    estimated = TabularMDP.estimate(env, 1, seed=0)
    np.testing.assert_array_equal(estimated.R, TabularMDP.from_env(env).R)
