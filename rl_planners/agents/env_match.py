"""Whether an env is the one an agent planned for: its spaces, and its model.

An agent asked to evaluate in or follow an env checks that it is one env
(not a vector of them) with the spaces planned for
(:func:`check_env_matches`), and reads its model for the exact figures,
warning if it differs from the model planned on (:func:`model_of`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rl_planners.gym_env import env_name
from rl_planners.mdp import TabularMDP

__all__ = ["check_env_matches", "model_of", "same_model"]


def check_env_matches(
    env: Any, spaces: tuple[Any, Any], env_id: str | None, verb: str, vector_advice: str
) -> None:
    """Raise ``ValueError`` unless ``env`` is one env with ``spaces`` (observation, action).

    ``env_id`` names the env planned for, ``verb`` the method asking
    (``evaluate``, ``wrap``) and ``vector_advice`` what to do with a vector env.
    """
    num_envs = getattr(env, "num_envs", None)
    if num_envs is not None:
        raise ValueError(
            f"{verb} takes a single Gymnasium env; got a vectorised env with "
            f"num_envs={num_envs}. {vector_advice}"
        )
    found = (getattr(env, "observation_space", None), getattr(env, "action_space", None))
    if found != spaces:
        raise ValueError(
            f"the agent planned for{' ' + repr(env_id) if env_id else ''} "
            f"with observation space {spaces[0]} and action space "
            f"{spaces[1]}, but {env_name(env)} has {found[0]} and "
            f"{found[1]}: {verb} with the env the agent planned for"
        )


def model_of(
    env: Any, planned: TabularMDP | None, env_id: str | None, *, stacklevel: int = 2
) -> TabularMDP | None:
    """The model of ``env``, or ``None`` if it exposes none.

    Warns (``UserWarning``) if it differs from ``planned``, the model the
    agent planned on for ``env_id``.
    """
    base = getattr(env, "unwrapped", env)
    if not isinstance(getattr(base, "mdp", None), TabularMDP) and getattr(base, "P", None) is None:
        return None
    mdp = TabularMDP.from_env(env)
    if planned is not None and mdp is not planned and not same_model(mdp, planned):
        warnings.warn(
            f"{env_name(env)}'s model differs from the one "
            f"{repr(env_id) + ' ' if env_id else ''}the agent planned on "
            "(another map or dynamics?): the policy may not be optimal there, and the "
            "exact figures are computed for the env evaluated on",
            UserWarning,
            stacklevel=stacklevel,
        )
    return mdp


def same_model(a: TabularMDP, b: TabularMDP) -> bool:
    """Whether two models hold the same outcomes and initial distribution."""
    if (a.n_states, a.n_actions, a.n_outcomes) != (b.n_states, b.n_actions, b.n_outcomes):
        return False
    return all(
        np.array_equal(getattr(a, name), getattr(b, name))
        for name in ("row_offsets", "next_state", "prob", "reward", "terminated")
    ) and np.allclose(a.initial_distribution, b.initial_distribution)
