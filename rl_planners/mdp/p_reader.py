"""Reading a FrozenLake-style ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.

The outcomes are read in blocks, each by the first of three roads that applies:

1. the exact road (:func:`_read_exact_block`): when every outcome of the block
   is a tuple of exactly ``(float, int, float, bool)``, as Gymnasium's toy_text
   envs build them, ``marshal`` writes the block in one C pass, each value
   behind a byte naming its exact type, and NumPy checks those bytes and reads
   the values, all at once;
2. the typed road: for other accepted spellings (NumPy scalars, int rewards,
   lists for tuples), the set of each field's types is checked against
   :data:`~rl_planners.mdp.outcomes.RULES`;
3. a block that breaks a rule sends the whole ``P`` to the careful reading
   (:func:`_read_outcomes_carefully`), which finds the first offending outcome
   and raises a :class:`ModelError` naming its state, action and outcome.

Every value's type is checked on every road: no value is cast from a type it
does not mean (see :mod:`rl_planners.mdp.outcomes`).
"""

from __future__ import annotations

import functools
import itertools
import marshal
import sys
from collections.abc import Callable, Mapping, Sequence
from operator import countOf, itemgetter
from typing import Any

import numpy as np

from rl_planners.errors import ModelError
from rl_planners.mdp.outcomes import (
    FIELD_NAMES,
    FIELD_RULES,
    Outcomes,
    accepted,
    outcome_place,
    show,
    type_error,
)

__all__ = ["read_transitions"]


def read_transitions(P: Mapping | Sequence) -> Outcomes:
    """Read a FrozenLake-style ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.

    Raises
    ------
    ModelError
        If a state or action is missing, an outcome is not a 4-tuple, a value
        has the wrong type (:data:`~rl_planners.mdp.outcomes.RULES`:
        probabilities and rewards are ints or floats, next states ints, flags
        bools; a string, a bool given as a number, a float given as a state or
        a number given as a flag is an error, never a cast), or a next state is
        out of range; the message names the state, action and outcome, the
        value and its type.
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


def _all_tables(entries: list) -> bool:
    """Whether every entry is a dict or list (counted first: most are exactly one of them)."""
    size = len(entries)
    if countOf(map(type, entries), dict) == size or countOf(map(type, entries), list) == size:
        return True
    return all(map(_is_table, set(map(type, entries))))


def _rows_in_order(P: Mapping | Sequence, n_states: int, n_actions: int) -> list | None:
    """``P[s][a]`` for rows ``s*A + a`` in order, or None if anything is unusual.

    The fast road for big ``P``: no Python-level work per row beyond C-level
    ``map``/``itemgetter`` calls. None (a missing state or action, a ragged
    state, an entry that is no dict or list) sends the caller to its careful
    loop, which names the problem.
    """
    try:
        if isinstance(P, Mapping):
            states = list(map(P.__getitem__, range(n_states)))
        else:
            states = [P[state] for state in range(n_states)]
        if countOf(map(len, states), n_actions) != n_states or not _all_tables(states):
            return None
        if n_actions == 1:
            rows = list(map(itemgetter(0), states))
        else:
            rows = list(itertools.chain.from_iterable(map(itemgetter(*range(n_actions)), states)))
        if not _all_tables(rows):
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


_OUTCOME_BLOCK = 1 << 12
"""Outcomes per block in :func:`_read_outcomes` (from 2^12 to 2^14 the cost per
outcome is flat and a block's temporaries stay in cache; see ``benchmarks/read_p.py``)."""


@functools.cache
def _is_outcome_type(kind: type) -> bool:
    """Whether an outcome of this type is read: a sequence (tuple, list), not a string."""
    return issubclass(kind, Sequence) and not issubclass(kind, str | bytes)


# ------------------------------------------------------------- the exact road
# ``marshal.dumps(block, 2)`` writes a list of outcomes in one C pass, each value
# behind a one-byte code of its exact type (subclasses, NumPy scalars and other
# objects get other codes, or cannot be written at all). An outcome that is a
# tuple of exactly (float, int, float, bool), the int within int32, is written
# in 29 bytes, always laid out as below:
_EXACT_LAYOUT = np.dtype(
    {
        "names": [
            *("tuple", "length", "prob_code", "prob", "state_code", "state"),
            *("reward_code", "reward", "flag"),
        ],
        "formats": ["u1", "<i4", "u1", "<f8", "u1", "<i4", "u1", "<f8", "u1"],
        "offsets": [0, 1, 5, 6, 14, 15, 19, 20, 28],
        "itemsize": 29,
    }
)
_EXACT_CODES = {  # the code each field must have: marshal's TYPE_TUPLE, _BINARY_FLOAT, _INT
    "tuple": ord("("),
    "prob_code": ord("g"),
    "state_code": ord("i"),
    "reward_code": ord("g"),
}
_TRUE, _FALSE = ord("T"), ord("F")  # marshal's TYPE_TRUE and TYPE_FALSE: only True and False
_LIST_HEADER = 5  # "[" and the int32 length of the block
_EXACT_ROAD = marshal.dumps([(0.5, 3, -1.0, True)], 2) == (
    b"[\x01\x00\x00\x00(\x04\x00\x00\x00g\x00\x00\x00\x00\x00\x00\xe0?"
    b"i\x03\x00\x00\x00g\x00\x00\x00\x00\x00\x00\xf0\xbfT"
)
"""Whether this Python writes marshal version 2 as laid out above (checked once;
if not, every block takes the typed road, which is slower and as strict)."""


def _read_exact_block(block: list, columns: tuple[np.ndarray, ...], lo: int, hi: int) -> bool:
    """Read ``block`` into ``columns`` if every outcome is an exact ``(float, int, float, bool)``.

    The outcomes are written by ``marshal.dumps(block, 2)`` and the bytes read
    as records of :data:`_EXACT_LAYOUT`. The check is exact: if the bytes have
    the length of ``size`` such records and every record has the codes of
    :data:`_EXACT_CODES`, a tuple length of 4 and a flag code of ``True`` or
    ``False``, then every outcome is such a tuple. By induction: if outcomes
    ``0..k-1`` are, outcome ``k`` starts at record ``k``; its first byte is
    its own type code, which is "(" only for an exact tuple; its length is
    then 4 and each field starts where the layout says, with its own type
    code, which is "g" only for an exact ``float``, "i" only for an exact
    ``int`` (not ``bool``, which is "T" or "F"), and "T"/"F" only for ``True``
    and ``False``; so outcome ``k`` takes 29 bytes and ``k + 1`` starts at
    record ``k + 1``. False (nothing written) otherwise: the typed road decides.
    """
    size = hi - lo
    try:
        data = marshal.dumps(block, 2)
    except ValueError:  # an object marshal cannot write (a tuple subclass, ...): not exact
        return False
    if len(data) != _LIST_HEADER + _EXACT_LAYOUT.itemsize * size:
        return False
    records = np.frombuffer(data, dtype=_EXACT_LAYOUT, count=size, offset=_LIST_HEADER)
    flags = records["flag"]
    terminated = flags == _TRUE
    if not (
        all((records[name] == code).all() for name, code in _EXACT_CODES.items())
        and (records["length"] == 4).all()
        and (terminated | (flags == _FALSE)).all()
    ):
        return False
    prob, next_state, reward, terminated_column = columns
    prob[lo:hi] = records["prob"]
    next_state[lo:hi] = records["state"]
    reward[lo:hi] = records["reward"]
    terminated_column[lo:hi] = terminated
    return True


# ------------------------------------------------------------- the typed road
def _read_outcomes(rows: list, n_outcomes: int, n_states: int) -> tuple[np.ndarray, ...] | None:
    """``next_state, prob, reward, terminated`` of the outcomes in ``rows``, or None.

    The fast road. The outcomes are taken in blocks of :data:`_OUTCOME_BLOCK`
    (no list of all of them is made: on a big model, fresh memory is slow to
    come by); :func:`_read_block` checks each block's types and reads it into
    the final arrays (int64 next states, bool flags). None if anything is
    unusual (an outcome that is not a 4-sequence, a value of the wrong type, a
    next state out of range, any exception): :func:`_read_outcomes_carefully`
    then reads them again, and names it.
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
            if not _read_block(list(itertools.islice(outcomes, hi - lo)), columns, lo, hi):
                return None
            states = columns[1][lo:hi]
            if ((states < 0) | (states >= n_states)).any():
                return None
        if next(outcomes, _END) is not _END:  # a row that yields more than its len
            return None
    except Exception:  # whatever it is, the careful reading meets it again and reports it
        return None
    prob, next_state, reward, terminated = columns
    return next_state, prob, reward, terminated


def _read_block(block: list, columns: tuple[np.ndarray, ...], lo: int, hi: int) -> bool:
    """Check the types of ``block`` (outcomes ``lo:hi``) and read it into ``columns``.

    By the exact road (:func:`_read_exact_block`) if it applies, else by the
    typed road: tuples are split into their four fields by one
    ``zip(*block, strict=True)``, which also proves that they have one length
    (it raises otherwise), other sequences field by field, with their lengths
    summed (``itemgetter(3)`` proves each has 4 or more); each field's types
    are counted against :data:`_PLAIN_TYPES`, and only if some are of another
    type is their set checked against :data:`~rl_planners.mdp.outcomes.RULES`.
    Every value's type is checked on either road. False if a rule is broken.
    """
    if _EXACT_ROAD and _read_exact_block(block, columns, lo, hi):
        return True
    size = hi - lo
    if countOf(map(type, block), tuple) == size:
        fields: list = list(zip(*block, strict=True))
        if len(fields) != 4:
            return False
    elif sum(map(len, block)) == 4 * size and all(map(_is_outcome_type, set(map(type, block)))):
        fields = [list(map(itemgetter(k), block)) for k in range(4)]
    else:
        return False
    for rule, values, column in zip(FIELD_RULES, fields, columns, strict=True):
        kinds = list(map(type, values))
        if sum(map(kinds.count, _PLAIN_TYPES[rule])) != size and not all(
            accepted(rule, kind) for kind in set(kinds)
        ):
            return False
        column[lo:hi] = np.fromiter(values, dtype=column.dtype, count=size)
    return True


_PLAIN_TYPES = {"number": (float, int), "index": (int,), "flag": (bool,)}
"""The Python types of each rule that a field is first counted against (``list.count``
compares identity first, at C speed); only a field with other types has its set of
types checked against the rules."""


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
        return outcome_place(offsets, n_actions, outcome)

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
    for field, (rule, values) in enumerate(zip(FIELD_RULES, fields, strict=True)):
        wrong = {kind for kind in set(map(type, values)) if not accepted(rule, kind)}
        if wrong:
            firsts.append((next(i for i, x in enumerate(values) if type(x) in wrong), field))
    if firsts:
        outcome, field = min(firsts)
        raise type_error(
            FIELD_RULES[field], FIELD_NAMES[field], fields[field][outcome], where(outcome)
        )
    states = fields[1]
    outside = next((i for i, state in enumerate(states) if not 0 <= state < n_states), None)
    if outside is not None:
        raise ModelError(
            f"next states must lie in 0..{n_states - 1}; got {show(states[outside])} "
            f"at {where(outside)}"
        )
    prob, reward = (_floats(fields[k], FIELD_NAMES[k], where) for k in (0, 2))
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
