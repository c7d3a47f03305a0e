"""Batched value iteration on many random 8x8 FrozenLake maps, against a loop of single solves.

    python benchmarks/batched.py [--models 1000] [--gamma 0.99] [--tol 1e-8]

Builds ``--models`` maps with ``generate_random_map(size=8, seed=i)``, solves
them all with one :func:`rl_planners.scale.batched.batched_value_iteration` and with
a Python loop of :func:`rl_planners.solvers.value_iteration` (the same
sup-norm rule, and its default span rule), checks that the values agree, and
times one sweep of the whole batch against the streaming floor of its bytes:
a NumPy sum over as many bytes as the sweep must read (the arrays of
:class:`rl_planners.scale.batched_kernel.CompiledSweeps`: the padded
probabilities and next states, and ``R``).

The sweep time is the difference of two capped solves (``k`` and ``k/3``
sweeps, ``k`` one fewer than any model needs) over their difference, so
that the set-up, the ``Q`` and the greedy policies cancel out.
Times are medians of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from gymnasium.envs.toy_text.frozen_lake import generate_random_map

from rl_planners.errors import ConvergenceWarning
from rl_planners.mdp import TabularMDP
from rl_planners.scale.batched import MDPBatch, batched_value_iteration
from rl_planners.scale.batched_kernel import CompiledSweeps
from rl_planners.solvers import value_iteration


def median_time(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def streaming_floor(batch: MDPBatch, gamma: float, repeats: int) -> tuple[float, int]:
    """Seconds to sum as many bytes as one sweep reads, and that number of bytes."""
    parts = CompiledSweeps(batch.continuation, batch.R, np.full(batch.n_models, gamma)).arrays
    buffer = np.concatenate([np.ascontiguousarray(part).view(np.uint8).ravel() for part in parts])
    buffer = buffer[: buffer.size - buffer.size % 8].view(np.float64)
    buffer.sum()
    return median_time(buffer.sum, 5 * repeats), buffer.nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--tol", type=float, default=1e-8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    start = time.perf_counter()
    models = [
        TabularMDP.from_env(gym.make("FrozenLake-v1", desc=generate_random_map(size=8, seed=i)))
        for i in range(args.models)
    ]
    build_models = time.perf_counter() - start
    build_batch = median_time(lambda: MDPBatch(models), args.repeats)
    batch = MDPBatch(models)

    result = batched_value_iteration(batch, args.gamma, tol=args.tol)
    batched = median_time(
        lambda: batched_value_iteration(batch, args.gamma, tol=args.tol), args.repeats
    )

    start = time.perf_counter()
    alone = [value_iteration(mdp, args.gamma, tol=args.tol, stopping="sup") for mdp in models]
    loop_sup = time.perf_counter() - start
    start = time.perf_counter()
    for mdp in models:
        value_iteration(mdp, args.gamma, tol=args.tol)
    loop_span = time.perf_counter() - start

    worst = max(float(np.abs(one.V - result.V[b]).max()) for b, one in enumerate(alone))
    same_sweeps = sum(one.iterations == result.iterations[b] for b, one in enumerate(alone))
    same_policy = sum(np.array_equal(one.policy, result.policy[b]) for b, one in enumerate(alone))
    loop_sweeps = sum(one.iterations for one in alone)

    high = int(result.iterations.min()) - 1  # every model still running
    low = high // 3

    def capped(k: int) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return median_time(
                lambda: batched_value_iteration(batch, args.gamma, max_iterations=k), args.repeats
            )

    sweep = (capped(high) - capped(low)) / (high - low)
    floor, n_bytes = streaming_floor(batch, args.gamma, args.repeats)

    print(
        f"{args.models} random 8x8 FrozenLake maps, gamma={args.gamma}, tol={args.tol:g}, "
        f"{batch.continuation.nnz} stored continuation entries, layout {batch.layout!r}"
    )
    print(
        f"sweeps per model: min {result.iterations.min()}, mean "
        f"{result.iterations.mean():.0f}, max {result.iterations.max()}; all converged: "
        f"{bool(result.converged.all())}"
    )
    print(
        f"agreement with single solves (sup rule): max |dV| {worst:.2e}, same sweeps "
        f"{same_sweeps}/{args.models}, same policy {same_policy}/{args.models}"
    )
    rows = [
        ("build the models (from_env, once)", build_models, ""),
        ("MDPBatch(models)", build_batch, ""),
        ("batched_value_iteration", batched, ""),
        ("loop of value_iteration, stopping='sup'", loop_sup, f"{loop_sup / batched:.1f}x"),
        ("loop of value_iteration, default 'span'", loop_span, f"{loop_span / batched:.1f}x"),
        (
            "  per sweep of one model in the loop",
            loop_sup / loop_sweeps,
            f"{loop_sup / loop_sweeps / (sweep / args.models):.1f}x",
        ),
        ("one sweep of the whole batch", sweep, f"{sweep / floor:.2f}x floor"),
        (f"streaming floor: sum of {n_bytes / 1e6:.2f} MB", floor, ""),
    ]
    print(f"{'':44s} {'time':>12s} {'ratio':>12s}")
    for name, seconds, ratio in rows:
        shown = f"{seconds * 1e3:.3f} ms" if seconds < 1.0 else f"{seconds:.2f} s"
        print(f"{name:44s} {shown:>12s} {ratio:>12s}")


if __name__ == "__main__":
    main()
