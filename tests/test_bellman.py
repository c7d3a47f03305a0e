"""Tests of rl_planners.bellman: q_from_v and policy_improvement.

Expected values are worked out by hand in the comments, or recomputed here
from the outcome lists ``P[s][a]`` (never from the arrays under test).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from independent import dense_model, dense_termination_probability
from strategies import RandomMDP, random_mdps

from rl_planners import TabularMDP, policy_improvement, q_from_v


def small_mdp() -> TabularMDP:
    """Three states, two actions; a terminating outcome and a duplicate next state."""
    return TabularMDP.from_transitions(
        {
            0: {
                0: [(1.0, 0, 0.0, False)],
                1: [(0.5, 1, 1.0, False), (0.5, 2, -1.0, True)],
            },
            1: {
                0: [(0.25, 2, 2.0, False), (0.75, 2, 4.0, False)],
                1: [(1.0, 0, 0.0, False)],
            },
            2: {
                0: [(1.0, 2, 0.0, True)],
                1: [(0.25, 1, -2.0, False), (0.75, 2, 3.0, True)],
            },
        }
    )


def q_reference(P, V, gamma) -> np.ndarray:
    """``Q(s,a) = Σ prob · (reward + γ V(s') [not terminated])`` over the outcome list."""
    return np.array(
        [
            [
                sum(
                    p * (r + (0.0 if done else gamma * V[s_next])) for p, s_next, r, done in P[s][a]
                )
                for a in range(len(P[s]))
            ]
            for s in range(len(P))
        ]
    )


def terminates_almost_surely(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """``[S]`` bool: whether the deterministic policy ends the episode w.p. 1 from s."""
    T, _ = dense_model(mdp.to_transitions())
    return dense_termination_probability(T, policy) > 1.0 - 1e-9


# ------------------------------------------------------------------- q_from_v
def test_q_from_v_by_hand():
    # V = (1, 2, 4), γ = 0.5; a terminating outcome adds its reward only.
    # Q(0,0) = 1·(0 + .5·1)                        = 0.5
    # Q(0,1) = .5·(1 + .5·2) + .5·(-1)             = 0.5
    # Q(1,0) = .25·(2 + .5·4) + .75·(4 + .5·4)     = 5.5
    # Q(1,1) = 1·(0 + .5·1)                        = 0.5
    # Q(2,0) = 1·0 (terminates)                    = 0.0
    # Q(2,1) = .25·(-2 + .5·2) + .75·3             = 2.0
    Q = q_from_v(small_mdp(), np.array([1.0, 2.0, 4.0]), 0.5)
    np.testing.assert_allclose(Q, [[0.5, 0.5], [5.5, 0.5], [0.0, 2.0]], rtol=0, atol=1e-15)
    assert Q.shape == (3, 2)
    assert Q.dtype == np.float64


def test_q_from_v_at_gamma_zero_is_the_expected_reward():
    mdp = small_mdp()
    Q = q_from_v(mdp, np.array([100.0, -100.0, 7.0]), 0.0)
    np.testing.assert_allclose(Q, mdp.R, rtol=0, atol=0)


def test_q_from_v_accepts_lists_float32_and_read_only_values_without_changing_them():
    mdp = small_mdp()
    V = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    V.setflags(write=False)
    expected = q_from_v(mdp, [1.0, 2.0, 4.0], 0.5)
    Q = q_from_v(mdp, V, 0.5)
    assert Q.dtype == np.float64
    np.testing.assert_array_equal(Q, expected)
    np.testing.assert_array_equal(V, [1.0, 2.0, 4.0])
    Q[0, 0] = 123.0  # a new array, owned by the caller
    np.testing.assert_array_equal(q_from_v(mdp, V, 0.5), expected)


@given(random_mdps(), st.data())
def test_q_from_v_matches_the_outcome_lists(model: RandomMDP, data):
    V = np.array(
        data.draw(
            st.lists(
                st.floats(-100, 100, allow_nan=False),
                min_size=model.n_states,
                max_size=model.n_states,
            ),
            label="V",
        )
    )
    gamma = data.draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]), label="gamma")
    expected = q_reference(model.P, V, gamma)
    for name, mdp in model.formulations().items():
        # the extra absorbing state of the from_arrays formulation is only ever
        # entered by terminating outcomes, so its value must not matter
        V_full = np.append(V, 12345.0) if mdp.n_states > model.n_states else V
        Q = q_from_v(mdp, V_full, gamma)
        np.testing.assert_allclose(
            Q[: model.n_states], expected, rtol=1e-12, atol=1e-10, err_msg=name
        )


@pytest.mark.parametrize("V", [np.zeros(2), np.zeros(4), np.zeros((3, 1)), np.zeros((1, 3))])
def test_q_from_v_rejects_values_of_the_wrong_shape(V):
    with pytest.raises(ValueError, match=r"\(3,\)"):
        q_from_v(small_mdp(), V, 0.9)


def test_q_from_v_rejects_non_finite_values():
    with pytest.raises(ValueError, match=r"state 1\b"):
        q_from_v(small_mdp(), np.array([0.0, np.nan, 0.0]), 0.9)


@pytest.mark.parametrize("gamma", [-0.1, 1.0 + 1e-9, 2.0, np.nan, np.inf])
def test_rejects_gamma_outside_the_unit_interval(gamma):
    mdp = small_mdp()
    with pytest.raises(ValueError, match="gamma"):
        q_from_v(mdp, np.zeros(3), gamma)
    with pytest.raises(ValueError, match="gamma"):
        policy_improvement(mdp, np.zeros(3), gamma)


# --------------------------------------------------------- policy_improvement
def test_policy_improvement_by_hand():
    # Q from test_q_from_v_by_hand: state 0 ties (0.5, 0.5) -> lowest index 0;
    # state 1 -> 0 (5.5 > 0.5); state 2 -> 1 (2.0 > 0.0).
    policy = policy_improvement(small_mdp(), np.array([1.0, 2.0, 4.0]), 0.5)
    np.testing.assert_array_equal(policy, [0, 0, 1])
    assert policy.shape == (3,)
    assert np.issubdtype(policy.dtype, np.integer)


def duplicated_action_mdp() -> TabularMDP:
    """Actions 1 and 2 are copies and better than 0; action 3 copies action 0."""
    P = {}
    for s in range(3):
        worse = [(1.0, (s + 1) % 3, -100.0, False)]
        better = [(0.5, s, 2.0, False), (0.5, (s + 2) % 3, 1.0, s == 2)]
        P[s] = {0: worse, 1: better, 2: list(better), 3: list(worse)}
    return TabularMDP.from_transitions(P)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.99])
def test_ties_go_to_the_lowest_action_index_below_gamma_one(gamma):
    mdp = duplicated_action_mdp()
    for V in (np.zeros(3), np.array([3.0, -1.0, 0.5])):
        np.testing.assert_array_equal(policy_improvement(mdp, V, gamma), [1, 1, 1])


def test_all_tied_actions_go_to_action_zero_below_gamma_one():
    # Every action of every state ties: the lowest index, 0, everywhere.
    mdp = stay_or_advance_mdp()
    np.testing.assert_array_equal(policy_improvement(mdp, np.zeros(3), 0.9), [0, 0, 0])


def stay_or_advance_mdp() -> TabularMDP:
    """Action 0 stays put forever, action 1 advances (0 -> 1 -> 2 -> end); all rewards 0.

    At γ = 1, V* = 0 everywhere and both actions tie everywhere, but only
    "advance" ever ends the episode, and only from state 2 immediately.
    """
    return TabularMDP.from_transitions(
        {
            0: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 1, 0.0, False)]},
            1: {0: [(1.0, 1, 0.0, False)], 1: [(1.0, 2, 0.0, False)]},
            2: {0: [(1.0, 2, 0.0, False)], 1: [(1.0, 2, 0.0, True)]},
        }
    )


def test_greedy_policy_at_gamma_one_prefers_termination_among_ties():
    # Lowest-index tie-breaking would stay put forever in every state.
    mdp = stay_or_advance_mdp()
    policy = policy_improvement(mdp, np.zeros(3), 1.0)
    assert terminates_almost_surely(mdp, policy).all(), policy
    np.testing.assert_array_equal(policy, [1, 1, 1])


def test_greedy_policy_at_gamma_one_keeps_strictly_better_actions():
    # At γ = 1 the preference for termination applies among ties only: in
    # state 0, moving on to state 1 earns +1 (Q = 1) and beats ending at once
    # (Q = 0), although only the latter terminates immediately.
    mdp = TabularMDP.from_transitions(
        {
            0: {0: [(1.0, 1, 1.0, False)], 1: [(1.0, 0, 0.0, True)]},
            1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 1, 0.0, True)]},
        }
    )
    np.testing.assert_array_equal(policy_improvement(mdp, np.zeros(2), 1.0), [0, 0])


def deterministic_frozen_lake_v_star() -> tuple[TabularMDP, np.ndarray]:
    # Map SFFF / FHFH / FFFH / HFFG: every frozen state can reach the goal, so
    # at γ = 1 V* = 1 there, and 0 in the holes (5, 7, 11, 12) and the goal (15).
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1", is_slippery=False))
    V = np.ones(16)
    V[[5, 7, 11, 12, 15]] = 0.0
    return mdp, V


def test_deterministic_frozen_lake_greedy_policy_reaches_the_goal():
    # At the start every action ties at value 1 (LEFT and UP bump a wall and
    # stay put); lowest-index argmax would pick LEFT and loop forever.
    mdp, V = deterministic_frozen_lake_v_star()
    Q = q_from_v(mdp, V, 1.0)
    np.testing.assert_allclose(Q[0], 1.0)
    policy = policy_improvement(mdp, V, 1.0)
    P = mdp.to_transitions()
    for start in np.flatnonzero(V == 1.0):
        state, total = int(start), 0.0
        for _ in range(16):
            ((_, state_next, reward, done),) = P[state][policy[state]]
            total += reward
            if done:
                break
            state = state_next
        assert done and total == 1.0, f"from state {start} the policy does not reach the goal"


@given(random_mdps(), st.data())
def test_policy_improvement_is_greedy_with_lowest_index_ties(model: RandomMDP, data):
    V = np.array(
        data.draw(
            st.lists(
                st.integers(-3, 3).map(float),  # small integers make exact ties likely
                min_size=model.n_states,
                max_size=model.n_states,
            ),
            label="V",
        )
    )
    gamma = data.draw(st.sampled_from([0.0, 0.5, 0.9]), label="gamma")
    policy = policy_improvement(model.from_transitions(), V, gamma)
    Q = q_reference(model.P, V, gamma)
    best = Q.max(axis=1)
    scale = 1e-9 * max(1.0, np.abs(Q).max())
    chosen = Q[np.arange(model.n_states), policy]
    assert np.all(chosen >= best - scale)
    # exact ties (equal in float64) resolve to the lowest index
    first = np.argmax(Q == best[:, None], axis=1)
    assert np.all(policy <= first)


@given(random_mdps(episodic=True), st.data())
def test_policy_improvement_at_gamma_one_is_greedy(model: RandomMDP, data):
    V = np.array(
        data.draw(
            st.lists(
                st.integers(-3, 3).map(float), min_size=model.n_states, max_size=model.n_states
            ),
            label="V",
        )
    )
    mdp = model.from_transitions()
    policy = policy_improvement(mdp, V, 1.0)
    Q = q_reference(model.P, V, 1.0)
    scale = 1e-9 * max(1.0, np.abs(Q).max())
    assert np.all(Q[np.arange(model.n_states), policy] >= Q.max(axis=1) - scale)


def test_policy_improvement_does_not_change_its_input():
    V = np.array([1.0, 2.0, 4.0])
    V.setflags(write=False)
    policy_improvement(small_mdp(), V, 0.5)
    np.testing.assert_array_equal(V, [1.0, 2.0, 4.0])


def test_policy_improvement_rejects_values_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        policy_improvement(small_mdp(), np.zeros(5), 0.9)
