"""The independent reference: dense dynamic programming written out from the textbook.

The tests check ``rl_planners`` against the functions below, so these share
no code with it: plain Python and NumPy only, nothing imported from
``rl_planners``. They work on dense arrays built straight from a
Gymnasium-style outcome dict (``dense_model``) and favour the plainest form of
each equation over speed: small models only.

Conventions
-----------
- ``T[s, a, s']``: the probability of *continuing* to ``s'`` (terminating
  outcomes are left out: they have no future value); ``R[s, a]``: the expected
  reward. Every backup is then ``Q = R + γ T V``.
- A policy of integer dtype holds actions (``[S]``, or ``[H, S]`` per time
  step); one of float dtype holds probabilities ``π(a|s)`` (``[S, A]``, or
  ``[H, S, A]`` per time step).

References: M. L. Puterman, *Markov Decision Processes* (Wiley, 1994);
R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*,
2nd ed. (MIT Press, 2018), chapters 3 and 4.
"""

from __future__ import annotations

import numpy as np

MAX_SWEEPS = 1_000_000


# ------------------------------------------------------------------ the model
def dense_model(P, *, honour_terminated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``T[s, a, s']`` and ``R[s, a]`` from ``P[s][a] = [(prob, next_state, reward, terminated)]``.

    ``R(s, a) = Σ prob · reward`` over the outcome list, and ``T(s, a, s')`` sums
    the probabilities of the outcomes that continue to ``s'`` (a next state may
    stand twice in one list: FrozenLake lists some wall bumps twice). With
    ``honour_terminated=False`` every outcome continues: the popular converter
    that ignores the flag, kept to show that the flag matters.
    """
    n_states, n_actions = len(P), len(P[0])
    T = np.zeros((n_states, n_actions, n_states))
    R = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            for p, s_next, r, terminated in P[s][a]:
                R[s, a] += p * r
                if not (terminated and honour_terminated):
                    T[s, a, s_next] += p
    return T, R


def dense_policy_model(T, R, policy) -> tuple[np.ndarray, np.ndarray]:
    """``T_π[s, s'] = Σ_a π(a|s) T[s, a, s']`` and ``R_π[s] = Σ_a π(a|s) R[s, a]``.

    ``policy``: ``[S]`` actions or ``[S, A]`` probabilities.
    """
    return _under_policy(T, policy), _under_policy(R, policy)


def _under_policy(X, policy) -> np.ndarray:
    """``Σ_a π(a|s) X[s, a, ...]``: ``X[s, policy[s], ...]`` for actions."""
    policy = np.asarray(policy)
    if np.issubdtype(policy.dtype, np.integer):
        return X[np.arange(X.shape[0]), policy]
    return np.einsum("sa,sa...->s...", policy, X)


def dense_q_values(T, R, V, gamma) -> np.ndarray:
    """``Q(s, a) = R(s, a) + γ Σ_s' T(s, a, s') V(s')``: one Bellman backup, ``[S, A]``."""
    return R + gamma * T @ V


# ---------------------------------------------------------- infinite horizon
def dense_policy_value(T, R, policy, gamma) -> np.ndarray:
    """``V^π = (I − γ T_π)^-1 R_π``, exactly, by ``np.linalg.solve``.

    Raises ``LinAlgError`` if the system is singular (γ = 1 and a policy that
    may never terminate).
    """
    T_pi, R_pi = dense_policy_model(T, R, policy)
    return np.linalg.solve(np.eye(T.shape[0]) - gamma * T_pi, R_pi)


def dense_sweeps(T, R, gamma, k, V0=None) -> tuple[np.ndarray, list[float]]:
    """``V_k`` after ``k`` value-iteration sweeps ``V_{i+1} = max_a Q_i`` from ``V0`` (0).

    Also returns the sup-norm change ``‖V_{i+1} − V_i‖∞`` of every sweep.
    """
    V = np.zeros(T.shape[0]) if V0 is None else np.array(V0, dtype=float)
    changes = []
    for _ in range(k):
        V_next = dense_q_values(T, R, V, gamma).max(axis=1)
        changes.append(float(np.abs(V_next - V).max()))
        V = V_next
    return V, changes


def dense_value_iteration(T, R, gamma, *, tol=None) -> np.ndarray:
    """Value iteration ``V_{k+1}(s) = max_a [R(s, a) + γ Σ_s' T(s, a, s') V_k(s')]`` from 0.

    With ``tol`` and γ < 1, the textbook stop (Puterman 1994, Thm 6.3.1): when
    ``‖V_{k+1} − V_k‖∞ < tol (1 − γ) / (2γ)``, so that ``‖V_{k+1} − V*‖∞ < tol/2``.
    Otherwise (and at γ = 1, episodic models only) until the change is within
    float64 rounding of V: ``‖V_{k+1} − V_k‖∞ ≤ 1e-14 max(1, ‖V_{k+1}‖∞)``.
    At γ = 0 one sweep is exact.
    """
    V = np.zeros(T.shape[0])
    for _ in range(MAX_SWEEPS):
        V_next = dense_q_values(T, R, V, gamma).max(axis=1)
        change = np.abs(V_next - V).max()
        if gamma == 0.0:
            return V_next
        if tol is not None and gamma < 1.0:
            if change < tol * (1.0 - gamma) / (2.0 * gamma):
                return V_next
        elif change <= 1e-14 * max(1.0, np.abs(V_next).max()):
            return V_next
        V = V_next
    raise AssertionError("reference value iteration did not converge")


def dense_policy_iteration(T, R, gamma, policy=None) -> np.ndarray:
    """V* by Howard's policy iteration from ``policy`` (all zeros by default), γ < 1.

    Evaluate ``V^π`` exactly (``dense_policy_value``), then switch to the greedy
    action wherever ``Q^π`` beats the current one by more than rounding
    (``1e-12`` of ``‖Q‖∞``); stop when nothing switches.
    """
    states = np.arange(T.shape[0])
    policy = np.zeros(T.shape[0], dtype=int) if policy is None else np.array(policy)
    for _ in range(10_000):
        V = dense_policy_value(T, R, policy, gamma)
        Q = dense_q_values(T, R, V, gamma)
        better = Q.max(axis=1) > Q[states, policy] + 1e-12 * max(1.0, np.abs(Q).max())
        if not better.any():
            return V
        policy = np.where(better, Q.argmax(axis=1), policy)
    raise AssertionError("reference policy iteration did not converge")


def dense_optimal_values(T, R, gamma) -> np.ndarray:
    """V*, the fixed point of ``V = max_a [R + γ T V]``, to float64 rounding.

    γ < 1: policy iteration (exact solves) from the greedy policy of 200
    value-iteration sweeps (a good first policy). γ = 1: value iteration until
    it settles, since a greedy policy may tie with actions that never terminate
    (a singular system for the exact solve).
    """
    if gamma == 1.0:
        return dense_value_iteration(T, R, gamma)
    V, _ = dense_sweeps(T, R, gamma, 200)
    return dense_policy_iteration(T, R, gamma, dense_q_values(T, R, V, gamma).argmax(axis=1))


def dense_termination_probability(T, policy) -> np.ndarray:
    """``[S]`` probability of ever terminating under ``policy``.

    The least solution of ``h = t_π + T_π h``, with ``t_π = 1 − Σ_s' T_π(s, s')``
    the probability of terminating in one step, iterated from ``h = 0``.
    """
    T_pi = _under_policy(T, policy)
    ends = 1.0 - T_pi.sum(axis=1)
    h = np.zeros(T.shape[0])
    for _ in range(MAX_SWEEPS):
        h_next = ends + T_pi @ h
        if np.abs(h_next - h).max() < 1e-15:
            break
        h = h_next
    return h_next


# ------------------------------------------------------------ finite horizon
def dense_backward_induction(T, R, horizon, gamma, terminal=None):
    """``V_t = max_a Q_t``, ``Q_t = R + γ T V_{t+1}``, from ``V_H = terminal`` (0).

    Returns ``V [H + 1, S]`` and ``Q [H, S, A]``.
    """
    V = np.zeros((horizon + 1, R.shape[0]))
    Q = np.zeros((horizon, *R.shape))
    if terminal is not None:
        V[horizon] = terminal
    for t in reversed(range(horizon)):
        Q[t] = dense_q_values(T, R, V[t + 1], gamma)
        V[t] = Q[t].max(axis=1)
    return V, Q


def dense_finite_horizon_value(T, R, policy, horizon, gamma) -> np.ndarray:
    """``V_0`` of ``V_t = R_π_t + γ T_π_t V_{t+1}``, ``V_H = 0``: the value of H steps.

    ``policy``: stationary (``[S]`` actions or ``[S, A]`` probabilities) or
    time-dependent (``[H, S]`` actions or ``[H, S, A]`` probabilities).
    """
    policy = np.asarray(policy)
    stationary_ndim = 1 if np.issubdtype(policy.dtype, np.integer) else 2
    stationary = policy.ndim == stationary_ndim
    if stationary:
        T_pi, R_pi = dense_policy_model(T, R, policy)
    V = np.zeros(R.shape[0])
    for t in reversed(range(horizon)):
        if not stationary:
            T_pi, R_pi = dense_policy_model(T, R, policy[t])
        V = R_pi + gamma * T_pi @ V
    return V
