r"""Exact policy evaluation on models where every step has one next state, by path doubling.

Where each (state, action) pair either goes on to one next state with
probability 1 or ends the episode (Taxi, CliffWalking, deterministic grids),
a deterministic policy ``π`` moves each state ``s`` along one path
``s_0 = s, s_1 = f(s_0), …`` until it ends, and
``V^π(s) = Σ_t γ^t R_π(s_t)`` (the sum stops where the path ends).

Path doubling computes this sum in ``log₂`` of the horizon NumPy steps instead
of a sparse LU factorisation: with ``A_k(s)`` the sum over the first ``2^k``
steps from ``s`` and ``f_k(s)`` the state reached after them (a sink ``S``,
of value 0, once the path has ended),

``A_{k+1}(s) = A_k(s) + γ^{2^k} A_k(f_k(s))``,   ``f_{k+1}(s) = f_k(f_k(s))``,

so that ``V^π(s) = A_k(s) + γ^{2^k} V^π(f_k(s))``. The remainder is at most
``γ^{2^k} ‖V^π‖∞``: doubling stops once ``γ^{2^k} ≤`` :data:`REMAINDER`
(at γ = 0.99, 13 steps of 4 array operations), or earlier, exactly, once
``f_{k+1} = f_k``: then every ``z = f_k(s)`` is a fixed point of ``f_k`` (the
sink, or a state on a cycle whose length divides ``2^k``, e.g. a move into
a wall), where ``V^π(z) = A_k(z) + γ^{2^k} V^π(z)`` gives
``V^π(z) = A_k(z) / (1 − γ^{2^k})``. Every path settles so within
``k = ⌈log₂(S + 1)⌉`` steps where its cycle's length is a power of 2 (on Taxi,
5 or 6 steps where 13 would be needed). At γ = 1 every path must end (its
``z`` is the sink).

References
----------
Wyllie, J. C. (1979). *The Complexity of Parallel Computations* (pointer jumping).
Puterman, M. L. (1994). *Markov Decision Processes*, Thm 6.1.1 (``V^π`` as the
discounted sum of rewards along the chain).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rl_planners.mdp import TabularMDP

__all__ = ["REMAINDER", "SuccessorMatrix", "evaluate_by_doubling", "successor_table"]

REMAINDER = 2.0**-60
"""Doubling stops once ``γ^{2^k}``, the remainder's bound relative to ``‖V^π‖∞``, is below this."""


def successor_table(mdp: TabularMDP) -> np.ndarray | None:
    """``[S*A]`` the one next state of each pair (``S`` where it ends), or ``None``.

    ``None`` unless every row of :attr:`TabularMDP.continuation` is empty (the
    pair always ends the episode) or holds a single next state with
    probability exactly 1.
    """
    continuation = mdp.continuation  # [S*A, S] CSR
    counts = np.diff(continuation.indptr)
    if counts.size and (counts.max() > 1 or not np.all(continuation.data == 1.0)):
        return None
    table = np.full(mdp.n_states * mdp.n_actions, mdp.n_states, dtype=np.intp)
    table[counts == 1] = continuation.indices
    return table


@dataclass(frozen=True, eq=False)
class SuccessorMatrix:
    """Rows of a single-successor model's continuation matrix, as a gather.

    A deterministic policy's ``P_π`` (:meth:`of_pairs` with the pairs
    ``s·A + π(s)``) or every pair's (:meth:`by_action`).
    ``(P_π x)(s) = x(f(s))`` where the pair ``(s, π(s))`` goes on to ``f(s)``,
    and 0 where it ends (whatever ``x`` holds, as in SciPy's CSR product over
    an empty row): the same floats as that product over rows that hold one
    entry equal to 1, in two NumPy calls.
    """

    following: np.ndarray  # [S] f(s); 0 where the pair ends
    ended: np.ndarray  # the states s whose pair (s, π(s)) ends the episode

    @classmethod
    def of_pairs(cls, successors: np.ndarray, pairs: np.ndarray, n_states: int) -> SuccessorMatrix:
        """The rows of the pairs ``pairs`` (indices ``s·A + a``) of a :func:`successor_table`."""
        following = successors.take(pairs)
        ended = np.flatnonzero(following == n_states)
        following[ended] = 0
        return cls(following, ended)

    @classmethod
    def by_action(cls, successors: np.ndarray, n_states: int) -> SuccessorMatrix:
        """Every pair, action-major (row ``a·S + s``): :attr:`TabularMDP.continuation_by_action`."""
        n_actions = successors.shape[0] // max(n_states, 1)
        pairs = (np.arange(n_states)[None, :] * n_actions + np.arange(n_actions)[:, None]).ravel()
        return cls.of_pairs(successors, pairs, n_states)

    def dot(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``P_π x`` (into ``out``, an ``[S]`` float64 array other than ``x``, if given)."""
        product = x[self.following] if out is None else x.take(self.following, out=out)
        if self.ended.size:
            product.put(self.ended, 0.0)
        return product

    def __matmul__(self, x: np.ndarray) -> np.ndarray:
        return self.dot(x)


def evaluate_by_doubling(
    successors: np.ndarray, rows: np.ndarray, R_pi: np.ndarray, gamma: float
) -> np.ndarray | None:
    """``V^π`` of a deterministic policy on a model with a :func:`successor_table`.

    ``rows`` ``[S]`` are the policy's pairs ``s·A + π(s)``, ``R_π`` their rewards.

    ``V^π(s) = Σ_t γ^t R_π(s_t)`` along the policy's path from ``s``
    (module docstring), within ``REMAINDER · ‖V^π‖∞`` for γ < 1, exact up to
    float64 rounding at γ = 1.

    Returns
    -------
    numpy.ndarray or None
        ``[S]`` float64; ``None`` at γ = 1 if some path never ends (the
        caller's LU solve then reports the singular system), or if γ is so
        close to 1 that more than 64 doubling steps would be needed.
    """
    n_states = R_pi.shape[0]
    if gamma < 1.0:
        # γ^{2^k} ≤ REMAINDER  ⇔  2^k ≥ log(REMAINDER)/log(γ)
        horizon = math.log(REMAINDER) / math.log(gamma) if gamma > 0.0 else 1.0
        n_steps = max(0, math.ceil(math.log2(max(horizon, 1.0))))
    else:
        n_steps = n_states.bit_length() + 1  # 2^k ≥ S + 1 steps end every path that ends
    if n_steps > 64:
        return None
    following = np.empty(n_states + 1, dtype=np.intp)  # f_k, the sink S maps to itself
    following[:n_states] = successors[rows]
    following[n_states] = n_states
    total = np.zeros(n_states + 1)  # A_k, the sink's entry stays 0
    total[:n_states] = R_pi
    discount = gamma  # γ^{2^k}
    for _ in range(n_steps):
        gathered = total.take(following)  # take: half the time of fancy indexing here
        gathered *= discount
        total += gathered
        discount *= discount
        following_next = following.take(following)
        if following_next.tobytes() == following.tobytes():  # a fifth of (==).all()'s time
            # f_{k+1} = f_k: every f_k(s) is a fixed point z, V(z) = A_k(z) / (1 − γ^{2^k})
            if gamma == 1.0:
                return total[:n_states] if np.all(following == n_states) else None
            settled = total / (1.0 - discount)  # the sink's entry stays 0
            gathered = settled[following]
            gathered *= discount
            total += gathered
            return total[:n_states]
        following = following_next
    return None if gamma == 1.0 else total[:n_states]
