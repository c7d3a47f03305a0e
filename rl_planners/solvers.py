r"""Dynamic-programming solvers: policy evaluation, value iteration, policy iteration.

Sweeps are synchronous (Jacobi) unless asked otherwise, vectorised over the
sparse model; models of :data:`rl_planners.kernels.KERNEL_MIN_OUTCOMES` or more
outcomes take the fused compiled kernels of :mod:`rl_planners.kernels`
(``backend=`` chooses explicitly). Policy evaluation solves its linear system
directly on small models and with a Krylov method (BiCGSTAB, warm-started) on
large ones, where a sparse LU factorisation would fill in.

Stopping rules (γ < 1), with ``d = V_{k+1} − V_k`` after a sweep of the
optimality operator ``T`` (Puterman 1994, Thm 6.3.1 and §6.6.3):

- ``"sup"``:  stop when ``‖d‖∞ < ε(1−γ)/(2γ)``; return ``V_{k+1}``.
- ``"span"``: stop when ``sp(d) = max d − min d < ε(1−γ)/γ``; return the
  MacQueen–Porteus midpoint ``V_{k+1} + γ/(1−γ) · (max d + min d)/2``.

Both guarantee ``‖V − V*‖∞ < ε/2`` for the returned ``V`` and
``‖V^π − V*‖∞ < ε`` for the policy ``π`` greedy with respect to it. For the
span rule: ``V* ≤ V_{k+1} + γ/(1−γ) max d`` and, since ``π`` is greedy,
``V^π ≥ V_{k+1} + γ/(1−γ) min d``; the midpoint is within half the gap of
``V*``. The span rule needs far fewer sweeps when ``V_k`` mostly shifts by a
constant, as it does at γ close to 1.

These bounds need ``P_π 1 = 1``. Where outcomes terminate, the continuation
rows sum to less than 1 (termination is an absorbing exit whose value stays
0), and the bounds hold with ``max d`` replaced by ``max(max d, 0)`` and
``min d`` by ``min(min d, 0)``: the exit's own change, 0, joins ``d``.
Without this a first sweep of constant rewards (CliffWalking: −1 everywhere)
has span 0 and would "converge" to ``−1/(1−γ)``.

At γ = 1 (episodic tasks) no contraction bound exists; the solvers stop when
``‖d‖∞ < ε``. Either rule also stops when ``d`` is within float64 rounding of
``V`` (a few units in the last place), the closest float64 arithmetic gets.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes: Discrete Stochastic
Dynamic Programming*. Wiley. §6.3 (value iteration), §6.4 (policy iteration),
§6.5 (modified policy iteration), §6.6 (bounds and stopping).
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
Introduction*, 2nd ed., §4.1–4.4.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import lapack

from rl_planners import kernels
from rl_planners.bellman import (
    _q,
    expectation_backup,
    greedy_policy,
    optimality_backup,
    policy_model,
    tie_tolerance,
)
from rl_planners.errors import ConvergenceWarning, NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.mdp.termination import endless_states, nonterminating_states, terminating_choice
from rl_planners.validation import (
    check_gamma,
    check_max_iterations,
    check_policy,
    check_tol,
    check_values,
)

__all__ = [
    "modified_policy_iteration",
    "policy_evaluation",
    "policy_iteration",
    "value_iteration",
]

_ROUNDING_ULPS = 8.0
"""A change within this many float64 units of ``max|V|`` counts as converged."""


# --------------------------------------------------------------- stopping rule
class _StoppingRule:
    """The sup-norm or span-seminorm stop for a tolerance ``ε`` (module docstring)."""

    def __init__(
        self, gamma: float, tol: float, stopping: str | None, mdp: TabularMDP | None = None
    ) -> None:
        if stopping is None:
            stopping = "span" if gamma < 1.0 else "sup"
        if stopping not in ("span", "sup"):
            raise ValueError(f"stopping must be 'span' or 'sup', got {stopping!r}")
        if stopping == "span" and gamma == 1.0:
            raise ValueError(
                "stopping='span' needs gamma < 1 (its bounds are γ/(1−γ) multiples); "
                "use stopping='sup' at gamma = 1"
            )
        self.gamma, self.stopping = gamma, stopping
        # Without a model (policy evaluation's sup rule) nothing below is used.
        self.terminates = True if mdp is None else _terminates(mdp)
        # States where every action ends the episode at once: V(s) = max_a R(s, a)
        # exactly after one sweep, so the span correction must leave them alone
        # (a terminal state keeps V = 0).
        self.ends_at_once = None
        if mdp is not None:
            ends_at_once = mdp.continuation_probability.max(axis=1) == 0.0  # [S]
            self.ends_at_once = ends_at_once if ends_at_once.any() else None
        if gamma == 0.0:
            self.threshold = np.inf
        elif gamma == 1.0:
            self.threshold = tol
        elif stopping == "sup":
            self.threshold = tol * (1.0 - gamma) / (2.0 * gamma)
        else:
            self.threshold = tol * (1.0 - gamma) / gamma

    def check(self, V_next: np.ndarray, d: np.ndarray) -> tuple[bool, float, np.ndarray]:
        """Return ``(stop, ‖d‖∞, V to report if stopping)`` for ``d = V_next − V``."""
        return self.decide(V_next, float(d.max()), float(d.min()), float(np.abs(V_next).max()))

    def decide(
        self, V_next: np.ndarray, high: float, low: float, top: float
    ) -> tuple[bool, float, np.ndarray]:
        """:meth:`check` from ``max d``, ``min d`` and ``max |V_next|`` (a kernel's stats)."""
        residual = max(high, -low)
        if self.terminates:
            high, low = max(high, 0.0), min(low, 0.0)
        measure = high - low if self.stopping == "span" else residual
        rounding = _ROUNDING_ULPS * np.finfo(np.float64).eps * max(1.0, top)
        if not (measure < self.threshold or residual <= rounding):
            return False, residual, V_next
        if self.stopping == "span" and 0.0 < self.gamma < 1.0:
            shift = self.gamma / (1.0 - self.gamma) * (high + low) / 2.0
            if self.ends_at_once is None:
                V_next = V_next + shift
            else:
                V_next = V_next + np.where(self.ends_at_once, 0.0, shift)
        return True, residual, V_next


def _terminates(mdp: TabularMDP) -> bool:
    """Whether some row of the continuation matrix sums to less than 1.

    True where outcomes terminate, and also where probabilities sum to 1 only
    within the model's tolerance, so that the span rule's bounds stay valid.
    """
    return bool(mdp.continuation_probability.min() < 1.0 - 1e-12)


def _warn_cap(solver: str, max_iterations: int, residual: float) -> None:
    warnings.warn(
        f"{solver} stopped at max_iterations={max_iterations} before meeting its "
        f"stopping rule (last change {residual:.3g}); the result is not converged. "
        "Raise max_iterations or tol, or check that the task is well posed "
        "(at gamma = 1 every optimal policy must terminate).",
        ConvergenceWarning,
        stacklevel=3,
    )


IterationCallback = Callable[[int, float], None]
"""Called after every iteration with ``(iteration, residual)``, e.g. for a progress bar."""


def _iterate(
    solver: str,
    step: Callable[[], tuple[bool, float]],
    max_iterations: int,
    callback: IterationCallback | None,
    interruptible: bool,
) -> tuple[list[float], bool]:
    """Run ``step`` until it reports convergence or ``max_iterations`` is reached.

    ``step()`` performs one iteration and returns ``(converged, residual)``.
    Returns the residuals and whether the stopping rule was met. With
    ``interruptible``, Ctrl-C (``KeyboardInterrupt``) ends the loop and the
    solver returns its last iterate, marked not converged.
    """
    residuals: list[float] = []
    try:
        for iteration in range(1, max_iterations + 1):
            converged, residual = step()
            residuals.append(residual)
            if callback is not None:
                callback(iteration, residual)
            if converged:
                return residuals, True
    except KeyboardInterrupt:
        if not interruptible:
            raise
        warnings.warn(
            f"{solver} interrupted after {len(residuals)} iterations; returning the "
            "last iterate, not converged",
            ConvergenceWarning,
            stacklevel=3,
        )
        return residuals, False
    _warn_cap(solver, max_iterations, residuals[-1])
    return residuals, False


def _result(
    mdp: TabularMDP,
    V: np.ndarray,
    gamma: float,
    policy: np.ndarray | None,
    iterations: int,
    converged: bool,
    residuals: list[float],
    start: float,
    tie_atol: float | None = None,
    backend: str = "auto",
) -> PlanningResult:
    Q = _q(mdp, V, gamma, backend)
    if policy is None:
        policy = greedy_policy(mdp, Q, gamma, atol=tie_atol)
    return PlanningResult(
        V=V,
        Q=Q,
        policy=policy,
        iterations=iterations,
        converged=converged,
        residuals=np.asarray(residuals, dtype=np.float64),
        gamma=gamma,
        wall_time=time.perf_counter() - start,
    )


# ------------------------------------------------------------ policy evaluation
def _raise_if_nonterminating(mdp: TabularMDP, policy: np.ndarray) -> None:
    stuck = nonterminating_states(mdp, policy)
    if stuck.size:
        shown = ", ".join(map(str, stuck[:10])) + (" ..." if stuck.size > 10 else "")
        raise NonTerminatingPolicyError(
            f"at gamma = 1 the policy never terminates (with probability 1) from "
            f"{stuck.size} state(s): {shown}; their undiscounted return is undefined. "
            "Use gamma < 1, or a policy that reaches a terminating outcome from every "
            "state (policy_iteration's default initial policy does).",
            stuck,
        )


def _solve_exact(P_pi: sp.csr_matrix, R_pi: np.ndarray, gamma: float) -> np.ndarray:
    """Solve ``(I − γ P_π) V = R_π`` with a sparse LU factorisation."""
    n_states = R_pi.shape[0]
    system = (sp.identity(n_states, format="csc") - gamma * P_pi).tocsc()
    V = spla.spsolve(system, R_pi)
    return np.atleast_1d(np.asarray(V, dtype=np.float64))


_DIRECT_SOLVE_MAX_STATES = 600
"""``method="exact"`` factorises (sparse LU) up to this many states, else Krylov."""

_KRYLOV_ROUNDS = 8
"""BiCGSTAB restarts, each from the last iterate and its recomputed residual."""

_KRYLOV_MAX_ITERATIONS = 1_000
"""BiCGSTAB iterations per restart (a few dozen are typical at γ = 0.99)."""


def _bicgstab(
    apply: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    x: np.ndarray,
    target: float,
    max_iterations: int,
) -> np.ndarray:
    """BiCGSTAB (van der Vorst 1992) for ``A x = b`` from ``x``.

    Stops when the recursive residual's sup-norm is at most ``target`` (the
    criterion the caller checks; SciPy's solvers test the 2-norm, which
    float64 rounding keeps ``√S`` times higher), on breakdown, or after
    ``max_iterations``. The caller verifies the true residual.
    """
    r = b - apply(x)
    if float(np.abs(r).max()) <= target:
        return x
    r_hat = r.copy()
    rho = alpha = omega = 1.0
    v = np.zeros_like(x)
    p = np.zeros_like(x)
    for _ in range(max_iterations):
        rho_next = float(r_hat @ r)
        if rho_next == 0.0 or omega == 0.0:
            break  # breakdown: the caller restarts from x
        p = r + (rho_next / rho) * (alpha / omega) * (p - omega * v)
        v = apply(p)
        denominator = float(r_hat @ v)
        if denominator == 0.0:
            break
        alpha = rho_next / denominator
        s = r - alpha * v
        if float(np.abs(s).max()) <= target:
            return x + alpha * p
        t = apply(s)
        tt = float(t @ t)
        omega = float(t @ s) / tt if tt > 0.0 else 0.0
        x = x + alpha * p + omega * s
        r = s - omega * t
        rho = rho_next
        if not np.isfinite(omega) or float(np.abs(r).max()) <= target:
            break
    return x


def _solve_krylov(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float,
    V0: np.ndarray | None = None,
    compiled: bool = False,
) -> tuple[np.ndarray, bool]:
    r"""Solve ``(I − γ P_π) V = R_π`` by restarted BiCGSTAB from ``V0``.

    The product ``(I − γ P_π) x`` runs on the model's own arrays (the compiled
    policy kernel) or on ``P_π`` in CSR form: nothing is factorised, so nothing
    fills in. Returns ``(V, ok)``; ``ok`` when the residual
    ``r = R_π − (I − γ P_π) V``, recomputed from ``V``, has
    ``‖r‖∞ ≤ max(10⁻¹² (1−γ), 64 ε) ‖V‖∞`` (ε the float64 epsilon): since
    ``‖V − V^π‖∞ ≤ ‖r‖∞ / (1−γ)``, ``V`` is then within about ``10⁻¹² ‖V‖∞``
    of ``V^π``, the scale below which policy iteration treats action values
    as ties. (At γ = 1 the rounding level is what is asked.)
    """
    n_states = mdp.n_states
    if compiled and policy.ndim == 1:
        model = kernels.prepare(mdp)
        R_pi = model.R[np.arange(n_states) * mdp.n_actions + policy]

        def apply(x: np.ndarray) -> np.ndarray:
            return kernels.policy_apply(model, policy, x, alpha=1.0, beta=0.0, g=-gamma)

    else:
        P_pi, R_pi = policy_model(mdp, policy)
        system = (sp.identity(n_states, format="csr") - gamma * P_pi).tocsr()

        def apply(x: np.ndarray) -> np.ndarray:
            return system @ x

    V = np.zeros(n_states) if V0 is None else np.array(V0, dtype=np.float64)
    relative = max(1e-12 * (1.0 - gamma), 64.0 * np.finfo(np.float64).eps)
    for _ in range(_KRYLOV_ROUNDS + 1):
        limit = relative * max(1.0, float(np.abs(V).max()))
        if float(np.abs(R_pi - apply(V)).max()) <= limit:
            return V, True
        V = _bicgstab(apply, R_pi, V, limit / 4.0, _KRYLOV_MAX_ITERATIONS)
        if not np.all(np.isfinite(V)):
            return V, False
    return V, False


def _evaluate(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float,
    V0: np.ndarray | None = None,
    compiled: bool = False,
    krylov: bool | None = None,
) -> np.ndarray:
    """``V^π``: sparse LU on small models, warm-started Krylov on large ones.

    ``krylov=None`` picks Krylov above :data:`_DIRECT_SOLVE_MAX_STATES`
    states or with the compiled kernels. Should it miss its residual check,
    small models get the LU solve instead; large ones (where LU would fill
    in) keep the best Krylov iterate, with a :class:`ConvergenceWarning`.
    """
    if krylov is None:
        krylov = compiled or mdp.n_states > _DIRECT_SOLVE_MAX_STATES
    if krylov:
        V, ok = _solve_krylov(mdp, policy, gamma, V0, compiled)
        if ok:
            return V
        if mdp.n_states > _DIRECT_SOLVE_MAX_STATES and np.all(np.isfinite(V)):
            warnings.warn(
                "policy evaluation: BiCGSTAB did not bring the residual of "
                "(I - gamma P_pi) V = R_pi down to float64 rounding; V is its best "
                "iterate (pass method='iterative' for sweeps with a guaranteed tolerance)",
                ConvergenceWarning,
                stacklevel=3,
            )
            return V
    elif policy.ndim == 1 and mdp.n_states <= _DENSE_SOLVE_MAX_STATES:
        return _solve_dense(mdp, policy, gamma)
    P_pi, R_pi = policy_model(mdp, policy)
    return _solve_exact(P_pi, R_pi, gamma)


_DENSE_SOLVE_MAX_STATES = 128
"""Up to this many states a dense LU solve (LAPACK) beats SciPy's sparse overhead."""


def _solve_dense(mdp: TabularMDP, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Solve ``(I − γ P_π) V = R_π`` for a deterministic ``π`` as a dense system.

    ``P_π`` is gathered straight from the outcome arrays of the rows
    ``s*A + π(s)`` (terminating outcomes left out, repeated next states
    summed): tens of microseconds for FrozenLake, where building and
    factorising the sparse system costs hundreds.
    """
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


def policy_evaluation(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float,
    *,
    method: str = "exact",
    tol: float = 1e-10,
    max_iterations: int = 100_000,
) -> np.ndarray:
    r"""The value of a policy, from the Bellman expectation equation.

    ``V^π(s) = Σ_a π(a|s) Σ_s' P(s'|s,a)[R(s,a,s') + γ V^π(s')]``, i.e.
    ``(I − γ P_π) V^π = R_π``.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic ``(S,)`` int or stochastic ``(S, A)`` float ``π(a|s)``.
    gamma : float
        Discount in [0, 1]. At 1 the policy must terminate with probability 1
        from every state.
    method : {"exact", "iterative", "krylov"}
        ``"exact"`` solves the linear system with a sparse LU factorisation
        (dense for deterministic policies up to 128 states) up to 600 states
        and, beyond (where LU fills in on unstructured models: 155 s for a
        10,000-state Garnet), with ``"krylov"``: BiCGSTAB run until
        ``‖R_π − (I − γ P_π) V‖∞ ≤ 10⁻¹² (1−γ) ‖V‖∞`` (so
        ``‖V − V^π‖∞ ≤ 10⁻¹² ‖V‖∞``; a few units of float64 rounding at
        γ = 1), falling back to LU should it not get there (on large models:
        its best iterate, with a :class:`ConvergenceWarning`);
        ``"iterative"`` sweeps ``V ← T_π V`` synchronously from ``V = 0``
        until ``‖V_{k+1} − V_k‖∞ < tol (1−γ)/γ`` (then ``‖V − V^π‖∞ < tol``;
        at γ = 1, until the change is below ``tol``). Capped at
        ``max_iterations = k`` it returns the k-th sweep ``T_π^k 0`` (with a
        :class:`ConvergenceWarning`), e.g. Sutton & Barto's Figure 4.1 iterates.
    tol : float
        Tolerance of the iterative method.
    max_iterations : int
        Sweep cap of the iterative method.

    Returns
    -------
    numpy.ndarray
        ``[S]`` float64 ``V^π``.

    Raises
    ------
    ValueError
        Bad policy, gamma, tol, max_iterations or method.
    NonTerminatingPolicyError
        At γ = 1, if the policy does not terminate from some states (named).

    References
    ----------
    Sutton & Barto (2018), eq. (4.5) and §4.1; Puterman (1994), Thm 6.1.1.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1.0], [2.0]])
    >>> policy_evaluation(mdp, [0, 0], 0.5)
    array([2., 4.])
    """
    policy = check_policy(mdp, policy)
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    if method not in ("exact", "iterative", "krylov"):
        raise ValueError(f"method must be 'exact', 'iterative' or 'krylov', got {method!r}")
    if gamma == 1.0:
        _raise_if_nonterminating(mdp, policy)
    if method != "iterative":
        compiled = policy.ndim == 1 and kernels.uses_kernel(mdp)
        return _evaluate(mdp, policy, gamma, None, compiled, True if method == "krylov" else None)
    P_pi, R_pi = policy_model(mdp, policy)
    # The sup rule's ε/2 bound on V_{k+1} − V^π, with ε = 2·tol (γ < 1).
    rule = _StoppingRule(gamma, 2.0 * tol if gamma < 1.0 else tol, "sup")
    V = np.zeros(mdp.n_states)
    for _ in range(max_iterations):
        V_next = expectation_backup(P_pi, R_pi, V, gamma)
        stop, residual, V_next = rule.check(V_next, V_next - V)
        V = V_next
        if stop:
            return V
    _warn_cap("policy_evaluation", max_iterations, residual)
    return V


# ------------------------------------------------------------- value iteration
def value_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    V0: np.ndarray | None = None,
    stopping: str | None = None,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    method: str = "jacobi",
    backend: str = "auto",
) -> PlanningResult:
    r"""Value iteration: repeat ``V_{k+1} = T V_k`` until the stopping rule holds.

    ``(T V)(s) = max_a Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``, swept
    synchronously from ``V0`` (zeros by default).

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1]; 1 for episodic tasks.
    tol : float
        ``ε``: for γ < 1 the result satisfies ``‖V − V*‖∞ < ε/2`` and its
        greedy policy is ε-optimal, ``‖V^π − V*‖∞ < ε``.
    max_iterations : int
        Sweep cap, never overridden. Capped at ``k`` the result holds the
        k-th sweep ``T^k V0``, ``converged=False``, and a
        :class:`ConvergenceWarning` is issued.
    V0 : array_like, shape (S,), optional
        Initial values.
    stopping : {"span", "sup"}, optional
        The stopping rule (module docstring). Default ``"span"`` (with the
        MacQueen–Porteus correction) for γ < 1 and ``"sup"`` at γ = 1.
    callback : callable, optional
        ``callback(iteration, residual)`` after every iteration (progress bars).
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`) instead of
        raising ``KeyboardInterrupt``.
    method : {"jacobi", "gauss-seidel"}
        ``"jacobi"``: synchronous sweeps. ``"gauss-seidel"``: in-place sweeps
        in state order, each backup using the values already updated in that
        sweep (Puterman §6.3.3; needs numba, one core). When a Gauss–Seidel
        change meets the stopping rule, one Jacobi sweep ``T V`` follows and
        the rule is applied to *its* change: the result is that Jacobi
        sweep's, with exactly the guarantees above (else Gauss–Seidel goes
        on from ``T V``). Every sweep of either kind counts as an iteration.
    backend : {"auto", "numpy", "compiled"}
        Where the sweeps run (:mod:`rl_planners.kernels`): ``"auto"`` takes
        the fused compiled kernel on models of
        :data:`~rl_planners.kernels.KERNEL_MIN_OUTCOMES` outcomes or more.

    Returns
    -------
    PlanningResult
        ``residuals[k] = ‖V_{k+1} − V_k‖∞``; the policy is greedy w.r.t. ``V``
        (ties to the lowest index; at γ = 1 to actions that terminate, see
        :func:`rl_planners.bellman.greedy_policy`, with ties within ``tol``).

    References
    ----------
    Puterman (1994), Thm 6.3.1 and Prop. 6.6.5; Sutton & Barto (2018), §4.4.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]],
    ...                              [[0.0, 1.0], [0.0, 0.0]], terminal_states=[1])
    >>> result = value_iteration(mdp, 0.9)
    >>> result.V.round(6), result.policy
    (array([1., 0.]), array([1, 0]))
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    rule = _StoppingRule(gamma, tol, stopping, mdp)
    V = np.zeros(mdp.n_states) if V0 is None else check_values(mdp, V0, "V0")
    if method not in ("jacobi", "gauss-seidel"):
        raise ValueError(f"method must be 'jacobi' or 'gauss-seidel', got {method!r}")
    if method == "gauss-seidel" and backend == "numpy":
        raise ValueError("method='gauss-seidel' needs the compiled kernels, not backend='numpy'")
    compiled = kernels.uses_kernel(mdp, "compiled" if method == "gauss-seidel" else backend)
    model = kernels.prepare(mdp) if compiled else None
    spare = np.empty_like(V) if compiled else None
    certify = False  # Gauss–Seidel: the last sweep met the rule; a Jacobi sweep checks

    def sweep() -> tuple[bool, float]:
        nonlocal V, spare, certify
        if not compiled:
            V_next = optimality_backup(mdp, V, gamma, backend="numpy")
            stop, residual, V = rule.check(V_next, V_next - V)
            return stop, residual
        if method == "gauss-seidel" and not certify:
            stats = kernels.gauss_seidel_sweep(model, V, gamma)
            certify, residual, _ = rule.decide(V, stats.high, stats.low, stats.top)
            return False, residual
        stats = kernels.jacobi_sweep(model, V, gamma, spare)
        V, spare = spare, V
        certify = False
        stop, residual, V = rule.decide(V, stats.high, stats.low, stats.top)
        return stop, residual

    residuals, converged = _iterate(
        "value_iteration", sweep, max_iterations, callback, interruptible
    )
    tie_atol = tol if gamma == 1.0 else None
    backend = "compiled" if compiled else "numpy"
    return _result(
        mdp, V, gamma, None, len(residuals), converged, residuals, start, tie_atol, backend
    )


# ------------------------------------------------------------ policy iteration
def _initial_policy(mdp: TabularMDP, gamma: float) -> np.ndarray:
    """Greedy on immediate reward (γ < 1); at γ = 1 a policy that terminates."""
    if gamma < 1.0:
        return greedy_policy(mdp, np.asarray(mdp.R), gamma)
    allowed = np.ones((mdp.n_states, mdp.n_actions), dtype=bool)
    policy, terminates = terminating_choice(mdp, allowed)
    if not terminates.all():
        stuck = np.flatnonzero(~terminates)
        shown = ", ".join(map(str, stuck[:10])) + (" ..." if stuck.size > 10 else "")
        raise NonTerminatingPolicyError(
            f"at gamma = 1 no policy terminates (with probability 1) from {stuck.size} "
            f"state(s): {shown}, so policy iteration cannot evaluate any policy there. "
            "Use gamma < 1, or value_iteration, which handles such states.",
            stuck,
        )
    return policy


def policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    max_iterations: int = 1_000,
    policy0: np.ndarray | None = None,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    backend: str = "auto",
) -> PlanningResult:
    r"""Policy iteration: exact evaluation, then greedy improvement, until stable.

    Evaluate ``V^{π_k}`` exactly (:func:`policy_evaluation`; on large models
    BiCGSTAB warm-started from ``V^{π_{k-1}}``, so later evaluations, whose
    policies differ in few states, take few iterations), compute
    ``Q^{π_k}``, and set ``π_{k+1}(s) = argmax_a Q^{π_k}(s,a)`` *only where it
    improves strictly* on ``Q^{π_k}(s, π_k(s))`` (beyond float64 rounding);
    elsewhere keep ``π_k(s)``. So ties cannot make it cycle, and it stops at
    the first policy that no state can improve: an optimal one.

    At γ = 1 the default initial policy terminates from every state (it moves
    towards termination), and strict improvement keeps it so whenever ``V*``
    is finite: a closed loop that never terminates would need every one of
    its states to have improved strictly on a terminating policy with zero
    reward around the loop, which cannot happen.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1].
    max_iterations : int
        Cap on improvement steps, never overridden.
    policy0 : array_like of int, shape (S,), optional
        Initial deterministic policy. Default: greedy on the immediate reward
        for γ < 1; at γ = 1 one that terminates from every state.
    callback : callable, optional
        ``callback(iteration, residual)`` after every iteration (progress bars).
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`) instead of
        raising ``KeyboardInterrupt``.
    backend : {"auto", "numpy", "compiled"}
        As in :func:`value_iteration`; the compiled kernels also do the
        Krylov solve's products ``(I − γ P_π) x``.

    Returns
    -------
    PlanningResult
        ``V = V^π`` of the final policy, ``iterations`` = evaluations, and
        ``residuals[k] = ‖T V^{π_k} − V^{π_k}‖∞``.

    Raises
    ------
    NonTerminatingPolicyError
        At γ = 1, if ``policy0`` does not terminate, if no policy terminates
        from some states, or if never terminating earns more than any
        terminating policy (a zero-reward loop beats negative-reward endings).

    References
    ----------
    Puterman (1994), §6.4; Sutton & Barto (2018), §4.3.
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    max_iterations = check_max_iterations(max_iterations)
    if policy0 is None:
        policy = _initial_policy(mdp, gamma)
    else:
        policy = check_policy(mdp, policy0)
        if policy.ndim != 1:
            raise ValueError(
                f"policy0 must be deterministic, shape (S,) of actions; got shape {policy.shape}"
            )
    states = np.arange(mdp.n_states)
    compiled = kernels.uses_kernel(mdp, backend)
    backend = "compiled" if compiled else "numpy"

    def evaluate(V_previous: np.ndarray | None) -> np.ndarray:
        if gamma == 1.0:
            _raise_if_nonterminating(mdp, policy)
        return _evaluate(mdp, policy, gamma, V_previous, compiled)

    V = evaluate(None)

    def improve() -> tuple[bool, float]:
        nonlocal V, policy
        Q = _q(mdp, V, gamma, backend)
        best = np.argmax(Q, axis=1)
        residual = float(np.abs(Q[states, best] - V).max())
        improves = Q[states, best] - Q[states, policy] > tie_tolerance(Q)
        if not improves.any():
            return True, residual
        policy = np.where(improves, best, policy)
        V = evaluate(V)
        return False, residual

    residuals, converged = _iterate(
        "policy_iteration", improve, max_iterations, callback, interruptible
    )
    if gamma == 1.0 and converged:
        _raise_if_never_ending_pays(mdp, V, _q(mdp, V, gamma, backend))
    return _result(
        mdp, V, gamma, policy, len(residuals), converged, residuals, start, None, backend
    )


def _raise_if_never_ending_pays(mdp: TabularMDP, V: np.ndarray, Q: np.ndarray) -> None:
    """At γ = 1, refuse a terminating policy that a never-ending one beats.

    Policy iteration at γ = 1 stays among policies that terminate. If actions
    as good as the policy's (``Q(s,a) ≥ V(s)``) can keep the episode going
    forever from a state whose value is negative, the rewards along such a
    loop add up to ``V(s) − V(s_n)``, more than ``V(s)``: never ending beats
    every terminating policy, and the task is not episodic.
    """
    atol = tie_tolerance(Q)
    endless = endless_states(mdp, Q >= V[:, None] - atol)
    losing = np.flatnonzero(endless & (V < -atol))
    if losing.size:
        shown = ", ".join(map(str, losing[:10])) + (" ..." if losing.size > 10 else "")
        raise NonTerminatingPolicyError(
            f"at gamma = 1 never ending the episode earns more than any policy that ends "
            f"it from {losing.size} state(s): {shown} (their best terminating value is "
            f"negative, and a zero-sum loop of equally good actions avoids it), so the task "
            "is not episodic and policy iteration's answer would not be optimal. Use "
            "value_iteration, which values such loops by their rewards, or gamma < 1.",
            losing,
        )


def modified_policy_iteration(
    mdp: TabularMDP,
    gamma: float,
    *,
    m: int = 20,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    V0: np.ndarray | None = None,
    stopping: str | None = None,
    callback: IterationCallback | None = None,
    interruptible: bool = False,
    backend: str = "auto",
) -> PlanningResult:
    r"""Modified policy iteration: greedy step, then ``m`` partial evaluation sweeps.

    From ``V_k``: ``π_k`` greedy w.r.t. ``V_k``; ``V_{k+1} = T_{π_k}^{m+1} V_k``
    (the first sweep is ``T V_k``). The stopping rule is value iteration's,
    applied to ``d = T V_k − V_k``, with the same guarantees: for γ < 1,
    ``‖V − V*‖∞ < tol/2`` and an ε-optimal greedy policy. ``m = 0`` is value
    iteration; ``m → ∞`` is policy iteration.

    Parameters
    ----------
    mdp : TabularMDP
    gamma : float
        Discount in [0, 1].
    m : int
        Partial evaluation sweeps per improvement, ``m ≥ 0``.
    tol : float
        ``ε`` of the stopping rule.
    max_iterations : int
        Cap on improvement steps, never overridden.
    V0 : array_like, shape (S,), optional
        Default ``min(0, min R)/(1−γ)`` everywhere for γ < 1 (then
        ``T V0 ≥ V0`` and the iterates increase monotonically to ``V*``,
        Puterman Thm 6.5.5), zeros at γ = 1.
    stopping : {"span", "sup"}, optional
        As in :func:`value_iteration`.
    callback : callable, optional
        ``callback(iteration, residual)`` after every iteration (progress bars).
    interruptible : bool
        If true, Ctrl-C ends the solve early and returns the last iterate
        with ``converged=False`` (and a :class:`ConvergenceWarning`) instead of
        raising ``KeyboardInterrupt``.
    backend : {"auto", "numpy", "compiled"}
        As in :func:`value_iteration`.

    Returns
    -------
    PlanningResult
        ``residuals[k] = ‖T V_k − V_k‖∞``.

    References
    ----------
    Puterman (1994), §6.5.
    """
    start = time.perf_counter()
    gamma = check_gamma(gamma)
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 0:
        raise ValueError(f"m (partial evaluation sweeps) must be an int >= 0, got {m!r}")
    rule = _StoppingRule(gamma, tol, stopping, mdp)
    if V0 is not None:
        V = check_values(mdp, V0, "V0")
    elif gamma < 1.0:
        V = np.full(mdp.n_states, min(0.0, float(mdp.R.min())) / (1.0 - gamma))
    else:
        V = np.zeros(mdp.n_states)

    compiled = kernels.uses_kernel(mdp, backend)
    backend = "compiled" if compiled else "numpy"
    model = kernels.prepare(mdp) if compiled else None

    def improve_and_evaluate() -> tuple[bool, float]:
        nonlocal V
        Q = _q(mdp, V, gamma, backend)
        V_next = Q.max(axis=1)
        stop, residual, V = rule.check(V_next, V_next - V)
        if stop or m == 0:
            return stop, residual
        if compiled:
            policy, spare = np.argmax(Q, axis=1), np.empty_like(V)
            for _ in range(m):
                kernels.policy_apply(model, policy, V, alpha=0.0, beta=1.0, g=gamma, out=spare)
                V, spare = spare, V
        else:
            P_pi, R_pi = policy_model(mdp, np.argmax(Q, axis=1))
            for _ in range(m):
                V = expectation_backup(P_pi, R_pi, V, gamma)
        return stop, residual

    residuals, converged = _iterate(
        "modified_policy_iteration", improve_and_evaluate, max_iterations, callback, interruptible
    )
    tie_atol = tol if gamma == 1.0 else None
    return _result(
        mdp, V, gamma, None, len(residuals), converged, residuals, start, tie_atol, backend
    )
