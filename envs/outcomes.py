"""Helpers for the ``(S, A, K)`` outcome arrays the environments build their models from.

``next_state[s, a, k]``, ``prob[s, a, k]``, ``reward[s, a, k]`` and
``terminated[s, a, k]`` describe outcome ``k`` of action ``a`` in state ``s``;
rows with fewer than ``K`` outcomes are padded with probability 0, which
:meth:`rl_planners.TabularMDP.from_outcomes` drops.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_absorbing"]


def make_absorbing(
    states: np.ndarray,
    next_state: np.ndarray,
    prob: np.ndarray,
    reward: np.ndarray,
    terminated: np.ndarray,
) -> None:
    """Turn the rows of ``states`` (``[S]`` bool) into zero-reward terminating self-loops.

    Modifies the ``[S, A, K]`` outcome arrays in place: outcome 0 of every
    action of those states goes back to the state with probability 1,
    reward 0, terminating; the other outcomes get probability 0 (padding).
    """
    index = np.flatnonzero(states)
    next_state[index] = index[:, None, None]
    prob[index] = 0.0
    prob[index, :, 0] = 1.0
    reward[index] = 0.0
    terminated[index] = True
