r"""Occupancy measures: how often a policy visits each state-action pair.

For a policy ``π`` started from the model's initial distribution ``μ0``, let
``Pr_t(s, a) = Pr(s_t = s, a_t = a | s_0 ~ μ0, π)`` be the probability that
the episode is still running at step ``t`` and takes ``a`` in ``s``. A
terminating outcome ends the episode, so ``Σ_{s,a} Pr_t(s, a)`` is the
probability that the episode is still running at ``t``, which is less than 1
once outcomes may terminate. With ``P_π(s'|s) = Σ_a π(a|s) P_cont(s'|s, a)``
(continuation only, see :func:`rl_planners.bellman.policy_model`):

.. math::

    d_0 = μ_0, \qquad d_{t+1} = P_π^\top d_t, \qquad Pr_t(s, a) = d_t(s)\, π(a|s).

The measures of this module weight the steps and sum them (``normalize=False``):

- discounted, ``γ < 1``: ``d(s,a) = (1−γ) Σ_{t≥0} γ^t Pr_t(s,a)``, total ``1 − E[γ^T]``;
- undiscounted, ``γ = 1``: the expected visit counts ``n(s,a) = Σ_{t≥0} Pr_t(s,a)``,
  total ``E[T]``;
- horizon ``H``: ``n_H(s,a) = Σ_{t<H} γ^t Pr_t(s,a)``, total ``E[Σ_{t<min(T,H)} γ^t]``;

with ``T`` the number of steps until the episode terminates. With
``normalize=True`` (the default) each is divided by its total, so the result
is a probability distribution over ``(s, a)``: the distribution of the pair
at a step drawn with weight ``γ^t`` from the steps the episode runs.

The unnormalised forms are the ones of the linear programs and of the value
identities (Puterman 1994, §6.9):

.. math::

    μ_0 \cdot V^π = \frac{1}{1 − γ} \sum_{s,a} d(s, a) R(s, a), \qquad
    μ_0 \cdot V^π_H = \sum_{s,a} n_H(s, a) R(s, a),

and ``d`` satisfies the flow constraints of the dual LP,
``Σ_a d(s',a) − γ Σ_{s,a} P_cont(s'|s,a) d(s,a) = (1−γ) μ0(s')``.

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
   Programming*, Wiley, 1994, §6.9 (the dual LP and its occupancy variables).
.. [2] E. Altman, *Constrained Markov Decision Processes*, Chapman & Hall,
   1999, ch. 3 (occupation measures).
.. [3] J. G. Kemeny and J. L. Snell, *Finite Markov Chains*, Van Nostrand,
   1960, §3.2 (the fundamental matrix ``N = (I − Q)^{-1}`` of an absorbing
   chain and expected visit counts).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import policy_model
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.mdp import TabularMDP
from rl_planners.validation import check_gamma, check_int, check_policy

__all__ = ["occupancy", "occupancy_per_step"]


def occupancy(
    mdp: TabularMDP,
    policy: np.ndarray,
    gamma: float | None = None,
    horizon: int | None = None,
    *,
    normalize: bool = True,
) -> np.ndarray:
    r"""The occupancy measure of a policy over state-action pairs, exactly.

    Parameters
    ----------
    mdp : TabularMDP
        The model; episodes start from ``mdp.initial_distribution`` (``μ0``).
    policy : array_like
        Deterministic ``(S,)`` int actions or stochastic ``(S, A)`` float
        ``π(a|s)``.
    gamma : float, optional
        Discount factor in ``[0, 1]``. Required without ``horizon``; with a
        ``horizon`` it defaults to 1.
    horizon : int, optional
        ``H ≥ 1``: count only the first ``H`` steps (an episode cut off after
        ``H`` steps, as Gymnasium's ``TimeLimit`` does).
    normalize : bool, default True
        Divide by the total so that the result sums to 1. ``False`` gives the
        unnormalised measure of the table in the module docstring: the
        variables of the dual LP (``γ < 1``), the expected visit counts
        (``γ = 1``), or the discounted visit counts within the horizon.

    Returns
    -------
    numpy.ndarray
        ``[S, A]`` float64, non-negative.

    Raises
    ------
    ValueError
        Neither ``gamma`` nor ``horizon`` given; ``gamma`` outside ``[0, 1]``;
        ``horizon`` below 1; a bad policy (the state is named).
    TypeError
        ``gamma`` not a real number, ``horizon`` not an int, ``normalize`` not
        a bool.
    NonTerminatingPolicyError
        ``γ = 1`` without a horizon and the policy, from ``μ0``, reaches states
        from which it never terminates (their indices are in ``.states``):
        the expected visit counts are infinite there.

    Notes
    -----
    - ``γ < 1``: one sparse solve ``(I − γ P_π)^\top d_S = (1 − γ) μ0``, then
      ``d(s, a) = d_S(s) π(a|s)``. It sums to ``1 − E[γ^T]`` (1 when no
      outcome terminates); normalised, it is divided by that.
    - ``γ = 1``: expected visit counts from the fundamental matrix of the
      absorbing chain, ``n_S = μ0^\top (I − P_π)^{-1}``, solved on the states
      reachable from ``μ0`` only (a state never reached has ``n = 0`` whatever
      the policy does there). It sums to ``E[T]``, the expected episode
      length; normalised, it is divided by that.
    - ``horizon = H``: ``Σ_{t<H} γ^t Pr_t`` from :func:`occupancy_per_step`
      (``H`` sparse products).

    Guarantee: the identities of the module docstring hold to float64
    rounding of the solve, e.g. ``μ0 · V^π = Σ d R / (1 − γ)``.

    References
    ----------
    Puterman (1994), §6.9; Kemeny & Snell (1960), §3.2.

    Examples
    --------
    One state; the only action earns 1 and ends the episode with probability 1/2:

    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(0.5, 0, 1.0, False), (0.5, 0, 1.0, True)]}})
    >>> occupancy(mdp, [0], gamma=1.0, normalize=False)  # E[T] = 2 visits
    array([[2.]])
    >>> occupancy(mdp, [0], gamma=0.5, normalize=False)  # (1-γ)/(1-γ/2) = 2/3
    array([[0.66666667]])
    """
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    policy = check_policy(mdp, policy)
    if horizon is not None:
        horizon = check_int(horizon, "horizon", 1, "a number of steps")
        gamma = 1.0 if gamma is None else check_gamma(gamma)
        weights = gamma ** np.arange(horizon)  # [H]
        measure = np.tensordot(weights, occupancy_per_step(mdp, policy, horizon), axes=1)
    elif gamma is None:
        raise ValueError(
            "occupancy needs gamma (infinite horizon, discounted for gamma < 1 or "
            "expected visit counts for gamma = 1) or horizon (the first H steps); got neither"
        )
    else:
        gamma = check_gamma(gamma)
        P_pi, _ = policy_model(mdp, policy)  # [S, S]
        initial = np.asarray(mdp.initial_distribution, dtype=np.float64)  # [S]
        if gamma < 1.0:
            d_S = _solve_transposed(P_pi, (1.0 - gamma) * initial, gamma)
        else:
            d_S = _visit_counts(mdp, policy, P_pi, initial)
        measure = d_S[:, np.newaxis] * _as_probabilities(mdp, policy)  # [S, A]
    if normalize:
        measure = measure / measure.sum()
    return measure


def occupancy_per_step(mdp: TabularMDP, policy: np.ndarray, horizon: int) -> np.ndarray:
    r"""Per-step visitation ``Pr(s_t = s, a_t = a)`` for ``t = 0, …, H−1``.

    .. math::

        d_0 = μ_0, \quad d_{t+1} = P_π^\top d_t, \quad
        \text{result}[t, s, a] = d_t(s)\, π(a|s).

    Parameters
    ----------
    mdp : TabularMDP
        The model; episodes start from ``mdp.initial_distribution``.
    policy : array_like
        Deterministic ``(S,)`` int or stochastic ``(S, A)`` float.
    horizon : int
        ``H ≥ 0``, the number of steps.

    Returns
    -------
    numpy.ndarray
        ``[H, S, A]`` float64. ``result[t].sum()`` is the probability that the
        episode is still running at step ``t`` (1 at ``t = 0``, non-increasing;
        it falls as outcomes terminate). ``result.sum(axis=0)`` is the
        expected number of visits within ``H`` steps, and ``result.mean(axis=0)``
        the average over the steps; :func:`occupancy` with ``horizon=H`` gives
        the ``γ^t``-weighted sum, normalised or not.

    Raises
    ------
    ValueError
        A negative ``horizon`` or a bad policy (the state is named).
    TypeError
        ``horizon`` not an int.

    References
    ----------
    Puterman (1994), §4.2 (the state process of a fixed policy).

    Examples
    --------
    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(0.5, 0, 1.0, False), (0.5, 0, 1.0, True)]}})
    >>> occupancy_per_step(mdp, [0], horizon=3)[:, 0, 0]
    array([1.  , 0.5 , 0.25])
    """
    policy = check_policy(mdp, policy)
    horizon = check_int(horizon, "horizon", 0, "a number of steps")
    P_pi_T = policy_model(mdp, policy)[0].T.tocsr()  # [S, S]
    pi = _as_probabilities(mdp, policy)  # [S, A]
    running = np.asarray(mdp.initial_distribution, dtype=np.float64)  # [S]
    per_step = np.empty((horizon, mdp.n_states, mdp.n_actions))  # [H, S, A]
    for t in range(horizon):
        per_step[t] = running[:, np.newaxis] * pi
        running = P_pi_T @ running
    return per_step


# ---------------------------------------------------------------- helpers
def _as_probabilities(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """``[S, A]`` ``π(a|s)`` of a checked policy (one-hot rows for actions)."""
    if policy.ndim == 2:
        return policy
    pi = np.zeros((mdp.n_states, mdp.n_actions))
    pi[np.arange(mdp.n_states), policy] = 1.0
    return pi


def _solve_transposed(P_pi: sp.csr_matrix, rhs: np.ndarray, gamma: float) -> np.ndarray:
    """Solve ``(I − γ P_π)^T x = rhs`` with a sparse LU factorisation."""
    import scipy.sparse.linalg as spla  # imported on first use: it loads scipy.linalg

    n_states = rhs.shape[0]
    system = (sp.identity(n_states, format="csc") - gamma * P_pi.T).tocsc()
    x = np.atleast_1d(np.asarray(spla.spsolve(system, rhs), dtype=np.float64))
    if not np.all(np.isfinite(x)):
        raise np.linalg.LinAlgError("the occupancy solve (I - gamma P_pi)^T d = rhs is singular")
    # Exact values are >= 0; the solve may leave rounding-level negatives.
    return np.maximum(x, 0.0)


def _visit_counts(
    mdp: TabularMDP, policy: np.ndarray, P_pi: sp.csr_matrix, initial: np.ndarray
) -> np.ndarray:
    """Expected visits ``n_S = μ0^T (I − P_π)^{-1}``, on the states reached from ``μ0``.

    In the graph of ``P_π`` (an edge where the probability is positive) plus
    an exit node (an edge from every state where the policy may terminate),
    the episode terminates almost surely from ``μ0`` iff every state
    reachable from ``μ0`` can reach the exit; then ``I − P_π`` restricted to
    those states is non-singular (Kemeny & Snell 1960, Thm 3.2.1).
    """
    from scipy.sparse import csgraph  # on first use: it loads scipy.sparse.linalg

    n_states = mdp.n_states
    pi = _as_probabilities(mdp, policy)
    may_end = ((pi * mdp.termination_probability) > 0.0).any(axis=1)  # [S]
    edges = P_pi.tocoo()
    positive = edges.data > 0.0
    source_node, exit_node = n_states, n_states + 1
    rows = np.concatenate(
        [edges.row[positive], np.full(np.count_nonzero(initial > 0), source_node)]
    )
    cols = np.concatenate([edges.col[positive], np.flatnonzero(initial > 0)])
    rows = np.concatenate([rows, np.flatnonzero(may_end)])
    cols = np.concatenate([cols, np.full(np.count_nonzero(may_end), exit_node)])
    graph = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n_states + 2, n_states + 2)
    )
    reached = np.zeros(n_states + 2, dtype=bool)
    reached[csgraph.breadth_first_order(graph, source_node, return_predecessors=False)] = True
    ends = np.zeros(n_states + 2, dtype=bool)
    ends[csgraph.breadth_first_order(graph.T.tocsr(), exit_node, return_predecessors=False)] = True
    reached, ends = reached[:n_states], ends[:n_states]
    stuck = np.flatnonzero(reached & ~ends)
    if stuck.size:
        shown = ", ".join(map(str, stuck[:10])) + (" ..." if stuck.size > 10 else "")
        raise NonTerminatingPolicyError(
            f"at gamma = 1 the policy reaches, from the initial distribution, {stuck.size} "
            f"state(s) from which it never terminates: {shown}; their expected visit "
            "counts are infinite. Use gamma < 1, a horizon, or a policy that reaches a "
            "terminating outcome from every state it visits.",
            stuck,
        )
    counts = np.zeros(n_states)
    states = np.flatnonzero(reached)
    restricted = P_pi[states][:, states]
    counts[states] = _solve_transposed(restricted, initial[states], 1.0)
    return counts
