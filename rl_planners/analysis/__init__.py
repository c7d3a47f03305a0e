"""Exact analysis of a given policy: occupancy measures and regret against the optimum.

Above the solvers and the agents' evaluation; nothing below imports it.
"""

from rl_planners.analysis.occupancy import occupancy, occupancy_per_step
from rl_planners.analysis.regret import RegretResult, as_policy, regret

__all__ = ["RegretResult", "as_policy", "occupancy", "occupancy_per_step", "regret"]
