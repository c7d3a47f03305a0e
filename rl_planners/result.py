"""The immutable outcomes of planning: :class:`PlanningResult` and :class:`FiniteHorizonResult`.

Both freeze themselves the same way (:func:`freeze`): every array they hold
is read-only, so a result never changes after a solver returns it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["STATUSES", "FiniteHorizonResult", "PlanningResult", "freeze"]

STATUSES = ("converged", "max_iterations", "interrupted")
"""Why a solver stopped: its rule was met, it hit its cap, or Ctrl-C ended it."""

_LAZY_Q_LOCK = threading.Lock()
"""Computes a result's deferred ``Q`` once, whichever thread reads it first."""


def freeze(result: Any, names: tuple[str, ...]) -> None:
    """Make the arrays ``names`` of a frozen dataclass read-only (``None`` stays ``None``)."""
    for name in names:
        value = getattr(result, name)
        if value is None:
            continue
        array = np.asarray(value).view()
        array.setflags(write=False)
        object.__setattr__(result, name, array)


@dataclass(frozen=True, eq=False)
class PlanningResult:
    """What a solver returns.

    Attributes
    ----------
    V : numpy.ndarray
        ``[S]`` state values.
    Q : numpy.ndarray
        ``[S, A]`` action values ``Q(s,a) = Σ_s' P(s'|s,a)[R + γ V(s')]`` of ``V``.
        A solver may defer it (``Q=None`` and ``compute_Q``): it is then
        computed on first read, once, and kept; pickling and copying compute it
        first, so a pickled result holds ``Q`` as an array like any other.
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
    status : {"converged", "max_iterations", "interrupted"}
        Why the solver stopped (``converged`` is ``status == "converged"``).
    backups : int
        Full Bellman backups the solve made (``T V``, ``Q`` or a Gauss–Seidel
        sweep: a pass over all ``S·A`` rows), not counting the final ``Q``.
    policy_products : int
        Products with a policy's ``S`` rows (``T_π x`` or ``(I − γ P_π) x``;
        each reads about ``1/A`` of a backup's bytes).
    compute_Q : callable, optional
        Init-only: with ``Q=None``, a function returning ``Q``, called on the
        first read of ``result.Q`` (the compiled solvers keep only ``V`` and
        the policy during the solve: an ``[S, A]`` array costs as much as the
        values of ``A`` models).
    """

    V: np.ndarray
    Q: np.ndarray  # deferred (absent from the instance) when given as None with compute_Q
    policy: np.ndarray
    iterations: int
    converged: bool
    residuals: np.ndarray = field(repr=False)
    gamma: float
    wall_time: float
    status: str = ""
    backups: int = 0
    policy_products: int = 0
    compute_Q: InitVar[Callable[[], np.ndarray] | None] = None

    def __post_init__(self, compute_Q: Callable[[], np.ndarray] | None) -> None:
        if compute_Q is not None and self.Q is None:
            object.__delattr__(self, "Q")  # read through __getattr__ until computed
            object.__setattr__(self, "_compute_Q", compute_Q)
        freeze(
            self,
            ("V", "Q", "policy", "residuals")
            if "Q" in self.__dict__
            else ("V", "policy", "residuals"),
        )
        status = self.status or ("converged" if self.converged else "max_iterations")
        if status not in STATUSES or (status == "converged") != bool(self.converged):
            raise ValueError(
                f"status must be one of {STATUSES} and agree with converged={self.converged}, "
                f"got {self.status!r}"
            )
        object.__setattr__(self, "status", status)

    def __getattr__(self, name: str) -> Any:
        """``Q`` when deferred: computed here on its first read, then kept."""
        compute_Q = self.__dict__.get("_compute_Q") if name == "Q" else None
        if compute_Q is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with _LAZY_Q_LOCK:
            if "Q" not in self.__dict__:
                object.__setattr__(self, "Q", compute_Q())
                freeze(self, ("Q",))
                object.__delattr__(self, "_compute_Q")  # let go of the model's operators
        return self.__dict__["Q"]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled and copied with ``Q`` computed: no model or operators inside."""
        self.Q  # noqa: B018 (computes a deferred Q)
        return dict(self.__dict__)

    def __repr__(self) -> str:
        last = self.residuals[-1] if self.residuals.size else float("nan")
        return (
            f"PlanningResult(n_states={self.V.shape[0]}, gamma={self.gamma}, "
            f"iterations={self.iterations}, converged={self.converged}, "
            f"last_residual={last:.3g}, wall_time={self.wall_time:.4f}s)"
        )


@dataclass(frozen=True, eq=False)
class FiniteHorizonResult:
    """What :func:`~rl_planners.solvers.horizon.backward_induction` returns.

    Time steps are counted from the start of the episode: ``t = 0`` is the
    first decision, ``t = H − 1`` the last, and ``H − t`` steps remain at ``t``.

    Attributes
    ----------
    V : numpy.ndarray
        ``[H + 1, S]`` optimal values ``V_t(s)`` with ``H − t`` steps to go;
        ``V[H]`` holds the terminal values. With ``keep="policy"`` only
        ``V_0`` is kept, as an array of shape ``[1, S]``, so ``V[0]`` is the
        optimal value from the start in both cases.
    Q : numpy.ndarray or None
        ``[H, S, A]`` optimal action values ``Q_t(s, a)``; ``None`` with
        ``keep="policy"``.
    policy : numpy.ndarray
        ``[H, S]`` int64, ``policy[t, s]`` the optimal action in ``s`` at time
        step ``t`` (lowest index among ties).
    horizon : int
        ``H``, the number of decisions.
    gamma : float
        The discount factor planned with.
    wall_time : float
        Seconds spent in the recursion.
    keep : {"all", "policy"}
        What was kept (see ``V`` and ``Q``).
    """

    V: np.ndarray
    Q: np.ndarray | None = field(repr=False)
    policy: np.ndarray = field(repr=False)
    horizon: int
    gamma: float
    wall_time: float
    keep: Literal["all", "policy"] = "all"

    def __post_init__(self) -> None:
        freeze(self, ("V", "Q", "policy"))

    def __repr__(self) -> str:
        return (
            f"FiniteHorizonResult(n_states={self.V.shape[1]}, horizon={self.horizon}, "
            f"gamma={self.gamma}, keep={self.keep!r}, wall_time={self.wall_time:.4f}s)"
        )
