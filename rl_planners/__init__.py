"""rl_planners: exact tabular dynamic-programming planners for Gymnasium.

The model (:class:`TabularMDP`), the Bellman operators, the solvers and the
agents built on them. See ``DESIGN.md`` for the architecture.
"""

from rl_planners.agents import (
    EvaluationResult,
    FiniteHorizonAgent,
    InexactPolicyIterationAgent,
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    SoftValueIterationAgent,
    TimeStepTracker,
    ValueIterationAgent,
    expected_return,
    load_agent,
    save_agent,
)
from rl_planners.analysis import RegretResult, occupancy, occupancy_per_step, regret
from rl_planners.bellman import policy_improvement, q_from_v
from rl_planners.errors import (
    ConvergenceWarning,
    ModelError,
    NonFiniteValueError,
    NonTerminatingPolicyError,
)
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.estimation import (
    EstimatedModel,
    estimate_model,
    model_from_minari,
    model_from_samples,
)
from rl_planners.result import FiniteHorizonResult, PlanningResult
from rl_planners.scale import (
    BatchedPlanningResult,
    ManyResult,
    MDPBatch,
    batched_value_iteration,
    jax_batched_value_iteration,
    jax_policy_evaluation,
    jax_value_iteration,
    solve_many,
)
from rl_planners.solvers import (
    backward_induction,
    finite_horizon_policy_value,
    inexact_policy_iteration,
    linear_programming,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)
from rl_planners.solvers.average_reward import AverageRewardResult, relative_value_iteration
from rl_planners.solvers.soft import (
    SoftFiniteHorizonResult,
    SoftPlanningResult,
    soft_backward_induction,
    soft_value_iteration,
)

__all__ = [
    "AverageRewardResult",
    "BatchedPlanningResult",
    "ConvergenceWarning",
    "EstimatedModel",
    "EvaluationResult",
    "FiniteHorizonAgent",
    "FiniteHorizonResult",
    "InexactPolicyIterationAgent",
    "MDPBatch",
    "ManyResult",
    "ModelError",
    "ModifiedPolicyIterationAgent",
    "NonFiniteValueError",
    "NonTerminatingPolicyError",
    "PlanningAgent",
    "PlanningResult",
    "PolicyIterationAgent",
    "RegretResult",
    "SoftFiniteHorizonResult",
    "SoftPlanningResult",
    "SoftValueIterationAgent",
    "TabularMDP",
    "TimeStepTracker",
    "ValueIterationAgent",
    "backward_induction",
    "batched_value_iteration",
    "estimate_model",
    "expected_return",
    "finite_horizon_policy_value",
    "inexact_policy_iteration",
    "jax_batched_value_iteration",
    "jax_policy_evaluation",
    "jax_value_iteration",
    "linear_programming",
    "load_agent",
    "model_from_minari",
    "model_from_samples",
    "modified_policy_iteration",
    "occupancy",
    "occupancy_per_step",
    "policy_evaluation",
    "policy_improvement",
    "policy_iteration",
    "q_from_v",
    "regret",
    "relative_value_iteration",
    "save_agent",
    "soft_backward_induction",
    "soft_value_iteration",
    "solve_many",
    "value_iteration",
]

__version__ = "0.1.0"
