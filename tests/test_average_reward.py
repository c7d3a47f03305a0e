"""Relative value iteration: gain-optimal planning for continuing tasks.

The reference for ``g*`` is the average-reward linear program, solved here with
``scipy.optimize.linprog`` (Puterman 1994, §8.8.1, the dual over occupancy
measures): maximise ``Σ x(s,a) R(s,a)`` subject to ``x ≥ 0``,
``Σ_a x(s',a) = Σ_{s,a} P(s'|s,a) x(s,a)`` for every ``s'`` and ``Σ x = 1``.
For a unichain model its optimum is the optimal gain.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import envs  # noqa: F401  (registers the rl_planners/ environments)
from rl_planners.errors import ConvergenceWarning, ModelError
from rl_planners.mdp import TabularMDP
from rl_planners.solvers.average_reward import relative_value_iteration
from tests.independent import dense_model

SETTINGS = settings(max_examples=40, deadline=None)

# pymdptoolbox's documented figures for mdptoolbox.mdp.RelativeValueIteration
# (sawcordwell/pymdptoolbox, src/mdptoolbox/mdp.py, RelativeValueIteration docstring,
# Examples, at commit 7c96789): on mdptoolbox.example.forest() (S=3, r1=4, r2=2, p=0.1)
# it prints average_reward 3.2399999999999993 and policy (0, 0, 0); on the two-state
# example P = [[[0.5, 0.5], [0.8, 0.2]], [[0, 1], [0.1, 0.9]]] (A, S, S),
# R = [[5, 10], [-1, 2]] (S, A) it prints average_reward 3.8852352464118312 and
# policy (1, 0). Both are run at pymdptoolbox's default epsilon = 0.01 and report the
# lower bound min d, so they are within 0.01 of g*. (Older releases of that docstring
# printed 2.43 for the forest, which is not the forest's gain.)
PYMDPTOOLBOX_FOREST_GAIN = 3.2399999999999993
PYMDPTOOLBOX_FOREST_POLICY = (0, 0, 0)
PYMDPTOOLBOX_SMALL_GAIN = 3.8852352464118312
PYMDPTOOLBOX_SMALL_POLICY = (1, 0)
PYMDPTOOLBOX_EPSILON = 0.01


# ------------------------------------------------------------ the references
def lp_gain(T, R) -> float:
    """``g*`` from the dual LP over occupancy measures ``x(s, a)``."""
    n_states, n_actions = R.shape
    balance = np.zeros((n_states, n_states * n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            column = s * n_actions + a
            balance[s, column] += 1.0
            balance[:, column] -= T[s, a]
    A_eq = np.vstack([balance, np.ones(n_states * n_actions)])
    b_eq = np.concatenate([np.zeros(n_states), [1.0]])
    solution = linprog(-R.reshape(-1), A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert solution.status == 0, solution.message
    return -solution.fun


def stationary_gain(T, R, policy) -> float:
    """``μ R_π`` with ``μ`` the stationary distribution of an irreducible ``T_π``."""
    n_states = R.shape[0]
    T_pi = T[np.arange(n_states), policy]
    system = np.vstack([T_pi.T - np.eye(n_states), np.ones(n_states)])
    mu = np.linalg.lstsq(system, np.concatenate([np.zeros(n_states), [1.0]]), rcond=None)[0]
    return float(mu @ R[np.arange(n_states), policy])


@st.composite
def positive_models(draw, max_states: int = 6, max_actions: int = 3):
    """Dense ``(T, R)`` with every probability > 0: every policy's chain is irreducible."""
    n_states = draw(st.integers(1, max_states))
    n_actions = draw(st.integers(1, max_actions))
    weights = draw(
        st.lists(
            st.integers(1, 10), min_size=n_states**2 * n_actions, max_size=n_states**2 * n_actions
        )
    )
    T = np.array(weights, dtype=float).reshape(n_states, n_actions, n_states)
    T /= T.sum(axis=2, keepdims=True)
    rewards = draw(
        st.lists(
            st.floats(-10, 10, allow_nan=False),
            min_size=n_states * n_actions,
            max_size=n_states * n_actions,
        )
    )
    return T, np.array(rewards).reshape(n_states, n_actions)


# ------------------------------------------------------ against the LP
@SETTINGS
@given(model=positive_models(), reference_state=st.integers(0, 5))
def test_gain_matches_the_linear_program(model, reference_state):
    T, R = model
    n_states = R.shape[0]
    reference_state = reference_state % n_states
    tol = 1e-6
    result = relative_value_iteration(
        TabularMDP.from_arrays(T, R), tol=tol, reference_state=reference_state
    )
    assert result.converged
    g_star = lp_gain(T, R)
    assert abs(result.gain - g_star) < tol / 2 + 1e-9
    # the policy is tol-optimal: its exact gain from the stationary distribution
    assert stationary_gain(T, R, result.policy) > g_star - tol - 1e-9
    # (g, h) solve the optimality equation to within tol/2, with h(s_ref) = 0
    h = result.bias
    assert h[reference_state] == 0.0
    residual = (R + T @ h).max(axis=1) - result.gain - h
    assert np.abs(residual).max() < tol / 2 + 1e-9
    np.testing.assert_allclose(result.Q, R - result.gain + T @ h, atol=1e-9)
    states = np.arange(n_states)
    assert np.all(result.Q[states, result.policy] >= result.Q.max(axis=1) - 1e-9)


@SETTINGS
@given(model=positive_models(max_states=5))
def test_span_residuals_bound_the_gain(model):
    # every recorded span is ≥ 0 and the last one is below tol
    T, R = model
    result = relative_value_iteration(TabularMDP.from_arrays(T, R), tol=1e-9)
    assert result.residuals.shape == (result.iterations,)
    assert np.all(result.residuals >= 0.0) and result.residuals[-1] < 1e-9


# ---------------------------------------------------- published figures
def test_forest_reproduces_pymdptoolbox_figures():
    env = gym.make("rl_planners/ForestManagement-v0")
    mdp = TabularMDP.from_env(env)
    result = relative_value_iteration(mdp)
    assert tuple(result.policy) == PYMDPTOOLBOX_FOREST_POLICY
    assert abs(result.gain - PYMDPTOOLBOX_FOREST_GAIN) < PYMDPTOOLBOX_EPSILON
    # Closed form: waiting everywhere, the fire sends every state to 0 w.p. p = 0.1, so
    # μ = (0.1, 0.09, 0.81) and g* = 0.81 · r1 = 3.24; the LP agrees.
    assert abs(result.gain - 3.24) < 1e-8 / 2 + 1e-12
    T, R = dense_model(mdp.to_transitions())
    assert abs(lp_gain(T, R) - 3.24) < 1e-9


def test_pymdptoolbox_two_state_example():
    P = np.array([[[0.5, 0.5], [0.8, 0.2]], [[0.0, 1.0], [0.1, 0.9]]])  # (A, S, S)
    R = np.array([[5.0, 10.0], [-1.0, 2.0]])  # (S, A)
    T = P.transpose(1, 0, 2)
    result = relative_value_iteration(TabularMDP.from_arrays(T, R))
    assert tuple(result.policy) == PYMDPTOOLBOX_SMALL_POLICY
    assert abs(result.gain - PYMDPTOOLBOX_SMALL_GAIN) < PYMDPTOOLBOX_EPSILON
    # Closed form for policy (1, 0): μ = (4/9, 5/9), g* = 4/9 · 10 − 5/9 = 35/9
    assert abs(result.gain - 35 / 9) < 1e-8
    assert abs(lp_gain(T, R) - 35 / 9) < 1e-9


def test_periodic_chain_converges_with_the_aperiodicity_transform():
    # a deterministic 3-cycle (period 3) with a second action that stays put
    T = np.zeros((3, 2, 3))
    T[[0, 1, 2], 0, [1, 2, 0]] = 1.0
    T[[0, 1, 2], 1, [0, 1, 2]] = 1.0
    R = np.array([[3.0, 0.0], [0.0, 1.0], [6.0, 2.5]])
    result = relative_value_iteration(TabularMDP.from_arrays(T, R), tol=1e-10)
    assert result.converged
    # cycling earns (3 + 0 + 6)/3 = 3 per step; staying earns at most 2.5
    assert abs(result.gain - 3.0) < 1e-10
    np.testing.assert_array_equal(result.policy, [0, 0, 0])
    assert abs(lp_gain(T, R) - 3.0) < 1e-9


# ------------------------------------------------------- chain structure
def test_multichain_with_different_gains_raises():
    # state 0: stay for 10 a step, or move to the absorbing state 1 that earns 1
    T = np.zeros((2, 2, 2))
    T[0, 0, 0] = T[0, 1, 1] = T[1, :, 1] = 1.0
    R = np.array([[10.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"not constant across states.*state 0.*earns 10.*state 1"):
        relative_value_iteration(TabularMDP.from_arrays(T, R))


def test_two_absorbing_classes_with_different_gains_raise():
    T = np.zeros((3, 1, 3))
    T[0, 0] = [0.0, 0.5, 0.5]
    T[1, 0, 1] = T[2, 0, 2] = 1.0
    R = np.array([[0.0], [2.0], [-1.0]])
    with pytest.raises(ValueError, match=r"not constant.*state 1.*earns 2.*state 2.*gain -1"):
        relative_value_iteration(TabularMDP.from_arrays(T, R))


def test_multichain_with_a_constant_gain_is_solved():
    # two absorbing classes that earn the same: g* = 1 everywhere, no error
    T = np.zeros((3, 1, 3))
    T[0, 0] = [0.0, 0.5, 0.5]
    T[1, 0, 1] = T[2, 0, 2] = 1.0
    R = np.array([[5.0], [1.0], [1.0]])
    result = relative_value_iteration(TabularMDP.from_arrays(T, R))
    assert result.converged and abs(result.gain - 1.0) < 1e-8


def test_terminating_model_is_refused():
    P = {
        0: {0: [(1.0, 1, 1.0, False)]},
        1: {0: [(0.25, 0, 2.0, True), (0.75, 1, 0.0, False)]},
    }
    with pytest.raises(ModelError, match=r"state 1, action 0 terminates with probability 0\.25"):
        relative_value_iteration(TabularMDP.from_transitions(P))


# ------------------------------------------------------ result contract and errors
@pytest.fixture
def swap_mdp():
    return TabularMDP.from_arrays([[[0.0, 1.0]], [[1.0, 0.0]]], [[1.0], [3.0]])


def test_result_is_read_only(swap_mdp):
    result = relative_value_iteration(swap_mdp)
    for name in ("bias", "policy", "Q", "residuals"):
        array = getattr(result, name)
        assert not array.flags.writeable, name
    assert result.policy.dtype == np.int64
    with pytest.raises(AttributeError):
        result.gain = 0.0


def test_cap_warns_and_reports_not_converged():
    T = np.full((3, 2, 3), 1 / 3)
    T[0, 0] = [0.9, 0.05, 0.05]
    R = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, -1.0]])
    with pytest.warns(ConvergenceWarning, match="max_iterations=2"):
        result = relative_value_iteration(TabularMDP.from_arrays(T, R), max_iterations=2)
    assert not result.converged and result.iterations == 2
    # even unconverged, the midpoint is within half the last span of g*
    assert abs(result.gain - lp_gain(T, R)) <= result.residuals[-1] / 2 + 1e-12


def test_argument_errors(swap_mdp):
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        relative_value_iteration(swap_mdp, tol=-1.0)
    with pytest.raises(TypeError, match="max_iterations must be an int"):
        relative_value_iteration(swap_mdp, max_iterations=2.5)
    with pytest.raises(ValueError, match=r"reference_state must lie in 0\.\.1, got 2"):
        relative_value_iteration(swap_mdp, reference_state=2)
    with pytest.raises(ValueError, match=r"reference_state must lie in 0\.\.1, got -1"):
        relative_value_iteration(swap_mdp, reference_state=-1)
    for bad in (True, 1.0):
        with pytest.raises(TypeError, match="reference_state must be a state index"):
            relative_value_iteration(swap_mdp, reference_state=bad)


def test_overflow_is_an_error_naming_the_state():
    mdp = TabularMDP.from_arrays([[[0.0, 1.0]], [[1.0, 0.0]]], [[1e308], [-1e308]])
    with pytest.raises(ValueError, match=r"non-finite value -inf at state 1 \(sweep 1\)"):
        relative_value_iteration(mdp)
