"""Solve FrozenLake8x8, show V and the policy, and check the success rate exactly.

With the package installed (``pip install -e .`` in the repository root)::

    python examples/frozenlake8x8.py [--episodes 1000] [--seed 0] [--gamma 0.99]

The agent plans by value iteration, then plays 1000 episodes. An episode
succeeds when it reaches the goal (reward 1) before the env's 200-step time
limit, so the success rate estimates the exact probability of success within
the limit, which the agent computes by backward induction over the 200 steps.
A gap of a few standard errors between the two is sampling noise; a larger
one would be a bug.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

from rl_planners.agents import ValueIterationAgent
from rl_planners.display import (
    action_arrows,
    format_policy,
    format_values,
    grid_shape,
    terminal_states,
)


def main(n_episodes: int = 1000, seed: int = 0, gamma: float = 0.99) -> None:
    """Solve, print V and the policy, play ``n_episodes`` and compare with the exact figure."""
    env = gym.make("FrozenLake8x8-v1")
    agent = ValueIterationAgent(env, gamma=gamma)
    shape = grid_shape(env)
    print(f"FrozenLake8x8-v1, value iteration at gamma = {agent.gamma}")
    print(
        f"converged: {agent.result.converged} after {agent.result.iterations} sweeps "
        f"({agent.result.wall_time * 1000:.1f} ms)\n"
    )
    print("V (discounted value of each tile):")
    print(format_values(agent.V, shape) + "\n")
    print("policy (· where the episode has ended: holes and the goal):")
    terminal = terminal_states(agent.mdp)
    print(format_policy(agent.policy, shape, action_arrows(env), terminal=terminal) + "\n")

    evaluation = agent.evaluate(env, n_episodes=n_episodes, seed=seed)
    success = np.mean(evaluation.returns > 0)
    print(
        f"played {evaluation.n_episodes} episodes (seed {seed}), time limit {evaluation.horizon}:"
    )
    print(
        f"  success rate, sampled:                {success:7.2%} "
        f"± {evaluation.standard_error:.2%} (standard error)"
    )
    print(f"  success within the limit, exact:      {evaluation.expected_return:7.2%}")
    print(f"  success with no time limit, exact:    {evaluation.expected_return_unlimited:7.2%}")
    print(
        f"  sampled - exact = {evaluation.z_score:+.2f} standard errors "
        "(within about ±3: sampling noise)"
    )
    env.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gamma", type=float, default=0.99)
    args = parser.parse_args()
    main(args.episodes, args.seed, args.gamma)
