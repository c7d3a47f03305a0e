"""The agents: thin classes that plan once and hold a policy value.

Imports flow ``policies → exact → evaluation → base → stationary, soft,
time_steps → finite_horizon → files, planners``; the solvers are below, the
command line above.
"""

from rl_planners.agents.base import TabularAgent
from rl_planners.agents.evaluation import EvaluationResult, evaluate_policy, expected_return
from rl_planners.agents.files import load_agent, save_agent
from rl_planners.agents.finite_horizon import FiniteHorizonAgent, TimeStepTracker
from rl_planners.agents.policies import StationaryPolicy, TimeDependentPolicy
from rl_planners.agents.soft import SoftValueIterationAgent
from rl_planners.agents.stationary import (
    InexactPolicyIterationAgent,
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    ValueIterationAgent,
)
from rl_planners.agents.time_steps import TimedObservation

__all__ = [
    "EvaluationResult",
    "FiniteHorizonAgent",
    "InexactPolicyIterationAgent",
    "ModifiedPolicyIterationAgent",
    "PlanningAgent",
    "PolicyIterationAgent",
    "SoftValueIterationAgent",
    "StationaryPolicy",
    "TabularAgent",
    "TimeDependentPolicy",
    "TimeStepTracker",
    "TimedObservation",
    "ValueIterationAgent",
    "evaluate_policy",
    "expected_return",
    "load_agent",
    "save_agent",
]
