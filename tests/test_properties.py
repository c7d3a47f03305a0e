"""Properties of the solvers over random MDPs (hypothesis).

- value iteration, policy iteration and modified policy iteration agree, each
  within its stated tolerance of V*, and return optimal (tol-optimal) policies;
- V* satisfies the Bellman optimality equation (residual ≈ 0);
- V* ≥ V^π for deterministic and stochastic π;
- exact and iterative policy evaluation agree;
- the same holds over equivalent formulations of one model (from_transitions,
  from_outcomes, from_arrays with an absorbing terminal state);
- at γ = 1 on episodic models (every pair terminates with positive probability).

V* comes from the independent reference of ``independent.py``: value
iteration on dense NumPy arrays accumulated from the dict ``P`` (no
rl_planners code), then Howard's policy iteration with a dense linear solve to
remove the value-iteration error (value iteration to float64 rounding alone
at γ = 1).
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
    dense_policy_value,
    dense_q_values,
    dense_value_iteration,
)
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
def reference_optimum(P, gamma) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(V*, T, R)`` of the outcome dict ``P``, by the independent dense reference."""
    T, R = dense_model(P)
    return dense_optimal_values(T, R, gamma), T, R


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
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - tol - slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_independent_value_iteration_cross_check(model: RandomMDP, gamma):
    # Two value iterations, both within tol/2 of V*: within tol of each other.
    tol = 1e-6
    T, R = dense_model(model.P)
    V_reference = dense_value_iteration(T, R, gamma, tol=tol)
    V = value_iteration(model.from_transitions(), gamma, tol=tol).V
    assert np.abs(V - V_reference).max() < tol + slack(V_reference)


@given(random_mdps(), st.sampled_from(DISCOUNTS))
def test_policy_iteration_is_exact(model: RandomMDP, gamma):
    V_star, T, R = reference_optimum(model.P, gamma)
    result = policy_iteration(model.from_transitions(), gamma)
    assert result.converged
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=slack(V_star))
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    np.testing.assert_allclose(V_pi, V_star, rtol=0, atol=slack(V_star))


@given(random_mdps(), st.sampled_from(DISCOUNTS), TOLERANCES, st.sampled_from([0, 1, 5, 20]))
def test_modified_policy_iteration_meets_its_guarantee(model: RandomMDP, gamma, tol, m):
    V_star, T, R = reference_optimum(model.P, gamma)
    result = modified_policy_iteration(model.from_transitions(), gamma, m=m, tol=tol)
    assert result.converged
    assert np.abs(result.V - V_star).max() < tol / 2 + slack(V_star)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
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
    assert np.abs(dense_q_values(T, R, V, gamma).max(axis=1) - V).max() <= slack(V)


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
        reference = dense_policy_value(T, R, policy, gamma)
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
    reference = dense_policy_value(T, R, pi, gamma)
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
    reference = dense_policy_value(T, R, pi, 1.0)
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
