"""Soft (entropy-regularised) value iteration and soft backward induction.

References are computed here, independently of ``rl_planners``: dense arrays
from ``tests/independent.dense_model`` and the soft Bellman equation written
out with plain loops over states (``math.exp``/``math.log``, the largest
action value subtracted first).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_planners.errors import ConvergenceWarning
from rl_planners.mdp import TabularMDP
from rl_planners.solvers import value_iteration
from rl_planners.solvers.soft import (
    boltzmann_policy,
    sample_boltzmann_action,
    soft_backward_induction,
    soft_maximum,
    soft_value_iteration,
)
from tests.independent import (
    dense_backward_induction,
    dense_model,
    dense_optimal_values,
    dense_policy_value,
)
from tests.strategies import random_mdps

SETTINGS = settings(max_examples=40, deadline=None)
DISCOUNTS = st.sampled_from([0.0, 0.5, 0.9, 0.95])
TEMPERATURES = st.sampled_from([0.05, 0.5, 1.0, 4.0])


# --------------------------------------------------------- the dense reference
def dense_soft_backup(T, R, V, gamma, tau):
    """``V'(s) = τ log Σ_a exp(Q(s,a)/τ)``, ``Q = R + γ T V``, state by state."""
    n_states, n_actions = R.shape
    V_next = np.empty(n_states)
    Q = np.empty((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            Q[s, a] = R[s, a] + gamma * float(T[s, a] @ V)
        top = max(Q[s])
        V_next[s] = top + tau * math.log(sum(math.exp((q - top) / tau) for q in Q[s]))
    return V_next, Q


def dense_soft_values(T, R, gamma, tau):
    """``V*_τ`` to float64 rounding: sweep until the change stops shrinking."""
    V = np.zeros(R.shape[0])
    for _ in range(200_000):
        V_next, _ = dense_soft_backup(T, R, V, gamma, tau)
        change = np.abs(V_next - V).max()
        V = V_next
        if gamma == 0.0 or change <= 1e-15 * max(1.0, np.abs(V).max()):
            return V
    raise AssertionError("reference soft value iteration did not settle")


def dense_boltzmann(Q, tau):
    """``π(a|s) ∝ exp(Q(s,a)/τ)``, row by row."""
    pi = np.empty_like(Q)
    for s in range(Q.shape[0]):
        top = max(Q[s])
        weights = [math.exp((q - top) / tau) for q in Q[s]]
        pi[s] = np.array(weights) / sum(weights)
    return pi


# -------------------------------------------------------- against the reference
@SETTINGS
@given(drawn=random_mdps(max_states=6, max_actions=3), gamma=DISCOUNTS, tau=TEMPERATURES)
def test_soft_value_iteration_meets_half_tol_against_dense_reference(drawn, gamma, tau):
    T, R = dense_model(drawn.P)
    V_star = dense_soft_values(T, R, gamma, tau)
    for tol in (1e-1, 1e-6):
        result = soft_value_iteration(drawn.from_transitions(), gamma, tau, tol=tol)
        assert result.converged
        # the guarantee: ‖V − V*_τ‖∞ < tol/2 (reference exact to rounding)
        assert np.abs(result.V - V_star).max() < tol / 2 + 1e-12 * max(1, np.abs(V_star).max())
    _, Q_of_V = dense_soft_backup(T, R, result.V, gamma, tau)
    np.testing.assert_allclose(result.Q, Q_of_V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.policy, dense_boltzmann(Q_of_V, tau), atol=1e-12)
    np.testing.assert_allclose(result.policy.sum(axis=1), 1.0, atol=1e-12)
    states = np.arange(drawn.n_states)
    np.testing.assert_array_equal(result.Q[states, result.greedy], result.Q.max(axis=1))


@SETTINGS
@given(drawn=random_mdps(max_states=5, max_actions=3), gamma=DISCOUNTS, tau=TEMPERATURES)
def test_equivalent_formulations_give_the_same_soft_values(drawn, gamma, tau):
    values = [
        soft_value_iteration(mdp, gamma, tau, tol=1e-9).V[: drawn.n_states]
        for mdp in drawn.formulations().values()
    ]
    for V in values[1:]:
        np.testing.assert_allclose(V, values[0], atol=1e-8)


@SETTINGS
@given(drawn=random_mdps(max_states=5, max_actions=3), gamma=DISCOUNTS, tau=TEMPERATURES)
def test_soft_values_are_the_regularised_value_of_the_boltzmann_policy(drawn, gamma, tau):
    # V*_τ = R_π + τ H(π) + γ T_π V*_τ for the Boltzmann policy π of Q*_τ, solved densely
    T, R = dense_model(drawn.P)
    result = soft_value_iteration(drawn.from_transitions(), gamma, tau, tol=1e-10)
    pi = dense_boltzmann(result.Q, tau)
    entropy = -np.sum(np.where(pi > 0, pi * np.log(np.where(pi > 0, pi, 1.0)), 0.0), axis=1)
    T_pi = np.einsum("sa,sat->st", pi, T)
    R_pi = np.einsum("sa,sa->s", pi, R) + tau * entropy
    V_pi = np.linalg.solve(np.eye(drawn.n_states) - gamma * T_pi, R_pi)
    np.testing.assert_allclose(result.V, V_pi, atol=1e-8)


def test_closed_form_one_state_self_loop():
    # One state, actions with rewards r_a that all stay: V*_τ = τ log Σ_a exp(r_a/τ) / (1 − γ)
    rewards = np.array([[1.0, -2.0, 0.5]])
    mdp = TabularMDP.from_arrays(np.ones((1, 3, 1)), rewards)
    gamma, tau = 0.8, 0.7
    expected = tau * math.log(sum(math.exp(r / tau) for r in rewards[0])) / (1 - gamma)
    result = soft_value_iteration(mdp, gamma, tau, tol=1e-10)
    assert abs(result.V[0] - expected) < 5e-11
    weights = np.exp(rewards[0] / tau)
    np.testing.assert_allclose(result.policy[0], weights / weights.sum(), atol=1e-12)
    assert result.greedy[0] == 0


def test_gamma_zero_is_one_exact_sweep():
    mdp = TabularMDP.from_arrays(np.full((2, 2, 2), 0.5), [[1.0, 3.0], [0.0, -1.0]])
    result = soft_value_iteration(mdp, 0.0, 2.0)
    assert result.iterations == 1 and result.converged
    T, R = dense_model(mdp.to_transitions())
    np.testing.assert_allclose(result.V, dense_soft_backup(T, R, np.zeros(2), 0.0, 2.0)[0])


# ------------------------------------------------------------------ τ → 0 limit
@SETTINGS
@given(
    drawn=random_mdps(max_states=6, max_actions=3),
    gamma=st.sampled_from([0.5, 0.9]),
    tau=st.sampled_from([1e-1, 1e-2, 1e-3]),
)
def test_small_temperature_recovers_value_iteration(drawn, gamma, tau):
    tol = 1e-9
    mdp = drawn.from_transitions()
    T, R = dense_model(drawn.P)
    V_star = dense_optimal_values(T, R, gamma)
    result = soft_value_iteration(mdp, gamma, tau, tol=tol)
    # 0 ≤ V*_τ − V* ≤ τ log A / (1 − γ), for the result within tol/2 of V*_τ
    bound = tau * math.log(drawn.n_actions) / (1 - gamma)
    gap = result.V - V_star
    assert gap.min() > -tol / 2 - 1e-9
    assert gap.max() < bound + tol / 2 + 1e-9
    # and against the library's own value iteration
    hard = value_iteration(mdp, gamma, tol=tol)
    assert np.abs(result.V - hard.V).max() <= bound + tol
    # The greedy policy of Q_τ is (γ·bound)-greedy for Q*, so V^greedy ≥ V* − γ·bound/(1 − γ)
    V_greedy = dense_policy_value(T, R, result.greedy, gamma)
    assert (V_greedy - V_star).min() >= -gamma * bound / (1 - gamma) - 1e-7
    # Where Q*'s best action beats the next by more than 2γ·bound, the greedy actions agree
    Q_star = R + gamma * T @ V_star
    ordered = np.sort(Q_star, axis=1)
    clear = (
        ordered[:, -1] - ordered[:, -2] > 2 * gamma * bound + 1e-6
        if drawn.n_actions > 1
        else np.ones(drawn.n_states, dtype=bool)
    )
    np.testing.assert_array_equal(result.greedy[clear], hard.policy[clear])


# ------------------------------------------------------------ finite horizon
def dense_soft_backward(T, R, horizon, gamma, tau, terminal=None):
    V = np.zeros((horizon + 1, R.shape[0]))
    Q = np.zeros((horizon, *R.shape))
    if terminal is not None:
        V[horizon] = terminal
    for t in reversed(range(horizon)):
        V[t], Q[t] = dense_soft_backup(T, R, V[t + 1], gamma, tau)
    return V, Q


@SETTINGS
@given(
    drawn=random_mdps(max_states=5, max_actions=3),
    horizon=st.integers(0, 6),
    gamma=st.sampled_from([0.0, 0.9, 1.0]),
    tau=TEMPERATURES,
    with_terminal=st.booleans(),
)
def test_soft_backward_induction_against_dense_recursion(drawn, horizon, gamma, tau, with_terminal):
    T, R = dense_model(drawn.P)
    terminal = np.linspace(-1.0, 2.0, drawn.n_states) if with_terminal else None
    result = soft_backward_induction(
        drawn.from_transitions(), horizon, tau, gamma=gamma, terminal_values=terminal
    )
    V, Q = dense_soft_backward(T, R, horizon, gamma, tau, terminal)
    assert result.V.shape == (horizon + 1, drawn.n_states)
    assert result.Q.shape == result.policy.shape == (horizon, drawn.n_states, drawn.n_actions)
    np.testing.assert_allclose(result.V, V, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(result.Q, Q, rtol=1e-12, atol=1e-11)
    for t in range(horizon):
        np.testing.assert_allclose(result.policy[t], dense_boltzmann(Q[t], tau), atol=1e-12)
    np.testing.assert_allclose(result.policy.sum(axis=2), 1.0, atol=1e-12)
    # bound against hard backward induction: 0 ≤ V_soft − V_hard ≤ τ log A Σ_{t<H} γ^t
    V_hard, _ = dense_backward_induction(T, R, horizon, gamma, terminal)
    total = tau * math.log(drawn.n_actions) * sum(gamma**t for t in range(horizon))
    assert (result.V[0] - V_hard[0]).min() >= -1e-10
    assert (result.V[0] - V_hard[0]).max() <= total + 1e-10


def test_soft_backward_induction_approaches_soft_value_iteration():
    # With γ < 1, V_0 of a long horizon is within γ^H ‖V*_τ‖∞ of V*_τ
    mdp = TabularMDP.from_arrays(np.full((3, 2, 3), 1 / 3), [[1.0, 0.0], [0.5, 2.0], [-1.0, 0.0]])
    infinite = soft_value_iteration(mdp, 0.9, 0.5, tol=1e-12)
    finite = soft_backward_induction(mdp, 300, 0.5, gamma=0.9)
    assert np.abs(finite.V[0] - infinite.V).max() <= 0.9**300 * np.abs(infinite.V).max() + 1e-10


# ----------------------------------------------------------- result contract
def test_results_are_read_only_copies():
    mdp = TabularMDP.from_arrays(np.full((2, 2, 2), 0.5), [[1.0, 3.0], [0.0, -1.0]])
    V0 = np.array([1.0, 2.0])
    result = soft_value_iteration(mdp, 0.9, 1.0, V0=V0)
    V0[:] = 99.0
    assert result.V.max() < 99.0
    for name in ("V", "Q", "policy", "greedy", "residuals"):
        array = getattr(result, name)
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0
    assert result.greedy.dtype == np.int64
    assert result.residuals.shape == (result.iterations,)
    with pytest.raises(AttributeError):
        result.V = None
    finite = soft_backward_induction(mdp, 3, 1.0)
    for name in ("V", "Q", "policy", "greedy"):
        assert not getattr(finite, name).flags.writeable, name


def test_cap_returns_the_kth_sweep_with_a_warning():
    mdp = TabularMDP.from_arrays(np.full((2, 2, 2), 0.5), [[1.0, 3.0], [0.0, -1.0]])
    T, R = dense_model(mdp.to_transitions())
    with pytest.warns(ConvergenceWarning, match="max_iterations=3"):
        result = soft_value_iteration(mdp, 0.9, 1.0, max_iterations=3)
    assert not result.converged and result.iterations == 3
    V = np.zeros(2)
    for _ in range(3):
        V, _ = dense_soft_backup(T, R, V, 0.9, 1.0)
    np.testing.assert_allclose(result.V, V, rtol=1e-13)


def test_soft_maximum_and_boltzmann_are_stable_at_extreme_scales():
    Q = np.array([[1e6, 1e6 - 1.0, -1e300], [0.0, 0.0, 0.0]])
    V = soft_maximum(Q, 1e-3)
    assert np.all(np.isfinite(V))
    assert V[0] == 1e6 and abs(V[1] - 1e-3 * math.log(3)) < 1e-15
    pi = boltzmann_policy(Q, 1e-3)
    np.testing.assert_allclose(pi, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])


# --------------------------------------------------------------------- errors
@pytest.fixture
def small_mdp():
    return TabularMDP.from_arrays(np.full((2, 2, 2), 0.5), [[1.0, 3.0], [0.0, -1.0]])


def test_gamma_one_points_to_the_finite_horizon_form(small_mdp):
    with pytest.raises(ValueError, match=r"gamma < 1.*soft_backward_induction"):
        soft_value_iteration(small_mdp, 1.0, 1.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_temperature_out_of_range(small_mdp, bad):
    with pytest.raises(ValueError, match="temperature must be finite and > 0"):
        soft_value_iteration(small_mdp, 0.9, bad)
    with pytest.raises(ValueError, match="temperature must be finite and > 0"):
        soft_backward_induction(small_mdp, 2, bad)


@pytest.mark.parametrize("bad", [True, "1.0", None])
def test_temperature_of_the_wrong_type(small_mdp, bad):
    with pytest.raises(TypeError, match="temperature must be a real number"):
        soft_value_iteration(small_mdp, 0.9, bad)


def test_bad_gamma_tol_cap_and_V0(small_mdp):
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        soft_value_iteration(small_mdp, 1.5, 1.0)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        soft_value_iteration(small_mdp, 0.9, 1.0, tol=0.0)
    with pytest.raises(ValueError, match="max_iterations must be >= 1"):
        soft_value_iteration(small_mdp, 0.9, 1.0, max_iterations=0)
    with pytest.raises(ValueError, match=r"V0 must have shape \(2,\)"):
        soft_value_iteration(small_mdp, 0.9, 1.0, V0=np.zeros(3))
    with pytest.raises(ValueError, match="V0 must be finite; got nan at state 1"):
        soft_value_iteration(small_mdp, 0.9, 1.0, V0=[0.0, np.nan])


def test_overflow_is_an_error_naming_the_state():
    # R = 1e308 in state 1 only: the second sweep's 1e308 + 0.9e308 overflows there
    mdp = TabularMDP.from_arrays(np.eye(2)[:, None, :], [[0.0], [1e308]])
    with pytest.raises(ValueError, match=r"non-finite value inf at state 1, action 0"):
        soft_value_iteration(mdp, 0.9, 1.0)
    with pytest.raises(ValueError, match=r"t=0\).*non-finite value inf at state 1, action 0"):
        soft_backward_induction(mdp, 2, 1.0)


def test_bad_horizon_and_terminal_values(small_mdp):
    with pytest.raises(ValueError, match="horizon must be >= 0"):
        soft_backward_induction(small_mdp, -1, 1.0)
    for bad in (1.5, True):
        with pytest.raises(TypeError, match="horizon must be an int"):
            soft_backward_induction(small_mdp, bad, 1.0)
    with pytest.raises(ValueError, match=r"terminal_values must have shape \(2,\)"):
        soft_backward_induction(small_mdp, 2, 1.0, terminal_values=[1.0])
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\]"):
        soft_backward_induction(small_mdp, 2, 1.0, gamma=-0.1)


# ------------------------------------------------------------------- sampling
def test_sample_boltzmann_action_frequencies():
    # Monte Carlo: each frequency within 5 standard errors of π(a|s); a zero-probability
    # action is never drawn
    row = np.array([0.2, 0.0, 0.5, 0.3])
    rng = np.random.default_rng(12345)
    n = 20_000
    counts = np.bincount([sample_boltzmann_action(row, rng) for _ in range(n)], minlength=4)
    standard_error = np.sqrt(row * (1 - row) / n)
    assert counts[1] == 0
    assert np.all(np.abs(counts / n - row) <= 5 * standard_error + 1e-12)


def test_sample_boltzmann_action_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        sample_boltzmann_action([0.5, 0.5], 0)
    with pytest.raises(ValueError, match="1-D array"):
        sample_boltzmann_action([[0.5, 0.5]], rng)
    with pytest.raises(ValueError, match=r"got -0\.5 at action 1"):
        sample_boltzmann_action([1.5, -0.5], rng)
    with pytest.raises(ValueError, match=r"must sum to 1, it sums to 0\.5"):
        sample_boltzmann_action([0.25, 0.25], rng)


def test_no_warning_when_converged(small_mdp):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        soft_value_iteration(small_mdp, 0.99, 0.1)
