"""Tests of rl_planners.solvers against Sutton & Barto's worked examples and the contract.

The S&B models are built here with ``TabularMDP.from_arrays``; their published
values live in ``reference_values.py``. Other references come from the plain
dense NumPy sweeps of ``independent.py``, independent of the library.
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from independent import (
    dense_finite_horizon_value,
    dense_model,
    dense_optimal_values,
    dense_policy_value,
    dense_q_values,
    dense_sweeps,
    dense_termination_probability,
)
from reference_values import (
    FIGURE_3_2_V_RANDOM,
    FIGURE_3_5_V_STAR,
    FIGURE_4_1_ITERATES,
    FIGURE_4_1_LIMIT,
    GAMBLER_GOAL,
    GAMBLER_HEADS_PROBABILITY,
    GAMBLER_V_STAR,
    GRIDWORLD_4X4_TERMINALS,
    GRIDWORLD_5X5_GAMMA,
    PRINTED_ATOL,
)

from rl_planners import (
    ConvergenceWarning,
    NonTerminatingPolicyError,
    PlanningResult,
    TabularMDP,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    value_iteration,
)
from rl_planners import errors as errors_module

SOLVERS = [value_iteration, policy_iteration, modified_policy_iteration]
MOVES = [(-1, 0), (0, 1), (1, 0), (0, -1)]  # up, right, down, left


# ------------------------------------------------------------------ models
def gridworld_dynamics(size: int) -> np.ndarray:
    """``T[s, a, s']`` of a size x size grid; moves off the grid stay put."""
    n = size * size
    T = np.zeros((n, 4, n))
    for s in range(n):
        row, col = divmod(s, size)
        for a, (dr, dc) in enumerate(MOVES):
            r, c = row + dr, col + dc
            if not (0 <= r < size and 0 <= c < size):
                r, c = row, col
            T[s, a, size * r + c] = 1.0
    return T


def gridworld_4x4() -> TabularMDP:
    """S&B Example 4.1: -1 per step, corners 0 and 15 terminal."""
    return TabularMDP.from_arrays(
        gridworld_dynamics(4), -np.ones((16, 4)), terminal_states=GRIDWORLD_4X4_TERMINALS
    )


def gridworld_5x5() -> tuple[TabularMDP, np.ndarray, np.ndarray]:
    """S&B Example 3.5: A=(0,1) -> A'=(4,1) with +10, B=(0,3) -> B'=(2,3) with +5.

    Returns the model and its dense ``T (S, A, S)`` and ``R (S, A)``.
    """
    T = gridworld_dynamics(5)
    R = np.zeros((25, 4))
    for s in range(25):
        row, col = divmod(s, 5)
        for a, (dr, dc) in enumerate(MOVES):
            if not (0 <= row + dr < 5 and 0 <= col + dc < 5):
                R[s, a] = -1.0
    for special, landing, reward in [(1, 21, 10.0), (3, 13, 5.0)]:
        T[special] = 0.0
        T[special, :, landing] = 1.0
        R[special] = reward
    return TabularMDP.from_arrays(T, R), T, R


def gambler(p_h: float = GAMBLER_HEADS_PROBABILITY, goal: int = GAMBLER_GOAL) -> TabularMDP:
    """S&B Example 4.3. Action a stakes min(a, s, goal - s): a = 0 stakes nothing.

    Stakes above the legal maximum are clipped to it, so every state has the
    same ``goal // 2 + 1`` actions. Staking 0 is a self-loop with reward 0: at
    γ = 1 it ties with the optimal stake everywhere and never terminates.
    """
    n, n_actions = goal + 1, goal // 2 + 1
    T = np.zeros((n, n_actions, n))
    for s in range(1, goal):
        for a in range(n_actions):
            stake = min(a, s, goal - s)
            T[s, a, s + stake] += p_h
            T[s, a, s - stake] += 1.0 - p_h
    R = np.zeros((n, n_actions, n))
    R[:, :, goal] = 1.0  # reaching the goal
    return TabularMDP.from_arrays(T, R, terminal_states=[0, goal])


def stay_or_advance(length: int = 5) -> TabularMDP:
    """A chain: action 0 stays put (reward 0), action 1 advances; the last state exits."""
    P = {
        s: {
            0: [(1.0, s, 0.0, False)],
            1: [(1.0, min(s + 1, length - 1), -1.0, s == length - 1)],
        }
        for s in range(length)
    }
    return TabularMDP.from_transitions(P)


# ------------------------------------------------------------------ helpers
def terminates_almost_surely(mdp: TabularMDP, policy: np.ndarray) -> bool:
    """Whether a deterministic policy ends the episode w.p. 1 from every state."""
    T, _ = dense_model(mdp.to_transitions())
    return bool(np.all(dense_termination_probability(T, policy) > 1.0 - 1e-9))


def assert_message(excinfo: pytest.ExceptionInfo, *patterns: str) -> None:
    message = str(excinfo.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not found in {message!r}"


# ------------------------------------------------- S&B Figure 4.1 (Example 4.1)
RANDOM_POLICY_4X4 = np.full((16, 4), 0.25)


@pytest.mark.parametrize("k", sorted(FIGURE_4_1_ITERATES))
def test_figure_4_1_iterates(k):
    mdp = gridworld_4x4()
    with pytest.warns(ConvergenceWarning):
        V = policy_evaluation(mdp, RANDOM_POLICY_4X4, 1.0, method="iterative", max_iterations=k)
    np.testing.assert_allclose(V.reshape(4, 4), FIGURE_4_1_ITERATES[k], rtol=0, atol=PRINTED_ATOL)
    # and exactly the k-th synchronous sweep T_π^k 0
    T, R = dense_model(mdp.to_transitions())
    V_k = dense_finite_horizon_value(T, R, RANDOM_POLICY_4X4, k, 1.0)
    np.testing.assert_allclose(V, V_k, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["exact", "iterative"])
def test_figure_4_1_limit(method):
    V = policy_evaluation(gridworld_4x4(), RANDOM_POLICY_4X4, 1.0, method=method)
    np.testing.assert_allclose(V.reshape(4, 4), FIGURE_4_1_LIMIT, rtol=0, atol=1e-6)


def test_deterministic_policy_equals_its_one_hot_rows():
    # A deterministic policy given as (S,) actions or as one-hot (S, A) rows
    # is the same policy. Moving left then up reaches state 0 from everywhere.
    policy = np.where(np.arange(16) % 4 == 0, 0, 3)  # up in column 0, else left
    one_hot = np.eye(4)[policy]
    V = policy_evaluation(gridworld_4x4(), policy, 1.0)
    np.testing.assert_allclose(V, policy_evaluation(gridworld_4x4(), one_hot, 1.0), atol=1e-12)
    # steps to state 0: column + row; state 15 is terminal itself
    expected = -np.array([r + c for r in range(4) for c in range(4)], dtype=float)
    expected[15] = 0.0
    np.testing.assert_allclose(V, expected, atol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_gridworld_4x4_optimal_values_at_gamma_one(solver):
    # Example 4.1's optimal values (Figure 4.1, right, shows the greedy policy):
    # minus the number of steps to the nearest terminal corner. Policy
    # iteration starts from its default policy although walking into a wall
    # never terminates.
    mdp = gridworld_4x4()
    result = solver(mdp, 1.0)
    steps = [min(r + c, (3 - r) + (3 - c)) for r in range(4) for c in range(4)]
    np.testing.assert_allclose(result.V, -np.array(steps, dtype=float), rtol=0, atol=1e-6)
    assert result.converged
    assert terminates_almost_surely(mdp, result.policy)


@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
def test_terminal_states_are_worth_zero(gamma):
    # from_arrays' terminal states absorb with reward 0: V(terminal) = 0,
    # exactly for exact evaluation, within tol/2 for the iterative solvers.
    # State 0: action 0 earns 1 and ends w.p. 1/2 (else stays), action 1 earns
    # 1 and ends; V*(0) = 1 / (1 - γ/2).
    T = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[1.0, 1.0], [5.0, -5.0]])  # the terminal row's rewards are dropped
    mdp = TabularMDP.from_arrays(T, R, terminal_states=[1])
    assert policy_evaluation(mdp, np.array([0, 0]), gamma)[1] == 0.0
    exact = policy_iteration(mdp, gamma)
    assert exact.V[1] == 0.0
    assert exact.V[0] == pytest.approx(1.0 / (1.0 - gamma / 2))
    for solver in (value_iteration, modified_policy_iteration):
        assert abs(solver(mdp, gamma, tol=1e-6).V[1]) < 0.5e-6, solver.__name__


# ------------------------------------ S&B Example 3.5 / 3.8, Figures 3.2, 3.5
@pytest.mark.parametrize("method", ["exact", "iterative"])
def test_figure_3_2_random_policy_values(method):
    mdp, _, _ = gridworld_5x5()
    V = policy_evaluation(mdp, np.full((25, 4), 0.25), GRIDWORLD_5X5_GAMMA, method=method)
    np.testing.assert_allclose(V.reshape(5, 5), FIGURE_3_2_V_RANDOM, rtol=0, atol=PRINTED_ATOL)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_figure_3_5_optimal_values(solver):
    mdp, _, _ = gridworld_5x5()
    result = solver(mdp, GRIDWORLD_5X5_GAMMA)
    np.testing.assert_allclose(result.V.reshape(5, 5), FIGURE_3_5_V_STAR, rtol=0, atol=PRINTED_ATOL)
    assert result.converged
    # In A (state 1) and B (state 3) every action has the same outcome: an
    # exact tie, which goes to the lowest index below γ = 1.
    assert result.policy[1] == 0
    assert result.policy[3] == 0


@pytest.mark.parametrize("tol", [1.0, 1e-2, 1e-5, 1e-8])
@pytest.mark.parametrize("solver", [value_iteration, modified_policy_iteration])
def test_tol_guarantee_on_the_5x5_gridworld(solver, tol):
    # ‖V − V*‖∞ < tol/2 and the greedy policy is tol-optimal (the docstrings).
    mdp, T, R = gridworld_5x5()
    gamma = GRIDWORLD_5X5_GAMMA
    V_star = dense_optimal_values(T, R, gamma)
    result = solver(mdp, gamma, tol=tol)
    slack = 1e-12 * np.abs(V_star).max()
    assert np.abs(result.V - V_star).max() < tol / 2 + slack
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack)


# ------------------------------------------------ S&B Example 4.3, gambler
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_gambler_optimal_values(solver):
    mdp = gambler()
    result = solver(mdp, 1.0)
    assert result.converged
    for capital, value in GAMBLER_V_STAR.items():
        assert result.V[capital] == pytest.approx(value, abs=1e-6), capital
    # Staking 0 ties with the best stake everywhere at γ = 1 and loops forever:
    # the returned policy must not use it, and must be worth V*.
    assert np.all(result.policy[1:GAMBLER_GOAL] != 0)
    assert terminates_almost_surely(mdp, result.policy)
    V_pi = policy_evaluation(mdp, result.policy, 1.0)
    np.testing.assert_allclose(V_pi, result.V, rtol=0, atol=1e-6)


def test_gambler_at_even_odds():
    # p_h = 1/2: a fair game; every proper policy wins with probability s/100.
    result = policy_iteration(gambler(p_h=0.5), 1.0)
    np.testing.assert_allclose(result.V[1:100], np.arange(1, 100) / 100, rtol=0, atol=1e-9)


# ------------------------------------------------------------ γ = 1 contract
def test_deterministic_frozen_lake_policies_reach_the_goal_at_gamma_one():
    # Every action at the start ties at value 1; follow each solver's policy.
    env = gym.make("FrozenLake-v1", is_slippery=False)
    mdp = TabularMDP.from_env(env)
    P = env.unwrapped.P
    for solver in SOLVERS:
        policy = solver(mdp, 1.0).policy
        state, reward, done = 0, 0.0, False
        for _ in range(16):
            ((_, state, reward, done),) = P[state][int(policy[state])]
            if done:
                break
        assert done and reward == 1.0, f"{solver.__name__}'s policy {policy} never reaches the goal"


@pytest.mark.parametrize("method", ["exact", "iterative"])
def test_non_terminating_policy_is_an_error_naming_the_states(method):
    # Chain 0 -> 1 -> 2 -> 3 -> 4 -> exit, but the policy stays put in 3:
    # states 0..3 never terminate, 4 does.
    mdp = stay_or_advance(5)
    policy = np.array([1, 1, 1, 0, 1])
    with pytest.raises(NonTerminatingPolicyError, match=r"\b3\b") as excinfo:
        policy_evaluation(mdp, policy, 1.0, method=method)
    assert_message(excinfo, r"state")
    assert sorted(np.asarray(excinfo.value.states).tolist()) == [0, 1, 2, 3]
    # the same policy is fine when discounted
    V = policy_evaluation(mdp, policy, 0.9, method=method)
    assert np.all(np.isfinite(V))


@pytest.mark.parametrize("method", ["exact", "iterative"])
@pytest.mark.parametrize("stochastic", [False, True])
def test_frozen_lake_walking_into_the_west_wall_never_terminates(method, stochastic):
    # Deterministic FrozenLake, always LEFT: columns feed into column 0 and stay
    # there, except where a hole (5, 7, 11, 12) or the goal ends the episode.
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1", is_slippery=False))
    policy = np.zeros(16, dtype=np.int64)
    if stochastic:
        policy = np.eye(4)[policy]
    with pytest.raises(NonTerminatingPolicyError) as excinfo:
        policy_evaluation(mdp, policy, 1.0, method=method)
    assert sorted(np.asarray(excinfo.value.states).tolist()) == [0, 1, 2, 3, 4, 8, 9, 10]
    assert_message(excinfo, r"\b10\b")


def test_non_terminating_policy_error_type():
    assert issubclass(NonTerminatingPolicyError, ValueError)
    assert errors_module.NonTerminatingPolicyError is NonTerminatingPolicyError
    assert issubclass(ConvergenceWarning, UserWarning)


def test_policy_iteration_from_a_non_terminating_policy0_at_gamma_one():
    with pytest.raises(NonTerminatingPolicyError, match=r"\b3\b"):
        policy_iteration(stay_or_advance(5), 1.0, policy0=np.array([1, 1, 1, 0, 1]))


@pytest.mark.parametrize(
    "env_id", ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4", "CliffWalkingSlippery-v1"]
)
def test_policy_iteration_default_start_converges_at_gamma_one(env_id):
    # Each of these has policies that never terminate (walking into a wall).
    mdp = TabularMDP.from_env(gym.make(env_id))
    result = policy_iteration(mdp, 1.0)
    assert result.converged
    T, R = dense_model(mdp.to_transitions())
    np.testing.assert_allclose(result.V, dense_optimal_values(T, R, 1.0), rtol=1e-9, atol=1e-9)


# ------------------------------------------------------- iteration caps, warnings
@pytest.mark.parametrize("k", [1, 2, 5, 17])
def test_value_iteration_capped_at_k_returns_the_kth_sweep(k):
    mdp, T, R = gridworld_5x5()
    with pytest.warns(ConvergenceWarning, match="max_iterations"):
        result = value_iteration(mdp, 0.9, max_iterations=k)
    V_k, changes = dense_sweeps(T, R, 0.9, k)
    np.testing.assert_allclose(result.V, V_k, rtol=0, atol=1e-12)
    assert result.iterations == k
    assert result.converged is False
    np.testing.assert_allclose(result.residuals, changes, rtol=0, atol=1e-12)


def test_value_iteration_capped_from_V0():
    mdp, T, R = gridworld_5x5()
    V0 = np.linspace(-3.0, 7.0, 25)
    with pytest.warns(ConvergenceWarning):
        result = value_iteration(mdp, 0.9, max_iterations=3, V0=V0)
    np.testing.assert_allclose(result.V, dense_sweeps(T, R, 0.9, 3, V0)[0], rtol=0, atol=1e-12)


def test_value_iteration_capped_at_gamma_one():
    mdp = gambler()
    T, R = dense_model(mdp.to_transitions())
    with pytest.warns(ConvergenceWarning):
        result = value_iteration(mdp, 1.0, max_iterations=4)
    np.testing.assert_allclose(result.V, dense_sweeps(T, R, 1.0, 4)[0], rtol=0, atol=1e-12)
    assert (result.iterations, result.converged) == (4, False)


def test_policy_iteration_cap_is_not_overridden():
    # Starting from "always up", one improvement step changes the policy, so
    # policy iteration cannot have confirmed convergence after 1 iteration.
    mdp, _, _ = gridworld_5x5()
    with pytest.warns(ConvergenceWarning, match="max_iterations"):
        result = policy_iteration(mdp, 0.9, max_iterations=1, policy0=np.zeros(25, dtype=int))
    assert result.iterations == 1
    assert result.converged is False


def test_modified_policy_iteration_cap_is_not_overridden():
    mdp, _, _ = gridworld_5x5()
    with pytest.warns(ConvergenceWarning, match="max_iterations"):
        result = modified_policy_iteration(mdp, 0.9, max_iterations=2)
    assert result.iterations == 2
    assert result.converged is False


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_no_warning_when_converged(solver):
    mdp, _, _ = gridworld_5x5()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = solver(mdp, 0.9)
    assert result.converged is True
    assert 1 <= result.iterations


def test_policy_evaluation_cap_warns():
    mdp, _, _ = gridworld_5x5()
    with pytest.warns(ConvergenceWarning):
        policy_evaluation(mdp, np.zeros(25, dtype=int), 0.9, method="iterative", max_iterations=3)


# ------------------------------------------------------ policy iteration ties
def test_policy_iteration_keeps_tied_actions():
    # In A (1) and B (3) all actions tie exactly. Start from an optimal policy
    # that picks the last action there: no strict improvement, so no change.
    mdp, T, R = gridworld_5x5()
    V_star = dense_optimal_values(T, R, 0.9)
    policy0 = np.argmax(dense_q_values(T, R, V_star, 0.9), axis=1)
    policy0[1], policy0[3] = 3, 2
    result = policy_iteration(mdp, 0.9, policy0=policy0)
    assert result.converged
    np.testing.assert_array_equal(result.policy, policy0)


def test_policy_iteration_changes_only_improvable_states():
    # Actions 0 and 1 are copies; 2 is strictly worse. States starting on 1
    # keep it; states starting on 2 switch to an optimal action.
    P = {}
    for s in range(4):
        good = [(0.6, (s + 1) % 4, 1.0, False), (0.4, s, 0.5, s == 3)]
        P[s] = {0: good, 1: list(good), 2: [(1.0, (s + 2) % 4, -3.0, False)]}
    mdp = TabularMDP.from_transitions(P)
    result = policy_iteration(mdp, 0.95, policy0=np.array([1, 2, 1, 2]))
    assert result.converged
    assert result.policy[0] == 1 and result.policy[2] == 1
    assert result.policy[1] in (0, 1) and result.policy[3] in (0, 1)


@pytest.mark.parametrize("m", [0, 1, 5, 50])
def test_modified_policy_iteration_for_any_m(m):
    mdp, T, R = gridworld_5x5()
    result = modified_policy_iteration(mdp, 0.9, m=m, tol=1e-6)
    assert np.abs(result.V - dense_optimal_values(T, R, 0.9)).max() < 0.5e-6


# ------------------------------------------------------------- γ = 0
def test_gamma_zero_is_one_step_greedy():
    mdp, _, R = gridworld_5x5()
    for solver in SOLVERS:
        result = solver(mdp, 0.0)
        np.testing.assert_allclose(result.V, R.max(axis=1), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(result.policy, np.argmax(R, axis=1))
    policy = np.arange(25) % 4
    np.testing.assert_allclose(policy_evaluation(mdp, policy, 0.0), R[np.arange(25), policy])


# --------------------------------------------------------- PlanningResult
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_planning_result_contents(solver):
    mdp, _, _ = gridworld_5x5()
    result = solver(mdp, 0.9)
    assert isinstance(result, PlanningResult)
    assert result.V.shape == (25,) and result.V.dtype == np.float64
    assert result.Q.shape == (25, 4) and result.Q.dtype == np.float64
    assert result.policy.shape == (25,) and np.issubdtype(result.policy.dtype, np.integer)
    assert result.residuals.dtype == np.float64
    assert len(result.residuals) == result.iterations
    assert result.gamma == 0.9
    assert result.wall_time >= 0.0
    # Q is the action-value function of V, and the policy is greedy in Q
    np.testing.assert_allclose(result.Q, q_from_v(mdp, result.V, 0.9), rtol=0, atol=1e-10)
    chosen = result.Q[np.arange(25), result.policy]
    assert np.all(chosen >= result.Q.max(axis=1) - 1e-9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.V = np.zeros(25)
    with pytest.raises(ValueError, match="read-only"):
        result.V[0] = 1.0


# ---------------------------------------------------- no mutation, float64
def read_only(array) -> np.ndarray:
    array = np.array(array)
    array.setflags(write=False)
    return array


def test_inputs_are_not_mutated():
    mdp, _, _ = gridworld_5x5()
    arrays_before = {name: getattr(mdp, name).copy() for name in ("prob", "reward", "next_state")}
    policy = read_only(np.arange(25) % 4)
    stochastic = read_only(np.full((25, 4), 0.25))
    V0 = read_only(np.linspace(0.0, 1.0, 25))
    for method in ("exact", "iterative"):
        policy_evaluation(mdp, policy, 0.9, method=method)
        policy_evaluation(mdp, stochastic, 0.9, method=method)
    value_iteration(mdp, 0.9, V0=V0)
    policy_iteration(mdp, 0.9, policy0=policy)
    modified_policy_iteration(mdp, 0.9)
    np.testing.assert_array_equal(policy, np.arange(25) % 4)
    np.testing.assert_array_equal(stochastic, 0.25)
    np.testing.assert_array_equal(V0, np.linspace(0.0, 1.0, 25))
    for name, before in arrays_before.items():
        np.testing.assert_array_equal(getattr(mdp, name), before)


def test_outputs_are_float64_for_float32_inputs():
    _, T, R = gridworld_5x5()
    mdp32 = TabularMDP.from_arrays(T.astype(np.float32), R.astype(np.float32))
    V = policy_evaluation(mdp32, np.full((25, 4), 0.25, dtype=np.float32), 0.9)
    assert V.dtype == np.float64
    np.testing.assert_allclose(V.reshape(5, 5), FIGURE_3_2_V_RANDOM, atol=PRINTED_ATOL)
    result = value_iteration(mdp32, 0.9, V0=np.zeros(25, dtype=np.float32))
    assert result.V.dtype == np.float64 and result.Q.dtype == np.float64


# ----------------------------------------------------------- argument errors
def _mdp():
    return gridworld_5x5()[0]


ALL_CALLS = {
    "policy_evaluation": lambda mdp, **kw: policy_evaluation(mdp, np.zeros(25, dtype=int), **kw),
    "value_iteration": value_iteration,
    "policy_iteration": policy_iteration,
    "modified_policy_iteration": modified_policy_iteration,
}


@pytest.mark.parametrize("gamma", [-0.1, -1e-12, 1.0 + 1e-9, 2.0, math.nan, math.inf])
@pytest.mark.parametrize("name", ALL_CALLS)
def test_gamma_outside_the_unit_interval(name, gamma):
    with pytest.raises(ValueError, match="gamma"):
        ALL_CALLS[name](_mdp(), gamma=gamma)


@pytest.mark.parametrize("tol", [0.0, -1e-3, math.nan])
@pytest.mark.parametrize(
    "name", ["policy_evaluation", "value_iteration", "modified_policy_iteration"]
)
def test_tol_must_be_positive(name, tol):
    kwargs = {"method": "iterative"} if name == "policy_evaluation" else {}
    with pytest.raises(ValueError, match="tol"):
        ALL_CALLS[name](_mdp(), gamma=0.9, tol=tol, **kwargs)


@pytest.mark.parametrize("max_iterations", [0, -1])
@pytest.mark.parametrize("name", ALL_CALLS)
def test_max_iterations_must_be_at_least_one(name, max_iterations):
    with pytest.raises(ValueError, match="max_iterations"):
        ALL_CALLS[name](_mdp(), gamma=0.9, max_iterations=max_iterations)


def test_unknown_evaluation_method():
    with pytest.raises(ValueError, match="method"):
        policy_evaluation(_mdp(), np.zeros(25, dtype=int), 0.9, method="magic")


@pytest.mark.parametrize(
    "shape", [(24,), (26,), (25, 3), (25, 5), (4, 25), (25, 4, 1), ()], ids=str
)
def test_policy_of_the_wrong_shape(shape):
    policy = np.zeros(shape) if len(shape) >= 2 else np.zeros(shape, dtype=int)
    with pytest.raises(ValueError, match=r"policy") as excinfo:
        policy_evaluation(_mdp(), policy, 0.9)
    assert_message(excinfo, r"shape|\(25,\)")


@pytest.mark.parametrize(("state", "action"), [(2, 4), (1, -1), (24, 100)])
def test_deterministic_policy_with_an_action_out_of_range(state, action):
    policy = np.zeros(25, dtype=int)
    policy[state] = action
    with pytest.raises(ValueError, match=rf"state {state}\b") as excinfo:
        policy_evaluation(_mdp(), policy, 0.9)
    assert_message(excinfo, r"action", re.escape(str(action)))
    with pytest.raises(ValueError, match=rf"state {state}\b"):
        policy_iteration(_mdp(), 0.9, policy0=policy)


def test_deterministic_policy_with_a_fractional_action():
    policy = np.zeros(25)
    policy[7] = 0.5
    with pytest.raises(ValueError, match=r"state 7\b"):
        policy_evaluation(_mdp(), policy, 0.9)


@pytest.mark.parametrize(
    ("state", "row", "patterns"),
    [
        (3, [0.25, 0.25, 0.0, 0.0], [r"sum"]),
        (2, [0.5, -0.5, 0.5, 0.5], [r"action 1\b", r"-0\.5"]),
        (0, [math.nan, 0.5, 0.25, 0.25], [r"nan"]),
        (9, [0.0, 0.0, 0.0, 0.0], [r"sum"]),
    ],
    ids=["sums-to-half", "negative", "nan", "all-zero"],
)
def test_stochastic_policy_rows_must_be_distributions(state, row, patterns):
    pi = np.full((25, 4), 0.25)
    pi[state] = row
    for method in ("exact", "iterative"):
        with pytest.raises(ValueError, match=rf"state {state}\b") as excinfo:
            policy_evaluation(_mdp(), pi, 0.9, method=method)
        assert_message(excinfo, *patterns)


def test_policy_iteration_needs_a_deterministic_policy0():
    with pytest.raises(ValueError, match="policy0"):
        policy_iteration(_mdp(), 0.9, policy0=np.full((25, 4), 0.25))


@pytest.mark.parametrize("solver", [value_iteration, modified_policy_iteration])
def test_V0_must_be_a_finite_value_per_state(solver):
    with pytest.raises(ValueError, match=r"V0") as excinfo:
        solver(_mdp(), 0.9, V0=np.zeros(24))
    assert_message(excinfo, r"\(25,\)")
    V0 = np.zeros(25)
    V0[6] = math.nan
    with pytest.raises(ValueError, match=r"V0") as excinfo:
        solver(_mdp(), 0.9, V0=V0)
    assert_message(excinfo, r"state 6\b")


POLICY_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.int64, np.int8, np.uint8, np.float64, np.float32, np.bool_]),
    shape=st.sampled_from([(4,), (4, 2), (), (0,), (3,), (5,), (4, 3), (2, 4), (4, 2, 1), (4, 0)]),
)


@given(POLICY_ARRAYS, st.sampled_from([0.5, 1.0]), st.sampled_from(["exact", "iterative"]))
def test_any_policy_array_gives_a_value_or_a_value_error(policy, gamma, method):
    """No policy input crashes with an unrelated exception (IndexError, LinAlgError, ...)."""
    mdp = stay_or_advance(4)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            V = policy_evaluation(mdp, policy, gamma, method=method, max_iterations=200)
    except (ValueError, TypeError) as error:
        assert not isinstance(error, np.linalg.LinAlgError), error
        return
    assert V.shape == (4,)
    assert V.dtype == np.float64
    assert np.all(np.isfinite(V))


# ------------------------------------------------- values that must be exact
@pytest.mark.parametrize("solver", [value_iteration, modified_policy_iteration])
def test_terminal_states_keep_value_zero_under_the_span_correction(solver):
    # from_arrays documents V(terminal) = 0 (Sutton & Barto's convention). The
    # span rule's midpoint shifts V by a constant; a state whose every action
    # ends the episode at once must not be shifted.
    mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [0.0]], terminal_states=[1])
    result = solver(mdp, 0.5, tol=1e-6)
    assert result.V[1] == 0.0
    assert abs(result.V[0] - 2.0) < 1e-6 / 2  # V(0) = 1 / (1 − 0.5)


def test_policy_iteration_refuses_gamma_one_when_never_ending_pays():
    # Waiting (action 0) loops forever with reward 0; walking right (action 1)
    # costs 1 a step until the episode ends past state 4. Never ending is
    # worth 0 > −(5 − s), which no terminating policy reaches: the task is
    # not episodic, and policy iteration, which keeps to terminating
    # policies, must say so rather than return −5..−1 as optimal.
    P = {s: {0: [(1.0, s, 0.0, False)], 1: [(1.0, min(s + 1, 4), -1.0, s == 4)]} for s in range(5)}
    mdp = TabularMDP.from_transitions(P)
    with pytest.raises(NonTerminatingPolicyError, match=r"5 state\(s\): 0, 1, 2, 3, 4") as error:
        policy_iteration(mdp, 1.0)
    np.testing.assert_array_equal(error.value.states, np.arange(5))
    np.testing.assert_array_equal(value_iteration(mdp, 1.0).V, np.zeros(5))
