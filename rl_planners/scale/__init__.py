"""Many models at once: executors (process pool, Dask, Ray), batched sweeps, JAX.

Above the solvers; optional engines are imported only inside the functions
that use them.
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
