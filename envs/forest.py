"""``rl_planners/ForestManagement-v0``: the forest problem of the MDP toolbox literature."""

from __future__ import annotations

import numpy as np

from envs.base import TabularEnv
from envs.options import check_finite, check_int, check_probability
from rl_planners.mdp import TabularMDP

__all__ = ["ForestManagementEnv"]

WAIT, CUT = 0, 1


class ForestManagementEnv(TabularEnv):
    """The forest management problem of MDPtoolbox (``mdptoolbox.example.forest``).

    ## Description
    Each year the manager of a forest either waits, to keep an old forest for
    wildlife, or cuts it and sells the wood. A fire burns the forest with
    probability ``p`` each year the manager waits. It is the same model as
    ``mdptoolbox.example.forest(S=n_states, r1=r1, r2=r2, p=p)``: with the
    defaults and ``γ = 0.9`` the optimal policy is to always wait, with
    ``V* = (26.244, 29.484, 33.484)``.

    ## Action Space
    ``Discrete(2)``: 0 wait, 1 cut.

    ## Observation Space
    ``Discrete(n_states)``: the age class of the forest, ``n_states - 1`` the
    oldest.

    ## Transitions
    Wait: the forest burns down to age 0 with probability ``p``, else grows
    to ``min(s + 1, n_states - 1)``. Cut: back to age 0 with probability 1.

    ## Rewards
    Wait: ``r1`` in the oldest state, 0 elsewhere. Cut: 0 at age 0, ``r2`` in
    the oldest state, 1 elsewhere. The reward does not depend on the fire
    (MDPtoolbox gives it as ``R(s, a)``).

    ## Starting State
    Age 0 (a young forest).

    ## Episode End
    Never terminated (a continuing task); ``gym.make`` truncates after
    ``max_episode_steps=100``.

    ## Arguments
    n_states : int, default 3
        At least 2.
    r1 : float, default 4
    r2 : float, default 2
    p : float, default 0.1
        Fire probability, in ``[0, 1]``.
    render_mode : {None, "ansi"}

    ## References
    Cordwell, S. (2015). pymdptoolbox, ``mdptoolbox.example.forest``; after
    Chadès, I., Chapron, G., Cros, M.-J., Garcia, F. & Sabbadin, R. (2014).
    MDPtoolbox: a multi-platform toolbox to solve stochastic dynamic
    programming problems. *Ecography* 37, 916–920.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        n_states: int = 3,
        r1: float = 4.0,
        r2: float = 2.0,
        p: float = 0.1,
    ) -> None:
        n = check_int("n_states", n_states, minimum=2)
        r1 = check_finite("r1", r1)
        r2 = check_finite("r2", r2)
        p = check_probability("p", p)
        age = np.arange(n)
        next_state = np.zeros((n, 2, 2), dtype=np.int64)  # [S, A, K]: K = (fire, no fire)
        next_state[:, WAIT, 1] = np.minimum(age + 1, n - 1)
        prob = np.zeros((n, 2, 2))
        prob[:, WAIT] = (p, 1.0 - p)
        prob[:, CUT, 0] = 1.0
        reward = np.zeros((n, 2))  # [S, A]
        reward[n - 1, WAIT] = r1
        reward[1:, CUT] = 1.0
        reward[n - 1, CUT] = r2
        initial = (age == 0) * 1.0
        mdp = TabularMDP.from_outcomes(next_state, prob, reward, initial_distribution=initial)
        super().__init__(mdp, render_mode=render_mode)

    def action_name(self, action: int) -> str:
        """``"wait"`` or ``"cut"``."""
        return ("wait", "cut")[action]

    def _render_text(self) -> str:
        oldest = self.observation_space.n - 1
        return f"forest age {self.s} of 0..{oldest}{self._last_action_text()}\n"
