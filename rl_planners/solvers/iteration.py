r"""The stopping rule and the iteration loop every iterative solver runs.

Stopping rules (γ < 1), with ``d = V_{k+1} − V_k`` after a sweep of the
optimality operator ``T`` (Puterman 1994, Thm 6.3.1 and §6.6.3):

- ``"sup"``:  stop when ``‖d‖∞ < ε(1−γ)/(2γ)``; return ``V_{k+1}``.
- ``"span"``: stop when ``sp(d) = max d − min d < ε(1−γ)/γ``; return the
  MacQueen–Porteus midpoint ``V_{k+1} + γ/(1−γ) · (max d + min d)/2``.

Both guarantee ``‖V − V*‖∞ < ε/2`` for the returned ``V`` and
``‖V^π − V*‖∞ < ε`` for the policy ``π`` greedy with respect to it. For the
span rule: ``V* ≤ V_{k+1} + γ/(1−γ) max d`` and, since ``π`` is greedy,
``V^π ≥ V_{k+1} + γ/(1−γ) min d``; the midpoint is within half the gap of
``V*``. The span rule needs far fewer sweeps when ``V_k`` mostly shifts by a
constant, as it does at γ close to 1.

These bounds need ``P_π 1 = 1``. Where outcomes terminate, the continuation
rows sum to less than 1 (termination is an absorbing exit whose value stays
0), and the bounds hold with ``max d`` replaced by ``max(max d, 0)`` and
``min d`` by ``min(min d, 0)``: the exit's own change, 0, joins ``d``.
Without this a first sweep of constant rewards (CliffWalking: −1 everywhere)
has span 0 and would "converge" to ``−1/(1−γ)``.

At γ = 1 (episodic tasks) no contraction bound exists; the solvers stop when
``‖d‖∞ < ε``. Either rule also stops when ``d`` is within float64 rounding of
``V`` (a few units in the last place), the closest float64 arithmetic gets.

A non-finite value is never a converged result: every sweep's statistics are
checked, and a value that overflows float64 raises :class:`NonFiniteValueError`
naming the states.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes: Discrete Stochastic Dynamic
Programming*. Wiley. §6.3 (value iteration), §6.6 (bounds and stopping).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable

import numpy as np

from rl_planners.bellman import Operators, operators
from rl_planners.bellman.kernels import SweepStats
from rl_planners.errors import ConvergenceWarning, NonFiniteValueError
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.validation import check_choice, format_states

__all__ = [
    "STOPPING_RULES",
    "IterationCallback",
    "StoppingRule",
    "check_finite",
    "iterate",
    "planning_result",
    "warn_cap",
]

STOPPING_RULES = ("span", "sup")

TERMINATION_SLACK = 1e-12
"""Some row continues with probability below ``1 − this``: the model terminates."""

_ROUNDING_ULPS = 8.0
"""A change within this many float64 units of ``max|V|`` counts as converged."""

_ROUNDING = _ROUNDING_ULPS * float(np.finfo(np.float64).eps)


# --------------------------------------------------------------- stopping rule
class StoppingRule:
    """The sup-norm or span-seminorm stop for a tolerance ``ε`` (module docstring)."""

    def __init__(
        self,
        gamma: float,
        tol: float,
        stopping: str | None,
        mdp: TabularMDP | None = None,
        *,
        ops: Operators | None = None,
    ) -> None:
        """``mdp`` (or, read through its backend, ``ops``) tells where episodes end."""
        if stopping is None:
            stopping = "span" if gamma < 1.0 else "sup"
        check_choice(stopping, "stopping", STOPPING_RULES)
        if stopping == "span" and gamma == 1.0:
            raise ValueError(
                "stopping='span' needs gamma < 1 (its bounds are γ/(1−γ) multiples); "
                "use stopping='sup' at gamma = 1"
            )
        self.gamma, self.stopping = gamma, stopping
        # Without a model (policy evaluation's sup rule) nothing below is used.
        self.terminates = True
        # States where every action ends the episode at once: V(s) = max_a R(s, a)
        # exactly after one sweep, so the span correction must leave them alone
        # (a terminal state keeps V = 0).
        self.ends_at_once = None
        if mdp is not None or ops is not None:
            # ops: the compiled backend reads them without an [S, A] array
            lowest, highest = (ops or operators(mdp, "numpy")).continuation_extremes()
            self.terminates = lowest < 1.0 - TERMINATION_SLACK
            ends_at_once = highest == 0.0  # [S]
            self.ends_at_once = ends_at_once if ends_at_once.any() else None
        if gamma == 0.0:
            self.threshold = np.inf
        elif gamma == 1.0:
            self.threshold = tol
        elif stopping == "sup":
            self.threshold = tol * (1.0 - gamma) / (2.0 * gamma)
        else:
            self.threshold = tol * (1.0 - gamma) / gamma

    def measure(self, stats: SweepStats) -> float:
        """What the rule compares with its threshold: ``‖d‖∞``, or the span of ``d``
        (with the exit's 0 joining ``d`` where outcomes terminate)."""
        return self.measure_extremes(stats.high, stats.low)

    def measure_extremes(self, high: float, low: float) -> float:
        """:meth:`measure` of a ``d`` with ``max d = high`` and ``min d = low``."""
        if self.stopping == "sup":
            return max(high, -low)
        if self.terminates:
            high, low = max(high, 0.0), min(low, 0.0)
        return high - low

    def decide(self, V_next: np.ndarray, stats: SweepStats) -> tuple[bool, float, np.ndarray]:
        """``(stop, ‖d‖∞, V to report)`` from the statistics of ``d = V_next − V``.

        Raises
        ------
        NonFiniteValueError
            If ``V_next`` is not finite (overflow): never a converged result.
        """
        high, low, top = stats.high, stats.low, stats.top
        if not math.isfinite(top):
            check_finite(V_next, "the value", self.gamma)
        residual = max(high, -low)
        if self.terminates:
            high, low = max(high, 0.0), min(low, 0.0)
        measure = self.measure(stats)
        rounding = _ROUNDING * max(1.0, top)
        if not (measure < self.threshold or residual <= rounding):
            return False, residual, V_next
        if self.stopping == "span" and 0.0 < self.gamma < 1.0:
            shift = self.gamma / (1.0 - self.gamma) * (high + low) / 2.0
            if self.ends_at_once is None:
                V_next = V_next + shift
            else:
                V_next = V_next + np.where(self.ends_at_once, 0.0, shift)
        return True, residual, V_next


def terminates(mdp: TabularMDP) -> bool:
    """Whether some row of the continuation matrix sums to less than 1.

    True where outcomes terminate, and also where probabilities sum to 1 only
    within the model's tolerance, so that the span rule's bounds stay valid.
    """
    return bool(mdp.continuation_probability.min() < 1.0 - TERMINATION_SLACK)


def warn_cap(solver: str, max_iterations: int, residual: float) -> None:
    warnings.warn(
        f"{solver} stopped at max_iterations={max_iterations} before meeting its "
        f"stopping rule (last change {residual:.3g}); the result is not converged. "
        "Raise max_iterations or tol, or check that the task is well posed "
        "(at gamma = 1 every optimal policy must terminate).",
        ConvergenceWarning,
        stacklevel=3,
    )


IterationCallback = Callable[[int, float], None]
"""Called after every iteration with ``(iteration, residual)``, e.g. for a progress bar."""


def iterate(
    solver: str,
    step: Callable[[], tuple[bool, float]],
    max_iterations: int,
    callback: IterationCallback | None,
    interruptible: bool,
) -> tuple[list[float], str]:
    """Run ``step`` until it reports convergence or ``max_iterations`` is reached.

    ``step()`` performs one iteration and returns ``(converged, residual)``.
    Returns the residuals and why the loop stopped: ``"converged"`` (the
    stopping rule was met), ``"max_iterations"`` (with a
    :class:`ConvergenceWarning`) or ``"interrupted"``: with ``interruptible``,
    Ctrl-C (``KeyboardInterrupt``) ends the loop and the solver returns its
    last iterate, marked not converged.
    """
    residuals: list[float] = []
    try:
        for iteration in range(1, max_iterations + 1):
            converged, residual = step()
            residuals.append(residual)
            if callback is not None:
                callback(iteration, residual)
            if converged:
                return residuals, "converged"
    except KeyboardInterrupt:
        if not interruptible:
            raise
        warnings.warn(
            f"{solver} interrupted after {len(residuals)} iterations; returning the "
            "last iterate, not converged",
            ConvergenceWarning,
            stacklevel=3,
        )
        return residuals, "interrupted"
    warn_cap(solver, max_iterations, residuals[-1])
    return residuals, "max_iterations"


def planning_result(
    ops: Operators,
    V: np.ndarray,
    gamma: float,
    *,
    residuals: list[float],
    status: str,
    start: float,
    policy: np.ndarray | None = None,
    tie_atol: float | None = None,
) -> PlanningResult:
    """The :class:`PlanningResult` of a solve that ended at ``V``.

    ``policy`` defaults to the greedy one (:func:`~rl_planners.bellman.greedy_policy`,
    ties within ``tie_atol``; :meth:`Operators.greedy`). ``Q`` is computed
    from ``V`` once: here if the greedy policy needed it, else (the compiled
    backend) when the result's ``Q`` is first read, so that no ``[S, A]``
    array is made unless asked for. The work counts are those of ``ops``
    before the final policy and ``Q``.
    """
    check_finite(V, "the value", gamma)
    work = (ops.work.backups, ops.work.policy_products)
    Q = None
    if policy is None:
        policy, Q = ops.greedy(V, gamma, atol=tie_atol)
    elif ops.compiled is None:
        Q = ops.q(V, gamma)
    return PlanningResult(
        V=V,
        Q=Q,
        compute_Q=ops.q_later(V, gamma) if Q is None else None,
        policy=policy,
        iterations=len(residuals),
        converged=status == "converged",
        residuals=np.asarray(residuals, dtype=np.float64),
        gamma=gamma,
        wall_time=time.perf_counter() - start,
        status=status,
        backups=work[0],
        policy_products=work[1],
    )


def check_finite(V: np.ndarray, what: str, gamma: float) -> None:
    """Raise :class:`NonFiniteValueError` naming the states where ``V`` is not finite."""
    if math.isfinite(float(np.add.reduce(V, axis=None))):
        return  # a finite sum has no infinite or NaN term
    bad = np.flatnonzero(~np.isfinite(V))
    if bad.size:
        raise NonFiniteValueError(
            f"{what} is not finite ({V[bad[0]].item()!r}) at {bad.size} state(s): "
            f"{format_states(bad)} (gamma = {gamma:g}); float64 overflowed: rescale the "
            "rewards or lower gamma",
            bad,
        )
