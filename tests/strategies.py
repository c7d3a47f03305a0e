"""Hypothesis strategies: random small MDPs and policies.

A :class:`RandomMDP` keeps the FrozenLake-style dict ``P`` it was drawn as, so
that tests can build the *same* model in several equivalent formulations
(QuantEcon runs its ``DiscreteDP`` tests over dense and sparse inputs the same
way) and compute references from ``P`` itself, never from the arrays under test:

- ``from_transitions(P)``: the dict as drawn, outcome for outcome;
- ``from_outcomes``: ``(S, A, K)`` arrays padded with probability 0;
- ``from_arrays`` with one extra absorbing state ``S`` listed in
  ``terminal_states``: every terminating outcome is redirected into it, and
  outcomes that share ``(s, a, s')`` are merged, with the probability-weighted
  mean reward as ``R(s, a, s')``. The first ``S`` values must not change.

Draws include duplicate next states within a row, terminating outcomes,
zero-probability outcomes, and rewards of both signs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from rl_planners import TabularMDP

__all__ = [
    "DISCOUNTS",
    "RandomMDP",
    "deterministic_policies",
    "random_mdps",
    "stochastic_policies",
]

DISCOUNTS = (0.0, 0.5, 0.9, 0.99)
"""Discount factors the properties run at (γ = 1 only for episodic draws)."""

Outcome = tuple[float, int, float, bool]

REWARDS = st.one_of(
    st.integers(-10, 10).map(float),
    st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False),
)


@dataclass(frozen=True)
class RandomMDP:
    """A drawn model: its dict ``P`` and builders of equivalent TabularMDPs."""

    P: dict[int, dict[int, list[Outcome]]]
    n_states: int
    n_actions: int

    def from_transitions(self) -> TabularMDP:
        return TabularMDP.from_transitions(self.P)

    def outcome_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(next_state, prob, reward, terminated)``, each ``(S, A, K)``, zero-padded."""
        k = max(len(outcomes) for row in self.P.values() for outcomes in row.values())
        shape = (self.n_states, self.n_actions, k)
        next_state = np.zeros(shape, dtype=np.int64)
        prob = np.zeros(shape)
        reward = np.zeros(shape)
        terminated = np.zeros(shape, dtype=bool)
        for s, row in self.P.items():
            for a, outcomes in row.items():
                for i, (p, s_next, r, done) in enumerate(outcomes):
                    next_state[s, a, i] = s_next
                    prob[s, a, i] = p
                    reward[s, a, i] = r
                    terminated[s, a, i] = done
        return next_state, prob, reward, terminated

    def from_outcomes(self) -> TabularMDP:
        return TabularMDP.from_outcomes(*self.outcome_arrays())

    def dense_with_sink(self) -> tuple[np.ndarray, np.ndarray]:
        """``(T, R)`` of shape ``(S+1, A, S+1)``; state ``S`` absorbs terminations."""
        n, sink = self.n_states + 1, self.n_states
        T = np.zeros((n, self.n_actions, n))
        weighted_reward = np.zeros((n, self.n_actions, n))
        for s, row in self.P.items():
            for a, outcomes in row.items():
                for p, s_next, r, done in outcomes:
                    target = sink if done else s_next
                    T[s, a, target] += p
                    weighted_reward[s, a, target] += p * r
        T[sink, :, sink] = 1.0
        R = np.divide(
            weighted_reward, T, out=np.zeros_like(T), where=T > 0
        )  # R(s, a, s') = E[reward | s, a, s']
        return T, R

    def from_arrays_with_sink(self) -> TabularMDP:
        T, R = self.dense_with_sink()
        return TabularMDP.from_arrays(T, R, terminal_states=[self.n_states])

    def formulations(self) -> dict[str, TabularMDP]:
        """Equivalent models; values agree on states ``0..S-1``."""
        return {
            "from_transitions": self.from_transitions(),
            "from_outcomes": self.from_outcomes(),
            "from_arrays_with_sink": self.from_arrays_with_sink(),
        }


@st.composite
def _row(draw, n_states: int, max_outcomes: int, episodic: bool) -> list[Outcome]:
    """The outcome list of one (state, action) pair."""
    k = draw(st.integers(1, max_outcomes))
    raw = draw(
        st.lists(
            st.tuples(
                st.integers(0, 10),  # weight; 0 gives a zero-probability outcome
                st.integers(0, n_states - 1),
                REWARDS,
                st.booleans(),
            ),
            min_size=k,
            max_size=k,
        )
    )
    if all(weight == 0 for weight, *_ in raw):
        raw[0] = (1, *raw[0][1:])
    if episodic and not any(weight > 0 and done for weight, _, _, done in raw):
        # every row ends the episode with probability >= 1/40, so every
        # policy terminates and gamma = 1 is well posed
        weight, s_next, r, _ = raw[0]
        raw[0] = (max(weight, 1), s_next, r, True)
    total = sum(weight for weight, *_ in raw)
    return [(weight / total, s_next, r, done) for weight, s_next, r, done in raw]


@st.composite
def random_mdps(
    draw,
    max_states: int = 8,
    max_actions: int = 4,
    max_outcomes: int = 4,
    episodic: bool = False,
) -> RandomMDP:
    """A random MDP with S in 1..max_states and A in 1..max_actions.

    With ``episodic=True`` every (state, action) pair terminates with positive
    probability, so every policy ends almost surely and γ = 1 is allowed.
    """
    n_states = draw(st.integers(1, max_states))
    n_actions = draw(st.integers(1, max_actions))
    P = {
        s: {a: draw(_row(n_states, max_outcomes, episodic)) for a in range(n_actions)}
        for s in range(n_states)
    }
    return RandomMDP(P, n_states, n_actions)


def deterministic_policies(n_states: int, n_actions: int) -> st.SearchStrategy:
    """``(S,)`` int64 arrays of actions."""
    return st.lists(st.integers(0, n_actions - 1), min_size=n_states, max_size=n_states).map(
        lambda actions: np.array(actions, dtype=np.int64)
    )


def stochastic_policies(n_states: int, n_actions: int) -> st.SearchStrategy:
    """``(S, A)`` float64 arrays whose rows are distributions over actions."""

    def normalise(rows: list[list[int]]) -> np.ndarray:
        weights = np.array(rows, dtype=np.float64)
        weights[weights.sum(axis=1) == 0, 0] = 1.0
        return weights / weights.sum(axis=1, keepdims=True)

    row = st.lists(st.integers(0, 5), min_size=n_actions, max_size=n_actions)
    return st.lists(row, min_size=n_states, max_size=n_states).map(normalise)
