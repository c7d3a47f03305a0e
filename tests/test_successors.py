"""Path-doubling evaluation on single-successor models, and the small-model NumPy path.

Every result is compared with the dense references of tests/independent.py
(``np.linalg.solve`` of ``(I − γ T_π) V = R_π``, the Bellman backup written
with ``T[s, a, s']``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_planners import TabularMDP, policy_evaluation, policy_iteration
from rl_planners.bellman import expectation_backup, operators, policy_model, q_by_action
from rl_planners.bellman.dense_rows import DenseRows
from rl_planners.bellman.operators import DENSE_MAX_ENTRIES, sweep_stats
from rl_planners.bellman.successors import SuccessorMatrix, evaluate_by_doubling, successor_table
from rl_planners.errors import NonTerminatingPolicyError
from tests.independent import (
    dense_model,
    dense_optimal_values,
    dense_policy_value,
    dense_q_values,
    dense_termination_probability,
)
from tests.strategies import REWARDS, deterministic_policies, random_mdps


@st.composite
def single_successor_models(draw, max_states: int = 9, max_actions: int = 3):
    """``P`` where every pair ends the episode, or goes on to one state with probability 1."""
    n_states = draw(st.integers(1, max_states))
    n_actions = draw(st.integers(1, max_actions))
    P = {
        s: {
            a: [(1.0, draw(st.integers(0, n_states - 1)), draw(REWARDS), draw(st.booleans()))]
            for a in range(n_actions)
        }
        for s in range(n_states)
    }
    return P, n_states, n_actions


def doubling_value(mdp: TabularMDP, policy: np.ndarray, gamma: float) -> np.ndarray | None:
    table = successor_table(mdp)
    assert table is not None
    states = np.arange(mdp.n_states)
    rows = states * mdp.n_actions + policy
    return evaluate_by_doubling(table, rows, mdp.R[states, policy], gamma)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), model=single_successor_models(), gamma=st.sampled_from([0.0, 0.5, 0.99]))
def test_doubling_matches_the_dense_solve(data, model, gamma):
    """γ < 1: within 2⁻⁶⁰ ‖V^π‖∞ of V^π, so within float64 rounding of the dense solve."""
    P, n_states, n_actions = model
    policy = data.draw(deterministic_policies(n_states, n_actions))
    mdp = TabularMDP.from_transitions(P)
    T, R = dense_model(P)
    expected = dense_policy_value(T, R, policy, gamma)
    V = doubling_value(mdp, policy, gamma)
    np.testing.assert_allclose(V, expected, rtol=0, atol=1e-11 * max(1.0, np.abs(expected).max()))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), model=single_successor_models())
def test_doubling_at_gamma_one_is_exact_or_refuses(data, model):
    """γ = 1: the sum along each path where every path ends; ``None`` where one loops."""
    P, n_states, n_actions = model
    policy = data.draw(deterministic_policies(n_states, n_actions))
    mdp = TabularMDP.from_transitions(P)
    T, R = dense_model(P)
    V = doubling_value(mdp, policy, 1.0)
    if np.all(dense_termination_probability(T, policy) > 0.5):
        np.testing.assert_allclose(V, dense_policy_value(T, R, policy, 1.0), rtol=0, atol=1e-9)
        np.testing.assert_array_equal(policy_evaluation(mdp, policy, 1.0), V)
    else:
        assert V is None
        with pytest.raises(NonTerminatingPolicyError):
            policy_evaluation(mdp, policy, 1.0)


@settings(max_examples=60, deadline=None)
@given(model=single_successor_models(), gamma=st.sampled_from([0.5, 0.9, 0.99]))
def test_policy_iteration_on_single_successor_models_is_optimal(model, gamma):
    """Policy iteration, whose evaluations double paths here, ends at V* (value iteration's)."""
    P, _, _ = model
    T, R = dense_model(P)
    result = policy_iteration(TabularMDP.from_transitions(P), gamma)
    expected = dense_optimal_values(T, R, gamma)
    np.testing.assert_allclose(
        result.V, expected, rtol=0, atol=1e-9 * max(1.0, abs(expected).max())
    )


def test_successor_table_refuses_branching_and_partial_continuation():
    """Two next states, or going on with probability below 1: no table (LU instead)."""
    branching = {0: {0: [(0.5, 0, 1.0, False), (0.5, 1, 0.0, False)]}, 1: {0: [(1.0, 1, 0, True)]}}
    partial = {0: {0: [(0.7, 1, 1.0, False), (0.3, 0, 0.0, True)]}, 1: {0: [(1.0, 1, 0, True)]}}
    assert successor_table(TabularMDP.from_transitions(branching)) is None
    assert successor_table(TabularMDP.from_transitions(partial)) is None
    ending = {0: {0: [(1.0, 1, 1.0, False)]}, 1: {0: [(1.0, 0, 2.0, True)]}}
    np.testing.assert_array_equal(successor_table(TabularMDP.from_transitions(ending)), [1, 2])


def test_taxi_is_single_successor_and_policy_iteration_matches_lu():
    """Taxi-v4: every pair has one next state; doubling gives LU's V^π to rounding."""
    mdp = TabularMDP.from_env(gym.make("Taxi-v4"))
    ops = operators(mdp, "numpy")
    assert ops.successors is not None
    policy = policy_iteration(mdp, 0.99).policy
    T, R = dense_model(mdp.to_transitions())
    np.testing.assert_allclose(
        doubling_value(mdp, policy, 0.99), dense_policy_value(T, R, policy, 0.99), atol=1e-10
    )


@settings(max_examples=100, deadline=None)
@given(data=st.data(), model=random_mdps(), gamma=st.sampled_from([0.0, 0.9, 0.99]))
def test_dense_numpy_operators_match_the_references(data, model, gamma):
    """Q, T V (its d in the scratch vector) and T_π V from dense policy rows, as the references."""
    mdp = model.from_transitions()
    ops = operators(mdp, "numpy")
    assert ops.dense_by_action is not None  # at most 8 states x 4 actions x 8 states
    T, R = dense_model(model.P)
    V = data.draw(st.lists(REWARDS, min_size=mdp.n_states, max_size=mdp.n_states))
    V = np.array(V, dtype=np.float64)
    Q = dense_q_values(T, R, V, gamma)
    np.testing.assert_allclose(ops.q(V, gamma), Q, rtol=1e-13, atol=1e-12)
    out = np.empty(mdp.n_states)
    stats = ops.backup(V, gamma, out)
    np.testing.assert_allclose(out, Q.max(axis=1), rtol=1e-13, atol=1e-12)
    d = out - V
    assert (stats.high, stats.low, stats.top) == (d.max(), d.min(), np.abs(out).max())
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    states = np.arange(mdp.n_states)
    spare = np.empty(mdp.n_states)
    applied = ops.policy(policy).apply(V, gamma, out=spare)
    assert applied is spare
    np.testing.assert_allclose(applied, Q[states, policy], rtol=1e-13, atol=1e-12)


def test_large_models_stay_sparse():
    """Above DENSE_MAX_ENTRIES entries of S·A·S the CSR matrix is used, as before."""
    n_states = 200
    next_state = (np.arange(n_states)[:, None, None] + np.arange(2)[None, :, None]) % n_states
    prob = np.ones((n_states, 2, 1))
    assert n_states * 2 * n_states > DENSE_MAX_ENTRIES
    mdp = TabularMDP.from_outcomes(next_state, prob, np.ones((n_states, 2, 1)))
    assert operators(mdp, "numpy").dense_by_action is None


def test_sweep_stats_report_overflow():
    """A non-finite V_next gives a non-finite top, which the stopping rule refuses."""
    for bad in (np.inf, -np.inf, np.nan):
        stats = sweep_stats(np.zeros(3), np.array([1.0, bad, -2.0]))
        assert not np.isfinite(stats.top)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), model=single_successor_models(), gamma=st.sampled_from([0.5, 0.99, 1.0]))
def test_successor_rows_give_the_csr_products_bit_for_bit(data, model, gamma):
    """T_π x and P_π x by a gather: SciPy's CSR floats, and the dense reference's values."""
    P, n_states, n_actions = model
    mdp = TabularMDP.from_transitions(P)
    policy = data.draw(deterministic_policies(n_states, n_actions))
    x = np.array(data.draw(st.lists(REWARDS, min_size=n_states, max_size=n_states)), dtype=float)
    P_rows = operators(mdp, "numpy").policy(policy).P_pi
    assert isinstance(P_rows, SuccessorMatrix)
    P_pi, R_pi = policy_model(mdp, policy)  # CSR
    assert np.array_equal(P_rows @ x, P_pi @ x)
    out = np.empty(n_states)
    T_pi_x = expectation_backup(P_rows, R_pi, x, gamma, out=out)
    assert T_pi_x is out
    assert np.array_equal(out, R_pi + gamma * (P_pi @ x))
    T, R = dense_model(P)
    states = np.arange(n_states)
    np.testing.assert_allclose(out, R[states, policy] + gamma * T[states, policy] @ x, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), model=single_successor_models(), gamma=st.sampled_from([0.5, 0.99, 1.0]))
def test_q_by_a_gather_gives_the_csr_floats(data, model, gamma):
    """Q of every pair on a single-successor model: the gather and SciPy agree bit for bit."""
    P, n_states, _ = model
    mdp = TabularMDP.from_transitions(P)
    x = np.array(data.draw(st.lists(REWARDS, min_size=n_states, max_size=n_states)), dtype=float)
    ops = operators(mdp, "numpy")
    assert isinstance(ops.single_successors, SuccessorMatrix)
    by_gather = ops.q(x, gamma)
    by_csr = q_by_action(mdp, x, gamma).T
    assert by_gather.tobytes() == np.ascontiguousarray(by_csr).tobytes()
    T, R = dense_model(P)
    np.testing.assert_allclose(by_gather, R + gamma * T @ x, atol=1e-12)


def test_policy_rows_forms_on_the_toy_models():
    """Which form of P_π a deterministic policy gets (operators.policy), and its overflow."""
    taxi = operators(TabularMDP.from_env(gym.make("Taxi-v4")), "numpy")
    assert isinstance(taxi.policy(np.zeros(500, dtype=np.int64)).P_pi, SuccessorMatrix)
    lake = operators(TabularMDP.from_env(gym.make("FrozenLake-v1", map_name="8x8")), "numpy")
    P_rows = lake.policy(np.zeros(64, dtype=np.int64)).P_pi
    assert isinstance(P_rows, DenseRows)
    x = np.zeros(64)
    x[0] = np.inf  # only the states that reach state 0 in one step see it
    reaches = policy_model(lake.mdp, np.zeros(64, dtype=np.int64))[0][:, 0].toarray().ravel() > 0
    product = P_rows @ x
    assert np.array_equal(np.isfinite(product), ~reaches)  # no 0 · inf = NaN elsewhere
