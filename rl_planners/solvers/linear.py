r"""Linear solves of the Bellman expectation equation ``(I − γ P_π) V = R_π``.

Four ways, by model and size: path doubling for a deterministic policy on a
model whose every step has one next state
(:mod:`~rl_planners.bellman.successors`: Taxi, CliffWalking); a dense LAPACK
solve for deterministic policies on up to
:data:`DENSE_SOLVE_MAX_STATES` states; a sparse LU factorisation up to
:data:`DIRECT_SOLVE_MAX_STATES`; restarted, warm-started BiCGSTAB beyond
(where LU fills in on unstructured models), with its products
``(I − γ P_π) x`` taken from the policy operator of
:mod:`~rl_planners.bellman.operators`. :func:`solve_policy_system` picks one.

References
----------
van der Vorst, H. A. (1992). Bi-CGSTAB: a fast and smoothly converging variant
of Bi-CG for the solution of nonsymmetric linear systems. *SIAM J. Sci. Stat.
Comput.* 13(2), 631–644.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import Operators, PolicyOperator, policy_model
from rl_planners.bellman.successors import evaluate_by_doubling
from rl_planners.errors import ConvergenceWarning
from rl_planners.mdp import TabularMDP
from rl_planners.solvers.krylov_steps import CompiledSteps, NumpySteps

__all__ = [
    "DENSE_SOLVE_MAX_STATES",
    "DIRECT_SOLVE_MAX_STATES",
    "KrylovWorkspace",
    "bicgstab",
    "solve_dense",
    "solve_krylov",
    "solve_policy_system",
    "solve_sparse",
    "sup_of_extremes",
]


def solve_sparse(P_pi: sp.csr_matrix, R_pi: np.ndarray, gamma: float) -> np.ndarray:
    """Solve ``(I − γ P_π) V = R_π`` with a sparse LU factorisation."""
    import scipy.sparse.linalg as spla  # imported on first use: it loads scipy.linalg

    n_states = R_pi.shape[0]
    system = (sp.identity(n_states, format="csc") - gamma * P_pi).tocsc()
    V = spla.spsolve(system, R_pi)
    return np.atleast_1d(np.asarray(V, dtype=np.float64))


DIRECT_SOLVE_MAX_STATES = 600
"""``method="exact"`` factorises (sparse LU) up to this many states, else Krylov."""

KRYLOV_ROUNDS = 8
"""BiCGSTAB restarts, each from the last iterate and its recomputed residual."""

KRYLOV_MAX_ITERATIONS = 1_000
"""BiCGSTAB iterations per restart (a few dozen are typical at γ = 0.99)."""


def sup_of_extremes(high: float, low: float) -> float:
    """``‖x‖∞`` from ``max x = high`` and ``min x = low``."""
    return max(high, -low)


class KrylovWorkspace:
    """The ``(n,)`` float64 vectors one :func:`bicgstab` call works in, kept between calls.

    Six, and two more for the preconditioned vectors ``M⁻¹ p`` and ``M⁻¹ s``;
    ``compiled``: the vector steps run as compiled passes
    (:mod:`~rl_planners.solvers.krylov_steps`), else as NumPy calls.
    """

    def __init__(self, n: int, preconditioned: bool = False, compiled: bool = False) -> None:
        # vectors[4] is NumPy's buffer for products with a scalar: the compiled
        # steps need none (each vector of a large model is first-touch memory)
        vectors = [np.empty(n) for _ in range(8 if preconditioned else 6)]
        if compiled:
            vectors[4] = np.empty(0)
        self.vectors = tuple(vectors)
        self.steps = CompiledSteps(n) if compiled else NumpySteps(self.vectors[4])


def bicgstab(
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray],
    b: np.ndarray,
    x: np.ndarray,
    target: float,
    max_iterations: int,
    measure: Callable[[float, float], float] | None = None,
    precondition: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    workspace: KrylovWorkspace | None = None,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """BiCGSTAB (van der Vorst 1992) for ``A x = b`` from ``x``: the iterate and its residual.

    Stops when the recursive residual's ``measure(max r, min r)`` (default
    its sup-norm) is at most ``target``, on breakdown, or after
    ``max_iterations``. Returns ``(x, r)``: ``r`` is the recursive residual,
    equal to ``b − A x`` in exact arithmetic and up to rounding in float64
    (it lives in the workspace: read it before the next call). A caller that
    needs the true residual computes it. ``apply(y, out)`` writes ``A y``
    into ``out`` and returns it (the loop reuses two buffers: no new memory
    per product). ``precondition(y, out)``, ``M⁻¹ y`` likewise, preconditions
    on the right: the iteration runs on ``A M⁻¹`` and its residuals are
    ``A x``'s (right preconditioning, Saad 2003, §9.3.2). ``workspace``, if
    given, lends its vectors and its vector steps (a caller solving many
    systems of one size keeps one: fresh memory costs a page fault per 4 KiB
    on first touch, as much as a third of a product on a 10⁶-state model).
    ``out``, a float64 array of ``x``'s shape other than ``x``, receives the
    iterate and is returned (else a copy of ``x``, or ``x`` itself if its
    residual already meets the target); the caller's ``x`` is left as given.

    Why not ``scipy.sparse.linalg.bicgstab``: SciPy stops on the 2-norm,
    ``‖r‖₂ ≤ max(rtol ‖b‖₂, atol)``, while the guarantee here is on the
    sup-norm, ``‖r‖∞ ≤ 10⁻¹²(1−γ)‖V‖∞``. At float64 rounding ``‖r‖₂`` stays
    about ``√S`` times ``‖r‖∞``, so a 2-norm target strict enough to imply the
    sup-norm one cannot be met on large models: with SciPy's solver, the
    10,000-state Garnet policy evaluations never passed the check and fell
    through to sparse LU (155 s for one policy iteration against 47 ms with
    this loop, as measured when the Krylov path was introduced).
    """
    if measure is None:
        measure = sup_of_extremes
    if workspace is None:
        workspace = KrylovWorkspace(x.shape[0], precondition is not None)
    steps = workspace.steps
    r, r_hat, v, p, _, t = workspace.vectors[:6]
    p_hat, s_hat = workspace.vectors[6:] if precondition is not None else (p, None)
    r = np.subtract(b, apply(x, t), out=r)
    if out is not None:
        np.copyto(out, x)
        x = out
    if measure(float(r.max()), float(r.min())) <= target:
        return x, r
    r_hat[:] = r
    rho = alpha = omega = 1.0
    v.fill(0.0)
    p.fill(0.0)
    # Updated in place, in the order the formulas are written (so the same
    # float64 operations as the textbook expressions): s takes r's buffer and
    # r, at the end of an iteration, s's; t = A ŝ is needed within one
    # iteration only.
    if out is None:
        x = x.copy()  # the caller's x is left as given
    rho_next, _ = steps.dots(r_hat, r, r)
    for _ in range(max_iterations):
        if rho_next == 0.0 or omega == 0.0:
            break  # breakdown: the caller restarts from x
        # p = r + (ρ'/ρ)(α/ω)(p − ω v)
        steps.direction(p, r, v, (rho_next / rho) * (alpha / omega), omega)
        if precondition is not None:
            precondition(p, p_hat)
        v = apply(p_hat, v)  # v = A p̂, α = ρ' / (r̂ · v)
        denominator, _ = steps.dots(r_hat, v, v)
        if denominator == 0.0:
            break
        alpha = rho_next / denominator
        s = r
        if measure(*steps.half_step(s, v, alpha)) <= target:  # s = r − α v
            steps.add_scaled(x, alpha, p_hat)
            return x, s
        if precondition is None:
            t = apply(s, t)
        else:
            t = apply(precondition(s, s_hat), t)
        tt, ts = steps.dots(t, t, s)  # t = A ŝ, ω = (t · s) / (t · t)
        omega = ts / tt if tt > 0.0 else 0.0
        rho = rho_next
        # x = x + α p̂ + ω ŝ, r = s − ω t, and ρ' = r̂ · r for the next iteration
        high, low, rho_next = steps.update(
            x, alpha, p_hat, omega, s if s_hat is None else s_hat, s, t, r_hat
        )
        r = s
        if not np.isfinite(omega) or measure(high, low) <= target:
            break
    return x, r


def solve_krylov(
    operator: PolicyOperator, gamma: float, V0: np.ndarray | None = None
) -> tuple[np.ndarray, bool]:
    r"""Solve ``(I − γ P_π) V = R_π`` by restarted BiCGSTAB from ``V0``.

    The product ``(I − γ P_π) x`` is the policy operator's (the compiled
    policy kernel, or ``P_π`` in CSR form): nothing is factorised, so nothing
    fills in. Returns ``(V, ok)``; ``ok`` when the residual
    ``r = R_π − (I − γ P_π) V``, recomputed from ``V``, has
    ``‖r‖∞ ≤ max(10⁻¹² (1−γ), 64 ε) ‖V‖∞`` (ε the float64 epsilon): since
    ``‖V − V^π‖∞ ≤ ‖r‖∞ / (1−γ)``, ``V`` is then within about ``10⁻¹² ‖V‖∞``
    of ``V^π``, the scale below which policy iteration treats action values
    as ties. (At γ = 1 the rounding level is what is asked.)
    """
    R_pi = operator.R_pi

    def apply(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return operator.system_product(x, gamma, out)

    V = np.zeros(R_pi.shape[0]) if V0 is None else np.array(V0, dtype=np.float64)
    relative = max(1e-12 * (1.0 - gamma), 64.0 * np.finfo(np.float64).eps)
    for _ in range(KRYLOV_ROUNDS + 1):
        limit = relative * max(1.0, float(np.abs(V).max()))
        if float(np.abs(R_pi - apply(V)).max()) <= limit:
            return V, True
        V, _ = bicgstab(apply, R_pi, V, limit / 4.0, KRYLOV_MAX_ITERATIONS)
        if not np.all(np.isfinite(V)):
            return V, False
    return V, False


def solve_policy_system(
    ops: Operators,
    policy: np.ndarray,
    gamma: float,
    V0: np.ndarray | None = None,
    krylov: bool | None = None,
) -> np.ndarray:
    """``V^π`` from ``(I − γ P_π) V = R_π``: LU on small models, warm-started Krylov on large.

    ``krylov=None`` picks Krylov above :data:`DIRECT_SOLVE_MAX_STATES`
    states or on the compiled backend. Should it miss its residual check,
    small models get the LU solve instead; large ones (where LU would fill
    in) keep the best Krylov iterate, with a :class:`ConvergenceWarning`.
    Without Krylov, a deterministic policy on a model whose every step has
    one next state (:attr:`Operators.successors`) is evaluated by path
    doubling, within ``2⁻⁶⁰ ‖V^π‖∞`` of ``V^π``
    (:func:`~rl_planners.bellman.successors.evaluate_by_doubling`), before LU.
    """
    mdp = ops.mdp
    if krylov is None:
        krylov = ops.backend == "compiled" or mdp.n_states > DIRECT_SOLVE_MAX_STATES
    if not krylov and policy.ndim == 1 and ops.successors is not None:
        rows = np.arange(mdp.n_states) * mdp.n_actions + policy
        R_pi = mdp.R.reshape(-1)[rows]
        V = evaluate_by_doubling(ops.successors, rows, R_pi, gamma)
        if V is not None:
            return V
    if krylov:
        V, ok = solve_krylov(ops.policy(policy), gamma, V0)
        if ok:
            return V
        if mdp.n_states > DIRECT_SOLVE_MAX_STATES and np.all(np.isfinite(V)):
            warnings.warn(
                "policy evaluation: BiCGSTAB did not bring the residual of "
                "(I - gamma P_pi) V = R_pi down to float64 rounding; V is its best "
                "iterate (pass method='iterative' for sweeps with a guaranteed tolerance)",
                ConvergenceWarning,
                stacklevel=3,
            )
            return V
    elif policy.ndim == 1 and mdp.n_states <= DENSE_SOLVE_MAX_STATES:
        return solve_dense(mdp, policy, gamma)
    P_pi, R_pi = policy_model(mdp, policy)
    return solve_sparse(P_pi, R_pi, gamma)


DENSE_SOLVE_MAX_STATES = 128
"""Up to this many states a dense LU solve (LAPACK) beats SciPy's sparse overhead."""


def solve_dense(mdp: TabularMDP, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Solve ``(I − γ P_π) V = R_π`` for a deterministic ``π`` as a dense system.

    ``P_π`` is gathered straight from the outcome arrays of the rows
    ``s*A + π(s)`` (terminating outcomes left out, repeated next states
    summed): tens of microseconds for FrozenLake, where building and
    factorising the sparse system costs hundreds.
    """
    from scipy.linalg import lapack  # imported on first use, as above

    n_states = mdp.n_states
    rows = np.arange(n_states) * mdp.n_actions + policy
    starts = mdp.row_offsets[rows]
    counts = mdp.row_offsets[rows + 1] - starts
    shift = starts - np.cumsum(counts) + counts
    outcome = np.arange(int(counts.sum())) + np.repeat(shift, counts)
    weight = np.where(mdp.terminated[outcome], 0.0, mdp.prob[outcome])
    cell = np.repeat(np.arange(n_states) * n_states, counts) + mdp.next_state[outcome]
    system = -gamma * np.bincount(cell, weights=weight, minlength=n_states * n_states)
    system = system.reshape(n_states, n_states)
    system[np.diag_indices(n_states)] += 1.0
    # LAPACK's gesv directly: numpy.linalg.solve adds ~10 µs of checks per call.
    _, _, V, info = lapack.dgesv(system, mdp.R.reshape(-1)[rows], overwrite_a=True)
    if info != 0:  # singular: only at γ = 1 for a policy that never terminates
        raise np.linalg.LinAlgError(f"I - gamma P_pi is singular (LAPACK gesv info={info})")
    return V
