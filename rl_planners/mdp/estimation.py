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

The counting and the sampling live in :mod:`rl_planners.mdp.samples`, which
needs nothing of :class:`~rl_planners.mdp.TabularMDP`; this module builds
the models (:func:`model_from_samples`, :func:`estimate_model`,
:func:`model_from_minari`) and says how far to trust them.

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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_planners.mdp import TabularMDP
from rl_planners.mdp.samples import (
    SampleCounts,
    check_delta,
    check_indices,
    count_transitions,
    env_description,
    env_sizes,
    sample_every_pair,
    space_size,
    weissman_l1_radius,
)
from rl_planners.validation import check_gamma, check_policy

__all__ = [
    "EstimatedModel",
    "estimate_model",
    "model_from_minari",
    "model_from_samples",
]


def _read_only(array: np.ndarray) -> np.ndarray:
    """A read-only copy of ``array``."""
    copy = np.array(array)
    copy.setflags(write=False)
    return copy


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
        delta = check_delta(delta)
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
        env_states, env_actions = env_sizes(env)
        for name, given, found in (
            ("n_states", n_states, env_states),
            ("n_actions", n_actions, env_actions),
        ):
            if given is not None and given != found:
                raise ValueError(
                    f"{name}={given!r} disagrees with {env_description(env)}, whose Discrete "
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

    Parameters
    ----------
    env : gymnasium.Env
        Discrete spaces and a writable integer state ``env.unwrapped.s``
        (FrozenLake, CliffWalking, Taxi without a fickle passenger); see
        :func:`rl_planners.mdp.samples.sample_every_pair`.
    n_samples_per_pair : int
        ``n ≥ 1`` samples of each pair, ``S·A·n`` steps in all.
    seed : int or None
        Seeds the env's generator once, by ``env.reset(seed=seed)``.
    unvisited, optimistic_reward
        See :func:`~rl_planners.mdp.samples.count_transitions` (every pair is
        sampled here, so the rule never applies; it is recorded).
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
        As :func:`~rl_planners.mdp.samples.sample_every_pair`.

    Notes
    -----
    The env's state is left where the last sample put it: reset it before use.
    """
    samples = sample_every_pair(env, n_samples_per_pair, seed=seed)
    return model_from_samples(
        *samples,
        env=env,
        unvisited=unvisited,
        optimistic_reward=optimistic_reward,
        initial_distribution=initial_distribution,
    )


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
    n_states = space_size(dataset.observation_space, "observation_space", name)
    n_actions = space_size(dataset.action_space, "action_space", name)
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
        starts = check_indices(np.asarray(first_states), "first observations", n_states, "n_states")
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
