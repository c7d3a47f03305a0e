"""Fuzzing the model constructors: every malformed input is a ModelError naming its place.

Each test draws a valid model (``strategies.random_mdps``), injects one defect
at a drawn place, and checks that construction raises :class:`ModelError`
(never another exception, never a model) whose message names that place: for
a defect at state ``s``, action ``a`` the message contains ``"state s"`` and
``"action a"``; for a defect of a whole argument, the argument's name. The
valid draws themselves, in several spellings, must be accepted and read as
the outcome lists say, so the harness fails in both directions.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from independent import dense_model
from strategies import RandomMDP, random_mdps

from rl_planners import ModelError, TabularMDP

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------- P defects
# Each replaces one field of outcome (s, a, k) with something that breaks a rule.
FIELD_DEFECTS = {
    0: [  # prob
        lambda p, S: str(p),
        lambda p, S: True,
        lambda p, S: None,
        lambda p, S: math.nan,
        lambda p, S: math.inf,
        lambda p, S: -p - 0.25,
        lambda p, S: p + 0.5,  # the row no longer sums to 1
        lambda p, S: complex(p, 1),
        lambda p, S: [p],
        lambda p, S: 10**400,
    ],
    1: [  # next state
        lambda s, S: str(s),
        lambda s, S: float(s),
        lambda s, S: True,
        lambda s, S: None,
        lambda s, S: -1,
        lambda s, S: S,
        lambda s, S: 2**70,
        lambda s, S: math.nan,
        lambda s, S: np.float64(s),
    ],
    2: [  # reward
        lambda r, S: str(r),
        lambda r, S: False,
        lambda r, S: None,
        lambda r, S: math.nan,
        lambda r, S: -math.inf,
        lambda r, S: 10**400,
        lambda r, S: (r,),
    ],
    3: [  # terminated
        lambda d, S: float(d),
        lambda d, S: int(d),
        lambda d, S: str(d),
        lambda d, S: None,
        lambda d, S: np.float64(d),
    ],
}

OUTCOME_DEFECTS = [  # replace outcome (s, a, k) itself
    lambda o: None,
    lambda o: o[:3],
    lambda o: (*o, 0.0),
    lambda o: "abcd",
    lambda o: {"prob": o[0]},
    lambda o: (o,),
    lambda o: 7,
    lambda o: set(o),
]

ROW_DEFECTS = [  # replace the outcome list of (s, a)
    lambda row: [],
    lambda row: None,
    lambda row: "row",
    lambda row: set(row),
    lambda row: row[0],  # one outcome, not a list of them
    lambda row: 3.0,
]

STATE_DEFECTS = ["none", "string", "empty", "drop-action", "extra-action", "set", "delete"]


def place(draw, model: RandomMDP) -> tuple[int, int, int]:
    s = draw(st.integers(0, model.n_states - 1), label="state")
    a = draw(st.integers(0, model.n_actions - 1), label="action")
    k = draw(st.integers(0, len(model.P[s][a]) - 1), label="outcome")
    return s, a, k


def assert_names(error: ModelError, *places: str) -> None:
    message = str(error)
    for expected in places:
        assert expected in message, f"{expected!r} not in {message!r}"


@FUZZ
@given(random_mdps(), st.data())
def test_a_bad_field_is_an_error_naming_state_and_action(model: RandomMDP, data):
    s, a, k = place(data.draw, model)
    field = data.draw(st.integers(0, 3), label="field")
    defect = data.draw(st.sampled_from(FIELD_DEFECTS[field]), label="defect")
    P = copy.deepcopy(model.P)
    outcome = list(P[s][a][k])
    outcome[field] = defect(outcome[field], model.n_states)
    P[s][a][k] = tuple(outcome)
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_transitions(P)
    assert_names(excinfo.value, f"state {s}", f"action {a}")


@FUZZ
@given(random_mdps(), st.data())
def test_a_bad_outcome_is_an_error_naming_its_place(model: RandomMDP, data):
    s, a, k = place(data.draw, model)
    defect = data.draw(st.sampled_from(OUTCOME_DEFECTS), label="defect")
    P = copy.deepcopy(model.P)
    P[s][a][k] = defect(P[s][a][k])
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_transitions(P)
    assert_names(excinfo.value, f"state {s}", f"action {a}", f"outcome {k}")


@FUZZ
@given(random_mdps(), st.data())
def test_a_bad_row_is_an_error_naming_state_and_action(model: RandomMDP, data):
    s, a, _ = place(data.draw, model)
    defect = data.draw(st.sampled_from(ROW_DEFECTS), label="defect")
    P = copy.deepcopy(model.P)
    P[s][a] = defect(P[s][a])
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_transitions(P)
    assert_names(excinfo.value, f"state {s}", f"action {a}")


@FUZZ
@given(random_mdps(), st.data(), st.sampled_from(STATE_DEFECTS))
def test_a_bad_state_is_an_error_naming_it(model: RandomMDP, data, defect):
    S, A = model.n_states, model.n_actions
    s = data.draw(st.integers(0, S - 1), label="state")
    P = copy.deepcopy(model.P)
    if defect == "none":
        P[s] = None
    elif defect == "string":
        P[s] = "actions"
    elif defect == "empty":
        assume(S > 1 or s == 0)
        P[s] = {}
    elif defect == "set":
        P[s] = {1, 2}
    elif defect == "drop-action":
        assume(S > 1 or A > 1)
        a = data.draw(st.integers(0, A - 1), label="action")
        assume(S > 1 or a < A - 1)  # one state losing its last action is a valid model
        del P[s][a]
    elif defect == "extra-action":
        assume(S > 1)  # one state with one more action is a valid model
        P[s][A] = [(1.0, 0, 0.0, False)]
    else:  # delete: states 0..S-1 lose one in the middle
        assume(s < S - 1)
        del P[s]
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_transitions(P)
    assert_names(excinfo.value, f"state {s}")


@pytest.mark.parametrize("P", [None, 5, "P", b"P", {}, [], {1, 2}, 3.5, [[]], {0: {}}])
def test_p_that_is_no_table_of_states(P):
    with pytest.raises(ModelError, match=r"\bP\b|state 0"):
        TabularMDP.from_transitions(P)


# ------------------------------------------------------------- array defects
def outcome_arrays(model: RandomMDP) -> dict[str, np.ndarray]:
    """The model's padded ``(S, A, K)`` arrays, by the names of from_outcomes' arguments."""
    names = ("next_state", "prob", "reward", "terminated")
    return dict(zip(names, model.outcome_arrays(), strict=True))


VALUE_DEFECTS = {
    "prob": [math.nan, math.inf, -0.5, 1.5],
    "next_state": [-1, "S", 10**6],
    "reward": [math.nan, -math.inf],
}


@FUZZ
@given(random_mdps(), st.data())
def test_a_bad_value_in_outcome_arrays_is_an_error_naming_state_and_action(model: RandomMDP, data):
    arrays = outcome_arrays(model)
    s, a, k = place(data.draw, model)
    assume(arrays["prob"][s, a, k] > 0)  # padding is dropped, whatever it holds
    name = data.draw(st.sampled_from(sorted(VALUE_DEFECTS)), label="array")
    value = data.draw(st.sampled_from(VALUE_DEFECTS[name]), label="value")
    if value == "S":
        value = model.n_states
    arrays[name][s, a, k] = value
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_outcomes(**arrays)
    assert_names(excinfo.value, f"state {s}", f"action {a}")


DTYPE_DEFECTS = {
    "next_state": [float, bool, object, str, np.float32],
    "prob": [object, str, complex, bool],
    "reward": [object, str, complex, bool],
    "terminated": [float, np.int64, object, str],
}


@FUZZ
@given(random_mdps(), st.data())
def test_outcome_arrays_of_a_wrong_dtype_are_errors_naming_them(model: RandomMDP, data):
    arrays = outcome_arrays(model)
    name = data.draw(st.sampled_from(sorted(DTYPE_DEFECTS)), label="array")
    dtype = data.draw(st.sampled_from(DTYPE_DEFECTS[name]), label="dtype")
    arrays[name] = arrays[name].astype(dtype)
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_outcomes(**arrays)
    assert_names(excinfo.value, name)


@FUZZ
@given(random_mdps(), st.data())
def test_a_bad_element_in_nested_lists_is_named_by_its_place(model: RandomMDP, data):
    arrays = {name: array.tolist() for name, array in outcome_arrays(model).items()}
    s, a, k = place(data.draw, model)
    name = data.draw(st.sampled_from(sorted(arrays)), label="array")
    value = arrays[name][s][a][k]
    bad = {"next_state": float(value), "prob": str(value), "reward": None}
    arrays[name][s][a][k] = bad.get(name, float(value))  # terminated: a number
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_outcomes(**arrays)
    assert_names(excinfo.value, name, f"state {s}, action {a}, outcome {k}")


SHAPE_DEFECTS = ["drop-axis", "short-last", "extra-axis", "empty"]


@FUZZ
@given(random_mdps(), st.data())
def test_outcome_arrays_of_a_wrong_shape_are_errors_naming_them(model: RandomMDP, data):
    arrays = outcome_arrays(model)
    name = data.draw(st.sampled_from(sorted(arrays)), label="array")
    defect = data.draw(st.sampled_from(SHAPE_DEFECTS), label="defect")
    array = arrays[name]
    if defect == "drop-axis":
        arrays[name] = array[..., 0] if name != "reward" else array[0]
        # (S, A) rewards are allowed
        assume(name != "reward" or arrays[name].shape != array.shape[:2])
    elif defect == "short-last":
        arrays[name] = np.concatenate([array, array[..., :1]], axis=2)
    elif defect == "extra-axis":
        arrays[name] = array[..., None]
    else:
        arrays[name] = array[:0]
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_outcomes(**arrays)
    # the message names the array, or next_state whose shape the others must have
    assert name in str(excinfo.value) or "next_state" in str(excinfo.value)


@FUZZ
@given(random_mdps(), st.data())
def test_a_bad_dense_entry_is_an_error_naming_state_and_action(model: RandomMDP, data):
    T, R = dense_model(model.P)  # [S, A, S], [S, A]
    s = data.draw(st.integers(0, model.n_states - 1), label="state")
    a = data.draw(st.integers(0, model.n_actions - 1), label="action")
    target = data.draw(st.sampled_from(["T-nan", "T-negative", "T-sum", "R-nan", "R-inf"]))
    j = data.draw(st.integers(0, model.n_states - 1), label="next state")
    T = T + (1.0 - T.sum(axis=2, keepdims=True)) * np.eye(model.n_states)[None, None, 0]
    if target == "T-nan":
        T[s, a, j] = math.nan
    elif target == "T-negative":
        T[s, a, j] = -0.25
    elif target == "T-sum":
        T[s, a, j] += 0.5
    else:
        R[s, a] = math.nan if target == "R-nan" else math.inf
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_arrays(T, R)
    assert_names(excinfo.value, f"state {s}", f"action {a}")


INITIAL_DEFECTS = ["nan", "negative", "sum", "length", "string", "bool", "object", "none"]


@FUZZ
@given(random_mdps(), st.data(), st.sampled_from(INITIAL_DEFECTS))
def test_a_bad_initial_distribution_is_an_error_naming_it(model: RandomMDP, data, defect):
    S = model.n_states
    initial = np.full(S, 1.0 / S)
    s = data.draw(st.integers(0, S - 1), label="state")
    given_as = {
        "nan": lambda: np.where(np.arange(S) == s, math.nan, initial),
        "negative": lambda: initial - 2.0 * (np.arange(S) == s),
        "sum": lambda: initial * 0.5,
        "length": lambda: np.append(initial, 0.0),
        "string": lambda: initial.astype(str),
        "bool": lambda: np.arange(S) == s,
        "object": lambda: initial.astype(object),
        "none": lambda: [None if i == s else x for i, x in enumerate(initial.tolist())],
    }[defect]()
    with pytest.raises(ModelError) as excinfo:
        TabularMDP.from_transitions(model.P, initial_distribution=given_as)
    assert_names(excinfo.value, "initial_distribution")


# ------------------------------------------------------------- valid spellings
def numpy_spelled(P: dict, spell: int) -> dict | list:
    """The same model with NumPy scalars, int rewards, lists or tuples at each level."""
    outcomes = {
        0: lambda p, s, r, d: (p, s, r, d),
        1: lambda p, s, r, d: (np.float64(p), np.int64(s), np.float64(r), np.bool_(d)),
        2: lambda p, s, r, d: [np.float32(p) if p in (0.0, 0.5, 1.0) else p, np.int32(s), r, d],
        3: lambda p, s, r, d: (p, s, int(r) if float(r).is_integer() else r, d),
    }[spell % 4]
    rows = [[[outcomes(*o) for o in P[s][a]] for a in sorted(P[s])] for s in sorted(P)]
    if spell >= 4:
        return tuple(tuple(actions) for actions in rows)
    return {s: dict(enumerate(actions)) for s, actions in enumerate(rows)}


@FUZZ
@given(random_mdps(), st.integers(0, 7))
def test_valid_models_in_any_accepted_spelling_are_read_as_written(model: RandomMDP, spell):
    mdp = TabularMDP.from_transitions(numpy_spelled(model.P, spell))
    T, R = dense_model(model.P)
    np.testing.assert_allclose(mdp.continuation.toarray(), T.reshape(-1, model.n_states), atol=1e-7)
    np.testing.assert_allclose(mdp.R, R, atol=1e-6)
    outcomes = [
        o for s in range(model.n_states) for a in range(model.n_actions) for o in model.P[s][a]
    ]
    np.testing.assert_array_equal(mdp.next_state, [o[1] for o in outcomes])
    np.testing.assert_array_equal(mdp.terminated, [o[3] for o in outcomes])


@FUZZ
@given(random_mdps())
def test_valid_outcome_and_dense_arrays_are_accepted(model: RandomMDP):
    T, R = dense_model(model.P)
    reference = T.reshape(-1, model.n_states)
    arrays = model.outcome_arrays()
    for mdp in (
        TabularMDP.from_outcomes(*arrays),
        TabularMDP.from_outcomes(*(array.tolist() for array in arrays)),
        TabularMDP.from_outcomes(arrays[0].astype(np.int32), *arrays[1:]),
    ):
        np.testing.assert_allclose(mdp.continuation.toarray(), reference, atol=1e-14)
        np.testing.assert_allclose(mdp.R, R, atol=1e-12)
