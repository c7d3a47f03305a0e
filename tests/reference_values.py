"""Published reference values the tests compare against, each with its source.

Book references are to Sutton, R. S. and Barto, A. G. (2018), *Reinforcement
Learning: An Introduction*, 2nd edition, MIT Press ("S&B" below). Figures in
the book print one decimal, so a value printed as ``-1.7`` stands for anything
within ``PRINTED_ATOL`` of it (``-1.75`` is printed as ``-1.7``).

Values that nobody publishes for the current Gymnasium versions (Taxi-v4,
CliffWalkingSlippery-v1, FrozenLake8x8-v1 without a time limit) are not kept
here: the tests compute them independently from ``env.unwrapped.P``. The only
computed figures kept are the FrozenLake time-limited ones pinned to 4
decimals beside the registry's 2-decimal optima, marked "not published".
"""

from __future__ import annotations

import numpy as np

PRINTED_ATOL = 0.05 + 1e-9
"""Half a unit in the last printed decimal of S&B's one-decimal figures."""

# --------------------------------------------------------------------------
# S&B Example 4.1, Figure 4.1 (§4.1): the 4x4 gridworld, states numbered
# row-major 0..15, 0 and 15 terminal, reward -1 on every transition, moves off
# the grid leave the state unchanged, equiprobable random policy, γ = 1.
# V_k after k synchronous sweeps of iterative policy evaluation from V_0 = 0
# (left column of the figure) and its limit k = ∞.
GRIDWORLD_4X4_TERMINALS = (0, 15)
FIGURE_4_1_ITERATES = {
    1: [
        [0.0, -1.0, -1.0, -1.0],
        [-1.0, -1.0, -1.0, -1.0],
        [-1.0, -1.0, -1.0, -1.0],
        [-1.0, -1.0, -1.0, 0.0],
    ],
    2: [
        [0.0, -1.7, -2.0, -2.0],
        [-1.7, -2.0, -2.0, -2.0],
        [-2.0, -2.0, -2.0, -1.7],
        [-2.0, -2.0, -1.7, 0.0],
    ],
    3: [
        [0.0, -2.4, -2.9, -3.0],
        [-2.4, -2.9, -3.0, -2.9],
        [-2.9, -3.0, -2.9, -2.4],
        [-3.0, -2.9, -2.4, 0.0],
    ],
    10: [
        [0.0, -6.1, -8.4, -9.0],
        [-6.1, -7.7, -8.4, -8.4],
        [-8.4, -8.4, -7.7, -6.1],
        [-9.0, -8.4, -6.1, 0.0],
    ],
}
FIGURE_4_1_LIMIT = [
    [0.0, -14.0, -20.0, -22.0],
    [-14.0, -18.0, -20.0, -20.0],
    [-20.0, -20.0, -18.0, -14.0],
    [-22.0, -20.0, -14.0, 0.0],
]
"""k = ∞ in Figure 4.1: integers, exact (the figure prints them without decimals)."""

# --------------------------------------------------------------------------
# S&B Example 3.5 (§3.5), the 5x5 gridworld: from A = (0, 1) every action
# earns +10 and moves to A' = (4, 1); from B = (0, 3) every action earns +5
# and moves to B' = (2, 3); a move off the grid earns -1 and stays; every
# other move earns 0. γ = 0.9. Rows top to bottom, columns left to right.
GRIDWORLD_5X5_GAMMA = 0.9
FIGURE_3_2_V_RANDOM = [
    # Figure 3.2 (right): V of the equiprobable random policy.
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
]
FIGURE_3_5_V_STAR = [
    # Example 3.8 (§3.6), Figure 3.5 (middle): the optimal state values v*.
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
]

# --------------------------------------------------------------------------
# S&B Example 4.3 (§4.4), the gambler's problem: capital s in 1..99, stakes
# a in {0, 1, ..., min(s, 100 - s)}, heads with probability p_h doubles the
# stake, reward +1 on reaching 100, γ = 1; V*(s) is the probability of
# winning. Figure 4.3 plots it for p_h = 0.4. For p_h < 1/2 bold play is
# optimal (Dubins and Savage, *How to Gamble If You Must*, 1965), which gives
# these points in closed form: V*(50) = p_h, V*(25) = p_h · V*(50) = p_h²,
# V*(75) = p_h + (1 - p_h) · V*(50).
GAMBLER_GOAL = 100
GAMBLER_HEADS_PROBABILITY = 0.4
GAMBLER_V_STAR = {25: 0.16, 50: 0.4, 75: 0.64}

# --------------------------------------------------------------------------
# S&B Example 6.6 (§6.5), cliff walking, as Gymnasium's CliffWalking-v1
# implements it (its docstring cites S&B): -1 per step, -100 and back to the
# start for stepping into the cliff. The optimal path runs along the cliff
# edge: up, eleven steps right, down, so the optimal undiscounted return from
# the start state is -13.
CLIFF_WALKING_START_STATE = 36
CLIFF_WALKING_OPTIMAL_RETURN = -13.0

# --------------------------------------------------------------------------
# Gymnasium FrozenLake-v1 (4x4 map, slippery), γ = 1, no time limit: V*(s) is
# the highest probability of ever reaching the goal. V*(0) ≈ 0.8235 is the
# value quoted throughout FrozenLake dynamic-programming tutorials; the whole
# table below is the one they print (8 decimals; e.g. the value table printed
# by public FrozenLake-v1 value-iteration write-ups: 0.82352941 ... 0.94117647).
# It is (14, 14, 14, 14, 14, 0, 9, 0, 14, 14, 13, 0, 0, 15, 16, 0) / 17.
FROZEN_LAKE_4X4_V_STAR_GAMMA_1 = np.array(
    [
        [0.82352941, 0.82352941, 0.82352941, 0.82352941],
        [0.82352941, 0.0, 0.52941176, 0.0],
        [0.82352941, 0.82352941, 0.76470588, 0.0],
        [0.0, 0.88235294, 0.94117647, 0.0],
    ]
).ravel()
FROZEN_LAKE_4X4_PRINTED_ATOL = 5e-9 + 1e-10
FROZEN_LAKE_4X4_V0_QUOTED = 0.8235
"""V*(0) as the tutorials quote it, to 4 decimals."""

# --------------------------------------------------------------------------
# Gymnasium FrozenLake-v1 (4x4 map, slippery), γ = 0.99, no time limit: V*
# printed to 4 decimals in M. Morales, *Grokking Deep Reinforcement Learning*
# (Manning, 2020), ch. 3, notebook mimoralea/gdrl
# notebooks/chapter_03/chapter-03.ipynb, cells 42 (policy iteration) and 47
# (value iteration). Holes and goal are 0.
FROZEN_LAKE_4X4_V_STAR_GAMMA_0_99 = np.array(
    [
        [0.5420, 0.4988, 0.4707, 0.4569],
        [0.5585, 0.0, 0.3583, 0.0],
        [0.5918, 0.6431, 0.6152, 0.0],
        [0.0, 0.7417, 0.8628, 0.0],
    ]
).ravel()

# --------------------------------------------------------------------------
# Gymnasium 1.4, gymnasium/envs/__init__.py, the comments beside the
# registrations: FrozenLake-v1 "max_episode_steps=100, reward_threshold=0.70,
# # optimum = 0.74" and FrozenLake8x8-v1 "max_episode_steps=200,
# reward_threshold=0.85,  # optimum = 0.91". They are the best success rates
# within those time limits (finite-horizon optima, γ = 1), not
# infinite-horizon values; two decimals. (Taxi-v4's "optimum = 8.46" is not
# used: it is for the Taxi-v2 map.)
FROZEN_LAKE_REGISTRY_OPTIMUM = {"FrozenLake-v1": 0.74, "FrozenLake8x8-v1": 0.91}
# Not published, pinned so that a change in the env is noticed: the same
# optima to 4 decimals, by dense backward induction on ``env.unwrapped.P``
# (tests/independent.py): 0.744190 and 0.913220.
FROZEN_LAKE_TIME_LIMITED_OPTIMUM = {"FrozenLake-v1": 0.7442, "FrozenLake8x8-v1": 0.9132}
# Not published either: the success rates within the same limits of the
# stationary policies optimal at γ = 0.99 (the agents' default), by dense
# policy evaluation: 0.740165 and 0.862955.
FROZEN_LAKE_STATIONARY_WITHIN_LIMIT = {"FrozenLake-v1": 0.7402, "FrozenLake8x8-v1": 0.8630}
