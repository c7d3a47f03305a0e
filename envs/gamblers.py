"""``rl_planners/GamblersProblem-v0``: Sutton & Barto's gambler's problem (Example 4.3)."""

from __future__ import annotations

import numpy as np

from envs.base import TabularEnv
from envs.options import check_int, check_probability
from envs.outcomes import make_absorbing
from rl_planners.mdp import TabularMDP

__all__ = ["GamblersProblemEnv"]


class GamblersProblemEnv(TabularEnv):
    """The gambler's problem of Sutton & Barto, Example 4.3.

    ## Description
    A gambler bets on coin flips. Heads (probability ``p_heads``) wins as
    much as was staked, tails loses the stake. The gambler stops on reaching
    ``goal`` or on losing everything. At ``γ = 1`` the value of a capital is
    the highest probability of reaching the goal from it (Figure 4.3; at
    ``p_heads = 0.4``, ``V*(25) = 0.16``, ``V*(50) = 0.4``, ``V*(75) = 0.64``).

    ## Action Space
    ``Discrete(goal // 2 + 1)``: the stake ``0..goal // 2``. A stake larger
    than allowed is clipped to ``min(s, goal - s)``, so every action is valid
    in every state. Stake 0 leaves the capital unchanged (a legal self-loop).

    ## Observation Space
    ``Discrete(goal + 1)``: the capital ``s = 0..goal``.

    ## Transitions
    With stake ``k = min(a, s, goal - s)``: ``s + k`` with probability
    ``p_heads``, ``s - k`` with probability ``1 - p_heads``. The capitals 0
    and ``goal`` are zero-reward terminating self-loops.

    ## Rewards
    +1 on reaching the goal, 0 otherwise.

    ## Starting State
    Uniform over the capitals ``1..goal - 1``.

    ## Episode End
    Terminated on reaching 0 or ``goal``. ``gym.make`` truncates after
    ``max_episode_steps=1000``.

    ## Arguments
    p_heads : float, default 0.4
        Probability of heads, in ``[0, 1]``.
    goal : int, default 100
        The capital to reach, at least 2.
    render_mode : {None, "ansi"}

    ## References
    Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
    Introduction*, 2nd ed., Example 4.3 and Figure 4.3.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self, render_mode: str | None = None, p_heads: float = 0.4, goal: int = 100
    ) -> None:
        p = check_probability("p_heads", p_heads)
        goal = check_int("goal", goal, minimum=2)
        capital = np.arange(goal + 1)  # [S]
        stake = np.minimum(
            np.arange(goal // 2 + 1)[None, :],
            np.minimum(capital, goal - capital)[:, None],
        )  # [S, A]
        next_state = np.stack([capital[:, None] + stake, capital[:, None] - stake], axis=-1)
        prob = np.broadcast_to(np.array([p, 1.0 - p]), next_state.shape).copy()
        reward = (next_state == goal).astype(np.float64)
        terminated = (next_state == goal) | (next_state == 0)
        ends = (capital == 0) | (capital == goal)
        make_absorbing(ends, next_state, prob, reward, terminated)
        start = (~ends) / (goal - 1)
        mdp = TabularMDP.from_outcomes(next_state, prob, reward, terminated, start)
        super().__init__(mdp, render_mode=render_mode)
        self.p_heads = p
        self.goal = goal

    def action_name(self, action: int) -> str:
        """``"stake k"``."""
        return f"stake {action}"

    def _render_text(self) -> str:
        return f"capital {self.s} of {self.goal}{self._last_action_text()}\n"
