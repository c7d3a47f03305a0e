"""The Bellman equations in NumPy form: pure functions on a :class:`TabularMDP` and arrays.

With ``P_cont`` the continuation matrix (non-terminating outcomes only) and
``R`` the expected reward of the model (see :mod:`rl_planners.mdp`):

- action values       ``Q(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')``
- optimality backup   ``(T V)(s) = max_a Q(s,a)``
- expectation backup  ``(T_π V)(s) = R_π(s) + γ Σ_s' P_π(s'|s) V(s')`` with
  ``R_π(s) = Σ_a π(a|s) R(s,a)`` and ``P_π(s'|s) = Σ_a π(a|s) P_cont(s'|s,a)``
- greedy policy       ``π'(s) = argmax_a Q(s,a)``

Each equation is written here once in NumPy form and once, for big models, in
the compiled kernels (:mod:`~rl_planners.bellman.kernels`); the solvers reach
either through :func:`~rl_planners.bellman.operators.operators`, chosen once
per solve.

References
----------
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An Introduction*,
2nd ed., eqs. (3.14), (3.19), (4.5), (4.9).
Puterman, M. L. (1994). *Markov Decision Processes*, §6.2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners.mdp import TabularMDP
from rl_planners.mdp.termination import terminating_choice
from rl_planners.validation import check_gamma, check_policy, check_values

__all__ = [
    "expectation_backup",
    "greedy_policy",
    "optimality_backup",
    "policy_improvement",
    "policy_model",
    "q_by_action",
    "q_from_v",
    "tie_tolerance",
]


def q_from_v(mdp: TabularMDP, V: np.ndarray, gamma: float) -> np.ndarray:
    """Action values of a value function.

    ``Q(s,a) = Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``, where a terminating
    outcome contributes its reward and no future value.

    Parameters
    ----------
    mdp : TabularMDP
    V : array_like, shape (S,)
    gamma : float
        Discount factor in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``[S, A]`` float64.

    Examples
    --------
    >>> mdp = TabularMDP.from_arrays([[[0.5, 0.5]], [[0.0, 1.0]]], [[1.0], [0.0]])
    >>> q_from_v(mdp, [2.0, 4.0], 0.5)
    array([[2.5],
           [2. ]])
    """
    return q_by_action(mdp, check_values(mdp, V), check_gamma(gamma)).T


def q_by_action(
    mdp: TabularMDP, V: np.ndarray, gamma: float, continuation: Any = None
) -> np.ndarray:
    """``Q`` transposed, ``[A, S]`` C-ordered, without argument checks.

    ``Q(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')``, from the action-major
    copy of the continuation matrix, so that ``max_a`` and ``argmax_a`` run
    along contiguous memory (a reduction over the short last axis of an
    ``[S, A]`` array is several times slower). ``continuation``, if given,
    stands for :attr:`TabularMDP.continuation_by_action` in the product (an
    operator with ``@`` that gives the same floats, such as a
    :class:`~rl_planners.bellman.successors.SuccessorMatrix` of every pair).
    """
    if continuation is None:
        continuation = mdp.continuation_by_action
    Q_by_action = (continuation @ V).reshape(mdp.n_actions, mdp.n_states)
    Q_by_action *= gamma
    Q_by_action += mdp.R_by_action
    return Q_by_action


def optimality_backup(mdp: TabularMDP, V: np.ndarray, gamma: float) -> np.ndarray:
    """One synchronous sweep of the Bellman optimality operator.

    ``(T V)(s) = max_a [R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')]``

    ``V`` must already be a float64 ``(S,)`` array (the solvers check it once).
    """
    return q_by_action(mdp, V, gamma).max(axis=0)


def policy_model(mdp: TabularMDP, policy: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """The Markov reward process a policy induces.

    ``P_π(s'|s) = Σ_a π(a|s) P_cont(s'|s,a)`` and ``R_π(s) = Σ_a π(a|s) R(s,a)``.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic ``(S,)`` int or stochastic ``(S, A)`` float.

    Returns
    -------
    P_pi : scipy.sparse.csr_matrix
        ``[S, S]``; rows sum to 1 minus the probability of terminating.
    R_pi : numpy.ndarray
        ``[S]``.
    """
    policy = check_policy(mdp, policy)
    states = np.arange(mdp.n_states)
    if policy.ndim == 1:
        rows = states * mdp.n_actions + policy
        return mdp.continuation[rows], mdp.R[states, policy]
    weights = sp.csr_matrix(
        (
            policy.reshape(-1),
            np.arange(mdp.n_states * mdp.n_actions),
            np.arange(0, mdp.n_states * mdp.n_actions + 1, mdp.n_actions),
        ),
        shape=(mdp.n_states, mdp.n_states * mdp.n_actions),
    )  # [S, S*A]
    return (weights @ mdp.continuation).tocsr(), (policy * mdp.R).sum(axis=1)


def expectation_backup(
    P_pi: Any,
    R_pi: np.ndarray,
    V: np.ndarray,
    gamma: float,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """One synchronous sweep of the Bellman expectation operator.

    ``(T_π V)(s) = R_π(s) + γ Σ_s' P_π(s'|s) V(s')``, with ``P_π, R_π`` from
    :func:`policy_model`. ``P_π`` may also be any object with
    ``P_pi.dot(V, out=out)`` (a dense array,
    :class:`~rl_planners.bellman.dense_rows.DenseRows`,
    :class:`~rl_planners.bellman.successors.SuccessorMatrix`); the result then
    goes to ``out``, an ``[S]`` float64 array other than ``V``, if given.
    """
    if sp.issparse(P_pi):
        return R_pi + gamma * (P_pi @ V)
    out = P_pi.dot(V, out=out)
    out *= gamma
    out += R_pi
    return out


def tie_tolerance(Q: np.ndarray) -> float:
    """Action values closer than this are ties: float64 rounding of ``Q``'s scale."""
    scale = max(float(Q.max()), -float(Q.min())) if Q.size else 0.0  # max |Q|
    return 1e-12 * max(1.0, scale)


def greedy_policy(
    mdp: TabularMDP, Q: np.ndarray, gamma: float, *, atol: float | None = None
) -> np.ndarray:
    """The deterministic greedy policy ``π(s) = argmax_a Q(s,a)``.

    Actions within ``atol`` of the best are ties (default: :func:`tie_tolerance`).
    Ties go to the lowest action index, except at ``γ = 1``: there a tied
    action that loops forever is worth as much as one that ends the episode,
    so among the tied actions a policy that terminates with probability 1 is
    chosen wherever one exists (:func:`rl_planners.mdp.termination.terminating_choice`:
    the lowest-index tied action that keeps termination certain and moves
    closer to it). Where none exists, the lowest index.

    Returns
    -------
    numpy.ndarray
        ``[S]`` int64.
    """
    if atol is None:
        atol = tie_tolerance(Q)
    tied = Q >= Q.max(axis=1, keepdims=True) - atol  # [S, A]
    policy = np.argmax(tied, axis=1).astype(np.int64)
    if gamma == 1.0:
        choice, terminates = terminating_choice(mdp, tied)
        policy = np.where(terminates, choice, policy)
    return policy


def policy_improvement(mdp: TabularMDP, V: np.ndarray, gamma: float) -> np.ndarray:
    """Greedy policy improvement ``π'(s) = argmax_a Q^V(s,a)``.

    ``Q^V(s,a) = Σ_s' P(s'|s,a)[R(s,a,s') + γ V(s')]``. Ties (within float64
    rounding) go to the lowest action index; at ``γ = 1``, to a tied action
    that keeps the episode terminating (see :func:`greedy_policy`).

    Parameters
    ----------
    mdp : TabularMDP
    V : array_like, shape (S,)
    gamma : float

    Returns
    -------
    numpy.ndarray
        ``[S]`` int64.

    References
    ----------
    Sutton & Barto (2018), eq. (4.9).
    """
    gamma = check_gamma(gamma)
    return greedy_policy(mdp, q_by_action(mdp, check_values(mdp, V), gamma).T, gamma)
