"""Occupancy measures against Monte Carlo rollouts, the dual LP and dense algebra.

Monte Carlo tolerance: every entry within 5 standard errors of the sample
mean plus 5/N (the resolution of N episodes, for entries no episode
visited). Sampling is seeded, so each run draws the same episodes; 5 standard
errors over a few hundred entries leave a false alarm rate below 1e-3.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from rl_planners.analysis.occupancy import occupancy, occupancy_per_step
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from tests.independent import dense_model, dense_optimal_values, dense_policy_value
from tests.strategies import deterministic_policies, random_mdps, stochastic_policies

N_EPISODES = 20_000
STANDARD_ERRORS = 5.0


# ------------------------------------------------------------- Monte Carlo
def sample_episodes(mdp: TabularMDP, pi: np.ndarray, max_steps: int, seed: int):
    """Yield ``(t, episodes, pairs)`` for every step of N seeded episodes run in parallel.

    ``pairs`` are the flat indices ``s*A + a`` of the episodes still running
    at step ``t``. Sampled from the model's outcome arrays with
    ``numpy.random.Generator``: an initial state from ``μ0``, an action from
    ``π(·|s)``, an outcome of row ``s*A + a`` by its probability.
    """
    rng = np.random.default_rng(seed)
    n_actions = mdp.n_actions
    cumulative = np.concatenate([[0.0], np.cumsum(mdp.prob)])
    policy_cdf = np.cumsum(pi, axis=1)
    initial_cdf = np.cumsum(mdp.initial_distribution)
    states = np.minimum(
        np.searchsorted(initial_cdf, rng.random(N_EPISODES), side="right"), mdp.n_states - 1
    )
    episodes = np.arange(N_EPISODES)
    for t in range(max_steps):
        if episodes.size == 0:
            return
        u = rng.random(episodes.size)
        actions = np.minimum((u[:, None] >= policy_cdf[states]).sum(axis=1), n_actions - 1)
        rows = states * n_actions + actions
        yield t, episodes, rows
        lo, hi = mdp.row_offsets[rows], mdp.row_offsets[rows + 1]
        target = cumulative[lo] + rng.random(episodes.size) * (cumulative[hi] - cumulative[lo])
        outcome = np.clip(np.searchsorted(cumulative, target, side="right") - 1, lo, hi - 1)
        running = ~mdp.terminated[outcome]
        episodes, states = episodes[running], mdp.next_state[outcome][running]


def monte_carlo_measure(mdp, pi, weights):
    """Mean and standard error ``[S, A]`` of ``Σ_t weights[t] 1{(s_t, a_t) = (s, a)}``."""
    totals = np.zeros((N_EPISODES, mdp.n_states * mdp.n_actions))
    for t, episodes, rows in sample_episodes(mdp, pi, len(weights), seed=12345):
        np.add.at(totals, (episodes, rows), weights[t])
    mean = totals.mean(axis=0)
    standard_error = totals.std(axis=0, ddof=1) / np.sqrt(N_EPISODES)
    shape = (mdp.n_states, mdp.n_actions)
    return mean.reshape(shape), standard_error.reshape(shape)


def assert_within_monte_carlo(exact, mean, standard_error):
    tolerance = STANDARD_ERRORS * standard_error + 5.0 / N_EPISODES
    worst = np.max(np.abs(exact - mean) - tolerance)
    assert worst <= 0.0, f"exact {exact} vs Monte Carlo {mean} ± {standard_error}"


def random_model(seed: int, n_states=5, n_actions=3, n_outcomes=3) -> TabularMDP:
    """A fixed random model with terminating outcomes and repeated next states."""
    rng = np.random.default_rng(seed)
    shape = (n_states, n_actions, n_outcomes)
    next_state = rng.integers(0, n_states, size=shape)
    next_state[..., 1] = next_state[..., 0]  # a repeated next state in every row
    prob = rng.dirichlet(np.ones(n_outcomes), size=shape[:2])
    reward = rng.normal(size=shape)
    terminated = rng.random(shape) < 0.25
    initial = rng.dirichlet(np.ones(n_states))
    return TabularMDP.from_outcomes(next_state, prob, reward, terminated, initial)


def random_stochastic_policy(mdp, seed):
    return np.random.default_rng(seed).dirichlet(np.ones(mdp.n_actions), size=mdp.n_states)


@pytest.fixture(scope="module")
def frozen_lake() -> TabularMDP:
    return TabularMDP.from_env(gym.make("FrozenLake-v1"))


def test_discounted_occupancy_matches_monte_carlo(frozen_lake):
    pi = random_stochastic_policy(frozen_lake, seed=1)
    gamma = 0.9
    exact = occupancy(frozen_lake, pi, gamma, normalize=False)
    weights = (1.0 - gamma) * gamma ** np.arange(250)  # γ^250 < 1e-11: truncation negligible
    mean, standard_error = monte_carlo_measure(frozen_lake, pi, weights)
    assert_within_monte_carlo(exact, mean, standard_error)


def test_visit_counts_at_gamma_1_match_monte_carlo(frozen_lake):
    pi = np.full((frozen_lake.n_states, frozen_lake.n_actions), 0.25)
    exact = occupancy(frozen_lake, pi, 1.0, normalize=False)
    mean, standard_error = monte_carlo_measure(frozen_lake, pi, np.ones(2_000))
    assert_within_monte_carlo(exact, mean, standard_error)
    # normalised: visits per step of the episode, summing to 1
    normalised = occupancy(frozen_lake, pi, 1.0)
    assert normalised.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(normalised * mean.sum(), mean, atol=0.02)


def test_per_step_visitation_matches_monte_carlo():
    mdp = random_model(seed=7)
    pi = random_stochastic_policy(mdp, seed=8)
    horizon = 6
    exact = occupancy_per_step(mdp, pi, horizon)
    assert exact.shape == (horizon, mdp.n_states, mdp.n_actions)
    counts = np.zeros((horizon, mdp.n_states * mdp.n_actions))
    for t, _, rows in sample_episodes(mdp, pi, horizon, seed=99):
        counts[t] = np.bincount(rows, minlength=counts.shape[1])
    frequency = counts.reshape(exact.shape) / N_EPISODES
    standard_error = np.sqrt(frequency * (1.0 - frequency) / N_EPISODES)
    assert_within_monte_carlo(exact, frequency, standard_error)


def test_discounted_occupancy_on_a_terminating_model_matches_monte_carlo():
    mdp = random_model(seed=3)
    policy = np.array([0, 2, 1, 1, 0])
    gamma = 0.8
    exact = occupancy(mdp, policy, gamma, normalize=False)
    pi = np.eye(mdp.n_actions)[policy]
    weights = (1.0 - gamma) * gamma ** np.arange(150)
    mean, standard_error = monte_carlo_measure(mdp, pi, weights)
    assert_within_monte_carlo(exact, mean, standard_error)
    assert exact.sum() < 1.0 - 1e-3  # terminations take mass away
    np.testing.assert_allclose(occupancy(mdp, policy, gamma), exact / exact.sum(), rtol=1e-12)


# ------------------------------------------------------- dense identities
@settings(max_examples=40, deadline=None)
@given(st.data(), st.sampled_from([0.0, 0.5, 0.9, 0.99]))
def test_value_identity_and_flow_constraints(data, gamma):
    model = data.draw(random_mdps())
    mdp = model.from_transitions()
    T, R = dense_model(model.P)
    policy = data.draw(
        st.one_of(
            deterministic_policies(model.n_states, model.n_actions),
            stochastic_policies(model.n_states, model.n_actions),
        )
    )
    d = occupancy(mdp, policy, gamma, normalize=False)
    mu0 = np.full(model.n_states, 1.0 / model.n_states)
    V_pi = dense_policy_value(T, R, policy, gamma)
    # μ0 · V^π = Σ d R / (1 − γ)   (Puterman 1994, §6.9)
    assert mu0 @ V_pi == pytest.approx((d * R).sum() / (1.0 - gamma), rel=1e-9, abs=1e-9)
    # dual-LP flow: Σ_a d(s',a) − γ Σ_{s,a} T(s,a,s') d(s,a) = (1−γ) μ0(s')
    flow = d.sum(axis=1) - gamma * np.einsum("sa,sat->t", d, T)
    np.testing.assert_allclose(flow, (1.0 - gamma) * mu0, atol=1e-12)
    assert np.all(d >= 0.0)
    normalised = occupancy(mdp, policy, gamma)
    assert normalised.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(normalised, d / d.sum(), rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_visit_counts_of_episodic_models(data):
    model = data.draw(random_mdps(episodic=True))
    mdp = model.from_outcomes()
    T, R = dense_model(model.P)
    policy = data.draw(stochastic_policies(model.n_states, model.n_actions))
    counts = occupancy(mdp, policy, 1.0, normalize=False)
    mu0 = np.full(model.n_states, 1.0 / model.n_states)
    T_pi = np.einsum("sa,sat->st", policy, T)
    fundamental = np.linalg.inv(np.eye(model.n_states) - T_pi)  # Kemeny & Snell, §3.2
    np.testing.assert_allclose(counts, (mu0 @ fundamental)[:, None] * policy, atol=1e-9)
    V_pi = dense_policy_value(T, R, policy, 1.0)
    assert mu0 @ V_pi == pytest.approx((counts * R).sum(), rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.data(), st.integers(1, 12), st.sampled_from([1.0, 0.9]))
def test_finite_horizon_sums_and_value(data, horizon, gamma):
    model = data.draw(random_mdps())
    mdp = model.from_transitions()
    T, R = dense_model(model.P)
    policy = data.draw(deterministic_policies(model.n_states, model.n_actions))
    per_step = occupancy_per_step(mdp, policy, horizon)
    mu0 = np.full(model.n_states, 1.0 / model.n_states)
    T_pi = T[np.arange(model.n_states), policy]  # [S, S]
    still_running = [
        mu0 @ np.linalg.matrix_power(T_pi, t) @ np.ones(model.n_states) for t in range(horizon)
    ]
    np.testing.assert_allclose(per_step.sum(axis=(1, 2)), still_running, atol=1e-12)
    visits = occupancy(mdp, policy, gamma, horizon, normalize=False)
    V = np.zeros(model.n_states)  # dense H-step value: V_t = R_π + γ T_π V_{t+1}
    for _ in range(horizon):
        V = R[np.arange(model.n_states), policy] + gamma * T_pi @ V
    assert mu0 @ V == pytest.approx((visits * R).sum(), rel=1e-9, abs=1e-9)
    assert occupancy(mdp, policy, gamma, horizon).sum() == pytest.approx(1.0, abs=1e-12)


def test_long_horizon_approaches_the_discounted_measure():
    mdp = random_model(seed=11)
    policy = random_stochastic_policy(mdp, seed=12)
    gamma = 0.9
    within = occupancy(mdp, policy, gamma, horizon=400, normalize=False) * (1.0 - gamma)
    np.testing.assert_allclose(within, occupancy(mdp, policy, gamma, normalize=False), atol=1e-14)


# ---------------------------------------------------------------- dual LP
@settings(max_examples=30, deadline=None)
@given(random_mdps(max_states=6, max_actions=3), st.sampled_from([0.5, 0.9]))
def test_dual_lp_optimum_is_an_occupancy_measure(model, gamma):
    """max Σ x R s.t. Σ_a x(s',a) − γ Σ T(s,a,s') x(s,a) = (1−γ) μ0(s'), x ≥ 0."""
    mdp = model.from_transitions()
    T, R = dense_model(model.P)
    n_states, n_actions = model.n_states, model.n_actions
    mu0 = np.full(n_states, 1.0 / n_states)
    E = np.repeat(np.eye(n_states), n_actions, axis=0)  # [S*A, S]: row s*A+a -> s
    A_eq = (E - gamma * T.reshape(n_states * n_actions, n_states)).T
    solution = linprog(
        -R.reshape(-1),
        A_eq=sp.csr_matrix(A_eq),
        b_eq=(1.0 - gamma) * mu0,
        bounds=(0, None),
        method="highs",
    )
    assert solution.status == 0
    x = solution.x.reshape(n_states, n_actions)
    V_star = dense_optimal_values(T, R, gamma)
    assert (x * R).sum() / (1.0 - gamma) == pytest.approx(mu0 @ V_star, rel=1e-7, abs=1e-7)
    # x is the occupancy of π_x(a|s) = x(s,a) / Σ_a x(s,a) (μ0 > 0, so each sum > 0)
    pi_x = x / x.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(occupancy(mdp, pi_x, gamma, normalize=False), x, atol=1e-8)
    # and an optimal policy's occupancy attains the LP optimum
    optimal = np.argmax(R + gamma * T @ V_star, axis=1)
    d = occupancy(mdp, optimal, gamma, normalize=False)
    assert (d * R).sum() == pytest.approx(-solution.fun, rel=1e-7, abs=1e-7)


# ------------------------------------------------------ γ = 1, improper policies
def looping_model(initial_distribution) -> TabularMDP:
    """State 0: action 0 ends the episode, action 1 moves to 1. State 1 loops forever.

    State 2 moves to 0 under every action.
    """
    P = {
        0: {0: [(1.0, 0, 1.0, True)], 1: [(1.0, 1, 0.0, False)]},
        1: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 1, 0.0, False)]},
        2: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 0, 0.0, False)]},
    }
    return TabularMDP.from_transitions(P, initial_distribution)


def test_nonterminating_policy_names_the_states():
    mdp = looping_model([0.0, 0.0, 1.0])
    # 2 -> 0 -> 1, then 1 forever: no state on the way can end the episode
    with pytest.raises(NonTerminatingPolicyError, match=r"never terminates: 0, 1, 2;") as info:
        occupancy(mdp, np.array([1, 0, 0]), gamma=1.0)
    np.testing.assert_array_equal(info.value.states, [0, 1, 2])
    # from 0 a coin flip ends or moves to 1: only 1 never terminates
    half = np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(NonTerminatingPolicyError, match=r"never terminates: 1;") as info:
        occupancy(mdp, half, gamma=1.0)
    np.testing.assert_array_equal(info.value.states, [1])


def test_a_looping_state_the_policy_never_reaches_is_allowed():
    mdp = looping_model([0.0, 0.0, 1.0])
    counts = occupancy(mdp, np.array([0, 0, 1]), gamma=1.0, normalize=False)
    # 2 -> 0 -> end: one visit each, none of the looping state 1
    np.testing.assert_array_equal(counts, [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])


# ----------------------------------------------------------------- errors
def test_gamma_or_horizon_is_required(frozen_lake):
    with pytest.raises(ValueError, match=r"needs gamma .* or horizon"):
        occupancy(frozen_lake, np.zeros(16, dtype=int))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"gamma": 1.5}, ValueError, r"gamma must lie in \[0, 1\], got 1.5"),
        ({"gamma": "0.9"}, TypeError, "gamma must be a real number"),
        ({"horizon": 0}, ValueError, r"horizon must be >= 1 .*got 0"),
        ({"horizon": 2.5}, TypeError, "horizon must be an int"),
        ({"gamma": 0.9, "normalize": 1}, TypeError, "normalize must be True or False"),
    ],
)
def test_bad_arguments(frozen_lake, kwargs, error, match):
    with pytest.raises(error, match=match):
        occupancy(frozen_lake, np.zeros(16, dtype=int), **kwargs)


def test_bad_policy_names_the_state(frozen_lake):
    policy = np.zeros(16, dtype=int)
    policy[5] = 4
    with pytest.raises(ValueError, match=r"actions must lie in 0..3; got 4 at state 5"):
        occupancy(frozen_lake, policy, 0.9)
    pi = np.full((16, 4), 0.25)
    pi[3] = [0.5, 0.5, 0.5, 0.0]
    with pytest.raises(ValueError, match=r"must sum to 1; it sums to 1\.5 at state 3"):
        occupancy_per_step(frozen_lake, pi, 3)


def test_negative_horizon_per_step(frozen_lake):
    with pytest.raises(ValueError, match=r"horizon must be >= 0 .*got -1"):
        occupancy_per_step(frozen_lake, np.zeros(16, dtype=int), -1)
    assert occupancy_per_step(frozen_lake, np.zeros(16, dtype=int), 0).shape == (0, 16, 4)
