"""Solving Gymnasium's own toy_text environments, read through their wrappers.

Every value is checked against the independent dense NumPy solver of
``independent.py`` over ``env.unwrapped.P`` (honouring each outcome's
``terminated`` flag), and against published or closed-form numbers where they
exist (``reference_values.py`` holds the published ones with their sources):

- FrozenLake-v1 (4x4, slippery), γ = 1: the V* table quoted in tutorials;
- CliffWalking-v1, γ = 1: -13 from the start (Sutton & Barto, Example 6.6);
- Taxi-v4, γ = 1: the expected optimal return from the initial distribution,
  20 - (steps to the passenger + 1 pick-up + steps to the destination),
  computed here by breadth-first search on the map. (Gymnasium's registry
  comment "optimum = 8.46" is for the Taxi-v2 map and a 200-step limit.)
"""

from __future__ import annotations

import functools
from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from independent import (
    dense_model,
    dense_optimal_values,
    dense_policy_value,
    dense_termination_probability,
)
from reference_values import (
    CLIFF_WALKING_OPTIMAL_RETURN,
    CLIFF_WALKING_START_STATE,
    FROZEN_LAKE_4X4_PRINTED_ATOL,
    FROZEN_LAKE_4X4_V0_QUOTED,
    FROZEN_LAKE_4X4_V_STAR_GAMMA_1,
)

from rl_planners import (
    TabularMDP,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)

ENVS = {
    "FrozenLake-v1": ("FrozenLake-v1", ()),
    "FrozenLake8x8-v1": ("FrozenLake8x8-v1", ()),
    "FrozenLake-v1-deterministic": ("FrozenLake-v1", (("is_slippery", False),)),
    "Taxi-v4": ("Taxi-v4", ()),
    "CliffWalking-v1": ("CliffWalking-v1", ()),
    "CliffWalkingSlippery-v1": ("CliffWalkingSlippery-v1", ()),
}
SOLVERS = [value_iteration, policy_iteration, modified_policy_iteration]
DISCOUNTS = [0.9, 0.99, 1.0]


@functools.cache
def make(name: str) -> gym.Env:
    env_id, kwargs = ENVS[name]
    return gym.make(env_id, **dict(kwargs))


@functools.cache
def model(name: str) -> TabularMDP:
    return TabularMDP.from_env(make(name))


# ------------------------------------------------------- the dense reference
@functools.cache
def dense(name: str, honour_terminated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``T[s, a, s']`` and ``R[s, a]`` from ``env.unwrapped.P`` (``independent.dense_model``).

    With ``honour_terminated=False`` this is the popular converter that ignores
    the flag (every outcome continues), for comparison.
    """
    return dense_model(make(name).unwrapped.P, honour_terminated=honour_terminated)


@functools.cache
def reference_optimum(name: str, gamma: float, honour_terminated: bool = True) -> np.ndarray:
    """V*, independently of rl_planners (``independent.dense_optimal_values``)."""
    return dense_optimal_values(*dense(name, honour_terminated), gamma)


# ------------------------------------------------- solvers vs the reference
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("gamma", DISCOUNTS)
@pytest.mark.parametrize("name", ENVS)
def test_solver_matches_the_dense_reference(name, gamma, solver):
    mdp = model(name)
    V_star = reference_optimum(name, gamma)
    result = solver(mdp, gamma)
    assert result.converged
    scale = max(1.0, np.abs(V_star).max())
    # γ < 1: ‖V − V*‖∞ < tol/2 with the default tol = 1e-8 (policy iteration: exact).
    # γ = 1: no contraction bound; the episodic tasks here converge well within 1e-6.
    atol = 0.5e-8 + 1e-12 * scale if gamma < 1.0 else 1e-6 * scale
    np.testing.assert_allclose(result.V, V_star, rtol=0, atol=atol)
    # the policy is optimal (tol-optimal), and at γ = 1 terminates everywhere
    T, R = dense(name)
    if gamma == 1.0:
        h = dense_termination_probability(T, result.policy)
        assert np.all(h > 1.0 - 1e-9), np.flatnonzero(h <= 1.0 - 1e-9)
    V_pi = dense_policy_value(T, R, result.policy, gamma)
    assert np.all(V_pi >= V_star - 1e-8 * scale - 2 * atol)


@pytest.mark.parametrize("name", ENVS)
def test_policy_evaluation_matches_the_dense_reference(name):
    mdp = model(name)
    T, R = dense(name)
    policy = policy_iteration(mdp, 0.95).policy
    reference = dense_policy_value(T, R, policy, 0.95)
    for method in ("exact", "iterative"):
        V = policy_evaluation(mdp, policy, 0.95, method=method)
        np.testing.assert_allclose(V, reference, rtol=0, atol=1e-8, err_msg=method)
    uniform = np.full((mdp.n_states, mdp.n_actions), 1.0 / mdp.n_actions)
    reference = dense_policy_value(T, R, uniform, 0.95)
    np.testing.assert_allclose(policy_evaluation(mdp, uniform, 0.95), reference, atol=1e-8)


# ------------------------------------------------------- published values
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_frozen_lake_4x4_gamma_one_published_table(solver):
    kwargs = {} if solver is policy_iteration else {"tol": 1e-12}
    V = solver(model("FrozenLake-v1"), 1.0, **kwargs).V
    np.testing.assert_allclose(
        V, FROZEN_LAKE_4X4_V_STAR_GAMMA_1, rtol=0, atol=FROZEN_LAKE_4X4_PRINTED_ATOL + 1e-9
    )
    assert V[0] == pytest.approx(FROZEN_LAKE_4X4_V0_QUOTED, abs=5e-5)


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_cliff_walking_optimal_return(solver):
    mdp = model("CliffWalking-v1")
    result = solver(mdp, 1.0)
    assert result.V[CLIFF_WALKING_START_STATE] == pytest.approx(CLIFF_WALKING_OPTIMAL_RETURN)
    assert mdp.initial_distribution @ result.V == pytest.approx(CLIFF_WALKING_OPTIMAL_RETURN)
    # run the policy in the environment itself: the path along the cliff edge
    env = make("CliffWalking-v1")
    obs, _ = env.reset(seed=0)
    total, steps, terminated = 0.0, 0, False
    while not terminated and steps < 100:
        obs, reward, terminated, _, _ = env.step(int(result.policy[obs]))
        total += reward
        steps += 1
    assert terminated
    assert (total, steps) == (CLIFF_WALKING_OPTIMAL_RETURN, 13)


def taxi_breadth_first_values() -> dict[int, float]:
    """Optimal undiscounted return of every Taxi-v4 start state, by BFS on the map.

    From a start state the best episode drives to the passenger (d1 moves),
    picks up (1), drives to the destination (d2 moves) and drops off (+20):
    each action before the drop-off costs 1, so the return is 20 - d1 - 1 - d2.
    """
    base = make("Taxi-v4").unwrapped
    desc = base.desc  # row 1 + r of the map; walls '|' between columns

    def neighbours(cell):
        r, c = cell
        if r > 0:
            yield r - 1, c
        if r < 4:
            yield r + 1, c
        if c < 4 and desc[1 + r, 2 * c + 2] == b":":
            yield r, c + 1
        if c > 0 and desc[1 + r, 2 * c] == b":":
            yield r, c - 1

    def distances(source):
        found, queue = {source: 0}, deque([source])
        while queue:
            cell = queue.popleft()
            for nxt in neighbours(cell):
                if nxt not in found:
                    found[nxt] = found[cell] + 1
                    queue.append(nxt)
        return found

    locs = [tuple(loc) for loc in base.locs]
    values = {}
    for r in range(5):
        for c in range(5):
            for passenger in range(4):
                for destination in range(4):
                    if passenger == destination:
                        continue
                    d1 = distances((r, c))[locs[passenger]]
                    d2 = distances(locs[passenger])[locs[destination]]
                    values[base.encode(r, c, passenger, destination)] = 20.0 - d1 - 1 - d2
    return values


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda f: f.__name__)
def test_taxi_expected_optimal_return(solver):
    mdp = model("Taxi-v4")
    result = solver(mdp, 1.0)
    values = taxi_breadth_first_values()
    starts = np.flatnonzero(mdp.initial_distribution)
    assert sorted(values) == starts.tolist()  # 300 start states, uniform
    for state, value in values.items():
        assert result.V[state] == pytest.approx(value, abs=1e-9), state
    expected = sum(mdp.initial_distribution[s] * v for s, v in values.items())
    assert expected == pytest.approx(7.93, abs=1e-9)  # = 2379 / 300 on the v4 map
    assert mdp.initial_distribution @ result.V == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_deterministic_frozen_lake_policies_reach_the_goal_in_the_env(map_name):
    # At γ = 1 every action that avoids the holes is worth 1: the tie-breaking
    # must still walk to the goal. Run each policy in the env itself.
    env = gym.make("FrozenLake-v1", map_name=map_name, is_slippery=False)
    mdp = TabularMDP.from_env(env)
    for solver in SOLVERS:
        policy = solver(mdp, 1.0).policy
        obs, _ = env.reset(seed=0)
        for _ in range(mdp.n_states):
            obs, reward, terminated, truncated, _ = env.step(int(policy[obs]))
            if terminated or truncated:
                break
        assert terminated and reward == 1.0, f"{solver.__name__} on {map_name}"


# ------------------------------------------------------- the terminated flag
@pytest.mark.parametrize(("name", "least_gap"), [("Taxi-v4", 500.0), ("CliffWalking-v1", 90.0)])
def test_terminated_flag_changes_taxi_and_cliff_walking(name, least_gap):
    # Taxi's post-drop-off state and CliffWalking's goal have ordinary moves
    # in P. A converter that ignores `terminated` lets Taxi pick up and drop
    # off again for +20 over and over (values near +950 at γ = 0.99), and
    # makes CliffWalking's goal cost -1 per step forever (about -100 more).
    gamma = 0.99
    V = value_iteration(model(name), gamma).V
    np.testing.assert_allclose(V, reference_optimum(name, gamma), rtol=0, atol=1e-8)
    ignoring = reference_optimum(name, gamma, honour_terminated=False)
    assert np.abs(V - ignoring).max() > least_gap


def test_terminated_flag_does_not_matter_on_frozen_lake():
    # FrozenLake's holes and goal are zero-reward self-loops: ignoring the flag
    # gives the same values, which is why FrozenLake alone cannot catch a
    # converter that ignores it.
    gamma = 0.99
    V = value_iteration(model("FrozenLake-v1"), gamma).V
    ignoring = reference_optimum("FrozenLake-v1", gamma, honour_terminated=False)
    np.testing.assert_allclose(V, ignoring, rtol=0, atol=1e-8)
