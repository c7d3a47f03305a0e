"""Benchmark models, built vectorised as ``(S, A, K)`` outcome arrays.

- :func:`garnet`: a Garnet MDP (Archibald, McKinnon & Thomas 1995; Bhatnagar
  et al. 2009): every (state, action) pair moves to ``n_branches`` distinct
  next states drawn uniformly, with probabilities from uniform cuts of
  [0, 1] (a flat Dirichlet) and a uniform reward in [0, 1) per pair.
- :func:`slippery_grid`: an ``n × n`` grid with four moves; the intended move
  happens with probability 0.8 and each perpendicular one with 0.1 (a wall
  keeps the agent in place). Every step costs −1; stepping onto the goal
  (bottom-right corner) terminates the episode.
- :func:`corridor`: a ``1 × n`` chain with two moves (left, right); the
  intended move happens with probability 0.9, the other one with 0.1 (the
  ends are walls). Every step costs −1; stepping onto the last cell
  terminates the episode. At γ = 0.999 the horizon (1,000 steps) is far
  shorter than the corridor, so values travel a long way before settling.
- :func:`frozen_lake_dict`: a FrozenLake-style ``P`` dict of the slippery
  grid, for timing ``TabularMDP.from_transitions`` on a million states.
"""

from __future__ import annotations

import numpy as np

__all__ = ["corridor", "frozen_lake_dict", "garnet", "slippery_grid"]


def garnet(
    n_states: int, n_actions: int = 4, n_branches: int = 5, seed: int = 0
) -> dict[str, np.ndarray]:
    """Garnet outcome arrays ``next_state, prob [S, A, K]`` and ``reward [S, A]``."""
    rng = np.random.default_rng(seed)
    shape = (n_states, n_actions, n_branches)
    next_state = rng.integers(0, n_states, size=shape, dtype=np.int64)
    flat = next_state.reshape(-1, n_branches)
    while True:  # redraw the few rows that picked a state twice
        ordered = np.sort(flat, axis=1)
        repeated = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
        if repeated.size == 0:
            break
        flat[repeated] = rng.integers(0, n_states, size=(repeated.size, n_branches))
    cuts = np.sort(rng.random((n_states * n_actions, n_branches - 1)), axis=1)
    edges = np.concatenate(
        [np.zeros((cuts.shape[0], 1)), cuts, np.ones((cuts.shape[0], 1))], axis=1
    )
    prob = np.diff(edges, axis=1).reshape(shape)
    prob[prob == 0.0] = 1e-300  # keep every branch (a zero would be read as padding)
    prob /= prob.sum(axis=2, keepdims=True)
    reward = rng.random((n_states, n_actions))
    return {"next_state": next_state, "prob": prob, "reward": reward}


_MOVES = np.array([[0, -1], [1, 0], [0, 1], [-1, 0]])  # left, down, right, up (FrozenLake order)


def slippery_grid(n: int) -> dict[str, np.ndarray]:
    """``n × n`` slippery grid: outcome arrays ``[S, 4, 3]`` (intended, two slips)."""
    rows, cols = np.divmod(np.arange(n * n), n)
    next_state = np.empty((n * n, 4, 3), dtype=np.int64)
    for action in range(4):
        for k, turn in enumerate((0, -1, 1)):
            dr, dc = _MOVES[(action + turn) % 4]
            r = np.clip(rows + dr, 0, n - 1)
            c = np.clip(cols + dc, 0, n - 1)
            next_state[:, action, k] = r * n + c
    prob = np.broadcast_to(np.array([0.8, 0.1, 0.1]), next_state.shape).copy()
    goal = n * n - 1
    terminated = next_state == goal
    reward = np.full(next_state.shape, -1.0)
    return {
        "next_state": next_state,
        "prob": prob,
        "reward": reward,
        "terminated": terminated,
    }


def corridor(n: int) -> dict[str, np.ndarray]:
    """``1 × n`` slippery corridor: outcome arrays ``[n, 2, 2]`` (intended, opposite)."""
    cells = np.arange(n)
    left = np.maximum(cells - 1, 0)
    right = np.minimum(cells + 1, n - 1)
    next_state = np.stack(
        [np.stack([left, right], axis=1), np.stack([right, left], axis=1)], axis=1
    )  # [n, 2 actions, 2 outcomes]
    prob = np.broadcast_to(np.array([0.9, 0.1]), next_state.shape).copy()
    terminated = next_state == n - 1
    reward = np.full(next_state.shape, -1.0)
    return {"next_state": next_state, "prob": prob, "reward": reward, "terminated": terminated}


def frozen_lake_dict(n: int) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
    """The slippery grid as a FrozenLake-style ``P`` dict (built without NumPy scalars)."""
    arrays = slippery_grid(n)
    next_state = arrays["next_state"].tolist()
    terminated = arrays["terminated"].tolist()
    probs = (0.8, 0.1, 0.1)
    return {
        s: {
            a: [(probs[k], next_state[s][a][k], -1.0, terminated[s][a][k]) for k in range(3)]
            for a in range(4)
        }
        for s in range(n * n)
    }
