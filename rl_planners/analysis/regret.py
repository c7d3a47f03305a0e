r"""The exact regret of any policy: how much expected return it leaves on the table.

For a policy ``π`` and the model's initial distribution ``μ0``,

.. math::

    \text{gap} = μ_0 \cdot V^* − μ_0 \cdot V^π \;\ge\; 0, \qquad
    \text{state gap}(s) = V^*(s) − V^π(s) \;\ge\; 0,

computed exactly from the model (no sampling), for one of two objectives:

- a horizon ``H`` (an episode cut off after ``H`` steps, as Gymnasium's
  ``TimeLimit`` does): ``V^*`` is the optimal ``H``-step value, which a
  time-dependent policy attains (:func:`rl_planners.solvers.horizon.backward_induction`),
  and ``V^π`` the ``H``-step value of the stationary ``π``
  (:func:`rl_planners.solvers.horizon.finite_horizon_policy_value`);
- an infinite horizon with discount ``γ``: ``V^*`` from
  :func:`rl_planners.solvers.policy_iteration` (exact evaluation of the final
  policy) and ``V^π`` from :func:`rl_planners.solvers.policy_evaluation`
  (an exact linear solve).

The policy may come as an array of actions, of probabilities or of
Q-values, as a function of the observation, or as any object with
Stable-Baselines3's ``predict``: :func:`as_policy` turns each into an array.

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, §4.5
   (finite horizon) and §6.4 (policy iteration).
.. [2] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An
   Introduction*, 2nd ed., MIT Press, 2018, §3.6 (optimal value functions).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rl_planners.bellman import greedy_policy
from rl_planners.mdp import PROBABILITY_ATOL, TabularMDP
from rl_planners.solvers import policy_evaluation, policy_iteration
from rl_planners.solvers.horizon import backward_induction, finite_horizon_policy_value
from rl_planners.validation import check_gamma, check_policy

__all__ = ["RegretResult", "as_policy", "regret"]

PolicyKind = Literal["actions", "stochastic", "q_values"]
_KINDS = (None, "actions", "stochastic", "q_values")


@dataclass(frozen=True, eq=False)
class RegretResult:
    """What :func:`regret` returns.

    Attributes
    ----------
    policy_return : float
        ``μ0 · V^π``, the policy's exact expected return from the start.
    optimal_return : float
        ``μ0 · V^*``, the best expected return for the same objective.
    gap : float
        ``optimal_return − policy_return``: ≥ 0 up to float64 rounding.
    state_gap : numpy.ndarray
        ``[S]`` ``V^*(s) − V^π(s)``: ≥ 0 up to rounding.
    policy_values : numpy.ndarray
        ``[S]`` ``V^π``.
    optimal_values : numpy.ndarray
        ``[S]`` ``V^*``.
    gamma : float
        The discount factor.
    horizon : int or None
        ``H`` for the ``H``-step objective; ``None`` for the infinite horizon.
    policy : numpy.ndarray
        The policy evaluated: ``[S]`` int64 actions or ``[S, A]`` float64
        ``π(a|s)``.
    """

    policy_return: float
    optimal_return: float
    gap: float
    state_gap: np.ndarray
    policy_values: np.ndarray
    optimal_values: np.ndarray
    gamma: float
    horizon: int | None
    policy: np.ndarray

    def __post_init__(self) -> None:
        for name in ("state_gap", "policy_values", "optimal_values", "policy"):
            array = np.array(getattr(self, name))  # its own copy
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __repr__(self) -> str:
        objective = "infinite horizon" if self.horizon is None else f"horizon={self.horizon}"
        return (
            f"RegretResult(gap={self.gap:.6g}, policy_return={self.policy_return:.6g}, "
            f"optimal_return={self.optimal_return:.6g}, gamma={self.gamma}, {objective})"
        )


def regret(
    env_or_mdp: Any,
    policy_like: Any,
    *,
    gamma: float | None = None,
    horizon: int | None = None,
    kind: PolicyKind | None = None,
) -> RegretResult:
    r"""Exact regret ``μ0 · V^* − μ0 · V^π`` of a policy, and its value from every state.

    Parameters
    ----------
    env_or_mdp : gymnasium.Env or TabularMDP
        A Gymnasium env with a tabular model (read by
        :meth:`TabularMDP.from_env`, wrapped or not) or the model itself.
    policy_like : array_like, callable or object with ``predict``
        The policy, in any form :func:`as_policy` reads: ``[S]`` int actions,
        ``[S, A]`` probabilities, ``[S, A]`` Q-values (greedy), ``obs -> action``,
        or an object with ``predict(obs, deterministic=True)``.
    gamma : float, optional
        Discount factor in ``[0, 1]``.
    horizon : int, optional
        ``H ≥ 0``: the ``H``-step objective.
    kind : {"actions", "stochastic", "q_values"}, optional
        How to read an array (see :func:`as_policy`); default: guessed.

    Which objective:

    - ``horizon`` given: the ``H``-step return, discounted by ``gamma``
      (default 1);
    - ``gamma`` given, no ``horizon``: the infinite-horizon discounted return
      (a time limit on the env is then ignored; pass ``horizon=`` to respect it);
    - neither, and an env: its ``TimeLimit`` (the smallest one in the wrapper
      chain, as ``gym.make`` adds it from ``max_episode_steps``) as the
      horizon, with ``γ = 1``;
    - neither, and a model or an env without a ``TimeLimit``: an error.

    Returns
    -------
    RegretResult
        ``policy_return``, ``optimal_return``, ``gap``, ``state_gap``,
        ``policy_values``, ``optimal_values``, ``gamma``, ``horizon`` and the
        ``policy`` array evaluated.

    Raises
    ------
    ValueError
        No objective can be chosen (the message says what to pass); a policy
        of the wrong shape, an action out of range or not an integer (the
        state is named), probabilities that are not distributions, non-finite
        Q-values; a bad ``gamma``, ``horizon`` or ``kind``.
    TypeError
        ``env_or_mdp`` is neither an env nor a model; ``gamma`` or ``horizon``
        of the wrong type.
    NonTerminatingPolicyError
        Infinite horizon at ``γ = 1`` where the policy (or every policy)
        fails to terminate from some states (named).

    Notes
    -----
    ``V^*`` of the ``H``-step objective is optimal among all, also
    time-dependent, policies (Puterman 1994, Thm 4.5.1), so a stationary
    policy's gap within a time limit can be positive even if the policy is
    optimal for the infinite horizon. Both values are exact up to the
    rounding of ``H`` sparse products or of one linear solve per policy.

    References
    ----------
    Puterman (1994), §4.5 and §6.4.

    Examples
    --------
    One state; action 0 earns 1 and continues, action 1 earns 2 and ends:

    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 0, 2.0, True)]}})
    >>> regret(mdp, np.array([1]), horizon=3).gap  # ends at once: 2 of 4
    2.0
    >>> regret(mdp, lambda obs: 0, gamma=0.5).gap  # 1/(1-γ) = 2 vs 2
    0.0
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    mdp, time_limit = _model_and_time_limit(env_or_mdp)
    gamma, horizon = _objective(gamma, horizon, time_limit, env_or_mdp is not mdp)
    policy = as_policy(mdp, policy_like, kind=kind, gamma=gamma)
    if horizon is None:
        optimal_values = policy_iteration(mdp, gamma).V  # [S]
        policy_values = policy_evaluation(mdp, policy, gamma)  # [S]
    else:
        optimal_values = backward_induction(mdp, horizon, gamma, keep="policy").V[0]  # [S]
        policy_values = finite_horizon_policy_value(mdp, policy, horizon, gamma)  # [S]
    initial = mdp.initial_distribution  # [S]
    optimal_return = float(initial @ optimal_values)
    policy_return = float(initial @ policy_values)
    return RegretResult(
        policy_return=policy_return,
        optimal_return=optimal_return,
        gap=optimal_return - policy_return,
        state_gap=optimal_values - policy_values,
        policy_values=policy_values,
        optimal_values=optimal_values,
        gamma=gamma,
        horizon=horizon,
        policy=policy,
    )


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
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
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


# ---------------------------------------------------------------- helpers
def _model_and_time_limit(env_or_mdp: Any) -> tuple[TabularMDP, int | None]:
    """The model, and the env's ``TimeLimit`` (``None`` for a model or no limit)."""
    if isinstance(env_or_mdp, TabularMDP):
        return env_or_mdp, None
    if isinstance(env_or_mdp, gym.Env):
        return TabularMDP.from_env(env_or_mdp), _time_limit(env_or_mdp)
    raise TypeError(
        "expected a gymnasium.Env or a TabularMDP as the first argument, got "
        f"{type(env_or_mdp).__name__}; build a model with TabularMDP.from_transitions "
        "or TabularMDP.from_arrays"
    )


def _time_limit(env: gym.Env) -> int | None:
    """The smallest step limit of the ``TimeLimit`` wrappers around ``env``, if any."""
    limits = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, gym.wrappers.TimeLimit):
            spec = layer.spec
            if spec is not None and spec.max_episode_steps is not None:
                limits.append(int(spec.max_episode_steps))
            else:
                limits.append(int(layer._max_episode_steps))
        layer = layer.env
    return min(limits) if limits else None


def _objective(
    gamma: Any, horizon: Any, time_limit: int | None, is_env: bool
) -> tuple[float, int | None]:
    """``(gamma, horizon)`` by the rules of :func:`regret`."""
    if horizon is not None:
        if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral):
            raise TypeError(f"horizon must be an int >= 0 (a number of steps), got {horizon!r}")
        if horizon < 0:
            raise ValueError(f"horizon must be >= 0 (a number of steps), got {horizon}")
        return (1.0 if gamma is None else check_gamma(gamma)), int(horizon)
    if gamma is not None:
        return check_gamma(gamma), None
    if time_limit is not None:
        return 1.0, time_limit
    if is_env:
        raise ValueError(
            "the env has no TimeLimit wrapper, so there is no horizon to take from it; "
            "pass gamma= (infinite-horizon discounted return) or horizon= (the number "
            "of steps an episode may last)"
        )
    raise ValueError(
        "a TabularMDP holds no discount or horizon; pass gamma= (infinite-horizon "
        "discounted return) or horizon= (the number of steps an episode may last)"
    )


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
