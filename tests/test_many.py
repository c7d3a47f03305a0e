"""solve_many: many MDPs at once, on a process pool, Dask and Ray.

Every batch is checked against the same solves run one by one (they must be
equal bit for bit: the problems are independent), and one batch against the
dense optimal values of ``independent.py``. The Dask and Ray clusters are real
two-worker local clusters, started once per module and skipped cleanly when
the extra is not installed.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from independent import dense_model, dense_optimal_values

import envs  # noqa: F401  (registers the rl_planners/ ids)
from envs.garnet import garnet_outcomes
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.scale import many
from rl_planners.scale.many import ManyResult, ProblemError, RayExecutor, solve_many
from rl_planners.scale.problems import Task
from rl_planners.solvers import modified_policy_iteration, policy_iteration, value_iteration

ROOT = str(Path(__file__).resolve().parents[1])
"""This checkout: the workers of the Dask and Ray clusters import it, not another copy."""


def garnet(seed: int, n_states: int = 30, n_actions: int = 3) -> TabularMDP:
    return TabularMDP.from_outcomes(
        *garnet_outcomes(n_states, n_actions, 3, np.random.default_rng(seed))
    )


MODELS = [garnet(seed, n_states=20 + 5 * seed) for seed in range(6)]
"""Distinct models (of distinct sizes, so that a mixed-up order cannot pass)."""

BAD = 3
"""The index of the failing problem in the middle of a batch."""


def batch_with_bad_gamma() -> list:
    problems = [(mdp, 0.9) for mdp in MODELS]
    problems[BAD] = (MODELS[BAD], 1.5)
    return problems


def assert_same(result, expected) -> None:
    assert np.array_equal(result.V, expected.V)
    assert np.array_equal(result.policy, expected.policy)
    assert np.array_equal(result.Q, expected.Q)


def assert_batch_with_bad_gamma(results: list[ManyResult]) -> None:
    assert [r.index for r in results] == list(range(len(MODELS)))
    for index, (mdp, outcome) in enumerate(zip(MODELS, results, strict=True)):
        if index == BAD:
            assert not outcome.ok and outcome.result is None
            assert isinstance(outcome.error, ValueError)
            assert "gamma must lie in [0, 1], got 1.5" in str(outcome.error)
            assert "check_gamma" in outcome.traceback
        else:
            assert outcome.ok and outcome.error is None
            assert_same(outcome.result, value_iteration(mdp, 0.9))


def never_terminates_states(mdp: TabularMDP) -> np.ndarray:
    with pytest.raises(NonTerminatingPolicyError) as caught:
        policy_iteration(mdp, 1.0)
    return caught.value.states


# ------------------------------------------------------------ process pool
def test_process_pool_equals_serial_solves_and_keeps_order():
    results = solve_many(batch_with_bad_gamma(), n_workers=2)
    assert_batch_with_bad_gamma(results)


@pytest.mark.parametrize(
    ("name", "solver"),
    [
        ("value_iteration", value_iteration),
        ("policy_iteration", policy_iteration),
        ("modified_policy_iteration", modified_policy_iteration),
    ],
)
def test_each_named_solver_matches_dense_optimal_values(name, solver):
    tol = 1e-8
    options = {} if solver is policy_iteration else {"tol": tol}
    results = solve_many(MODELS[:3], name, gamma=0.95, n_workers=2, **options)
    for mdp, outcome in zip(MODELS[:3], results, strict=True):
        assert outcome.ok and outcome.result.gamma == 0.95
        assert_same(outcome.result, solver(mdp, 0.95, **options))
        T, R = dense_model(mdp.to_transitions())
        assert np.max(np.abs(outcome.result.V - dense_optimal_values(T, R, 0.95))) < tol / 2


def test_options_reach_every_solve():
    results = solve_many(MODELS[:3], n_workers=2, gamma=0.9, max_iterations=3)
    for mdp, outcome in zip(MODELS[:3], results, strict=True):
        assert outcome.result.iterations == 3 and not outcome.result.converged
        with pytest.warns(UserWarning):
            assert_same(outcome.result, value_iteration(mdp, 0.9, max_iterations=3))


def test_exception_with_extra_attributes_crosses_processes():
    # NonTerminatingPolicyError(message, states) does not unpickle by default.
    problems = [(MODELS[0], 0.9), (MODELS[1], 1.0), (MODELS[2], 0.9)]
    results = solve_many(problems, "policy_iteration", n_workers=2)
    assert results[0].ok and results[2].ok
    error = results[1].error
    assert isinstance(error, NonTerminatingPolicyError)
    assert "no policy terminates" in str(error)
    assert np.array_equal(error.states, never_terminates_states(MODELS[1]))


def test_raise_errors_names_the_first_failed_index():
    problems = batch_with_bad_gamma()
    problems[5] = (MODELS[5], -1.0)
    with pytest.raises(ProblemError, match=rf"problem {BAD} failed: ValueError: gamma") as caught:
        solve_many(problems, n_workers=2, raise_errors=True)
    assert caught.value.index == BAD
    assert isinstance(caught.value.__cause__, ValueError)
    with pytest.raises(ProblemError, match=rf"problem {BAD} failed"):
        solve_many(problems, n_workers=1, raise_errors=True)


# -------------------------------------------------------- problem forms
def test_problem_forms_and_default_gamma():
    frozen_lake = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    deterministic = TabularMDP.from_env(gym.make("FrozenLake-v1", is_slippery=False))
    grid = TabularMDP.from_env(gym.make("rl_planners/SuttonBarto4x4-v0"))
    problems = [
        MODELS[0],
        (MODELS[1], 0.5),
        "FrozenLake-v1",
        ("FrozenLake-v1", {"is_slippery": False}),
        {"env_id": "rl_planners/SuttonBarto4x4-v0", "gamma": 1.0},
        {"env_id": "FrozenLake-v1", "kwargs": {"is_slippery": False}, "gamma": 0.9},
        {"mdp": MODELS[2]},
    ]
    expected = [
        value_iteration(MODELS[0], 0.99),
        value_iteration(MODELS[1], 0.5),
        value_iteration(frozen_lake, 0.99),
        value_iteration(deterministic, 0.99),
        value_iteration(grid, 1.0),
        value_iteration(deterministic, 0.9),
        value_iteration(MODELS[2], 0.99),
    ]
    results = solve_many(problems, n_workers=2)
    for outcome, reference in zip(results, expected, strict=True):
        assert outcome.ok, outcome.traceback
        assert outcome.result.gamma == reference.gamma
        assert_same(outcome.result, reference)
    # Sutton & Barto (2018), Example 4.1: reward -1 per step until a corner;
    # state 1 is one step from the corner, so v*(1) = -1.
    assert results[4].result.V[1] == pytest.approx(-1.0)


def test_unknown_env_id_fails_that_problem_only():
    results = solve_many([MODELS[0], "NoSuchEnv-v0"], n_workers=2, gamma=0.9)
    assert results[0].ok
    assert isinstance(results[1].error, gym.error.Error)
    assert "NoSuchEnv" in str(results[1].error)


def scaled_discount(mdp: TabularMDP, gamma: float, *, scale: float = 1.0):
    """A callable solver: value iteration at the given discount, V scaled."""
    return value_iteration(mdp, gamma * scale)


def not_a_solver(mdp: TabularMDP, gamma: float):
    return mdp.R


def test_callable_solver_and_its_return_type_check():
    results = solve_many(MODELS[:2], scaled_discount, gamma=0.9, n_workers=2, scale=0.5)
    for mdp, outcome in zip(MODELS[:2], results, strict=True):
        assert_same(outcome.result, value_iteration(mdp, 0.45))
    (outcome,) = solve_many([MODELS[0]], not_a_solver)
    assert isinstance(outcome.error, TypeError)
    assert "must return a PlanningResult, got ndarray" in str(outcome.error)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: solve_many([MODELS[0]], "value_iter"), ValueError, "unknown solver 'value_iter'"),
        (lambda: solve_many([MODELS[0]], 3), TypeError, "solver must be a name"),
        (lambda: solve_many([MODELS[0], 7]), TypeError, r"problem 1: expected a TabularMDP"),
        (lambda: solve_many([(MODELS[0],)]), TypeError, r"problem 0: expected a TabularMDP"),
        (lambda: solve_many([("FrozenLake-v1", 3)]), TypeError, "problem 0: expected"),
        (lambda: solve_many([{"env": "x"}]), ValueError, r"problem 0: unknown key\(s\) \['env'\]"),
        (lambda: solve_many([{"gamma": 0.9}]), ValueError, "exactly one of 'env_id' and 'mdp'"),
        (
            lambda: solve_many([{"mdp": MODELS[0], "kwargs": {}}]),
            ValueError,
            "'kwargs' goes with 'env_id'",
        ),
        (lambda: solve_many([{"mdp": "x"}]), TypeError, "problem 0: 'mdp' must be a TabularMDP"),
        (lambda: solve_many([{"env_id": 5}]), TypeError, "problem 0: expected a TabularMDP or"),
        (
            lambda: solve_many([{"env_id": "x", "kwargs": {1: 2}}]),
            TypeError,
            "env kwargs must be a dict with str keys",
        ),
        (
            lambda: solve_many([MODELS[0]], "policy_iteration", tol=1e-3),
            TypeError,
            "options do not fit policy_iteration.*unexpected keyword argument 'tol'",
        ),
        (lambda: solve_many([MODELS[0]], n_workers=0), ValueError, "n_workers must be an int"),
        (
            lambda: solve_many([MODELS[0]], n_workers=2, executor=ThreadPoolExecutor(1)),
            ValueError,
            "n_workers sizes the default process pool",
        ),
        (lambda: solve_many([MODELS[0]], executor=object()), TypeError, "must be a concurrent"),
    ],
)
def test_bad_arguments_raise_before_anything_runs(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_ray_pool_is_pointed_to_ray_executor():
    pool_type = type("Pool", (), {"__module__": "ray.util.multiprocessing.pool"})
    with pytest.raises(TypeError, match=r"for Ray use rl_planners\.scale\.many\.RayExecutor"):
        solve_many([MODELS[0]], executor=pool_type())


# ------------------------------------------------------ executors and inline
@pytest.mark.skipif(
    multiprocessing.get_start_method() != "fork", reason="workers inherit tasks only when forked"
)
def test_a_forked_pool_inherits_the_models_and_pickles_none(monkeypatch):
    def refuse(task):
        raise AssertionError(f"task {task.index} was pickled")

    monkeypatch.setattr(Task, "__reduce__", refuse)
    assert_batch_with_bad_gamma(solve_many(batch_with_bad_gamma(), n_workers=2))


def test_single_problem_and_one_worker_run_inline(monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("no process pool expected")

    monkeypatch.setattr(many, "ProcessPoolExecutor", no_pool)
    (single,) = solve_many([(MODELS[0], 0.9)])
    assert_same(single.result, value_iteration(MODELS[0], 0.9))
    assert_batch_with_bad_gamma(solve_many(batch_with_bad_gamma(), n_workers=1))
    assert solve_many([]) == []


def test_any_executor_is_used_and_left_open():
    with ThreadPoolExecutor(max_workers=2) as executor:
        assert_batch_with_bad_gamma(solve_many(batch_with_bad_gamma(), executor=executor))
        assert executor.submit(int, "3").result() == 3  # still open


def test_progress_bar_forced_and_off_without_a_terminal(capsys):
    solve_many(MODELS[:2], gamma=0.9, n_workers=1, progress=True)
    assert "solve_many" in capsys.readouterr().err
    solve_many(MODELS[:2], gamma=0.9, n_workers=1)  # pytest's stderr is no terminal
    solve_many(MODELS[:2], gamma=0.9, n_workers=1, progress=False)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- pickling
def test_model_pickles_read_only_and_solves_the_same():
    mdp = MODELS[4]
    _ = mdp.continuation, mdp.R  # derived arrays travel along once computed
    copy = pickle.loads(pickle.dumps(mdp, protocol=pickle.HIGHEST_PROTOCOL))
    for name in ("row_offsets", "next_state", "prob", "reward", "terminated"):
        array = getattr(copy, name)
        assert np.array_equal(array, getattr(mdp, name)) and array.dtype == getattr(mdp, name).dtype
        assert not array.flags.writeable
    assert (copy.continuation != mdp.continuation).nnz == 0
    assert_same(value_iteration(copy, 0.9), value_iteration(mdp, 0.9))


def test_task_sends_the_defining_arrays_only():
    mdp = MODELS[4]
    _ = mdp.continuation, mdp.R, mdp.continuation_by_action
    task = Task(0, mdp, 0.9, value_iteration, {})
    sent = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
    arrays = [mdp.row_offsets, mdp.next_state, mdp.prob, mdp.reward, mdp.terminated]
    assert len(sent) < sum(a.nbytes for a in arrays) + mdp.initial_distribution.nbytes + 2000
    copy = pickle.loads(sent).source
    assert "continuation" not in vars(copy)
    for name in ("row_offsets", "next_state", "prob", "reward", "terminated"):
        assert np.array_equal(getattr(copy, name), getattr(mdp, name))
    assert_same(value_iteration(copy, 0.9), value_iteration(mdp, 0.9))


def test_many_result_pickles_with_its_error():
    error = NonTerminatingPolicyError("loops", np.array([2, 5]))
    outcome = pickle.loads(pickle.dumps(ManyResult(4, None, error, "trace")))
    assert (outcome.index, outcome.ok, outcome.traceback) == (4, False, "trace")
    assert type(outcome.error) is NonTerminatingPolicyError
    assert str(outcome.error) == "loops" and np.array_equal(outcome.error.states, [2, 5])
    raised = pickle.loads(pickle.dumps(ProblemError(4, error)))
    assert raised.index == 4 and str(raised).startswith("problem 4 failed")


# -------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def dask_executor():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        env={"PYTHONPATH": ROOT},
    )
    client = distributed.Client(cluster)
    try:
        yield client.get_executor()
    finally:
        client.close()
        cluster.close()


def test_dask_executor_equals_serial_solves(dask_executor):
    assert_batch_with_bad_gamma(solve_many(batch_with_bad_gamma(), executor=dask_executor))


def test_dask_carries_env_problems_and_rich_errors(dask_executor):
    problems = [("FrozenLake-v1", {"is_slippery": False}), (MODELS[1], 1.0)]
    results = solve_many(problems, "policy_iteration", executor=dask_executor)
    deterministic = TabularMDP.from_env(gym.make("FrozenLake-v1", is_slippery=False))
    assert_same(results[0].result, policy_iteration(deterministic, 0.99))
    assert np.array_equal(results[1].error.states, never_terminates_states(MODELS[1]))


# --------------------------------------------------------------------- Ray
@pytest.fixture(scope="module")
def ray_executor():
    ray = pytest.importorskip("ray")
    # The workers Ray starts with the cluster inherit PYTHONPATH (a runtime_env
    # would make Ray start new ones, slower, at the first task).
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = ROOT
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        yield RayExecutor()
    finally:
        ray.shutdown()


def test_ray_executor_equals_serial_solves(ray_executor):
    assert_batch_with_bad_gamma(solve_many(batch_with_bad_gamma(), executor=ray_executor))


def test_ray_carries_env_problems_and_rich_errors(ray_executor):
    problems = [("FrozenLake-v1", {"is_slippery": False}), (MODELS[1], 1.0)]
    results = solve_many(problems, "policy_iteration", executor=ray_executor)
    deterministic = TabularMDP.from_env(gym.make("FrozenLake-v1", is_slippery=False))
    assert_same(results[0].result, policy_iteration(deterministic, 0.99))
    assert np.array_equal(results[1].error.states, never_terminates_states(MODELS[1]))


def test_ray_executor_refuses_work_after_shutdown(ray_executor):
    executor = RayExecutor()
    assert executor.submit(divmod, 7, 2).result() == (3, 1)
    executor.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(divmod, 7, 2)


def test_ray_executor_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "rl_planners\[ray\]"'):
        RayExecutor()
