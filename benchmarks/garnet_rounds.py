"""Value iteration, modified and inexact policy iteration on Garnet 10^6, called in turn.

``run.py`` times each solver in a block of its own (a warm-up, then the median
of three). On a machine whose speed drifts over minutes, two such blocks can
differ by more than the solvers do. Here the three solvers are called in
turn, round after round, and each ratio to value iteration is the median of
the per-round ratios (as ``floors.alternating`` does for the sweeps)::

    python benchmarks/garnet_rounds.py --rounds 7

The model is ``run.py``'s Garnet 10^6 (4 actions, 5 branches, seed 0), γ = 0.99,
tol 1e-6. Each solver runs once first (compilation, and the first touch of the
memory it allocates).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floors
from models import garnet

from rl_planners import (
    TabularMDP,
    inexact_policy_iteration,
    modified_policy_iteration,
    value_iteration,
)

SOLVERS = {
    "VI": value_iteration,
    "MPI (m=20)": modified_policy_iteration,
    "iPI": inexact_policy_iteration,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    mdp = TabularMDP.from_outcomes(**garnet(10**6))
    results = {}

    def call(name):
        def solve():
            results[name] = SOLVERS[name](mdp, 0.99, tol=1e-6)

        return solve

    times = floors.alternating({name: call(name) for name in SOLVERS}, args.rounds)
    print(f"Garnet 10^6, {args.rounds} rounds, each calling the solvers in turn")
    print(f"{'solver':12s} {'median':>8s} {'min':>8s} {'max':>8s} {'/ VI':>6s}  work")
    for name, seconds in times.items():
        ratio = float(np.median(seconds / times["VI"]))
        result = results[name]
        work = f"{result.backups} backups, {result.policy_products} products"
        print(
            f"{name:12s} {np.median(seconds):7.2f}s {seconds.min():7.2f}s {seconds.max():7.2f}s"
            f" {ratio:5.2f}×  {work}"
        )


if __name__ == "__main__":
    main()
