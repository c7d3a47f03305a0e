"""Tests of rl_planners.mdp: the TabularMDP constructors, derived arrays and validation.

References are computed from the outcome lists themselves (``P[s][a]``, here
and in ``independent.dense_model``), never from the arrays under test.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import warnings
from collections import namedtuple
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from independent import dense_model
from strategies import RandomMDP, random_mdps

from rl_planners import ModelError, TabularMDP
from rl_planners.mdp import checks, p_reader

GYMNASIUM_ENVS = [
    pytest.param("FrozenLake-v1", {}, id="FrozenLake-v1"),
    pytest.param("FrozenLake8x8-v1", {}, id="FrozenLake8x8-v1"),
    pytest.param("FrozenLake-v1", {"is_slippery": False}, id="FrozenLake-v1-deterministic"),
    pytest.param("Taxi-v4", {}, id="Taxi-v4"),
    pytest.param("Taxi-v4", {"is_rainy": True}, id="Taxi-v4-rainy"),
    pytest.param("CliffWalking-v1", {}, id="CliffWalking-v1"),
    pytest.param("CliffWalkingSlippery-v1", {}, id="CliffWalkingSlippery-v1"),
]

ARRAY_FIELDS = ("row_offsets", "next_state", "prob", "reward", "terminated")


def small_P() -> dict:
    """Three states, two actions; a terminating outcome, a duplicate next state."""
    return {
        0: {
            0: [(1.0, 0, 0.0, False)],
            1: [(0.5, 1, 1.0, False), (0.5, 2, -1.0, True)],
        },
        1: {
            0: [(0.25, 2, 2.0, False), (0.75, 2, 4.0, False)],  # duplicate s' = 2
            1: [(1.0, 0, 0.0, False)],
        },
        2: {
            0: [(1.0, 2, 0.0, True)],
            1: [(0.25, 1, -2.0, False), (0.75, 2, 3.0, True)],
        },
    }


def assert_message(excinfo: pytest.ExceptionInfo, *patterns: str) -> None:
    """Every regex in ``patterns`` occurs in the exception's message."""
    message = str(excinfo.value)
    for pattern in patterns:
        assert re.search(pattern, message), f"{pattern!r} not found in {message!r}"


def assert_same_arrays(left: TabularMDP, right: TabularMDP) -> None:
    assert (left.n_states, left.n_actions) == (right.n_states, right.n_actions)
    for name in ARRAY_FIELDS:
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name), name)


# ------------------------------------------------------------ from_transitions
def test_from_transitions_reads_the_outcome_lists():
    mdp = TabularMDP.from_transitions(small_P())
    assert (mdp.n_states, mdp.n_actions) == (3, 2)
    np.testing.assert_array_equal(mdp.row_offsets, [0, 1, 3, 5, 6, 7, 9])
    np.testing.assert_array_equal(mdp.next_state, [0, 1, 2, 2, 2, 0, 2, 1, 2])
    np.testing.assert_array_equal(mdp.prob, [1.0, 0.5, 0.5, 0.25, 0.75, 1.0, 1.0, 0.25, 0.75])
    np.testing.assert_array_equal(mdp.reward, [0.0, 1.0, -1.0, 2.0, 4.0, 0.0, 0.0, -2.0, 3.0])
    np.testing.assert_array_equal(
        mdp.terminated, [False, False, True, False, False, False, True, False, True]
    )
    np.testing.assert_array_equal(mdp.initial_distribution, np.full(3, 1 / 3))


def test_expected_reward_by_hand():
    # R(s, a) = Σ prob · reward over the row:
    # R(0,1) = .5·1 + .5·(-1) = 0;  R(1,0) = .25·2 + .75·4 = 3.5;
    # R(2,1) = .25·(-2) + .75·3 = 1.75.
    R = TabularMDP.from_transitions(small_P()).R
    np.testing.assert_allclose(R, [[0.0, 0.0], [3.5, 0.0], [0.0, 1.75]], atol=1e-15)
    assert R.shape == (3, 2)
    assert R.dtype == np.float64


def test_continuation_by_hand():
    # Terminating outcomes add no continuation; the duplicate s' = 2 of (1, 0) adds up.
    continuation = TabularMDP.from_transitions(small_P()).continuation
    assert sp.issparse(continuation)
    assert continuation.format == "csr"
    assert continuation.shape == (6, 3)
    expected = [
        [1.0, 0.0, 0.0],  # (0, 0)
        [0.0, 0.5, 0.0],  # (0, 1): the 0.5 to state 2 terminates
        [0.0, 0.0, 1.0],  # (1, 0): 0.25 + 0.75, both to state 2
        [1.0, 0.0, 0.0],  # (1, 1)
        [0.0, 0.0, 0.0],  # (2, 0): terminates
        [0.0, 0.25, 0.0],  # (2, 1)
    ]
    np.testing.assert_allclose(continuation.toarray(), expected, atol=1e-15)


def test_from_transitions_accepts_lists_and_an_initial_distribution():
    P = small_P()
    as_lists = [[P[s][a] for a in range(2)] for s in range(3)]
    mdp = TabularMDP.from_transitions(as_lists, initial_distribution=[0.0, 0.25, 0.75])
    assert_same_arrays(mdp, TabularMDP.from_transitions(P))
    np.testing.assert_array_equal(mdp.initial_distribution, [0.0, 0.25, 0.75])
    assert mdp.initial_distribution.dtype == np.float64


def test_from_transitions_does_not_change_its_input():
    P = small_P()
    before = copy.deepcopy(P)
    TabularMDP.from_transitions(P).to_transitions()
    assert P == before


def test_model_error_is_a_value_error():
    assert issubclass(ModelError, ValueError)


# ------------------------------------------------------------------ round trip
@pytest.mark.parametrize(("env_id", "kwargs"), GYMNASIUM_ENVS)
def test_gymnasium_round_trip_is_exact(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    P = env.unwrapped.P
    mdp = TabularMDP.from_env(env)
    assert mdp.to_transitions() == P
    again = TabularMDP.from_transitions(mdp.to_transitions(), mdp.initial_distribution)
    assert_same_arrays(again, mdp)
    np.testing.assert_array_equal(again.initial_distribution, mdp.initial_distribution)


@pytest.mark.parametrize(("env_id", "kwargs"), GYMNASIUM_ENVS)
def test_from_env_reads_spaces_and_initial_distribution(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    base = env.unwrapped
    mdp = TabularMDP.from_env(env)
    assert mdp.n_states == base.observation_space.n
    assert mdp.n_actions == base.action_space.n
    np.testing.assert_array_equal(mdp.initial_distribution, base.initial_state_distrib)
    # wrapped or not, the same model
    assert_same_arrays(TabularMDP.from_env(base), mdp)


@pytest.mark.parametrize(("env_id", "kwargs"), GYMNASIUM_ENVS)
def test_continuation_and_reward_honour_terminated_and_sum_duplicates(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    mdp = TabularMDP.from_env(env)
    T, R = dense_model(env.unwrapped.P)
    continuation = T.reshape(-1, mdp.n_states)  # [S * A, S]
    np.testing.assert_allclose(mdp.continuation.toarray(), continuation, rtol=0, atol=1e-14)
    np.testing.assert_allclose(mdp.R, R, rtol=0, atol=1e-12)


def test_frozen_lake_duplicate_outcomes_add_up():
    # FrozenLake's slippery LEFT from the start lists state 0 twice (bumping the
    # west wall, and slipping up into the north wall), then state 4.
    P = gym.make("FrozenLake-v1").unwrapped.P
    (p1, s1, _, _), (p2, s2, _, _), (p3, s3, _, _) = P[0][0]
    assert (s1, s2, s3) == (0, 0, 4)
    row = TabularMDP.from_transitions(P).continuation[0].toarray().ravel()
    assert row[0] == pytest.approx(p1 + p2, abs=1e-15)
    assert row[4] == pytest.approx(p3, abs=1e-15)
    assert row.sum() == pytest.approx(1.0, abs=1e-15)


def test_frozen_lake_holes_and_goal_continue_nowhere():
    # Holes 5, 7, 11, 12 and goal 15 are zero-reward self-loops flagged terminated.
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    dense = mdp.continuation.toarray().reshape(16, 4, 16)
    for state in (5, 7, 11, 12, 15):
        assert not dense[state].any()
        np.testing.assert_array_equal(mdp.R[state], 0.0)


def test_taxi_drop_off_terminates_but_is_not_absorbing():
    # The successful drop-off earns +20 and terminates; its next state still has
    # ordinary moves in P. The outcome must add nothing to the continuation.
    env = gym.make("Taxi-v4")
    P = env.unwrapped.P
    mdp = TabularMDP.from_env(env)
    drop_offs = [
        (s, a) for s in P for a in P[s] if any(done and r == 20 for _, _, r, done in P[s][a])
    ]
    assert drop_offs
    for s, a in drop_offs:
        assert mdp.continuation[s * 6 + a].nnz == 0
        assert mdp.R[s, a] == 20.0
        (_, s_next, _, _) = P[s][a][0]
        assert any(not done for a2 in P[s_next] for _, _, _, done in P[s_next][a2])


# ------------------------------------------------------------------ from_arrays
def test_from_arrays_with_state_action_rewards():
    T = np.array(
        [
            [[0.5, 0.5], [0.0, 1.0]],
            [[1.0, 0.0], [0.2, 0.8]],
        ]
    )
    R = np.array([[1.0, -1.0], [0.0, 2.5]])
    mdp = TabularMDP.from_arrays(T, R)
    np.testing.assert_allclose(mdp.continuation.toarray(), T.reshape(4, 2), atol=1e-15)
    np.testing.assert_allclose(mdp.R, R, atol=1e-15)
    assert not mdp.terminated.any()


def test_from_arrays_with_transition_rewards():
    T = np.array([[[0.25, 0.75]], [[1.0, 0.0]]])
    R3 = np.array([[[4.0, -4.0]], [[1.0, 99.0]]])
    mdp = TabularMDP.from_arrays(T, R3)
    # R(0,0) = .25·4 + .75·(-4) = -2;  R(1,0) = 1·1 (the 99 has probability 0)
    np.testing.assert_allclose(mdp.R, [[-2.0], [1.0]], atol=1e-15)


def gridworld_4x4_arrays() -> tuple[np.ndarray, np.ndarray]:
    """S&B Example 4.1 dynamics: moves off the grid stay put, reward -1 everywhere."""
    T = np.zeros((16, 4, 16))
    for s in range(16):
        row, col = divmod(s, 4)
        for a, (dr, dc) in enumerate([(-1, 0), (0, 1), (1, 0), (0, -1)]):
            r, c = row + dr, col + dc
            if not (0 <= r < 4 and 0 <= c < 4):
                r, c = row, col
            T[s, a, 4 * r + c] = 1.0
    return T, -np.ones((16, 4))


def test_from_arrays_terminal_states_terminate_and_absorb():
    T, R = gridworld_4x4_arrays()
    T_before, R_before = T.copy(), R.copy()
    mdp = TabularMDP.from_arrays(T, R, terminal_states=[0, 15])
    np.testing.assert_array_equal(T, T_before)  # inputs untouched
    np.testing.assert_array_equal(R, R_before)
    dense = mdp.continuation.toarray().reshape(16, 4, 16)
    # every transition into a terminal state terminates ...
    np.testing.assert_array_equal(dense[:, :, [0, 15]], 0.0)
    P = mdp.to_transitions()
    for s in range(16):
        for a in range(4):
            for _, s_next, _, done in P[s][a]:
                if s_next in (0, 15):
                    assert done, (s, a, s_next)
    # ... and terminal rows are absorbing with no reward: V(terminal) = 0
    for state in (0, 15):
        assert not dense[state].any()
        np.testing.assert_array_equal(mdp.R[state], 0.0)
    # the other rows keep their dynamics and rewards
    np.testing.assert_array_equal(mdp.R[1:15], -1.0)
    np.testing.assert_allclose(dense[5], T[5], atol=0)


def test_from_arrays_initial_distribution():
    T, R = gridworld_4x4_arrays()
    start = np.zeros(16)
    start[5] = 1.0
    mdp = TabularMDP.from_arrays(T, R, terminal_states=[0, 15], initial_distribution=start)
    np.testing.assert_array_equal(mdp.initial_distribution, start)
    uniform = TabularMDP.from_arrays(T, R)
    np.testing.assert_allclose(uniform.initial_distribution, np.full(16, 1 / 16))


# ---------------------------------------------------------------- from_outcomes
def test_from_outcomes_drops_padding_and_matches_the_dict():
    P = small_P()
    next_state = np.zeros((3, 2, 2), dtype=np.int64)
    prob = np.zeros((3, 2, 2))
    reward = np.zeros((3, 2, 2))
    terminated = np.zeros((3, 2, 2), dtype=bool)
    for s in range(3):
        for a in range(2):
            for k, (p, s_next, r, done) in enumerate(P[s][a]):
                next_state[s, a, k], prob[s, a, k] = s_next, p
                reward[s, a, k], terminated[s, a, k] = r, done
    mdp = TabularMDP.from_outcomes(next_state, prob, reward, terminated)
    assert mdp.n_outcomes == 9  # 12 slots, 3 of them padding
    assert_same_arrays(mdp, TabularMDP.from_transitions(P))
    assert mdp.to_transitions() == P


def test_from_outcomes_defaults():
    next_state = np.array([[[0, 1]], [[1, 1]]])
    prob = np.array([[[0.5, 0.5]], [[1.0, 0.0]]])
    reward = np.array([[3.0], [-1.0]])  # one reward per (s, a)
    mdp = TabularMDP.from_outcomes(next_state, prob, reward)
    assert not mdp.terminated.any()
    np.testing.assert_array_equal(mdp.reward, [3.0, 3.0, -1.0])
    np.testing.assert_allclose(mdp.R, [[3.0], [-1.0]])
    np.testing.assert_allclose(mdp.initial_distribution, [0.5, 0.5])
    for name, dtype in [("prob", np.float64), ("reward", np.float64), ("next_state", np.int64)]:
        assert getattr(mdp, name).dtype == dtype


# ------------------------------------------------------------------ immutability
@pytest.mark.parametrize("name", [*ARRAY_FIELDS, "initial_distribution", "R"])
def test_arrays_are_read_only(name):
    mdp = TabularMDP.from_transitions(small_P())
    array = getattr(mdp, name)
    with pytest.raises(ValueError, match="read-only"):
        array[0] = array[0]


def test_model_attributes_cannot_be_reassigned():
    mdp = TabularMDP.from_transitions(small_P())
    with pytest.raises(dataclasses.FrozenInstanceError):
        mdp.n_states = 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        mdp.prob = np.ones(9)


# ------------------------------------------------------------- errors: the dict
def with_row(s: int, a: int, outcomes) -> dict:
    P = small_P()
    P[s][a] = outcomes
    return P


NAN, INF = math.nan, math.inf

BAD_TRANSITIONS = [
    pytest.param(
        with_row(1, 0, [(-0.5, 2, 0.0, False), (1.5, 0, 0.0, False)]),
        [r"probabilit", r"state 1\b", r"action 0\b", r"-0\.5"],
        id="negative-probability",
    ),
    pytest.param(
        with_row(2, 1, [(NAN, 1, 0.0, False), (1.0, 2, 0.0, False)]),
        [r"probabilit", r"state 2\b", r"action 1\b", r"nan"],
        id="nan-probability",
    ),
    pytest.param(
        with_row(0, 1, [(INF, 1, 0.0, False)]),
        [r"probabilit", r"state 0\b", r"action 1\b", r"inf"],
        id="inf-probability",
    ),
    pytest.param(
        with_row(0, 1, [(0.5, 1, 0.0, False), (0.4, 2, 0.0, False)]),
        [r"sum", r"state 0\b", r"action 1\b", r"0\.9"],
        id="row-sums-below-one",
    ),
    pytest.param(
        with_row(1, 1, [(0.7, 1, 0.0, False), (0.7, 2, 0.0, False)]),
        [r"sum", r"state 1\b", r"action 1\b", r"1\.4"],
        id="row-sums-above-one",
    ),
    pytest.param(
        with_row(1, 0, []),
        [r"sum", r"state 1\b", r"action 0\b"],
        id="no-outcomes",
    ),
    pytest.param(
        with_row(1, 1, [(1.0, 3, 0.0, False)]),
        [r"next state", r"state 1\b", r"action 1\b", r"\b3\b"],
        id="next-state-too-large",
    ),
    pytest.param(
        with_row(0, 0, [(1.0, -1, 0.0, False)]),
        [r"next state", r"state 0\b", r"action 0\b", r"-1\b"],
        id="next-state-negative",
    ),
    pytest.param(
        with_row(2, 0, [(1.0, 1.5, 0.0, False)]),
        [r"next state", r"state 2\b", r"action 0\b", r"1\.5"],
        id="next-state-not-integer",
    ),
    pytest.param(
        with_row(1, 0, [(1.0, 2, NAN, False)]),
        [r"reward", r"state 1\b", r"action 0\b", r"nan"],
        id="nan-reward",
    ),
    pytest.param(
        with_row(0, 1, [(0.5, 1, INF, False), (0.5, 2, 0.0, True)]),
        [r"reward", r"state 0\b", r"action 1\b", r"inf"],
        id="inf-reward",
    ),
    pytest.param(
        with_row(2, 1, [(1.0, 1, -INF, False)]),
        [r"reward", r"state 2\b", r"action 1\b", r"-inf"],
        id="minus-inf-reward",
    ),
    pytest.param(
        with_row(1, 1, [(1.0, 0, 0.0)]),
        [r"state 1\b", r"action 1\b", r"\(prob, next_state, reward, terminated\)"],
        id="outcome-of-three",
    ),
    pytest.param(
        with_row(0, 0, [(1.0, 0, "x", False)]),
        [r"state 0\b", r"action 0\b"],
        id="reward-not-a-number",
    ),
    pytest.param(
        with_row(2, 0, [None]),
        [r"state 2\b", r"action 0\b"],
        id="outcome-is-none",
    ),
]


@pytest.mark.parametrize(("P", "patterns"), BAD_TRANSITIONS)
def test_bad_outcomes_raise_model_error_naming_where(P, patterns):
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_transitions(P)
    assert_message(excinfo, *patterns)


def test_missing_state():
    P = small_P()
    P[3] = P.pop(2)  # states 0, 1, 3: state 2 is missing
    with pytest.raises(ModelError, match=r"state 2\b"):
        TabularMDP.from_transitions(P)


def test_missing_action_key():
    P = small_P()
    P[1] = {0: P[1][0], 2: P[1][1]}  # actions 0, 2: action 1 is missing
    with pytest.raises(ModelError, match=r"action 1\b") as excinfo:
        TabularMDP.from_transitions(P)
    assert_message(excinfo, r"(state |P\[)1\b")


def test_state_with_fewer_actions():
    P = small_P()
    del P[2][1]
    with pytest.raises(ModelError, match=r"state 2\b") as excinfo:
        TabularMDP.from_transitions(P)
    assert_message(excinfo, r"action")


def test_state_with_more_actions():
    P = small_P()
    P[1][2] = [(1.0, 0, 0.0, False)]
    with pytest.raises(ModelError, match=r"state 1\b"):
        TabularMDP.from_transitions(P)


@pytest.mark.parametrize("P", [{}, [], 5, "abc", None], ids=repr)
def test_not_a_transition_table(P):
    with pytest.raises(ModelError, match="P"):
        TabularMDP.from_transitions(P)


@pytest.mark.parametrize("where", ["state", "action"])
def test_row_that_is_none(where):
    P = small_P()
    if where == "state":
        P[1] = None
    else:
        P[1][0] = None
    with pytest.raises(ModelError, match=r"(state |P\[)1\b"):
        TabularMDP.from_transitions(P)


@pytest.mark.parametrize(
    ("initial", "patterns"),
    [
        ([0.5, 0.5], [r"initial_distribution", r"\(3,\)"]),
        ([1.5, -0.5, 0.0], [r"initial_distribution", r"state 1\b", r"-0\.5"]),
        ([0.5, 0.2, 0.0], [r"initial_distribution", r"sum"]),
        ([NAN, 0.5, 0.5], [r"initial_distribution", r"state 0\b", r"nan"]),
        ([[1.0, 0.0, 0.0]], [r"initial_distribution", r"shape"]),
    ],
    ids=["wrong-length", "negative", "sum", "nan", "2d"],
)
def test_bad_initial_distribution(initial, patterns):
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_transitions(small_P(), initial_distribution=initial)
    assert_message(excinfo, *patterns)


def test_non_numeric_initial_distribution():
    with pytest.raises(ModelError, match="initial_distribution"):
        TabularMDP.from_transitions(small_P(), initial_distribution="abc")


def test_terminated_flag_none_is_not_read_as_true():
    P = with_row(1, 0, [(1.0, 2, 0.0, None)])
    try:
        mdp = TabularMDP.from_transitions(P)
    except ModelError:
        return
    assert not mdp.terminated[mdp.row_offsets[2]]  # the outcome of (1, 0)


@pytest.mark.parametrize(
    ("outcome", "match"),
    [
        (
            (1.0, 2, 0.0, 0.5),
            r"terminated flags must be True or False; got 0\.5 at state 1, action 0",
        ),
        (
            (1.0, 2, 0.0, float("nan")),
            r"terminated flags must be True or False; got nan at state 1",
        ),
        (  # an int far out of range is named as given (a float 1e30 is a type error)
            (1.0, 10**30, 0.0, False),
            r"next states must lie in 0\.\.2; got 10{30} at state 1, action 0",
        ),
        ((1.0, 2.5, 0.0, False), r"next states must be integers; got 2\.5 at state 1, action 0"),
    ],
)
def test_outcome_fields_are_checked_before_conversion(outcome, match):
    with pytest.raises(ModelError, match=match):
        TabularMDP.from_transitions(with_row(1, 0, [outcome]))


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read outcomes two at a time, so that a small model spans several blocks."""
    monkeypatch.setattr(p_reader, "_OUTCOME_BLOCK", 2)


def test_outcomes_read_in_blocks_are_the_outcome_lists(tiny_blocks):
    env = gym.make("FrozenLake8x8-v1").unwrapped
    mdp = TabularMDP.from_transitions(env.P)
    outcomes = [o for s in range(64) for a in range(4) for o in env.P[s][a]]
    for k, name in enumerate(("prob", "next_state", "reward", "terminated")):
        np.testing.assert_array_equal(getattr(mdp, name), [o[k] for o in outcomes], name)
    assert mdp.next_state.dtype == np.int64 and mdp.terminated.dtype == np.bool_


@pytest.mark.parametrize(("P", "patterns"), BAD_TRANSITIONS)
def test_bad_outcomes_in_a_later_block_are_named_as_before(tiny_blocks, P, patterns):
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_transitions(P)
    assert_message(excinfo, *patterns)


# ------------------------------------------------------------ errors: arrays
def valid_arrays() -> tuple[np.ndarray, np.ndarray]:
    T = np.zeros((3, 2, 3))
    T[:, :, 0] = 1.0
    return T, np.zeros((3, 2))


def test_from_arrays_rejects_pymdptoolbox_layout():
    # (A, S, S) = (2, 3, 3): the message says how to transpose
    with pytest.raises(ModelError, match=r"\(S, A, S\)") as excinfo:
        TabularMDP.from_arrays(np.zeros((2, 3, 3)), np.zeros((3, 2)))
    assert_message(excinfo, r"transpose")


@pytest.mark.parametrize("shape", [(3, 3), (3, 2, 3, 1)])
def test_from_arrays_rejects_transitions_of_wrong_rank(shape):
    with pytest.raises(ModelError, match=r"shape"):
        TabularMDP.from_arrays(np.zeros(shape), np.zeros((3, 2)))


def test_from_arrays_rejects_rewards_of_wrong_shape():
    T, _ = valid_arrays()
    with pytest.raises(ModelError, match=r"rewards") as excinfo:
        TabularMDP.from_arrays(T, np.zeros((3, 3)))
    assert_message(excinfo, r"\(3, 3\)")


@pytest.mark.parametrize("value", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_from_arrays_rejects_non_finite_rewards(value):
    T, R = valid_arrays()
    R[1, 0] = value
    with pytest.raises(ModelError, match=r"reward") as excinfo:
        TabularMDP.from_arrays(T, R)
    assert_message(excinfo, r"state 1\b", r"action 0\b")
    R3 = np.zeros((3, 2, 3))
    R3[2, 1, 0] = value
    with pytest.raises(ModelError, match=r"reward") as excinfo:
        TabularMDP.from_arrays(T, R3)
    assert_message(excinfo, r"state 2\b", r"action 1\b")


def test_from_arrays_rejects_bad_probabilities():
    T, R = valid_arrays()
    T[1, 1, 0] = 0.9
    with pytest.raises(ModelError, match=r"sum") as excinfo:
        TabularMDP.from_arrays(T, R)
    assert_message(excinfo, r"state 1\b", r"action 1\b")
    T, R = valid_arrays()
    T[0, 1, 0], T[0, 1, 2] = 1.5, -0.5
    with pytest.raises(ModelError, match=r"-0\.5") as excinfo:
        TabularMDP.from_arrays(T, R)
    assert_message(excinfo, r"state 0\b", r"action 1\b")
    T, R = valid_arrays()
    T[2, 0, 1] = NAN
    with pytest.raises(ModelError, match=r"nan") as excinfo:
        TabularMDP.from_arrays(T, R)
    assert_message(excinfo, r"state 2\b", r"action 0\b")


@pytest.mark.parametrize("terminal", [[5], [-1], [1.5]], ids=["too-large", "negative", "float"])
def test_from_arrays_rejects_bad_terminal_states(terminal):
    T, R = valid_arrays()
    with pytest.raises(ModelError, match=r"terminal_states"):
        TabularMDP.from_arrays(T, R, terminal_states=terminal)


@pytest.mark.parametrize("transitions", [[[[1.0]], [[1.0, 0.0]]], "abc"], ids=["ragged", "string"])
def test_from_arrays_rejects_non_numeric_transitions(transitions):
    with pytest.raises(ModelError):
        TabularMDP.from_arrays(transitions, np.zeros((1, 1)))


def valid_outcomes():
    next_state = np.zeros((2, 2, 2), dtype=np.int64)
    prob = np.zeros((2, 2, 2))
    prob[..., 0] = 1.0
    return next_state, prob, np.zeros((2, 2, 2))


def test_from_outcomes_rejects_bad_shapes():
    next_state, prob, reward = valid_outcomes()
    with pytest.raises(ModelError, match=r"\(S, A, K\)"):
        TabularMDP.from_outcomes(next_state[0], prob, reward)
    with pytest.raises(ModelError, match=r"prob"):
        TabularMDP.from_outcomes(next_state, prob[..., :1], reward)
    with pytest.raises(ModelError, match=r"reward"):
        TabularMDP.from_outcomes(next_state, prob, reward[..., :1])
    with pytest.raises(ModelError, match=r"terminated"):
        TabularMDP.from_outcomes(next_state, prob, reward, np.zeros((2, 2), dtype=bool))


def test_from_outcomes_rejects_bad_values():
    next_state, prob, reward = valid_outcomes()
    next_state[1, 0, 0] = 7
    with pytest.raises(ModelError, match=r"next state") as excinfo:
        TabularMDP.from_outcomes(next_state, prob, reward)
    assert_message(excinfo, r"state 1\b", r"action 0\b", r"\b7\b")
    next_state, prob, reward = valid_outcomes()
    reward[0, 1, 0] = NAN
    with pytest.raises(ModelError, match=r"reward") as excinfo:
        TabularMDP.from_outcomes(next_state, prob, reward)
    assert_message(excinfo, r"state 0\b", r"action 1\b")
    next_state, prob, reward = valid_outcomes()
    prob[1, 1] = [0.5, 0.25]
    with pytest.raises(ModelError, match=r"sum") as excinfo:
        TabularMDP.from_outcomes(next_state, prob, reward)
    assert_message(excinfo, r"state 1\b", r"action 1\b")


@pytest.mark.parametrize("empty", ["no-states", "no-outcomes", "arrays-no-states"])
def test_empty_models_raise_model_error(empty):
    with pytest.raises(ModelError):
        if empty == "no-states":
            TabularMDP.from_outcomes(
                np.zeros((0, 2, 2), int), np.zeros((0, 2, 2)), np.zeros((0, 2, 2))
            )
        elif empty == "no-outcomes":
            TabularMDP.from_outcomes(
                np.zeros((2, 2, 0), int), np.zeros((2, 2, 0)), np.zeros((2, 2, 0))
            )
        else:
            TabularMDP.from_arrays(np.zeros((0, 2, 0)), np.zeros((0, 2)))


# --------------------------------------------------------------- errors: envs
class _DiscreteEnv(gym.Env):
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)


class _EnvWithSmallP(_DiscreteEnv):
    P: ClassVar[dict] = {0: {0: [(1.0, 0, 0.0, False)]}}
    initial_state_distrib = np.array([1.0])


class _EnvWithoutInitialDistribution(gym.Env):
    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(1)
    P: ClassVar[dict] = {0: {0: [(1.0, 1, 1.0, True)]}, 1: {0: [(1.0, 1, 0.0, True)]}}


class _EnvStartingAtOne(gym.Env):
    observation_space = gym.spaces.Discrete(1, start=1)
    action_space = gym.spaces.Discrete(1)
    P: ClassVar[dict] = {0: {0: [(1.0, 0, 0.0, False)]}}


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Blackjack-v1", "MountainCar-v0"])
def test_from_env_needs_discrete_spaces(env_id):
    with pytest.raises(ModelError, match=r"Discrete") as excinfo:
        TabularMDP.from_env(gym.make(env_id))
    assert_message(excinfo, env_id)


def test_from_env_needs_spaces_starting_at_zero():
    with pytest.raises(ModelError, match=r"start"):
        TabularMDP.from_env(_EnvStartingAtOne())


def test_from_env_needs_a_model():
    with pytest.raises(ModelError, match=r"\bP\b") as excinfo:
        TabularMDP.from_env(_DiscreteEnv())
    assert_message(excinfo, r"from_transitions|from_arrays")


def test_from_env_checks_the_model_against_the_spaces():
    with pytest.raises(ModelError, match=r"states") as excinfo:
        TabularMDP.from_env(_EnvWithSmallP())
    assert_message(excinfo, r"\b1\b", r"\b2\b")


def test_from_env_without_initial_distribution_warns_and_uses_uniform():
    with pytest.warns(UserWarning, match=r"initial"):
        mdp = TabularMDP.from_env(_EnvWithoutInitialDistribution())
    np.testing.assert_array_equal(mdp.initial_distribution, [0.5, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = TabularMDP.from_env(
            _EnvWithoutInitialDistribution(), initial_distribution=[1.0, 0.0]
        )
    np.testing.assert_array_equal(explicit.initial_distribution, [1.0, 0.0])


# ------------------------------------------------------------------ properties
@given(random_mdps())
def test_round_trip_property(model: RandomMDP):
    mdp = model.from_transitions()
    assert mdp.to_transitions() == model.P
    assert_same_arrays(TabularMDP.from_transitions(mdp.to_transitions()), mdp)


@given(random_mdps())
def test_formulations_derive_the_same_continuation_and_reward(model: RandomMDP):
    T, R = dense_model(model.P)
    continuation = T.reshape(-1, model.n_states)  # [S * A, S]
    for mdp in (model.from_transitions(), model.from_outcomes()):
        np.testing.assert_allclose(mdp.continuation.toarray(), continuation, atol=1e-14)
        np.testing.assert_allclose(mdp.R, R, atol=1e-12)
    S, A = model.n_states, model.n_actions
    with_sink = model.from_arrays_with_sink()
    np.testing.assert_allclose(
        with_sink.continuation.toarray()[: S * A, :S], continuation, atol=1e-14
    )
    np.testing.assert_allclose(with_sink.R[:S], R, atol=1e-12)


CORRUPTIONS = [
    "negative-probability",
    "nan-probability",
    "scaled-probability",
    "next-state-too-large",
    "next-state-negative",
    "nan-reward",
    "inf-reward",
    "drop-terminated-flag",
    "reward-is-text",
    "empty-row",
    "drop-action",
]


@given(random_mdps(), st.data())
def test_corrupted_models_raise_model_error(model: RandomMDP, data):
    """Every corruption of a valid model raises ModelError, never another exception."""
    P = copy.deepcopy(model.P)
    s = data.draw(st.integers(0, model.n_states - 1), label="state")
    a = data.draw(st.integers(0, model.n_actions - 1), label="action")
    kind = data.draw(st.sampled_from(CORRUPTIONS), label="corruption")
    outcomes = P[s][a]
    # the outcome with the largest probability, so that scaling it is visible
    k = max(range(len(outcomes)), key=lambda i: outcomes[i][0])
    p, s_next, r, done = outcomes[k]
    replace = {
        "negative-probability": (-p - 0.5, s_next, r, done),
        "nan-probability": (NAN, s_next, r, done),
        "scaled-probability": (p * 0.5, s_next, r, done),
        "next-state-too-large": (p, model.n_states + s_next, r, done),
        "next-state-negative": (p, -1 - s_next, r, done),
        "nan-reward": (p, s_next, NAN, done),
        "inf-reward": (p, s_next, -INF, done),
        "drop-terminated-flag": (p, s_next, r),
        "reward-is-text": (p, s_next, "reward", done),
    }
    if kind in replace:
        outcomes[k] = replace[kind]
    elif kind == "empty-row":
        P[s][a] = []
    else:
        # a single state losing its last action is still a valid model
        assume(model.n_states > 1 or a < model.n_actions - 1 or model.n_actions == 1)
        del P[s][a]
    with pytest.raises(ModelError):
        TabularMDP.from_transitions(P)


# ------------------------------------------------------- a model owns its arrays
def _outcome_inputs(padded: bool) -> dict:
    """(S, A, K) = (2, 2, 2) outcome arrays; with ``padded`` one slot has probability 0."""
    prob = np.full((2, 2, 2), 0.5)
    if padded:
        prob[1, 1] = [1.0, 0.0]
    return {
        "next_state": np.array([[[0, 1], [1, 1]], [[0, 0], [1, 0]]]),
        "prob": prob,
        "reward": np.arange(8.0).reshape(2, 2, 2),
        "terminated": np.array([[[False, True], [False, False]], [[True, False], [False, True]]]),
        "initial_distribution": np.array([0.25, 0.75]),
    }


def _build(constructor: str) -> tuple[dict, object]:
    """The inputs of one construction, and a function building the model from them."""
    if constructor in ("from_outcomes", "from_outcomes_padded"):
        inputs = _outcome_inputs(padded=constructor.endswith("padded"))
        return inputs, lambda: TabularMDP.from_outcomes(**inputs)
    if constructor == "from_outcomes_pair_reward":
        inputs = _outcome_inputs(padded=False)
        inputs["reward"] = np.array([[1.0, 2.0], [3.0, 4.0]])
        return inputs, lambda: TabularMDP.from_outcomes(**inputs)
    if constructor in ("from_arrays", "from_arrays_transition_reward"):
        T = np.full((2, 2, 2), 0.5)
        R = np.ones((2, 2, 2)) if constructor.endswith("reward") else np.ones((2, 2))
        inputs = {"transitions": T, "rewards": R, "terminal_states": np.array([1])}
        inputs["initial_distribution"] = np.array([1.0, 0.0])
        return inputs, lambda: TabularMDP.from_arrays(**inputs)
    if constructor == "direct":
        model = TabularMDP.from_outcomes(**_outcome_inputs(padded=False))
        inputs = {name: np.array(getattr(model, name)) for name in MODEL_ARRAYS}
        return inputs, lambda: TabularMDP(2, 2, **inputs)
    if constructor == "with_initial_distribution":
        inputs = {"initial_distribution": np.array([0.5, 0.5])}
        base = TabularMDP.from_transitions(small_P())
        inputs["initial_distribution"] = np.array([0.2, 0.3, 0.5])
        return inputs, lambda: base.with_initial_distribution(inputs["initial_distribution"])
    raise AssertionError(constructor)


MODEL_ARRAYS = (*ARRAY_FIELDS, "initial_distribution")
ARRAY_CONSTRUCTIONS = [
    (constructor, name)
    for constructor in (
        "from_outcomes",
        "from_outcomes_padded",
        "from_outcomes_pair_reward",
        "from_arrays",
        "from_arrays_transition_reward",
        "direct",
        "with_initial_distribution",
    )
    for name in _build(constructor)[0]
]


def _snapshot(mdp: TabularMDP) -> dict:
    return {name: np.array(getattr(mdp, name)) for name in MODEL_ARRAYS}


def _assert_unchanged(mdp: TabularMDP, before: dict) -> None:
    for name in MODEL_ARRAYS:
        np.testing.assert_array_equal(getattr(mdp, name), before[name], name)
        assert not getattr(mdp, name).flags.writeable, name
        with pytest.raises(ValueError):  # nor can it be made writable again
            getattr(mdp, name).setflags(write=True)


@pytest.mark.parametrize(("constructor", "name"), ARRAY_CONSTRUCTIONS)
def test_changing_an_input_array_afterwards_leaves_the_model_unchanged(constructor, name):
    inputs, build = _build(constructor)
    mdp = build()
    before = _snapshot(mdp)
    array = inputs[name]
    for field in MODEL_ARRAYS:
        assert not np.shares_memory(getattr(mdp, field), array), (field, name)
    array[...] = ~array if array.dtype == bool else array + 1  # every entry changes
    _assert_unchanged(mdp, before)


def test_changing_p_afterwards_leaves_the_model_unchanged():
    P = small_P()
    initial = np.array([0.2, 0.3, 0.5])
    mdp = TabularMDP.from_transitions(P, initial)
    before = _snapshot(mdp)
    P[1][0][0] = (0.25, 0, 9.0, True)
    P[2][1].append((0.0, 0, 0.0, False))
    initial[:] = [1.0, 0.0, 0.0]
    _assert_unchanged(mdp, before)


def test_changing_the_env_afterwards_leaves_the_model_unchanged():
    # measured on the shared model: 0.5420 became 0.8628 after this change
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_env(env)
    before = _snapshot(mdp)
    env.unwrapped.initial_state_distrib[:] = 0.0
    env.unwrapped.initial_state_distrib[14] = 1.0
    env.unwrapped.P[14][2][0] = (1.0, 15, 5.0, True)
    _assert_unchanged(mdp, before)
    np.testing.assert_array_equal(mdp.initial_distribution, np.eye(16)[0])


def test_from_env_with_a_given_initial_distribution_copies_it():
    initial = np.eye(16)[4]
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"), initial_distribution=initial)
    initial[:] = np.eye(16)[0]
    np.testing.assert_array_equal(mdp.initial_distribution, np.eye(16)[4])


def test_derived_arrays_are_read_only():
    mdp = TabularMDP.from_transitions(small_P())
    for name in ("R", "outcome_row", "termination_probability", "continuation_probability"):
        assert not getattr(mdp, name).flags.writeable, name


# -------------------------------------------------- values only of their types
P_TYPE_ERRORS = [  # (outcome replacing P[1][0]'s only one, the message's regexes)
    (("0.5", 2, 0.0, False), [r"probabilities must be numbers", r"'0\.5'", r"\bstr\b"]),
    ((True, 2, 0.0, False), [r"probabilities must be numbers", r"True", r"\bbool\b"]),
    ((1.0, 2, "6", False), [r"rewards must be numbers", r"'6'", r"\bstr\b"]),
    ((1.0, 2, True, False), [r"rewards must be numbers", r"\bbool\b"]),
    ((1.0, 2, None, False), [r"rewards must be numbers", r"None"]),
    ((1.0, 2, 1j, False), [r"rewards must be numbers", r"\bcomplex\b"]),
    ((1.0, "1", 0.0, False), [r"next states must be integers", r"'1'", r"\bstr\b"]),
    ((1.0, True, 0.0, False), [r"next states must be integers", r"True", r"\bbool\b"]),
    ((1.0, 2.0, 0.0, False), [r"next states must be integers", r"2\.0", r"\bfloat\b"]),
    ((1.0, np.float64(2.0), 0.0, False), [r"next states must be integers", r"float64"]),
    ((1.0, 1e30, 0.0, False), [r"next states must be integers", r"1e\+30"]),
    ((1.0, 2, 0.0, 1.0), [r"terminated flags must be True or False", r"1\.0", r"\bfloat\b"]),
    ((1.0, 2, 0.0, 1), [r"terminated flags must be True or False", r"\bint\b"]),
    ((1.0, 2, 0.0, "True"), [r"terminated flags must be True or False", r"\bstr\b"]),
    ((1.0, 2, 0.0, None), [r"terminated flags must be True or False", r"None"]),
]


@pytest.mark.parametrize(("outcome", "patterns"), P_TYPE_ERRORS, ids=repr)
@pytest.mark.parametrize("blocks", ["one-block", "tiny-blocks"])
def test_p_values_of_the_wrong_type_are_errors(outcome, patterns, blocks, monkeypatch):
    if blocks == "tiny-blocks":
        monkeypatch.setattr(p_reader, "_OUTCOME_BLOCK", 2)
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_transitions(with_row(1, 0, [outcome]))
    assert_message(excinfo, r"state 1, action 0, outcome 0\b", *patterns[1:])


EXACT_ROAD_DEFECTS = [  # one value of each outcome field, of a type the exact road must refuse
    (0, "0.5"), (0, True), (0, 1), (0, np.float64(0.5)), (0, None), (0, 1j),
    (1, True), (1, 2.0), (1, np.int64(2)), (1, 2**31), (1, "2"), (1, None),
    (2, False), (2, -1), (2, np.float64(-1.0)), (2, "-1.0"), (2, complex(-1, 0)),
    (3, 1), (3, 0.0), (3, np.True_), (3, "True"), (3, None),
]  # fmt: skip


def exact_block(size: int) -> list:
    """``size`` outcomes of exactly (float, int, float, bool), as toy_text envs build them."""
    return [(0.25 * (k % 4), k % 7, -1.0 * k, k % 3 == 0) for k in range(size)]


def read_exact(block: list) -> tuple[bool, tuple[np.ndarray, ...]]:
    columns = (
        np.zeros(len(block)),
        np.zeros(len(block), dtype=np.int64),
        np.zeros(len(block)),
        np.zeros(len(block), dtype=np.bool_),
    )
    return p_reader._read_exact_block(block, columns, 0, len(block)), columns


def test_the_exact_road_reads_toy_text_outcomes_as_written():
    assert p_reader._EXACT_ROAD  # this Python writes marshal version 2 as the road reads it
    block = exact_block(50)
    taken, (prob, next_state, reward, terminated) = read_exact(block)
    assert taken
    for k, column in enumerate((prob, next_state, reward, terminated)):
        np.testing.assert_array_equal(column, [outcome[k] for outcome in block])


@pytest.mark.parametrize("position", [0, 1, 24, 49])
@pytest.mark.parametrize(("field", "value"), EXACT_ROAD_DEFECTS, ids=repr)
def test_the_exact_road_refuses_any_other_type_anywhere(field, value, position):
    block = exact_block(50)
    outcome = list(block[position])
    outcome[field] = value
    block[position] = tuple(outcome)
    assert not read_exact(block)[0]


OUTCOME = namedtuple("OUTCOME", "prob next_state reward terminated")


@pytest.mark.parametrize(
    "replace",
    [
        list,
        OUTCOME._make,  # a tuple subclass
        lambda o: (*o, 0.0),
        lambda o: o[:3],
        lambda o: (*o[:3], 0.0, True),  # 5 fields (a 3-tuple below evens the count)
        lambda o: "abcd",
        lambda o: None,
        lambda o: (o,),
    ],
    ids=["list", "namedtuple", "5-tuple", "3-tuple", "5-tuple-bool", "str", "None", "nested"],
)
def test_the_exact_road_refuses_outcomes_that_are_not_4_tuples(replace):
    block = exact_block(20)
    block[7] = replace(block[7])
    if block[7] is not None and len(block[7]) == 5:
        block[12] = block[12][:3]  # 80 values in all, as 20 outcomes have: counting misses it
    assert not read_exact(block)[0]


@settings(max_examples=60, deadline=None)
@given(random_mdps(), st.integers(0, 3))
def test_exact_and_typed_roads_read_p_alike(model, spell):
    P = {
        s: {a: [spell_outcome(o, spell) for o in model.P[s][a]] for a in model.P[s]}
        for s in model.P
    }
    fast = TabularMDP.from_transitions(P)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(p_reader, "_EXACT_ROAD", False)
        typed = TabularMDP.from_transitions(P)
    for name in ("row_offsets", "next_state", "prob", "reward", "terminated"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(typed, name), name)


def spell_outcome(outcome: tuple, spell: int) -> tuple:
    """The outcome exact (0), with an int reward (1), a NumPy flag (2) or as a list (3)."""
    prob, state, reward, done = outcome
    return [
        outcome,
        (prob, state, int(reward), done),
        (prob, state, reward, np.bool_(done)),
        [prob, state, reward, done],
    ][spell]


def test_p_accepts_numpy_scalars_and_int_rewards():
    P = with_row(
        1, 0, [(np.float32(0.25), np.int32(2), 4, np.True_), (0.75, np.int64(0), 1, False)]
    )
    mdp = TabularMDP.from_transitions(P)
    row = slice(mdp.row_offsets[2], mdp.row_offsets[3])
    np.testing.assert_array_equal(mdp.prob[row], [0.25, 0.75])
    np.testing.assert_array_equal(mdp.next_state[row], [2, 0])
    np.testing.assert_array_equal(mdp.reward[row], [4.0, 1.0])
    np.testing.assert_array_equal(mdp.terminated[row], [True, False])


@pytest.mark.parametrize(
    ("value", "patterns"),
    [
        (10**400, [r"probabilities must be finite", r"float64 cannot hold"]),
        (10**5000, [r"probabilities must be finite", r"an int of \d+ bits"]),
    ],
    ids=["1e400", "1e5000"],
)
def test_p_numbers_beyond_float64_are_errors(value, patterns):
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_transitions(with_row(1, 0, [(value, 2, 0.0, False)]))
    assert_message(excinfo, r"state 1, action 0, outcome 0", *patterns[1:])
    with pytest.raises(ModelError, match=r"rewards must be finite"):
        TabularMDP.from_transitions(with_row(1, 0, [(1.0, 2, -(10**400), False)]))


def test_p_next_state_beyond_int64_is_out_of_range():
    with pytest.raises(
        ModelError, match=r"next states must lie in 0\.\.2; got 2{57}\.\.\. at state 1"
    ):
        TabularMDP.from_transitions(with_row(1, 0, [(1.0, int("2" * 70), 0.0, False)]))


def _outcome_arrays() -> dict:
    inputs = _outcome_inputs(padded=False)
    del inputs["initial_distribution"]
    return inputs


ARRAY_TYPE_ERRORS = [
    ("next_state", lambda a: a.astype(float), [r"next_state", r"float64", r"never floats"]),
    ("next_state", lambda a: a.astype(bool), [r"next_state", r"\bbool\b"]),
    ("next_state", lambda a: a.astype(object), [r"next_state", r"object"]),
    ("next_state", lambda a: a.astype(str), [r"next_state", r"<U"]),
    ("prob", lambda a: a.astype(str), [r"prob", r"<U"]),
    ("prob", lambda a: a.astype(object), [r"prob", r"object"]),
    ("prob", lambda a: a.astype(complex), [r"prob", r"complex"]),
    ("prob", lambda a: a > 0, [r"prob", r"\bbool\b"]),
    ("reward", lambda a: a.astype(str), [r"reward", r"<U"]),
    ("terminated", lambda a: a.astype(float), [r"terminated", r"float64", r"bool array"]),
    ("terminated", lambda a: a.astype(np.int64), [r"terminated", r"int64"]),
    ("next_state", lambda a: a.astype(np.uint64) + np.uint64(2**63), [r"next_state", r"int64"]),
]


@pytest.mark.parametrize(("name", "change", "patterns"), ARRAY_TYPE_ERRORS)
def test_from_outcomes_arrays_of_the_wrong_dtype_are_errors(name, change, patterns):
    inputs = _outcome_arrays()
    inputs[name] = change(inputs[name])
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_outcomes(**inputs)
    assert_message(excinfo, *patterns[1:])


def test_from_outcomes_nested_lists_name_the_bad_element():
    inputs = {name: array.tolist() for name, array in _outcome_arrays().items()}
    inputs["next_state"][1][0][1] = 1.0
    with pytest.raises(ModelError, match=r"next_state must be integers") as excinfo:
        TabularMDP.from_outcomes(**inputs)
    assert_message(excinfo, r"state 1, action 0, outcome 1\b", r"\bfloat\b")
    inputs = {name: array.tolist() for name, array in _outcome_arrays().items()}
    inputs["prob"][0][1][0] = "0.5"
    with pytest.raises(ModelError, match=r"prob must be numbers") as excinfo:
        TabularMDP.from_outcomes(**inputs)
    assert_message(excinfo, r"state 0, action 1, outcome 0\b", r"'0\.5'")
    inputs = {name: array.tolist() for name, array in _outcome_arrays().items()}
    inputs["next_state"][0][0][0] = True  # NumPy alone would read [True, 1] as ints
    with pytest.raises(ModelError, match=r"next_state must be integers") as excinfo:
        TabularMDP.from_outcomes(**inputs)
    assert_message(excinfo, r"state 0, action 0, outcome 0\b", r"\bbool\b")


def test_from_outcomes_accepts_narrow_dtypes():
    inputs = _outcome_arrays()
    narrow = dict(inputs, next_state=inputs["next_state"].astype(np.uint8))
    narrow["prob"] = inputs["prob"].astype(np.float32)
    narrow["reward"] = inputs["reward"].astype(np.int16)
    assert_same_arrays(TabularMDP.from_outcomes(**narrow), TabularMDP.from_outcomes(**inputs))


@pytest.mark.parametrize(
    ("transitions", "rewards", "patterns"),
    [
        (np.full((2, 1, 2), "0.5"), np.zeros((2, 1)), [r"transitions", r"<U"]),
        (np.eye(2, dtype=bool)[:, None, :], np.zeros((2, 1)), [r"transitions", r"\bbool\b"]),
        ([[["0.5", 0.5]], [[1.0, 0.0]]], np.zeros((2, 1)), [r"transitions", r"state 0, action 0"]),
        (np.eye(2)[:, None, :], np.zeros((2, 1), dtype=complex), [r"rewards", r"complex"]),
        (np.eye(2)[:, None, :], [[1.0], [True]], [r"rewards", r"state 1, action 0"]),
    ],
    ids=["strings", "bools", "string-in-list", "complex-rewards", "bool-in-list"],
)
def test_from_arrays_values_of_the_wrong_type_are_errors(transitions, rewards, patterns):
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP.from_arrays(transitions, rewards)
    assert_message(excinfo, *patterns[1:])


@pytest.mark.parametrize(
    ("initial", "patterns"),
    [
        (["0.2", "0.3", "0.5"], [r"state 0\b", r"\bstr\b"]),
        ([True, False, False], [r"state 0\b", r"\bbool\b"]),
        ([0.5, True, 0.5], [r"state 1\b", r"\bbool\b"]),  # NumPy reads it as floats
        (np.array([True, False, False]), [r"\bbool\b"]),
        (np.array([1, 0, 0], dtype=complex), [r"complex"]),
        (np.array([1.0, 0.0, 0.0], dtype=object), [r"object"]),
        ([0.5, None, 0.5], [r"state 1\b", r"None"]),
    ],
    ids=["strings", "bools", "bool-among-floats", "bool-array", "complex", "object", "none"],
)
def test_initial_distribution_of_the_wrong_type_is_an_error(initial, patterns):
    with pytest.raises(ModelError, match=r"initial_distribution") as excinfo:
        TabularMDP.from_transitions(small_P(), initial_distribution=initial)
    assert_message(excinfo, *patterns)


def _direct_inputs() -> dict:
    mdp = TabularMDP.from_transitions(small_P())
    return {name: np.array(getattr(mdp, name)) for name in MODEL_ARRAYS}


@pytest.mark.parametrize(
    ("n_states", "change", "patterns"),
    [
        (3.0, None, [r"n_states must be an int", r"3\.0", r"float"]),
        (True, None, [r"n_states must be an int", r"bool"]),
        ("3", None, [r"n_states must be an int", r"str"]),
        (3, ("row_offsets", lambda a: a.astype(float)), [r"row_offsets", r"float64"]),
        (3, ("row_offsets", lambda a: a.astype(bool)), [r"row_offsets", r"bool"]),
        (3, ("next_state", lambda a: a.astype(float)), [r"next_state", r"float64"]),
        (3, ("terminated", lambda a: a.astype(np.int8)), [r"terminated", r"int8"]),
        (3, ("prob", lambda a: a.astype(str)), [r"prob", r"<U"]),
    ],
    ids=[
        "n-states-float",
        "n-states-bool",
        "n-states-str",
        "offsets-float",
        "offsets-bool",
        "next-state-float",
        "terminated-int",
        "prob-str",
    ],
)
def test_direct_construction_checks_types(n_states, change, patterns):
    inputs = _direct_inputs()
    if change is not None:
        name, convert = change
        inputs[name] = convert(inputs[name])
    with pytest.raises(ModelError, match=patterns[0]) as excinfo:
        TabularMDP(n_states, 2, **inputs)
    assert_message(excinfo, *patterns[1:])


def test_terminal_states_must_be_ints_not_bools():
    T, R = valid_arrays()
    with pytest.raises(ModelError, match=r"terminal_states must be integers") as excinfo:
        TabularMDP.from_arrays(T, R, terminal_states=[2, True])  # NumPy reads [2, 1]
    assert_message(excinfo, r"\bbool\b")


# --------------------------------------------------------------- per-pair sums
def test_row_sums_in_blocks_match_bincount(monkeypatch):
    monkeypatch.setattr(checks, "ROW_SUM_BLOCK", 5)  # many blocks, rows across edges
    rng = np.random.default_rng(4)
    shape = (40, 3, 4)
    prob = rng.random(shape)
    prob[..., -1] *= rng.random(shape[:2]) < 0.5  # padding (dropped) in about half the rows
    prob /= prob.sum(axis=2, keepdims=True)
    mdp = TabularMDP.from_outcomes(
        rng.integers(0, 40, shape), prob, rng.normal(size=shape), rng.random(shape) < 0.2
    )
    rows = np.repeat(np.arange(mdp.n_states * mdp.n_actions), np.diff(mdp.row_offsets))
    weights = mdp.prob * mdp.reward
    expected = np.bincount(rows, weights=weights, minlength=rows.max() + 1)
    blocked = checks.row_sums(mdp.row_offsets, lambda lo, hi: weights[lo:hi])
    np.testing.assert_allclose(blocked, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(mdp.R.reshape(-1), expected, rtol=0, atol=1e-14)
    goes_on = np.asarray(mdp.continuation.sum(axis=1)).reshape(mdp.n_states, mdp.n_actions)
    np.testing.assert_allclose(mdp.continuation_probability, goes_on, rtol=0, atol=1e-14)
