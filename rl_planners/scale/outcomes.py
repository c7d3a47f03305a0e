"""What :func:`~rl_planners.scale.many.solve_many` returns for each problem, and its error.

Both cross process boundaries intact: an exception is pickled by its class,
``args`` and attributes, so that one whose ``__init__`` takes other
arguments (such as :class:`~rl_planners.errors.NonTerminatingPolicyError`)
comes back from a worker as it was raised.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from rl_planners.result import PlanningResult

__all__ = ["ManyResult", "ProblemError", "failed_result"]


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


def failed_result(index: int, error: BaseException) -> ManyResult:
    """The result of a task whose executor failed (a crashed worker, an unpicklable argument)."""
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return ManyResult(index, None, error, trace)
