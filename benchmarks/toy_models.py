"""Every solver on the toy environments, and the per-sweep floor of a Python-driven loop.

Run from the repository root::

    python benchmarks/toy_models.py             # 3 bursts of 40 calls per solver
    python benchmarks/toy_models.py --calls 10  # quicker, noisier

Issue #13 asks for every solver at most 1 ms on FrozenLake8x8, Taxi-v4 and
CliffWalking-v1 (γ = 0.99, tol 1e-8, ``TabularMDP.from_env``, ``backend="auto"``)
without importing numba. This prints, per model and solver, the lowest median
of three bursts (garbage collector off, as in :mod:`timeit`), the work done,
and then, on FrozenLake8x8, what one value-iteration sweep costs when driven
from Python: the library's sweep (backup and stopping rule), the same product
and maximum without the stopping statistics, and two NumPy calls on a dense
matrix with preallocated buffers (the floor of any NumPy loop). Value
iteration's sweep count times that floor bounds it from below. The load
average is printed before and after: compare runs only on a quiet machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rl_planners import (
    TabularMDP,
    inexact_policy_iteration,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from rl_planners.bellman import operators
from rl_planners.solvers.iteration import StoppingRule

GAMMA, TOL = 0.99, 1e-8
ENVS = {
    "FrozenLake8x8": lambda: gym.make("FrozenLake-v1", map_name="8x8"),
    "Taxi-v4": lambda: gym.make("Taxi-v4"),
    "CliffWalking-v1": lambda: gym.make("CliffWalking-v1"),
}
SOLVERS = {
    "value_iteration": value_iteration,
    "policy_iteration": lambda mdp, gamma: policy_iteration(mdp, gamma),
    "modified_policy_iteration": modified_policy_iteration,
    "inexact_policy_iteration": inexact_policy_iteration,
}


def lowest_median(function: Callable[[], object], calls: int, bursts: int = 3) -> float:
    """Seconds: the lowest of ``bursts`` medians of ``calls`` calls, after one warm-up."""
    function()
    medians = []
    for _ in range(bursts):
        gc.collect()
        gc.disable()
        try:
            times = []
            for _ in range(calls):
                start = time.perf_counter()
                function()
                times.append(time.perf_counter() - start)
        finally:
            gc.enable()
        medians.append(statistics.median(times))
    return min(medians)


def solver_table(calls: int) -> None:
    print(f"{'model':16} {'solver':26} {'time':>10} {'iter':>5} {'backups':>8} {'products':>9}")
    for name, make in ENVS.items():
        mdp = TabularMDP.from_env(make())
        for solver_name, solve in SOLVERS.items():
            kwargs = {} if solver_name == "policy_iteration" else {"tol": TOL}
            result = solve(mdp, GAMMA, **kwargs)
            seconds = lowest_median(lambda s=solve, m=mdp, k=kwargs: s(m, GAMMA, **k), calls)
            print(
                f"{name:16} {solver_name:26} {seconds * 1e6:8.0f} us {result.iterations:5d} "
                f"{result.backups:8d} {result.policy_products:9d}"
            )


def sweep_floor(calls: int) -> None:
    """Microseconds per value-iteration sweep on FrozenLake8x8, three ways."""
    mdp = TabularMDP.from_env(ENVS["FrozenLake8x8"]())
    n_sweeps = value_iteration(mdp, GAMMA, tol=TOL).iterations
    n_states, n_actions = mdp.n_states, mdp.n_actions
    ops = operators(mdp)
    rule = StoppingRule(GAMMA, TOL, None, ops=ops)
    by_action = mdp.continuation_by_action
    dense = by_action.toarray()
    R_by_action = mdp.R_by_action

    def library() -> None:
        V, spare = np.zeros(n_states), np.empty(n_states)
        for _ in range(n_sweeps):
            stats = ops.backup(V, GAMMA, spare)
            V, spare = spare, V
            rule.decide(V, stats)

    def no_statistics() -> None:
        V = np.zeros(n_states)
        for _ in range(n_sweeps):
            Q = (by_action @ V).reshape(n_actions, n_states)
            Q *= GAMMA
            Q += R_by_action
            V = Q.max(axis=0)

    def two_calls() -> None:
        V = np.zeros(n_states)
        Q = np.empty(n_actions * n_states)
        for _ in range(n_sweeps):
            np.dot(dense, V, out=Q)  # γ folded out: not the same numbers, only the cost
            np.maximum.reduce(Q.reshape(n_actions, n_states), axis=0, out=V)

    print(f"\nFrozenLake8x8, {n_sweeps} sweeps of value iteration, per sweep:")
    for label, loop in [
        ("library sweep (backup + stopping rule)", library),
        ("CSR product, *γ, +R, max (no statistics)", no_statistics),
        ("dense product + max into buffers (2 calls)", two_calls),
    ]:
        seconds = lowest_median(loop, max(3, calls // 4))
        print(f"  {label:44} {seconds / n_sweeps * 1e6:6.2f} us  ({seconds * 1e3:.2f} ms)")


def numba_stays_unimported() -> None:
    """A fresh interpreter solves the three models every way and reports numba's import."""
    code = (
        "import sys, gymnasium as gym\n"
        "from rl_planners import TabularMDP, value_iteration, policy_iteration, "
        "modified_policy_iteration, inexact_policy_iteration\n"
        "for env in [gym.make('FrozenLake-v1', map_name='8x8'), gym.make('Taxi-v4'), "
        "gym.make('CliffWalking-v1')]:\n"
        "    mdp = TabularMDP.from_env(env)\n"
        "    for solve in (value_iteration, policy_iteration, modified_policy_iteration, "
        "inexact_policy_iteration):\n"
        "        solve(mdp, 0.99)\n"
        "print('numba' in sys.modules)\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    print(f"\nnumba imported by the solves (backend='auto'): {output.stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="calls per burst")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    solver_table(args.calls)
    sweep_floor(args.calls)
    numba_stays_unimported()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
