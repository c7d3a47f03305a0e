"""Many models at once: executors (process pool, Dask, Ray), batched sweeps, JAX.

Above the solvers; optional engines are imported only inside the functions
that use them. Modules:

- ``many.py``: :func:`solve_many`, over ``problems.py`` (the forms a problem
  takes, the task a worker runs), ``outcomes.py`` (:class:`ManyResult`,
  :class:`ProblemError`) and ``ray_executor.py`` (:class:`RayExecutor`);
- ``batched.py``: :func:`batched_value_iteration`, over ``batch.py``
  (:class:`MDPBatch`, :class:`BatchedPlanningResult`), ``stopping.py`` (the
  per-model stopping rule, shared with JAX) and ``batched_kernel.py`` (the
  compiled sweep);
- ``jax_backend.py``: the ``jax_*`` solvers.
"""

from rl_planners.scale.batched import BatchedPlanningResult, MDPBatch, batched_value_iteration
from rl_planners.scale.jax_backend import (
    jax_batched_value_iteration,
    jax_policy_evaluation,
    jax_value_iteration,
)
from rl_planners.scale.many import ManyResult, ProblemError, RayExecutor, solve_many

__all__ = [
    "BatchedPlanningResult",
    "MDPBatch",
    "ManyResult",
    "ProblemError",
    "RayExecutor",
    "batched_value_iteration",
    "jax_batched_value_iteration",
    "jax_policy_evaluation",
    "jax_value_iteration",
    "solve_many",
]
