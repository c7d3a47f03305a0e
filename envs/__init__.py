"""Custom Gymnasium environments that expose their model, registered on import.

Every environment is a :class:`TabularEnv`: it holds its model as ``env.mdp``
(a :class:`rl_planners.TabularMDP`) and exposes ``P`` in FrozenLake form.
Importing this package registers them under the ``rl_planners/`` namespace::

    import gymnasium as gym
    import envs  # noqa: F401  (or: gym.make("envs:rl_planners/GridWorld-v0"))

    env = gym.make("rl_planners/GridWorld-v0", slip_probability=0.1)

=================================  ==========================================  =====
id                                 what                                        steps
=================================  ==========================================  =====
rl_planners/GridWorld-v0           a grid from an ASCII map, optional slips      100
rl_planners/SuttonBarto4x4-v0      Sutton & Barto Example 4.1                    100
rl_planners/SuttonBarto5x5-v0      Sutton & Barto Example 3.5 (continuing)       100
rl_planners/GamblersProblem-v0     Sutton & Barto Example 4.3                   1000
rl_planners/JacksCarRental-v0      Sutton & Barto Example 4.2 (continuing)       100
rl_planners/WindyGridWorld-v0      Sutton & Barto Example 6.5, Ex. 6.9, 6.10    1000
rl_planners/ForestManagement-v0    MDPtoolbox's forest problem (continuing)      100
rl_planners/Garnet-v0              random sparse MDPs (continuing)              1000
=================================  ==========================================  =====

"steps" is ``max_episode_steps``, the truncation ``gym.make`` applies.
"""

from __future__ import annotations

import gymnasium

from envs.base import TabularEnv
from envs.car_rental import JacksCarRentalEnv
from envs.forest import ForestManagementEnv
from envs.gamblers import GamblersProblemEnv
from envs.garnet import GarnetEnv
from envs.grid import GridEnv
from envs.gridworld import GridWorldEnv
from envs.sutton_barto import SuttonBarto4x4Env, SuttonBarto5x5Env
from envs.windy import WindyGridWorldEnv

__all__ = [
    "ENV_IDS",
    "ForestManagementEnv",
    "GamblersProblemEnv",
    "GarnetEnv",
    "GridEnv",
    "GridWorldEnv",
    "JacksCarRentalEnv",
    "SuttonBarto4x4Env",
    "SuttonBarto5x5Env",
    "TabularEnv",
    "WindyGridWorldEnv",
]

NAMESPACE = "rl_planners"

_REGISTRATIONS = {
    # name: (entry point, max_episode_steps)
    "GridWorld-v0": ("envs.gridworld:GridWorldEnv", 100),
    "SuttonBarto4x4-v0": ("envs.sutton_barto:SuttonBarto4x4Env", 100),
    "SuttonBarto5x5-v0": ("envs.sutton_barto:SuttonBarto5x5Env", 100),
    "GamblersProblem-v0": ("envs.gamblers:GamblersProblemEnv", 1000),
    "JacksCarRental-v0": ("envs.car_rental:JacksCarRentalEnv", 100),
    "WindyGridWorld-v0": ("envs.windy:WindyGridWorldEnv", 1000),
    "ForestManagement-v0": ("envs.forest:ForestManagementEnv", 100),
    "Garnet-v0": ("envs.garnet:GarnetEnv", 1000),
}

ENV_IDS = tuple(f"{NAMESPACE}/{name}" for name in _REGISTRATIONS)
"""Every id this package registers."""


def _register_all() -> None:
    for name, (entry_point, max_episode_steps) in _REGISTRATIONS.items():
        env_id = f"{NAMESPACE}/{name}"
        if env_id in gymnasium.registry:  # importlib.reload: already registered
            continue
        gymnasium.register(id=env_id, entry_point=entry_point, max_episode_steps=max_episode_steps)


_register_all()
