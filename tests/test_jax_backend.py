"""Tests of rl_planners.scale.jax_backend against the NumPy solvers, on JAX's CPU device."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import generate_random_map
from hypothesis import given, settings
from independent import dense_model, dense_optimal_values
from strategies import deterministic_policies, random_mdps, stochastic_policies

from rl_planners.errors import ConvergenceWarning
from rl_planners.mdp import TabularMDP
from rl_planners.scale.batched import MDPBatch, batched_value_iteration
from rl_planners.solvers import policy_evaluation, value_iteration

jax = pytest.importorskip("jax")

from rl_planners.scale.jax_backend import (  # noqa: E402
    jax_batched_value_iteration,
    jax_policy_evaluation,
    jax_value_iteration,
)

CPU = jax.devices("cpu")[0]
LAKES = [
    TabularMDP.from_env(gym.make("FrozenLake-v1", desc=generate_random_map(size=8, seed=seed)))
    for seed in range(6)
]


def close(a, b) -> bool:
    return np.abs(np.asarray(a) - np.asarray(b)).max() <= 1e-12


@pytest.mark.parametrize("gamma", [0.0, 0.99, 1.0])
def test_value_iteration_equals_numpy_on_frozen_lake(gamma: float) -> None:
    for mdp in LAKES[:2]:
        numpy_result = value_iteration(mdp, gamma, stopping="sup")
        jax_result = jax_value_iteration(mdp, gamma, device=CPU)
        assert close(jax_result.V, numpy_result.V) and close(jax_result.Q, numpy_result.Q)
        assert np.array_equal(jax_result.policy, numpy_result.policy)
        assert jax_result.iterations == numpy_result.iterations and jax_result.converged
        assert close(jax_result.residuals, numpy_result.residuals)


@settings(max_examples=5)
@given(random_mdps(max_states=6, max_actions=3))
def test_value_iteration_equals_numpy_on_random_models(drawn) -> None:
    mdp = drawn.from_transitions()
    numpy_result = value_iteration(mdp, 0.9, stopping="sup")
    jax_result = jax_value_iteration(mdp, 0.9, device=CPU)
    assert close(jax_result.V, numpy_result.V)
    assert np.array_equal(jax_result.policy, numpy_result.policy)
    T, R = dense_model(drawn.P)
    assert np.abs(jax_result.V - dense_optimal_values(T, R, 0.9)).max() < 1e-8 / 2


@settings(max_examples=5)
@given(
    random_mdps(max_states=6, max_actions=3).flatmap(
        lambda drawn: deterministic_policies(drawn.n_states, drawn.n_actions).map(
            lambda policy: (drawn, policy)
        )
    )
)
def test_policy_evaluation_equals_numpy_deterministic(case) -> None:
    drawn, policy = case
    mdp = drawn.from_transitions()
    expected = policy_evaluation(mdp, policy, 0.9, method="iterative")
    assert close(jax_policy_evaluation(mdp, policy, 0.9, device=CPU), expected)


@settings(max_examples=4)
@given(
    random_mdps(max_states=6, max_actions=3).flatmap(
        lambda drawn: stochastic_policies(drawn.n_states, drawn.n_actions).map(
            lambda policy: (drawn, policy)
        )
    )
)
def test_policy_evaluation_equals_numpy_stochastic(case) -> None:
    drawn, policy = case
    mdp = drawn.from_transitions()
    expected = policy_evaluation(mdp, policy, 0.5, method="iterative")
    assert close(jax_policy_evaluation(mdp, policy, 0.5, device=CPU), expected)
    exact = policy_evaluation(mdp, policy, 0.5)
    assert np.abs(jax_policy_evaluation(mdp, policy, 0.5, device=CPU) - exact).max() < 1e-10


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_batched_equals_numpy(layout: str) -> None:
    batch = MDPBatch(LAKES, layout=layout)
    gammas = np.array([0.0, 0.5, 0.9, 0.95, 0.99, 1.0])
    numpy_result = batched_value_iteration(batch, gammas)
    jax_result = jax_batched_value_iteration(batch, gammas, device=CPU)
    assert close(jax_result.V, numpy_result.V) and close(jax_result.Q, numpy_result.Q)
    assert np.array_equal(jax_result.policy, numpy_result.policy)
    assert np.array_equal(jax_result.iterations, numpy_result.iterations)
    assert jax_result.converged.all()


def test_caps_warn_and_return_the_kth_sweep() -> None:
    with pytest.warns(ConvergenceWarning, match="max_iterations=3"):
        result = jax_value_iteration(LAKES[0], 0.9, max_iterations=3, device=CPU)
    expected = value_iteration(LAKES[0], 0.9, max_iterations=3, stopping="sup")
    assert close(result.V, expected.V) and not result.converged and result.iterations == 3
    with pytest.warns(ConvergenceWarning, match=r"2 model\(s\) at max_iterations=4"):
        batched = jax_batched_value_iteration(MDPBatch(LAKES[:2]), 0.9, max_iterations=4)
    assert not batched.converged.any()


def test_error_paths() -> None:
    mdp = LAKES[0]
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\], got 1\.5"):
        jax_value_iteration(mdp, 1.5)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        jax_value_iteration(mdp, 0.9, tol=-1.0)
    with pytest.raises(ValueError, match=r"actions must lie in 0\.\.3; got 7 at state 0"):
        jax_policy_evaluation(mdp, np.full(64, 7), 0.9)
    with pytest.raises(ValueError, match=r"got 2\.0 for model 1"):
        jax_batched_value_iteration(MDPBatch(LAKES[:2]), [0.9, 2.0])
    with pytest.raises(TypeError, match="batch must be an MDPBatch"):
        jax_batched_value_iteration(LAKES, 0.9)
    huge = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [1e308]])
    with pytest.raises(ValueError, match=r"non-finite value inf at model 0, state 1 in sweep 2"):
        jax_value_iteration(huge, 0.99)
    fine = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [2.0]])
    with pytest.raises(ValueError, match=r"non-finite value inf at model 1, state 1"):
        jax_batched_value_iteration(MDPBatch([fine, huge]), 0.99)
