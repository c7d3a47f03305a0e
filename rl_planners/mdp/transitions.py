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

import itertools
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np

from rl_planners.errors import ModelError

__all__ = ["Outcomes", "read_dense", "read_padded", "read_transitions"]


class Outcomes(NamedTuple):
    """A model's outcomes in CSR layout over the rows ``s*A + a``, not yet validated."""

    n_states: int
    n_actions: int
    row_offsets: np.ndarray  # [S*A + 1] int64
    next_state: np.ndarray  # [N]
    prob: np.ndarray  # [N]
    reward: np.ndarray  # [N]
    terminated: np.ndarray  # [N]


def read_transitions(P: Mapping | Sequence) -> Outcomes:
    """Read a FrozenLake-style ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.

    Raises
    ------
    ModelError
        If a state or action is missing, or an outcome is not a 4-tuple of
        numbers, a next state not an integer in range, a flag not a bool;
        the message names the state, action and outcome.
    """
    if not isinstance(P, Mapping | Sequence) or isinstance(P, str | bytes):
        raise ModelError(f"P must be a dict or list indexed by state, got {type(P).__name__}")
    n_states = len(P)
    if n_states == 0:
        raise ModelError("P has no states")
    n_actions = len(_row_of(P, 0, None))
    rows = _rows_in_order(P, n_states, n_actions)
    if rows is None:  # something is off: find it, and name it, state by state
        rows = []
        for state in range(n_states):
            actions = _row_of(P, state, None)
            if len(actions) != n_actions:
                raise ModelError(
                    f"every state must have the same {n_actions} actions; "
                    f"state {state} has {len(actions)}"
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
    ``terminated`` defaults to no outcome terminating. Without padding the
    arrays are used as they are (no copy for float64/int64 input).

    Raises
    ------
    ModelError
        If the shapes disagree.
    """
    next_state = np.asarray(next_state)
    prob = np.asarray(prob)
    if next_state.ndim != 3:
        raise ModelError(f"next_state must have shape (S, A, K), got {next_state.shape}")
    shape = next_state.shape
    n_states, n_actions, k = shape
    if 0 in shape:
        raise ModelError(f"next_state must have shape (S, A, K) with S, A, K >= 1, got {shape}")
    reward = np.asarray(reward)
    if reward.shape == (n_states, n_actions):
        reward = np.broadcast_to(reward[:, :, None], shape)
    if terminated is None:
        terminated = np.zeros(shape, dtype=bool)
    terminated = np.asarray(terminated)
    for name, array in (
        ("prob", prob),
        ("reward", reward),
        ("terminated", terminated),
    ):
        if array.shape != shape:
            raise ModelError(f"{name} must have the shape of next_state {shape}, got {array.shape}")
    flat = [a.reshape(-1) for a in (next_state, prob, reward, terminated)]
    offsets = np.arange(0, n_states * n_actions * k + 1, k, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        padding = flat[1] == 0.0
    if padding.any():
        keep = ~padding
        counts = keep.reshape(-1, k).sum(axis=1)
        offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        flat = [a[keep] for a in flat]
    return Outcomes(n_states, n_actions, offsets, *flat)


def read_dense(transitions: Any, rewards: Any, terminal_states: Any = ()) -> Outcomes:
    """Read dense ``transitions[s, a, s'] = P(s'|s,a)`` and rewards ``(S, A)`` or ``(S, A, S)``.

    Every transition into a state of ``terminal_states`` terminates, and a
    terminal state's own row becomes a terminating zero-reward self-loop, so
    ``V(terminal) = 0``.

    Raises
    ------
    ModelError
        If a shape is wrong, a value is not numeric, or a reward is not finite
        (naming the state, action and next state).
    """
    try:
        T = np.asarray(transitions, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ModelError(
            "transitions must be a numeric (S, A, S) array of probabilities; "
            f"NumPy could not read it: {error}"
        ) from error
    if T.ndim != 3 or T.shape[0] != T.shape[2] or 0 in T.shape:
        raise ModelError(
            f"transitions must have shape (S, A, S), got {T.shape}; "
            "pymdptoolbox's (A, S, S) arrays need np.transpose(T, (1, 0, 2))"
        )
    n_states, n_actions, _ = T.shape
    try:
        rewards = np.asarray(rewards, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ModelError(
            f"rewards must be a numeric array; NumPy could not read it: {error}"
        ) from error
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
    T = T.copy()
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
    states = np.asarray(terminal_states).reshape(-1)
    if states.size and (states.dtype.kind not in "iu"):
        raise ModelError(f"terminal_states must be state indices, got {terminal_states!r}")
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
        where = f"P[{index}]" if state is None else f"P[{state}][{index}]"
        expected = "a dict or list of actions" if state is None else "a list of outcomes"
        raise ModelError(f"{where} must be {expected}, got {entry!r}")
    if state is None:
        raise ModelError(
            f"P has no entry for state {index}: states must be numbered 0..{len(table) - 1}"
        )
    raise ModelError(
        f"P[{state}] has no entry for action {index}: actions must be numbered "
        f"0..{len(table) - 1} in every state"
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


def _outcome_columns(outcomes: list) -> list[np.ndarray] | None:
    """The four float64 columns of ``(prob, next_state, reward, terminated)`` tuples.

    None if an outcome is not a 4-sequence of numbers. Each column is read
    straight into an array with ``numpy.fromiter`` (about 30 ns an entry).
    """
    n_outcomes = len(outcomes)
    try:
        if sum(map(len, outcomes)) != 4 * n_outcomes:  # with itemgetter(3): all have 4
            return None
        return [
            np.fromiter(map(itemgetter(k), outcomes), dtype=np.float64, count=n_outcomes)
            for k in range(4)
        ]
    except (TypeError, ValueError, IndexError, KeyError):
        return None


def _row_offsets(rows: list) -> np.ndarray:
    """``[len(rows) + 1]`` int64 CSR offsets of the outcome lists ``rows``, built in place."""
    offsets = np.fromiter(
        itertools.chain((0,), map(len, rows)), dtype=np.int64, count=len(rows) + 1
    )
    return np.cumsum(offsets, out=offsets)


_OUTCOME_BLOCK = 1 << 14
"""Outcomes per block in :func:`_read_outcomes` (its temporaries stay in cache)."""


def _read_outcomes(rows: list, n_outcomes: int, n_states: int) -> tuple[np.ndarray, ...] | None:
    """``next_state, prob, reward, terminated`` of the outcomes in ``rows``, or None.

    The fast road. The outcomes are taken in blocks of :data:`_OUTCOME_BLOCK`
    (no list of all of them is made: on a big model, fresh memory is slow to
    come by); each field is read as :func:`_outcome_columns` reads it, checked
    at once, and stored in its final array (int64 next states, bool flags).
    None if anything is unusual (an outcome that is not a 4-sequence of numbers,
    a next state that is not an integer in ``0..n_states-1``, a flag that is
    neither 0 nor 1, any exception): :func:`_read_outcomes_carefully` then reads
    them again, and decides.
    """
    next_state = np.empty(n_outcomes, dtype=np.int64)
    prob, reward = np.empty(n_outcomes), np.empty(n_outcomes)
    terminated = np.empty(n_outcomes, dtype=np.bool_)
    outcomes = itertools.chain.from_iterable(rows)
    try:
        for lo in range(0, n_outcomes, _OUTCOME_BLOCK):
            hi = min(lo + _OUTCOME_BLOCK, n_outcomes)
            block = list(itertools.islice(outcomes, hi - lo))
            if sum(map(len, block)) != 4 * (hi - lo):  # with itemgetter(3): all have 4
                return None
            prob[lo:hi], states, reward[lo:hi], flags = (
                np.fromiter(map(itemgetter(k), block), dtype=np.float64, count=hi - lo)
                for k in range(4)
            )
            if any(bad.any() for bad, _, _ in _outcome_rules(states, flags, n_states)):
                return None
            next_state[lo:hi] = states
            terminated[lo:hi] = flags != 0.0
        if next(outcomes, _END) is not _END:  # a row that yields more than its len
            return None
    except Exception:  # whatever it is, the careful reading meets it again and reports it
        return None
    return next_state, prob, reward, terminated


_END = object()
"""Marks the end of an iterator in :func:`_read_outcomes`."""


def _outcome_rules(
    states: np.ndarray, flags: np.ndarray, n_states: int
) -> tuple[tuple[np.ndarray, str, np.ndarray], ...]:
    """``(bad, rule, column)`` for each rule on next states and flags read as float64.

    Next states must be integers in ``0..n_states-1`` (NaN and ±inf break
    both rules) and terminated flags 0 or 1; ``bad`` marks the outcomes that
    break the rule.
    """
    return (
        (states != np.round(states), "next states must be integers", states),
        (
            (states < 0) | (states >= n_states),
            f"next states must lie in 0..{n_states - 1}",
            states,
        ),
        ((flags != 0.0) & (flags != 1.0), "terminated flags must be True or False", flags),
    )


def _read_outcomes_carefully(
    rows: list, offsets: np.ndarray, n_states: int, n_actions: int
) -> tuple[np.ndarray, ...]:
    """:func:`_read_outcomes` one whole column at a time, raising on the first problem.

    Raises
    ------
    ModelError
        Naming the state, action and outcome of the first malformed outcome, else
        of the first bad next state, else of the first bad terminated flag.
    """
    outcomes = list(itertools.chain.from_iterable(rows))
    columns = _outcome_columns(outcomes)  # prob, next_state, reward, terminated
    if columns is None:
        _raise_malformed(rows, n_actions)
    next_state, flags = columns[1], columns[3]
    for bad, expected, column in _outcome_rules(next_state, flags, n_states):
        if bad.any():
            outcome = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(offsets, outcome, side="right")) - 1
            raise ModelError(
                f"{expected}; got {column[outcome].item()!r} at state "
                f"{row // n_actions}, action {row % n_actions}, "
                f"outcome {outcome - offsets[row]}"
            )
    return next_state.astype(np.int64), columns[0], columns[2], flags != 0.0


def _raise_malformed(rows: list, n_actions: int) -> None:
    for row, outcomes in enumerate(rows):
        for k, outcome in enumerate(outcomes):
            ok = isinstance(outcome, Sequence) and len(outcome) == 4
            if ok:
                try:
                    [float(x) for x in outcome]
                except (TypeError, ValueError):
                    ok = False
            if not ok:
                raise ModelError(
                    "each outcome must be a tuple (prob, next_state, reward, terminated) "
                    f"of numbers; got {outcome!r} at state {row // n_actions}, "
                    f"action {row % n_actions}, outcome {k}"
                )
    raise ModelError("P's outcomes could not be read as (prob, next_state, reward, terminated)")
