"""Peak memory of value and policy iteration above their model (tracemalloc), on a Garnet.

Builds the Garnet of ``benchmarks/models.py`` (10^6 states, 4 actions, 5
branches by default), then, with tracemalloc tracing, solves it with compiled
value iteration (γ = 0.99, ε = 10⁻⁶, as ``run.py``) and reports the peak of
traced memory above what was allocated before the solve, in MB and in units
of ``S·A`` float64 (one ``Q`` array). The first solve of a fresh model
includes the derived arrays it caches (``mdp.R``, ...), as in ``run.py``. The
memory kept by the result, and the peak of reading ``result.Q`` afterwards,
are reported on their own rows. Then the same for compiled policy iteration
(γ = 0.99) on a second fresh copy of the model.

Usage::

    PYTHONPATH=. python benchmarks/memory_vi.py [--states 1000000] [--solvers vi pi]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from models import garnet  # noqa: E402

from rl_planners import TabularMDP, policy_iteration, value_iteration  # noqa: E402

GAMMA = 0.99
TOL = 1e-6


SOLVERS = {
    "vi": ("value_iteration", lambda mdp: value_iteration(mdp, GAMMA, tol=TOL, backend="compiled")),
    "pi": ("policy_iteration", lambda mdp: policy_iteration(mdp, GAMMA, backend="compiled")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=1_000_000)
    parser.add_argument("--solvers", nargs="+", choices=list(SOLVERS), default=list(SOLVERS))
    args = parser.parse_args()
    rows = []
    for key in args.solvers:
        label, solve = SOLVERS[key]
        # numba loaded and the kernels of this row width compiled on a small model:
        # their own allocations are not the solver's
        solve(TabularMDP.from_outcomes(**garnet(1000)))
        mdp = TabularMDP.from_outcomes(**garnet(args.states))  # fresh: nothing cached yet
        unit = 8 * mdp.n_states * mdp.n_actions  # one S·A float64 array

        def row(what: str, n_bytes: int, label: str = label, unit: int = unit) -> None:
            rows.append((f"{label}: {what}", f"{n_bytes / 1e6:.0f} MB", f"{n_bytes / unit:.2f}"))

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        result = solve(mdp)
        seconds = time.perf_counter() - start
        after, peak = tracemalloc.get_traced_memory()
        row("peak above the model", peak - before)
        row("kept after the solve (result, derived arrays)", after - before)
        tracemalloc.reset_peak()
        before_q = tracemalloc.get_traced_memory()[0]
        Q = result.Q
        row("reading result.Q afterwards: peak", tracemalloc.get_traced_memory()[1] - before_q)
        tracemalloc.stop()
        print(
            f"{label}: Garnet {mdp.n_states} states x {mdp.n_actions} actions, "
            f"{mdp.n_outcomes} outcomes; S·A float64 = {unit / 1e6:.0f} MB; "
            f"{result.iterations} iterations in {seconds:.2f} s; Q {Q.shape}"
        )
        del mdp, result, Q
    print("| what | bytes | × S·A float64 |")
    print("|---|---|---|")
    for what, size, ratio in rows:
        print(f"| {what} | {size} | {ratio} |")


if __name__ == "__main__":
    main()
