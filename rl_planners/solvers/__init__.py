"""The solvers: the stopping rule and loop, linear solves, and the algorithms.

Imports flow ``iteration, linear → evaluate → vi, pi, mpi, ipi, horizon, lp``;
every algorithm reaches the Bellman equations through
:func:`rl_planners.bellman.operators`, chosen once per solve.
"""

from rl_planners.result import FiniteHorizonResult, PlanningResult
from rl_planners.solvers.evaluate import policy_evaluation
from rl_planners.solvers.horizon import backward_induction, finite_horizon_policy_value
from rl_planners.solvers.ipi import inexact_policy_iteration
from rl_planners.solvers.lp import linear_programming
from rl_planners.solvers.mpi import modified_policy_iteration
from rl_planners.solvers.options import RUN_CONTROLS, check_solver_options, solver_defaults
from rl_planners.solvers.pi import policy_iteration
from rl_planners.solvers.vi import value_iteration

__all__ = [
    "RUN_CONTROLS",
    "FiniteHorizonResult",
    "PlanningResult",
    "backward_induction",
    "check_solver_options",
    "finite_horizon_policy_value",
    "inexact_policy_iteration",
    "linear_programming",
    "modified_policy_iteration",
    "policy_evaluation",
    "policy_iteration",
    "solver_defaults",
    "value_iteration",
]
