"""What the agent tests share: the envs and agents they run over, and damaged agent files.

Used by ``test_agents``, ``test_evaluation``, ``test_finite_horizon_agent`` and
``test_persistence``.
"""

from __future__ import annotations

import numpy as np

from rl_planners.agents import (
    InexactPolicyIterationAgent,
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

AGENTS = [
    ValueIterationAgent,
    PolicyIterationAgent,
    ModifiedPolicyIterationAgent,
    InexactPolicyIterationAgent,
]
"""The stationary planning agents, one per row of the planners table."""


def rewrite_agent_file(path, **changes) -> None:
    """Rewrite the ``.npz`` file an agent saved, array by array.

    Each keyword names an array: ``None`` deletes it, a callable maps the old
    array to the new one, anything else replaces it.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        elif callable(value):
            arrays[key] = value(arrays[key])
        else:
            arrays[key] = np.asarray(value)
    np.savez(path, **arrays)
