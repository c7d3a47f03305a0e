"""Which states end their episodes with probability 1, and how to make them.

At ``γ = 1`` a value is only defined where the episode terminates almost
surely. These graph computations (linear in the model's size, no Python loop
over states) answer two questions:

- :func:`nonterminating_states`: under a given policy, from which states does
  the episode fail to terminate with probability 1?
- :func:`terminating_choice`: given a set of allowed actions per state, pick
  one action per state so that the episode terminates with probability 1 from
  every state where that is possible (the almost-sure reachability region of
  the termination event).

The model's graph has an edge ``s → s'`` where an allowed action moves from
``s`` to ``s'`` with positive probability without terminating, and an edge
``s → EXIT`` where it terminates with positive probability.

References
----------
de Alfaro, L. (1997). *Formal Verification of Probabilistic Systems*, PhD
thesis, Stanford, §3 (almost-sure reachability in MDPs).
Bertsekas, D. P. & Tsitsiklis, J. N. (1991). An analysis of stochastic
shortest path problems. *Math. Oper. Res.* 16(3).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from rl_planners.mdp import TabularMDP

__all__ = ["endless_states", "nonterminating_states", "terminating_choice"]


def _reversed_graph(mdp: TabularMDP, used: np.ndarray, sink_states: np.ndarray | None = None):
    """Reversed state graph over the used (state, action) pairs.

    Nodes ``0..S-1`` are states, node ``S`` is EXIT (termination) and node
    ``S+1`` stands for ``sink_states`` (each of them gets an edge to it).
    Edge ``u → v`` of the result means ``v → u`` in the model.
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    C = mdp.continuation  # [S*A, S]
    row_of_entry = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    keep = used.reshape(-1)[row_of_entry]
    sources = [row_of_entry[keep] // n_actions]
    targets = [C.indices[keep]]
    ends = (mdp.termination_probability > 0) & used  # [S, A]
    sources.append(np.flatnonzero(ends.any(axis=1)))
    targets.append(np.full(sources[-1].size, n_states))
    if sink_states is not None:
        sources.append(sink_states)
        targets.append(np.full(sink_states.size, n_states + 1))
    sources, targets = np.concatenate(sources), np.concatenate(targets)
    n_nodes = n_states + 2
    return sp.csr_matrix(
        (np.ones(sources.size, dtype=np.int8), (targets, sources)),
        shape=(n_nodes, n_nodes),
    )


def _reaching(graph: sp.csr_matrix, node: int, n_states: int) -> np.ndarray:
    """``[S]`` bool: the states from which ``node`` can be reached."""
    from scipy.sparse import csgraph  # on first use: it loads scipy.sparse.linalg

    order = csgraph.breadth_first_order(graph, node, directed=True, return_predecessors=False)
    reached = np.zeros(graph.shape[0], dtype=bool)
    reached[order] = True
    return reached[:n_states]


def nonterminating_states(mdp: TabularMDP, policy: np.ndarray) -> np.ndarray:
    """States from which the policy does not terminate with probability 1.

    In the finite Markov chain the policy induces, the episode from ``s``
    ends almost surely iff every state reachable from ``s`` can still reach
    termination. So: ``stuck`` = states that cannot reach EXIT; the answer is
    every state that can reach ``stuck`` (``stuck`` included).

    Parameters
    ----------
    mdp : TabularMDP
    policy : numpy.ndarray
        A checked policy: int64 ``(S,)`` or float64 ``(S, A)``.

    Returns
    -------
    numpy.ndarray
        Sorted int64 state indices (empty when the policy is proper).
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    if policy.ndim == 1:
        used = np.zeros((n_states, n_actions), dtype=bool)
        used[np.arange(n_states), policy] = True
    else:
        used = policy > 0
    graph = _reversed_graph(mdp, used)
    stuck = np.flatnonzero(~_reaching(graph, n_states, n_states))
    if stuck.size == 0:
        return stuck
    graph = _reversed_graph(mdp, used, sink_states=stuck)
    return np.flatnonzero(_reaching(graph, n_states + 1, n_states))


def terminating_choice(mdp: TabularMDP, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Choose allowed actions that make the episode terminate almost surely.

    Computes the largest set ``W`` of states from which some choice among the
    allowed actions terminates with probability 1 (the classic fixpoint:
    repeatedly drop the states that cannot reach EXIT using actions that
    never leave ``W``), then in each state of ``W`` picks the lowest-index
    allowed action that stays in ``W`` and either terminates or reaches, with
    positive probability, a state fewer graph steps from EXIT. Every state of
    ``W`` then has positive probability of ending within ``|W|`` steps, and
    the episode never leaves ``W``, so it terminates with probability 1.

    Parameters
    ----------
    mdp : TabularMDP
    allowed : numpy.ndarray
        ``[S, A]`` bool mask of the actions that may be chosen.

    Returns
    -------
    policy : numpy.ndarray
        ``[S]`` int64; meaningful where ``terminates`` holds (elsewhere the
        lowest allowed action, or 0).
    terminates : numpy.ndarray
        ``[S]`` bool, the set ``W``.
    """
    from scipy.sparse import csgraph  # on first use: it loads scipy.sparse.linalg

    n_states, n_actions = mdp.n_states, mdp.n_actions
    C = mdp.continuation
    region = np.ones(n_states, dtype=bool)
    while True:
        leaves = (C @ (~region).astype(np.float64)).reshape(n_states, n_actions) > 0
        safe = allowed & ~leaves & region[:, None]
        graph = _reversed_graph(mdp, safe)
        distance = csgraph.shortest_path(graph, directed=True, unweighted=True, indices=n_states)[
            :n_states
        ]
        reachable = np.isfinite(distance)
        if np.array_equal(reachable, region):
            break
        region = reachable
    row_of_entry = np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))
    closer = distance[C.indices] < distance[row_of_entry // n_actions]
    progress = np.bincount(row_of_entry, weights=closer, minlength=C.shape[0]) > 0
    progress = progress.reshape(n_states, n_actions) | (mdp.termination_probability > 0)
    good = safe & progress
    policy = np.where(good.any(axis=1), np.argmax(good, axis=1), np.argmax(allowed, axis=1))
    return policy.astype(np.int64), region & good.any(axis=1)


def endless_states(mdp: TabularMDP, allowed: np.ndarray) -> np.ndarray:
    """States from which the allowed actions can keep the episode going forever.

    The largest set ``Y`` such that every state of ``Y`` has an allowed action
    that never terminates and never leaves ``Y`` (a greatest fixpoint: start
    from the states with such an action, drop those whose every such action
    may leave the set, repeat).

    Parameters
    ----------
    mdp : TabularMDP
    allowed : numpy.ndarray
        ``[S, A]`` bool mask of the actions that may be chosen.

    Returns
    -------
    numpy.ndarray
        ``[S]`` bool.
    """
    n_states, n_actions = mdp.n_states, mdp.n_actions
    never_ends = allowed & (mdp.termination_probability == 0.0)  # [S, A]
    endless = never_ends.any(axis=1)
    while True:
        leaves = (mdp.continuation @ (~endless).astype(np.float64)).reshape(n_states, n_actions)
        stays = (never_ends & (leaves == 0.0)).any(axis=1) & endless
        if np.array_equal(stays, endless):
            return endless
        endless = stays
