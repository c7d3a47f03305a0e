"""What one product with a policy costs: full-model rows against gathered rows.

For Garnet 10^6 (4 actions, 5 outcomes) and the 1000 x 1000 slippery grid
(4 actions, 3 outcomes), times (median of 15, in turn round after round):

- a full Jacobi sweep ``T V`` (all ``S·A`` rows);
- ``T_π V`` reading the policy's rows where they lie in the model
  (``policy_rows.policy_apply``, the path before the rows were gathered);
- gathering the rows once (``policy_rows.gather_policy_rows``);
- ``T_π V`` on the gathered ``[S]`` rows (``policy_rows.rows_apply``).

Run from the repository root: ``python benchmarks/policy_rows.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from models import garnet, slippery_grid  # noqa: E402

from rl_planners import TabularMDP  # noqa: E402
from rl_planners.bellman import kernels, policy_rows  # noqa: E402

ROUNDS = 15


def measure(mdp: TabularMDP) -> dict[str, float]:
    """Median milliseconds of each call, the calls made in turn round after round."""
    model = kernels.prepare(mdp)
    rng = np.random.default_rng(0)
    policy = rng.integers(0, mdp.n_actions, mdp.n_states)
    V = rng.random(mdp.n_states)
    out = np.empty_like(V)
    rows = policy_rows.gather_policy_rows(model, policy)
    calls = {
        "sweep": lambda: kernels.jacobi_sweep(model, V, 0.99, out),
        "in place": lambda: policy_rows.policy_apply(
            model, policy, V, alpha=0.0, beta=1.0, g=0.99, out=out
        ),
        "gather": lambda: policy_rows.gather_policy_rows(model, policy),
        "gathered": lambda: policy_rows.rows_apply(rows, V, alpha=0.0, beta=1.0, g=0.99, out=out),
    }
    times: dict[str, list[float]] = {label: [] for label in calls}
    for call in calls.values():
        call()  # compile or load, warm the caches
    for _ in range(ROUNDS):
        for label, call in calls.items():
            start = time.perf_counter()
            call()
            times[label].append(time.perf_counter() - start)
    return {label: 1e3 * float(np.median(t)) for label, t in times.items()}


def main() -> None:
    print("| model | full sweep | T_π V, rows in place | gather once | T_π V, gathered | ratio |")
    print("|---|---|---|---|---|---|")
    for name, arrays in [("Garnet 10^6", garnet(10**6)), ("grid 1000x1000", slippery_grid(1000))]:
        mdp = TabularMDP.from_outcomes(**arrays)
        ms = measure(mdp)
        print(
            f"| {name} | {ms['sweep']:.1f} ms | {ms['in place']:.1f} ms | {ms['gather']:.1f} ms "
            f"| {ms['gathered']:.1f} ms | sweep / gathered product = "
            f"{ms['sweep'] / ms['gathered']:.1f} (A = {mdp.n_actions}) |"
        )


if __name__ == "__main__":
    main()
