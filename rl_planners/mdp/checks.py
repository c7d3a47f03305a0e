"""What a model checks of its arrays, and how it keeps them: validated, its own, read-only.

- :func:`owned_arrays`: each array in the dtype of its type rule, copied where
  asked, its shape checked against the model's sizes;
- :func:`check_outcomes` and :func:`check_distribution`: the values
  (probabilities finite, non-negative and summing to 1 per pair within
  :data:`PROBABILITY_ATOL`; next states in range; rewards finite), each error
  naming its state, action and outcome;
- :func:`frozen`, :func:`read_only_copy`: read-only arrays, for the model and
  for every result built from samples or solves;
- :func:`row_sums`: sums over each (state, action) row of the CSR outcomes.

Only :mod:`rl_planners.errors` and :mod:`rl_planners.mdp.outcomes` lie below.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from rl_planners.errors import ModelError
from rl_planners.mdp.outcomes import Outcomes, outcome_place, typed_array

__all__ = [
    "ARRAY_FIELDS",
    "PROBABILITY_ATOL",
    "check_count",
    "check_distribution",
    "check_model_size",
    "check_outcomes",
    "frozen",
    "owned_arrays",
    "read_only_copy",
    "row_sums",
]

PROBABILITY_ATOL = 1e-6
"""How far a row of probabilities (or the initial distribution) may sum from 1."""

ARRAY_FIELDS = {  # the arrays a model keeps, and the type rule of each (see outcomes.RULES)
    "row_offsets": "index",
    "next_state": "index",
    "prob": "number",
    "reward": "number",
    "terminated": "flag",
    "initial_distribution": "number",
}


def frozen(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array``, which must be the caller's own (it is frozen too).

    Every array in the chain of bases is frozen, so the view cannot be made
    writable again through ``setflags``.
    """
    base = array
    while isinstance(base, np.ndarray):
        base.setflags(write=False)
        base = base.base
    return array.view()


def read_only_copy(value: Any) -> np.ndarray:
    """A new read-only array of ``value`` (shares no memory with it)."""
    array = np.array(value, copy=True)
    array.setflags(write=False)
    return array


def check_count(value: Any, name: str) -> int:
    """``value`` as an int ``>= 1``; ``TypeError`` for a non-int or a bool, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def check_model_size(value: Any, name: str) -> int:
    """``n_states`` or ``n_actions`` as an int ``>= 1``, else ``ModelError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ModelError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ModelError(f"{name} must be at least 1, got {value}")
    return int(value)


def owned_arrays(
    n_states: int, n_actions: int, values: dict[str, Any], copied: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """The arrays of :data:`ARRAY_FIELDS` in their dtypes, copied if named in ``copied``.

    Raises
    ------
    ModelError
        A value of the wrong type (see :func:`~rl_planners.mdp.outcomes.typed_array`),
        ``row_offsets`` not ``[S*A + 1]``, not starting at 0 or decreasing, or
        an outcome array whose length is not ``row_offsets[-1]``.
    """
    arrays = {
        name: typed_array(
            values[name],
            rule,
            name,
            axes=("state",) if name == "initial_distribution" else ("entry",),
            copy=name in copied,
        )
        for name, rule in ARRAY_FIELDS.items()
    }
    n_rows = n_states * n_actions
    offsets = arrays["row_offsets"]
    if offsets.shape != (n_rows + 1,):
        raise ModelError(
            f"row_offsets must have shape ({n_rows + 1},) for {n_states} states x "
            f"{n_actions} actions, got {offsets.shape}"
        )
    if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ModelError("row_offsets must start at 0 and never decrease")
    n_outcomes = int(offsets[-1])
    for name in ("next_state", "prob", "reward", "terminated"):
        if arrays[name].shape != (n_outcomes,):
            raise ModelError(
                f"{name} must have shape ({n_outcomes},) to match row_offsets[-1], "
                f"got {arrays[name].shape}"
            )
    return arrays


def check_outcomes(outcomes: Outcomes) -> None:
    """Raise ``ModelError`` naming the first outcome that breaks a rule of the model.

    Probabilities finite and ``>= 0``, next states in ``0..S-1``, rewards
    finite, and each pair's probabilities summing to 1 within
    :data:`PROBABILITY_ATOL`.
    """
    n_states, n_actions, row_offsets, next_state, prob, reward, _ = outcomes

    def where(outcome: int) -> str:
        return outcome_place(row_offsets, n_actions, int(outcome))

    bad = np.flatnonzero(~np.isfinite(prob) | (prob < 0))
    if bad.size:
        raise ModelError(
            f"probabilities must be finite and non-negative; got {prob[bad[0]].item()!r} "
            f"at {where(bad[0])}"
        )
    bad = np.flatnonzero((next_state < 0) | (next_state >= n_states))
    if bad.size:
        raise ModelError(
            f"next states must lie in 0..{n_states - 1}; got {next_state[bad[0]]} "
            f"at {where(bad[0])}"
        )
    bad = np.flatnonzero(~np.isfinite(reward))
    if bad.size:
        raise ModelError(
            f"rewards must be finite; got {reward[bad[0]].item()!r} at {where(bad[0])}"
        )
    sums = row_sums(row_offsets, lambda lo, hi: prob[lo:hi])
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_ATOL)
    if bad.size:
        state, action = divmod(int(bad[0]), n_actions)
        raise ModelError(
            f"transition probabilities must sum to 1 (within {PROBABILITY_ATOL:g}); "
            f"they sum to {sums[bad[0]].item()!r} at state {state}, action {action}"
        )


def check_distribution(distribution: np.ndarray, n_states: int) -> None:
    """Raise ``ModelError`` unless ``distribution`` is a distribution over ``n_states`` states."""
    if distribution.shape != (n_states,):
        raise ModelError(
            f"initial_distribution must have shape ({n_states},), got {distribution.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(distribution) | (distribution < 0))
    if bad.size:
        raise ModelError(
            "initial_distribution must be finite and non-negative; got "
            f"{distribution[bad[0]].item()!r} at state {bad[0]}"
        )
    total = distribution.sum()
    if abs(total - 1.0) > PROBABILITY_ATOL:
        raise ModelError(
            f"initial_distribution must sum to 1 (within {PROBABILITY_ATOL:g}), "
            f"got {float(total)!r}"
        )


ROW_SUM_BLOCK = 1 << 20
"""Outcomes per block in :func:`row_sums` (bounds its temporaries)."""


def row_sums(offsets: np.ndarray, values: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """``[rows]`` the sum over each row's outcomes of ``values(lo, hi)`` (outcomes ``lo:hi``).

    Works through whole rows in blocks of about :data:`ROW_SUM_BLOCK`
    outcomes, so no temporary grows with the model; an empty row sums to 0.
    """
    n_rows = offsets.size - 1
    sums = np.zeros(n_rows)
    first = 0
    while first < n_rows:
        lo = int(offsets[first])
        last = int(np.searchsorted(offsets, lo + ROW_SUM_BLOCK, side="right")) - 1
        last = min(max(last, first + 1), n_rows)
        hi = int(offsets[last])
        if hi > lo:
            block = np.append(values(lo, hi), 0.0)  # the 0 ends trailing empty rows
            counts = np.diff(offsets[first : last + 1])
            sums[first:last] = np.add.reduceat(block, offsets[first:last] - lo) * (counts > 0)
        first = last
    return sums
