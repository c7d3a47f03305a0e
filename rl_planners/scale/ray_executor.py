"""A ``concurrent.futures.Executor`` over Ray tasks, for :func:`~rl_planners.scale.many.solve_many`.

Ray is imported only when a :class:`RayExecutor` is made (the ``ray`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

__all__ = ["RayExecutor"]


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
    >>> from rl_planners.scale.many import solve_many  # doctest: +SKIP
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
