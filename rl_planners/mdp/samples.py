r"""Samples of transitions counted into the arrays of the empirical model, and its radii.

- :func:`count_transitions` turns samples ``(s, a, r, s', terminated)`` into
  the CSR outcome arrays of the empirical model, :class:`SampleCounts`:
  ``P̂(s', d | s, a) = n(s, a, s', d) / n(s, a)`` for each observed outcome
  ``(s', d)`` (``d`` the terminated flag), with the mean reward of its samples;
  pairs never sampled get one outcome by a documented rule.
- :func:`weissman_l1_radius`: how far such an empirical distribution may lie
  from the true one (Weissman et al. 2003).

The samples themselves come from a user's loop, a Minari dataset or
:func:`~rl_planners.mdp.sampling.sample_every_pair` (re-exported here). Only
the model's leaves (:mod:`~rl_planners.mdp.outcomes`,
:mod:`~rl_planners.mdp.checks`, :mod:`~rl_planners.mdp.sampling`) lie below,
so :class:`~rl_planners.mdp.TabularMDP` may build on this module.

References
----------
Weissman, Ordentlich, Seroussi, Verdú & Weinberger (2003), "Inequalities for
the L1 deviation of the empirical distribution", HP Labs HPL-2003-97, Thm 2.1.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_planners.gym_env import space_size
from rl_planners.mdp.checks import check_count, read_only_copy
from rl_planners.mdp.outcomes import Outcomes
from rl_planners.mdp.sampling import env_sizes, sample_every_pair

__all__ = [
    "UNVISITED_RULES",
    "SampleCounts",
    "check_delta",
    "check_indices",
    "count_transitions",
    "env_sizes",
    "sample_every_pair",
    "space_size",
    "weissman_l1_radius",
]

UNVISITED_RULES = ("self_loop", "optimistic")
"""The rules for (state, action) pairs without samples (see :func:`count_transitions`)."""


# ------------------------------------------------------------------ counting
@dataclass(frozen=True, eq=False)
class SampleCounts:
    """The empirical model's outcome arrays and the statistics behind them.

    Attributes
    ----------
    outcomes : Outcomes
        In :class:`~rl_planners.mdp.TabularMDP`'s CSR layout (row ``s*A + a``);
        within a row, observed outcomes are sorted by next state, then by the
        terminated flag. ``prob = n(s, a, s', d) / n(s, a)`` (1 for an unvisited
        pair's filler outcome) and ``reward`` the mean reward of the samples
        with this outcome.
    outcome_counts : numpy.ndarray
        ``[N]`` int64, ``n(s, a, s', d)``; 0 for a filler outcome.
    counts : numpy.ndarray
        ``[S, A]`` int64, ``n(s, a)``.
    visited : numpy.ndarray
        ``[S, A]`` bool, ``n(s, a) > 0``.
    n_samples : int
    reward_range : tuple of float
        The smallest and largest sampled reward.

    All arrays, those of ``outcomes`` included, are read-only copies.
    """

    outcomes: Outcomes
    outcome_counts: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    visited: np.ndarray = field(repr=False)
    n_samples: int = 0
    reward_range: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        sizes, arrays = self.outcomes[:2], self.outcomes[2:]
        object.__setattr__(self, "outcomes", Outcomes(*sizes, *map(read_only_copy, arrays)))
        for name in ("outcome_counts", "counts", "visited"):
            object.__setattr__(self, name, read_only_copy(getattr(self, name)))


def check_indices(values: Any, name: str, size: int, size_name: str) -> np.ndarray:
    """``values`` as 1-D int64 indices in ``0..size-1``, naming the first bad sample."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array (one entry per sample), got shape {array.shape}"
        )
    if array.size == 0:  # reported with the other arrays' lengths
        return np.empty(0, dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer indices, got dtype {array.dtype} "
            f"(sample 0: {array[0].item()!r}); "
            f"pass integers, e.g. np.asarray({name}).astype(np.int64)"
        )
    bad = np.flatnonzero((array < 0) | (array >= size))
    if bad.size:
        raise ValueError(
            f"{name} must lie in 0..{size - 1} ({size_name}={size}); got "
            f"{array[bad[0]].item()!r} at sample {bad[0]}"
        )
    return array.astype(np.int64)


def _reward_array(values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"rewards must be a 1-D array (one per sample), got shape {array.shape}")
    if array.dtype.kind not in "iuf":
        raise TypeError(f"rewards must be real numbers, got dtype {array.dtype}")
    rewards = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(rewards))
    if bad.size:
        raise ValueError(
            f"rewards must be finite; got {rewards[bad[0]].item()!r} at sample {bad[0]}"
        )
    return rewards


def _flag_array(values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(
            f"terminated must be a 1-D array (one flag per sample), got shape {array.shape}"
        )
    if array.dtype.kind == "b":
        return array.astype(np.bool_)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"terminated must hold booleans (or 0/1), got dtype {array.dtype}")
    bad = np.flatnonzero((array != 0) & (array != 1))
    if bad.size:
        raise ValueError(
            f"terminated flags must be True/False or 0/1; got {array[bad[0]].item()!r} "
            f"at sample {bad[0]}"
        )
    return array != 0


def count_transitions(
    states: Any,
    actions: Any,
    rewards: Any,
    next_states: Any,
    terminated: Any,
    *,
    n_states: int,
    n_actions: int,
    unvisited: str = "self_loop",
    optimistic_reward: float | None = None,
) -> SampleCounts:
    r"""Count samples into the empirical model's arrays.

    Parameters
    ----------
    states, actions, next_states : array_like of int, shape (n,)
        Sample ``i`` is the transition ``states[i] --actions[i]--> next_states[i]``.
    rewards : array_like of float, shape (n,)
    terminated : array_like of bool (or 0/1), shape (n,)
        Whether the episode ended with sample ``i`` (a truncation is not a termination).
    n_states, n_actions : int
        ``S`` and ``A``; indices must lie in ``0..S-1`` and ``0..A-1``.
    unvisited : {"self_loop", "optimistic"}
        The model of a pair with no samples: ``"self_loop"``, stay in ``s``
        with reward 0, not terminating (``Q̂(s, a) = γ V̂(s)``: the pair looks
        like waiting); ``"optimistic"``, terminate with reward
        ``optimistic_reward`` (``Q̂(s, a) = optimistic_reward``: a planner
        tries the pair if that beats what it knows, as in R-max, Brafman &
        Tennenholtz 2002, where ``R_max / (1−γ)`` is the value to give).
    optimistic_reward : float, optional
        Required with ``unvisited="optimistic"``.

    Returns
    -------
    SampleCounts

    Raises
    ------
    TypeError
        Indices that are not integers, rewards or flags that are not numbers.
    ValueError
        Arrays of different lengths or none at all, an index out of range, a
        reward that is not finite, a flag that is not 0/1 (the sample and its
        value are named), an unknown rule, or a missing ``optimistic_reward``.

    Notes
    -----
    ``prob = n(s, a, s', d) / n(s, a)`` and ``reward = Σ_{i ∈ (s,a,s',d)} r_i /
    n(s, a, s', d)``, so the model's ``R̂(s, a) = Σ prob · reward`` is the mean
    sampled reward of the pair. Samples in any order give the same arrays.
    """
    n_states = check_count(n_states, "n_states")
    n_actions = check_count(n_actions, "n_actions")
    if unvisited not in UNVISITED_RULES:
        raise ValueError(f"unvisited must be 'self_loop' or 'optimistic', got {unvisited!r}")
    if unvisited == "optimistic":
        if (
            optimistic_reward is None
            or isinstance(optimistic_reward, bool)
            or not isinstance(optimistic_reward, numbers.Real)
            or not math.isfinite(optimistic_reward)
        ):
            raise ValueError(
                "unvisited='optimistic' needs a finite optimistic_reward, e.g. "
                f"R_max / (1 - gamma); got {optimistic_reward!r}"
            )
        filler_reward, filler_terminated = float(optimistic_reward), True
    else:
        filler_reward, filler_terminated = 0.0, False
    s = check_indices(states, "states", n_states, "n_states")
    a = check_indices(actions, "actions", n_actions, "n_actions")
    s_next = check_indices(next_states, "next_states", n_states, "n_states")
    r = _reward_array(rewards)
    d = _flag_array(terminated)
    lengths = {"states": s.size, "actions": a.size, "rewards": r.size}
    lengths |= {"next_states": s_next.size, "terminated": d.size}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"the sample arrays must have one length, got {lengths}")
    if s.size == 0:
        raise ValueError("no samples: the arrays are empty")

    n_rows = n_states * n_actions
    row = s * n_actions + a  # [n]
    order = np.lexsort((d, s_next, row))  # by row, then next state, then flag
    row, s_next, d, r = row[order], s_next[order], d[order], r[order]
    starts = np.flatnonzero(
        np.concatenate(([True], (np.diff(row) != 0) | (np.diff(s_next) != 0) | (d[1:] != d[:-1])))
    )  # first sample of each distinct outcome
    outcome_counts = np.diff(np.append(starts, row.size))  # [K]
    outcome_row = row[starts]
    counts = np.bincount(row, minlength=n_rows)  # [S*A]
    mean_reward = np.add.reduceat(r, starts) / outcome_counts

    empty = np.flatnonzero(counts == 0)  # one filler outcome each
    all_rows = np.concatenate((outcome_row, empty))
    by_row = np.argsort(all_rows, kind="stable")
    row_offsets = np.cumsum(np.bincount(all_rows, minlength=n_rows), dtype=np.int64)
    return SampleCounts(
        outcomes=Outcomes(
            n_states,
            n_actions,
            np.concatenate(([0], row_offsets)),
            next_state=np.concatenate((s_next[starts], empty // n_actions))[by_row],
            prob=np.concatenate((outcome_counts / counts[outcome_row], np.ones(empty.size)))[
                by_row
            ],
            reward=np.concatenate((mean_reward, np.full(empty.size, filler_reward)))[by_row],
            terminated=np.concatenate((d[starts], np.full(empty.size, filler_terminated)))[by_row],
        ),
        outcome_counts=np.concatenate((outcome_counts, np.zeros(empty.size, np.int64)))[by_row],
        counts=counts.reshape(n_states, n_actions).astype(np.int64),
        visited=(counts > 0).reshape(n_states, n_actions),
        n_samples=int(s.size),
        reward_range=(float(r.min()), float(r.max())),
    )


# ------------------------------------------------------------ confidence radii
def check_delta(delta: Any) -> float:
    """``delta`` as a float in (0, 1): ``TypeError`` for a non-number, else ``ValueError``."""
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"delta must be a number in (0, 1), got {delta!r}")
    delta = float(delta)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie strictly between 0 and 1, got {delta!r}")
    return delta


def weissman_l1_radius(counts: Any, delta: float, *, n_outcomes: int) -> np.ndarray:
    r"""The L1 confidence radius of an empirical distribution from ``n`` samples.

    Parameters
    ----------
    counts : array_like of int
        The number of samples ``n`` behind each empirical distribution (any shape).
    delta : float
        The failure probability of each radius, in (0, 1).
    n_outcomes : int
        The size ``k`` of the alphabet the samples are drawn from.

    Returns
    -------
    numpy.ndarray
        float64 radii of the shape of ``counts``:
        ``ε(n) = min(2, sqrt(2 (ln(2^k − 2) − ln δ) / n))``; 2 (the largest
        L1 distance of two distributions) where ``n = 0``, and 0 where ``k = 1``
        and ``n ≥ 1`` (one possible outcome is always estimated exactly).

    Raises
    ------
    ValueError
        Negative counts, ``delta`` outside (0, 1), ``n_outcomes < 1``.

    Notes
    -----
    Weissman et al. (2003), Thm 2.1: for the empirical distribution ``P̂`` of
    ``n`` i.i.d. draws from ``P`` on ``k`` letters,
    ``Pr(‖P̂ − P‖₁ ≥ ε) ≤ (2^k − 2) exp(−n ε² / 2)``; solving
    ``(2^k − 2) exp(−n ε²/2) = δ`` gives ``ε(n)``, so that
    ``‖P̂ − P‖₁ < ε(n)`` with probability at least ``1 − δ``. The logarithm is
    taken as ``ln(2^k − 2) = k ln 2 + log1p(−2^{1−k})``, finite for any ``k``
    (``2^k`` overflows float64 beyond ``k = 1023``).

    References
    ----------
    Weissman, Ordentlich, Seroussi, Verdú & Weinberger (2003), "Inequalities
    for the L1 deviation of the empirical distribution", HPL-2003-97, Thm 2.1.

    Examples
    --------
    >>> weissman_l1_radius([0, 100], 0.05, n_outcomes=2).round(4)
    array([2.    , 0.2716])
    """
    delta = check_delta(delta)
    k = check_count(n_outcomes, "n_outcomes")
    n = np.asarray(counts)
    if n.dtype.kind not in "iu":
        raise TypeError(f"counts must be integers, got dtype {n.dtype}")
    if np.any(n < 0):
        raise ValueError(f"counts must be non-negative, got {n[n < 0].flat[0]}")
    if k == 1:
        return np.where(n > 0, 0.0, 2.0)
    log_subsets = k * math.log(2.0) + math.log1p(-(2.0 ** (1 - k)))  # ln(2^k − 2)
    with np.errstate(divide="ignore"):
        radius = np.sqrt(2.0 * (log_subsets - math.log(delta)) / n)
    return np.minimum(radius, 2.0)
