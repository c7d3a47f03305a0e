"""What the solvers use, derived from a model's outcome arrays (each computed once).

The model (:class:`~rl_planners.mdp.TabularMDP`) caches each of these as a
read-only attribute; the functions here take its :class:`Outcomes`:

- :func:`continuation_matrix`: ``P_cont`` (``scipy.sparse`` CSR, ``[S*A, S]``),
  the probability of each outcome that does *not* terminate. A terminating
  outcome earns its reward but no future value (``V(s') = 0`` after it);
  repeated next states (FrozenLake lists a wall bump twice) add up;
- :func:`pair_sums`: per-pair sums over the outcomes, ``[S, A]``: the expected
  reward ``R(s, a) = Σ_k prob_k · reward_k`` and the probabilities of ending
  and of going on;
- :func:`outcome_rows` and :func:`action_major`: the row of each outcome, and
  the rows of ``P_cont`` in action-major order for the sweep over actions.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp

from rl_planners.mdp.checks import row_sums
from rl_planners.mdp.outcomes import Outcomes

__all__ = ["action_major", "continuation_matrix", "outcome_rows", "pair_sums"]


def continuation_matrix(outcomes: Outcomes) -> sp.csr_matrix:
    """``[S*A, S]`` ``P_cont[s*A + a, s'] = Σ_k prob_k [next_k = s', not terminated_k]`` (CSR)."""
    n_states, n_actions, row_offsets, next_state, prob, _, terminated = outcomes
    data = np.where(terminated, 0.0, prob)
    matrix = sp.csr_matrix((data, next_state, row_offsets), shape=(n_states * n_actions, n_states))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def action_major(matrix: sp.csr_matrix, n_states: int, n_actions: int) -> sp.csr_matrix:
    """``[A*S, S]``: the rows of ``matrix`` ``[S*A, S]``, row ``a*S + s`` being ``s*A + a``."""
    rows = np.arange(n_states * n_actions).reshape(n_states, n_actions)
    return matrix[rows.T.reshape(-1)]


def pair_sums(
    outcomes: Outcomes, what: Literal["reward", "termination", "continuation"]
) -> np.ndarray:
    """``[S, A]`` a sum over each pair's outcomes, computed in blocks.

    ``"reward"``: ``R(s, a) = Σ_k prob_k reward_k``; ``"termination"``:
    ``Σ_k prob_k [terminated_k]``, the probability that the episode ends;
    ``"continuation"``: ``Σ_k prob_k [not terminated_k]``, the row sums of
    :func:`continuation_matrix` without building it.
    """
    n_states, n_actions, row_offsets, _, prob, reward, terminated = outcomes
    terms = {
        "reward": lambda lo, hi: prob[lo:hi] * reward[lo:hi],
        "termination": lambda lo, hi: np.where(terminated[lo:hi], prob[lo:hi], 0.0),
        "continuation": lambda lo, hi: np.where(terminated[lo:hi], 0.0, prob[lo:hi]),
    }[what]
    return row_sums(row_offsets, terms).reshape(n_states, n_actions)


def outcome_rows(row_offsets: np.ndarray) -> np.ndarray:
    """``[N]`` int64, the row ``s*A + a`` each outcome belongs to."""
    counts = np.diff(row_offsets)
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts)
