"""Every form a user gives a model in, read into the CSR outcome arrays of a model.

- :func:`read_transitions`: a FrozenLake-style ``P[s][a] = [(prob, next_state,
  reward, terminated), ...]`` (dicts or lists), by a fast road for big ``P`` and a
  careful one that names the first malformed state, action and outcome;
- :func:`read_padded`: ``(S, A, K)`` arrays padded with probability 0;
- :func:`read_dense`: dense ``(S, A, S)`` probabilities and ``(S, A)`` or
  ``(S, A, S)`` rewards, with terminal states.

Each returns :class:`Outcomes`; :class:`~rl_planners.mdp.model.TabularMDP`
converts, freezes and validates them.
"""

from __future__ import annotations

import functools
import itertools
import sys
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from rl_planners.errors import ModelError

__all__ = [
    "RULES",
    "Outcomes",
    "read_dense",
    "read_padded",
    "read_transitions",
    "show",
    "type_error",
    "typed_array",
]


class Outcomes(NamedTuple):
    """A model's outcomes in CSR layout over the rows ``s*A + a``, not yet validated.

    Every reader returns arrays of the model's dtypes (int64, float64, bool)
    that share no memory with its arguments, so a model may keep them as they
    are: a caller who changes its input afterwards does not change the model.
    """

    n_states: int
    n_actions: int
    row_offsets: np.ndarray  # [S*A + 1] int64
    next_state: np.ndarray  # [N]
    prob: np.ndarray  # [N]
    reward: np.ndarray  # [N]
    terminated: np.ndarray  # [N]


# ------------------------------------------------------------------ type rules
# What a model is made of, by field. A value of any other type is an error, never
# a cast: strings are not parsed, bools are not numbers, floats are not states,
# and numbers are not flags (a flag given as 0, 1 or 1.0 is most often a field in
# the wrong slot of (prob, next_state, reward, terminated)).


def _is_number(kind: type) -> bool:
    """Probabilities and rewards: Python or NumPy ints and floats, not bools."""
    return issubclass(kind, int | float | np.integer | np.floating) and not issubclass(
        kind, bool | np.bool_
    )


def _is_index(kind: type) -> bool:
    """Next states and indices: Python or NumPy ints, not bools (nor integer-valued floats)."""
    return issubclass(kind, int | np.integer) and not issubclass(kind, bool)


def _is_flag(kind: type) -> bool:
    """Terminated flags: ``bool`` or ``numpy.bool_`` only."""
    return issubclass(kind, bool | np.bool_)


class _Rule(NamedTuple):
    accepts: Callable[[type], bool]  # the Python types of its values
    kinds: str  # the NumPy dtype kinds of its arrays
    dtype: type  # what the model holds
    expected: str


RULES = {
    "number": _Rule(_is_number, "iuf", np.float64, "numbers"),
    "index": _Rule(_is_index, "iu", np.int64, "integers"),
    "flag": _Rule(_is_flag, "b", np.bool_, "True or False"),
}
"""The type rule of each kind of field: which Python types and dtype kinds it takes."""

_FIELD_RULES = ("number", "index", "number", "flag")
"""The rule of each field of an outcome ``(prob, next_state, reward, terminated)``."""

_FIELD_NAMES = ("probabilities", "next states", "rewards", "terminated flags")
"""How messages name the fields of an outcome."""


@functools.cache
def _accepted(rule: str, kind: type) -> bool:
    return RULES[rule].accepts(kind)


def _hint(rule: str, value: Any) -> str:
    """What to do about ``value``, which breaks ``rule``."""
    if isinstance(value, str | bytes):
        return "strings are not parsed: give the number itself"
    if rule == "flag":
        return "give True or False (numbers are not read as flags)"
    if isinstance(value, bool | np.bool_):
        return "a bool is not a number here: check the order (prob, next_state, reward, terminated)"
    if rule == "index" and isinstance(value, float | np.floating):
        return "a state is an int: use int(value) if that is the state meant"
    if rule == "index":
        return "give a Python or NumPy int"
    return "give a Python or NumPy int or float"


def show(value: Any) -> str:
    """``repr(value)``, kept short (a 5000-digit int has no repr)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to print
        return f"an int of {value.bit_length()} bits"
    return text if len(text) <= 60 else text[:57] + "..."


def type_error(rule: str, name: str, value: Any, where: str) -> ModelError:
    """The error for ``value`` of field ``name``, breaking ``rule``, at ``where``."""
    return ModelError(
        f"{name} must be {RULES[rule].expected}; got {show(value)} at {where}, "
        f"a {type(value).__name__}; {_hint(rule, value)}"
    )


def typed_array(
    value: Any, rule: str, name: str, *, axes: Sequence[str] = ("index",), copy: bool
) -> np.ndarray:
    """``value`` as an array of the dtype of ``rule``, after checking its types.

    An array (anything NumPy reads as one without iterating) must have a dtype
    of the rule's kinds: object, string and complex arrays are errors, bool
    arrays are errors unless the rule is ``"flag"``, and float arrays are
    errors for ``"index"``, integer-valued or not. Any other input (lists,
    scalars) is checked element by element against the Python types of
    :data:`RULES`; a bad element is named by its place along ``axes`` (e.g.
    ``("state", "action", "outcome")``).

    With ``copy=True`` the result shares no memory with ``value``; with
    ``copy=False`` it may (an array of the right dtype is not copied).

    Raises
    ------
    ModelError
        Naming ``name``, the offending dtype or element, and its place.
    """
    array, owned = _typed(value, rule, name, axes)
    return array.copy() if copy and not owned else array


def _typed(value: Any, rule: str, name: str, axes: Sequence[str]) -> tuple[np.ndarray, bool]:
    """:func:`typed_array` without the copy, and whether the array is a new one."""
    spec = RULES[rule]
    if not _is_array_like(value):
        try:
            objects = np.asarray(value, dtype=object)
        except ValueError as error:
            raise ModelError(
                f"{name} must be a rectangular array of {spec.expected}; "
                f"NumPy could not read it: {error}"
            ) from error
        if not all(_accepted(rule, kind) for kind in set(map(type, objects.flat))):
            ok = np.fromiter(
                (_accepted(rule, type(x)) for x in objects.flat), dtype=bool, count=objects.size
            )
            index = np.unravel_index(int(np.flatnonzero(~ok)[0]), objects.shape)
            where = ", ".join(f"{axis} {i}" for axis, i in zip(axes, index, strict=False))
            raise type_error(rule, name, objects[index], where or name)
        try:
            return objects.astype(spec.dtype), True
        except (OverflowError, ValueError, TypeError) as error:
            raise ModelError(
                f"{name} must be {spec.expected} that fit in {np.dtype(spec.dtype).name}: {error}"
            ) from error
    array = np.asarray(value)
    if array.dtype.kind not in spec.kinds:
        raise ModelError(
            f"{name} must be an array of {spec.expected}, got dtype {array.dtype}; "
            + _dtype_hint(rule, array.dtype)
        )
    if array.dtype.kind == "u" and spec.dtype is np.int64 and array.size:
        largest = array.max()
        if largest > np.iinfo(np.int64).max:
            raise ModelError(f"{name} must fit in int64, got {largest} (dtype {array.dtype})")
    if array.dtype == spec.dtype:
        return array, False
    return array.astype(spec.dtype), True


def _is_array_like(value: Any) -> bool:
    """Whether NumPy reads ``value`` as an array of its own (no element to inspect)."""
    return isinstance(value, np.ndarray | np.generic) or hasattr(value, "__array__")


def _dtype_hint(rule: str, dtype: np.dtype) -> str:
    if dtype.kind in "OUS":
        return "object and string arrays are not read: give a numeric array"
    if rule == "index" and dtype.kind == "f":
        return "state indices are never floats: round and cast them yourself if they are whole"
    if rule == "flag":
        return "give a bool array (e.g. flags != 0)"
    if dtype.kind == "b":
        return "a bool array is not numeric here: convert it with astype(float) if that is meant"
    return "give an int or float array"


def read_transitions(P: Mapping | Sequence) -> Outcomes:
    """Read a FrozenLake-style ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.

    Raises
    ------
    ModelError
        If a state or action is missing, an outcome is not a 4-tuple, a value
        has the wrong type (:data:`RULES`: probabilities and rewards are ints
        or floats, next states ints, flags bools; a string, a bool given as a
        number, a float given as a state or a number given as a flag is an
        error, never a cast), or a next state is out of range; the message
        names the state, action and outcome, the value and its type.
    """
    if not isinstance(P, Mapping | Sequence) or isinstance(P, str | bytes):
        raise ModelError(f"P must be a dict or list indexed by state, got {type(P).__name__}")
    n_states = len(P)
    if n_states == 0:
        raise ModelError("P has no states")
    n_actions = len(_row_of(P, 0, None))
    if n_actions == 0:
        raise ModelError("P[0] has no actions: state 0 must have actions 0..A-1, A >= 1")
    rows = _rows_in_order(P, n_states, n_actions)
    if rows is None:  # something is off: find it, and name it, state by state
        rows = []
        for state in range(n_states):
            actions = _row_of(P, state, None)
            if len(actions) != n_actions:
                raise ModelError(
                    f"every state must have the same actions; state 0 has {n_actions} "
                    f"but state {state} has {len(actions)}"
                )
            rows.extend(_row_of(actions, action, state) for action in range(n_actions))
    offsets = _row_offsets(rows)
    arrays = _read_outcomes(rows, int(offsets[-1]), n_states)
    if arrays is None:  # something is off: read them all at once, to find it and name it
        arrays = _read_outcomes_carefully(rows, offsets, n_states, n_actions)
    return Outcomes(n_states, n_actions, offsets, *arrays)


def read_padded(next_state: Any, prob: Any, reward: Any, terminated: Any = None) -> Outcomes:
    """Read ``(S, A, K)`` outcome arrays padded with probability 0, dropping the padding.

    ``reward`` may also be ``(S, A)``, one reward for all outcomes of a pair;
    ``terminated`` defaults to no outcome terminating. The types follow
    :data:`RULES`: ``next_state`` an integer array, ``prob`` and ``reward``
    int or float arrays, ``terminated`` a bool array. The arrays returned
    share no memory with the arguments: they are copied only where neither
    dropping the padding nor converting the dtype made a new array.

    Raises
    ------
    ModelError
        If the shapes disagree or an array has the wrong types.
    """
    axes = ("state", "action", "outcome")
    arrays = [
        _typed(next_state, "index", "next_state", axes),
        _typed(prob, "number", "prob", axes),
        _typed(reward, "number", "reward", axes),
    ]
    states = arrays[0][0]
    if states.ndim != 3:
        raise ModelError(f"next_state must have shape (S, A, K), got {states.shape}")
    shape = states.shape
    n_states, n_actions, k = shape
    if 0 in shape:
        raise ModelError(f"next_state must have shape (S, A, K) with S, A, K >= 1, got {shape}")
    rewards, owned = arrays[2]
    if rewards.shape == (n_states, n_actions):
        arrays[2] = (np.broadcast_to(rewards[:, :, None], shape), owned)
    if terminated is None:
        arrays.append((np.zeros(shape, dtype=bool), True))
    else:
        arrays.append(_typed(terminated, "flag", "terminated", axes))
    for name, (array, _) in zip(("prob", "reward", "terminated"), arrays[1:], strict=True):
        if array.shape != shape:
            raise ModelError(f"{name} must have the shape of next_state {shape}, got {array.shape}")
    flat = [array.reshape(-1) for array, _ in arrays]
    offsets = np.arange(0, n_states * n_actions * k + 1, k, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        padding = flat[1] == 0.0
    if padding.any():
        keep = ~padding
        counts = keep.reshape(-1, k).sum(axis=1)
        offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        flat = [a[keep] for a in flat]  # new arrays
    else:  # copy what is still the caller's memory
        flat = [
            a.copy() if not owned and np.may_share_memory(a, array) else a
            for a, (array, owned) in zip(flat, arrays, strict=True)
        ]
    return Outcomes(n_states, n_actions, offsets, *flat)


def read_dense(transitions: Any, rewards: Any, terminal_states: Any = ()) -> Outcomes:
    """Read dense ``transitions[s, a, s'] = P(s'|s,a)`` and rewards ``(S, A)`` or ``(S, A, S)``.

    Every transition into a state of ``terminal_states`` terminates, and a
    terminal state's own row becomes a terminating zero-reward self-loop, so
    ``V(terminal) = 0``.

    Raises
    ------
    ModelError
        If a shape is wrong, a value is not a number (see :data:`RULES`), or a
        reward is not finite (naming the state, action and next state).

    The arrays returned share no memory with the arguments.
    """
    axes = ("state", "action", "next state")
    T = typed_array(transitions, "number", "transitions", axes=axes, copy=True)  # [S, A, S]
    if T.ndim != 3 or T.shape[0] != T.shape[2] or 0 in T.shape:
        raise ModelError(
            f"transitions must have shape (S, A, S), got {T.shape}; "
            "pymdptoolbox's (A, S, S) arrays need np.transpose(T, (1, 0, 2))"
        )
    n_states, n_actions, _ = T.shape
    rewards = typed_array(rewards, "number", "rewards", axes=axes, copy=False)
    if rewards.shape not in ((n_states, n_actions), T.shape):
        raise ModelError(
            f"rewards must have shape {(n_states, n_actions)} or {T.shape}, got {rewards.shape}"
        )
    bad = np.argwhere(~np.isfinite(rewards))
    if bad.size:
        where = ", ".join(
            f"{name} {i}"
            for name, i in zip(("state", "action", "next state"), bad[0], strict=False)
        )
        raise ModelError(
            f"rewards must be finite; got {rewards[tuple(bad[0])].item()!r} at {where}"
        )
    terminal = _terminal_mask(terminal_states, n_states)
    T[terminal] = 0.0
    T[terminal, :, np.flatnonzero(terminal)] = 1.0
    flat_T = T.reshape(n_states * n_actions, n_states)
    rows, next_state = np.nonzero(flat_T)
    prob = flat_T[rows, next_state]
    if rewards.ndim == 2:
        reward = rewards.reshape(-1)[rows]
    else:
        reward = rewards.reshape(n_states * n_actions, n_states)[rows, next_state]
    state_of_row = rows // n_actions
    reward = np.where(terminal[state_of_row], 0.0, reward)
    counts = np.bincount(rows, minlength=n_states * n_actions)
    offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
    return Outcomes(n_states, n_actions, offsets, next_state, prob, reward, terminal[next_state])


def _terminal_mask(terminal_states: Sequence[int] | np.ndarray, n_states: int) -> np.ndarray:
    states = typed_array(terminal_states, "index", "terminal_states", copy=False).reshape(-1)
    bad = states[(states < 0) | (states >= n_states)]
    if bad.size:
        raise ModelError(f"terminal_states must lie in 0..{n_states - 1}; got {bad[0]}")
    mask = np.zeros(n_states, dtype=bool)
    mask[states.astype(np.int64)] = True
    return mask


def _row_of(table: Mapping | Sequence, index: int, state: int | None) -> Any:
    """``table[index]``, with an error naming the missing state or action."""
    try:
        entry = table[index]
    except (KeyError, IndexError, TypeError):
        pass
    else:
        if isinstance(entry, Mapping | Sequence) and not isinstance(entry, str | bytes):
            return entry
        if state is None:
            where, expected = f"P[{index}] (state {index})", "a dict or list of actions"
        else:
            where = f"P[{state}][{index}] (state {state}, action {index})"
            expected = "a list of outcomes"
        raise ModelError(f"{where} must be {expected}, got {show(entry)}")
    if state is None:
        raise ModelError(
            f"P has no entry for state {index}: states must be numbered 0..{len(table) - 1}"
        )
    raise ModelError(
        f"P[{state}] (state {state}) has no entry for action {index}: actions must be "
        f"numbered 0..{len(table) - 1} in every state"
    )


def _is_table(kind: type) -> bool:
    """Whether ``P`` entries of this type are accepted (dicts and lists, not strings)."""
    return issubclass(kind, Mapping | Sequence) and not issubclass(kind, str | bytes)


def _rows_in_order(P: Mapping | Sequence, n_states: int, n_actions: int) -> list | None:
    """``P[s][a]`` for rows ``s*A + a`` in order, or None if anything is unusual.

    The fast road for big ``P``: no Python-level work per row beyond C-level
    ``map``/``itemgetter`` calls. None (a missing state or action, a ragged
    state, an entry that is no dict or list) sends the caller to its careful
    loop, which names the problem.
    """
    try:
        states = [P[state] for state in range(n_states)]
        if set(map(len, states)) != {n_actions} or not all(map(_is_table, set(map(type, states)))):
            return None
        if n_actions == 1:
            rows = [actions[0] for actions in states]
        else:
            rows = list(itertools.chain.from_iterable(map(itemgetter(*range(n_actions)), states)))
        if not all(map(_is_table, set(map(type, rows)))):
            return None
    except (KeyError, IndexError, TypeError):
        return None
    return rows


def _row_offsets(rows: list) -> np.ndarray:
    """``[len(rows) + 1]`` int64 CSR offsets of the outcome lists ``rows``, built in place."""
    offsets = np.fromiter(
        itertools.chain((0,), map(len, rows)), dtype=np.int64, count=len(rows) + 1
    )
    return np.cumsum(offsets, out=offsets)


_OUTCOME_BLOCK = 1 << 14
"""Outcomes per block in :func:`_read_outcomes` (its temporaries stay in cache)."""


@functools.cache
def _is_outcome_type(kind: type) -> bool:
    """Whether an outcome of this type is read: a sequence (tuple, list), not a string."""
    return issubclass(kind, Sequence) and not issubclass(kind, str | bytes)


def _read_outcomes(rows: list, n_outcomes: int, n_states: int) -> tuple[np.ndarray, ...] | None:
    """``next_state, prob, reward, terminated`` of the outcomes in ``rows``, or None.

    The fast road. The outcomes are taken in blocks of :data:`_OUTCOME_BLOCK`
    (no list of all of them is made: on a big model, fresh memory is slow to
    come by); each field of a block is gathered into a list, its set of types
    checked against :data:`RULES` (``set(map(type, column))``, at C speed), and
    read into its final array (int64 next states, bool flags). None if
    anything is unusual (an outcome that is not a 4-sequence, a value of the
    wrong type, a next state out of range, any exception):
    :func:`_read_outcomes_carefully` then reads them again, and names it.
    """
    columns = (
        np.empty(n_outcomes),  # prob
        np.empty(n_outcomes, dtype=np.int64),  # next_state
        np.empty(n_outcomes),  # reward
        np.empty(n_outcomes, dtype=np.bool_),  # terminated
    )
    outcomes = itertools.chain.from_iterable(rows)
    try:
        for lo in range(0, n_outcomes, _OUTCOME_BLOCK):
            hi = min(lo + _OUTCOME_BLOCK, n_outcomes)
            block = list(itertools.islice(outcomes, hi - lo))
            if sum(map(len, block)) != 4 * (hi - lo) or not all(  # with itemgetter(3): all 4
                map(_is_outcome_type, set(map(type, block)))
            ):
                return None
            for field, (rule, column) in enumerate(zip(_FIELD_RULES, columns, strict=True)):
                values = list(map(itemgetter(field), block))
                if not all(_accepted(rule, kind) for kind in set(map(type, values))):
                    return None
                column[lo:hi] = np.fromiter(values, dtype=column.dtype, count=hi - lo)
            states = columns[1][lo:hi]
            if ((states < 0) | (states >= n_states)).any():
                return None
        if next(outcomes, _END) is not _END:  # a row that yields more than its len
            return None
    except Exception:  # whatever it is, the careful reading meets it again and reports it
        return None
    prob, next_state, reward, terminated = columns
    return next_state, prob, reward, terminated


_END = object()
"""Marks the end of an iterator in :func:`_read_outcomes`."""


def _read_outcomes_carefully(
    rows: list, offsets: np.ndarray, n_states: int, n_actions: int
) -> tuple[np.ndarray, ...]:
    """:func:`_read_outcomes` one whole field at a time, raising on the first problem.

    Raises
    ------
    ModelError
        Naming the state, action and outcome of the first outcome that is not
        a 4-sequence, else of the first value of a wrong type (the earliest
        in ``P``), else of the first next state out of range, else of the
        first number too large for float64.
    """
    outcomes = list(itertools.chain.from_iterable(rows))

    def where(outcome: int) -> str:
        row = int(np.searchsorted(offsets, outcome, side="right")) - 1
        return (
            f"state {row // n_actions}, action {row % n_actions}, outcome {outcome - offsets[row]}"
        )

    malformed = next(
        (
            i
            for i, outcome in enumerate(outcomes)
            if not (_is_outcome_type(type(outcome)) and len(outcome) == 4)
        ),
        None,
    )
    if malformed is not None:
        raise ModelError(
            "each outcome must be a tuple (prob, next_state, reward, terminated); "
            f"got {show(outcomes[malformed])} at {where(malformed)}"
        )
    fields = [list(map(itemgetter(k), outcomes)) for k in range(4)]
    firsts = []  # (outcome, field) of the first value of a wrong type in each field
    for field, (rule, values) in enumerate(zip(_FIELD_RULES, fields, strict=True)):
        wrong = {kind for kind in set(map(type, values)) if not _accepted(rule, kind)}
        if wrong:
            firsts.append((next(i for i, x in enumerate(values) if type(x) in wrong), field))
    if firsts:
        outcome, field = min(firsts)
        raise type_error(
            _FIELD_RULES[field], _FIELD_NAMES[field], fields[field][outcome], where(outcome)
        )
    states = fields[1]
    outside = next((i for i, state in enumerate(states) if not 0 <= state < n_states), None)
    if outside is not None:
        raise ModelError(
            f"next states must lie in 0..{n_states - 1}; got {show(states[outside])} "
            f"at {where(outside)}"
        )
    prob, reward = (_floats(fields[k], _FIELD_NAMES[k], where) for k in (0, 2))
    next_state = np.fromiter(states, dtype=np.int64, count=len(states))
    return next_state, prob, reward, np.fromiter(fields[3], dtype=np.bool_, count=len(states))


def _floats(values: list, name: str, where: Callable[[int], str]) -> np.ndarray:
    """``values`` (ints and floats) as float64; an int beyond float64's range is an error."""
    try:
        return np.fromiter(values, dtype=np.float64, count=len(values))
    except OverflowError:
        largest = sys.float_info.max  # a Python float: compared with an int exactly
        outcome = next(i for i, x in enumerate(values) if not -largest <= x <= largest)
        raise ModelError(
            f"{name} must be finite; got {show(values[outcome])} at {where(outcome)}, "
            "which float64 cannot hold"
        ) from None
