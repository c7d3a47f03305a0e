"""``rl-planners regret ENV --policy FILE.npy``: the exact regret of a saved policy.

The policy file holds what :func:`~rl_planners.analysis.regret` reads as a
policy: ``[S]`` integer actions, ``[S, A]`` probabilities or ``[S, A]``
Q-values (greedy, lowest action among ties). The command prints the policy's
exact expected return, the optimum, their gap from the initial distribution
and the states with the largest gaps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

import numpy as np

from rl_planners.analysis import regret
from rl_planners.gym_env import time_limit
from rl_planners.interface.display import format_table
from rl_planners.interface.environments import (
    CLIError,
    describe_env,
    make_env,
)

__all__ = ["WORST_STATES", "read_policy_file", "run_regret"]

WORST_STATES = 5
"""How many of the states with the largest gaps are listed."""


def read_policy_file(path: str) -> np.ndarray:
    """The array in a ``.npy`` file, or a :class:`CLIError` naming the file and the problem."""
    target = Path(path)
    if not target.is_file():
        raise CLIError(f"--policy {path}: no such file (save one with numpy.save)")
    try:
        array = np.load(target, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise CLIError(
            f"--policy {path}: not a .npy file of numbers ({type(error).__name__}); save "
            "the policy with numpy.save(FILE, policy)"
        ) from None
    if not isinstance(array, np.ndarray):  # an .npz archive
        raise CLIError(f"--policy {path}: holds several arrays; save one with numpy.save")
    return array


def _objective(result: Any) -> str:
    if result.horizon is None:
        return f"discounted (gamma={result.gamma:g}), no time limit"
    discount = "undiscounted" if result.gamma == 1.0 else f"discounted (gamma={result.gamma:g})"
    return f"{discount}, within {result.horizon} steps"


def run_regret(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners regret``: read the policy, compute :func:`regret`, print the figures."""
    out = sys.stdout if out is None else out
    policy = read_policy_file(args.policy)
    env = make_env(args.env_id, args.env_kwargs)
    if args.gamma is None and args.horizon is None and time_limit(env) is None:
        raise CLIError(
            f"{args.env_id} has no time limit to take the horizon from: pass --gamma G "
            "(the infinite-horizon discounted return) or --horizon H (the H-step return)"
        )
    # regret builds the env's model once; its errors name the state and what to do
    result = regret(env, policy, gamma=args.gamma, horizon=args.horizon)
    print(describe_env(env), file=out)
    print(
        f"\nexpected return from the initial distribution (exact), {_objective(result)}:", file=out
    )
    rows = [
        ("policy", result.policy_return),
        ("optimum", result.optimal_return),
        ("gap (regret)", result.gap),
    ]
    for label, value in rows:
        print(f"  {label.ljust(12)}  {value:.6g}", file=out)
    worst = np.argsort(-result.state_gap, kind="stable")[:WORST_STATES]
    table = [
        [
            str(state),
            f"{result.state_gap[state]:.4g}",
            f"{result.policy_values[state]:.4g}",
            f"{result.optimal_values[state]:.4g}",
        ]
        for state in worst
    ]
    print(f"\nthe {len(table)} states with the largest gaps:", file=out)
    print(format_table(["state", "gap", "V policy", "V optimal"], table), file=out)
    return 0
