"""Finite-horizon planning: backward induction and the exact value of a policy.

An episode cut off after ``H`` steps (as Gymnasium's ``TimeLimit`` does) is a
finite-horizon problem. Its optimal policy depends on the time step ``t``, or
equivalently on the ``H − t`` steps still to go, and is found exactly by the
backward recursion of the Bellman optimality equation (Puterman 1994, §4.5):

.. math::

    V_H(s) = v_H(s), \\qquad
    Q_t(s, a) = R(s, a) + γ \\sum_{s'} P_{\\text{cont}}(s'|s, a) V_{t+1}(s'), \\qquad
    V_t(s) = \\max_a Q_t(s, a), \\qquad t = H-1, \\dots, 0,

with ``v_H`` the terminal values (0 by default) and ``P_cont`` the
continuation matrix of :class:`~rl_planners.mdp.TabularMDP`: an outcome that
terminates the episode earns its reward but no future value. The value of a
fixed (possibly time-dependent, possibly stochastic) policy follows the same
recursion with the expectation under ``π_t`` in place of the maximum:

.. math::

    V_H = 0, \\qquad V_t(s) = \\sum_a π_t(a|s) Q_t(s, a).

Each step is one sparse product ``P_cont @ V_{t+1}``. Unlike the
infinite-horizon case, ``γ = 1`` needs no proper-policy assumption: the sum
has at most ``H`` terms.

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
   Programming*, Wiley, 1994, ch. 4 (finite-horizon MDPs; §4.5 backward
   induction).
.. [2] R. Bellman, *Dynamic Programming*, Princeton University Press, 1957.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np

from rl_planners.bellman import expectation_backup, operators, policy_model
from rl_planners.mdp import TabularMDP
from rl_planners.result import FiniteHorizonResult
from rl_planners.solvers.iteration import check_finite
from rl_planners.validation import check_choice, check_gamma, check_int, check_policy, check_values

__all__ = [
    "KEEP_OPTIONS",
    "FiniteHorizonResult",
    "backward_induction",
    "check_horizon",
    "finite_horizon_policy_value",
]

KEEP_OPTIONS = ("all", "policy")
"""What :func:`backward_induction` keeps: every ``V_t`` and ``Q_t``, or the policy and ``V_0``."""


def backward_induction(
    mdp: TabularMDP,
    horizon: int,
    gamma: float = 1.0,
    *,
    terminal_values: np.ndarray | None = None,
    keep: Literal["all", "policy"] = "all",
) -> FiniteHorizonResult:
    """Optimal finite-horizon values and time-dependent policy by backward induction.

    Solves the Bellman optimality equation of the ``H``-step problem exactly:

    .. math::

        V_H = v_H, \\quad
        Q_t(s, a) = R(s, a) + γ \\sum_{s'} P_{\\text{cont}}(s'|s, a) V_{t+1}(s'), \\quad
        V_t(s) = \\max_a Q_t(s, a), \\quad
        π_t(s) = \\operatorname{argmax}_a Q_t(s, a),

    for ``t = H − 1, …, 0``: one sparse product per step.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    horizon : int
        ``H ≥ 0``, the number of decisions before the episode is cut off
        (Gymnasium's ``max_episode_steps``).
    gamma : float, default 1.0
        Discount factor in ``[0, 1]``; ``γ = 1`` is always well defined here.
    terminal_values : array_like, shape (S,), optional
        ``v_H(s)``, the value credited for being in ``s`` (not terminated)
        when the horizon is reached. Default 0: a truncated episode earns
        nothing more. Terminating outcomes never receive it.
    keep : {"all", "policy"}, default "all"
        ``"all"`` keeps ``V`` ``[H + 1, S]``, ``Q`` ``[H, S, A]`` and the
        policy, ``O(H · S · A)`` memory. ``"policy"`` keeps only the policy
        ``[H, S]`` and ``V_0`` (``Q`` is ``None``), ``O(H · S + S · A)``
        memory: use it for long horizons or large models.

    Returns
    -------
    FiniteHorizonResult
        ``V``, ``Q``, ``policy`` (``policy[t, s]`` is the action at time step
        ``t``, with ``H − t`` steps to go), ``horizon``, ``gamma``,
        ``wall_time``, ``keep``.

    Raises
    ------
    ValueError
        If ``horizon`` is negative, ``gamma`` is outside ``[0, 1]``,
        ``terminal_values`` is not a finite ``(S,)`` array, or ``keep`` is
        not one of the options.
    TypeError
        If ``horizon`` is not an int or ``gamma`` not a real number.

    Notes
    -----
    The returned policy is optimal among all history-dependent policies for
    the ``H``-step return ``E[Σ_{t<H} γ^t r_t + γ^H v_H(s_H)]`` from every
    state (Puterman 1994, Thm. 4.5.1). Ties go to the lowest action index.
    When actions tie, delaying is as good as acting, so an optimal
    time-dependent policy may wait while steps remain (at ``γ = 1`` on a
    deterministic map, for instance); it is still optimal for the horizon.

    With ``v_H = 0`` and ``γ < 1``, ``‖V_0 − V*‖∞ ≤ γ^H ‖V*‖∞``, so ``V_0``
    approaches the infinite-horizon optimum ``V*`` as ``H`` grows.

    The expected return from the start is ``mdp.initial_distribution @ V[0]``.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, ch. 4.

    Examples
    --------
    One state; action 0 earns 1 and continues, action 1 earns 2 and ends:

    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 0, 2.0, True)]}})
    >>> result = backward_induction(mdp, horizon=3)
    >>> result.V[:, 0]
    array([4., 3., 2., 0.])
    >>> result.policy[:, 0]
    array([0, 0, 1])
    """
    horizon = check_horizon(horizon)
    gamma = check_gamma(gamma)
    check_choice(keep, "keep", KEEP_OPTIONS)
    if terminal_values is None:
        V_next = np.zeros(mdp.n_states)  # [S]
    else:
        V_next = check_values(mdp, terminal_values, "terminal_values")  # [S]
    start = time.perf_counter()
    n_states, n_actions = mdp.n_states, mdp.n_actions
    states = np.arange(n_states)
    ops = operators(mdp)
    policy = np.empty((horizon, n_states), dtype=np.int64)  # [H, S]
    if keep == "all":
        V = np.empty((horizon + 1, n_states))  # [H + 1, S]
        Q = np.empty((horizon, n_states, n_actions))  # [H, S, A]
        V[horizon] = V_next
    for t in range(horizon - 1, -1, -1):
        Q_t = ops.q(V_next, gamma)  # [S, A]
        policy[t] = np.argmax(Q_t, axis=1)
        V_next = Q_t[states, policy[t]]
        if keep == "all":
            Q[t] = Q_t
            V[t] = V_next
    check_finite(V_next, "the value at t = 0", gamma)
    if keep == "policy":
        V, Q = V_next[np.newaxis, :], None
    return FiniteHorizonResult(
        V=V,
        Q=Q,
        policy=policy,
        horizon=horizon,
        gamma=gamma,
        wall_time=time.perf_counter() - start,
        keep=keep,
    )


def finite_horizon_policy_value(
    mdp: TabularMDP,
    policy: np.ndarray,
    horizon: int,
    gamma: float = 1.0,
) -> np.ndarray:
    """Exact expected ``H``-step return of a policy from every state.

    Computes the expected sum of the first ``H`` discounted rewards,
    ``V^π_0(s) = E_π[Σ_{t<H} γ^t r_t | s_0 = s]``, the episode ending early
    where an outcome terminates it and being cut off after ``H`` steps
    otherwise (as Gymnasium's ``TimeLimit`` does), by the backward recursion
    of the Bellman expectation equation:

    .. math::

        V_H = 0, \\quad
        V_t(s) = \\sum_a π_t(a|s) \\Big[R(s, a)
                 + γ \\sum_{s'} P_{\\text{cont}}(s'|s, a) V_{t+1}(s')\\Big],
        \\quad t = H − 1, …, 0,

    one sparse product per step.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    policy : array_like
        The kind is read from the number of dimensions and the dtype:

        - ``(S,)`` int: stationary deterministic, ``policy[s]`` the action;
        - ``(S, A)`` float: stationary stochastic, ``policy[s, a] = π(a|s)``;
        - ``(H, S)`` int: time-dependent deterministic, ``policy[t, s]``
          (as :func:`backward_induction` returns it);
        - ``(H, S, A)`` float: time-dependent stochastic, ``policy[t, s, a]``.

        A two-dimensional integer array is always read as time-dependent:
        give a one-hot stochastic policy as floats.
    horizon : int
        ``H ≥ 0``, the number of steps before the episode is cut off.
    gamma : float, default 1.0
        Discount factor in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        ``[S]`` float64, ``V^π_0``. The expected return from the start is
        ``mdp.initial_distribution @ V``.

    Raises
    ------
    ValueError
        If ``horizon`` is negative, ``gamma`` is outside ``[0, 1]``, the
        policy has the wrong shape, an action is out of range, or a row of
        ``π_t`` is not a distribution; the message names the time step and
        state (and action).
    TypeError
        If ``horizon`` is not an int or ``gamma`` not a real number.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, §4.2
       (finite-horizon policy evaluation).

    Examples
    --------
    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 0, 2.0, True)]}})
    >>> finite_horizon_policy_value(mdp, np.array([0]), horizon=3)
    array([3.])
    >>> finite_horizon_policy_value(mdp, np.array([[0.5, 0.5]]), horizon=2)
    array([2.25])
    """
    horizon = check_horizon(horizon)
    gamma = check_gamma(gamma)
    try:
        array = np.asarray(policy)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"policy must be an array of actions or probabilities, got {policy!r}"
        ) from error
    V = np.zeros(mdp.n_states)  # [S]
    if array.ndim == 1 or (array.ndim == 2 and array.dtype.kind == "f"):
        # Stationary: V_t = R_π + γ P_π V_{t+1}, with P_π [S, S] built once.
        P_pi, R_pi = policy_model(mdp, array)
        for _ in range(horizon):
            V = expectation_backup(P_pi, R_pi, V, gamma)
        check_finite(V, "the policy's value at t = 0", gamma)
        return V
    # Time-dependent: V_t(s) = Σ_a π_t(a|s) Q_t(s, a), Q_t from V_{t+1}.
    steps = _time_dependent_policy(mdp, array, horizon)
    states = np.arange(mdp.n_states)
    ops = operators(mdp)
    for t in range(horizon - 1, -1, -1):
        Q_t = ops.q(V, gamma)  # [S, A]
        pi_t = steps[t]  # [S] int64 or [S, A] float64
        if pi_t.ndim == 1:
            V = Q_t[states, pi_t]
        else:
            V = np.einsum("sa,sa->s", pi_t, Q_t)
    check_finite(V, "the policy's value at t = 0", gamma)
    return V


# ---------------------------------------------------------------- helpers
def check_horizon(horizon: Any) -> int:
    """Return ``horizon``, the number of steps, as an int ≥ 0, or raise."""
    return check_int(horizon, "horizon", 0, "the number of steps")


def _time_dependent_policy(mdp: TabularMDP, array: np.ndarray, horizon: int) -> list[np.ndarray]:
    """Check an ``[H, S]`` int or ``[H, S, A]`` float policy; return its ``π_t``."""
    n_states, n_actions = mdp.n_states, mdp.n_actions
    if array.ndim == 2 and array.dtype.kind in "iub":
        expected = (horizon, n_states)
    elif array.ndim == 3 and array.dtype.kind == "f":
        expected = (horizon, n_states, n_actions)
    else:
        expected = None
    if array.shape != expected:
        raise ValueError(
            f"policy must have shape ({n_states},) or ({horizon}, {n_states}) "
            f"(integer actions, stationary or per time step) or "
            f"({n_states}, {n_actions}) or ({horizon}, {n_states}, {n_actions}) "
            f"(float probabilities π(a|s), stationary or per time step) for "
            f"{n_states} states, {n_actions} actions and horizon {horizon}; got "
            f"shape {array.shape} and dtype {array.dtype}"
        )
    steps = []
    for t in range(horizon):
        try:
            steps.append(check_policy(mdp, array[t]))
        except ValueError as error:
            raise ValueError(f"at time step {t}: {error}") from error
    return steps
