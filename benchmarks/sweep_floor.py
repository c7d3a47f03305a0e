"""One fused sweep against the memory floors, for this code or an older checkout.

The per-sweep ratios of ``run.py`` (its "One sweep against the memory floor"
table) compare the compiled Jacobi sweep with floors measured in the same run.
Those floors drift with the machine: the same code can show another ratio on
another day. This script measures the sweep of *whichever* ``rl_planners`` is
imported, with the floors of ``floors.py``, so that an older version can be
measured beside the current one on the same machine, minutes apart::

    python benchmarks/sweep_floor.py
    git worktree add /tmp/rl_planners_1124 9ce9224
    PYTHONPATH=/tmp/rl_planners_1124 python benchmarks/sweep_floor.py

(9ce9224 is the commit of the 2026-11-24 results; its kernels lived in
``rl_planners.kernels``, today's in ``rl_planners.bellman.kernels``.)

As in ``run.py``, the sweep and the floors are called in turn, round after
round, and each ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floors
from models import garnet, slippery_grid

GAMMA = 0.99


def import_kernels():
    """The kernels module and ``TabularMDP`` of the imported ``rl_planners``, old or new."""
    for kernels_name, mdp_name in (
        ("rl_planners.bellman.kernels", "rl_planners"),
        ("rl_planners.kernels", "rl_planners.mdp"),
    ):
        try:
            kernels = importlib.import_module(kernels_name)
        except ImportError:
            continue
        return kernels, importlib.import_module(mdp_name).TabularMDP
    raise ImportError("no rl_planners kernels module found")


def version(package_dir: Path) -> str:
    """The commit of the checkout ``package_dir`` lies in (and whether it is modified)."""
    try:
        return subprocess.run(
            ["git", "-C", str(package_dir), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    kernels, TabularMDP = import_kernels()
    package_dir = Path(kernels.__file__).resolve().parent
    print(f"rl_planners from {package_dir} ({version(package_dir)})")
    header = ("model", "sweep", "streaming", "ratio", "random-read", "ratio")
    print("{:16s} {:>9s} {:>10s} {:>6s} {:>12s} {:>6s}".format(*header))
    for name, arrays in (("grid 1000x1000", slippery_grid(1000)), ("Garnet 10^6", garnet(10**6))):
        mdp = TabularMDP.from_outcomes(**arrays)
        model = kernels.prepare(mdp)
        V = np.random.default_rng(0).random(mdp.n_states)
        out = np.empty_like(V)
        moved = sum(floors.sweep_bytes(mdp).values())
        times = floors.alternating(
            {
                "sweep": lambda model=model, V=V, out=out: kernels.jacobi_sweep(
                    model, V, GAMMA, out
                ),
                "gather": floors.gather_call(mdp.next_state, mdp.n_states),
                "stream": floors.read_call(moved),
            },
            args.rounds,
        )
        sweep, streaming = times["sweep"], times["stream"]
        random_floor = times["gather"] + streaming * (moved - mdp.next_state.nbytes) / moved
        print(
            f"{name:16s} {np.median(sweep) * 1e3:7.1f} ms {np.median(streaming) * 1e3:7.1f} ms"
            f" {np.median(sweep / streaming):5.2f}× {np.median(random_floor) * 1e3:9.1f} ms"
            f" {np.median(sweep / random_floor):5.2f}×"
        )


if __name__ == "__main__":
    main()
