"""rl_planners: exact tabular dynamic-programming planners for Gymnasium.

The model (:class:`TabularMDP`), the Bellman operators, the solvers and the
agents built on them. See ``DESIGN.md`` for the architecture.
"""

from rl_planners.agents import (
    EvaluationResult,
    FiniteHorizonAgent,
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    TimeStepTracker,
    ValueIterationAgent,
    expected_return,
    load_agent,
    save_agent,
)
from rl_planners.bellman import policy_improvement, q_from_v
from rl_planners.errors import (
    ConvergenceWarning,
    ModelError,
    NonFiniteValueError,
    NonTerminatingPolicyError,
)
from rl_planners.mdp import TabularMDP
from rl_planners.result import FiniteHorizonResult, PlanningResult
from rl_planners.solvers import (
    backward_induction,
    finite_horizon_policy_value,
    linear_programming,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)

__all__ = [
    "ConvergenceWarning",
    "EvaluationResult",
    "FiniteHorizonAgent",
    "FiniteHorizonResult",
    "ModelError",
    "ModifiedPolicyIterationAgent",
    "NonFiniteValueError",
    "NonTerminatingPolicyError",
    "PlanningAgent",
    "PlanningResult",
    "PolicyIterationAgent",
    "TabularMDP",
    "TimeStepTracker",
    "ValueIterationAgent",
    "backward_induction",
    "expected_return",
    "finite_horizon_policy_value",
    "linear_programming",
    "load_agent",
    "modified_policy_iteration",
    "policy_evaluation",
    "policy_improvement",
    "policy_iteration",
    "q_from_v",
    "save_agent",
    "value_iteration",
]

__version__ = "0.1.0"
