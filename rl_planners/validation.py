"""Checks of user arguments: numbers, choices, discount, tolerances, caps, values, policies.

Each check returns the argument in the form the math uses (float64 arrays,
int64 actions) or raises ``ValueError``/``TypeError`` naming what was expected,
what was found and where.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rl_planners.mdp import PROBABILITY_ATOL, TabularMDP

__all__ = [
    "check_choice",
    "check_gamma",
    "check_int",
    "check_max_iterations",
    "check_policy",
    "check_real",
    "check_tol",
    "check_values",
    "format_states",
]


def check_int(value: Any, name: str, minimum: int | None = None, meaning: str = "") -> int:
    """Return ``value`` as an ``int`` (not a bool) ``>= minimum``.

    ``meaning`` (e.g. ``"the number of steps"``) is added to the messages.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools and integer-valued floats are not).
    ValueError
        If it is below ``minimum``.
    """
    bound = "" if minimum is None else f" >= {minimum}"
    note = f" ({meaning})" if meaning else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int{bound}{note}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{note}, got {value}")
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` in ``[low, high]`` (``(low, high]`` if ``low_open``).

    Raises
    ------
    TypeError
        If ``value`` is not a real number (bools are not).
    ValueError
        If it is not finite or lies outside the interval.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    inside = (number > low if low_open else number >= low) and number <= high
    if not (np.isfinite(number) and inside):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise ValueError(f"{name} must be finite and lie in {interval}, got {number!r}")
    return number


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        quoted = [repr(choice) for choice in choices]
        shown = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise ValueError(f"{name} must be {shown}, got {value!r}")
    return value


def format_states(states: Any, limit: int = 10) -> str:
    """``"3, 7, 12 ..."``: the first ``limit`` states of a list, for messages."""
    states = np.asarray(states).reshape(-1)
    shown = ", ".join(map(str, states[:limit].tolist()))
    return shown + (" ..." if states.size > limit else "")


def check_gamma(gamma: Any) -> float:
    """Return ``gamma`` as a float in [0, 1], or raise ``ValueError``."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise TypeError(f"gamma must be a real number in [0, 1], got {gamma!r}")
    gamma = float(gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {gamma!r}")
    return gamma


def check_tol(tol: Any, name: str = "tol") -> float:
    """Return ``tol`` as a finite positive float, or raise ``ValueError``."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {tol!r}")
    tol = float(tol)
    if not (np.isfinite(tol) and tol > 0.0):
        raise ValueError(f"{name} must be finite and > 0, got {tol!r}")
    return tol


def check_max_iterations(max_iterations: Any, name: str = "max_iterations") -> int:
    """Return ``max_iterations`` as an int ≥ 1, or raise (see :func:`check_int`)."""
    return check_int(max_iterations, name, 1)


def check_values(mdp: TabularMDP, V: Any, name: str = "V") -> np.ndarray:
    """Return ``V`` as a new float64 array of shape ``(S,)`` with finite entries."""
    try:
        values = np.array(V, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of {mdp.n_states} numbers") from error
    if values.shape != (mdp.n_states,):
        raise ValueError(
            f"{name} must have shape ({mdp.n_states},) (one value per state), got {values.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"{name} must be finite; got {values[bad[0]].item()!r} at state {bad[0]}")
    return values


def check_policy(mdp: TabularMDP, policy: Any) -> np.ndarray:
    """Validate a policy and return it in canonical form.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic: integers of shape ``(S,)``, ``policy[s]`` the action
        in ``s``. Stochastic: floats of shape ``(S, A)``, ``policy[s, a] = π(a|s)``,
        each row a distribution.

    Returns
    -------
    numpy.ndarray
        int64 ``(S,)`` or float64 ``(S, A)``; a new array.

    Raises
    ------
    ValueError
        Wrong shape, an action outside ``0..A-1``, a non-integer action, or a
        row of ``π`` that is not a distribution (the state is named).
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    try:
        array = np.asarray(policy)
    except (TypeError, ValueError) as error:
        raise ValueError("policy must be an array") from error
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise ValueError(f"policy must hold numbers, got dtype {array.dtype}")
    if array.shape == (n_states,):
        if array.dtype.kind == "b":
            raise ValueError("a deterministic policy holds action indices, not booleans")
        if array.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(array) | (array != np.round(array)))
            if bad.size:
                raise ValueError(
                    "a deterministic policy (shape (S,)) holds integer actions; "
                    f"got {array[bad[0]].item()!r} at state {bad[0]}"
                )
        actions = array.astype(np.int64)
        bad = np.flatnonzero((actions < 0) | (actions >= n_actions))
        if bad.size:
            raise ValueError(
                f"actions must lie in 0..{n_actions - 1}; got {actions[bad[0]]} at state {bad[0]}"
            )
        return actions
    if array.shape == (n_states, n_actions) and array.dtype.kind in "f":
        pi = array.astype(np.float64)
        bad = np.argwhere(~np.isfinite(pi) | (pi < 0))
        if bad.size:
            state, action = bad[0]
            raise ValueError(
                "a stochastic policy's probabilities must be finite and non-negative; "
                f"got {pi[state, action].item()!r} at state {state}, action {action}"
            )
        totals = pi.sum(axis=1)
        bad = np.flatnonzero(np.abs(totals - 1.0) > PROBABILITY_ATOL)
        if bad.size:
            raise ValueError(
                "each row of a stochastic policy must sum to 1; "
                f"it sums to {totals[bad[0]].item()!r} at state {bad[0]}"
            )
        return pi
    raise ValueError(
        f"policy must have shape ({n_states},) (an action per state) or "
        f"({n_states}, {n_actions}) (float probabilities π(a|s)), got shape "
        f"{array.shape} and dtype {array.dtype}"
    )
