"""The planners the library offers by name: one row each, the one place they are listed.

A row names a planner (its ``--algo`` key and its name in prose), its agent
class (which names the solver) and the solver options the command line
exposes as flags. Everything else is read from these: the solver's options
and defaults from its signature (:mod:`rl_planners.solvers.options`), the
agents' option checks from the same signature, and the command line's
``--algo`` choices, option flags, help texts and ``compare`` rows from this
table (:mod:`rl_planners.interface`). Adding a planner is one row here and
a three-line agent class, as inexact policy iteration was added::

    class InexactPolicyIterationAgent(PlanningAgent):
        solver = staticmethod(inexact_policy_iteration)

    Planner("ipi", "inexact policy iteration", InexactPolicyIterationAgent,
            flags=("tol", "inner_ratio", "max_iterations")),

An option no planner offered before also needs one entry of
:data:`rl_planners.interface.flags.OPTION_FLAGS` (how it reads as a flag).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rl_planners.agents.stationary import (
    InexactPolicyIterationAgent,
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    ValueIterationAgent,
)
from rl_planners.solvers.options import RUN_CONTROLS, solver_defaults, solver_options

__all__ = ["PLANNERS", "Planner"]


@dataclass(frozen=True)
class Planner:
    """A planner offered by name.

    Attributes
    ----------
    key : str
        The short name (``--algo`` choice), e.g. ``"vi"``.
    name : str
        The name in prose, e.g. ``"value iteration"``.
    agent : type[PlanningAgent]
        The agent class; its ``solver`` is the planner's solver.
    flags : tuple of str
        The solver options the command line offers as flags (each must be a
        keyword-only option of the solver).
    """

    key: str
    name: str
    agent: type[PlanningAgent]
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.flags) - set(self.options))
        if unknown:
            raise TypeError(
                f"planner {self.key!r} offers flags for {unknown}, which "
                f"{self.solver.__name__} does not take"
            )

    @property
    def solver(self) -> Callable[..., Any]:
        """The solver function, called as ``solver(mdp, gamma, **options)``."""
        return self.agent.solver

    @property
    def options(self) -> tuple[str, ...]:
        """The solver's keyword-only options, run controls included."""
        return solver_options(self.solver)

    def takes(self, option: str) -> bool:
        """Whether the solver has the keyword option ``option``."""
        return option in self.options

    def default(self, option: str) -> Any:
        """The solver's default for ``option``."""
        return solver_defaults(self.solver)[option]

    def run_controls(self, **controls: Any) -> dict[str, Any]:
        """The run controls among ``controls`` (``callback``, ...) that the solver takes."""
        return {k: v for k, v in controls.items() if k in RUN_CONTROLS and self.takes(k)}


PLANNERS: dict[str, Planner] = {
    planner.key: planner
    for planner in (
        Planner(
            "vi",
            "value iteration",
            ValueIterationAgent,
            flags=("tol", "method", "max_iterations"),
        ),
        Planner("pi", "policy iteration", PolicyIterationAgent, flags=("max_iterations",)),
        Planner(
            "mpi",
            "modified policy iteration",
            ModifiedPolicyIterationAgent,
            flags=("tol", "m", "method", "max_iterations"),
        ),
        Planner(
            "ipi",
            "inexact policy iteration",
            InexactPolicyIterationAgent,
            flags=("tol", "inner_ratio", "max_iterations"),
        ),
    )
}
"""The planners by key, in the order the command line lists and compares them."""
