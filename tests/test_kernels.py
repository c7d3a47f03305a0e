"""The compiled kernels against the NumPy/SciPy reference path, on small models.

``backend="compiled"`` forces the kernels whatever the model's size, so these
tests exercise them on models of a few states; ``KERNEL_MIN_OUTCOMES`` and the
direct-solve limit are monkeypatched to check the automatic choice. Nothing
here is timed: speed lives in ``benchmarks/``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import DISCOUNTS, RandomMDP, deterministic_policies, random_mdps

import rl_planners.solvers.linear as linear
from rl_planners import (
    ModelError,
    TabularMDP,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)
from rl_planners.bellman import (
    expectation_backup,
    kernels,
    operators,
    optimality_backup,
    policy_model,
    policy_rows,
    q_from_v,
)

pytest.importorskip("numba")


def scale(values: np.ndarray) -> float:
    """Float64 agreement expected between two summation orders: 1e-12 relative."""
    return 1e-12 * max(1.0, float(np.abs(values).max()))


def garnet_like(seed: int, n_states: int = 40, n_actions: int = 3, k: int = 4) -> TabularMDP:
    """A random model with repeated next states, terminating and zero-probability outcomes."""
    rng = np.random.default_rng(seed)
    shape = (n_states, n_actions, k)
    next_state = rng.integers(0, n_states, shape)
    next_state[..., 1] = next_state[..., 0]  # a duplicate in every row
    prob = rng.random(shape)
    prob[..., -1] *= rng.random(shape[:2]) < 0.5  # padding in about half the rows
    prob /= prob.sum(axis=2, keepdims=True)
    reward = rng.normal(size=shape)
    terminated = rng.random(shape) < 0.2
    return TabularMDP.from_outcomes(next_state, prob, reward, terminated)


# ---------------------------------------------------------------- the kernels
@given(random_mdps(), st.sampled_from(DISCOUNTS), st.integers(0, 2**32 - 1))
def test_jacobi_sweep_matches_the_reference_backup(model: RandomMDP, gamma, seed):
    mdp = model.from_transitions()
    V = np.random.default_rng(seed).normal(scale=10.0, size=mdp.n_states)
    expected = optimality_backup(mdp, V, gamma)
    out = np.empty_like(V)
    stats = kernels.jacobi_sweep(kernels.prepare(mdp), V, gamma, out)
    np.testing.assert_allclose(out, expected, rtol=0, atol=scale(expected))
    d = out - V
    assert stats.high == d.max() and stats.low == d.min()
    assert stats.top == np.abs(out).max()


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.integers(0, 2**32 - 1))
def test_q_kernel_matches_the_reference(model: RandomMDP, gamma, seed):
    mdp = model.from_outcomes()
    V = np.random.default_rng(seed).normal(scale=10.0, size=mdp.n_states)
    expected = q_from_v(mdp, V, gamma)
    Q = kernels.q_values(kernels.prepare(mdp), V, gamma)
    np.testing.assert_allclose(Q, expected, rtol=0, atol=scale(expected))


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.data())
def test_policy_kernel_matches_the_expectation_backup(model: RandomMDP, gamma, data):
    mdp = model.from_transitions()
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    x = data.draw(st.integers(0, 2**32 - 1).map(np.random.default_rng)).normal(size=mdp.n_states)
    P_pi, R_pi = policy_model(mdp, policy)
    model_arrays = kernels.prepare(mdp)
    backup = policy_rows.policy_apply(model_arrays, policy, x, alpha=0.0, beta=1.0, g=gamma)
    expected = expectation_backup(P_pi, R_pi, x, gamma)
    np.testing.assert_allclose(backup, expected, rtol=0, atol=scale(expected))
    product = policy_rows.policy_apply(model_arrays, policy, x, alpha=1.0, beta=0.0, g=-gamma)
    expected = x - gamma * (P_pi @ x)
    np.testing.assert_allclose(product, expected, rtol=0, atol=scale(expected))


def test_gauss_seidel_sweep_updates_in_state_order():
    mdp = garnet_like(0)
    gamma = 0.9
    V = np.random.default_rng(1).normal(size=mdp.n_states)
    expected = V.copy()
    for s in range(mdp.n_states):  # the definition, one state at a time
        expected[s] = q_from_v(mdp, expected, gamma)[s].max()
    swept = V.copy()
    stats = kernels.gauss_seidel_sweep(kernels.prepare(mdp), swept, gamma)
    np.testing.assert_allclose(swept, expected, rtol=0, atol=scale(expected))
    assert stats.high == pytest.approx((swept - V).max(), abs=1e-12)
    assert stats.low == pytest.approx((swept - V).min(), abs=1e-12)


@pytest.mark.parametrize(
    ("width", "padded", "expected_width"),
    [
        (1, False, 1),
        (3, False, 3),
        (kernels.MAX_UNROLLED_WIDTH, False, kernels.MAX_UNROLLED_WIDTH),
        (kernels.MAX_UNROLLED_WIDTH + 1, False, 0),  # too wide to unroll
        (3, True, 0),  # one row shorter: rows of any length
    ],
)
def test_kernels_for_a_fixed_row_width_match_the_reference(width, padded, expected_width):
    rng = np.random.default_rng(width)
    shape = (30, 3, width)
    next_state = rng.integers(0, shape[0], shape)
    prob = rng.random(shape) + 0.1  # no zero: every row keeps its `width` outcomes
    if padded and width > 1:
        prob[7, 1, -1] = 0.0
    prob /= prob.sum(axis=2, keepdims=True)
    terminated = rng.random(shape) < 0.1
    mdp = TabularMDP.from_outcomes(next_state, prob, rng.normal(size=shape), terminated)
    model = kernels.prepare(mdp)
    assert model.row_width == expected_width
    gamma = 0.9
    V = rng.normal(size=mdp.n_states)
    out = np.empty_like(V)
    kernels.jacobi_sweep(model, V, gamma, out)
    expected = optimality_backup(mdp, V, gamma)
    np.testing.assert_allclose(out, expected, rtol=0, atol=scale(expected))
    Q = q_from_v(mdp, V, gamma)
    np.testing.assert_allclose(kernels.q_values(model, V, gamma), Q, rtol=0, atol=scale(Q))
    policy = rng.integers(0, mdp.n_actions, mdp.n_states)
    P_pi, R_pi = policy_model(mdp, policy)
    expected = expectation_backup(P_pi, R_pi, V, gamma)
    backup = policy_rows.policy_apply(model, policy, V, alpha=0.0, beta=1.0, g=gamma)
    np.testing.assert_allclose(backup, expected, rtol=0, atol=scale(expected))
    swept = V.copy()
    kernels.gauss_seidel_sweep(model, swept, gamma)
    assert swept[0] == pytest.approx(Q[0].max(), abs=scale(Q))  # state 0 sees the old V


# ---------------------------------------------------------------- the solvers
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_compiled_solvers_agree_with_the_numpy_path(seed, gamma):
    mdp = garnet_like(seed)
    for solver in (value_iteration, modified_policy_iteration):
        reference = solver(mdp, gamma, tol=1e-8, backend="numpy")
        compiled = solver(mdp, gamma, tol=1e-8, backend="compiled")
        assert compiled.iterations == reference.iterations
        np.testing.assert_allclose(compiled.V, reference.V, rtol=0, atol=scale(reference.V))
        np.testing.assert_allclose(compiled.Q, reference.Q, rtol=0, atol=scale(reference.Q))
        np.testing.assert_array_equal(compiled.policy, reference.policy)
    reference = policy_iteration(mdp, gamma, backend="numpy")
    compiled = policy_iteration(mdp, gamma, backend="compiled")  # Krylov evaluation
    assert compiled.converged
    np.testing.assert_array_equal(compiled.policy, reference.policy)
    np.testing.assert_allclose(compiled.V, reference.V, rtol=0, atol=10 * scale(reference.V))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("stopping", ["span", "sup"])
def test_gauss_seidel_keeps_the_value_iteration_guarantee(seed, gamma, stopping):
    mdp = garnet_like(seed)
    tol = 1e-6
    optimum = policy_iteration(mdp, gamma, backend="numpy")
    result = value_iteration(mdp, gamma, tol=tol, method="gauss-seidel", stopping=stopping)
    assert result.converged
    assert np.abs(result.V - optimum.V).max() < tol / 2
    V_pi = policy_evaluation(mdp, result.policy, gamma)
    assert np.all(V_pi >= optimum.V - tol)


def test_gauss_seidel_needs_the_compiled_kernels():
    mdp = garnet_like(0)
    with pytest.raises(ValueError, match=r"gauss-seidel.*compiled"):
        value_iteration(mdp, 0.9, method="gauss-seidel", backend="numpy")
    with pytest.raises(ValueError, match="method must be 'jacobi' or 'gauss-seidel'"):
        value_iteration(mdp, 0.9, method="sor")


def test_gauss_seidel_respects_the_iteration_cap():
    mdp = garnet_like(1)
    with pytest.warns(UserWarning, match="max_iterations=3"):
        result = value_iteration(mdp, 0.99, method="gauss-seidel", max_iterations=3)
    assert result.iterations == 3 and not result.converged


@given(random_mdps(), st.sampled_from([0.5, 0.9, 0.99]), st.data())
def test_krylov_evaluation_agrees_with_the_direct_solve(model: RandomMDP, gamma, data):
    mdp = model.from_transitions()
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    exact = policy_evaluation(mdp, policy, gamma, method="exact")
    krylov = policy_evaluation(mdp, policy, gamma, method="krylov")
    np.testing.assert_allclose(krylov, exact, rtol=0, atol=1e-10 * max(1.0, np.abs(exact).max()))
    compiled_ops = operators(mdp, "compiled")
    compiled = linear.solve_policy_system(compiled_ops, policy, gamma, krylov=True)
    np.testing.assert_allclose(compiled, exact, rtol=0, atol=1e-10 * max(1.0, np.abs(exact).max()))


@given(random_mdps(episodic=True), st.data())
def test_krylov_evaluation_at_gamma_one(model: RandomMDP, data):
    mdp = model.from_transitions()
    policy = data.draw(deterministic_policies(mdp.n_states, mdp.n_actions))
    exact = policy_evaluation(mdp, policy, 1.0)
    krylov = policy_evaluation(mdp, policy, 1.0, method="krylov")
    np.testing.assert_allclose(krylov, exact, rtol=0, atol=1e-8 * max(1.0, np.abs(exact).max()))


def test_krylov_is_warm_started_and_falls_back(monkeypatch):
    mdp = garnet_like(2)
    policy = np.zeros(mdp.n_states, dtype=np.int64)
    exact = policy_evaluation(mdp, policy, 0.9)
    # from the answer itself no Krylov iteration is needed
    calls = []
    monkeypatch.setattr(linear, "bicgstab", lambda *args: calls.append(1))
    V, ok = linear.solve_krylov(operators(mdp).policy(policy), 0.9, V0=exact)
    assert calls == [] and ok

    # a solver that fails sends a small model to the LU factorisation ...
    def failing(apply, b, x, *rest):  # (iterate, recursive residual), as bicgstab returns
        return np.full_like(b, np.nan), np.full_like(b, np.nan)

    monkeypatch.setattr(linear, "bicgstab", failing)
    assert not linear.solve_krylov(operators(mdp).policy(policy), 0.9)[1]
    np.testing.assert_allclose(policy_evaluation(mdp, policy, 0.9, method="krylov"), exact)
    # ... and leaves a large one (where LU would fill in) with a warning
    monkeypatch.setattr(linear, "bicgstab", lambda apply, b, x, *rest: (x + 1e-6, b))
    monkeypatch.setattr(linear, "DIRECT_SOLVE_MAX_STATES", 1)
    with pytest.warns(UserWarning, match="BiCGSTAB did not bring the residual"):
        V = policy_evaluation(mdp, policy, 0.9, method="krylov")
    assert np.all(np.isfinite(V))


def test_large_models_take_the_fast_paths(monkeypatch):
    mdp = garnet_like(3, n_states=60)
    reference = value_iteration(mdp, 0.95, backend="numpy")
    exact_pi = policy_iteration(mdp, 0.95, backend="numpy")
    monkeypatch.setattr(kernels, "KERNEL_MIN_OUTCOMES", 1)
    monkeypatch.setattr(linear, "DIRECT_SOLVE_MAX_STATES", 1)
    assert kernels.uses_kernel(mdp)
    monkeypatch.setattr(linear, "solve_sparse", None)  # the LU path must not run
    result = value_iteration(mdp, 0.95)
    np.testing.assert_allclose(result.V, reference.V, rtol=0, atol=scale(reference.V))
    fast_pi = policy_iteration(mdp, 0.95)
    np.testing.assert_array_equal(fast_pi.policy, exact_pi.policy)
    np.testing.assert_allclose(fast_pi.V, exact_pi.V, rtol=0, atol=1e-10)


def test_backend_choice(monkeypatch):
    mdp = garnet_like(0)
    assert not kernels.uses_kernel(mdp)  # far below KERNEL_MIN_OUTCOMES
    assert kernels.uses_kernel(mdp, "compiled")
    assert not kernels.uses_kernel(mdp, "numpy")
    with pytest.raises(ValueError, match="backend must be one of"):
        value_iteration(mdp, 0.9, backend="gpu")
    monkeypatch.setattr(kernels, "compiled_available", lambda: False)
    monkeypatch.setattr(kernels, "KERNEL_MIN_OUTCOMES", 1)
    assert not kernels.uses_kernel(mdp)  # auto falls back to NumPy without numba
    with pytest.raises(ModuleNotFoundError, match="needs numba"):
        value_iteration(mdp, 0.9, backend="compiled")


def test_small_models_never_import_numba():
    script = textwrap.dedent(
        """
        import sys
        import gymnasium as gym
        from rl_planners import TabularMDP, value_iteration, policy_iteration
        mdp = TabularMDP.from_env(gym.make("Taxi-v4"))
        value_iteration(mdp, 0.99)
        policy_iteration(mdp, 0.99)
        print("numba" in sys.modules)
        """
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "False"


# ------------------------------------------------------------ model building
@given(random_mdps())
def test_from_transitions_reads_the_arrays_exactly(model: RandomMDP):
    mdp = model.from_transitions()
    outcomes = [
        o for s in range(model.n_states) for a in range(model.n_actions) for o in model.P[s][a]
    ]
    np.testing.assert_array_equal(mdp.prob, [o[0] for o in outcomes])
    np.testing.assert_array_equal(mdp.next_state, [o[1] for o in outcomes])
    np.testing.assert_array_equal(mdp.reward, [o[2] for o in outcomes])
    np.testing.assert_array_equal(mdp.terminated, [o[3] for o in outcomes])
    assert all(a.flags.c_contiguous for a in (mdp.prob, mdp.next_state, mdp.reward))
    # lists at both levels take the same road
    as_lists = [[model.P[s][a] for a in range(model.n_actions)] for s in range(model.n_states)]
    np.testing.assert_array_equal(TabularMDP.from_transitions(as_lists).prob, mdp.prob)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ((0.5, 1, 0.0), r"\(0\.5, 1, 0\.0\) at state 1, action 0, outcome 1"),
        ((0.5, 1, 0.0, False, 7), r"at state 1, action 0, outcome 1"),
        ((0.5, "one", 0.0, False), r"at state 1, action 0, outcome 1"),
        (None, r"got None at state 1, action 0, outcome 1"),
    ],
)
def test_from_transitions_still_names_malformed_outcomes(bad, match):
    P = {
        0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 0, 0.0, False)]},
        1: {0: [(0.5, 0, 0.0, False), bad], 1: [(1.0, 1, 0.0, True)]},
    }
    with pytest.raises(ModelError, match=match):
        TabularMDP.from_transitions(P)


def test_from_transitions_still_names_missing_and_ragged_entries():
    good = [(1.0, 0, 0.0, False)]
    with pytest.raises(ModelError, match="state 1 has 1"):
        TabularMDP.from_transitions({0: {0: good, 1: good}, 1: {0: good}})
    with pytest.raises(ModelError, match=r"P\[1\] \(state 1\) has no entry for action 1"):
        TabularMDP.from_transitions({0: {0: good, 1: good}, 1: {0: good, 2: good}})
    missing_row = r"P\[1\]\[0\] \(state 1, action 0\) must be a list of outcomes"
    with pytest.raises(ModelError, match=missing_row):
        TabularMDP.from_transitions({0: {0: good}, 1: {0: None}})
    with pytest.raises(ModelError, match=r"P\[1\] \(state 1\) must be a dict or list of actions"):
        TabularMDP.from_transitions({0: {0: good}, 1: "a"})
