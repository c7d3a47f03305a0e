"""The compiled solvers keep no ``[S, A]`` array: ``result.Q`` is computed on first read.

What users see must not change: ``result.Q`` holds, bit for bit, the ``Q``
the solvers computed eagerly before (``ops.q(V, γ)``), the policy is the one
:func:`greedy_policy` reads off that ``Q``, and pickling, copying, ``repr`` and
agent files behave as with an eager ``Q``.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import threading
import tracemalloc

import gymnasium as gym
import numpy as np
import pytest

from envs.garnet import garnet_outcomes
from rl_planners import (
    TabularMDP,
    ValueIterationAgent,
    inexact_policy_iteration,
    load_agent,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from rl_planners.bellman import greedy_policy, operators

pytest.importorskip("numba")

GAMMA = 0.95


def garnet(n_states: int, n_actions: int = 4, n_branches: int = 5, seed: int = 3) -> TabularMDP:
    rng = np.random.default_rng(seed)
    return TabularMDP.from_outcomes(*garnet_outcomes(n_states, n_actions, n_branches, rng))


def ragged_terminating() -> TabularMDP:
    """Rows of 1 to 3 outcomes (padding dropped: the any-width kernels), some terminating."""
    rng = np.random.default_rng(7)
    S, A, K = 300, 3, 3
    next_state = rng.integers(0, S, size=(S, A, K))
    prob = rng.random((S, A, K))
    prob[rng.random((S, A, K)) < 0.3] = 0.0  # padding
    prob[:, :, 0] += 0.1  # every row keeps an outcome
    prob /= prob.sum(axis=2, keepdims=True)
    terminated = rng.random((S, A, K)) < 0.1
    return TabularMDP.from_outcomes(next_state, prob, rng.normal(size=(S, A)), terminated)


def wide_rows() -> TabularMDP:
    """Ten outcomes a row: wider than the unrolled kernels."""
    return garnet(500, n_actions=3, n_branches=10)


def tied_actions() -> TabularMDP:
    """Action 1 repeats action 0 exactly, action 2 is action 0 plus 1e-14: ties within rounding."""
    rng = np.random.default_rng(11)
    next_state, prob, reward = garnet_outcomes(400, 1, 4, rng)
    next_state = np.repeat(next_state, 3, axis=1)
    prob = np.repeat(prob, 3, axis=1)
    reward = np.repeat(reward, 3, axis=1)
    reward[:, 2] += 1e-14
    return TabularMDP.from_outcomes(next_state, prob, reward)


MODELS = {
    "garnet": lambda: garnet(2_000),
    "ragged_terminating": ragged_terminating,
    "wide_rows": wide_rows,
    "tied_actions": tied_actions,
}


@pytest.mark.parametrize("model", MODELS)
def test_value_iteration_defers_q_and_its_q_and_policy_are_the_eager_ones_bit_for_bit(model):
    mdp = MODELS[model]()
    result = value_iteration(mdp, GAMMA, backend="compiled")
    assert "Q" not in vars(result)  # not made during the solve
    eager_Q = operators(mdp, "compiled").q(result.V, GAMMA)  # what the solver computed before
    assert result.policy.tobytes() == greedy_policy(mdp, eager_Q, GAMMA).tobytes()
    Q = result.Q
    assert Q.dtype == np.float64 and Q.shape == (mdp.n_states, mdp.n_actions)
    assert Q.tobytes() == eager_Q.tobytes()
    assert not Q.flags.writeable
    assert result.Q is Q  # computed once, then kept
    if model == "tied_actions":
        assert np.all(result.policy == 0)  # ties to the lowest index (greedy_policy's rule)


@pytest.mark.parametrize(
    "solver", [policy_iteration, modified_policy_iteration, inexact_policy_iteration]
)
def test_the_other_compiled_solvers_give_the_same_deferred_q(solver):
    mdp = garnet(2_000)
    result = solver(mdp, GAMMA, backend="compiled")
    eager_Q = operators(mdp, "compiled").q(result.V, GAMMA)
    assert result.Q.tobytes() == eager_Q.tobytes()


def test_the_numpy_backend_still_computes_q_during_the_solve():
    result = value_iteration(garnet(200), GAMMA, backend="numpy")
    assert "Q" in vars(result)


def test_repr_pickle_copy_and_replace_work_as_with_an_eager_q():
    mdp = garnet(2_000)
    result = value_iteration(mdp, GAMMA, backend="compiled")
    assert repr(result).startswith("PlanningResult(n_states=2000, gamma=0.95, iterations=")
    assert "Q" not in vars(result)  # repr does not compute Q
    payload = pickle.dumps(result)
    # the pickle holds Q itself, not the model it was computed from
    assert len(payload) < result.V.nbytes * (2 + mdp.n_actions) + result.residuals.nbytes + 4096
    for other in (pickle.loads(payload), copy.deepcopy(result), copy.copy(result)):
        assert other.Q.tobytes() == result.Q.tobytes()
        assert other.V.tobytes() == result.V.tobytes()
    changed = dataclasses.replace(result, wall_time=0.0)
    assert changed.Q.tobytes() == result.Q.tobytes()


def test_threads_reading_a_deferred_q_at_once_get_one_array():
    result = value_iteration(garnet(2_000), GAMMA, backend="compiled")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(result.Q)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(Q is seen[0] for Q in seen)


def test_an_agent_saved_and_loaded_keeps_the_deferred_q(tmp_path):
    agent = ValueIterationAgent(gym.make("FrozenLake-v1"), backend="compiled")
    loaded = load_agent(agent.save(tmp_path / "agent.npz"))
    assert loaded.result.Q.tobytes() == agent.result.Q.tobytes()
    assert loaded.result.policy.tobytes() == agent.result.policy.tobytes()


def test_compiled_value_iteration_allocates_less_than_one_q_beyond_the_models_arrays():
    # 50,000 states x 4 actions x 5 branches. The model's R is made first (it is
    # the model's own, cached array); the solve then needs V, the sweep's
    # second buffer, the span rule's midpoint and the policy: 0.75 x S·A here.
    # Eager Q took 11 x on this model (Q, |Q|, the tied mask, the model's
    # continuation probabilities, a row-width check of the model's size).
    mdp = garnet(50_000, seed=5)
    _ = mdp.R
    value_iteration(garnet(100), GAMMA, backend="compiled")  # numba loaded, kernels compiled
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = value_iteration(mdp, GAMMA, backend="compiled")
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    one_q = 8 * mdp.n_states * mdp.n_actions
    assert peak < one_q, f"peak {peak / one_q:.2f} x S·A float64"
    assert "continuation_probability" not in vars(mdp)  # no [S, A] array cached on the model
    assert result.converged


def test_compiled_policy_iteration_holds_no_q_through_its_evaluations():
    # 50,000 states x 4 actions x 5 branches, the model's R made first. What
    # the solve needs at its peak, in S·A float64 units: the policy's gathered
    # rows for the Krylov products (5 outcomes x (8 + 8) bytes a state, and
    # R_pi: 2.75 x), BiCGSTAB's vectors (about 2 x), V, the policy and the
    # state index (0.75 x): 6.0 x measured. Keeping the improvement step's Q
    # (1 x) through the next evaluation, and BiCGSTAB's temporaries of its
    # vector updates, took 7.5 x.
    mdp = garnet(50_000, seed=5)
    _ = mdp.R
    policy_iteration(garnet(100), GAMMA, backend="compiled")  # numba loaded, kernels compiled
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = policy_iteration(mdp, GAMMA, backend="compiled")
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    one_q = 8 * mdp.n_states * mdp.n_actions
    assert peak < 6.5 * one_q, f"peak {peak / one_q:.2f} x S·A float64"
    assert result.converged and result.iterations > 1  # improvements were evaluated
