"""The Bellman equations: NumPy formulas, compiled kernels, and the operators a solve uses.

Imports flow ``formulas, kernels → operators``; the model is below, the
solvers above.
"""

from rl_planners.bellman.formulas import (
    expectation_backup,
    greedy_policy,
    optimality_backup,
    policy_improvement,
    policy_model,
    q_by_action,
    q_from_v,
    tie_tolerance,
)
from rl_planners.bellman.operators import Operators, PolicyOperator, operators

__all__ = [
    "Operators",
    "PolicyOperator",
    "expectation_backup",
    "greedy_policy",
    "operators",
    "optimality_backup",
    "policy_improvement",
    "policy_model",
    "q_by_action",
    "q_from_v",
    "tie_tolerance",
]
