r"""Value iteration and policy evaluation on a JAX device (optional extra ``jax``).

Install with ``pip install "rl_planners[jax]"``. The model is moved to the
device once, as its non-terminating outcomes: ``next_state``,
``weight = prob · (not terminated)`` and ``outcome_row`` (row ``s*A + a``);
a sweep is one gather and one sorted ``segment_sum``,

    ``Q(s,a) = R(s,a) + γ Σ_{k in row (s,a)} weight_k V(next_k)``,  ``V ← max_a Q``,

run to convergence inside one ``jax.lax.while_loop`` (one compiled program,
no round trip to the host per sweep). The stopping rules are those of
:mod:`rl_planners.solvers` with the sup norm, and the greedy policy is
computed on the host with NumPy from the final ``Q``
(:func:`rl_planners.bellman.greedy_policy`, the library's tie rule).

float64: the functions call ``jax.config.update("jax_enable_x64", True)``
the first time they run. That setting is process-wide (JAX has no other): from
then on every JAX computation in the process defaults to 64-bit types.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes*. Wiley. §6.3, Thm 6.3.1.
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
Introduction*, 2nd ed., §4.1, §4.4.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import greedy_policy, policy_model
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.scale.batch import BatchedPlanningResult, MDPBatch
from rl_planners.scale.stopping import (
    batch_gammas,
    greedy_policies,
    raise_if_not_finite,
    sup_thresholds,
    warn_unconverged,
)
from rl_planners.validation import check_gamma, check_max_iterations, check_policy, check_tol

__all__ = ["jax_batched_value_iteration", "jax_policy_evaluation", "jax_value_iteration"]

_ROUNDING_ULPS = 8.0
"""As in :mod:`rl_planners.solvers`: a change within this many float64 units of
``max|V|`` counts as converged."""


def _jax() -> Any:
    """Import JAX and switch it to float64 (process-wide), or explain how to install it."""
    try:
        import jax
    except ImportError as error:
        raise ImportError(
            'the JAX backend needs JAX: pip install "rl_planners[jax]" (or pip install "jax[cpu]")'
        ) from error
    jax.config.update("jax_enable_x64", True)
    return jax


def _coordinates(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row, column, weight)`` of a CSR matrix's stored entries, rows sorted."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return rows, matrix.indices.astype(np.int64), matrix.data.astype(np.float64)


@functools.cache
def _compiled_loop(optimal: bool) -> Any:
    """The jitted sweep loop (compiled per shape and cap; built once per process).

    With ``optimal``, a sweep is ``V ← max_a (R + γ P V)``, else ``V ← R + γ P V``.
    """
    jax = _jax()
    jnp = jax.numpy
    rounding = _ROUNDING_ULPS * float(np.finfo(np.float64).eps)

    def loop(rows, columns, weights, R_rows, gammas, thresholds, *, shape, max_iterations):
        n_models, n_states, n_actions = shape
        row_gamma = jnp.repeat(gammas, n_states * n_actions)
        n_rows = n_models * n_states * n_actions

        def action_values(V):  # [n, S] -> [n, S, A]
            PV = jax.ops.segment_sum(
                weights * V.reshape(-1)[columns],
                rows,
                num_segments=n_rows,
                indices_are_sorted=True,
            )
            return (R_rows + row_gamma * PV).reshape(n_models, n_states, n_actions)

        def body(state):
            sweep, V, pending, iterations, residuals, _ = state
            Q = action_values(V)
            V_next = Q.max(axis=2) if optimal else Q[:, :, 0]
            residual = jnp.abs(V_next - V).max(axis=1)
            top = jnp.abs(V_next).max(axis=1)
            stop = (residual < thresholds) | (residual <= rounding * jnp.maximum(1.0, top))
            V = jnp.where(pending[:, None], V_next, V)
            overflow = jnp.any(pending & ~jnp.isfinite(residual))
            iterations = jnp.where(pending & stop, sweep + 1, iterations)
            residuals = residuals.at[sweep].set(residual[0])
            return sweep + 1, V, pending & ~stop, iterations, residuals, overflow

        def cond(state):
            sweep, _, pending, _, _, overflow = state
            return (sweep < max_iterations) & jnp.any(pending) & ~overflow

        start = (
            jnp.int64(0),
            jnp.zeros((n_models, n_states)),
            jnp.ones(n_models, dtype=bool),
            jnp.full(n_models, max_iterations, dtype=jnp.int64),
            jnp.zeros(max_iterations),
            jnp.bool_(False),
        )
        sweep, V, pending, iterations, residuals, overflow = jax.lax.while_loop(cond, body, start)
        return sweep, V, pending, iterations, residuals, overflow, action_values(V)

    return jax.jit(loop, static_argnames=("shape", "max_iterations"))


def _solve(
    jax: Any,
    coordinates: tuple[np.ndarray, np.ndarray, np.ndarray],
    R_rows: np.ndarray,
    gammas: np.ndarray,
    thresholds: np.ndarray,
    shape: tuple[int, int, int],
    max_iterations: int,
    optimal: bool,
    device: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, bool]:
    """Sweep ``n`` models on the device until each meets its sup-norm rule.

    ``shape = (n, S, A)``; the ``coordinates`` index rows ``b*S*A + s*A + a``
    (``A = 1`` for a policy's chain) and columns ``b*S + s'``. A model that
    stops is frozen (masked). Returns, on the host, ``V [n, S]``, ``Q [n, S, A]``
    of the final ``V``, ``iterations [n]``, ``converged [n]``, the residuals
    ``[max_iterations]`` of model 0, the sweeps run, and whether a value overflowed.
    """
    arrays = [jax.device_put(np.asarray(a), device) for a in (*coordinates, R_rows, gammas)]
    arrays.append(jax.device_put(thresholds, device))
    out = _compiled_loop(optimal)(*arrays, shape=shape, max_iterations=max_iterations)
    sweep, V, pending, iterations, residuals, overflow, Q = map(np.asarray, out)
    return V, Q, iterations, ~pending, residuals, int(sweep), bool(overflow)


def _device(jax: Any, device: Any) -> Any:
    return jax.devices()[0] if device is None else device


def jax_value_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    device: Any = None,
) -> PlanningResult:
    r"""Value iteration on a JAX device, with value_iteration's sup-norm rule.

    ``V_{k+1}(s) = max_a [R(s,a) + γ Σ_s' P_cont(s'|s,a) V_k(s')]`` from 0,
    until ``‖V_{k+1} − V_k‖∞ < ε(1−γ)/(2γ)`` (``ε`` at γ = 1; one sweep at
    γ = 0) or the change is within float64 rounding of ``max|V|``.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1].
    tol : float
        ``ε``: for γ < 1, ``‖V − V*‖∞ < ε/2`` and an ε-optimal greedy policy.
    max_iterations : int
        Sweep cap, never overridden (a :class:`ConvergenceWarning` if reached).
    device : jax.Device, optional
        Where to run; default JAX's default device.

    Returns
    -------
    PlanningResult
        As :func:`rl_planners.solvers.value_iteration` with ``stopping="sup"``
        returns it (equal to float64 rounding); the greedy policy is computed
        on the host from ``Q`` (ties to the lowest index within float64
        rounding; at γ = 1 within ``tol``, to an action that terminates).

    Raises
    ------
    ImportError
        Without JAX (``pip install "rl_planners[jax]"``).
    ValueError
        Bad ``gamma``, ``tol`` or ``max_iterations``, or a value overflowing float64.

    Notes
    -----
    Sets ``jax_enable_x64`` process-wide (module docstring).

    References
    ----------
    Puterman (1994), Thm 6.3.1; Sutton & Barto (2018), §4.4.
    """
    start = time.perf_counter()
    jax = _jax()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    gammas = np.array([gamma])
    V, Q, iterations, converged, residuals, sweeps, overflow = _solve(
        jax,
        _coordinates(mdp.continuation),
        np.asarray(mdp.R).reshape(-1),
        gammas,
        sup_thresholds(gammas, tol),
        (1, mdp.n_states, mdp.n_actions),
        max_iterations,
        True,
        _device(jax, device),
    )
    if overflow:
        raise_if_not_finite(V, np.array([0]), sweeps)
    warn_unconverged(converged, max_iterations, "jax_value_iteration")
    return PlanningResult(
        V=V[0],
        Q=Q[0],
        policy=greedy_policy(mdp, Q[0], gamma, atol=tol if gamma == 1.0 else None),
        iterations=int(iterations[0]),
        converged=bool(converged[0]),
        residuals=residuals[:sweeps].copy(),
        gamma=gamma,
        wall_time=time.perf_counter() - start,
    )


def jax_policy_evaluation(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float,
    *,
    tol: float = 1e-10,
    max_iterations: int = 100_000,
    device: Any = None,
) -> np.ndarray:
    r"""The value of a policy by iterative sweeps on a JAX device.

    ``V_{k+1} = R_π + γ P_π V_k`` from 0 (:func:`rl_planners.bellman.policy_model`
    gives ``P_π, R_π`` on the host), until ``‖V_{k+1} − V_k‖∞ < tol (1−γ)/γ``,
    so that ``‖V − V^π‖∞ < tol`` (at γ = 1, until the change is below
    ``tol``): :func:`rl_planners.solvers.policy_evaluation` with
    ``method="iterative"``, whose result this equals to float64 rounding.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic ``(S,)`` int or stochastic ``(S, A)`` float ``π(a|s)``.
    gamma : float
        Discount in [0, 1].
    tol : float
    max_iterations : int
        Sweep cap, never overridden (a :class:`ConvergenceWarning` if reached:
        at γ = 1, e.g. for a policy that never terminates, which this function
        does not check for beforehand).
    device : jax.Device, optional

    Returns
    -------
    numpy.ndarray
        ``[S]`` float64 ``V^π``.

    Raises
    ------
    ImportError
        Without JAX.
    ValueError
        Bad policy, ``gamma``, ``tol`` or ``max_iterations``, or overflow.

    References
    ----------
    Sutton & Barto (2018), eq. (4.5); Puterman (1994), Thm 6.1.1.
    """
    jax = _jax()
    policy = check_policy(mdp, policy)
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    P_pi, R_pi = policy_model(mdp, policy)
    gammas = np.array([gamma])
    # the sup rule's ε/2 bound with ε = 2·tol, as policy_evaluation's iterative method
    thresholds = sup_thresholds(gammas, 2.0 * tol if gamma < 1.0 else tol)
    V, _, _, converged, _, sweeps, overflow = _solve(
        jax,
        _coordinates(sp.csr_matrix(P_pi)),
        np.asarray(R_pi, dtype=np.float64),
        gammas,
        thresholds,
        (1, mdp.n_states, 1),
        max_iterations,
        False,
        _device(jax, device),
    )
    if overflow:
        raise_if_not_finite(V, np.array([0]), sweeps)
    warn_unconverged(converged, max_iterations, "jax_policy_evaluation")
    return V[0]


def jax_batched_value_iteration(
    batch: MDPBatch,
    gamma: float | np.ndarray,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    device: Any = None,
) -> BatchedPlanningResult:
    r""":func:`rl_planners.scale.batched.batched_value_iteration` on a JAX device.

    The same sweeps ``Q_b = R_b + γ_b P_b V_b``, ``V_b ← max_a Q_b`` and the
    same per-model sup-norm rules; a model that has stopped is frozen by a
    mask (the device keeps sweeping the whole batch until every model has
    stopped). The result equals the NumPy one to float64 rounding; policies
    are computed on the host (:func:`rl_planners.bellman.greedy_policy` per model).

    Parameters
    ----------
    batch : MDPBatch
        Either layout (a dense one is sent as its nonzero entries).
    gamma : float or array_like, shape (B,)
    tol : float
    max_iterations : int
    device : jax.Device, optional

    Returns
    -------
    BatchedPlanningResult

    Raises
    ------
    ImportError
        Without JAX.
    TypeError, ValueError
        As :func:`rl_planners.scale.batched.batched_value_iteration`.
    """
    start = time.perf_counter()
    jax = _jax()
    if not isinstance(batch, MDPBatch):
        raise TypeError(
            f"batch must be an MDPBatch, got {type(batch).__name__}; build one with "
            "MDPBatch([mdp, ...])"
        )
    gammas = batch_gammas(batch, gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    n_models, n_states, n_actions = batch.n_models, batch.n_states, batch.n_actions
    if batch.continuation is not None:
        matrix = batch.continuation
    else:
        matrix = sp.block_diag(list(batch.dense_continuation), format="csr")
    V, Q, iterations, converged, _, sweeps, overflow = _solve(
        jax,
        _coordinates(matrix),
        batch.R.reshape(-1),
        gammas,
        sup_thresholds(gammas, tol),
        (n_models, n_states, n_actions),
        max_iterations,
        True,
        _device(jax, device),
    )
    if overflow:
        raise_if_not_finite(V, np.arange(n_models), sweeps)
    warn_unconverged(converged, max_iterations, "jax_batched_value_iteration")
    return BatchedPlanningResult(
        V=V,
        Q=Q,
        policy=greedy_policies(batch, Q, gammas, tol),
        iterations=iterations,
        converged=converged,
        gamma=gammas,
        wall_time=time.perf_counter() - start,
    )
