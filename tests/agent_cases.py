"""What the agent tests run over: Gymnasium's toy_text envs and the stationary agents.

Shared by ``test_agents``, ``test_evaluation`` and ``test_finite_horizon_agent``.
"""

from __future__ import annotations

from rl_planners.agents import (
    ModifiedPolicyIterationAgent,
    PolicyIterationAgent,
    ValueIterationAgent,
)

ENV_IDS = [
    "FrozenLake-v1",
    "FrozenLake8x8-v1",
    "Taxi-v4",
    "CliffWalking-v1",
    "CliffWalkingSlippery-v1",
]
"""Gymnasium's toy_text ids with a model (``env.unwrapped.P``) and discrete spaces."""

AGENTS = [ValueIterationAgent, PolicyIterationAgent, ModifiedPolicyIterationAgent]
"""The three stationary planning agents."""
