"""What a model is made of: the outcome arrays, and the type each of their values takes.

- :class:`Outcomes`: a model's outcomes in CSR layout over the rows ``s*A + a``,
  as every reader returns them and :class:`~rl_planners.mdp.TabularMDP` keeps them;
- :data:`RULES`: the type rule of each kind of value (numbers, indices, flags),
  with :func:`typed_array`, which reads an array or a nested list by them, and
  :func:`type_error`, the error that names a value breaking them.

A value of another type is an error, never a cast: strings are not parsed,
bools are not numbers, floats are not states, and numbers are not flags (a flag
given as 0, 1 or 1.0 is most often a field in the wrong slot of ``(prob,
next_state, reward, terminated)``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from rl_planners.errors import ModelError

__all__ = [
    "FIELD_NAMES",
    "FIELD_RULES",
    "RULES",
    "Outcomes",
    "accepted",
    "outcome_place",
    "show",
    "type_error",
    "typed_array",
    "typed_reading",
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


def outcome_place(row_offsets: np.ndarray, n_actions: int, outcome: int) -> str:
    """Name the place of outcome index ``outcome``: ``"state s, action a, outcome k"``."""
    row = int(np.searchsorted(row_offsets, outcome, side="right")) - 1
    state, action = divmod(row, n_actions)
    return f"state {state}, action {action}, outcome {outcome - int(row_offsets[row])}"


# ------------------------------------------------------------------ type rules
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

FIELD_RULES = ("number", "index", "number", "flag")
"""The rule of each field of an outcome ``(prob, next_state, reward, terminated)``."""

FIELD_NAMES = ("probabilities", "next states", "rewards", "terminated flags")
"""How messages name the fields of an outcome."""


@functools.cache
def accepted(rule: str, kind: type) -> bool:
    """Whether values of type ``kind`` are read under ``rule`` (see :data:`RULES`)."""
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
    array, owned = typed_reading(value, rule, name, axes)
    return array.copy() if copy and not owned else array


def typed_reading(value: Any, rule: str, name: str, axes: Sequence[str]) -> tuple[np.ndarray, bool]:
    """:func:`typed_array` without the copy, and whether the array is new (not ``value``'s)."""
    spec = RULES[rule]
    if not _is_array_like(value):
        try:
            objects = np.asarray(value, dtype=object)
        except ValueError as error:
            raise ModelError(
                f"{name} must be a rectangular array of {spec.expected}; "
                f"NumPy could not read it: {error}"
            ) from error
        if not all(accepted(rule, kind) for kind in set(map(type, objects.flat))):
            ok = np.fromiter(
                (accepted(rule, type(x)) for x in objects.flat), dtype=bool, count=objects.size
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
