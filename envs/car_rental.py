"""``rl_planners/JacksCarRental-v0``: Jack's car rental (Sutton & Barto, Example 4.2)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.base import TabularEnv
from envs.options import check_finite, check_int
from rl_planners.mdp import TabularMDP

__all__ = ["JacksCarRentalEnv", "location_dynamics"]


def location_dynamics(
    max_cars: int,
    request_mean: float,
    return_mean: float,
    upper_bound: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One location's day: the next count and the expected rentals given it.

    In the morning the location has ``m`` cars. Requests are Poisson with
    mean ``request_mean``; ``min(requests, m)`` cars are rented. Returns are
    Poisson with mean ``return_mean``; the evening count is
    ``min(m - rented + returns, max_cars)`` (cars beyond ``max_cars`` leave
    the problem). Without ``upper_bound`` the Poisson tails are exact: the
    mass of requests beyond ``m`` and of counts beyond ``max_cars`` sits on
    the boundary. With it, requests and returns only take the values
    ``0..upper_bound-1``, with their Poisson probabilities, not renormalised:
    every row of ``prob`` sums to ``P(requests < B) · P(returns < B)``.

    Returns
    -------
    prob : numpy.ndarray
        ``[M+1, M+1]`` ``P(n | m)``, the evening count ``n`` given ``m``.
    rented : numpy.ndarray
        ``[M+1, M+1]`` ``E[rented | m, n]`` (0 where ``P(n | m) = 0``).
    """
    counts = np.arange(max_cars + 1)  # 0..M
    pmf_q, tail_q = _poisson(request_mean, max_cars + 1, upper_bound)
    pmf_r, tail_r = _poisson(return_mean, max_cars + 1, upper_bound)
    # rent[m, r] = P(rented = r | m): P(requests = r) below m, P(requests >= m) at m.
    m, r = np.meshgrid(counts, counts, indexing="ij")
    rent = np.where(r < m, pmf_q[r], np.where(r == m, tail_q[m], 0.0))  # [m, r]
    # ret[k, n] = P(min(k + returns, M) = n | k cars left after renting).
    k, n = np.meshgrid(counts, counts, indexing="ij")
    ret = np.where(
        n < max_cars,
        np.where(n >= k, pmf_r[np.maximum(n - k, 0)], 0.0),
        tail_r[max_cars - k],
    )  # [k, n]
    left = np.clip(m - r, 0, max_cars)  # [m, r]
    joint = rent[:, :, None] * ret[left]  # [m, r, n]
    prob = joint.sum(axis=1)  # [m, n]
    weighted = (joint * counts[None, :, None]).sum(axis=1)
    rented = np.divide(weighted, prob, out=np.zeros_like(prob), where=prob > 0)
    return prob, rented


def _poisson(mean: float, size: int, upper_bound: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``P(X = j)`` and ``P(X >= j)`` for ``j = 0..size-1``, ``X`` Poisson.

    With ``upper_bound`` ``B`` the values ``X >= B`` are dropped (not
    renormalised): both arrays count only ``X < B``.
    """
    from scipy import stats  # here: scipy.stats costs ~0.3 s, and `import envs` should not

    j = np.arange(size)
    if upper_bound is None:
        return stats.poisson.pmf(j, mean), stats.poisson.sf(j - 1, mean)
    kept = np.arange(max(size, upper_bound))
    pmf = np.where(kept < upper_bound, stats.poisson.pmf(kept, mean), 0.0)
    tail = np.cumsum(pmf[::-1])[::-1]  # P(j <= X < B)
    return pmf[:size], tail[:size]


class JacksCarRentalEnv(TabularEnv):
    """Jack's car rental problem of Sutton & Barto, Example 4.2.

    ## Description
    Jack manages two locations of a car rental company. Each day customers
    rent cars at each location (earning ``rental_reward`` per car rented, if
    a car is available) and return cars, which can be rented the next day.
    Overnight Jack may move up to ``max_move`` cars between the locations at
    ``move_cost`` per car. Requests and returns are Poisson with means
    ``request_means`` and ``return_means``.

    At ``γ = 0.9`` policy iteration from the policy that never moves a car
    stops at ``π4``, as in Figure 4.2, and the optimal policy uses the moves
    -4..5 like the figure's. The optimal values run from 421.4 at ``(0, 0)``
    to 637.0 at ``(20, 20)``. The figure labels its value surface 420 and
    612: the lower label is this model's minimum, the upper one is reproduced
    neither by this model nor by the truncated one of
    ``poisson_upper_bound=11`` (405.3 to 616.8), see Transitions.

    ## Action Space
    ``Discrete(2 * max_move + 1)``: action ``a`` moves ``a - max_move`` cars
    from the first location to the second (negative: from the second to the
    first). A move larger than the cars available is clipped to them, so
    every action is valid in every state: ``moved = clip(a - max_move, -n2, n1)``.

    ## Observation Space
    ``Discrete((max_cars + 1) ** 2)``: ``state = n1 * (max_cars + 1) + n2``,
    the cars at each location at the end of a day.

    ## Transitions
    After the move the locations hold ``min(n1 - moved, max_cars)`` and
    ``min(n2 + moved, max_cars)`` cars (extra cars leave the problem). Each
    location then rents ``min(requests, cars)`` and gets its returns; the
    evening count is capped at ``max_cars``. By default the Poisson tails
    are kept exactly, not truncated: requests beyond the cars available and
    counts beyond ``max_cars`` are folded into the boundary, so every row
    sums to 1. The two locations are independent, so the next state has all
    ``(max_cars + 1) ** 2`` values, each one outcome.

    ``poisson_upper_bound=B`` is the model of the widely used reproduction of
    Figure 4.2 (``chapter04/car_rental.py`` of
    ShangtongZhang/reinforcement-learning-an-introduction, with
    ``POISSON_UPPER_BOUND = 11`` and Poisson returns; its default run
    replaces the returns by their means), which sums over requests and
    returns ``0..B-1`` only and does not renormalise: the mass of
    ``requests >= B`` or ``returns >= B`` (about 0.34% a day at ``B = 11``)
    earns no rental income and has no future. Here that mass is one extra
    outcome per pair that **terminates** the episode with reward
    ``-move_cost · |moved|`` (the move is paid either way), which is exactly
    the vanishing mass: a terminating outcome has no future value. The values
    are about 3% lower, 405.3 to 616.8 at ``γ = 0.9``, so this model misses
    both labels of Figure 4.2 (420 and 612); its optimal policy differs from
    the exact one in 11 of the 441 states, by one car, on the borders between
    move regions.

    ## Rewards
    ``rental_reward · E[cars rented | s, a, s'] - move_cost · |moved|``: the
    reward of an outcome is the expected profit given the next state, so
    ``R(s, a)`` and every value function are the book's; a sampled reward is
    that conditional mean, not a whole day's integer profit.

    ## Starting State
    Uniform over the states.

    ## Episode End
    Never terminated by default (a continuing task; the book uses
    ``γ = 0.9``). With ``poisson_upper_bound`` the truncated mass terminates
    (see Transitions). ``gym.make`` truncates after ``max_episode_steps=100``.

    ## Arguments
    max_cars : int, default 20
    max_move : int, default 5
    rental_reward : float, default 10
    move_cost : float, default 2
    request_means : pair of float, default (3, 4)
    return_means : pair of float, default (3, 2)
    poisson_upper_bound : int or None, default None
        ``None``: exact Poisson tails. An integer ``B >= 1``: requests and
        returns truncated to ``0..B-1`` without renormalising, the lost mass
        ending the episode (``11`` is the reproduction cited above).
    render_mode : {None, "ansi"}

    ## References
    Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
    Introduction*, 2nd ed., Example 4.2 and Figure 4.2. The book author's
    published Lisp program for the figure drops only Poisson terms below
    ``1e-6``: it is the default, exact model (its mornings may hold up to 25
    cars, which changes no optimal value).

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        render_mode: str | None = None,
        max_cars: int = 20,
        max_move: int = 5,
        rental_reward: float = 10.0,
        move_cost: float = 2.0,
        request_means: Sequence[float] = (3.0, 4.0),
        return_means: Sequence[float] = (3.0, 2.0),
        poisson_upper_bound: int | None = None,
    ) -> None:
        max_cars = check_int("max_cars", max_cars, minimum=1)
        max_move = check_int("max_move", max_move, minimum=0, maximum=max_cars)
        rental_reward = check_finite("rental_reward", rental_reward)
        move_cost = check_finite("move_cost", move_cost)
        requests = _two_means("request_means", request_means)
        returns = _two_means("return_means", return_means)
        if poisson_upper_bound is not None:
            poisson_upper_bound = check_int("poisson_upper_bound", poisson_upper_bound, minimum=1)
        size = max_cars + 1
        n1, n2 = np.divmod(np.arange(size * size), size)  # [S]
        move = np.arange(-max_move, max_move + 1)  # [A]
        moved = np.clip(move[None, :], -n2[:, None], n1[:, None])  # [S, A]
        morning1 = np.minimum(n1[:, None] - moved, max_cars)  # [S, A]
        morning2 = np.minimum(n2[:, None] + moved, max_cars)
        prob1, rented1 = location_dynamics(max_cars, requests[0], returns[0], poisson_upper_bound)
        prob2, rented2 = location_dynamics(max_cars, requests[1], returns[1], poisson_upper_bound)
        # Outcome k = n1' * size + n2' of every pair: [S, A, size, size] -> [S, A, K].
        shape = (*moved.shape, size * size)
        prob = (prob1[morning1][:, :, :, None] * prob2[morning2][:, :, None, :]).reshape(shape)
        rentals = rented1[morning1][:, :, :, None] + rented2[morning2][:, :, None, :]
        cost = move_cost * np.abs(moved)  # [S, A]
        reward = rental_reward * rentals.reshape(shape) - cost[:, :, None]
        next_state = np.broadcast_to(np.arange(size * size), shape)
        if poisson_upper_bound is None:
            mdp = TabularMDP.from_outcomes(next_state, prob, reward)
        else:
            # The truncated mass: one more outcome that ends the episode (no future value).
            lost = np.maximum(1.0 - prob.sum(axis=2), 0.0)  # [S, A]
            stay = np.broadcast_to(np.arange(size * size)[:, None], moved.shape)
            terminated = np.zeros((*moved.shape, size * size + 1), dtype=bool)
            terminated[:, :, -1] = True
            mdp = TabularMDP.from_outcomes(
                np.concatenate([next_state, stay[:, :, None]], axis=2),
                np.concatenate([prob, lost[:, :, None]], axis=2),
                np.concatenate([reward, -cost[:, :, None]], axis=2),
                terminated,
            )
        super().__init__(mdp, render_mode=render_mode)
        self.max_cars = max_cars
        self.max_move = max_move
        self.poisson_upper_bound = poisson_upper_bound

    def action_name(self, action: int) -> str:
        """``"move k"``: ``k`` cars from the first location to the second."""
        return f"move {action - self.max_move:+d}"

    def _render_text(self) -> str:
        n1, n2 = divmod(self.s, self.max_cars + 1)
        return f"first location: {n1} cars, second: {n2} cars{self._last_action_text()}\n"


def _two_means(name: str, value: Sequence[float]) -> tuple[float, float]:
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != 2:
        raise ValueError(f"{name} must be a pair (first location, second), got {value!r}")
    means = tuple(check_finite(f"{name}[{i}]", v) for i, v in enumerate(value))
    for i, mean in enumerate(means):
        if mean < 0:
            raise ValueError(f"{name}[{i}] must be a non-negative Poisson mean, got {mean!r}")
    return means
