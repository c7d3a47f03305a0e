"""Time ``TabularMDP.from_transitions`` on FrozenLake-style ``P`` dicts; print a table.

The dict is the slippery grid of :func:`models.frozen_lake_dict` (4 actions,
3 outcomes per pair, Python floats, ints and bools), as ``benchmarks/run.py``
builds it for its "Reading a FrozenLake-style P dict" row. Each size is read
``--repeats`` times with the garbage collector off during the call (as
:mod:`timeit` does); the table gives the median and the fastest, in ns per
outcome. Target (issue #5, kept by #16): at most 250 ns per outcome, with
every type check of :data:`rl_planners.mdp.transitions.RULES` in place.

Usage::

    PYTHONPATH=. python benchmarks/read_p.py             # 10^5 and 10^6 states
    PYTHONPATH=. python benchmarks/read_p.py --sides 316  # 10^5 only
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from models import frozen_lake_dict

from rl_planners import TabularMDP


def time_reading(side: int, repeats: int) -> list[float]:
    """Seconds per ``from_transitions`` call on the ``side × side`` grid's ``P``."""
    P = frozen_lake_dict(side)
    TabularMDP.from_transitions(P)  # warm-up: caches, first-touch memory
    times = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            TabularMDP.from_transitions(P)
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[316, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| states | outcomes | median | fastest | median per outcome |")
    print("|---|---|---|---|---|")
    for side in args.sides:
        n_outcomes = side * side * 4 * 3
        times = time_reading(side, args.repeats)
        median = statistics.median(times)
        print(
            f"| {side * side:,} | {n_outcomes:,} | {median:.3f} s | {min(times):.3f} s "
            f"| {median / n_outcomes * 1e9:.0f} ns |"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
