r"""Sampling an env as a generative model: every (state, action) pair, ``n`` times.

:func:`sample_every_pair` sets the state of an env whose state can be set
(Gymnasium's toy_text envs keep it in ``env.unwrapped.s``) and steps it, for
:meth:`~rl_planners.mdp.TabularMDP.estimate` and
:func:`~rl_planners.mdp.estimation.estimate_model`. The sizes of an env's
Discrete spaces are read here too (:func:`env_sizes`).

Only :mod:`rl_planners.gym_env` and :mod:`rl_planners.mdp.checks` lie below (no
model, no solver).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rl_planners import gym_env
from rl_planners.mdp.checks import check_count

__all__ = ["env_sizes", "sample_every_pair"]


def env_sizes(env: Any) -> tuple[int, int]:
    """``(S, A)`` of an env's Discrete spaces; ``ModelError`` (a ``ValueError``) otherwise."""
    return (
        gym_env.discrete_size(env, "observation_space"),
        gym_env.discrete_size(env, "action_space"),
    )


def _settable_state(env: Any) -> Any:
    """``env.unwrapped`` if its state is a writable integer ``s``, else raise ``ValueError``."""
    base, name = env.unwrapped, gym_env.env_name(env)
    what = (
        "sample_every_pair sets the state before each step, and looks for a writable integer "
        "attribute `s` on env.unwrapped (Gymnasium's FrozenLake, Taxi and CliffWalking keep "
        "their state there)"
    )
    instead = "; collect transitions in your own loop and call model_from_samples instead"
    state = getattr(base, "s", None)
    if isinstance(state, bool) or not isinstance(state, numbers.Integral):
        raise ValueError(f"{name} cannot be set to a state: {what}, found s={state!r}{instead}")
    try:
        base.s = state
    except AttributeError as error:
        raise ValueError(
            f"{name} cannot be set to a state: {what}, but it is read-only{instead}"
        ) from error
    if getattr(base, "fickle_passenger", False):
        raise ValueError(
            f"{name} has fickle_passenger=True: its step also depends on a flag drawn at each "
            "reset (fickle_step), so an outcome is not a function of (s, a) alone and no "
            "tabular model of s can hold it; make the env with fickle_passenger=False"
        )
    return base


def sample_every_pair(
    env: Any, n_samples_per_pair: int, *, seed: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""``n`` samples of every (state, action) pair of an env that can be set to a state.

    The env is used as a generative model: for each pair, ``env.unwrapped.s``
    is set to ``s`` and ``env.unwrapped.step(a)`` called, ``n_samples_per_pair``
    times. Wrappers are bypassed (a ``TimeLimit`` would truncate, and an
    observation wrapper would change what a state is).

    Parameters
    ----------
    env : gymnasium.Env
        Discrete spaces, and its state in a writable integer ``env.unwrapped.s``
        that ``step`` reads: FrozenLake, CliffWalking, and Taxi with
        ``fickle_passenger=False`` (Taxi's step also reads ``fickle_step``, a
        flag drawn at reset, when the passenger is fickle; the ``lastaction``
        it writes serves rendering only).
    n_samples_per_pair : int
        ``n ≥ 1``; ``S·A·n`` steps in all.
    seed : int or None
        Seeds the env's generator once, by ``env.reset(seed=seed)``.

    Returns
    -------
    states, actions, rewards, next_states, terminated : numpy.ndarray
        ``[S·A·n]`` each, pair ``(s, a)`` in entries ``(s·A + a)·n`` onwards.

    Raises
    ------
    ValueError
        Non-Discrete spaces, a state that cannot be set (naming the env and
        ``s``), a Taxi with a fickle passenger, ``n_samples_per_pair < 1``, or
        a step that returns an observation that is not a state index.

    Notes
    -----
    The samples of each pair are i.i.d. draws of a fixed number, as the
    confidence radii need. The env's state is left where the last sample put
    it: reset it before use.
    """
    n_samples_per_pair = check_count(n_samples_per_pair, "n_samples_per_pair")
    n_states, n_actions = env_sizes(env)
    env.reset(seed=seed)
    base = _settable_state(env)
    n = n_states * n_actions * n_samples_per_pair
    states = np.repeat(np.arange(n_states), n_actions * n_samples_per_pair)  # [n]
    actions = np.tile(np.repeat(np.arange(n_actions), n_samples_per_pair), n_states)  # [n]
    next_states = np.empty(n, dtype=np.int64)
    rewards = np.empty(n)
    terminated = np.empty(n, dtype=np.bool_)
    step = base.step
    for i, (state, action) in enumerate(zip(states.tolist(), actions.tolist(), strict=True)):
        base.s = state
        observation, reward, ends, _, _ = step(action)
        if isinstance(observation, bool) or not isinstance(observation, numbers.Integral):
            raise ValueError(
                f"{gym_env.env_name(env)}.step({action}) from state {state} returned "
                f"observation {observation!r}; expected a state index"
            )
        next_states[i], rewards[i], terminated[i] = observation, reward, ends
    return states, actions, rewards, next_states, terminated
