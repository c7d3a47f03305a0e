"""Determinism and thread safety of the solvers on both backends.

The same call must give bit-identical results run to run, and two threads
solving one large model at once (the compiled kernels, which split the states
over all cores) must each get exactly what a lone solve gets. Causes this
guards against: parallel reductions whose order follows the thread schedule,
a mutable cache shared on the model, BLAS threads changing a sum's order.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from envs.garnet import garnet_outcomes
from rl_planners import (
    TabularMDP,
    inexact_policy_iteration,
    modified_policy_iteration,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)
from rl_planners.bellman import kernels, operators
from rl_planners.solvers.linear import bicgstab

pytest.importorskip("numba")

GAMMA = 0.95
LARGE_STATES = 25_000  # x 4 actions x 5 branches = 500,000 outcomes: the compiled kernels
SMALL_STATES = 2_000  # 40,000 outcomes: the NumPy/SciPy path


def garnet(n_states: int, seed: int) -> TabularMDP:
    """A fresh Garnet model (no derived array cached yet), 4 actions, 5 branches."""
    next_state, prob, reward = garnet_outcomes(n_states, 4, 5, np.random.default_rng(seed))
    return TabularMDP.from_outcomes(next_state, prob, reward)


def large_model() -> TabularMDP:
    mdp = garnet(LARGE_STATES, seed=16)
    assert mdp.n_outcomes >= kernels.KERNEL_MIN_OUTCOMES
    return mdp


def solve(name: str, mdp: TabularMDP, backend: str) -> dict[str, np.ndarray]:
    """The arrays of one solve, for bitwise comparison."""
    if name == "policy_evaluation":
        policy = np.arange(mdp.n_states, dtype=np.int64) % mdp.n_actions
        return {"V": policy_evaluation(mdp, policy, GAMMA)}
    solver = {
        "value_iteration": value_iteration,
        "policy_iteration": policy_iteration,
        "modified_policy_iteration": modified_policy_iteration,
        "inexact_policy_iteration": inexact_policy_iteration,
    }[name]
    result = solver(mdp, GAMMA, backend=backend)
    return {
        "V": result.V,
        "Q": result.Q,
        "policy": result.policy,
        "iterations": np.array(result.iterations),
        "residuals": result.residuals,
    }


def assert_bitwise_equal(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    for key in first:
        a, b = np.asarray(first[key]), np.asarray(second[key])
        assert a.dtype == b.dtype and a.shape == b.shape, key
        # bytes, not values: -0.0 vs 0.0 or differing NaN payloads would count
        assert a.tobytes() == b.tobytes(), f"{key} differs between runs"


SOLVERS = [
    "value_iteration",
    "policy_iteration",
    "modified_policy_iteration",
    "inexact_policy_iteration",
    "policy_evaluation",
]


@pytest.fixture(scope="module")
def models() -> dict[str, TabularMDP]:
    return {"compiled": large_model(), "numpy": garnet(SMALL_STATES, seed=16)}


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("name", SOLVERS)
def test_the_same_call_gives_bit_identical_results_run_to_run(models, name, backend):
    mdp = models[backend]
    first = solve(name, mdp, backend)
    # a fresh model too: derived arrays cached on the first one must not change anything
    again = solve(name, mdp, backend)
    fresh = solve(
        name, large_model() if backend == "compiled" else garnet(SMALL_STATES, 16), backend
    )
    assert_bitwise_equal(first, again)
    assert_bitwise_equal(first, fresh)


@pytest.mark.parametrize("name", ["value_iteration", "inexact_policy_iteration"])
def test_two_threads_solving_one_large_model_get_what_a_lone_solve_gets(name):
    mdp = large_model()  # shared by both threads, nothing cached on it yet
    results: list[dict | BaseException] = [None, None]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = solve(name, mdp, "compiled")
        except BaseException as error:  # reported below, in the main thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    lone = solve(name, large_model(), "compiled")
    assert_bitwise_equal(results[0], lone)
    assert_bitwise_equal(results[1], lone)


def textbook_bicgstab(apply, b, x, target, max_iterations):
    """BiCGSTAB as van der Vorst (1992) writes it, every update a new array."""
    r = b - apply(x)
    if float(np.abs(r).max()) <= target:
        return x
    r_hat = r.copy()
    rho = alpha = omega = 1.0
    v = np.zeros_like(x)
    p = np.zeros_like(x)
    for _ in range(max_iterations):
        rho_next = float(np.einsum("i,i->", r_hat, r))
        if rho_next == 0.0 or omega == 0.0:
            break
        p = r + (rho_next / rho) * (alpha / omega) * (p - omega * v)
        v = apply(p)
        denominator = float(np.einsum("i,i->", r_hat, v))
        if denominator == 0.0:
            break
        alpha = rho_next / denominator
        s = r - alpha * v
        if float(np.abs(s).max()) <= target:
            return x + alpha * p
        t = apply(s)
        tt = float(np.einsum("i,i->", t, t))
        omega = float(np.einsum("i,i->", t, s)) / tt if tt > 0.0 else 0.0
        x = x + alpha * p + omega * s
        r = s - omega * t
        rho = rho_next
        if not np.isfinite(omega) or float(np.abs(r).max()) <= target:
            break
    return x


@pytest.mark.parametrize("backend", ["numpy", "compiled"])
@pytest.mark.parametrize("target", [1e-3, 1e-13])
def test_bicgstab_updating_in_place_gives_the_textbook_floats_and_keeps_its_input(
    models, backend, target
):
    mdp = models[backend]
    operator = operators(mdp, backend).policy(np.zeros(mdp.n_states, dtype=np.int64))

    def apply(x):
        return operator.system_product(x, GAMMA)

    def apply_into(x, out):  # bicgstab's form: the product written into its buffer
        return operator.system_product(x, GAMMA, out)

    x0 = np.random.default_rng(0).normal(size=mdp.n_states)
    kept = x0.copy()
    for iterations in (1, 2, 5, 200):  # stopped part-way, and run to the target
        got, _ = bicgstab(apply_into, operator.R_pi, x0, target, iterations)
        want = textbook_bicgstab(apply, operator.R_pi, x0, target, iterations)
        assert got.tobytes() == want.tobytes(), f"{iterations} iterations"
        assert x0.tobytes() == kept.tobytes()  # the caller's start is left as given


@pytest.mark.parametrize("target", [1e-3, 1e-13])
def test_compiled_bicgstab_steps_match_the_textbook_and_ignore_the_thread_count(models, target):
    # The compiled vector steps sum in another order than NumPy: the same
    # iterates up to rounding, and the same floats on one thread as on all.
    import numba

    from rl_planners.solvers.linear import KrylovWorkspace

    mdp = models["compiled"]
    operator = operators(mdp, "compiled").policy(np.zeros(mdp.n_states, dtype=np.int64))

    def apply(x):
        return operator.system_product(x, GAMMA)

    def apply_into(x, out):
        return operator.system_product(x, GAMMA, out)

    x0 = np.random.default_rng(1).normal(size=mdp.n_states)
    threads = numba.get_num_threads()
    for iterations in (1, 2, 5, 200):
        want = textbook_bicgstab(apply, operator.R_pi, x0, target, iterations)
        got = {}
        for n_threads in {1, threads}:
            numba.set_num_threads(n_threads)
            try:
                workspace = KrylovWorkspace(mdp.n_states, compiled=True)
                x, r = bicgstab(
                    apply_into, operator.R_pi, x0, target, iterations, None, None, workspace
                )
            finally:
                numba.set_num_threads(threads)
            got[n_threads] = x
            scale = float(np.abs(want).max())
            np.testing.assert_allclose(x, want, rtol=0, atol=1e-9 * scale)
            # its residual is the recursive one: the true residual up to rounding
            np.testing.assert_allclose(r, operator.R_pi - apply(x), rtol=0, atol=1e-10 * scale)
        assert got[1].tobytes() == got[threads].tobytes(), f"{iterations} iterations"
