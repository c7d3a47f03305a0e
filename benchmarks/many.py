"""solve_many against a plain loop: a process pool, Dask and Ray on a local 2-worker cluster.

    python benchmarks/many.py [--models 200] [--states 10000] [--workers 2] [--no-dask] [--no-ray]

Problems: ``--models`` Garnet models of ``--states`` states (4 actions, 3
branches, the ``rl_planners/Garnet-v0`` defaults; seed ``i`` for model ``i``),
solved with ``value_iteration`` at γ = 0.99, in two forms:

- models in memory: the loop calls ``value_iteration(mdp, 0.99)``;
  ``solve_many(models)`` sends each model to a worker (its defining arrays,
  pickled; the worker rebuilds and validates it);
- env ids: the loop makes each env and reads its model before solving;
  ``solve_many([("rl_planners/Garnet-v0", kwargs), ...])`` does the same in
  the workers, so only the kwargs travel.

Overhead per problem: ``--tiny`` problems of a 2-state model at γ = 0 (one
sweep, a solve of microseconds), wall time divided by their number: what each
problem costs on top of its solve (sending it, scheduling it, the result
coming back).

The process pool is created inside each ``solve_many`` call (as by default);
the Dask and Ray clusters are started once (their start is timed apart) and
warmed up by one tiny batch before timing. Every result is checked equal to
the loop's. Times are single runs: run on a quiet machine, and give the load
average with the figures.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers rl_planners/Garnet-v0)
from rl_planners.mdp import TabularMDP
from rl_planners.scale.many import RayExecutor, solve_many
from rl_planners.solvers import value_iteration

ROOT = str(Path(__file__).resolve().parents[1])
GAMMA = 0.99


def timed(call):
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def solve_from_env(env_id: str, kwargs: dict):
    env = gym.make(env_id, **kwargs)
    return value_iteration(TabularMDP.from_env(env), GAMMA)


def check(results, expected) -> None:
    for outcome, reference in zip(results, expected, strict=True):
        assert outcome.ok, outcome.error
        assert np.array_equal(outcome.result.V, reference.V)
        assert np.array_equal(outcome.result.policy, reference.policy)


def measure(name: str, executor, workload: dict, rows: list) -> None:
    """Time the three workloads on ``executor`` (None: the default process pool)."""
    options = {"n_workers": workload["workers"]} if executor is None else {"executor": executor}
    seconds = {}
    for form in ("models", "env_ids", "tiny"):
        problems, expected, _ = workload[form]
        elapsed, results = timed(lambda problems=problems: solve_many(problems, **options))
        check(results, expected)
        seconds[form] = elapsed
    rows.append((name, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--states", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tiny", type=int, default=1000)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    env_problems = [
        ("envs:rl_planners/Garnet-v0", {"n_states": args.states, "seed": seed})
        for seed in range(args.models)
    ]
    build, models = timed(
        lambda: [TabularMDP.from_env(gym.make(env_id, **kw)) for env_id, kw in env_problems]
    )
    loop_models, expected = timed(lambda: [value_iteration(mdp, GAMMA) for mdp in models])
    loop_env, expected_env = timed(lambda: [solve_from_env(*problem) for problem in env_problems])
    tiny_model = TabularMDP.from_arrays([[[0.5, 0.5]], [[0.0, 1.0]]], [[1.0], [0.0]])
    tiny = [(tiny_model, 0.0)] * args.tiny  # one sweep: the solve costs microseconds
    loop_tiny, expected_tiny = timed(lambda: [value_iteration(m, g) for m, g in tiny])
    workload = {
        "workers": args.workers,
        "models": (models, expected, loop_models),
        "env_ids": (env_problems, expected_env, loop_env),
        "tiny": (tiny, expected_tiny, loop_tiny),
    }
    rows = [("plain loop", {"models": loop_models, "env_ids": loop_env, "tiny": loop_tiny})]
    starts = {}

    measure(f"process pool ({args.workers})", None, workload, rows)

    os.environ["PYTHONPATH"] = ROOT  # the cluster's workers import this checkout
    if not args.no_dask:
        import distributed

        def start_dask():
            cluster = distributed.LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            return cluster, distributed.Client(cluster)

        starts["Dask"], (cluster, client) = timed(start_dask)
        try:
            executor = client.get_executor()
            solve_many(tiny[:50], executor=executor)  # warm-up: imports in the workers
            measure(f"Dask LocalCluster ({args.workers})", executor, workload, rows)
        finally:
            client.close()
            cluster.close()
    if not args.no_ray:
        import ray

        starts["Ray"], _ = timed(
            lambda: ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        )
        try:
            executor = RayExecutor()
            solve_many(tiny[:50], executor=executor)
            measure(f"Ray local ({args.workers} CPUs)", executor, workload, rows)
        finally:
            ray.shutdown()

    print(
        f"{args.models} Garnet models, {args.states} states, 4 actions, 3 branches "
        f"({models[0].n_outcomes} outcomes each), value_iteration at gamma={GAMMA}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"building the models in the main process: {build:.2f} s (not in the times below)")
    for name, seconds in starts.items():
        print(f"{name} cluster start: {seconds:.2f} s (not in the times below)")
    header = (
        f"{'executor':26s} {'models':>9s} {'speed-up':>9s} {'env ids':>9s} {'speed-up':>9s} "
        f"{'per tiny problem':>17s}"
    )
    print(header)
    for name, seconds in rows:
        print(
            f"{name:26s} {seconds['models']:8.2f}s {loop_models / seconds['models']:8.2f}x "
            f"{seconds['env_ids']:8.2f}s {loop_env / seconds['env_ids']:8.2f}x "
            f"{seconds['tiny'] / args.tiny * 1e3:14.3f} ms"
        )


if __name__ == "__main__":
    main()
