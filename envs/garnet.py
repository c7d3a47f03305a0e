"""``rl_planners/Garnet-v0``: random sparse MDPs (Garnets) for benchmarks."""

from __future__ import annotations

import numpy as np

from envs.base import TabularEnv
from envs.options import check_int
from rl_planners.mdp import TabularMDP

__all__ = ["GarnetEnv", "garnet_outcomes"]


def garnet_outcomes(
    n_states: int, n_actions: int, n_branches: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the ``(S, A, b)`` arrays of a Garnet, vectorised.

    For every pair ``(s, a)``: ``b`` distinct next states uniformly at random
    (Floyd's algorithm, run on all pairs at once, one pass per branch), and
    probabilities given by ``b - 1`` uniform cut points of ``[0, 1]``
    (uniform on the simplex). The reward ``r(s, a)`` is uniform on ``[0, 1)``.

    Returns
    -------
    next_state : numpy.ndarray
        ``[S, A, b]`` int64.
    prob : numpy.ndarray
        ``[S, A, b]`` float64, summing to 1 over the last axis.
    reward : numpy.ndarray
        ``[S, A]`` float64.
    """
    n_rows = n_states * n_actions
    chosen = np.empty((n_rows, n_branches), dtype=np.int64)
    for i, j in enumerate(range(n_states - n_branches, n_states)):
        draw = rng.integers(0, j + 1, size=n_rows)
        taken = (chosen[:, :i] == draw[:, None]).any(axis=1)
        chosen[:, i] = np.where(taken, j, draw)
    cuts = np.sort(rng.random((n_rows, n_branches - 1)), axis=1)
    prob = np.diff(cuts, prepend=0.0, append=1.0)
    reward = rng.random((n_states, n_actions))
    shape = (n_states, n_actions, n_branches)
    return chosen.reshape(shape), prob.reshape(shape), reward


class GarnetEnv(TabularEnv):
    """A random Garnet MDP: ``n_states`` states, ``n_actions`` actions, ``n_branches`` successors.

    ## Description
    Garnets ("generic average reward non-stationary environment test-bench")
    are the standard family of random MDPs for comparing planners. Each
    state-action pair leads to ``n_branches`` distinct next states drawn
    uniformly, with probabilities from ``n_branches - 1`` uniform cut points of
    ``[0, 1]``; its reward is uniform on ``[0, 1)``. The model is drawn from
    ``numpy.random.default_rng(seed)`` and built with array operations only,
    so a million-state Garnet takes seconds.

    ## Action Space
    ``Discrete(n_actions)``.

    ## Observation Space
    ``Discrete(n_states)``.

    ## Transitions
    ``n_branches`` random successors per pair, as above (no state is terminal).

    ## Rewards
    ``r(s, a)`` on every outcome of ``(s, a)``, uniform on ``[0, 1)``.

    ## Starting State
    Uniform over the states.

    ## Episode End
    Never terminated (a continuing task); ``gym.make`` truncates after
    ``max_episode_steps=1000``.

    ## Arguments
    n_states : int, default 100
    n_actions : int, default 4
    n_branches : int, default 3
        At most ``n_states``.
    seed : int, default 0
        Seed of the model (not of the episodes: ``reset(seed=...)`` seeds those).
    render_mode : {None, "ansi"}

    ## References
    Archibald, T. W., McKinnon, K. I. M. & Thomas, L. C. (1995). On the
    generation of Markov decision processes. *Journal of the Operational
    Research Society* 46, 354–361. Bhatnagar, S., Sutton, R. S.,
    Ghavamzadeh, M. & Lee, M. (2009). Natural actor–critic algorithms.
    *Automatica* 45, 2471–2482.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        n_states: int = 100,
        n_actions: int = 4,
        n_branches: int = 3,
        seed: int = 0,
    ) -> None:
        n_states = check_int("n_states", n_states, minimum=1)
        n_actions = check_int("n_actions", n_actions, minimum=1)
        n_branches = check_int("n_branches", n_branches, minimum=1, maximum=n_states)
        seed = check_int("seed", seed, minimum=0)
        next_state, prob, reward = garnet_outcomes(
            n_states, n_actions, n_branches, np.random.default_rng(seed)
        )
        mdp = TabularMDP.from_outcomes(next_state, prob, reward)
        super().__init__(mdp, render_mode=render_mode)
        self.seed = seed

    def _render_text(self) -> str:
        return f"state {self.s} of {self.observation_space.n}{self._last_action_text()}\n"
