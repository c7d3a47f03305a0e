r"""Certainty-equivalence models estimated from samples, for envs without ``P``.

Samples ``(s, a, r, s', terminated)`` from a user's loop, from a resettable
env (a *generative model*) or from a Minari dataset become a
:class:`~rl_planners.mdp.TabularMDP` whose outcome probabilities are the
empirical frequencies and whose rewards are the sample means:

- ``P̂(s', d | s, a) = n(s, a, s', d) / n(s, a)`` for every observed outcome
  ``(s', d)`` (``d`` the terminated flag), and
- ``r̂(s, a, s', d)`` the mean reward of the samples with that outcome, so
  that ``R̂(s, a) = Σ P̂ r̂`` is the mean reward of the samples of ``(s, a)``.

Pairs never sampled (``n(s, a) = 0``) get one outcome by a documented rule
(``unvisited="self_loop"`` or ``"optimistic"``, see :func:`count_transitions`).

How good is the model? With ``n`` samples of a pair, the empirical
distribution of its outcomes lies within the L1 radius of Weissman et al.
(2003) of the true one (:func:`weissman_l1_radius`), and the simulation lemma
turns the radii into a bound on ``‖V^π − V̂^π‖∞`` for every policy at once
(:meth:`EstimatedModel.value_error_bound`).

The counting (:func:`count_transitions`, :class:`SampleCounts`) needs
nothing of :class:`~rl_planners.mdp.TabularMDP`; the functions that build one
(:func:`model_from_samples`, :func:`estimate_model`, :func:`model_from_minari`)
do.

References
----------
Weissman, Ordentlich, Seroussi, Verdú & Weinberger (2003), "Inequalities for
the L1 deviation of the empirical distribution", HP Labs HPL-2003-97, Thm 2.1.
Kearns & Singh (2002), "Near-optimal reinforcement learning in polynomial
time", Machine Learning 49, Lemma 4 (simulation lemma).
Agarwal, Jiang, Kakade & Sun (2019), "Reinforcement Learning: Theory and
Algorithms", Lemma 2.2 (simulation lemma) and §2.2.
Hoeffding (1963), "Probability inequalities for sums of bounded random
variables", JASA 58, Thm 2.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_planners.mdp import TabularMDP
from rl_planners.validation import check_gamma, check_policy

__all__ = [
    "EstimatedModel",
    "SampleCounts",
    "count_transitions",
    "estimate_model",
    "model_from_minari",
    "model_from_samples",
    "weissman_l1_radius",
]

UNVISITED_RULES = ("self_loop", "optimistic")
"""The rules for (state, action) pairs without samples (see :func:`count_transitions`)."""


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array``."""
    copy = np.array(array)
    copy.setflags(write=False)
    return copy


# ------------------------------------------------------------------ counting
@dataclass(frozen=True, eq=False)
class SampleCounts:
    """The empirical model's raw arrays and the statistics behind them.

    The outcome arrays are in :class:`~rl_planners.mdp.TabularMDP`'s CSR
    layout (row ``s*A + a``); within a row, observed outcomes are sorted by
    next state, then by the terminated flag. All arrays are read-only copies.

    Attributes
    ----------
    n_states, n_actions : int
    row_offsets : numpy.ndarray
        ``[S*A + 1]`` int64.
    next_state : numpy.ndarray
        ``[N]`` int64.
    prob : numpy.ndarray
        ``[N]`` float64, ``n(s, a, s', d) / n(s, a)``; 1 for an unvisited pair's filler outcome.
    reward : numpy.ndarray
        ``[N]`` float64, the mean reward of the samples with this outcome.
    terminated : numpy.ndarray
        ``[N]`` bool.
    outcome_counts : numpy.ndarray
        ``[N]`` int64, ``n(s, a, s', d)``; 0 for a filler outcome.
    counts : numpy.ndarray
        ``[S, A]`` int64, ``n(s, a)``.
    visited : numpy.ndarray
        ``[S, A]`` bool, ``n(s, a) > 0``.
    n_samples : int
    reward_range : tuple of float
        The smallest and largest sampled reward.
    """

    n_states: int
    n_actions: int
    row_offsets: np.ndarray = field(repr=False)
    next_state: np.ndarray = field(repr=False)
    prob: np.ndarray = field(repr=False)
    reward: np.ndarray = field(repr=False)
    terminated: np.ndarray = field(repr=False)
    outcome_counts: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    visited: np.ndarray = field(repr=False)
    n_samples: int = 0
    reward_range: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        for name in (
            "row_offsets",
            "next_state",
            "prob",
            "reward",
            "terminated",
            "outcome_counts",
            "counts",
            "visited",
        ):
            object.__setattr__(self, name, _read_only(getattr(self, name)))


def _check_size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return int(value)


def _index_array(values: Any, name: str, size: int, size_name: str) -> np.ndarray:
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
    n_states = _check_size(n_states, "n_states")
    n_actions = _check_size(n_actions, "n_actions")
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
    s = _index_array(states, "states", n_states, "n_states")
    a = _index_array(actions, "actions", n_actions, "n_actions")
    s_next = _index_array(next_states, "next_states", n_states, "n_states")
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
    return SampleCounts(
        n_states=n_states,
        n_actions=n_actions,
        row_offsets=np.concatenate(
            ([0], np.cumsum(np.bincount(all_rows, minlength=n_rows), dtype=np.int64))
        ),
        next_state=np.concatenate((s_next[starts], empty // n_actions))[by_row],
        prob=np.concatenate((outcome_counts / counts[outcome_row], np.ones(empty.size)))[by_row],
        reward=np.concatenate((mean_reward, np.full(empty.size, filler_reward)))[by_row],
        terminated=np.concatenate((d[starts], np.full(empty.size, filler_terminated)))[by_row],
        outcome_counts=np.concatenate((outcome_counts, np.zeros(empty.size, np.int64)))[by_row],
        counts=counts.reshape(n_states, n_actions).astype(np.int64),
        visited=(counts > 0).reshape(n_states, n_actions),
        n_samples=int(s.size),
        reward_range=(float(r.min()), float(r.max())),
    )


# ------------------------------------------------------------ confidence radii
def _check_delta(delta: Any) -> float:
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
    array([2.    , 0.2448])
    """
    delta = _check_delta(delta)
    k = _check_size(n_outcomes, "n_outcomes")
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


# ------------------------------------------------------------ the estimated model
@dataclass(frozen=True, eq=False)
class EstimatedModel:
    """A certainty-equivalence model and the sample statistics behind it.

    Attributes
    ----------
    mdp : TabularMDP
        The empirical model (see :func:`count_transitions`).
    counts : numpy.ndarray
        ``[S, A]`` int64, the number of samples of each pair.
    visited : numpy.ndarray
        ``[S, A]`` bool, ``counts > 0``; the other pairs follow the ``unvisited`` rule.
    n_samples : int
    reward_range : tuple of float
        The smallest and largest sampled reward.
    unvisited : str
        The rule the unvisited pairs follow.
    """

    mdp: TabularMDP
    counts: np.ndarray = field(repr=False)
    visited: np.ndarray = field(repr=False)
    n_samples: int = 0
    reward_range: tuple[float, float] = (0.0, 0.0)
    unvisited: str = "self_loop"

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _read_only(self.counts))
        object.__setattr__(self, "visited", _read_only(self.visited))

    def l1_radius(self, delta: float) -> np.ndarray:
        r"""``[S, A]`` the Weissman L1 radius of each pair's outcome distribution.

        With probability at least ``1 − δ`` (for each pair on its own),
        ``Σ_{s'} |P̂_cont(s'|s,a) − P_cont(s'|s,a)| + |P̂(end|s,a) − P(end|s,a)|
        < l1_radius(δ)[s, a]``: the distribution over the ``k = S + 1``
        outcomes that matter for values (continue to one of the ``S`` states,
        or end the episode). See :func:`weissman_l1_radius`; 2 for unvisited
        pairs. Valid when the ``n(s, a)`` samples of a pair are i.i.d. draws
        for a fixed ``n(s, a)``, as :func:`estimate_model` takes them.
        """
        return weissman_l1_radius(self.counts, delta, n_outcomes=self.mdp.n_states + 1)

    def value_error_bound(
        self,
        policy: Any,
        gamma: float,
        delta: float,
        reward_range: tuple[float, float] | None = None,
    ) -> float:
        r"""A bound on ``‖V^π − V̂^π‖∞`` (true against estimated model) that holds w.p. ≥ 1 − δ.

        Parameters
        ----------
        policy : array_like
            Deterministic ``(S,)`` int or stochastic ``(S, A)`` float; it may
            depend on the samples (e.g. planned on :attr:`mdp`).
        gamma : float
            Discount in [0, 1).
        delta : float
            Failure probability in (0, 1), shared by all pairs and all policies.
        reward_range : (float, float), optional
            ``(r_min, r_max)``, bounds on every per-step reward of the true
            model (FrozenLake: ``(0, 1)``). Default: the sampled range, which
            is a bound only if no reward outside it is possible.

        Returns
        -------
        float
            ``inf`` if ``π`` takes an unvisited pair with positive probability
            (its model is a rule, not an estimate).

        Raises
        ------
        ValueError
            Bad policy, ``gamma`` not in [0, 1), ``delta`` not in (0, 1), or a
            reward range that is not finite or misses a sampled reward.

        Notes
        -----
        The simulation lemma (Agarwal et al. 2019, Lemma 2.2; Kearns & Singh
        2002, Lemma 4), with expected rewards: for any policy ``π``,
        ``V^π − V̂^π = (I − γ P̂_π)^{-1} [(R_π − R̂_π) + γ (P_π − P̂_π) V^π]``,
        where ``P`` runs over the ``S + 1`` outcomes (the end of the episode
        has value 0), ``‖(I − γ P̂_π)^{-1}‖∞ ≤ 1/(1−γ)`` and
        ``‖V^π‖∞ ≤ R_max/(1−γ)`` with ``R_max = max(|r_min|, |r_max|)``. With
        ``ε_P(s,a)`` the Weissman radius (:meth:`l1_radius`) and
        ``ε_R(s,a) = min(1, sqrt(ln(2/δ') / (2 n(s,a)))) (r_max − r_min)``
        Hoeffding's bound on ``|R̂ − R|``, both at ``δ' = δ / (2 S A)`` (a union
        bound over both and all pairs, so it holds for every policy at once):

        ``‖V^π − V̂^π‖∞ ≤ max_s Σ_a π(a|s) [ε_R(s,a)/(1−γ) + γ R_max ε_P(s,a)/(1−γ)²]``.

        For a deterministic policy this is ``max_s [ε_R(s, π(s))/(1−γ) +
        γ R_max ε_P(s, π(s))/(1−γ)²]``. The guarantee needs i.i.d. samples of
        a fixed number per pair (a generative model, :func:`estimate_model`);
        for trajectories of one behaviour policy it is an estimate only.

        References
        ----------
        Agarwal, Jiang, Kakade & Sun (2019), "Reinforcement Learning: Theory
        and Algorithms", Lemma 2.2; Kearns & Singh (2002), Lemma 4;
        Weissman et al. (2003), Thm 2.1; Hoeffding (1963), Thm 2.
        """
        mdp = self.mdp
        pi = check_policy(mdp, policy)
        gamma = check_gamma(gamma)
        if gamma >= 1.0:
            raise ValueError(
                f"value_error_bound needs gamma < 1 (the bound grows as 1/(1-gamma)^2), "
                f"got {gamma!r}"
            )
        delta = _check_delta(delta)
        r_min, r_max = self._reward_bounds(reward_range)
        if pi.ndim == 1:
            weights = np.zeros((mdp.n_states, mdp.n_actions))
            weights[np.arange(mdp.n_states), pi] = 1.0
        else:
            weights = pi
        uses = weights > 0.0
        if np.any(uses & ~self.visited):
            return math.inf
        pair_delta = delta / (2 * mdp.n_states * mdp.n_actions)
        eps_P = self.l1_radius(pair_delta)  # [S, A]
        with np.errstate(divide="ignore"):
            eps_R = (r_max - r_min) * np.minimum(
                1.0, np.sqrt(math.log(2.0 / pair_delta) / (2.0 * self.counts))
            )  # [S, A]
        reward_scale = max(abs(r_min), abs(r_max))
        per_pair = eps_R / (1.0 - gamma) + gamma * reward_scale * eps_P / (1.0 - gamma) ** 2
        per_pair = np.where(uses, per_pair, 0.0)  # unvisited pairs π never takes
        return float((weights * per_pair).sum(axis=1).max())

    def _reward_bounds(self, reward_range: Any) -> tuple[float, float]:
        if reward_range is None:
            return self.reward_range
        try:
            r_min, r_max = (float(x) for x in reward_range)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"reward_range must be a pair (r_min, r_max) of numbers, got {reward_range!r}"
            ) from error
        seen_min, seen_max = self.reward_range
        if not (math.isfinite(r_min) and math.isfinite(r_max) and r_min <= r_max):
            raise ValueError(
                f"reward_range must be finite with r_min <= r_max, got {reward_range!r}"
            )
        if seen_min < r_min or seen_max > r_max:
            raise ValueError(
                f"reward_range {reward_range!r} must contain every sampled reward; "
                f"the samples range over [{seen_min!r}, {seen_max!r}]"
            )
        return r_min, r_max


def _estimated_model(
    counts: SampleCounts, initial_distribution: Any, unvisited: str
) -> EstimatedModel:
    n_states = counts.n_states
    if initial_distribution is None:
        initial_distribution = np.full(n_states, 1.0 / n_states)
    mdp = TabularMDP(
        n_states,
        counts.n_actions,
        counts.row_offsets,
        counts.next_state,
        counts.prob,
        counts.reward,
        counts.terminated,
        initial_distribution,
    )
    return EstimatedModel(
        mdp=mdp,
        counts=counts.counts,
        visited=counts.visited,
        n_samples=counts.n_samples,
        reward_range=counts.reward_range,
        unvisited=unvisited,
    )


# ------------------------------------------------------------ public constructors
def _env_name(env: Any) -> str:
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return f"env {spec.id!r}"
    return f"env {type(getattr(env, 'unwrapped', env)).__name__}"


def _discrete_size(space: Any, what: str, owner: str) -> int:
    from gymnasium import spaces

    if not isinstance(space, spaces.Discrete):
        raise ValueError(f"{owner} needs a Discrete {what} for a tabular model, got {space!r}")
    if int(space.start) != 0:
        raise ValueError(
            f"{owner}'s {what} {space!r} starts at {space.start}; a tabular model needs "
            "Discrete spaces that start at 0"
        )
    return int(space.n)


def _env_sizes(env: Any) -> tuple[int, int]:
    base, name = env.unwrapped, _env_name(env)
    return (
        _discrete_size(base.observation_space, "observation_space", name),
        _discrete_size(base.action_space, "action_space", name),
    )


def model_from_samples(
    states: Any,
    actions: Any,
    rewards: Any,
    next_states: Any,
    terminated: Any,
    *,
    n_states: int | None = None,
    n_actions: int | None = None,
    env: Any = None,
    unvisited: str = "self_loop",
    optimistic_reward: float | None = None,
    initial_distribution: Any = None,
) -> EstimatedModel:
    r"""The certainty-equivalence model of samples from a user's loop.

    Parameters
    ----------
    states, actions, rewards, next_states, terminated : array_like, shape (n,)
        One entry per step, as :func:`count_transitions` takes them.
    n_states, n_actions : int, optional
        ``S`` and ``A``; default: the sizes of ``env``'s Discrete spaces.
    env : gymnasium.Env, optional
        Gives ``S`` and ``A`` (and the initial distribution, if it keeps one
        in ``initial_state_distrib`` as Gymnasium's toy_text envs do).
    unvisited : {"self_loop", "optimistic"}
    optimistic_reward : float, optional
        See :func:`count_transitions`.
    initial_distribution : array_like, shape (S,), optional
        Default: ``env.unwrapped.initial_state_distrib`` if there is one, else uniform.

    Returns
    -------
    EstimatedModel

    Raises
    ------
    TypeError, ValueError
        As :func:`count_transitions`; sizes neither given nor inferable, or
        disagreeing with ``env``'s spaces.

    Notes
    -----
    ``P̂(s', d | s, a) = n(s, a, s', d) / n(s, a)`` and ``r̂(s, a, s', d)`` the
    mean reward of those samples; the maximum-likelihood model of the samples.

    Examples
    --------
    >>> estimate = model_from_samples([0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 0, 0],
    ...                               [1, 1, 0, 0], [True, True, False, False],
    ...                               n_states=2, n_actions=1)
    >>> estimate.mdp.R[0], estimate.mdp.termination_probability[0]
    (array([0.5]), array([0.5]))
    """
    if env is not None:
        env_states, env_actions = _env_sizes(env)
        for name, given, found in (
            ("n_states", n_states, env_states),
            ("n_actions", n_actions, env_actions),
        ):
            if given is not None and given != found:
                raise ValueError(
                    f"{name}={given!r} disagrees with {_env_name(env)}, whose Discrete "
                    f"space has {found}; leave {name} out or pass the env it came from"
                )
        n_states, n_actions = env_states, env_actions
        if initial_distribution is None:
            initial_distribution = getattr(env.unwrapped, "initial_state_distrib", None)
    if n_states is None or n_actions is None:
        raise ValueError(
            "the number of states and actions cannot be read off samples (unvisited states "
            "would be missing): pass n_states= and n_actions=, or env= with Discrete spaces"
        )
    counts = count_transitions(
        states,
        actions,
        rewards,
        next_states,
        terminated,
        n_states=n_states,
        n_actions=n_actions,
        unvisited=unvisited,
        optimistic_reward=optimistic_reward,
    )
    return _estimated_model(counts, initial_distribution, unvisited)


def _settable_state(env: Any) -> Any:
    """``env.unwrapped`` if its state is a writable integer ``s``, else raise ``ValueError``."""
    base, name = env.unwrapped, _env_name(env)
    what = (
        "estimate_model sets the state before each step, and looks for a writable integer "
        "attribute `s` on env.unwrapped (Gymnasium's FrozenLake, Taxi and CliffWalking keep "
        "their state there)"
    )
    instead = "; collect transitions in your own loop and call model_from_samples instead"
    state = getattr(base, "s", None)
    if isinstance(state, bool) or not isinstance(state, numbers.Integral):
        raise ValueError(f"{name} cannot be set to a state: {what}, found s={state!r}{instead}")
    try:
        base.s = state
    except AttributeError as error:
        raise ValueError(
            f"{name} cannot be set to a state: {what}, but it is read-only{instead}"
        ) from error
    if getattr(base, "fickle_passenger", False):
        raise ValueError(
            f"{name} has fickle_passenger=True: its step also depends on a flag drawn at each "
            "reset (fickle_step), so an outcome is not a function of (s, a) alone and no "
            "tabular model of s can hold it; make the env with fickle_passenger=False"
        )
    return base


def estimate_model(
    env: Any,
    n_samples_per_pair: int,
    *,
    seed: int | None,
    unvisited: str = "self_loop",
    optimistic_reward: float | None = None,
    initial_distribution: Any = None,
) -> EstimatedModel:
    r"""Estimate a model by sampling each (state, action) pair of an env set to the state.

    The env is a generative model: for each pair, ``env.unwrapped.s`` is set
    to ``s`` and ``env.unwrapped.step(a)`` called, ``n_samples_per_pair``
    times. Wrappers are bypassed (a ``TimeLimit`` would truncate, and an
    observation wrapper would change what a state is).

    Parameters
    ----------
    env : gymnasium.Env
        Discrete spaces, and its state in a writable integer ``env.unwrapped.s``
        that ``step`` reads (FrozenLake, CliffWalking, Taxi with
        ``fickle_passenger=False``: Taxi's step also reads ``fickle_step``,
        set at reset; the ``lastaction`` and ``taxi_orientation`` it keeps
        serve rendering only).
    n_samples_per_pair : int
        ``n ≥ 1`` samples of each pair, ``S·A·n`` steps in all.
    seed : int or None
        Seeds the env's generator once, by ``env.reset(seed=seed)``.
    unvisited, optimistic_reward
        See :func:`count_transitions` (every pair is visited here; they matter
        only for the type of model reported).
    initial_distribution : array_like, shape (S,), optional
        Default: ``env.unwrapped.initial_state_distrib`` if there is one, else uniform.

    Returns
    -------
    EstimatedModel
        Its :meth:`~EstimatedModel.value_error_bound` holds: the samples of a
        pair are i.i.d. and their number is fixed.

    Raises
    ------
    ValueError
        Non-Discrete spaces, a state that cannot be set (naming the env and
        ``s``), a Taxi with a fickle passenger, ``n_samples_per_pair < 1``, or
        a step that returns an observation that is not a state index.

    Notes
    -----
    The env's state is left where the last sample put it: reset it before use.
    """
    n_samples_per_pair = _check_size(n_samples_per_pair, "n_samples_per_pair")
    n_states, n_actions = _env_sizes(env)
    env.reset(seed=seed)
    base = _settable_state(env)
    n = n_states * n_actions * n_samples_per_pair
    states = np.repeat(np.arange(n_states), n_actions * n_samples_per_pair)  # [n]
    actions = np.tile(np.repeat(np.arange(n_actions), n_samples_per_pair), n_states)  # [n]
    next_states = np.empty(n, dtype=np.int64)
    rewards = np.empty(n)
    terminated = np.empty(n, dtype=np.bool_)
    step = base.step
    for i, (state, action) in enumerate(zip(states.tolist(), actions.tolist(), strict=True)):
        base.s = state
        observation, reward, ends, _, _ = step(action)
        if isinstance(observation, bool) or not isinstance(observation, numbers.Integral):
            raise ValueError(
                f"{_env_name(env)}.step({action}) from state {state} returned observation "
                f"{observation!r}; expected a state index"
            )
        next_states[i], rewards[i], terminated[i] = observation, reward, ends
    if initial_distribution is None:
        initial_distribution = getattr(base, "initial_state_distrib", None)
    counts = count_transitions(
        states,
        actions,
        rewards,
        next_states,
        terminated,
        n_states=n_states,
        n_actions=n_actions,
        unvisited=unvisited,
        optimistic_reward=optimistic_reward,
    )
    return _estimated_model(counts, initial_distribution, unvisited)


def model_from_minari(
    dataset: Any,
    *,
    unvisited: str = "self_loop",
    optimistic_reward: float | None = None,
    initial_distribution: Any = None,
) -> EstimatedModel:
    r"""The certainty-equivalence model of a Minari dataset of a Discrete env.

    Parameters
    ----------
    dataset : minari.MinariDataset or str
        A dataset, or the id of one stored locally (``minari.load_dataset``;
        nothing is downloaded).
    unvisited, optimistic_reward
        See :func:`count_transitions`.
    initial_distribution : array_like, shape (S,), optional
        Default: the frequencies of the episodes' first observations.

    Returns
    -------
    EstimatedModel
        From every step ``observations[t], actions[t], rewards[t],
        observations[t+1], terminations[t]`` of every episode (a truncation
        is not a termination: its next observation is kept, continuing).

    Raises
    ------
    ImportError
        Without minari (``pip install "rl_planners[minari]"``).
    ValueError
        Non-Discrete spaces, an episode whose arrays disagree in length, or
        bad samples (as :func:`count_transitions`).
    """
    try:
        import minari
    except ImportError as error:
        raise ImportError(
            'model_from_minari needs minari: pip install "rl_planners[minari]"'
        ) from error
    if isinstance(dataset, str):
        dataset = minari.load_dataset(dataset)
    name = f"Minari dataset {getattr(dataset.spec, 'dataset_id', '?')!r}"
    n_states = _discrete_size(dataset.observation_space, "observation_space", name)
    n_actions = _discrete_size(dataset.action_space, "action_space", name)
    columns: dict[str, list[np.ndarray]] = {key: [] for key in ("s", "a", "r", "s_next", "d")}
    first_states = []
    for episode in dataset.iterate_episodes():
        observations = np.asarray(episode.observations)
        steps = len(episode.rewards)
        lengths = (observations.shape[0], len(episode.actions), len(episode.terminations))
        if lengths != (steps + 1, steps, steps):
            raise ValueError(
                f"{name}, episode {episode.id}: expected {steps + 1} observations and {steps} "
                f"actions and terminations for {steps} rewards, got {lengths}"
            )
        first_states.append(observations[0])
        columns["s"].append(observations[:-1])
        columns["s_next"].append(observations[1:])
        columns["a"].append(np.asarray(episode.actions))
        columns["r"].append(np.asarray(episode.rewards))
        columns["d"].append(np.asarray(episode.terminations))
    if not first_states:
        raise ValueError(f"{name} has no episodes")
    s, a, r, s_next, d = (np.concatenate(columns[key]) for key in ("s", "a", "r", "s_next", "d"))
    if initial_distribution is None:
        starts = _index_array(np.asarray(first_states), "first observations", n_states, "n_states")
        initial_distribution = np.bincount(starts, minlength=n_states) / starts.size
    counts = count_transitions(
        s,
        a,
        r,
        s_next,
        d,
        n_states=n_states,
        n_actions=n_actions,
        unvisited=unvisited,
        optimistic_reward=optimistic_reward,
    )
    return _estimated_model(counts, initial_distribution, unvisited)
