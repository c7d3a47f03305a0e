"""Memory per outcome: the model, a value-iteration solve, and the PETSc export.

    python benchmarks/memory.py [--states 10000 100000 1000000] [--actions 4] [--branches 3]

For each size, a fresh Python process builds a Garnet model with
``TabularMDP.from_outcomes``, runs ``value_iteration(mdp, 0.99)`` and
exports it with ``mdp.to_petsc``. Around each step the process's resident
memory is read from ``/proc/self/status`` (Linux): the peak (``VmHWM``) is
reset before the step by writing 5 to ``/proc/self/clear_refs``, so each
step's peak is its own; glibc's mmap threshold is fixed at 128 kB
(``MALLOC_MMAP_THRESHOLD_``), so that memory a step frees is returned to the
system and not silently reused by the next. Divided by the number of outcomes ``N = S·A·K``:

- arrays: the model's defining arrays (``nbytes``, exact);
- build peak: the peak above the memory before the build (the generator's
  temporaries included);
- solve held / peak (numba and its kernels loaded beforehand, not counted):
  what the solve leaves in memory (the derived arrays it
  caches on the model, such as the continuation matrix, and the result) and
  its peak, above the memory before it;
- export peak: the peak of ``to_petsc`` above the memory before it, and
  file: the size of ``P.bin`` and ``g.bin``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
import numpy as np
from envs.garnet import garnet_outcomes
from rl_planners.bellman.kernels import uses_kernel
from rl_planners.mdp import TabularMDP
from rl_planners.solvers import value_iteration

def memory(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024  # kB

def start_step():
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset VmHWM to the current resident size
    return memory("VmRSS")

n_states, n_actions, n_branches, directory = (
    int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
# numba and its compiled kernels are loaded first, so that their own memory
# (tens of MB, once per process) is not counted as the model's
warm = TabularMDP.from_outcomes(
    *garnet_outcomes(50, n_actions, n_branches, np.random.default_rng(1)))
value_iteration(warm, 0.9, backend="compiled")
before = start_step()
mdp = TabularMDP.from_outcomes(
    *garnet_outcomes(n_states, n_actions, n_branches, np.random.default_rng(0)))
build_peak = memory("VmHWM") - before
before = start_step()
start = time.perf_counter()
result = value_iteration(mdp, 0.99)
solve_time = time.perf_counter() - start
solve_peak, solve_held = memory("VmHWM") - before, memory("VmRSS") - before
fields = ("row_offsets", "next_state", "prob", "reward", "terminated", "initial_distribution")
before = start_step()
start = time.perf_counter()
files = mdp.to_petsc(directory)
export_time = time.perf_counter() - start
export_peak = memory("VmHWM") - before
print(json.dumps({
    "outcomes": mdp.n_outcomes,
    "backend": "compiled" if uses_kernel(mdp) else "numpy",
    "arrays": sum(getattr(mdp, name).nbytes for name in fields),
    "build_peak": build_peak,
    "solve_held": solve_held,
    "solve_peak": solve_peak,
    "solve_time": solve_time,
    "export_peak": export_peak,
    "export": files.transitions.stat().st_size + files.rewards.stat().st_size,
    "export_time": export_time,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--actions", type=int, default=4)
    parser.add_argument("--branches", type=int, default=3)
    args = parser.parse_args()
    print(
        f"Garnet, {args.actions} actions, {args.branches} branches; bytes per outcome "
        "(peak RSS increments, one fresh process per size)"
    )
    print(
        f"{'states':>9s} {'outcomes':>10s} {'arrays':>7s} {'build pk':>8s} {'solve held':>10s} "
        f"{'solve pk':>8s} {'export pk':>9s} {'file':>6s} {'VI time':>8s} {'export':>7s} backend"
    )
    # A fixed mmap threshold: every array above 128 kB is mapped and returned
    # to the system when freed, so a step cannot reuse (and hide) memory a
    # previous step freed (glibc otherwise raises the threshold as it goes).
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    for n_states in args.states:
        with tempfile.TemporaryDirectory() as directory:
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    str(n_states),
                    str(args.actions),
                    str(args.branches),
                    f"{directory}/model",
                ],
                check=True,
                capture_output=True,
                text=True,
                env=environment,
            ).stdout
        row = json.loads(out.strip().splitlines()[-1])
        n = row["outcomes"]
        print(
            f"{n_states:9d} {n:10d} {row['arrays'] / n:7.1f} {row['build_peak'] / n:8.1f} "
            f"{row['solve_held'] / n:10.1f} {row['solve_peak'] / n:8.1f} "
            f"{row['export_peak'] / n:9.1f} {row['export'] / n:6.1f} "
            f"{row['solve_time']:7.2f}s {row['export_time']:6.2f}s {row['backend']}"
        )


if __name__ == "__main__":
    main()
