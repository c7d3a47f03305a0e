"""The stopping rule, checks and final steps shared by the batched solvers (NumPy and JAX).

Model ``b`` stops when ``‖V_{k+1} − V_k‖∞ < ε(1−γ_b)/(2γ_b)``, as
:func:`rl_planners.solvers.value_iteration` with ``stopping="sup"`` does,
which gives ``‖V_b − V*_b‖∞ < ε/2`` (Puterman 1994, Thm 6.3.1).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rl_planners.bellman import greedy_policy
from rl_planners.errors import ConvergenceWarning, NonFiniteValueError
from rl_planners.scale.batch import MDPBatch
from rl_planners.validation import check_gamma

__all__ = [
    "batch_gammas",
    "greedy_policies",
    "raise_if_not_finite",
    "stops",
    "sup_thresholds",
    "warn_unconverged",
]

_ROUNDING_ULPS = 8.0
"""A change within this many float64 units of ``max|V_b|`` counts as converged
(as in :func:`rl_planners.solvers.value_iteration`)."""


def batch_gammas(batch: MDPBatch, gamma: Any) -> np.ndarray:
    """``[B]`` float64 discounts from one number or one per model, each in [0, 1].

    Raises
    ------
    TypeError, ValueError
        A non-number, a vector of the wrong length, or a discount outside
        [0, 1] (the model index is named).
    """
    if np.ndim(gamma) == 0:
        return np.full(batch.n_models, check_gamma(gamma))
    try:
        gammas = np.array(gamma, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"gamma must be a number or an array of {batch.n_models} numbers, got {gamma!r}"
        ) from error
    if gammas.shape != (batch.n_models,):
        raise ValueError(
            f"gamma must be a number or have shape ({batch.n_models},) (one per model), "
            f"got shape {gammas.shape}"
        )
    bad = np.flatnonzero(~((gammas >= 0.0) & (gammas <= 1.0)))  # NaN fails both
    if bad.size:
        raise ValueError(
            f"gamma must lie in [0, 1]; got {gammas[bad[0]].item()!r} for model {bad[0]}"
        )
    return gammas


def sup_thresholds(gammas: np.ndarray, tol: float) -> np.ndarray:
    """``[B]`` the sup-norm stopping thresholds ``ε(1−γ_b)/(2γ_b)``.

    ``∞`` at γ = 0 (one sweep gives ``V* = max_a R``) and ``ε`` at γ = 1
    (no contraction bound; as :func:`rl_planners.solvers.value_iteration`).
    """
    with np.errstate(divide="ignore"):
        thresholds = tol * (1.0 - gammas) / (2.0 * gammas)
    thresholds[gammas == 0.0] = np.inf
    thresholds[gammas == 1.0] = tol
    return thresholds


def stops(residual: np.ndarray, top: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``[n]`` whether each model's sweep meets its rule.

    ``‖d_b‖∞ < threshold_b``, or ``‖d_b‖∞`` within float64 rounding of
    ``max|V_b|`` (:data:`_ROUNDING_ULPS` units), the closest float64 gets.
    """
    rounding = _ROUNDING_ULPS * np.finfo(np.float64).eps * np.maximum(1.0, top)
    return (residual < thresholds) | (residual <= rounding)


def raise_if_not_finite(V: np.ndarray, models: np.ndarray, sweep: int) -> None:
    """Raise :class:`NonFiniteValueError` naming the first model and state of ``V [n, S]``.

    ``models[i]`` is the batch index of row ``i``; the error's ``states`` are
    the states of that model whose value is not finite.
    """
    bad = np.argwhere(~np.isfinite(V))
    if bad.size:
        row, state = bad[0]
        raise NonFiniteValueError(
            f"value iteration produced a non-finite value {V[row, state].item()!r} at model "
            f"{models[row]}, state {state} in sweep {sweep}: the values overflow float64; "
            "rescale that model's rewards (or lower its gamma)",
            np.flatnonzero(~np.isfinite(V[row])),
        )


def greedy_policies(batch: MDPBatch, Q: np.ndarray, gammas: np.ndarray, tol: float) -> np.ndarray:
    """``[B, S]`` :func:`rl_planners.bellman.greedy_policy` of each model's ``Q_b``.

    Ties within float64 rounding go to the lowest index; at γ_b = 1 ties are
    actions within ``tol`` and go to one that keeps the episode terminating,
    exactly as :func:`rl_planners.solvers.value_iteration` chooses. One
    vectorised call per model (a loop over models, not states).
    """
    return np.stack(
        [
            greedy_policy(model, Q_b, gamma, atol=tol if gamma == 1.0 else None)
            for model, Q_b, gamma in zip(batch.models, Q, gammas.tolist(), strict=True)
        ]
    )


def warn_unconverged(converged: np.ndarray, max_iterations: int, solver: str) -> None:
    """A :class:`ConvergenceWarning` naming the models that hit the cap, if any."""
    stuck = np.flatnonzero(~converged)
    if stuck.size:
        shown = ", ".join(map(str, stuck[:10])) + (" ..." if stuck.size > 10 else "")
        warnings.warn(
            f"{solver} stopped {stuck.size} model(s) at max_iterations={max_iterations} "
            f"before they met their stopping rule: {shown}; their results are not "
            "converged. Raise max_iterations or tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
