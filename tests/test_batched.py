"""Tests of rl_planners.scale.batched: many models of one shape solved in one pass.

Every model of a batch is checked against references computed on that model
alone: the dense optimal values of ``independent.py`` (policy iteration with
exact solves, to float64 rounding), the dense value of the returned policy, and
:func:`rl_planners.solvers.value_iteration` with the same sup-norm rule.
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import generate_random_map
from hypothesis import given, settings
from hypothesis import strategies as st
from independent import (
    dense_model,
    dense_optimal_values,
    dense_policy_value,
    dense_q_values,
    dense_sweeps,
    dense_termination_probability,
)
from strategies import random_mdps

from rl_planners.errors import ConvergenceWarning, NonFiniteValueError
from rl_planners.mdp import TabularMDP
from rl_planners.scale.batched import BatchedPlanningResult, MDPBatch, batched_value_iteration
from rl_planners.solvers import value_iteration

TOL = 1e-8


def random_outcome_model(rng: np.random.Generator, n_states: int, n_actions: int):
    """A random model of ``K = 3`` outcomes a pair, and its dense ``(T, R)``.

    Outcomes repeat next states, some terminate, rewards have both signs. The
    dense reference is summed here with ``np.add.at``, not by the library.
    """
    shape = (n_states, n_actions, 3)
    next_state = rng.integers(0, n_states, size=shape)
    prob = rng.random(shape) + 0.05
    prob /= prob.sum(axis=2, keepdims=True)
    reward = rng.normal(size=shape)
    terminated = rng.random(shape) < 0.15
    mdp = TabularMDP.from_outcomes(next_state, prob, reward, terminated)
    T = np.zeros((n_states, n_actions, n_states))
    s, a, _ = np.indices(shape)
    np.add.at(T, (s, a, next_state), np.where(terminated, 0.0, prob))
    return mdp, T, (prob * reward).sum(axis=2)


def frozen_lake(seed: int, **kwargs) -> tuple[TabularMDP, np.ndarray, np.ndarray]:
    env = gym.make("FrozenLake-v1", desc=generate_random_map(size=8, seed=seed), **kwargs)
    T, R = dense_model(env.unwrapped.P)
    return TabularMDP.from_env(env), T, R


FROZEN_LAKES = [frozen_lake(seed) for seed in range(20)]


def check_model(result: BatchedPlanningResult, b: int, T, R, gamma: float) -> None:
    """Model ``b``: ``‖V − V*‖∞ < tol/2``, ε-optimal policy, ``Q`` of ``V``."""
    V_star = dense_optimal_values(T, R, gamma)
    V = result.V[b]
    assert np.abs(V - V_star).max() < TOL / 2
    assert np.all(dense_policy_value(T, R, result.policy[b], gamma) >= V_star - TOL)
    Q = dense_q_values(T, R, V, gamma)
    assert np.allclose(result.Q[b], Q, rtol=0.0, atol=1e-12 * max(1.0, np.abs(Q).max()))
    assert result.converged[b]


@pytest.mark.parametrize("layout", ["sparse", "dense"])
def test_random_models_match_their_own_optimum(layout: str) -> None:
    rng = np.random.default_rng(7)
    drawn = [random_outcome_model(rng, 6, 3) for _ in range(12)]
    gammas = rng.choice([0.0, 0.5, 0.9, 0.99], size=len(drawn))
    result = batched_value_iteration(
        MDPBatch([mdp for mdp, _, _ in drawn], layout=layout), gammas, tol=TOL
    )
    for b, (_, T, R) in enumerate(drawn):
        check_model(result, b, T, R, float(gammas[b]))
    assert np.array_equal(result.gamma, gammas)


@settings(max_examples=30)
@given(random_mdps(max_states=6, max_actions=3), st.sampled_from(["sparse", "dense"]))
def test_one_model_at_a_vector_of_discounts(drawn, layout: str) -> None:
    gammas = np.array([0.0, 0.5, 0.9, 0.99])
    mdp = drawn.from_transitions()
    result = batched_value_iteration(MDPBatch([mdp] * gammas.size, layout=layout), gammas)
    T, R = dense_model(drawn.P)
    for b, gamma in enumerate(gammas):
        check_model(result, b, T, R, float(gamma))


def test_twenty_random_frozen_lakes_match_value_iteration_alone() -> None:
    gamma = 0.99
    result = batched_value_iteration(MDPBatch([mdp for mdp, _, _ in FROZEN_LAKES]), gamma)
    assert result.V.shape == (20, 64) and result.Q.shape == (20, 64, 4)
    for b, (mdp, T, R) in enumerate(FROZEN_LAKES):
        check_model(result, b, T, R, gamma)
        alone = value_iteration(mdp, gamma, tol=TOL, stopping="sup")
        # the same rule on the same sweeps: the same stopping sweep and values
        assert result.iterations[b] == alone.iterations
        assert np.abs(result.V[b] - alone.V).max() < 1e-12


def test_layouts_agree_and_auto_takes_fewer_bytes() -> None:
    models = [mdp for mdp, _, _ in FROZEN_LAKES[:5]]
    # 64-state maps have 3 or fewer next states a pair: CSR holds far fewer bytes
    assert MDPBatch(models).layout == "sparse"
    rng = np.random.default_rng(3)
    full = [TabularMDP.from_arrays(rng.dirichlet(np.ones(4), size=(4, 2)), rng.random((4, 2)))]
    assert MDPBatch(full * 3).layout == "dense"
    sparse = batched_value_iteration(MDPBatch(models, layout="sparse"), 0.95)
    dense = batched_value_iteration(MDPBatch(models, layout="dense"), 0.95)
    assert np.abs(sparse.V - dense.V).max() < 1e-12
    assert np.array_equal(sparse.policy, dense.policy)
    assert np.array_equal(sparse.iterations, dense.iterations)


def test_episodic_discount_one_gives_terminating_policies() -> None:
    # Deterministic FrozenLake at gamma = 1: every action of the start ties at value 1
    # where the goal is reachable; a plain argmax may loop forever (DESIGN.md, Traps).
    drawn = [frozen_lake(seed, is_slippery=False) for seed in range(4)]
    result = batched_value_iteration(MDPBatch([mdp for mdp, _, _ in drawn]), 1.0)
    for b, (mdp, T, _) in enumerate(drawn):
        alone = value_iteration(mdp, 1.0, stopping="sup")
        assert np.abs(result.V[b] - alone.V).max() < 1e-12
        assert np.array_equal(result.policy[b], alone.policy)
        reaches_goal = result.V[b] > 0.5
        assert np.all(dense_termination_probability(T, result.policy[b])[reaches_goal] == 1.0)


def test_a_cap_returns_each_models_kth_sweep_with_a_warning() -> None:
    drawn = FROZEN_LAKES[:3]
    with pytest.warns(ConvergenceWarning, match=r"3 model\(s\) at max_iterations=5"):
        result = batched_value_iteration(
            MDPBatch([mdp for mdp, _, _ in drawn]), 0.9, max_iterations=5
        )
    assert not result.converged.any() and np.all(result.iterations == 5)
    for b, (_, T, R) in enumerate(drawn):
        V_5, _ = dense_sweeps(T, R, 0.9, 5)
        assert np.abs(result.V[b] - V_5).max() < 1e-14


def test_results_and_batch_are_read_only_copies() -> None:
    models = [mdp for mdp, _, _ in FROZEN_LAKES[:2]]
    batch = MDPBatch(models)
    result = batched_value_iteration(batch, 0.9)
    for array in (result.V, result.Q, result.policy, result.iterations, result.converged):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    with pytest.raises(ValueError, match="read-only"):
        batch.R[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        batch.continuation.data[0] = 1.0
    assert not np.shares_memory(batch.R, models[0].R)
    dense = MDPBatch(models, layout="dense")
    with pytest.raises(ValueError, match="read-only"):
        dense.dense_continuation[0, 0, 0] = 1.0


# ----------------------------------------------------------------- error paths
def test_models_of_another_shape_are_named_by_index() -> None:
    small = random_outcome_model(np.random.default_rng(0), 5, 2)[0]
    lakes = [mdp for mdp, _, _ in FROZEN_LAKES[:3]]
    with pytest.raises(ValueError, match=r"model 2 has 5 states and 2 actions"):
        MDPBatch([*lakes[:2], small, lakes[2]])
    with pytest.raises(ValueError, match="at least one model"):
        MDPBatch([])
    with pytest.raises(TypeError, match="got dict at index 1"):
        MDPBatch([lakes[0], {}])
    with pytest.raises(TypeError, match="sequence of TabularMDP, got TabularMDP"):
        MDPBatch(lakes[0])
    with pytest.raises(ValueError, match="layout must be one of"):
        MDPBatch(lakes, layout="csr")
    with pytest.raises(TypeError, match="batch must be an MDPBatch"):
        batched_value_iteration(lakes, 0.9)


def test_bad_discounts_tolerances_and_caps() -> None:
    batch = MDPBatch([mdp for mdp, _, _ in FROZEN_LAKES[:3]])
    with pytest.raises(ValueError, match=r"got 1\.5 for model 1"):
        batched_value_iteration(batch, [0.9, 1.5, 0.9])
    with pytest.raises(ValueError, match=r"got nan for model 2"):
        batched_value_iteration(batch, [0.9, 0.9, np.nan])
    with pytest.raises(ValueError, match=r"have shape \(3,\) \(one per model\), got shape \(2,\)"):
        batched_value_iteration(batch, [0.9, 0.9])
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\], got -0\.1"):
        batched_value_iteration(batch, -0.1)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        batched_value_iteration(batch, "0.9")
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        batched_value_iteration(batch, 0.9, tol=0.0)
    with pytest.raises(ValueError, match="max_iterations must be >= 1"):
        batched_value_iteration(batch, 0.9, max_iterations=0)


def test_overflow_names_the_model_and_state() -> None:
    fine = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [2.0]])
    huge = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [1e308]])
    for layout in ("sparse", "dense"):
        with pytest.raises(
            NonFiniteValueError, match=r"non-finite value inf at model 1, state 1 in sweep 2"
        ) as raised:
            batched_value_iteration(MDPBatch([fine, huge], layout=layout), 0.99)
        assert raised.value.states.tolist() == [1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert batched_value_iteration(MDPBatch([fine, huge]), 0.0).converged.all()


def wide_model(rng: np.random.Generator, n_states: int, width: int) -> TabularMDP:
    """Rows of 1 to ``width`` distinct next states; some pairs always terminate (empty rows)."""
    next_state = np.stack([rng.permutation(n_states)[:width] for _ in range(n_states * 2)]).reshape(
        n_states, 2, width
    )
    prob = rng.random((n_states, 2, width)) * (rng.random((n_states, 2, width)) < 0.7)
    prob[..., 0] += 0.1
    prob /= prob.sum(axis=2, keepdims=True)
    terminated = np.zeros_like(prob, dtype=bool)
    terminated[0, 1] = True  # pair (0, 1) ends the episode: an empty continuation row
    return TabularMDP.from_outcomes(next_state, prob, rng.normal(size=prob.shape), terminated)


@pytest.mark.parametrize("width", [1, 3, 12])  # 12: the kernel for rows of any width
def test_compiled_sweep_gives_the_lone_solves_values_bit_for_bit(width: int) -> None:
    # Each model of the sparse layout is swept with the float64 operations of
    # value_iteration on it alone, in the same order (batched_kernel docstring).
    rng = np.random.default_rng(width)
    models = [wide_model(rng, 16, width) for _ in range(6)] + [mdp for mdp, *_ in FROZEN_LAKES[:4]]
    models = [m for m in models if m.n_states == models[0].n_states]
    gammas = rng.choice([0.5, 0.9, 0.99], size=len(models))
    result = batched_value_iteration(MDPBatch(models, layout="sparse"), gammas)
    for b, mdp in enumerate(models):
        alone = value_iteration(mdp, float(gammas[b]), tol=TOL, stopping="sup")
        assert result.iterations[b] == alone.iterations
        assert np.array_equal(result.V[b], alone.V)
        assert np.array_equal(result.policy[b], alone.policy)


def test_a_batch_whose_every_outcome_terminates() -> None:
    # No continuation entry at all: V* = max_a R in one step.
    R = np.array([[1.0, -2.0], [0.5, 3.0]])
    ones = np.ones((2, 2, 1))
    mdp = TabularMDP.from_outcomes(np.zeros((2, 2, 1), dtype=int), ones, R[..., None], ones > 0)
    result = batched_value_iteration(MDPBatch([mdp, mdp], layout="sparse"), [0.9, 0.5])
    assert np.array_equal(result.V, [[1.0, 3.0], [1.0, 3.0]])
    assert result.converged.all()
