"""The immutable outcome of a planning run: :class:`PlanningResult`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["PlanningResult"]


@dataclass(frozen=True, eq=False)
class PlanningResult:
    """What a solver returns.

    Attributes
    ----------
    V : numpy.ndarray
        ``[S]`` state values.
    Q : numpy.ndarray
        ``[S, A]`` action values ``Q(s,a) = Σ_s' P(s'|s,a)[R + γ V(s')]`` of ``V``.
    policy : numpy.ndarray
        ``[S]`` int64, the greedy (deterministic) policy.
    iterations : int
        Sweeps (value iteration) or improvement steps (policy iteration and
        its modified variant) performed.
    converged : bool
        Whether the stopping rule was met before ``max_iterations``.
    residuals : numpy.ndarray
        ``[iterations]`` the sup-norm change ``‖V_{k+1} − V_k‖∞`` of each iteration.
    gamma : float
        The discount factor planned with.
    wall_time : float
        Seconds spent in the solver.
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: int
    converged: bool
    residuals: np.ndarray = field(repr=False)
    gamma: float
    wall_time: float

    def __post_init__(self) -> None:
        for name in ("V", "Q", "policy", "residuals"):
            array = np.asarray(getattr(self, name)).view()
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def __repr__(self) -> str:
        last = self.residuals[-1] if self.residuals.size else float("nan")
        return (
            f"PlanningResult(n_states={self.V.shape[0]}, gamma={self.gamma}, "
            f"iterations={self.iterations}, converged={self.converged}, "
            f"last_residual={last:.3g}, wall_time={self.wall_time:.4f}s)"
        )
