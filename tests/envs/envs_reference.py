"""Reference values for the environment tests, and independent dynamic programming.

The published values of Sutton & Barto's Examples 3.5, 4.1 and 4.3 live in
``tests/reference_values.py`` (shared with the core tests); the ones only the
environments need are here, each with its source.

The solvers below are deliberately naive pure Python over ``P[s][a]`` (no
NumPy, no ``rl_planners``), so a test that agrees with them checks the
environment's model and the library's solvers against something that shares
no code with either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence

# --------------------------------------------------------------------------
# Russell, S. & Norvig, P. (2010), *Artificial Intelligence: A Modern
# Approach*, 3rd ed., Figure 17.3: the utilities of the 4x3 world of
# Figure 17.1 (intended move 0.8, each side 0.1, R(s) = -0.04 in
# non-terminal states, terminals +1 and -1, no discount). Printed with three
# decimals; rows top to bottom, None for the wall and the terminals.
AIMA_4X3_MAP = ("...G", ".#.H", "S...")
AIMA_4X3_UTILITIES = (
    (0.812, 0.868, 0.918, None),
    (0.762, None, 0.660, None),
    (0.705, 0.655, 0.611, 0.388),
)
AIMA_PRINTED_ATOL = 0.0005 + 1e-9

# --------------------------------------------------------------------------
# Sutton & Barto (2018), Example 6.5 (§6.4), windy gridworld: start (3, 0),
# goal (3, 7), wind 0 0 0 1 1 1 2 2 1 0. "The optimal trajectory ... takes 15
# time steps" (Figure 6.3 caption), so with reward -1 per step V*(start) = -15
# at γ = 1. With king's moves (Exercise 6.9) the optimum is 7 steps: not
# printed in the book; the tests check it by breadth-first search.
WINDY_START = 30
WINDY_SHORTEST_PATH = 15
WINDY_KING_SHORTEST_PATH = 7

# --------------------------------------------------------------------------
# pymdptoolbox (S. Cordwell, 2015), ``mdptoolbox.example.forest()`` with its
# defaults S=3, r1=4, r2=2, p=0.1. Its docstring prints (A, S, S) P and (S, A) R:
FOREST_P = (
    ((0.1, 0.9, 0.0), (0.1, 0.0, 0.9), (0.1, 0.0, 0.9)),  # action 0, wait
    ((1.0, 0.0, 0.0), (1.0, 0.0, 0.0), (1.0, 0.0, 0.0)),  # action 1, cut
)
FOREST_R = ((0.0, 0.0), (0.0, 1.0), (4.0, 2.0))
# ``mdptoolbox.mdp.PolicyIteration`` docstring: discount 0.9 gives
# V = (26.244000000000014, 29.484000000000016, 33.484000000000016), policy (0, 0, 0).
FOREST_GAMMA = 0.9
FOREST_V_STAR = (26.244000000000014, 29.484000000000016, 33.484000000000016)
FOREST_POLICY = (0, 0, 0)
# ``mdptoolbox.mdp.ValueIteration`` docstring: discount 0.96 stops after
# ``vi.iter == 4`` sweeps from zero with V = (5.93215488, 9.38815488, 13.38815488),
# i.e. the 4th synchronous sweep T^4 0, not V*.
FOREST_VI_GAMMA = 0.96
FOREST_VI_SWEEPS = 4
FOREST_VI_V = (5.93215488, 9.38815488, 13.38815488)

# --------------------------------------------------------------------------
# Sutton & Barto (2018), Example 4.2 (§4.3), Figure 4.2: Jack's car rental at
# γ = 0.9. The figure's surface of v_π4 (π4 is optimal: policy iteration
# stopped) is labelled 420 at its bottom and 612 at its top; its policy map
# uses the moves -4..5, with +5 where the first location is full and the
# second empty, -4 the other way round, and 0 at both empty, both full and
# the middle (the cells below).
JACKS_GAMMA = 0.9
JACKS_V_STAR_LOWER_LABEL = 420.0
JACKS_V_STAR_UPPER_LABEL = 612.0
JACKS_POLICY_MOVES = tuple(range(-4, 6))
JACKS_POLICY_CELLS = {(20, 0): 5, (0, 20): -4, (0, 0): 0, (20, 20): 0, (10, 10): 0}
# Not printed in the book; computed here (min, max) of V* to 0.01, each checked
# against a loop-by-loop solution in test_car_rental:
# - the exact model of the book's text, which is also the book author's
#   published Lisp program for the figure (tables P1, P2 over 0..25 morning
#   cars, Poisson terms down to 1e-6, moves clipped to the cars available):
#   only the lower label is reproduced, the top is 25 above 612.
JACKS_V_STAR_RANGE = (421.41, 636.99)
# - Poisson requests and returns truncated to 0..10 without renormalising, as in
#   ShangtongZhang/reinforcement-learning-an-introduction, chapter04/car_rental.py
#   (POISSON_UPPER_BOUND = 11; its default run also replaces Poisson returns by
#   their means, which gives 415.77..625.64): 0.34% of the mass vanishes each
#   day, every value drops by about 3%, and neither label is reproduced.
JACKS_TRUNCATED_V_STAR_RANGE = (405.30, 616.82)


# ----------------------------------------------------------- pure Python DP
Transitions = Mapping[int, Mapping[int, Sequence[tuple[float, int, float, bool]]]]


def backup(P: Transitions, V: Sequence[float], s: int, a: int, gamma: float) -> float:
    """``Σ p [r + γ V(s') (1 - terminated)]`` over the outcomes of ``(s, a)``."""
    return sum(p * (r + (0.0 if done else gamma * V[s2])) for p, s2, r, done in P[s][a])


def value_iteration(
    P: Transitions,
    gamma: float,
    *,
    sweeps: int | None = None,
    tol: float = 1e-12,
    max_sweeps: int = 100_000,
) -> list[float]:
    """Synchronous sweeps from V = 0: exactly ``sweeps`` of them, or V* (change < ``tol``)."""
    V = [0.0] * len(P)
    for k in range(sweeps or max_sweeps):
        new = [max(backup(P, V, s, a, gamma) for a in P[s]) for s in range(len(P))]
        change = max(abs(x - y) for x, y in zip(new, V, strict=True))
        V = new
        if (sweeps is None and change < tol) or k + 1 == sweeps:
            return V
    raise AssertionError(f"reference value iteration did not converge in {max_sweeps} sweeps")


def greedy(P: Transitions, V: Sequence[float], gamma: float) -> list[int]:
    """The greedy policy of ``V`` (ties to the lowest action)."""
    policy = []
    for s in range(len(P)):
        values = [backup(P, V, s, a, gamma) for a in sorted(P[s])]
        policy.append(values.index(max(values)))
    return policy


def evaluate(
    P: Transitions,
    policy: Callable[[int], Mapping[int, float]],
    gamma: float,
    *,
    sweeps: int | None = None,
    tol: float = 1e-12,
) -> list[float]:
    """V^π by synchronous sweeps: exactly ``sweeps`` of them, or until the change < ``tol``.

    ``policy(s)`` maps actions to their probabilities ``π(a|s)``.
    """
    V = [0.0] * len(P)
    for k in range(sweeps or 1_000_000):
        new = [
            sum(w * backup(P, V, s, a, gamma) for a, w in policy(s).items()) for s in range(len(P))
        ]
        change = max(abs(x - y) for x, y in zip(new, V, strict=True))
        V = new
        if sweeps is None and change < tol:
            return V
        if sweeps is not None and k + 1 == sweeps:
            return V
    raise AssertionError("reference policy evaluation did not converge")


def shortest_path(P: Transitions, start: int) -> int:
    """The fewest steps from ``start`` to a terminating outcome (breadth-first search)."""
    depth = {start: 0}
    queue = deque([start])
    while queue:
        s = queue.popleft()
        for outcomes in P[s].values():
            for p, s2, _, done in outcomes:
                if p > 0 and done:
                    return depth[s] + 1
                if p > 0 and s2 not in depth:
                    depth[s2] = depth[s] + 1
                    queue.append(s2)
    raise AssertionError(f"no terminating outcome is reachable from state {start}")
