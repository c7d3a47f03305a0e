r"""Solve many MDPs at once: :func:`solve_many` over any ``concurrent.futures`` executor.

Each problem is solved independently, ``result_i = solver(mdp_i, γ_i, **options)``,
by one task of an executor: a local process pool by default, or any
:class:`concurrent.futures.Executor` (``distributed.Client(...).get_executor()``
for Dask, :class:`RayExecutor` for Ray). The model travels once per problem,
as a pickled :class:`~rl_planners.mdp.TabularMDP` (its arrays read-only on
both sides), or as an env id that the worker builds itself.

Results come back in the order of the problems, one :class:`ManyResult` each;
a problem that fails carries its exception, and the others complete.

Examples
--------
>>> from rl_planners.mdp import TabularMDP
>>> stay_or_go = TabularMDP.from_arrays(
...     [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]],
...     [[0.0, 1.0], [0.0, 0.0]], terminal_states=[1])
>>> results = solve_many([(stay_or_go, 0.9), (stay_or_go, 2.0)], n_workers=1)
>>> [(r.index, r.ok) for r in results]
[(0, True), (1, False)]
>>> results[0].result.V.round(6), type(results[1].error).__name__
(array([1., 0.]), 'ValueError')
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any

from rl_planners.result import PlanningResult
from rl_planners.scale.outcomes import ManyResult, ProblemError, failed_result
from rl_planners.scale.problems import (
    DEFAULT_GAMMA,
    SOLVERS,
    Task,
    check_options,
    describe,
    read_problem,
    resolve_solver,
    solve_task,
)
from rl_planners.scale.ray_executor import RayExecutor

__all__ = ["SOLVERS", "ManyResult", "ProblemError", "RayExecutor", "solve_many"]


def _check_workers(n_workers: Any, executor: Any) -> int | None:
    if n_workers is None:
        return None
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be an int >= 1 or None, got {n_workers!r}")
    if executor is not None:
        raise ValueError(
            "n_workers sizes the default process pool; with executor= size the executor "
            "itself and leave n_workers=None"
        )
    return n_workers


def _progress_bar(progress: bool | None, total: int) -> Any:
    shown = sys.stderr.isatty() if progress is None else bool(progress)
    if not shown:
        return None
    from tqdm import tqdm  # imported only when a bar is drawn

    return tqdm(total=total, desc="solve_many", unit="problem", file=sys.stderr, leave=False)


def _run_inline(tasks: list[Task], bar: Any, raise_errors: bool) -> list[ManyResult]:
    results = []
    for task in tasks:
        outcome = solve_task(task)
        if bar is not None:
            bar.update(1)
        if raise_errors and not outcome.ok:
            raise ProblemError(outcome.index, outcome.error) from outcome.error
        results.append(outcome)
    return results


_FORKED_TASKS: dict[int, list[Task]] = {}
"""The tasks of the :func:`solve_many` calls whose own pool is being forked, by call.

A forked worker inherits this dict as it was at the fork (its arrays shared
copy-on-write, never written), so such a pool receives only ``(call,
position)``: no model is pickled, sent or validated again. Each call adds
its entry before its pool starts and removes it when the pool is shut down.
"""

_CALL_NUMBERS = itertools.count()


def _solve_forked(call: int, position: int) -> ManyResult:
    """In a forked worker: solve task ``position`` of ``call`` (see :data:`_FORKED_TASKS`)."""
    return solve_task(_FORKED_TASKS[call][position])


def _run_on(
    executor: Executor, tasks: list[Task], bar: Any, raise_errors: bool, call: int | None = None
) -> list[ManyResult]:
    """Submit every task (by position in ``_FORKED_TASKS[call]`` if ``call`` is given)."""
    if call is None:
        futures: list[Future] = [executor.submit(solve_task, task) for task in tasks]
    else:
        futures = [executor.submit(_solve_forked, call, i) for i in range(len(tasks))]
    try:
        if bar is not None:
            for _ in as_completed(futures):
                bar.update(1)
        results = []
        for task, future in zip(tasks, futures, strict=True):
            try:
                outcome = future.result()
            except Exception as error:
                outcome = failed_result(task.index, error)
            if raise_errors and not outcome.ok:
                raise ProblemError(outcome.index, outcome.error) from outcome.error
            results.append(outcome)
        return results
    finally:
        for future in futures:
            future.cancel()  # no-op for finished ones; frees a pool on early exit


def solve_many(
    problems: Iterable[Any],
    solver: str | Callable[..., PlanningResult] = "value_iteration",
    *,
    gamma: float = DEFAULT_GAMMA,
    executor: Executor | None = None,
    n_workers: int | None = None,
    progress: bool | None = None,
    raise_errors: bool = False,
    **options: Any,
) -> list[ManyResult]:
    r"""Solve every problem with ``solver``, in parallel, results in input order.

    ``results[i].result = solver(mdp_i, γ_i, **options)`` for problem ``i``.

    Parameters
    ----------
    problems : iterable
        Each one of:

        - a ``TabularMDP`` (solved at ``gamma``);
        - ``(mdp, gamma_i)``: a model and its own discount;
        - an env id, ``"FrozenLake-v1"`` or ``"rl_planners/Garnet-v0"``;
        - ``(env_id, kwargs)``: ``("FrozenLake-v1", {"is_slippery": False})``;
        - a dict ``{"env_id": ..., "kwargs": {...}, "gamma": ...}`` or
          ``{"mdp": ..., "gamma": ...}`` (``kwargs`` and ``gamma`` optional).

        An env is made in the worker with ``gymnasium.make(env_id, **kwargs)``
        and read with :meth:`TabularMDP.from_env`. A worker that has not
        imported ``envs`` (Dask, Ray, a spawned pool) knows this project's ids
        in the form ``"envs:rl_planners/Garnet-v0"``, which imports it.
    solver : str or callable
        ``"value_iteration"`` (default), ``"policy_iteration"``,
        ``"modified_policy_iteration"`` (:data:`SOLVERS`), or a callable
        ``solver(mdp, gamma, **options) -> PlanningResult``; with a process
        pool it must be picklable (a module-level function).
    gamma : float
        The discount of every problem that does not give its own; default
        0.99, as the agents have it. The solver validates it: a bad discount
        fails that problem only.
    executor : concurrent.futures.Executor, optional
        Where the problems run, one ``executor.submit`` each; the caller
        owns it (it is not shut down). Default: a ``ProcessPoolExecutor`` of
        ``n_workers`` processes, created and shut down inside this call; or
        no pool at all (inline) for a single problem or ``n_workers=1``.
        ``distributed.Client(...).get_executor()`` and :class:`RayExecutor`
        work here.
    n_workers : int, optional
        Size of the default pool: ``os.cpu_count()`` by default, never more
        than the number of problems. Only without ``executor``.
    progress : bool, optional
        Draw a ``tqdm`` bar of solved problems on stderr. Default: only if
        stderr is a terminal.
    raise_errors : bool
        If true, raise :class:`ProblemError` (naming the index, the
        exception as its cause) for the first failed problem in input order,
        instead of returning it; problems not yet started are cancelled.
    **options
        Passed to every solve, e.g. ``tol=1e-10`` or ``max_iterations=500``.

    Returns
    -------
    list of ManyResult
        ``results[i].index == i``; ``results[i].ok`` tells whether problem
        ``i`` was solved (``.result``) or failed (``.error``, ``.traceback``).

    Raises
    ------
    TypeError, ValueError
        Before anything runs, for a problem of none of the forms above
        (naming its index), an unknown solver name (listing the names), a
        non-executor ``executor``, a bad ``n_workers``, or ``options`` the
        solver's signature does not accept.
    ProblemError
        With ``raise_errors=True``, for the first failed problem.

    Notes
    -----
    The problems are independent, so the results equal those of
    ``[solver(mdp_i, γ_i, **options) for i ...]`` exactly, whatever the
    executor (the same float64 operations run in the same order).

    How a model reaches its worker. The default pool uses the platform's
    default start method. With ``fork`` (Linux before Python 3.14) the pool
    is forked after the problems are read, so its workers inherit every
    model (shared copy-on-write) and are sent only the task's position:
    nothing is pickled or validated again. Otherwise, and on any
    ``executor=``, each model is sent once, for its task: its defining arrays
    (about 28 bytes per outcome), not the derived ones it may have cached,
    and the worker rebuilds it with the ``TabularMDP`` constructor (which
    validates it again, a cost linear in the outcomes). Where ``spawn`` or
    ``forkserver`` is used, call ``solve_many`` under ``if __name__ ==
    "__main__":`` in scripts, as with any process pool.
    """
    solve = resolve_solver(solver)
    check_options(solve, options)
    n_workers = _check_workers(n_workers, executor)
    if executor is not None and not isinstance(executor, Executor):
        hint = (
            "; for Ray use rl_planners.scale.many.RayExecutor()"
            if "ray" in type(executor).__module__
            else ""
        )
        raise TypeError(
            f"executor must be a concurrent.futures.Executor, got {describe(executor)}{hint}"
        )
    tasks = []
    for index, problem in enumerate(problems):
        source, problem_gamma = read_problem(problem, index, gamma)
        tasks.append(Task(index, source, problem_gamma, solve, dict(options)))
    bar = _progress_bar(progress, len(tasks))
    try:
        if executor is not None:
            return _run_on(executor, tasks, bar, raise_errors)
        if len(tasks) <= 1 or n_workers == 1:
            return _run_inline(tasks, bar, raise_errors)
        size = min(n_workers or os.cpu_count() or 1, len(tasks))
        context = multiprocessing.get_context()
        call = None
        if context.get_start_method() == "fork":  # the workers inherit the tasks
            call = next(_CALL_NUMBERS)
            _FORKED_TASKS[call] = tasks
        try:
            pool = ProcessPoolExecutor(max_workers=size, mp_context=context)
            try:
                return _run_on(pool, tasks, bar, raise_errors, call)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finally:
            _FORKED_TASKS.pop(call, None)
    finally:
        if bar is not None:
            bar.close()
