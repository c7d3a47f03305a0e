"""Speed and accuracy of rl_planners' solvers, beside the peers; writes RESULTS.md.

Run from the repository root::

    python benchmarks/run.py            # the full run (about 25 minutes on 2 cores)
    python benchmarks/run.py --quick    # Garnet up to 10^5, a 100 x 100 grid
    python benchmarks/run.py --no-peers # ours only (the peers take ~15 minutes)

What it does, in order:

1. The machine: CPU, cores, library versions, and the streaming read
   bandwidth over all cores (:mod:`floors`).
2. Cold start, each in a fresh interpreter: importing rl_planners, planning
   FrozenLake8x8 right after the import, and the first compiled sweep with
   numba's cache warm and with an empty cache (the compile itself).
3. Models: FrozenLake 4x4/8x8, Taxi-v4, CliffWalking-v1 (from the envs'
   ``P``), Garnet 10^3..10^6 (4 actions, 5 outcomes), 300 x 300 and
   1000 x 1000 slippery grids, and a 1 x 100,000 slippery corridor solved at
   γ = 0.999 (from ``(S, A, K)`` arrays, :mod:`models`). Building is timed
   (median of 3).
4. Per sweep, on the largest Garnet and the grid: the fused kernel and the
   SciPy CSR sweep, and their ratios to the streaming and random-read floors.
   The sweeps and the floors are called in turn, round after round, and each
   ratio is the median of the per-round ratios (:func:`floors.alternating`:
   this host's memory speed drifts over seconds).
5. Every solver on every model: value iteration (Jacobi, and Gauss–Seidel),
   policy iteration, modified policy iteration (Jacobi, and Gauss–Seidel)
   and inexact policy iteration, with the work each did (full backups over all ``S·A`` rows,
   products with a policy's ``S`` rows, and their sum in sweep-equivalents,
   a product counting ``1/A``), and on the 300 x 300 grid a plain SciPy
   value iteration (``max_a (R + γ P V)`` with the sup-norm stop), median of 3 runs after
   one warm-up run, or the lowest median of 3 bursts of 5 runs when the
   warm-up took under 10 ms (see :func:`timed`); the garbage collector is
   off while timing, as in :mod:`timeit`. Accuracy against a reference
   ``V_ref``: policy iteration's ``V``, certified by its Bellman residual
   (``‖V_ref − V*‖∞ ≤ ‖T V_ref − V_ref‖∞ / (1−γ)``); "suboptimal" counts the
   states whose chosen action is worse than the best by more than 1e-9
   relative under ``Q^{V_ref}``.
6. Peers, when installed (``pip install "rl_planners[bench]"``;
   bettermdptools with ``--no-deps``, see pyproject.toml), on the same models:

   - mdpsolver (C++): its default modified policy iteration, ``tolerance=tol``,
     each timed solve on a freshly built model (a model keeps its last values
     and starts a re-solve from them);
   - pymdptoolbox: ``ValueIteration(epsilon=tol)`` and ``PolicyIteration``,
     ``run()`` timed on a freshly constructed solver each time;
   - bettermdptools: ``Planner(P).value_iteration_vectorized`` in float64
     with ``theta = tol (1−γ)/(2γ)`` (the sup-norm rule for ``tol/2``).

   Termination: mdpsolver and pymdptoolbox have no per-outcome flag, so the
   model handed to them gets one extra absorbing state (its own actions all
   loop on it with reward 0) and every terminating outcome's probability is
   redirected into it; its reward stays in ``R(s, a)``. Repeated next states
   are summed first. Their values on the real states are then comparable with
   ours. bettermdptools reads the flag from ``P`` itself.
7. Reading a FrozenLake-style ``P`` dict of 10^6 states (3 outcomes per
   pair): ``TabularMDP.from_transitions``, in ns per outcome, beside the
   naive ``numpy.array`` over the outcome tuples.
8. Peak memory (tracemalloc) of building and solving the largest Garnet,
   beside the model's own size.

Timings are wall-clock on a shared machine: before each timed block the run
waits (up to ``--patience`` seconds, 20 by default) for other processes to
leave the cores idle, and the report gives the load it saw. Only numbers
measured in this run are written.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import floors  # noqa: E402
import gymnasium as gym  # noqa: E402
import scipy  # noqa: E402
from models import corridor, frozen_lake_dict, garnet, slippery_grid  # noqa: E402

import rl_planners  # noqa: E402
from rl_planners import (  # noqa: E402
    TabularMDP,
    inexact_policy_iteration,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from rl_planners.bellman import kernels, optimality_backup, q_from_v  # noqa: E402

GAMMA = 0.99
TOL_LARGE = 1e-6  # Garnet and grid, as in the issue
TOL_TOY = 1e-8  # the solvers' default, for the Gymnasium toy-text envs
SLOW_PEER_SECONDS = 30.0  # a peer solve slower than this is timed once
SLOW_SOLVE_SECONDS = 30.0  # one of our solves slower than this is timed once
FAST_SOLVE_SECONDS = 0.01  # ... and one faster than this in 3 bursts of 5
NUMPY_SOLVERS = ("VI", "PI", "MPI (m=20)", "iPI")  # no numba below 500,000 outcomes
CORRIDOR = "corridor 1x100000"
MODEL_GAMMA = {CORRIDOR: 0.999}  # the long-horizon model; every other one at GAMMA
TARGETS: list[str] = []  # "- what: measured (target ...): met/missed", for the last section


def against(what: str, measured: str, target: str, met: bool) -> None:
    """Record one measurement beside the issue's target for it."""
    TARGETS.append(f"- {what}: {measured} (target {target}): {'met' if met else 'missed'}.")


# ------------------------------------------------------------------ helpers
def cpu_busy(interval: float = 0.5) -> float:
    """Fraction of all cores busy over ``interval`` seconds (this process idle)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(interval)
    total1, idle1 = sample()
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


LOAD_SEEN: list[float] = []
PATIENCE = [20.0]  # seconds to wait for idle cores before a timed block (--patience)


def wait_quiet(busy: float = 0.15) -> None:
    """Wait until other processes leave the cores idle (at most ``--patience`` s)."""
    if not Path("/proc/stat").exists():
        return
    deadline = time.monotonic() + PATIENCE[0]
    while True:
        load = cpu_busy()
        if load <= busy or time.monotonic() > deadline:
            LOAD_SEEN.append(load)
            return
        time.sleep(1.0)


def one_call(function) -> tuple[float, object]:
    """Seconds of one call of ``function`` with the garbage collector off, and its result."""
    gc.disable()
    try:
        start = time.perf_counter()
        result = function()
        return time.perf_counter() - start, result
    finally:
        gc.enable()


def timed(function, repeats: int = 3, warmup: int = 1, bursts: int = 1) -> tuple[float, object]:
    """Wall time of ``function`` and its last result: the lowest median of ``bursts`` bursts.

    ``warmup`` untimed calls, then ``bursts`` bursts of ``repeats`` calls,
    each burst after waiting for quiet cores. With one burst this is the
    median of ``repeats`` calls. With several, the lowest burst median: this
    VM sometimes runs everything about 2x slower for a second or so (a
    FrozenLake8x8 policy iteration took 0.66-0.85 ms in three bursts of 40
    calls and 1.2-1.9 ms in a fourth), and a burst caught in such a spell
    measures the host, not the code.

    As in :mod:`timeit`, the garbage collector is off during the timed calls.
    It runs once before the warm-up, not before each call: a collection walks
    the whole heap and leaves the caches cold (before each call it added about
    0.5 ms to a 0.7 ms FrozenLake8x8 policy iteration).
    """
    gc.collect()
    result = None
    for _ in range(warmup):
        result = function()
    medians = []
    for _ in range(bursts):
        wait_quiet()
        times = []
        for _ in range(repeats):
            seconds, result = one_call(function)
            times.append(seconds)
        medians.append(float(np.median(times)))
    return min(medians), result


def timed_solve(function) -> tuple[float, object, int]:
    """:func:`timed` for solvers: ``(seconds, last result, runs timed)``.

    The warm-up call is timed too; when it takes more than
    :data:`SLOW_SOLVE_SECONDS` it is the one measurement (no repeats). Solves
    under :data:`FAST_SOLVE_SECONDS` are timed in 3 bursts of 5 calls (the
    lowest burst median), others 3 times (the median).
    """
    wait_quiet()
    gc.collect()
    start = time.perf_counter()
    result = function()
    first = time.perf_counter() - start
    if first > SLOW_SOLVE_SECONDS:
        return first, result, 1
    if first < FAST_SOLVE_SECONDS:
        seconds, result = timed(function, repeats=5, warmup=0, bursts=3)
        return seconds, result, 15
    seconds, result = timed(function, repeats=3, warmup=0)
    return seconds, result, 3


def timed_on_fresh(build, solve, repeats: int = 3) -> tuple[float, float, object, int]:
    """Time ``solve(build())`` on a freshly built object each time, for the peers.

    A peer's solve may change its object (mdpsolver starts a re-solve from
    the values it found), so each of the ``repeats`` solves gets a new one;
    only the solve is timed, as :func:`timed` does (quiet cores first, the
    garbage collector off). One run when the first took over
    :data:`SLOW_PEER_SECONDS`. Returns the first build's seconds, the median
    solve's seconds, the last object, and the number of solves timed.
    """
    times = []
    for repeat in range(repeats):
        start = time.perf_counter()
        built = build()
        if repeat == 0:
            build_seconds = time.perf_counter() - start
        wait_quiet()
        times.append(one_call(lambda built=built: solve(built))[0])
        if times[0] > SLOW_PEER_SECONDS:
            break
    return build_seconds, float(np.median(times)), built, len(times)


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -------------------------------------------------------------- the machine
def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    if Path("/proc/meminfo").exists():
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    import numba

    tiny = TabularMDP.from_outcomes(np.zeros((2, 1, 1), int), np.ones((2, 1, 1)), np.ones((2, 1)))
    value_iteration(tiny, 0.9, backend="compiled")  # starts numba's threads
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": f"{numba.__version__} ({numba.threading_layer()} threads: "
        f"{numba.get_num_threads()})",
        "gymnasium": gym.__version__,
        "rl_planners": rl_planners.__version__,
    }


# --------------------------------------------------------------- cold start
COLD_SNIPPETS = {
    "import rl_planners": """
import time; t = time.perf_counter()
import rl_planners
print(time.perf_counter() - t)
""",
    "FrozenLake8x8: from_env + value_iteration, first call after import": """
import gymnasium as gym
env = gym.make("FrozenLake-v1", map_name="8x8")
import time
from rl_planners import TabularMDP, value_iteration
t = time.perf_counter()
value_iteration(TabularMDP.from_env(env), 0.99)
print(time.perf_counter() - t)
""",
    "first compiled sweep (numba import + load from cache + threads)": """
import numpy as np
from rl_planners import TabularMDP, value_iteration
mdp = TabularMDP.from_outcomes(np.zeros((2, 1, 1), int), np.ones((2, 1, 1)), np.ones((2, 1)))
import time; t = time.perf_counter()
value_iteration(mdp, 0.9, backend="compiled")
print(time.perf_counter() - t)
""",
}


def cold_start() -> list[list[str]]:
    rows = []
    env = dict(os.environ)
    for label, code in COLD_SNIPPETS.items():
        samples = []
        for _ in range(3):
            output = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
            ).stdout
            samples.append(float(output.strip().splitlines()[-1]))
        rows.append([label, fmt_time(float(np.median(samples)))])
    with tempfile.TemporaryDirectory() as cache:
        env_empty = dict(env, NUMBA_CACHE_DIR=cache)
        output = subprocess.run(
            [sys.executable, "-c", COLD_SNIPPETS[list(COLD_SNIPPETS)[2]]],
            capture_output=True,
            text=True,
            env=env_empty,
            check=True,
        ).stdout
        rows.append(["first compiled sweep, empty numba cache (compiles)", fmt_time(float(output))])
    return rows


# ------------------------------------------------------------------- models
def toy_models() -> dict[str, tuple[object, TabularMDP, float]]:
    """name -> (builder, model, median build time)."""
    out = {}
    for name, make in [
        ("FrozenLake 4x4", lambda: gym.make("FrozenLake-v1", map_name="4x4")),
        ("FrozenLake 8x8", lambda: gym.make("FrozenLake-v1", map_name="8x8")),
        ("Taxi-v4", lambda: gym.make("Taxi-v4")),
        ("CliffWalking-v1", lambda: gym.make("CliffWalking-v1")),
    ]:
        env = make()
        seconds, mdp = timed(lambda env=env: TabularMDP.from_env(env))
        out[name] = (env, mdp, seconds)
    return out


def array_models(quick: bool) -> dict[str, tuple[dict, TabularMDP, float]]:
    sizes = [10**3, 10**4, 10**5] + ([] if quick else [10**6])
    out = {}
    for n_states in sizes:
        arrays = garnet(n_states)
        seconds, mdp = timed(lambda arrays=arrays: TabularMDP.from_outcomes(**arrays))
        out[f"Garnet 10^{len(str(n_states)) - 1}"] = (arrays, mdp, seconds)
    for side in [100] if quick else [300, 1000]:
        arrays = slippery_grid(side)
        seconds, mdp = timed(lambda arrays=arrays: TabularMDP.from_outcomes(**arrays))
        out[f"grid {side}x{side}"] = (arrays, mdp, seconds)
    arrays = corridor(100_000)
    seconds, mdp = timed(lambda: TabularMDP.from_outcomes(**arrays))
    out[CORRIDOR] = (arrays, mdp, seconds)
    return out


# ------------------------------------------------------------------ accuracy
def pi_is_practical(name: str, mdp: TabularMDP) -> bool:
    """Policy iteration needs about one improvement per step of the grid's diameter."""
    return not (name.startswith("grid") and mdp.n_states > 100 * 100) and name != CORRIDOR


def reference(name: str, mdp: TabularMDP, gamma: float) -> tuple[np.ndarray, np.ndarray, float]:
    """``V_ref``, ``Q^{V_ref}``, and a certified bound on ``‖V_ref − V*‖∞``.

    Policy iteration's ``V``, certified by its Bellman residual; on the large
    grids (where policy iteration takes thousands of steps) value iteration at
    ``tol = 1e-10``, within ``tol/2`` by its guarantee.
    """
    if pi_is_practical(name, mdp):
        V = policy_iteration(mdp, gamma).V
        Q = q_from_v(mdp, V, gamma)
        return V, Q, float(np.abs(Q.max(axis=1) - V).max()) / (1.0 - gamma)
    tol = 1e-10
    V = value_iteration(mdp, gamma, tol=tol).V
    return V, q_from_v(mdp, V, gamma), tol / 2


def accuracy(V, policy, V_ref, Q_ref) -> tuple[float, int]:
    states = np.arange(V_ref.size)
    gap = Q_ref.max(axis=1) - Q_ref[states, policy]
    suboptimal = int(np.count_nonzero(gap > 1e-9 * max(1.0, float(np.abs(Q_ref).max()))))
    return float(np.abs(V - V_ref).max()), suboptimal


# --------------------------------------------------------------------- peers
def with_sink(mdp: TabularMDP):
    """``(P [S*A, S+1] CSR with duplicates summed, R [S+1, A])``; state S absorbs terminations."""
    import scipy.sparse as sp

    S, A = mdp.n_states, mdp.n_actions
    C = mdp.continuation.tocoo()
    ends = mdp.termination_probability.reshape(-1)
    rows = np.concatenate([C.row, np.flatnonzero(ends > 0), S * A + np.arange(A)])
    cols = np.concatenate([C.col, np.full(np.count_nonzero(ends > 0), S), np.full(A, S)])
    data = np.concatenate([C.data, ends[ends > 0], np.ones(A)])
    P = sp.csr_matrix((data, (rows, cols)), shape=((S + 1) * A, S + 1))
    P.sum_duplicates()
    R = np.vstack([np.asarray(mdp.R), np.zeros((1, A))])
    return P, R


def run_mdpsolver(mdp, gamma, tol, V_ref, Q_ref):
    import mdpsolver

    P, R = with_sink(mdp)
    start = time.perf_counter()
    A = mdp.n_actions
    probs = P.data.tolist()
    cols = P.indices.tolist()
    bounds = P.indptr.tolist()
    tran_probs = [probs[bounds[r] : bounds[r + 1]] for r in range(P.shape[0])]
    tran_cols = [cols[bounds[r] : bounds[r + 1]] for r in range(P.shape[0])]
    tran_probs = [tran_probs[s * A : (s + 1) * A] for s in range(mdp.n_states + 1)]
    tran_cols = [tran_cols[s * A : (s + 1) * A] for s in range(mdp.n_states + 1)]
    rewards = R.tolist()
    convert = time.perf_counter() - start

    def build():
        model = mdpsolver.model()
        model.mdp(
            discount=gamma, rewards=rewards, tranMatProbs=tran_probs, tranMatColumns=tran_cols
        )
        return model

    # A model solved once starts its next solve from the values it found (a
    # re-solve of Garnet 10^5 took 26 ms against 7.7 s from scratch), so every
    # timed solve gets a freshly built model.
    build_time, seconds, model, runs = timed_on_fresh(
        build, lambda model: model.solve(tolerance=tol, verbose=False)
    )
    V = np.asarray(model.getValueVector())[: mdp.n_states]
    policy = np.asarray(model.getPolicy())[: mdp.n_states]
    error, wrong = accuracy(V, policy, V_ref, Q_ref)
    note = "fresh model per solve" + ("" if runs > 1 else "; 1 run")
    return ("mdpsolver mpi", convert + build_time, seconds, error, wrong, note)


def run_pymdptoolbox(mdp, gamma, tol, V_ref, Q_ref):
    import mdptoolbox.mdp as toolbox

    P, R = with_sink(mdp)
    S1, A = mdp.n_states + 1, mdp.n_actions
    per_action = [P[a::A] for a in range(A)]  # rows s*A + a -> [S+1, S+1]
    results = []
    solvers = [
        ("pymdptoolbox VI", lambda: toolbox.ValueIteration(per_action, R, gamma, epsilon=tol))
    ]
    if S1 <= 2_000:  # its policy evaluation solves a dense S x S system
        solvers.append(("pymdptoolbox PI", lambda: toolbox.PolicyIteration(per_action, R, gamma)))
    for label, make in solvers:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build, seconds, solver, runs = timed_on_fresh(make, lambda solver: solver.run())
        V = np.asarray(solver.V)[: mdp.n_states]
        policy = np.asarray(solver.policy)[: mdp.n_states]
        error, wrong = accuracy(V, policy, V_ref, Q_ref)
        results.append((label, build, seconds, error, wrong, "" if runs > 1 else "1 run"))
    return results


def run_bettermdptools(mdp, gamma, tol, V_ref, Q_ref):
    from bettermdptools.algorithms.planner import Planner

    P = mdp.to_transitions()
    theta = tol * (1.0 - gamma) / (2.0 * gamma)
    planner = Planner(P)

    def solve():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return planner.value_iteration_vectorized(
                gamma=gamma, n_iters=100_000, theta=theta, dtype=np.float64
            )

    seconds, (V, _, pi) = timed(solve, repeats=3, warmup=0)
    policy = np.array([pi[s] for s in range(mdp.n_states)])
    error, wrong = accuracy(np.asarray(V), policy, V_ref, Q_ref)
    return ("bettermdptools VI (vectorised)", None, seconds, error, wrong)


def installed(module: str) -> bool:
    try:
        __import__(module)
    except Exception:
        return False
    return True


# ------------------------------------------------------------------ sections
def scipy_value_iteration(mdp: TabularMDP, gamma: float, tol: float):
    """Plain value iteration with SciPy: ``V ← max_a (R + γ P V)`` until the sup-norm stop.

    What a user writes without this library: the continuation matrix as one
    ``(S·A, S)`` CSR product a sweep, ``max`` over ``(S, A)``, and the
    textbook stop ``‖V_{k+1} − V_k‖∞ < tol (1−γ)/(2γ)``.
    """
    P, R = mdp.continuation, np.asarray(mdp.R)
    threshold = tol * (1.0 - gamma) / (2.0 * gamma)
    V = np.zeros(mdp.n_states)
    sweeps, change = 0, np.inf
    while change >= threshold:
        V_next = (R + gamma * (P @ V).reshape(R.shape)).max(axis=1)
        change = float(np.abs(V_next - V).max())
        V, sweeps = V_next, sweeps + 1
    Q = R + gamma * (P @ V).reshape(R.shape)
    return types.SimpleNamespace(
        V=V, policy=Q.argmax(axis=1), iterations=sweeps, backups=sweeps, policy_products=0
    )


def solvers_of(name: str, mdp: TabularMDP, gamma: float, tol: float) -> list:
    """``(label, solve or None when not run)`` for every solver on one model."""
    solvers = [
        ("VI", lambda: value_iteration(mdp, gamma, tol=tol)),
        ("VI Gauss–Seidel", lambda: value_iteration(mdp, gamma, tol=tol, method="gauss-seidel")),
        ("PI", lambda: policy_iteration(mdp, gamma) if pi_is_practical(name, mdp) else None),
        ("MPI (m=20)", lambda: modified_policy_iteration(mdp, gamma, tol=tol)),
        (
            "MPI Gauss–Seidel",
            lambda: modified_policy_iteration(mdp, gamma, tol=tol, method="gauss-seidel"),
        ),
        ("iPI", lambda: inexact_policy_iteration(mdp, gamma, tol=tol)),
    ]
    if name == "grid 300x300":
        solvers.append(("SciPy VI (plain)", lambda: scipy_value_iteration(mdp, gamma, tol)))
    return [(label, None if not practical(label, name, mdp) else solve) for label, solve in solvers]


def practical(label: str, name: str, mdp: TabularMDP) -> bool:
    """Policy-iteration-like solvers need about one improvement per step of a grid's diameter."""
    if label == "PI":
        return pi_is_practical(name, mdp)
    if label == "MPI Gauss–Seidel":  # Gauss–Seidel does not pay on Garnet (note 1)
        return not (name.startswith("Garnet") and mdp.n_states > 100_000)
    if label in ("MPI (m=20)", "iPI"):
        return not (name.startswith("grid") and mdp.n_states > 300 * 300) and not (
            label == "iPI" and name == CORRIDOR
        )
    return True


def solve_all(models, quick, with_peers) -> tuple[list[list[str]], list[list[str]], dict]:
    ours, peers, headline = [], [], {}
    for name, (_source, mdp, _build) in models.items():
        gamma = MODEL_GAMMA.get(name, GAMMA)
        tol = TOL_TOY if mdp.n_states <= 500 else TOL_LARGE
        V_ref, Q_ref, certificate = reference(name, mdp, gamma)
        for label, solve in solvers_of(name, mdp, gamma, tol):
            if solve is None:
                ours.append([name, label, "not run (note 1)", "", "", "", "", "", "", ""])
                continue
            seconds, result, repeats = timed_solve(solve)
            error, wrong = accuracy(result.V, result.policy, V_ref, Q_ref)
            sweeps = result.backups + result.policy_products / mdp.n_actions
            ours.append(
                [
                    name,
                    label,
                    fmt_time(seconds) + (" (1 run)" if repeats == 1 else ""),
                    str(result.iterations),
                    str(result.backups),
                    str(result.policy_products),
                    f"{sweeps:.0f}",
                    f"{error:.1e}",
                    str(wrong),
                    f"{certificate:.0e}",
                ]
            )
            headline[(name, label)] = (seconds, error, wrong)
        if not with_peers:
            continue
        for runner, module, limit in [
            (run_mdpsolver, "mdpsolver", 10**7),
            (run_pymdptoolbox, "mdptoolbox", 10**4),
            (run_bettermdptools, "bettermdptools", 10**4),
        ]:
            if not installed(module):
                continue
            if mdp.n_states > limit:
                peers.append([name, module, "not run", "", "", "", _why_not(module)])
                continue
            outcome = runner(mdp, gamma, tol, V_ref, Q_ref)
            for label, build_time, seconds, error, wrong, *note in (
                outcome if isinstance(outcome, list) else [outcome]
            ):
                peers.append(
                    [
                        name,
                        label,
                        fmt_time(build_time),
                        fmt_time(seconds),
                        f"{error:.1e}",
                        str(wrong),
                        "".join(note),
                    ]
                )
                headline[(name, label)] = (seconds, error, wrong)
    return ours, peers, headline


PI_ON_GRIDS = (
    "is not run on grids over 100x100 nor on the corridor, modified and inexact "
    "policy iteration not on grids over 300x300, and inexact policy iteration not on the "
    "corridor (it ran over 9 minutes while developing): each improvement fixes the policy about "
    "one step further from the goal, so these need on the order of the grid's diameter of "
    "iterations (policy iteration: 341, taking 229 s, on a 300x300 grid in one run while "
    "developing). Modified policy iteration with Gauss–Seidel sweeps is not run on Garnet 10^6: "
    "there, as value iteration's rows show, a Gauss–Seidel sweep's change does not settle to a "
    "constant, so the span rule cannot stop it early (value iteration: 1,271 Gauss–Seidel sweeps "
    "against 36)"
)


def _why_not(module: str) -> str:
    return {
        "mdptoolbox": "constructor grows as S·nnz (0.7 s at 10^3 states, 3.8 s at 3·10^3)",
        "bettermdptools": "builds its arrays outcome by outcome in Python and keeps "
        "V_track, n_iters × S floats",
    }.get(module, "")


SWEEP_ROUNDS = 15


def sweeps(models) -> list[list[str]]:
    rows = []
    for name, (_source, mdp, _build) in models.items():
        if mdp.n_outcomes < 10**6:
            continue
        model = kernels.prepare(mdp)
        V = np.random.default_rng(0).random(mdp.n_states)
        out = np.empty_like(V)
        moved = sum(floors.sweep_bytes(mdp).values())
        wait_quiet()
        times = floors.alternating(
            {
                "fused kernel": lambda model=model, V=V, out=out: kernels.jacobi_sweep(
                    model, V, GAMMA, out
                ),
                "SciPy CSR (R + γ P V, max)": lambda mdp=mdp, V=V: optimality_backup(mdp, V, GAMMA),
                "gather": floors.gather_call(mdp.next_state, mdp.n_states),
                "stream": floors.read_call(moved),
            },
            SWEEP_ROUNDS,
        )
        streaming = times.pop("stream")
        gather = times.pop("gather")
        random_floor = gather + streaming * (moved - mdp.next_state.nbytes) / moved
        for label, seconds in times.items():
            to_streaming = float(np.median(seconds / streaming))
            to_random = float(np.median(seconds / random_floor))
            rows.append(
                [
                    name,
                    label,
                    f"{moved / 1e6:.0f} MB",
                    fmt_time(float(np.median(seconds))),
                    f"{fmt_time(float(np.median(streaming)))} / {to_streaming:.2f}×",
                    f"{fmt_time(float(np.median(random_floor)))} / {to_random:.2f}×",
                ]
            )
            if label != "fused kernel":
                continue
            if name.startswith("Garnet 10^6"):
                against(
                    f"{name} sweep",
                    f"{to_random:.2f}× the random-read floor",
                    "≤ 1.5×",
                    to_random <= 1.5,
                )
            if name.startswith("grid"):
                against(
                    f"{name} sweep",
                    f"{to_streaming:.2f}× the streaming floor",
                    "≤ 2×",
                    to_streaming <= 2.0,
                )
    return rows


def extraction(quick: bool) -> list[list[str]]:
    side = 300 if quick else 1000
    P = frozen_lake_dict(side)
    n_outcomes = side * side * 4 * 3
    fast, _ = timed(lambda: TabularMDP.from_transitions(P), repeats=3, warmup=0)

    def naive():  # the straightforward reading: rows, flatten, one numpy.array
        rows = [P[s][a] for s in range(len(P)) for a in range(len(P[0]))]
        return np.array(list(itertools.chain.from_iterable(rows)), dtype=np.float64)

    slow, _ = timed(naive, repeats=1, warmup=0)
    where = f"{side * side:,} states"
    per_outcome = fast / n_outcomes * 1e9
    against(
        f"reading P, {where}", f"{per_outcome:.0f} ns per outcome", "≤ 250 ns", per_outcome <= 250
    )
    return [
        [where, "TabularMDP.from_transitions", fmt_time(fast), f"{per_outcome:.0f} ns"],
        [
            where,
            "naive: np.array over the tuples",
            fmt_time(slow),
            f"{slow / n_outcomes * 1e9:.0f} ns",
        ],
    ]


def memory(arrays: dict) -> list[list[str]]:
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    mdp = TabularMDP.from_outcomes(**arrays)
    built, peak = tracemalloc.get_traced_memory()
    model_bytes = sum(
        a.nbytes for a in (mdp.row_offsets, mdp.next_state, mdp.prob, mdp.reward, mdp.terminated)
    )
    rows = [
        [
            "model arrays (next_state, prob, reward, terminated, offsets)",
            f"{model_bytes / 1e6:.0f} MB",
        ],
        [
            "from_outcomes: new memory kept / peak (inputs shared, not copied)",
            f"{(built - base) / 1e6:.0f} MB / {(peak - base) / 1e6:.0f} MB",
        ],
    ]
    S, A = mdp.n_states, mdp.n_actions
    for label, solve in [
        ("value_iteration", lambda: value_iteration(mdp, GAMMA, tol=TOL_LARGE)),
        ("policy_iteration", lambda: policy_iteration(mdp, GAMMA)),
    ]:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = solve()
        peak = tracemalloc.get_traced_memory()[1] - before
        rows.append(
            [
                f"{label}: peak above the model (incl. its result, V and Q)",
                f"{peak / 1e6:.0f} MB = {peak / (8 * S * A):.1f} × (S·A float64)",
            ]
        )
        del result
    tracemalloc.stop()
    return rows


# --------------------------------------------------------------------- main
OUR_COLUMNS = [
    "model",
    "solver",
    "time",
    "iterations",
    "backups",
    "policy products",
    "sweep-equivalents",
    "max |V − V_ref|",
    "suboptimal",
    "V_ref certified within",
]
PEER_COLUMNS = ["model", "peer", "build", "solve", "max |V − V_ref|", "suboptimal", "note"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Garnet up to 10^5, 100x100 grid")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    parser.add_argument("--no-peers", action="store_true", help="skip the peer libraries")
    parser.add_argument(
        "--patience", type=float, default=20.0, help="seconds to wait for idle cores per block"
    )
    args = parser.parse_args()
    PATIENCE[0] = args.patience
    command = "python benchmarks/run.py" + " ".join(
        [""]
        + (["--quick"] if args.quick else [])
        + (["--no-peers"] if args.no_peers else [])
        + [f"--patience {args.patience:g}"]
    )
    started = time.time()
    sections: list[str] = []

    def emit(title: str, text: str) -> None:
        block = f"## {title}\n\n{text}\n"
        print(block, flush=True)
        sections.append(block)

    info = machine()
    wait_quiet()
    bandwidth = floors.read_bandwidth()
    info["streaming read bandwidth (all cores, measured)"] = f"{bandwidth / 1e9:.1f} GB/s"
    emit("Machine", table(["", ""], [[k, v] for k, v in info.items()]))
    emit("Cold start (fresh interpreter each, median of 3)", table(["what", "time"], cold_start()))

    toys = toy_models()
    arrays = array_models(args.quick)
    rows = [
        [n, f"{m.n_states:,}", f"{m.n_outcomes:,}", "env P", fmt_time(t)]
        for n, (_, m, t) in toys.items()
    ]
    rows += [
        [n, f"{m.n_states:,}", f"{m.n_outcomes:,}", "(S, A, K) arrays", fmt_time(t)]
        for n, (_, m, t) in arrays.items()
    ]
    emit(
        "Models and build time (median of 3)",
        table(["model", "states", "outcomes", "from", "build"], rows),
    )

    emit(
        f"One sweep against the memory floor ({SWEEP_ROUNDS} rounds, each calling the sweeps "
        "and the floors in turn)",
        "Floors: streaming = a sum over an array of the sweep's bytes; random-read = a bare "
        "gather of V over the model's next states + the other bytes at the streaming rate "
        "(see floors.py). Times are medians over the rounds; each ratio is the median of "
        "the per-round ratios.\n\n"
        + table(
            [
                "model",
                "sweep",
                "bytes",
                "time",
                "streaming floor / ratio",
                "random-read floor / ratio",
            ],
            sweeps(arrays),
        ),
    )

    ours, peers, headline = solve_all({**toys, **arrays}, args.quick, not args.no_peers)
    emit(
        f"Our solvers (γ = {GAMMA}, the corridor {MODEL_GAMMA[CORRIDOR]}; tol {TOL_TOY:g} on the "
        f"toy envs, {TOL_LARGE:g} on the others; median of 3 after a warm-up, or the lowest "
        "median of 3 bursts of 5 when the "
        f"warm-up took under {FAST_SOLVE_SECONDS * 1e3:.0f} ms, "
        f"or the warm-up alone when it took over {SLOW_SOLVE_SECONDS:.0f} s)",
        table(OUR_COLUMNS, ours) + f"\n\nNote 1: policy iteration {PI_ON_GRIDS}.",
    )
    if peers:
        emit(
            "Peers, same models and tolerances (median of 3 solves; build = conversion "
            "and constructor, once)",
            table(PEER_COLUMNS, peers),
        )
    elif args.no_peers:
        emit("Peers", "Not run (`--no-peers`).")
    else:
        emit("Peers", "None installed (pip install 'rl_planners[bench]').")

    emit(
        "Reading a FrozenLake-style P dict (3 outcomes per pair; median of 3, naive: 1 run)",
        table(["P", "reader", "time", "per outcome"], extraction(args.quick)),
    )
    largest = [k for k in arrays if k.startswith("Garnet")][-1]
    emit(f"Memory, {largest} (tracemalloc)", table(["what", "bytes"], memory(arrays[largest][0])))

    _summary(headline, largest)
    if TARGETS:
        emit("Against the targets", "\n".join(TARGETS))
    load = (
        f"Other processes kept {np.median(LOAD_SEEN) * 100:.0f}% of the cores busy (median over "
        f"{len(LOAD_SEEN)} timed blocks; max {max(LOAD_SEEN) * 100:.0f}%)."
        if LOAD_SEEN
        else ""
    )
    header = (
        "# Benchmark results\n\n"
        f"Command: `{command}` (took {(time.time() - started) / 60:.0f} min; written "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). {load} "
        "How each number is measured: the docstring of benchmarks/run.py.\n"
    )
    Path(args.output).write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {args.output}")


def _summary(headline: dict, largest: str) -> None:
    """Record the solve-time targets (see :func:`against`)."""
    for model in ("FrozenLake 8x8", "Taxi-v4", "CliffWalking-v1"):
        timings = [(headline[(model, s)][0], s) for s in NUMPY_SOLVERS if (model, s) in headline]
        if timings:
            seconds, solver = max(timings)
            against(
                f"{model}, every solver without numba",
                f"slowest {fmt_time(seconds)} ({solver})",
                "≤ 1 ms",
                seconds <= 1e-3,
            )
    ours = ("VI", "VI Gauss–Seidel", "PI", "MPI (m=20)", "MPI Gauss–Seidel", "iPI")
    for grid, baseline, target in (
        ("grid 1000x1000", "VI", 8.0),
        ("grid 300x300", "SciPy VI (plain)", 10.0),
    ):
        if (grid, baseline) not in headline:
            continue
        seconds, solver = min((headline[(grid, s)][0], s) for s in ours if (grid, s) in headline)
        ratio = headline[(grid, baseline)][0] / seconds
        against(
            f"{grid}, best of ours against {baseline}",
            f"{solver} {fmt_time(seconds)} = {ratio:.1f}× faster",
            f"≥ {target:g}×",
            ratio >= target,
        )
    for solver in ("MPI (m=20)", "iPI"):
        if (largest, solver) in headline and (largest, "VI") in headline:
            seconds, vi = headline[(largest, solver)][0], headline[(largest, "VI")][0]
            against(
                f"{largest} {solver} against value iteration",
                f"{fmt_time(seconds)} against {fmt_time(vi)} ({seconds / vi:.2f}×)",
                "≤ 1×",
                seconds <= vi,
            )
    if (largest, "VI") not in headline:
        return
    seconds, error, wrong = headline[(largest, "VI")]
    against(
        f"{largest} value iteration",
        f"{fmt_time(seconds)}, max |V − V_ref| {error:.1e}, {wrong} suboptimal actions",
        "≤ 1.5 s, |V − V*| ≤ 5e-7, optimal policy",
        seconds <= 1.5 and error <= 5e-7 and wrong == 0,
    )
    peer = headline.get((largest, "mdpsolver mpi"))
    if peer:
        against(
            f"{largest}, mdpsolver side by side",
            f"mdpsolver {fmt_time(peer[0])} (max |V − V_ref| {peer[1]:.1e}) = "
            f"{peer[0] / seconds:.1f}× our value iteration",
            "≥ 3.5×",
            peer[0] / seconds >= 3.5,
        )


if __name__ == "__main__":
    main()
