"""The problems :func:`~rl_planners.scale.many.solve_many` accepts, and the task a worker runs.

A problem (a model, an ``(mdp, gamma)`` pair, an env id, ``(env_id,
kwargs)`` or a dict) is read once, in the caller, into a :class:`Task`; the
task is what travels to a worker (a model as its defining arrays only) and
:func:`solve_task` is what the worker runs.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium

from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.scale.outcomes import ManyResult
from rl_planners.solvers import modified_policy_iteration, policy_iteration, value_iteration

__all__ = [
    "DEFAULT_GAMMA",
    "SOLVERS",
    "EnvProblem",
    "Task",
    "check_options",
    "describe",
    "read_problem",
    "resolve_solver",
    "solve_task",
]

DEFAULT_GAMMA = 0.99
"""The discount of a problem that names none (the agents' default)."""

SOLVERS: Mapping[str, Callable[..., PlanningResult]] = {
    "value_iteration": value_iteration,
    "policy_iteration": policy_iteration,
    "modified_policy_iteration": modified_policy_iteration,
}
"""The solvers :func:`solve_many` knows by name."""

_DICT_KEYS = frozenset({"env_id", "mdp", "kwargs", "gamma"})


@dataclass(frozen=True)
class EnvProblem:
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


def _rebuild_task(index: int, source: Any, gamma: Any, solver: Any, options: Any) -> Task:
    if isinstance(source, tuple):
        source = TabularMDP(*source)
    return Task(index, source, gamma, solver, options)


@dataclass(frozen=True)
class Task:
    """What a worker needs to solve one problem: sent once, pickled."""

    index: int
    source: TabularMDP | EnvProblem
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


def read_problem(problem: Any, index: int, gamma: Any) -> tuple[TabularMDP | EnvProblem, Any]:
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
                f"problem {index}: 'mdp' must be a TabularMDP, got {describe(problem['mdp'])}"
            )
        source = problem.get("env_id", problem.get("mdp"))
        return _source(source, problem.get("kwargs"), index), problem.get("gamma", gamma)
    raise TypeError(
        f"problem {index}: expected a TabularMDP, an (mdp, gamma) pair, an env id, an "
        f"(env_id, kwargs) pair or a dict with 'env_id' or 'mdp'; got {describe(problem)}"
    )


def _source(source: Any, kwargs: Any, index: int) -> TabularMDP | EnvProblem:
    if isinstance(source, TabularMDP):
        return source
    if not isinstance(source, str):
        raise TypeError(
            f"problem {index}: expected a TabularMDP or an env id (str), got {describe(source)}"
        )
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping) or not all(isinstance(key, str) for key in kwargs):
        raise TypeError(
            f"problem {index}: env kwargs must be a dict with str keys, got {describe(kwargs)}"
        )
    return EnvProblem(source, dict(kwargs))


def describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _model_from_env(problem: EnvProblem) -> TabularMDP:
    """Make the env with ``gymnasium.make`` and read its model (in the worker).

    The library imports no env package (``envs`` imports the library): an id of
    this project's envs is known to a worker that imported ``envs`` (a forked
    pool inherits the registry), or written ``"envs:rl_planners/Garnet-v0"``,
    for which Gymnasium imports ``envs`` itself.
    """
    env = gymnasium.make(problem.env_id, **problem.kwargs)
    try:
        return TabularMDP.from_env(env)
    finally:
        env.close()


def solve_task(task: Task) -> ManyResult:
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


def resolve_solver(solver: Any) -> Callable[..., PlanningResult]:
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
            f"solver(mdp, gamma, **options), got {describe(solver)}"
        )
    return solver


def check_options(solve: Callable[..., PlanningResult], options: dict[str, Any]) -> None:
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
