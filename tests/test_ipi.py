"""Inexact policy iteration against the independent dense reference and the contract.

The guarantee under test is value iteration's (the docstring of
``inexact_policy_iteration``): for γ < 1, ``‖V − V*‖∞ < tol/2`` and a greedy
policy within ``tol`` of optimal, whatever the inner solves' accuracy. V*
comes from ``independent.py`` (dense NumPy, no rl_planners code). No test
pins an iteration count.
"""

from __future__ import annotations

import itertools
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from independent import dense_model, dense_optimal_values, dense_policy_value
from reference_values import FIGURE_3_5_V_STAR, GAMBLER_V_STAR, PRINTED_ATOL
from strategies import DISCOUNTS, RandomMDP, random_mdps
from test_kernels import garnet_like
from test_solvers import (
    gambler,
    gridworld_4x4,
    gridworld_5x5,
    stay_or_advance,
    terminates_almost_surely,
)

import rl_planners
from rl_planners import (
    ConvergenceWarning,
    NonFiniteValueError,
    NonTerminatingPolicyError,
    TabularMDP,
    inexact_policy_iteration,
    policy_evaluation,
    value_iteration,
)
from rl_planners.solvers import solver_defaults

TOLERANCES = st.sampled_from([1.0, 1e-3, 1e-6, 1e-8])
# (inner_ratio, max_inner): the default, a loose and short inner solve (the
# safeguard does the work), and a tight one (close to policy iteration)
INNER = st.sampled_from([(0.1, 100), (1.0, 1), (1e-6, 300)])
BACKENDS = st.sampled_from(["numpy", "compiled"])


def slack(V_star: np.ndarray) -> float:
    """Float64 rounding allowance at the scale of V*."""
    return 1e-10 * max(1.0, float(np.abs(V_star).max()))


# ------------------------------------------------------------ the guarantee
@given(random_mdps(), st.sampled_from(DISCOUNTS), TOLERANCES, INNER, BACKENDS)
def test_meets_the_value_iteration_guarantee(model: RandomMDP, gamma, tol, inner, backend):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, gamma)
    inner_ratio, max_inner = inner
    result = inexact_policy_iteration(
        model.from_transitions(),
        gamma,
        tol=tol,
        inner_ratio=inner_ratio,
        max_inner=max_inner,
        backend=backend,
    )
    assert result.converged and result.status == "converged"
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.data())
def test_any_initial_values(model: RandomMDP, gamma, data):
    # V0 far above or below V*, not a subsolution: the guarantee still holds.
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, gamma)
    V0 = data.draw(st.lists(st.floats(-1e3, 1e3), min_size=model.n_states, max_size=model.n_states))
    tol = 1e-6
    result = inexact_policy_iteration(model.from_transitions(), gamma, tol=tol, V0=V0)
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_over_equivalent_formulations(model: RandomMDP, gamma):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, gamma)
    tol = 1e-6
    for name, mdp in model.formulations().items():
        result = inexact_policy_iteration(mdp, gamma, tol=tol)
        error = np.abs(result.V[: model.n_states] - V_star).max()
        assert error < tol / 2 + slack(V_star), name
        if mdp.n_states > model.n_states:  # the absorbing terminal state is worth 0
            assert abs(result.V[model.n_states]) < tol / 2, name


@pytest.mark.parametrize("tol", [1.0, 1e-2, 1e-5, 1e-8])
def test_tol_guarantee_on_the_5x5_gridworld(tol):
    mdp, T, R = gridworld_5x5()
    gamma = 0.9
    V_star = dense_optimal_values(T, R, gamma)
    result = inexact_policy_iteration(mdp, gamma, tol=tol)
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


def test_figure_3_5_optimal_values():
    # Sutton & Barto (2018), Figure 3.5: V* of the 5x5 gridworld at γ = 0.9.
    mdp, _, _ = gridworld_5x5()
    result = inexact_policy_iteration(mdp, 0.9)
    np.testing.assert_allclose(result.V.reshape(5, 5), FIGURE_3_5_V_STAR, rtol=0, atol=PRINTED_ATOL)


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "Taxi-v4", "CliffWalking-v1"])
@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_toy_text_envs_against_the_dense_reference(env_id, backend):
    mdp = TabularMDP.from_env(gym.make(env_id))
    T, R = dense_model(mdp.to_transitions())
    V_star = dense_optimal_values(T, R, 0.99)
    result = inexact_policy_iteration(mdp, 0.99, tol=1e-8, backend=backend)
    assert np.abs(result.V - V_star).max() < 0.5e-8 + slack(V_star)


# ------------------------------------------------------------------- γ = 1
@given(random_mdps(episodic=True))
def test_episodic_models_at_gamma_one(model: RandomMDP):
    T, R = dense_model(model.P)
    V_star = dense_optimal_values(T, R, 1.0)
    mdp = model.from_transitions()
    atol = 1e-6 * max(1.0, np.abs(V_star).max())  # as for the other solvers
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = inexact_policy_iteration(mdp, 1.0)
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=atol)
    np.testing.assert_allclose(policy_evaluation(mdp, result.policy, 1.0), V_star, atol=atol)


def test_gridworld_4x4_at_gamma_one():
    # Sutton & Barto (2018), Example 4.1: minus the steps to the nearest terminal corner.
    result = inexact_policy_iteration(gridworld_4x4(), 1.0)
    steps = [min(r + c, (3 - r) + (3 - c)) for r in range(4) for c in range(4)]
    np.testing.assert_allclose(result.V, -np.array(steps, dtype=float), rtol=0, atol=1e-6)
    assert terminates_almost_surely(gridworld_4x4(), result.policy)


def test_gambler_at_gamma_one():
    # Sutton & Barto (2018), Example 4.3 / Figure 4.3 (values in reference_values.py).
    mdp = gambler()
    result = inexact_policy_iteration(mdp, 1.0)
    assert result.converged
    for capital, value in GAMBLER_V_STAR.items():
        assert result.V[capital] == pytest.approx(value, abs=1e-6), capital
    assert terminates_almost_surely(mdp, result.policy)


def test_deterministic_frozen_lake_policy_reaches_the_goal_at_gamma_one():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    policy = inexact_policy_iteration(TabularMDP.from_env(env), 1.0).policy
    P, state = env.unwrapped.P, 0
    for _ in range(16):
        ((_, state, reward, done),) = P[state][int(policy[state])]
        if done:
            break
    assert done and reward == 1.0


def test_no_terminating_policy_is_an_error_naming_the_states():
    # State 2 only loops on itself (never terminates, reward 1); states 0, 1 can exit.
    P = {
        0: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 0, -1.0, True)]},
        1: {0: [(1.0, 2, 0.0, False)], 1: [(1.0, 1, 0.0, True)]},
        2: {0: [(1.0, 2, 1.0, False)], 1: [(1.0, 2, 1.0, False)]},
    }
    with pytest.raises(NonTerminatingPolicyError, match=r"1 state\(s\): 2\b") as caught:
        inexact_policy_iteration(TabularMDP.from_transitions(P), 1.0)
    assert list(caught.value.states) == [2]
    # discounted, the same model is fine
    assert inexact_policy_iteration(TabularMDP.from_transitions(P), 0.9).converged


def test_never_ending_loop_valued_as_value_iteration_does():
    # Waiting loops with reward 0, walking costs: the optimum is never to end (V = 0);
    # no greedy policy terminates, so every step is a value-iteration step.
    mdp = stay_or_advance(5)
    result = inexact_policy_iteration(mdp, 1.0)
    np.testing.assert_array_equal(result.V, value_iteration(mdp, 1.0).V)


# ------------------------------------------------------------ the contract
def test_cap_warns_and_is_not_overridden():
    mdp, _, _ = gridworld_5x5()
    with pytest.warns(ConvergenceWarning, match="max_iterations=1"):
        result = inexact_policy_iteration(mdp, 0.9, max_iterations=1)
    assert result.iterations == 1
    assert not result.converged and result.status == "max_iterations"


def test_overflow_raises_naming_the_state():
    # 1e308 / (1 − 0.9) overflows float64.
    mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1e308], [0.0]])
    with pytest.raises(NonFiniteValueError, match=r"at 1 state\(s\): 0\b"):
        inexact_policy_iteration(mdp, 0.9)


@pytest.mark.parametrize(
    "option, value, error, match",
    [
        ("inner_ratio", 0.0, ValueError, "inner_ratio"),
        ("inner_ratio", 1.5, ValueError, "inner_ratio"),
        ("inner_ratio", "0.1", TypeError, "inner_ratio"),
        ("max_inner", 0, ValueError, "max_inner"),
        ("tol", -1.0, ValueError, "tol"),
        ("max_iterations", 0, ValueError, "max_iterations"),
        ("stopping", "fast", ValueError, "stopping"),
        ("backend", "gpu", ValueError, "backend"),
    ],
)
def test_bad_options(option, value, error, match):
    mdp, _, _ = gridworld_5x5()
    with pytest.raises(error, match=match):
        inexact_policy_iteration(mdp, 0.9, **{option: value})


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("inner", [(0.1, 100), (1.0, 1)])
def test_krylov_path_on_a_model_beyond_the_direct_solves(backend, inner):
    # 700 states: above DIRECT_SOLVE_MAX_STATES, so each policy is evaluated
    # inexactly by BiCGSTAB; the guarantee must still hold.
    mdp = garnet_like(5, n_states=700)
    T, R = dense_model(mdp.to_transitions())
    gamma, tol = 0.95, 1e-6
    V_star = dense_optimal_values(T, R, gamma)
    inner_ratio, max_inner = inner
    result = inexact_policy_iteration(
        mdp, gamma, tol=tol, inner_ratio=inner_ratio, max_inner=max_inner, backend=backend
    )
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))
    # one backup per improvement (the final Q is not counted), products in between
    assert result.backups == result.iterations
    assert result.policy_products > 0


def test_backends_agree():
    mdp, _, _ = gridworld_5x5()
    numpy_result = inexact_policy_iteration(mdp, 0.9, tol=1e-10, backend="numpy")
    compiled = inexact_policy_iteration(mdp, 0.9, tol=1e-10, backend="compiled")
    np.testing.assert_allclose(numpy_result.V, compiled.V, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(numpy_result.policy, compiled.policy)


def test_public_and_its_options_are_keyword_only_with_defaults():
    assert "inexact_policy_iteration" in rl_planners.__all__
    defaults = solver_defaults(inexact_policy_iteration)
    assert defaults["tol"] == 1e-8
    assert {"max_iterations", "V0", "inner_ratio", "max_inner", "backend"} <= set(defaults)


# -------------------------------------------- models that never terminate
def _never_terminating(seed: int, n_states: int = 700) -> rl_planners.TabularMDP:
    rng = np.random.default_rng(seed)
    shape = (n_states, 3, 5)
    prob = rng.random(shape) + 0.05
    prob /= prob.sum(axis=2, keepdims=True)
    next_state = rng.integers(0, n_states, shape)
    return rl_planners.TabularMDP.from_outcomes(next_state, prob, rng.random(shape[:2]))


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("stopping", ["span", "sup"])
def test_krylov_path_on_a_model_that_never_terminates(backend, stopping):
    # 700 states, beyond the direct solves, and P_π 1 = 1: the inner solves
    # use the constant-mode preconditioner and, with the span rule, stop on
    # the span of their residual. The guarantee must hold all the same.
    mdp = _never_terminating(11)
    T, R = dense_model(mdp.to_transitions())
    gamma, tol = 0.99, 1e-6
    V_star = dense_optimal_values(T, R, gamma)
    result = inexact_policy_iteration(mdp, gamma, tol=tol, stopping=stopping, backend=backend)
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


def test_preconditioned_bicgstab_solves_the_policy_system():
    from rl_planners.bellman import operators
    from rl_planners.solvers.linear import KrylovWorkspace, bicgstab

    mdp = _never_terminating(12, n_states=300)
    gamma = 0.99
    policy = np.random.default_rng(12).integers(0, mdp.n_actions, mdp.n_states)
    T, R = dense_model(mdp.to_transitions())
    T_pi, R_pi = T[np.arange(mdp.n_states), policy], R[np.arange(mdp.n_states), policy]
    exact = np.linalg.solve(np.eye(mdp.n_states) - gamma * T_pi, R_pi)
    operator = operators(mdp, "numpy").policy(policy)

    def system(x, out=None):
        return operator.system_product(x, gamma, out)

    def constant_mode(y, out):  # M⁻¹ y = y + γ/(1−γ) mean(y)
        return np.add(y, gamma / (1 - gamma) * y.mean(), out=out)

    workspace = KrylovWorkspace(mdp.n_states, preconditioned=True)
    counts = {}
    for name, precondition in (("plain", None), ("preconditioned", constant_mode)):
        before = operator.work.policy_products
        x, r = bicgstab(
            system, R_pi, np.zeros(mdp.n_states), 1e-10, 500, None, precondition, workspace
        )
        counts[name] = operator.work.policy_products - before
        true_residual = R_pi - system(x)
        assert np.abs(true_residual).max() < 1e-9
        # the recursive residual it returns is the true one, up to rounding
        np.testing.assert_allclose(r, true_residual, rtol=0, atol=1e-12)
        np.testing.assert_allclose(x, exact, rtol=0, atol=1e-9 / (1 - gamma))
    # the constant mode, eigenvalue 1 − γ, is what slows the plain iteration
    assert counts["preconditioned"] < counts["plain"]
    again, _ = bicgstab(
        system, R_pi, np.zeros(mdp.n_states), 1e-10, 500, None, constant_mode, workspace
    )
    np.testing.assert_array_equal(again, x)  # a reused workspace changes nothing


# ------------------------------------- the inner targets and the safeguard
def _record_krylov_solve(monkeypatch, mdp, gamma, tol, backend):
    """Solve, recording each backup's ``V_k`` and each BiCGSTAB target."""
    import rl_planners.solvers.ipi as ipi_module
    from rl_planners.bellman.operators import Operators

    iterates, targets = [], []
    backup, solve = Operators.backup, ipi_module.bicgstab

    def recording_backup(self, V, *args, **kwargs):
        iterates.append(V.copy())
        return backup(self, V, *args, **kwargs)

    def recording_solve(apply, b, x, target, *args, **kwargs):
        targets.append(target)
        return solve(apply, b, x, target, *args, **kwargs)

    monkeypatch.setattr(Operators, "backup", recording_backup)
    monkeypatch.setattr(ipi_module, "bicgstab", recording_solve)
    result = inexact_policy_iteration(mdp, gamma, tol=tol, backend=backend)
    return result, iterates, targets


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_inner_targets_follow_the_forcing_term(monkeypatch, backend):
    # target_k = max(η_k m_k, θ/2), η_k = min(η, (m_k/m_{k−1})²), η_0 = η (Eisenstat
    # & Walker 1996, choice 2), m_k the span of d_k = T V_k − V_k
    # (nothing terminates here) and θ = tol (1−γ)/γ the span rule's threshold;
    # d_k is recomputed from the recorded V_k with the dense reference.
    mdp = _never_terminating(13)
    gamma, tol, eta = 0.99, 1e-6, 0.1
    T, R = dense_model(mdp.to_transitions())
    result, iterates, targets = _record_krylov_solve(monkeypatch, mdp, gamma, tol, backend)
    assert result.converged and len(targets) >= 3
    spans = []
    for V in iterates:
        d = (R + gamma * T @ V).max(axis=1) - V
        spans.append(float(d.max() - d.min()))
    threshold = tol * (1 - gamma) / gamma
    for k, target in enumerate(targets):
        forcing = eta if k == 0 else min(eta, (spans[k] / spans[k - 1]) ** 2)
        expected = max(forcing * spans[k], threshold / 2)
        assert target == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert min(targets) >= threshold / 2
    # the forcing term falls below η once the residual falls fast
    ratios = [t / m for t, m in zip(targets, spans, strict=False)]
    assert ratios[0] == pytest.approx(eta) and min(ratios) < eta


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_krylov_iterates_rise_monotonically_below_v_star(monkeypatch, backend):
    # Module docstring: from V_1 on every iterate is a subsolution, so
    # V_1 ≤ V_2 ≤ … ≤ V*, up to rounding; V_0 = 0 is not one here (rewards
    # of both signs), so the first step is not checked.
    mdp = garnet_like(7, n_states=700)
    gamma = 0.95
    T, R = dense_model(mdp.to_transitions())
    V_star = dense_optimal_values(T, R, gamma)
    result, iterates, _ = _record_krylov_solve(monkeypatch, mdp, gamma, 1e-8, backend)
    assert result.converged and len(iterates) >= 3
    rounding = slack(V_star)
    for before, after in itertools.pairwise(iterates[1:]):
        assert np.all(after >= before - rounding)
    for V in iterates[1:]:
        assert np.all(V <= V_star + rounding)


def test_bicgstab_builds_its_iterate_in_out_and_keeps_the_start():
    from rl_planners.bellman import operators
    from rl_planners.solvers.linear import bicgstab

    mdp = _never_terminating(14, n_states=200)
    gamma = 0.9
    operator = operators(mdp, "numpy").policy(np.zeros(mdp.n_states, dtype=np.int64))

    def system(x, out=None):
        return operator.system_product(x, gamma, out)

    start = np.zeros(mdp.n_states)
    out = np.full(mdp.n_states, np.nan)
    x, _ = bicgstab(system, operator.R_pi, start, 1e-12, 200, out=out)
    assert x is out and np.all(start == 0.0)  # the iterate in out, the start untouched
    copied, _ = bicgstab(system, operator.R_pi, start, 1e-12, 200)
    np.testing.assert_array_equal(x, copied)  # the same floats as without out
    # a start that already meets the target: into out all the same, unchanged
    into = np.empty_like(x)
    again, _ = bicgstab(system, operator.R_pi, x, 1e-3, 200, out=into)
    assert again is into and again.tobytes() == x.tobytes()
    assert bicgstab(system, operator.R_pi, x, 1e-3, 200)[0] is x  # without out: x itself


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
def test_krylov_path_leaves_the_callers_v0_as_given(backend):
    # the solve builds its iterates in its own memory, never in V0's
    mdp = _never_terminating(15)
    V0 = np.random.default_rng(15).normal(size=mdp.n_states)
    kept = V0.copy()
    result = inexact_policy_iteration(mdp, 0.99, tol=1e-6, V0=V0, backend=backend)
    assert result.converged and result.policy_products > 0
    assert V0.tobytes() == kept.tobytes()
