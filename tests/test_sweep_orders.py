"""The policy's gathered rows, symmetric Gauss–Seidel and modified policy iteration on them.

Every check is against the independent dense reference of ``independent.py``
(NumPy on arrays accumulated from the outcome dict, no rl_planners code), on
random models drawn by ``strategies.py`` (terminating outcomes, repeated next
states, rewards of both signs) and at γ = 1 on episodic ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from independent import (
    dense_model,
    dense_optimal_values,
    dense_policy_model,
    dense_policy_value,
    dense_q_values,
)
from strategies import DISCOUNTS, RandomMDP, deterministic_policies, random_mdps
from test_kernels import garnet_like

from rl_planners import (
    ConvergenceWarning,
    TabularMDP,
    modified_policy_iteration,
    q_from_v,
    value_iteration,
)
from rl_planners.bellman import kernels, operators, policy_rows

pytest.importorskip("numba")

TOLERANCES = st.sampled_from([1.0, 1e-3, 1e-6, 1e-8])
FORMULATIONS = st.sampled_from(["from_transitions", "from_outcomes"])  # any, fixed row width


def slack(V: np.ndarray) -> float:
    return 1e-10 * max(1.0, float(np.abs(V).max()))


def build(model: RandomMDP, formulation: str):
    return getattr(model, formulation)()


# ------------------------------------------------------------ gathered rows
@given(random_mdps(), st.sampled_from(DISCOUNTS), FORMULATIONS, st.data())
def test_policy_rows_match_the_dense_policy_model(model: RandomMDP, gamma, formulation, data):
    mdp = build(model, formulation)
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    x = data.draw(st.integers(0, 2**32 - 1).map(np.random.default_rng)).normal(size=mdp.n_states)
    T, R = dense_model(model.P)
    T_pi, R_pi = dense_policy_model(T, R, policy)
    for backend in ("numpy", "compiled"):
        operator = operators(mdp, backend).policy(policy)
        np.testing.assert_allclose(operator.R_pi, R_pi, rtol=0, atol=slack(R_pi))
        expected = R_pi + gamma * T_pi @ x
        np.testing.assert_allclose(operator.apply(x, gamma), expected, atol=slack(expected))
        expected = x - gamma * T_pi @ x
        np.testing.assert_allclose(operator.system_product(x, gamma), expected, atol=slack(x))


def test_gathered_rows_are_contiguous_and_one_action_wide():
    rng = np.random.default_rng(0)
    shape = (50, 4, 3)
    prob = rng.random(shape)
    prob /= prob.sum(axis=2, keepdims=True)
    mdp = TabularMDP.from_outcomes(
        rng.integers(0, 50, shape), prob, rng.normal(size=shape), rng.random(shape) < 0.2
    )
    model = kernels.prepare(mdp)
    policy = rng.integers(0, 4, 50)
    rows = policy_rows.gather_policy_rows(model, policy)
    assert rows.n_actions == 1 and rows.next_state.size == 50 * 3  # 1/A of the outcomes
    assert rows.next_state.flags.c_contiguous and rows.prob.flags.c_contiguous
    chosen = np.arange(50) * 4 + policy
    outcome = (chosen[:, None] * 3 + np.arange(3)).reshape(-1)
    np.testing.assert_array_equal(rows.next_state, mdp.next_state[outcome])
    np.testing.assert_array_equal(rows.prob, np.where(mdp.terminated, 0.0, mdp.prob)[outcome])


# ------------------------------------------------------------- Gauss–Seidel
def test_reverse_sweep_updates_from_the_last_state_down():
    mdp = garnet_like(2)
    gamma = 0.9
    V = np.random.default_rng(3).normal(size=mdp.n_states)
    expected = V.copy()
    for s in reversed(range(mdp.n_states)):  # the definition, one state at a time
        expected[s] = q_from_v(mdp, expected, gamma)[s].max()
    swept = V.copy()
    stats = kernels.gauss_seidel_sweep(kernels.prepare(mdp), swept, gamma, reverse=True)
    np.testing.assert_allclose(swept, expected, rtol=0, atol=slack(expected))
    assert stats.high == pytest.approx((swept - V).max(), abs=1e-12)


@given(random_mdps(), st.sampled_from(DISCOUNTS), TOLERANCES, st.sampled_from(["span", "sup"]))
def test_gauss_seidel_meets_the_value_iteration_guarantee(model: RandomMDP, gamma, tol, stopping):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, gamma)
    result = value_iteration(
        model.from_transitions(), gamma, tol=tol, method="gauss-seidel", stopping=stopping
    )
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


@given(random_mdps(episodic=True))
def test_gauss_seidel_at_gamma_one(model: RandomMDP):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = value_iteration(model.from_transitions(), 1.0, method="gauss-seidel")
    atol = 1e-6 * max(1.0, np.abs(V_star).max())  # as for Jacobi sweeps
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=atol)


def test_gauss_seidel_default_start_is_a_lower_bound_and_V0_wins():
    mdp = garnet_like(4)
    gamma = 0.9
    with pytest.warns(ConvergenceWarning):
        capped = value_iteration(mdp, gamma, method="gauss-seidel", max_iterations=1)
    # one in-place sweep from min(0, min R)/(1−γ) stays below V* ...
    optimum = value_iteration(mdp, gamma, tol=1e-10)
    assert np.all(capped.V <= optimum.V + 1e-9)
    # ... and a given V0 is where the sweeps start
    V0 = np.full(mdp.n_states, 5.0)
    with pytest.warns(ConvergenceWarning):
        from_V0 = value_iteration(mdp, gamma, method="gauss-seidel", V0=V0, max_iterations=1)
    assert not np.allclose(from_V0.V, capped.V)


# ---------------------------------------------- modified PI on gathered rows
@given(random_mdps(), st.sampled_from(DISCOUNTS), TOLERANCES, FORMULATIONS)
def test_compiled_modified_policy_iteration_meets_its_guarantee(
    model: RandomMDP, gamma, tol, formulation
):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, gamma)
    result = modified_policy_iteration(
        build(model, formulation), gamma, tol=tol, backend="compiled"
    )
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))
    assert result.policy_products > 0 or result.iterations == 1


@given(random_mdps(episodic=True), FORMULATIONS)
def test_compiled_modified_policy_iteration_at_gamma_one(model: RandomMDP, formulation):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, 1.0)
    result = modified_policy_iteration(build(model, formulation), 1.0, backend="compiled")
    atol = 1e-6 * max(1.0, np.abs(V_star).max())
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=atol)
    Q = dense_q_values(T, R, result.V, 1.0)
    assert np.abs(Q.max(axis=1) - result.V).max() < atol


# ------------------------------------- sweeps that record the greedy policy
@pytest.mark.parametrize("reverse", [False, True])
def test_gauss_seidel_sweep_records_each_states_maximising_action(reverse):
    mdp = garnet_like(6)
    gamma = 0.9
    V = np.random.default_rng(7).normal(size=mdp.n_states)
    expected, actions = V.copy(), np.empty(mdp.n_states, dtype=np.int64)
    order = reversed(range(mdp.n_states)) if reverse else range(mdp.n_states)
    for s in order:  # the definition: each state backed up from the values so far
        q = q_from_v(mdp, expected, gamma)[s]
        expected[s], actions[s] = q.max(), int(np.argmax(q))
    swept, recorded = V.copy(), np.full(mdp.n_states, -1, dtype=np.int64)
    kernels.gauss_seidel_sweep(kernels.prepare(mdp), swept, gamma, reverse=reverse, policy=recorded)
    np.testing.assert_allclose(swept, expected, rtol=0, atol=slack(expected))
    np.testing.assert_array_equal(recorded, actions)


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.sampled_from(["numpy", "compiled"]))
def test_backup_records_the_first_maximising_action(model: RandomMDP, gamma, backend):
    mdp = model.from_transitions()
    V = np.random.default_rng(model.n_states).normal(size=mdp.n_states)
    T, R = dense_model(model.P)
    Q = dense_q_values(T, R, V, gamma)
    out, recorded = np.empty(mdp.n_states), np.full(mdp.n_states, -1, dtype=np.int64)
    operators(mdp, backend).backup(V, gamma, out, policy=recorded)
    np.testing.assert_allclose(out, Q.max(axis=1), rtol=0, atol=slack(Q))
    # argmax of the independent Q, except where two actions tie within rounding
    top_two = np.sort(Q, axis=1)[:, -2:] if mdp.n_actions > 1 else None
    clear = np.ones(mdp.n_states, bool) if top_two is None else top_two[:, 1] - top_two[:, 0] > 1e-9
    np.testing.assert_array_equal(recorded[clear], np.argmax(Q, axis=1)[clear])


# --------------------------------------- policy evaluation by Gauss–Seidel
@given(random_mdps(), st.sampled_from(DISCOUNTS), FORMULATIONS, st.data())
def test_policy_gauss_seidel_sweep_matches_the_definition(
    model: RandomMDP, gamma, formulation, data
):
    mdp = build(model, formulation)
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    reverse = data.draw(st.booleans())
    T, R = dense_model(model.P)
    T_pi, R_pi = dense_policy_model(T, R, policy)
    V = np.random.default_rng(mdp.n_states).normal(size=mdp.n_states)
    expected = V.copy()
    for s in reversed(range(mdp.n_states)) if reverse else range(mdp.n_states):
        expected[s] = R_pi[s] + gamma * T_pi[s] @ expected
    swept = V.copy()
    operators(mdp, "compiled").policy(policy).gauss_seidel(swept, gamma, reverse=reverse)
    np.testing.assert_allclose(swept, expected, rtol=0, atol=slack(expected))


def test_rows_regathered_into_old_memory_equal_fresh_ones():
    mdp = TabularMDP.from_outcomes(*_fixed_width_arrays(8))
    ops = operators(mdp, "compiled")
    rng = np.random.default_rng(8)
    policy = rng.integers(0, mdp.n_actions, mdp.n_states)
    reused = ops.policy(policy)
    memory = reused.rows.next_state
    # a new policy everywhere, then ones that change a few states (only their
    # rows are copied again), in a chain: no row may keep an older policy's
    for changed in (mdp.n_states, 3, 1, 3):
        policy = policy.copy()
        states = rng.choice(mdp.n_states, size=changed, replace=False)
        policy[states] = (policy[states] + rng.integers(1, mdp.n_actions, changed)) % mdp.n_actions
        reused = ops.policy(policy, previous=reused)
        fresh = operators(mdp, "compiled").policy(policy)
        assert reused.rows.next_state is memory  # no new memory for a fixed row width
        for name in ("row_offsets", "next_state", "prob", "R"):
            np.testing.assert_array_equal(getattr(reused.rows, name), getattr(fresh.rows, name))
    assert ops.policy(policy.copy(), previous=reused) is reused  # same policy, same rows


def _fixed_width_arrays(seed: int, n_states: int = 30, n_actions: int = 3, width: int = 3):
    rng = np.random.default_rng(seed)
    shape = (n_states, n_actions, width)
    prob = rng.random(shape) + 0.1
    prob /= prob.sum(axis=2, keepdims=True)
    terminated = rng.random(shape) < 0.1
    return rng.integers(0, n_states, shape), prob, rng.normal(size=shape), terminated


# ------------------------------------- modified PI with Gauss–Seidel sweeps
@given(
    random_mdps(),
    st.sampled_from(DISCOUNTS),
    TOLERANCES,
    FORMULATIONS,
    st.sampled_from([0, 1, 5, 20]),
    st.sampled_from(["span", "sup"]),
)
def test_gauss_seidel_modified_policy_iteration_meets_its_guarantee(
    model: RandomMDP, gamma, tol, formulation, m, stopping
):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, gamma)
    result = modified_policy_iteration(
        build(model, formulation), gamma, m=m, tol=tol, stopping=stopping, method="gauss-seidel"
    )
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


@given(random_mdps(episodic=True), FORMULATIONS)
def test_gauss_seidel_modified_policy_iteration_at_gamma_one(model: RandomMDP, formulation):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = modified_policy_iteration(build(model, formulation), 1.0, method="gauss-seidel")
    atol = 1e-6 * max(1.0, np.abs(V_star).max())  # as for Jacobi sweeps
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=atol)


def test_gauss_seidel_modified_policy_iteration_counts_its_sweeps():
    mdp = garnet_like(9)
    result = modified_policy_iteration(mdp, 0.9, m=7, tol=1e-8, method="gauss-seidel")
    # every iteration but the certifying one(s) is one greedy sweep and m policy sweeps
    assert result.backups == result.iterations
    assert result.policy_products % 7 == 0
    assert 0 < result.policy_products <= 7 * (result.iterations - 1)


def test_gauss_seidel_modified_policy_iteration_needs_the_kernels():
    with pytest.raises(ValueError, match=r"gauss-seidel.*compiled"):
        modified_policy_iteration(garnet_like(0), 0.9, method="gauss-seidel", backend="numpy")
    with pytest.raises(ValueError, match="method must be 'jacobi' or 'gauss-seidel'"):
        modified_policy_iteration(garnet_like(0), 0.9, method="sor")


# ------------------------------------------------ the evaluation's forcing term
def test_evaluation_sweeps_stop_once_they_change_little():
    # A model that never terminates and mixes fast: a Jacobi evaluation sweep
    # shrinks the span of its change by a factor well below 1, so with m = 500
    # the forcing term (1/100 of the improvement's span) ends each evaluation
    # long before m sweeps.
    rng = np.random.default_rng(10)
    shape = (60, 3, 5)
    prob = rng.random(shape) + 0.05
    prob /= prob.sum(axis=2, keepdims=True)
    mdp = TabularMDP.from_outcomes(rng.integers(0, 60, shape), prob, rng.random(shape[:2]))
    T, R = dense_model(mdp.to_transitions())
    V_star = dense_optimal_values(T, R, 0.99)
    for backend in ("numpy", "compiled"):
        result = modified_policy_iteration(mdp, 0.99, m=500, tol=1e-8, backend=backend)
        assert result.policy_products < 500 * (result.iterations - 1) / 5
        assert np.abs(result.V - V_star).max() < 0.5e-8 + slack(V_star)
