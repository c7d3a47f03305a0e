"""Every form a user gives a model in, read into the CSR outcome arrays of a model.

- :func:`read_transitions`: a FrozenLake-style ``P[s][a] = [(prob, next_state,
  reward, terminated), ...]`` (dicts or lists); it lives in
  :mod:`rl_planners.mdp.p_reader`, with its fast and careful roads;
- :func:`read_padded`: ``(S, A, K)`` arrays padded with probability 0;
- :func:`read_dense`: dense ``(S, A, S)`` probabilities and ``(S, A)`` or
  ``(S, A, S)`` rewards, with terminal states;
- :func:`env_transitions`: the ``P`` and initial distribution a Gymnasium env
  exposes (``env.unwrapped.P``, ``initial_state_distrib``);
- :func:`write_transitions`: outcome arrays back to the FrozenLake-style ``P``.

Each returns :class:`~rl_planners.mdp.outcomes.Outcomes`;
:class:`~rl_planners.mdp.model.TabularMDP` converts, freezes and validates them.
The type rules the readers apply are :data:`~rl_planners.mdp.outcomes.RULES`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from rl_planners import gym_env
from rl_planners.errors import ModelError
from rl_planners.mdp.outcomes import RULES, Outcomes, show, type_error, typed_array, typed_reading
from rl_planners.mdp.p_reader import read_transitions

__all__ = [
    "RULES",
    "Outcomes",
    "env_transitions",
    "read_dense",
    "read_padded",
    "read_transitions",
    "show",
    "type_error",
    "typed_array",
    "write_transitions",
]


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
        typed_reading(next_state, "index", "next_state", axes),
        typed_reading(prob, "number", "prob", axes),
        typed_reading(reward, "number", "reward", axes),
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
        arrays.append(typed_reading(terminated, "flag", "terminated", axes))
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


def env_transitions(env: Any, initial_distribution: Any = None) -> tuple[Any, Any]:
    """``(P, initial_distribution)`` of a Gymnasium env, wrapped or not.

    ``P`` is ``env.unwrapped.P``; the initial distribution is the one given,
    else the env's ``initial_state_distrib`` (as Gymnasium's toy_text envs
    keep it), else ``None`` (uniform) with a ``UserWarning``.

    Raises
    ------
    ModelError
        If the env exposes no ``P`` (naming the env and what to do instead).
    """
    base = gym_env.unwrapped(env)
    name = gym_env.env_name(env)
    P = getattr(base, "P", None)
    if P is None:
        raise ModelError(
            f"{name} exposes no transition model: expected "
            "env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...] "
            "(as FrozenLake, Taxi and CliffWalking have); build the model with "
            "TabularMDP.from_transitions or from_arrays instead"
        )
    if initial_distribution is None:
        initial_distribution = getattr(base, "initial_state_distrib", None)
        if initial_distribution is None:
            warnings.warn(
                f"{name} has no initial_state_distrib; using a uniform initial "
                "distribution over states (pass initial_distribution= to set it)",
                UserWarning,
                stacklevel=3,  # the caller of TabularMDP.from_env
            )
    return P, initial_distribution


def write_transitions(
    outcomes: Outcomes,
) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
    """The FrozenLake-style ``P[s][a] = [(prob, next_state, reward, terminated), ...]``.

    Python floats, ints and bools, outcome for outcome and in order, so that
    :func:`read_transitions` reads back exactly ``outcomes``.
    """
    listed = list(
        zip(
            outcomes.prob.tolist(),
            outcomes.next_state.tolist(),
            outcomes.reward.tolist(),
            outcomes.terminated.tolist(),
            strict=True,
        )
    )
    offsets = outcomes.row_offsets.tolist()
    n_actions = outcomes.n_actions
    return {
        state: {
            action: listed[
                offsets[state * n_actions + action] : offsets[state * n_actions + action + 1]
            ]
            for action in range(n_actions)
        }
        for state in range(outcomes.n_states)
    }
