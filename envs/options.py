"""Validation of the keyword options the environments accept.

Every check raises :class:`ValueError` with a message that names the option,
the value it got and what it expected, so ``gym.make(..., p_heads=1.5)``
fails at construction with a message that says which keyword to fix.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

__all__ = ["check_finite", "check_int", "check_probability"]


def check_int(name: str, value: object, *, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` in ``minimum..maximum``.

    Raises
    ------
    ValueError
        If ``value`` is not an integer (``bool`` is refused) or is out of range.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise ValueError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value


def check_finite(name: str, value: object) -> float:
    """Return ``value`` as a finite ``float``.

    Raises
    ------
    ValueError
        If ``value`` is not a real number or is infinite or NaN.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_probability(name: str, value: object, *, maximum: float = 1.0) -> float:
    """Return ``value`` as a ``float`` in ``[0, maximum]``.

    Raises
    ------
    ValueError
        If ``value`` is not a real number in ``[0, maximum]``.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a probability in [0, {maximum:g}], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= maximum:
        raise ValueError(f"{name} must be a probability in [0, {maximum:g}], got {value!r}")
    return value
