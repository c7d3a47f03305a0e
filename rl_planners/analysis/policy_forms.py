"""Policies in the forms users hold them, read into one checked array.

:func:`as_policy` takes an ``[S]`` array of actions, an ``[S, A]`` array of
probabilities ``π(a|s)`` or of Q-values (read as the greedy policy, with the
library's tie rule), a callable ``obs -> action``, or any object with
Stable-Baselines3's ``predict(obs, deterministic=True)``, and returns the
``[S]`` int64 or ``[S, A]`` float64 policy the exact evaluations take
(:func:`rl_planners.analysis.regret.regret`, :func:`rl_planners.occupancy`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from rl_planners.bellman import greedy_policy
from rl_planners.mdp import PROBABILITY_ATOL, TabularMDP
from rl_planners.validation import check_gamma, check_policy

__all__ = ["POLICY_KINDS", "PolicyKind", "as_policy", "check_kind"]

PolicyKind = Literal["actions", "stochastic", "q_values"]
POLICY_KINDS = (None, "actions", "stochastic", "q_values")
"""The values ``kind`` may take (``None``: guessed from the array)."""


def check_kind(kind: Any) -> PolicyKind | None:
    """``kind`` if it is one of :data:`POLICY_KINDS`, else ``ValueError`` listing them."""
    if kind not in POLICY_KINDS:
        raise ValueError(f"kind must be one of {POLICY_KINDS}, got {kind!r}")
    return kind


def as_policy(
    mdp: TabularMDP,
    policy_like: Any,
    *,
    kind: PolicyKind | None = None,
    gamma: float | None = None,
) -> np.ndarray:
    """A policy in any common form, as a checked ``[S]`` or ``[S, A]`` array.

    Parameters
    ----------
    mdp : TabularMDP
        The model whose states and actions the policy uses.
    policy_like : array_like, callable or object with ``predict``
        Read in this order:

        - an object with a ``predict`` method (Stable-Baselines3 models, the
          agents of this library): called once, ``predict(np.arange(S),
          deterministic=True)``, on the batch of all states; its first
          returned item holds the ``S`` actions;
        - a callable ``obs -> action``: called once per state ``0, …, S−1``
          (with a Python ``int``);
        - an array. ``[S]``: actions (integers; integral floats, as
          ``numpy.load`` of a float file gives them, are accepted).
          ``[S, A]``: a stochastic policy ``π(a|s)`` if every row is a
          probability distribution (non-negative, summing to 1 within
          ``1e-6``), else Q-values, read as the greedy policy
          ``argmax_a Q(s, a)`` with :func:`rl_planners.bellman.greedy_policy`'s
          tie rule: actions within float64 rounding of the best tie, and the
          lowest index wins (at ``γ = 1``, a tied action that keeps the
          episode terminating). Pass ``kind`` when a Q-table's rows happen
          to look like distributions.
    kind : {"actions", "stochastic", "q_values"}, optional
        Read an array as this kind instead of guessing.
    gamma : float, optional
        The discount the Q-values are for; only the greedy tie rule uses it
        (``γ = 1`` prefers terminating actions among ties). Default: the
        plain lowest-index rule.

    Returns
    -------
    numpy.ndarray
        ``[S]`` int64 actions or ``[S, A]`` float64 probabilities; new.

    Raises
    ------
    ValueError
        Wrong shape, an action that is not an integer in ``0..A−1`` (the
        state is named), a row of probabilities that is not a distribution,
        a non-finite Q-value (state and action named), a ``predict`` that
        does not return ``(actions, state)``, or a ``kind`` that does not
        fit the input.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays(np.ones((2, 2, 1)) * [[[1.0, 0.0]]], [[0, 1], [1, 0]])
    >>> as_policy(mdp, [[0.2, 0.7], [3.0, 3.0]])  # Q-values: ties go to action 0
    array([1, 0])
    >>> as_policy(mdp, lambda obs: 1 - obs)
    array([1, 0])
    """
    kind = check_kind(kind)
    if not isinstance(policy_like, np.ndarray) and (
        hasattr(policy_like, "predict") or callable(policy_like)
    ):
        if kind not in (None, "actions"):
            raise ValueError(
                f"kind={kind!r} describes an array; a callable or an object with predict "
                "gives actions (use kind=None or 'actions')"
            )
        if hasattr(policy_like, "predict"):
            return _actions_from_predict(mdp, policy_like)
        return _actions_from_callable(mdp, policy_like)
    return _policy_from_array(mdp, policy_like, kind, gamma)


def _actions_from_predict(mdp: TabularMDP, model: Any) -> np.ndarray:
    """``model.predict(np.arange(S), deterministic=True)[0]``, checked."""
    output = model.predict(np.arange(mdp.n_states), deterministic=True)
    if not (isinstance(output, tuple) and len(output) == 2):
        raise ValueError(
            "predict(observations, deterministic=True) must return (actions, state) as "
            f"Stable-Baselines3 does; got {type(output).__name__}"
        )
    actions = np.asarray(output[0])
    if actions.shape != (mdp.n_states,):
        raise ValueError(
            f"predict(np.arange({mdp.n_states}), deterministic=True) must return "
            f"{mdp.n_states} actions, shape ({mdp.n_states},); got shape {actions.shape}"
        )
    return _checked_actions(mdp, actions, "predict(np.arange(S), deterministic=True)")


def _actions_from_callable(mdp: TabularMDP, policy: Callable[[int], Any]) -> np.ndarray:
    """``[policy(s) for s in 0..S-1]``, each checked to be one number."""
    actions = []
    for state in range(mdp.n_states):  # one call per state: the callable is opaque
        action = np.asarray(policy(state))
        if action.size != 1 or action.dtype.kind not in "iuf":
            raise ValueError(
                f"the policy callable must return one integer action; got {action!r} "
                f"(dtype {action.dtype}) at state {state}"
            )
        actions.append(action.reshape(()))
    return _checked_actions(mdp, np.array(actions), "the policy callable")


def _checked_actions(mdp: TabularMDP, actions: np.ndarray, source: str) -> np.ndarray:
    """``check_policy`` on ``[S]`` actions, naming their source in the message."""
    if actions.dtype.kind not in "iuf":
        raise ValueError(f"{source} must give integer actions, got dtype {actions.dtype}")
    try:
        return check_policy(mdp, actions)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from error


def _policy_from_array(
    mdp: TabularMDP, policy_like: Any, kind: PolicyKind | None, gamma: float | None
) -> np.ndarray:
    """An ``[S]`` or ``[S, A]`` array read as actions, probabilities or Q-values."""
    n_states, n_actions = mdp.n_states, mdp.n_actions
    try:
        array = np.asarray(policy_like)
    except (TypeError, ValueError) as error:
        raise ValueError(f"policy must be an array, a callable or a model: {error}") from error
    if array.dtype.kind not in "iuf":
        raise ValueError(
            f"a policy array must hold numbers (int actions, float probabilities or "
            f"Q-values), got dtype {array.dtype}"
        )
    if kind is None and array.shape not in ((n_states,), (n_states, n_actions)):
        raise ValueError(
            f"policy must have shape ({n_states},) (an action per state) or "
            f"({n_states}, {n_actions}) (probabilities π(a|s) or Q-values) for {n_states} "
            f"states and {n_actions} actions; got shape {array.shape}"
        )
    if kind is None:
        if array.ndim == 2 and _rows_are_distributions(array):
            kind = "stochastic"
        else:
            kind = "q_values" if array.ndim == 2 else "actions"
    expected = (n_states,) if kind == "actions" else (n_states, n_actions)
    if array.shape != expected:
        raise ValueError(
            f"a policy of kind {kind!r} must have shape {expected} for {n_states} states "
            f"and {n_actions} actions; got shape {array.shape}"
        )
    if kind == "actions":
        return check_policy(mdp, array)
    values = array.astype(np.float64)  # [S, A]
    if kind == "stochastic":
        return check_policy(mdp, values)
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        state, action = bad[0]
        raise ValueError(
            f"Q-values must be finite; got {values[state, action].item()!r} at state {state}, "
            f"action {action}"
        )
    # greedy_policy's tie rule depends on gamma only through gamma == 1.
    return greedy_policy(mdp, values, 0.0 if gamma is None else check_gamma(gamma))


def _rows_are_distributions(array: np.ndarray) -> bool:
    """Whether every row is finite, non-negative and sums to 1 (within ``1e-6``)."""
    values = array.astype(np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0.0):
        return False
    return bool(np.all(np.abs(values.sum(axis=1) - 1.0) <= PROBABILITY_ATOL))
