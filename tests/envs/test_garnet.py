"""Garnet-v0: random sparse MDPs, their structure, their randomness and their size."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import gymnasium as gym
import numpy as np
import pytest
from scipy import stats

import envs  # noqa: F401  (registers the ids)
from envs import GarnetEnv
from envs.garnet import garnet_outcomes


def check_structure(env: GarnetEnv, n_states: int, n_actions: int, n_branches: int) -> None:
    """Every pair has ``n_branches`` distinct successors, a distribution and one reward."""
    mdp = env.mdp
    assert (mdp.n_states, mdp.n_actions) == (n_states, n_actions)
    np.testing.assert_array_equal(np.diff(mdp.row_offsets), n_branches)
    shape = (n_states * n_actions, n_branches)
    successors = np.sort(mdp.next_state.reshape(shape), axis=1)
    assert (np.diff(successors, axis=1) > 0).all()
    assert successors.min() >= 0 and successors.max() < n_states
    prob = mdp.prob.reshape(shape)
    assert (prob > 0).all()
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-12)
    reward = mdp.reward.reshape(shape)
    assert (reward == reward[:, :1]).all()
    assert reward.min() >= 0.0 and reward.max() < 1.0
    assert not mdp.terminated.any()


def test_the_registered_garnet() -> None:
    env = gym.make("rl_planners/Garnet-v0").unwrapped
    check_structure(env, 100, 4, 3)
    np.testing.assert_allclose(env.initial_state_distrib, np.full(100, 0.01))


@pytest.mark.parametrize(
    ("n_states", "n_actions", "n_branches"), [(1, 1, 1), (5, 3, 5), (50, 2, 1)]
)
def test_small_and_extreme_shapes(n_states: int, n_actions: int, n_branches: int) -> None:
    env = GarnetEnv(n_states=n_states, n_actions=n_actions, n_branches=n_branches, seed=3)
    check_structure(env, n_states, n_actions, n_branches)


def test_a_hundred_thousand_states_build_vectorised() -> None:
    env = GarnetEnv(n_states=100_000, n_actions=3, n_branches=4, seed=1)
    check_structure(env, 100_000, 3, 4)
    assert "P" not in vars(env)  # no Python dicts were built


def test_the_seed_fixes_the_model() -> None:
    first, again, other = (GarnetEnv(n_states=30, seed=s).mdp for s in (5, 5, 6))
    for name in ("next_state", "prob", "reward"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.next_state, other.next_state)


def test_successor_sets_are_uniform() -> None:
    """Floyd's sampling gives every 2-subset of 5 states the same chance, 1/10."""
    next_state, _, _ = garnet_outcomes(5, 4_000, 2, np.random.default_rng(11))
    counts = Counter(tuple(sorted(pair)) for pair in next_state.reshape(-1, 2).tolist())
    subsets = list(combinations(range(5), 2))
    assert set(counts) == set(subsets)
    observed = [counts[subset] for subset in subsets]
    assert stats.chisquare(observed).pvalue > 1e-6


def test_probabilities_are_uniform_on_the_simplex() -> None:
    """With b = 2 the first probability is uniform on [0, 1]."""
    _, prob, _ = garnet_outcomes(10, 5_000, 2, np.random.default_rng(12))
    assert stats.kstest(prob[..., 0].ravel(), "uniform").pvalue > 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_states": 0}, r"n_states must be at least 1, got 0"),
        ({"n_actions": 2.5}, r"n_actions must be an integer, got 2.5"),
        ({"n_states": 4, "n_branches": 5}, r"n_branches must be at least 1 and at most 4, got 5"),
        ({"seed": -1}, r"seed must be at least 0, got -1"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        GarnetEnv(**kwargs)
