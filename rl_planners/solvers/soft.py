r"""Soft (entropy-regularised) planning: soft value iteration and soft backward induction.

With a temperature ``τ > 0`` the maximum of the Bellman optimality equation
is replaced by its smooth upper bound, the log-sum-exp ("soft maximum"):

- action values   ``Q(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')``
  (:func:`rl_planners.bellman.q_from_v`, the one place it is written)
- soft backup     ``(T_τ V)(s) = τ log Σ_a exp(Q(s,a)/τ)``
- Boltzmann policy ``π(a|s) = exp((Q(s,a) − V(s))/τ)`` with
  ``V(s) = τ log Σ_a exp(Q(s,a)/τ)``, so each row sums to 1.

``V*_τ``, the fixed point of ``T_τ``, is the optimal value of the
entropy-regularised return ``E[Σ_t γ^t (r_t + τ H(π(·|s_t)))]`` and the
Boltzmann policy of ``Q*_τ`` attains it. The soft maximum (computed stably,
so that no exponential overflows), the Boltzmann policy and the sampling of
an action from it are array operators of :mod:`rl_planners.solvers.softmax`,
re-exported here.

``T_τ`` is a γ-contraction in the sup norm (the log-sum-exp is monotone and
``T_τ(V + c) = T_τ V + γ c``), which gives value iteration's stopping rule,
and ``max_a Q ≤ τ log Σ_a exp(Q/τ) ≤ max_a Q + τ log A``, which gives
``0 ≤ V*_τ − V* ≤ τ log A / (1 − γ)``: as ``τ → 0`` soft planning recovers
ordinary value iteration's ``V*``.

References
----------
Ziebart, B. D. (2010). *Modeling Purposeful Adaptive Behavior with the
Principle of Maximum Causal Entropy*, PhD thesis, Carnegie Mellon University,
ch. 6 (soft value iteration).
Haarnoja, T., Tang, H., Abbeel, P. & Levine, S. (2017). Reinforcement learning
with deep energy-based policies. *ICML*, eqs. (2)–(5).
Geist, M., Scherrer, B. & Pietquin, O. (2019). A theory of regularized Markov
decision processes. *ICML*.
Puterman, M. L. (1994). *Markov Decision Processes*, Thm 6.3.1 (the stopping
rule for a γ-contraction).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from rl_planners.bellman import greedy_policy, q_from_v
from rl_planners.errors import ConvergenceWarning
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.checks import read_only_copy
from rl_planners.solvers.softmax import (
    boltzmann_policy,
    check_temperature,
    sample_boltzmann_action,
    soft_maximum,
)
from rl_planners.validation import (
    check_gamma,
    check_int,
    check_max_iterations,
    check_tol,
    check_values,
)

__all__ = [
    "SoftFiniteHorizonResult",
    "SoftPlanningResult",
    "boltzmann_policy",
    "sample_boltzmann_action",
    "soft_backward_induction",
    "soft_maximum",
    "soft_value_iteration",
]

_ROUNDING_ULPS = 8.0
"""A change within this many float64 units of ``max|V|`` is as close as float64 gets."""


# --------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class SoftPlanningResult:
    """What :func:`soft_value_iteration` returns.

    Attributes
    ----------
    V : numpy.ndarray
        ``[S]`` soft values ``V(s) ≈ V*_τ(s)``.
    Q : numpy.ndarray
        ``[S, A]`` ``Q(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')`` of ``V``.
    policy : numpy.ndarray
        ``[S, A]`` the Boltzmann policy ``π(a|s) = exp((Q(s,a) − τ log Σ_b
        exp(Q(s,b)/τ))/τ)`` of ``Q``; each row sums to 1.
    greedy : numpy.ndarray
        ``[S]`` int64, ``argmax_a Q(s,a)`` (lowest index among ties within
        float64 rounding).
    iterations : int
        Sweeps performed.
    converged : bool
        Whether the stopping rule was met before ``max_iterations``.
    residuals : numpy.ndarray
        ``[iterations]`` the sup-norm change ``‖V_{k+1} − V_k‖∞`` of each sweep.
    gamma : float
        The discount factor planned with.
    temperature : float
        ``τ``.
    wall_time : float
        Seconds spent in the solver.
    """

    V: np.ndarray
    Q: np.ndarray = field(repr=False)
    policy: np.ndarray = field(repr=False)
    greedy: np.ndarray = field(repr=False)
    iterations: int
    converged: bool
    residuals: np.ndarray = field(repr=False)
    gamma: float
    temperature: float
    wall_time: float

    def __post_init__(self) -> None:
        for name in ("V", "Q", "policy", "greedy", "residuals"):
            object.__setattr__(self, name, read_only_copy(getattr(self, name)))


@dataclass(frozen=True, eq=False)
class SoftFiniteHorizonResult:
    """What :func:`soft_backward_induction` returns.

    ``t = 0`` is the first decision and ``t = H − 1`` the last; ``H − t``
    steps remain at ``t``.

    Attributes
    ----------
    V : numpy.ndarray
        ``[H + 1, S]`` soft values ``V_t(s)``; ``V[H]`` holds the terminal values.
    Q : numpy.ndarray
        ``[H, S, A]`` ``Q_t(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V_{t+1}(s')``.
    policy : numpy.ndarray
        ``[H, S, A]`` the Boltzmann policy ``π_t(a|s) = exp((Q_t(s,a) − V_t(s))/τ)``.
    greedy : numpy.ndarray
        ``[H, S]`` int64, ``argmax_a Q_t(s,a)`` (lowest index among exact ties).
    horizon : int
        ``H``.
    gamma : float
    temperature : float
    wall_time : float
    """

    V: np.ndarray
    Q: np.ndarray = field(repr=False)
    policy: np.ndarray = field(repr=False)
    greedy: np.ndarray = field(repr=False)
    horizon: int
    gamma: float
    temperature: float
    wall_time: float

    def __post_init__(self) -> None:
        for name in ("V", "Q", "policy", "greedy"):
            object.__setattr__(self, name, read_only_copy(getattr(self, name)))


# ------------------------------------------------------------------- the backup
def _soft_backup(
    mdp: TabularMDP, V: np.ndarray, gamma: float, temperature: float, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """``Q = q_from_v(V)`` and ``V' = τ log Σ_a exp(Q/τ)``; a non-finite ``Q`` is an error."""
    with np.errstate(over="ignore", invalid="ignore"):
        Q = q_from_v(mdp, V, gamma)  # [S, A]
    bad = np.argwhere(~np.isfinite(Q))
    if bad.size:
        state, action = bad[0]
        raise ValueError(
            f"{where} produced the non-finite value {Q[state, action].item()!r} at state "
            f"{state}, action {action}; the rewards or terminal values are too large for "
            "float64: rescale them"
        )
    return Q, soft_maximum(Q, temperature)


# ------------------------------------------------------------ infinite horizon
def soft_value_iteration(
    mdp: TabularMDP,
    gamma: float,
    temperature: float,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    V0: np.ndarray | None = None,
) -> SoftPlanningResult:
    r"""Soft value iteration: repeat ``V_{k+1} = T_τ V_k`` until the sup-norm stop holds.

    ``(T_τ V)(s) = τ log Σ_a exp(Q(s,a)/τ)``, ``Q(s,a) = R(s,a) + γ Σ_s'
    P_cont(s'|s,a) V(s')``, swept synchronously from ``V0`` (zeros by default).

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in ``[0, 1)``. At ``γ = 1`` the soft values of a continuing
        task grow without bound; plan a finite horizon with
        :func:`soft_backward_induction` instead.
    temperature : float
        ``τ > 0``, finite: the weight of the policy's entropy in the return.
        Small ``τ`` approaches ordinary value iteration, large ``τ`` the
        uniform policy.
    tol : float
        ``ε``: the result satisfies ``‖V − V*_τ‖∞ < ε/2``.
    max_iterations : int
        Sweep cap, never overridden. Capped at ``k`` the result holds
        ``T_τ^k V0`` with ``converged=False`` and a :class:`ConvergenceWarning`.
    V0 : array_like, shape (S,), optional
        Initial values (finite).

    Returns
    -------
    SoftPlanningResult
        ``V``, its ``Q``, the Boltzmann ``policy`` of ``Q``, the ``greedy``
        policy, ``iterations``, ``converged``, ``residuals[k] = ‖V_{k+1} −
        V_k‖∞``, ``gamma``, ``temperature``, ``wall_time``.

    Raises
    ------
    ValueError
        ``γ = 1`` or outside ``[0, 1]``; ``temperature``, ``tol`` or
        ``max_iterations`` out of range; ``V0`` not a finite ``(S,)`` array; a
        sweep produced a non-finite value (the state is named).
    TypeError
        ``gamma``, ``temperature``, ``tol`` or ``max_iterations`` of the wrong
        type (a bool is refused).

    Notes
    -----
    Stopping rule: stop after the first sweep with ``‖V_{k+1} − V_k‖∞ <
    ε(1−γ)/(2γ)`` and return ``V_{k+1}``. Since ``T_τ`` is a γ-contraction in
    the sup norm, ``‖V_{k+1} − V*_τ‖∞ ≤ γ/(1−γ) ‖V_{k+1} − V_k‖∞ < ε/2``
    (Puterman 1994, Thm 6.3.1, whose proof uses only the contraction). At
    ``γ = 0`` one sweep is exact. The loop also stops when the change is
    within float64 rounding of ``V`` (8 units in the last place of
    ``max|V|``), the closest float64 arithmetic gets.

    Bound in ``τ``: ``0 ≤ V*_τ − V* ≤ τ log A / (1 − γ)``.

    References
    ----------
    Ziebart (2010), ch. 6; Haarnoja et al. (2017), eqs. (2)–(5); Puterman
    (1994), Thm 6.3.1.

    Examples
    --------
    One state, two actions that earn 0 and stay: ``V*_τ = τ log 2 / (1 − γ)``.

    >>> mdp = TabularMDP.from_arrays([[[1.0], [1.0]]], [[0.0, 0.0]])
    >>> result = soft_value_iteration(mdp, 0.5, 1.0)
    >>> result.V.round(6), result.policy
    (array([1.386294]), array([[0.5, 0.5]]))
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    if gamma == 1.0:
        raise ValueError(
            "soft_value_iteration needs gamma < 1 (at gamma = 1 the soft values of the "
            "infinite-horizon task are unbounded: each step adds up to τ log A); got "
            "gamma = 1.0. Use gamma < 1, or plan H steps with "
            "soft_backward_induction(mdp, horizon, temperature, gamma=1.0)"
        )
    temperature = check_temperature(temperature)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    V = np.zeros(mdp.n_states) if V0 is None else check_values(mdp, V0, "V0")  # [S]
    threshold = np.inf if gamma == 0.0 else tol * (1.0 - gamma) / (2.0 * gamma)
    rounding_unit = _ROUNDING_ULPS * np.finfo(np.float64).eps

    residuals: list[float] = []
    converged = False
    for _ in range(max_iterations):
        _, V_next = _soft_backup(
            mdp, V, gamma, temperature, f"soft value iteration (sweep {len(residuals) + 1})"
        )  # [S]
        residual = float(np.abs(V_next - V).max()) if V.size else 0.0
        residuals.append(residual)
        V = V_next
        top = float(np.abs(V).max()) if V.size else 0.0
        if residual < threshold or residual <= rounding_unit * max(1.0, top):
            converged = True
            break
    if not converged:
        warnings.warn(
            f"soft_value_iteration stopped at max_iterations={max_iterations} before "
            f"meeting its stopping rule (last change {residuals[-1]:.3g}); the result is "
            "not converged. Raise max_iterations or tol.",
            ConvergenceWarning,
            stacklevel=2,
        )
    Q, _ = _soft_backup(mdp, V, gamma, temperature, "the action values of the result")
    return SoftPlanningResult(
        V=V,
        Q=Q,
        policy=boltzmann_policy(Q, temperature),
        greedy=greedy_policy(mdp, Q, gamma),
        iterations=len(residuals),
        converged=converged,
        residuals=np.asarray(residuals, dtype=np.float64),
        gamma=gamma,
        temperature=temperature,
        wall_time=time.perf_counter() - start,
    )


# -------------------------------------------------------------- finite horizon
def soft_backward_induction(
    mdp: TabularMDP,
    horizon: int,
    temperature: float,
    *,
    gamma: float = 1.0,
    terminal_values: np.ndarray | None = None,
) -> SoftFiniteHorizonResult:
    r"""Soft finite-horizon values and Boltzmann policies by backward recursion.

    .. math::

        V_H = v_H, \quad
        Q_t(s, a) = R(s, a) + γ \sum_{s'} P_{\text{cont}}(s'|s, a) V_{t+1}(s'), \quad
        V_t(s) = τ \log \sum_a \exp(Q_t(s, a)/τ), \quad
        π_t(a|s) = \exp((Q_t(s, a) − V_t(s))/τ),

    for ``t = H − 1, …, 0``: one sparse product per step, exact (no stopping rule).

    Parameters
    ----------
    mdp : TabularMDP
    horizon : int
        ``H ≥ 0``, the number of decisions.
    temperature : float
        ``τ > 0``, finite.
    gamma : float, default 1.0
        Discount in ``[0, 1]``; ``γ = 1`` is well defined for a finite horizon.
    terminal_values : array_like, shape (S,), optional
        ``v_H(s)``, credited for being in ``s`` (not terminated) when the
        horizon is reached; default 0. Terminating outcomes never receive it.

    Returns
    -------
    SoftFiniteHorizonResult
        ``V [H + 1, S]``, ``Q [H, S, A]``, ``policy [H, S, A]``, ``greedy [H, S]``.

    Raises
    ------
    ValueError
        Negative ``horizon``; ``gamma`` outside ``[0, 1]``; ``temperature``
        not finite and > 0; ``terminal_values`` not a finite ``(S,)`` array; a
        non-finite value (the step and state are named).
    TypeError
        ``horizon`` not an int, ``gamma`` or ``temperature`` not a real number.

    Notes
    -----
    ``V_0(s)`` is the optimal ``H``-step entropy-regularised return
    ``E[Σ_{t<H} γ^t (r_t + τ H(π_t(·|s_t))) + γ^H v_H(s_H)]``, attained by the
    time-dependent Boltzmann policy. With ``v_H = 0`` it exceeds the hard
    backward induction's ``V_0`` by at most ``τ log A Σ_{t<H} γ^t``.

    References
    ----------
    Ziebart (2010), ch. 6; Puterman (1994), §4.5.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0], [1.0]]], [[0.0, 0.0]])
    >>> soft_backward_induction(mdp, 2, 1.0).V[:, 0].round(6)
    array([1.386294, 0.693147, 0.      ])
    """
    start = time.perf_counter()
    horizon = check_int(horizon, "horizon", 0, "the number of decisions")
    temperature = check_temperature(temperature)
    gamma = check_gamma(gamma)
    V = np.zeros((horizon + 1, mdp.n_states))  # [H+1, S]
    if terminal_values is not None:
        V[horizon] = check_values(mdp, terminal_values, "terminal_values")
    Q = np.zeros((horizon, mdp.n_states, mdp.n_actions))  # [H, S, A]
    for t in reversed(range(horizon)):
        Q[t], V[t] = _soft_backup(
            mdp, V[t + 1], gamma, temperature, f"soft backward induction (time step t={t})"
        )
    return SoftFiniteHorizonResult(
        V=V,
        Q=Q,
        policy=boltzmann_policy(Q, temperature),
        greedy=np.argmax(Q, axis=2).astype(np.int64),
        horizon=horizon,
        gamma=gamma,
        temperature=temperature,
        wall_time=time.perf_counter() - start,
    )
