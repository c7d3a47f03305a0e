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

import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import gymnasium

from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.solvers import modified_policy_iteration, policy_iteration, value_iteration

__all__ = ["SOLVERS", "ManyResult", "ProblemError", "RayExecutor", "solve_many"]

DEFAULT_GAMMA = 0.99
"""The discount of a problem that names none (the agents' default)."""

SOLVERS: Mapping[str, Callable[..., PlanningResult]] = {
    "value_iteration": value_iteration,
    "policy_iteration": policy_iteration,
    "modified_policy_iteration": modified_policy_iteration,
}
"""The solvers :func:`solve_many` knows by name."""

_DICT_KEYS = frozenset({"env_id", "mdp", "kwargs", "gamma"})


# --------------------------------------------------------------------- results
def _rebuild_error(cls: type, args: tuple, state: dict) -> BaseException:
    """An exception of class ``cls`` with ``args`` and attributes ``state``, without ``__init__``.

    Exceptions whose ``__init__`` takes other arguments than ``args`` (such as
    :class:`~rl_planners.errors.NonTerminatingPolicyError`, which needs
    ``states``) do not unpickle by default; this rebuilds any of them.
    """
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def _carry(error: BaseException) -> tuple[type, tuple, dict]:
    """What :func:`_rebuild_error` needs: the class, ``args`` and attributes of ``error``."""
    return type(error), error.args, dict(vars(error))


def _rebuild_problem_error(index: int, error: tuple) -> ProblemError:
    return ProblemError(index, _rebuild_error(*error))


def _rebuild_result(
    index: int, result: PlanningResult | None, error: tuple | None, trace: str | None
) -> ManyResult:
    return ManyResult(index, result, None if error is None else _rebuild_error(*error), trace)


@dataclass(frozen=True)
class ManyResult:
    """The outcome of one problem of :func:`solve_many`.

    Attributes
    ----------
    index : int
        The problem's position in the input.
    result : PlanningResult or None
        The solver's result, or None if the problem failed.
    error : BaseException or None
        The exception that ended the problem (its model, its discount or the
        solver), or None if it succeeded.
    traceback : str or None
        Where ``error`` was raised, formatted in the process that raised it.
    ok : bool
        ``error is None``.
    """

    index: int
    result: PlanningResult | None
    error: BaseException | None = None
    traceback: str | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def __reduce__(self) -> tuple:
        # Pickle the error by class, args and attributes, so that every
        # exception crosses a process boundary intact (see _rebuild_error).
        carried = None if self.error is None else _carry(self.error)
        return _rebuild_result, (self.index, self.result, carried, self.traceback)


class ProblemError(RuntimeError):
    """Problem ``index`` of :func:`solve_many` failed (with ``raise_errors=True``).

    Attributes
    ----------
    index : int
        The failed problem's position in the input.
    error : BaseException
        Its exception, also the ``__cause__`` of this one.
    """

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(f"problem {index} failed: {type(error).__name__}: {error}")
        self.index = index
        self.error = error

    def __reduce__(self) -> tuple:
        return _rebuild_problem_error, (self.index, _carry(self.error))


# -------------------------------------------------------------------- problems
@dataclass(frozen=True)
class _EnvProblem:
    """A Gymnasium env id and its ``gymnasium.make`` keyword arguments."""

    env_id: str
    kwargs: Mapping[str, Any]


_MODEL_FIELDS = (
    "n_states",
    "n_actions",
    "row_offsets",
    "next_state",
    "prob",
    "reward",
    "terminated",
    "initial_distribution",
)
"""The arrays that define a TabularMDP: what a task sends of it."""


def _rebuild_task(index: int, source: Any, gamma: Any, solver: Any, options: Any) -> _Task:
    if isinstance(source, tuple):
        source = TabularMDP(*source)
    return _Task(index, source, gamma, solver, options)


@dataclass(frozen=True)
class _Task:
    """What a worker needs to solve one problem: sent once, pickled."""

    index: int
    source: TabularMDP | _EnvProblem
    gamma: Any
    solver: Callable[..., PlanningResult]
    options: Mapping[str, Any]

    def __reduce__(self) -> tuple:
        # A model travels as its defining arrays only: derived ones it may have
        # cached (continuation, R, ...) would more than double the bytes, and
        # the worker rebuilds them faster than a pipe carries them.
        source = self.source
        if isinstance(source, TabularMDP):
            source = tuple(getattr(source, name) for name in _MODEL_FIELDS)
        return _rebuild_task, (self.index, source, self.gamma, self.solver, self.options)


def _problem(problem: Any, index: int, gamma: Any) -> tuple[TabularMDP | _EnvProblem, Any]:
    """Read one problem of the forms :func:`solve_many` accepts into ``(source, gamma)``."""
    if isinstance(problem, TabularMDP | str):
        return _source(problem, None, index), gamma
    if isinstance(problem, tuple) and len(problem) == 2:
        first, second = problem
        if isinstance(first, TabularMDP):
            return first, second
        if isinstance(first, str) and isinstance(second, Mapping):
            return _source(first, second, index), gamma
    if isinstance(problem, Mapping):
        unknown = sorted(map(str, set(problem) - _DICT_KEYS))
        if unknown:
            raise ValueError(
                f"problem {index}: unknown key(s) {unknown}; expected 'env_id' or 'mdp', "
                "and optionally 'kwargs' (with 'env_id') and 'gamma'"
            )
        if ("env_id" in problem) == ("mdp" in problem):
            raise ValueError(f"problem {index}: give exactly one of 'env_id' and 'mdp'")
        if "mdp" in problem and "kwargs" in problem:
            raise ValueError(f"problem {index}: 'kwargs' goes with 'env_id', not with 'mdp'")
        if "mdp" in problem and not isinstance(problem["mdp"], TabularMDP):
            raise TypeError(
                f"problem {index}: 'mdp' must be a TabularMDP, got {_describe(problem['mdp'])}"
            )
        source = problem.get("env_id", problem.get("mdp"))
        return _source(source, problem.get("kwargs"), index), problem.get("gamma", gamma)
    raise TypeError(
        f"problem {index}: expected a TabularMDP, an (mdp, gamma) pair, an env id, an "
        f"(env_id, kwargs) pair or a dict with 'env_id' or 'mdp'; got {_describe(problem)}"
    )


def _source(source: Any, kwargs: Any, index: int) -> TabularMDP | _EnvProblem:
    if isinstance(source, TabularMDP):
        return source
    if not isinstance(source, str):
        raise TypeError(
            f"problem {index}: expected a TabularMDP or an env id (str), got {_describe(source)}"
        )
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping) or not all(isinstance(key, str) for key in kwargs):
        raise TypeError(
            f"problem {index}: env kwargs must be a dict with str keys, got {_describe(kwargs)}"
        )
    return _EnvProblem(source, dict(kwargs))


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _model_from_env(problem: _EnvProblem) -> TabularMDP:
    """Make the env with ``gymnasium.make`` and read its model (in the worker)."""
    import envs  # noqa: F401  (registers the rl_planners/ ids in this process)

    env = gymnasium.make(problem.env_id, **problem.kwargs)
    try:
        return TabularMDP.from_env(env)
    finally:
        env.close()


def _solve_task(task: _Task) -> ManyResult:
    """Solve one problem; any exception becomes the result's ``error``."""
    try:
        source = task.source
        mdp = source if isinstance(source, TabularMDP) else _model_from_env(source)
        result = task.solver(mdp, task.gamma, **task.options)
        if not isinstance(result, PlanningResult):
            raise TypeError(f"the solver must return a PlanningResult, got {type(result).__name__}")
        return ManyResult(task.index, result)
    except Exception as error:
        return ManyResult(task.index, None, error, traceback.format_exc())


# --------------------------------------------------------------------- driver
def _resolve_solver(solver: Any) -> Callable[..., PlanningResult]:
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ValueError(
                f"unknown solver {solver!r}; expected one of {', '.join(SOLVERS)}, "
                "or a callable solver(mdp, gamma, **options)"
            )
        return SOLVERS[solver]
    if not callable(solver):
        raise TypeError(
            f"solver must be a name ({', '.join(SOLVERS)}) or a callable "
            f"solver(mdp, gamma, **options), got {_describe(solver)}"
        )
    return solver


def _check_options(solve: Callable[..., PlanningResult], options: dict[str, Any]) -> None:
    """Raise ``TypeError`` now if ``options`` cannot be passed to ``solve(mdp, gamma, ...)``."""
    try:
        signature = inspect.signature(solve)
    except (TypeError, ValueError):  # no signature to check (some builtins, C callables)
        return
    try:
        signature.bind(None, None, **options)
    except TypeError as error:
        name = getattr(solve, "__name__", repr(solve))
        raise TypeError(
            f"options do not fit {name}(mdp, gamma, **options): {error}; "
            "check the option names against its signature"
        ) from None


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


def _failed(index: int, error: BaseException) -> ManyResult:
    """A task whose executor failed (a crashed worker, an unpicklable argument)."""
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return ManyResult(index, None, error, trace)


def _run_inline(tasks: list[_Task], bar: Any, raise_errors: bool) -> list[ManyResult]:
    results = []
    for task in tasks:
        outcome = _solve_task(task)
        if bar is not None:
            bar.update(1)
        if raise_errors and not outcome.ok:
            raise ProblemError(outcome.index, outcome.error) from outcome.error
        results.append(outcome)
    return results


def _run_on(
    executor: Executor, tasks: list[_Task], bar: Any, raise_errors: bool
) -> list[ManyResult]:
    futures: list[Future] = [executor.submit(_solve_task, task) for task in tasks]
    try:
        if bar is not None:
            for _ in as_completed(futures):
                bar.update(1)
        results = []
        for task, future in zip(tasks, futures, strict=True):
            try:
                outcome = future.result()
            except Exception as error:
                outcome = _failed(task.index, error)
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
        (after ``import envs`` registers this project's ``rl_planners/`` ids)
        and read with :meth:`TabularMDP.from_env`.
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

    Each model is sent once, for its task: its defining arrays (about 28
    bytes per outcome), not the derived ones it may have cached, and the
    worker rebuilds it with the ``TabularMDP`` constructor (which validates
    it again, a cost linear in the outcomes and small beside a solve).

    The process pool uses the platform's default start method (``fork`` on
    Linux before Python 3.14): where ``spawn`` or ``forkserver`` is used, call ``solve_many`` under
    ``if __name__ == "__main__":`` in scripts, as with any process pool.
    """
    solve = _resolve_solver(solver)
    _check_options(solve, options)
    n_workers = _check_workers(n_workers, executor)
    if executor is not None and not isinstance(executor, Executor):
        hint = (
            "; for Ray use rl_planners.scale.many.RayExecutor()"
            if "ray" in type(executor).__module__
            else ""
        )
        raise TypeError(
            f"executor must be a concurrent.futures.Executor, got {_describe(executor)}{hint}"
        )
    tasks = []
    for index, problem in enumerate(problems):
        source, problem_gamma = _problem(problem, index, gamma)
        tasks.append(_Task(index, source, problem_gamma, solve, dict(options)))
    bar = _progress_bar(progress, len(tasks))
    try:
        if executor is not None:
            return _run_on(executor, tasks, bar, raise_errors)
        if len(tasks) <= 1 or n_workers == 1:
            return _run_inline(tasks, bar, raise_errors)
        size = min(n_workers or os.cpu_count() or 1, len(tasks))
        pool = ProcessPoolExecutor(max_workers=size)
        try:
            return _run_on(pool, tasks, bar, raise_errors)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        if bar is not None:
            bar.close()


# ------------------------------------------------------------------------ Ray
def _call(fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    return fn(*args, **kwargs)


class RayExecutor(Executor):
    """A ``concurrent.futures.Executor`` that runs each call as a Ray task.

    Ray has no such executor (``ray.util.multiprocessing.Pool`` is a
    ``multiprocessing.Pool``, not an ``Executor``); this one submits
    ``ray.remote(fn)`` tasks and returns their ``ObjectRef.future()``.

    Parameters
    ----------
    **remote_options
        Passed to ``ray.remote`` for every task, e.g. ``num_cpus=1`` (the
        default) or ``memory=...``.

    Notes
    -----
    Call ``ray.init(...)`` first to choose the cluster; otherwise the first
    task starts a local one, as Ray does. :meth:`shutdown` stops accepting
    tasks (and with ``cancel_futures=True`` cancels pending ones); it leaves
    the Ray cluster running.

    Examples
    --------
    >>> import ray  # doctest: +SKIP
    >>> ray.init(num_cpus=2)  # doctest: +SKIP
    >>> results = solve_many(models, executor=RayExecutor())  # doctest: +SKIP
    """

    def __init__(self, **remote_options: Any) -> None:
        try:
            import ray
        except ImportError as error:
            raise ImportError('RayExecutor needs Ray: pip install "rl_planners[ray]"') from error
        self._ray = ray
        self._remote = ray.remote(**({"num_cpus": 1} | remote_options))(_call)
        self._refs: list[Any] = []
        self._closed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` as a Ray task; return its future."""
        if self._closed:
            raise RuntimeError("cannot submit to a RayExecutor after shutdown()")
        ref = self._remote.remote(fn, args, kwargs)
        self._refs.append(ref)
        return ref.future()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more tasks; cancel pending ones if asked, wait for the rest if asked."""
        self._closed = True
        refs, self._refs = self._refs, []
        if cancel_futures:
            _, pending = self._ray.wait(refs, num_returns=len(refs), timeout=0)
            for ref in pending:
                self._ray.cancel(ref)
        elif wait and refs:
            self._ray.wait(refs, num_returns=len(refs))
