r"""Average-reward (gain-optimal) planning for continuing tasks: relative value iteration.

The average-reward criterion ranks a policy by its gain, the long-run reward
per step ``g^π(s) = lim_{N→∞} E[Σ_{t<N} r_t | s_0 = s] / N``. For a unichain
model (every policy has one closed class of recurrent states) the optimal
gain ``g*`` is the same from every state and, with a bias ``h``, solves the
average-reward optimality equation (Puterman 1994, §8.4)

.. math::

    g + h(s) = \max_a \Big[ R(s, a) + \sum_{s'} P(s'|s, a) h(s') \Big].

Relative value iteration (Puterman 1994, §8.5.5) sweeps ``w = T h_k`` and
renormalises, ``h_{k+1} = w − w(s_ref)``. With ``d = T h_k − h_k``, every
policy's gain and ``g*`` lie between ``min d`` and ``max d`` (Puterman 1994,
Thm 8.5.5 and Prop. 8.5.10), so the span ``sp(d) = max d − min d`` is the stop.

Aperiodicity transform. On a periodic chain ``sp(d)`` oscillates forever, so
the sweeps run on ``P̃ = (1 − α) P + α I`` with ``α = 1/2`` (Puterman 1994,
§8.5.4): every state then has a self-loop, the chains are aperiodic, and the
transformed model has the same gain and optimal policies, with bias
``h̃ = h / (1 − α)``. In terms of the library's one action-value formula,
``Q̃(s, a) = R(s, a) + (1 − α) Σ_s' P(s'|s, a) h̃(s') + α h̃(s)``: that is
:func:`~rl_planners.bellman.q_from_v` at discount ``1 − α`` plus ``α h̃(s)``.

Termination. The average reward of a task that ends is not defined (after
the end no reward accrues at all), so a model with a terminating outcome is
refused with a :class:`~rl_planners.errors.ModelError` naming the state and
action; model a restart explicitly (a transition back to the start) instead.

References
----------
Puterman, M. L. (1994). *Markov Decision Processes: Discrete Stochastic
Dynamic Programming*. Wiley. §8.4 (optimality equations), §8.5 (value
iteration, relative value iteration, the aperiodicity transformation),
§8.8 (linear programming), ch. 9 (multichain models).
White, D. J. (1963). Dynamic programming, Markov chains, and the method of
successive approximations. *J. Math. Anal. Appl.* 6, 373–376.
"""

from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import policy_model, q_from_v
from rl_planners.errors import ConvergenceWarning, ModelError
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.checks import read_only_copy
from rl_planners.validation import check_max_iterations, check_tol

__all__ = ["APERIODICITY", "AverageRewardResult", "relative_value_iteration"]

APERIODICITY = 0.5
"""``α`` of the aperiodicity transform ``P̃ = (1 − α) P + α I``."""


@dataclass(frozen=True, eq=False)
class AverageRewardResult:
    """What :func:`relative_value_iteration` returns.

    Attributes
    ----------
    gain : float
        ``g``, the optimal long-run reward per step: ``|g − g*| < tol/2``.
    bias : numpy.ndarray
        ``[S]`` relative values ``h`` of the original model, ``h(s_ref) = 0``.
        ``(g, h)`` solve the optimality equation to within ``tol/2`` in every
        state: ``|max_a [R(s,a) + Σ_s' P(s'|s,a) h(s')] − g − h(s)| < tol/2``.
    policy : numpy.ndarray
        ``[S]`` int64, greedy with respect to ``Q`` (lowest index among ties);
        its gain is within ``tol`` of ``g*``.
    Q : numpy.ndarray
        ``[S, A]`` relative action values ``Q(s,a) = R(s,a) − g + Σ_s'
        P(s'|s,a) h(s')``, so ``max_a Q(s,a) ≈ h(s)``.
    iterations : int
        Sweeps performed.
    converged : bool
        Whether ``sp(d) < tol`` was met before ``max_iterations``.
    residuals : numpy.ndarray
        ``[iterations]`` the span ``sp(d_k)`` of each sweep.
    wall_time : float
        Seconds spent in the solver.
    """

    gain: float
    bias: np.ndarray
    policy: np.ndarray = field(repr=False)
    Q: np.ndarray = field(repr=False)
    iterations: int
    converged: bool
    residuals: np.ndarray = field(repr=False)
    wall_time: float

    def __post_init__(self) -> None:
        for name in ("bias", "policy", "Q", "residuals"):
            object.__setattr__(self, name, read_only_copy(getattr(self, name)))


def _check_reference_state(mdp: TabularMDP, reference_state: Any) -> int:
    if isinstance(reference_state, bool) or not isinstance(reference_state, numbers.Integral):
        raise TypeError(f"reference_state must be a state index (int), got {reference_state!r}")
    if not 0 <= reference_state < mdp.n_states:
        raise ValueError(
            f"reference_state must lie in 0..{mdp.n_states - 1}, got {reference_state}"
        )
    return int(reference_state)


def _raise_if_terminating(mdp: TabularMDP) -> None:
    pairs = np.argwhere(mdp.termination_probability > 0.0)  # [k, 2]
    if pairs.size:
        state, action = pairs[0]
        raise ModelError(
            "average-reward planning needs a continuing task, but state "
            f"{state}, action {action} terminates with probability "
            f"{mdp.termination_probability[state, action]:.6g} ({len(pairs)} (state, action) "
            "pairs terminate in all); the long-run reward per step of a task that ends is "
            "not defined. Model the restart as a transition back to the start states, or "
            "plan with a discount (value_iteration) or a horizon (backward_induction)"
        )


def _transformed_q(mdp: TabularMDP, h: np.ndarray) -> np.ndarray:
    """``Q̃(s,a) = R(s,a) + (1 − α) Σ_s' P(s'|s,a) h(s') + α h(s)`` (module docstring)."""
    return q_from_v(mdp, h, 1.0 - APERIODICITY) + APERIODICITY * h[:, None]


def _greedy(Q: np.ndarray) -> np.ndarray:
    """``argmax_a Q(s,a)``, lowest index among actions within float64 rounding of the best."""
    atol = 1e-12 * max(1.0, float(np.abs(Q).max()))
    return np.argmax(Q >= Q.max(axis=1, keepdims=True) - atol, axis=1).astype(np.int64)


def _class_gains(mdp: TabularMDP, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The closed classes of a policy's chain and each one's gain.

    Returns ``labels [S]`` (the class of each state, ``-1`` for a transient
    state) and ``gains [n_classes]``, where a class's gain is ``μ · R_π``
    with ``μ`` its stationary distribution (the one solution of
    ``μ (I − P_C) = 0``, ``Σ μ = 1`` on an irreducible class ``C``).
    """
    import scipy.sparse.linalg as spla  # imported on first use: it loads scipy.linalg
    from scipy.sparse.csgraph import connected_components  # on first use

    P_pi, R_pi = policy_model(mdp, policy)
    graph = P_pi.copy()
    graph.data = (graph.data > 0).astype(np.float64)
    graph.eliminate_zeros()
    n_components, component = connected_components(graph, directed=True, connection="strong")
    # a component is closed when no edge leaves it
    rows = np.repeat(np.arange(mdp.n_states), np.diff(graph.indptr))
    leaves = component[rows] != component[graph.indices]
    open_components = np.unique(component[rows[leaves]])
    closed = np.setdiff1d(np.arange(n_components), open_components)
    labels = np.full(mdp.n_states, -1, dtype=np.int64)
    gains = np.empty(closed.size)
    for index, c in enumerate(closed):  # one linear solve per closed class
        members = np.flatnonzero(component == c)
        labels[members] = index
        P_class = P_pi[members][:, members]
        system = (sp.identity(members.size, format="csr") - P_class).T.tolil()
        system[-1, :] = np.ones(members.size)
        rhs = np.zeros(members.size)
        rhs[-1] = 1.0
        mu = np.atleast_1d(spla.spsolve(system.tocsc(), rhs))
        gains[index] = float(mu @ R_pi[members])
    return labels, gains


def _reach_maximum(mdp: TabularMDP, d: np.ndarray) -> np.ndarray:
    """``u(s) = max d(s')`` over the states ``s'`` reachable from ``s`` under any actions."""
    union = (mdp.continuation > 0).astype(np.float64)  # [S*A, S]
    rows = np.repeat(np.arange(mdp.n_states), mdp.n_actions)
    graph = (
        sp.csr_matrix(
            (np.ones(rows.size), (rows, np.arange(rows.size))),
            shape=(mdp.n_states, rows.size),
        )
        @ union
    )  # [S, S] edges s → s'
    graph = graph.tocsr()
    has_successor = np.diff(graph.indptr) > 0
    u = d.copy()
    for _ in range(mdp.n_states):  # the longest path has fewer than S edges
        neighbour_max = np.full(mdp.n_states, -np.inf)
        if graph.nnz:
            starts = graph.indptr[:-1][has_successor]
            neighbour_max[has_successor] = np.maximum.reduceat(u[graph.indices], starts)
        u_next = np.maximum(u, neighbour_max)
        if np.array_equal(u_next, u):
            break
        u = u_next
    return u


def _raise_if_gain_not_constant(
    mdp: TabularMDP, policy: np.ndarray, d: np.ndarray, tol: float
) -> None:
    """Raise where the iterates prove ``g*(i) > g*(j)`` for two states ``i, j``.

    Lower bounds: ``g*(s) ≥ g^π(s)``, the gain of the closed class of the
    greedy policy ``π`` that contains ``s``. Upper bounds: ``g*(s) ≤ max d``
    over the states reachable from ``s`` under any actions (that set is closed
    under every action, so the bound ``g^π ≤ P*_π d`` of every policy stays
    inside it). A lower bound above another state's upper bound (by more than
    ``tol``) proves the optimal gain is not constant.
    """
    labels, gains = _class_gains(mdp, policy)
    if gains.size < 2:
        return
    upper = _reach_maximum(mdp, d)  # [S]
    best_class = int(np.argmax(gains))
    low_state = int(np.argmin(upper))
    if gains[best_class] <= upper[low_state] + tol:
        return
    high_state = int(np.flatnonzero(labels == best_class)[0])
    low_label = labels[low_state]
    low_text = (
        f"state {low_state} (in another closed class of that policy, of gain "
        f"{gains[low_label]:.6g})"
        if low_label >= 0
        else f"state {low_state}"
    )
    raise ValueError(
        "the optimal gain is not constant across states (a multichain model): state "
        f"{high_state}, in a closed class of {int(np.sum(labels == best_class))} state(s) "
        f"under the greedy policy, earns {gains[best_class]:.6g} per step, while from "
        f"{low_text} no policy can earn more than {upper[low_state]:.6g} per step. "
        "relative_value_iteration needs a model whose optimal gain is the same from every "
        "state (e.g. unichain or communicating); solve the closed parts separately"
    )


def _raise_if_nonfinite(values: np.ndarray, iteration: int, n_states: int) -> None:
    """``values`` = ``d [S]``, ``h_next [S]`` and the span: each must be finite."""
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        where = f"state {bad[0] % n_states}" if bad[0] < 2 * n_states else "the span of d"
        raise ValueError(
            f"relative value iteration produced the non-finite value {values[bad[0]].item()!r} at "
            f"{where} (sweep {iteration}); the rewards are too large for float64: rescale them"
        )


def relative_value_iteration(
    mdp: TabularMDP,
    *,
    tol: float = 1e-8,
    max_iterations: int = 100_000,
    reference_state: int = 0,
) -> AverageRewardResult:
    r"""Gain-optimal planning by relative value iteration with the span stop.

    Sweeps ``w = T̃ h_k``, ``h_{k+1} = w − w(s_ref)`` from ``h_0 = 0``, with
    ``(T̃ h)(s) = max_a [R(s,a) + (1 − α) Σ_s' P(s'|s,a) h(s') + α h(s)]``,
    the aperiodicity-transformed operator (``α = 1/2``, module docstring).

    Parameters
    ----------
    mdp : TabularMDP
        A continuing model (no terminating outcome).
    tol : float
        ``ε``: stop when ``sp(d) = max d − min d < ε`` for ``d = T̃ h_k − h_k``.
    max_iterations : int
        Sweep cap, never overridden; hitting it sets ``converged=False`` and
        warns with :class:`ConvergenceWarning`.
    reference_state : int
        ``s_ref``, the state whose bias is pinned to 0.

    Returns
    -------
    AverageRewardResult
        ``gain = (max d + min d)/2``, ``bias`` ``h = (1 − α) h̃_k`` (the
        original model's scale, ``h(s_ref) = 0``), the greedy ``policy``,
        relative action values ``Q``, ``iterations``, ``converged``,
        ``residuals`` (``sp(d)`` per sweep), ``wall_time``.

    Raises
    ------
    ModelError
        A terminating outcome (the state and action are named).
    ValueError
        The optimal gain is not constant across states (a multichain model;
        two states and their gains are named); ``tol``, ``max_iterations`` or
        ``reference_state`` out of range.
    TypeError
        ``tol``, ``max_iterations`` or ``reference_state`` of the wrong type.

    Notes
    -----
    Guarantee. For any ``h``, with ``d = T̃ h − h`` and ``π`` greedy for
    ``h``: ``P_π h + r_π = h + d``, and multiplying by the limiting matrix
    ``P*_π`` gives ``g^π = P*_π d ≥ min d``; for any policy ``σ``,
    ``g^σ = P*_σ r_σ ≤ P*_σ d ≤ max d``. So ``min d ≤ g^π ≤ g* ≤ max d`` in
    every state, whatever the chain structure. Stopping at ``sp(d) < ε`` and
    reporting the midpoint gives ``|gain − g*| < ε/2`` and a policy with
    ``g* − g^π < ε``; the bias solves the optimality equation to within
    ``ε/2`` (see :class:`AverageRewardResult`).

    Constant-gain rule. A converged run proves ``sp(g*) < ε``. A model whose
    optimal gain differs between states never converges (``sp(d_k) →
    sp(g*) > 0``), so after 16, 32, 64, … sweeps and at the cap the solver
    checks the closed classes of the greedy policy ``π``
    (``scipy.sparse.csgraph.connected_components`` on the graph of ``P_π``,
    classes no edge leaves): ``g*(s) ≥ g_C`` on a class ``C`` of gain
    ``g_C``, and ``g*(s) ≤ max d`` over the states reachable from ``s``
    under any actions. If some class's gain exceeds another state's upper
    bound by more than ``ε``, the gain is provably not constant and a
    ``ValueError`` names both states. In a unichain model the greedy policy
    has one closed class, so this never fires.

    References
    ----------
    Puterman (1994), §8.5.4 (aperiodicity transformation), §8.5.5 (relative
    value iteration), Thm 8.5.5 and Prop. 8.5.10 (the bounds on ``g*``).

    Examples
    --------
    Two states that swap each step (a periodic chain), rewards 1 and 3:

    >>> mdp = TabularMDP.from_arrays([[[0.0, 1.0]], [[1.0, 0.0]]], [[1.0], [3.0]])
    >>> result = relative_value_iteration(mdp)
    >>> round(result.gain, 6), result.bias.round(6)
    (2.0, array([0., 1.]))
    """

    start = time.perf_counter()
    tol = check_tol(tol)
    max_iterations = check_max_iterations(max_iterations)
    reference_state = _check_reference_state(mdp, reference_state)
    _raise_if_terminating(mdp)

    h = np.zeros(mdp.n_states)  # [S] transformed bias h̃_k, h̃_k(s_ref) = 0
    residuals: list[float] = []
    converged = False
    next_check = 16
    for iteration in range(1, max_iterations + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            Q_transformed = _transformed_q(mdp, h)  # [S, A]
            w = Q_transformed.max(axis=1)  # [S]
            d = w - h
            span = float(d.max() - d.min())
            h_next = w - w[reference_state]
        _raise_if_nonfinite(np.concatenate([d, h_next, [span]]), iteration, mdp.n_states)
        residuals.append(span)
        if span < tol:
            converged = True
            break
        if iteration == max_iterations or iteration == next_check:
            _raise_if_gain_not_constant(mdp, _greedy(Q_transformed), d, tol)
            next_check *= 2
        if iteration < max_iterations:
            h = h_next
    if not converged:
        warnings.warn(
            f"relative_value_iteration stopped at max_iterations={max_iterations} before "
            f"the span of the change fell below tol (last span {residuals[-1]:.3g}); the "
            "result is not converged. Raise max_iterations or tol.",
            ConvergenceWarning,
            stacklevel=2,
        )
    gain = float(d.max() + d.min()) / 2.0
    bias = (1.0 - APERIODICITY) * h  # [S] original scale
    Q = q_from_v(mdp, bias, 1.0) - gain  # [S, A] relative action values
    return AverageRewardResult(
        gain=gain,
        bias=bias,
        policy=_greedy(Q_transformed),
        Q=Q,
        iterations=len(residuals),
        converged=converged,
        residuals=np.asarray(residuals, dtype=np.float64),
        wall_time=time.perf_counter() - start,
    )
