"""Properties of the solvers over random MDPs (hypothesis).

- value iteration, policy iteration and modified policy iteration agree, each
  within its stated tolerance of V*, and return optimal (tol-optimal) policies;
- V* satisfies the Bellman optimality equation (residual ≈ 0);
- V* ≥ V^π for deterministic and stochastic π;
- exact and iterative policy evaluation agree;
- the same holds over equivalent formulations of one model (from_transitions,
  from_outcomes, from_arrays with an absorbing terminal state);
- at γ = 1 on episodic models (every pair terminates with positive probability).

V* comes from an independent reference written here: value iteration on
dense NumPy arrays accumulated from the dict ``P`` (no rl_planners code), then
Howard's policy iteration with a dense linear solve to remove the
value-iteration error.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import (
    DISCOUNTS,
    RandomMDP,
    deterministic_policies,
    random_mdps,
    stochastic_policies,
)

from rl_planners import (
    ConvergenceWarning,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    value_iteration,
)


# ---------------------------------------------------------- independent reference
def dense_model(P) -> tuple[np.ndarray, np.ndarray]:
    """``T[s, a, s']`` (non-terminating probability, duplicates summed) and ``R[s, a]``."""
    n_states, n_actions = len(P), len(P[0])
    T = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for p, s_next, r, done in P[s][a]:
                R[s, a] += p * r
                if not done:
                    T[s, a, s_next] += p
    return T, R


def reference_value_iteration(T, R, gamma, tol) -> np.ndarray:
    """Value iteration with the textbook sup-norm stop (Puterman 1994, Thm 6.3.1).

    Stops when ‖V_{k+1} − V_k‖∞ < tol (1 − γ) / (2γ), so ‖V_{k+1} − V*‖∞ < tol/2.
    At γ = 1 (episodic models only) stops when the change is within float64
    rounding of V.
    """
    V = np.zeros(T.shape[0])
    for _ in range(1_000_000):
        V_next = (R + gamma * T @ V).max(axis=1)
        change = np.abs(V_next - V).max()
        if gamma == 0.0:
            return V_next
        if gamma == 1.0 and change <= 1e-12 * max(1.0, np.abs(V_next).max()):
            return V_next
        if gamma < 1.0 and change < tol * (1.0 - gamma) / (2.0 * gamma):
            return V_next
        V = V_next
    raise AssertionError("reference value iteration did not converge")


def reference_policy_value(T, R, policy, gamma) -> np.ndarray:
    """``(I − γ P_π)^{-1} R_π`` for a deterministic ``(S,)`` or stochastic ``(S, A)`` π."""
    n_states = T.shape[0]
    if policy.ndim == 1:
        policy = np.eye(T.shape[1])[policy]
    P_pi = np.einsum("sa,sat->st", policy, T)
    R_pi = np.einsum("sa,sa->s", policy, R)
    return np.linalg.solve(np.eye(n_states) - gamma * P_pi, R_pi)


def reference_optimum(P, gamma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(V*, T, R)``: value iteration, then Howard policy iteration to convergence."""
    T, R = dense_model(P)
    V = reference_value_iteration(T, R, gamma, tol=1e-6)
    policy = np.argmax(R + gamma * T @ V, axis=1)
    states = np.arange(T.shape[0])
    for _ in range(1_000):
        V = reference_policy_value(T, R, policy, gamma)
        Q = R + gamma * T @ V
        better = Q.max(axis=1) > Q[states, policy] + 1e-12 * max(1.0, np.abs(Q).max())
        if not better.any():
            return V, T, R
        policy = np.where(better, np.argmax(Q, axis=1), policy)
    raise AssertionError("reference policy iteration did not converge")


def slack(V_star: np.ndarray) -> float:
    """Float64 rounding allowance at the scale of V*."""
    return 1e-10 * max(1.0, float(np.abs(V_star).max()))


TOLERANCES = st.sampled_from([1.0, 1e-3, 1e-6, 1e-8])


# ------------------------------------------------------------------- properties
@given(random_mdps(), st.sampled_from(DISCOUNTS), TOLERANCES)
def test_value_iteration_meets_its_guarantee(model: RandomMDP, gamma, tol):
    V_star, T, R = reference_optimum(model.P, gamma)
    result = value_iteration(model.from_transitions(), gamma, tol=tol)
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = reference_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_independent_value_iteration_cross_check(model: RandomMDP, gamma):
    # Two value iterations, both within tol/2 of V*: within tol of each other.
    tol = 1e-6
    T, R = dense_model(model.P)
    V_reference = reference_value_iteration(T, R, gamma, tol)
    V = value_iteration(model.from_transitions(), gamma, tol=tol).V
    assert np.abs(V - V_reference).max() < tol + slack(V_reference)


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_policy_iteration_is_exact(model: RandomMDP, gamma):
    V_star, T, R = reference_optimum(model.P, gamma)
    result = policy_iteration(model.from_transitions(), gamma)
    assert result.converged
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=slack(V_star))
    V_pi = reference_policy_value(T, R, result.policy, gamma)
    np.testing.assert_allclose(V_pi, V_star, rtol=0, atol=slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS), TOLERANCES, st.sampled_from([0, 1, 5, 20]))
def test_modified_policy_iteration_meets_its_guarantee(model: RandomMDP, gamma, tol, m):
    V_star, T, R = reference_optimum(model.P, gamma)
    result = modified_policy_iteration(model.from_transitions(), gamma, m=m, tol=tol)
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = reference_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_solvers_agree_over_equivalent_formulations(model: RandomMDP, gamma):
    tol = 1e-6
    V_star, _, _ = reference_optimum(model.P, gamma)
    S = model.n_states
    for name, mdp in model.formulations().items():
        results = {
            "value_iteration": value_iteration(mdp, gamma, tol=tol),
            "policy_iteration": policy_iteration(mdp, gamma),
            "modified_policy_iteration": modified_policy_iteration(mdp, gamma, tol=tol),
        }
        for solver, result in results.items():
            error = np.abs(result.V[:S] - V_star).max()
            assert error < tol / 2 + slack(V_star), (name, solver, error)
            if mdp.n_states > S:  # the absorbing terminal state is worth 0
                assert abs(result.V[S]) < tol / 2, (name, solver)


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_optimal_values_satisfy_the_bellman_optimality_equation(model: RandomMDP, gamma):
    mdp = model.from_transitions()
    V = policy_iteration(mdp, gamma).V
    # with the library's operator ...
    residual = np.abs(q_from_v(mdp, V, gamma).max(axis=1) - V).max()
    assert residual <= slack(V)
    # ... and with one written from the outcome lists
    T, R = dense_model(model.P)
    assert np.abs((R + gamma * T @ V).max(axis=1) - V).max() <= slack(V)


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.data())
def test_optimal_values_dominate_every_policy(model: RandomMDP, gamma, data):
    mdp = model.from_transitions()
    V_star = policy_iteration(mdp, gamma).V
    S, A = model.n_states, model.n_actions
    stochastic = data.draw(stochastic_policies(S, A), label="stochastic policy")
    deterministic = data.draw(deterministic_policies(S, A), label="deterministic policy")
    for policy in (stochastic, deterministic):
        V_pi = policy_evaluation(mdp, policy, gamma)
        assert np.all(V_pi <= V_star + slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.data())
def test_exact_and_iterative_evaluation_agree(model: RandomMDP, gamma, data):
    mdp = model.from_transitions()
    T, R = dense_model(model.P)
    S, A = model.n_states, model.n_actions
    policies = {
        "stochastic": data.draw(stochastic_policies(S, A), label="stochastic policy"),
        "deterministic": data.draw(deterministic_policies(S, A), label="deterministic policy"),
    }
    for kind, policy in policies.items():
        reference = reference_policy_value(T, R, policy, gamma)
        exact = policy_evaluation(mdp, policy, gamma, method="exact")
        iterative = policy_evaluation(mdp, policy, gamma, method="iterative")
        assert exact.dtype == iterative.dtype == np.float64
        np.testing.assert_allclose(exact, reference, rtol=0, atol=slack(reference), err_msg=kind)
        # iterative: tol = 1e-10 by default, plus rounding at the scale of V
        np.testing.assert_allclose(
            iterative, reference, rtol=0, atol=1e-10 + slack(reference), err_msg=kind
        )


@given(random_mdps(), st.sampled_from(DISCOUNTS), st.data())
def test_evaluation_over_equivalent_formulations(model: RandomMDP, gamma, data):
    S, A = model.n_states, model.n_actions
    pi = data.draw(stochastic_policies(S, A), label="stochastic policy")
    T, R = dense_model(model.P)
    reference = reference_policy_value(T, R, pi, gamma)
    for name, mdp in model.formulations().items():
        # the absorbing terminal state of the from_arrays formulation: any row
        pi_full = np.vstack([pi, np.full((mdp.n_states - S, A), 1.0 / A)])
        V = policy_evaluation(mdp, pi_full, gamma)
        np.testing.assert_allclose(V[:S], reference, rtol=0, atol=slack(reference), err_msg=name)


# ------------------------------------------------------------------ γ = 1
@given(random_mdps(episodic=True))
def test_episodic_models_at_gamma_one(model: RandomMDP):
    V_star, _, _ = reference_optimum(model.P, 1.0)
    mdp = model.from_transitions()
    # every pair terminates with probability >= 1/40, so errors shrink by at
    # least that factor per sweep: a change below tol means an error below 40 tol
    atol = 1e-6 * max(1.0, np.abs(V_star).max())
    for solver in (value_iteration, policy_iteration, modified_policy_iteration):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            result = solver(mdp, 1.0)
        assert result.converged, solver.__name__
        np.testing.assert_allclose(result.V, V_star, rtol=0, atol=atol, err_msg=solver.__name__)
        V_pi = policy_evaluation(mdp, result.policy, 1.0)
        np.testing.assert_allclose(V_pi, V_star, rtol=0, atol=atol, err_msg=solver.__name__)


@given(random_mdps(episodic=True), st.data())
def test_episodic_evaluation_at_gamma_one(model: RandomMDP, data):
    S, A = model.n_states, model.n_actions
    pi = data.draw(stochastic_policies(S, A), label="stochastic policy")
    T, R = dense_model(model.P)
    reference = reference_policy_value(T, R, pi, 1.0)
    mdp = model.from_transitions()
    np.testing.assert_allclose(
        policy_evaluation(mdp, pi, 1.0), reference, rtol=0, atol=slack(reference)
    )
    np.testing.assert_allclose(
        policy_evaluation(mdp, pi, 1.0, method="iterative"),
        reference,
        rtol=0,
        atol=1e-6 * max(1.0, np.abs(reference).max()),
    )


@pytest.mark.parametrize("gamma", DISCOUNTS)
def test_reference_solver_on_a_closed_form(gamma):
    """The reference itself: one state, one action, reward 1, continuing w.p. 1/2."""
    P = {0: {0: [(0.5, 0, 1.0, False), (0.5, 0, 1.0, True)]}}
    V_star, _, _ = reference_optimum(P, gamma)
    assert V_star[0] == pytest.approx(1.0 / (1.0 - gamma / 2), rel=1e-12)
