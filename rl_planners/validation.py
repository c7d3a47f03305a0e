"""Checks of user arguments: discount, tolerances, caps, value vectors, policies.

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
    "check_gamma",
    "check_max_iterations",
    "check_policy",
    "check_tol",
    "check_values",
]


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
    """Return ``max_iterations`` as an int ≥ 1, or raise ``ValueError``."""
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 1, got {max_iterations!r}")
    if max_iterations < 1:
        raise ValueError(f"{name} must be at least 1, got {max_iterations}")
    return int(max_iterations)


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
