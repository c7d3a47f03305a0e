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

How far to trust the model (the counts, the L1 confidence radii of Weissman
et al. 2003 and the simulation-lemma bound) is :class:`EstimatedModel`'s part
(:mod:`rl_planners.mdp.confidence`); the counting lives in
:mod:`rl_planners.mdp.samples` and the sampling of an env in
:mod:`rl_planners.mdp.sampling`. This module builds the models
(:func:`model_from_samples`, :func:`estimate_model`, :func:`model_from_minari`).

The references (Weissman et al. 2003; the simulation lemma of Kearns & Singh
2002 and Agarwal et al. 2019; Hoeffding 1963) are listed in
:mod:`rl_planners.mdp.confidence`, where they are used.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rl_planners import gym_env
from rl_planners.gym_env import space_size
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.confidence import EstimatedModel
from rl_planners.mdp.samples import SampleCounts, check_indices, count_transitions
from rl_planners.mdp.sampling import env_sizes, sample_every_pair

__all__ = [
    "EstimatedModel",
    "estimate_model",
    "model_from_minari",
    "model_from_samples",
]


def _estimated_model(
    counts: SampleCounts, initial_distribution: Any, unvisited: str
) -> EstimatedModel:
    outcomes = counts.outcomes
    if initial_distribution is None:
        initial_distribution = np.full(outcomes.n_states, 1.0 / outcomes.n_states)
    return EstimatedModel(
        mdp=TabularMDP(*outcomes, initial_distribution),
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
                    f"{name}={given!r} disagrees with {gym_env.env_name(env)}, whose Discrete "
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
    return model_from_samples(
        s,
        a,
        r,
        s_next,
        d,
        n_states=n_states,
        n_actions=n_actions,
        unvisited=unvisited,
        optimistic_reward=optimistic_reward,
        initial_distribution=initial_distribution,
    )
