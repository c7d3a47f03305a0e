"""The optimal values of a discounted MDP as a linear program.

For ``0 ≤ γ < 1``, ``V*`` is the unique solution of the primal LP
(Puterman 1994, §6.9; d'Epenoux 1963)

.. math::

    \\min_V \\; \\sum_s d(s) V(s) \\quad \\text{s.t.} \\quad
    V(s) \\ge R(s, a) + γ \\sum_{s'} P_{\\text{cont}}(s'|s, a) V(s')
    \\quad \\forall (s, a),

for any state weights ``d > 0``. The constraints say ``V ≥ T V`` (``T`` the
Bellman optimality operator); since ``T`` is monotone and a γ-contraction,
every feasible ``V`` satisfies ``V ≥ T^k V → V*``, and ``V*`` itself is
feasible, so ``V*`` is the componentwise least feasible point and minimises
``d · V`` whatever ``d > 0`` is. ``P_cont`` is the continuation matrix of
:class:`~rl_planners.mdp.TabularMDP`: a terminating outcome adds its reward
and no future value.

In matrix form, with ``E`` the ``(S·A, S)`` matrix mapping row ``s·A + a`` to
state ``s``, the constraints are ``(γ P_cont − E) V ≤ −R``: ``S·A`` sparse
rows, solved by HiGHS through :func:`scipy.optimize.linprog`.

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
   Programming*, Wiley, 1994, §6.9 (linear programming).
.. [2] F. d'Epenoux, "A probabilistic production and inventory problem",
   *Management Science* 10(1), 1963.
.. [3] Q. Huangfu and J. A. J. Hall, "Parallelizing the dual revised simplex
   method", *Mathematical Programming Computation* 10, 2018 (HiGHS).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import greedy_policy, q_from_v
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult
from rl_planners.validation import check_gamma

__all__ = ["linear_programming"]

_HIGHS_OPTIONS = {
    "primal_feasibility_tolerance": 1e-9,
    "dual_feasibility_tolerance": 1e-9,
}
"""HiGHS options: feasibility tolerances tightened from the default 1e-7."""


def linear_programming(mdp: TabularMDP, gamma: float) -> PlanningResult:
    """Optimal values by solving the primal linear program with HiGHS.

    Solves

    .. math::

        \\min_V \\; \\sum_s d(s) V(s) \\quad \\text{s.t.} \\quad
        V(s) \\ge R(s, a) + γ \\sum_{s'} P_{\\text{cont}}(s'|s, a) V(s')
        \\quad \\forall (s, a),

    whose unique solution for ``γ < 1`` is ``V*``, the fixed point of the
    Bellman optimality equation ``V*(s) = max_a Q*(s, a)``. The state
    weights are uniform, ``d(s) = 1/S``: any ``d > 0`` has the same
    minimiser (see the module docstring), and uniform weights keep every
    state in the objective even where the initial distribution is 0.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    gamma : float
        Discount factor in ``[0, 1)``.

    Returns
    -------
    PlanningResult
        ``V`` the LP solution; ``Q = R + γ P_cont V``; ``policy`` greedy in
        ``Q`` (lowest action index among ties); ``iterations`` the HiGHS
        iteration count (simplex or interior-point iterations, at least 1);
        ``converged`` True (a failed solve raises instead);
        ``residuals`` one entry, the Bellman residual ``‖T V − V‖∞``;
        ``gamma``; ``wall_time`` (building the LP and solving it).

    Raises
    ------
    ValueError
        If ``gamma`` is outside ``[0, 1)``. At ``γ = 1`` the LP is not
        well posed: ``V ≥ T V`` no longer forces ``V ≥ V*``, and a policy
        that never terminates (a zero-reward self-loop, say) leaves
        ``V(s) ≥ V(s)``, so the LP is unbounded or its solution is not
        ``V*``. Use ``value_iteration`` or ``policy_iteration`` there.
    TypeError
        If ``gamma`` is not a real number.
    RuntimeError
        If HiGHS does not report an optimal solution (numerical trouble,
        an internal limit); the message gives its status and message.

    Notes
    -----
    Simplex returns a vertex, where ``V`` solves ``(I − γ P_π) V = R_π`` for
    the basis policy ``π``, so ``V`` agrees with policy iteration to about
    float64 rounding (``≤ 1e-12`` on the toy_text maps). Memory is that of
    the sparse constraint matrix, ``nnz(P_cont) + S·A`` entries; no dense
    ``S·A × S`` matrix is formed.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, §6.9.

    Examples
    --------
    One state; action 0 earns 1 and stays, action 1 earns 5 and ends:

    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 0, 5.0, True)]}})
    >>> result = linear_programming(mdp, gamma=0.9)
    >>> result.V.round(6), result.policy
    (array([10.]), array([0]))
    """
    gamma = check_gamma(gamma)
    if gamma >= 1.0:
        raise ValueError(
            "linear_programming needs gamma < 1, got gamma = 1: the constraints "
            "V >= T V only pin V down to V* when T is a contraction; at gamma = 1 a "
            "policy that never terminates makes the LP unbounded or degenerate. "
            "Use value_iteration or policy_iteration for undiscounted episodic tasks."
        )
    from scipy.optimize import linprog  # ~0.3 s to import: only when an LP is solved

    start = time.perf_counter()
    n_states, n_actions = mdp.n_states, mdp.n_actions
    n_rows = n_states * n_actions
    E = sp.csr_matrix(
        (np.ones(n_rows), np.arange(n_rows) // n_actions, np.arange(n_rows + 1)),
        shape=(n_rows, n_states),
    )  # [S*A, S], row s*A + a -> state s
    A_ub = (gamma * mdp.continuation - E).tocsr()  # [S*A, S]
    b_ub = -mdp.R.reshape(-1)  # [S*A]
    d = np.full(n_states, 1.0 / n_states)  # [S]
    solution = linprog(
        d,
        A_ub=A_ub,
        b_ub=b_ub,
        bounds=(None, None),
        method="highs",
        options=_HIGHS_OPTIONS,
    )
    if solution.status != 0 or solution.x is None:
        raise RuntimeError(
            f"HiGHS did not solve the LP for {mdp!r} at gamma={gamma}: status "
            f"{solution.status} ({solution.message}). Try value_iteration or "
            "policy_iteration, which do not depend on an LP solver."
        )
    V = np.asarray(solution.x, dtype=np.float64)  # [S]
    Q = q_from_v(mdp, V, gamma)  # [S, A]
    residual = float(np.max(np.abs(Q.max(axis=1) - V)))
    return PlanningResult(
        V=V,
        Q=Q,
        policy=greedy_policy(mdp, Q, gamma),
        iterations=max(1, int(getattr(solution, "nit", 1) or 1)),
        converged=True,
        residuals=np.array([residual]),
        gamma=gamma,
        wall_time=time.perf_counter() - start,
    )
