"""The envs the command line works on: making them by id, listing those with a model.

Also the command line's error type and its one-line form of any message,
which every subcommand uses.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import warnings
from dataclasses import dataclass
from typing import IO, Any

import gymnasium as gym

from rl_planners.interface.display import format_table, grid_shape
from rl_planners.mdp import TabularMDP

__all__ = [
    "PROG",
    "CLIError",
    "TabularEnvInfo",
    "describe_env",
    "has_tabular_model",
    "make_env",
    "one_line",
    "run_list_envs",
    "tabular_envs",
]

PROG = "rl-planners"


class CLIError(Exception):
    """Bad input, reported as one line without a traceback."""


def one_line(message: object) -> str:
    """``message`` as one line of plain text (no colour codes, no line breaks)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(message))  # Gymnasium colours its warnings
    text = " ".join(text.split())
    return text or type(message).__name__


def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None, **make_kwargs: Any) -> Any:
    """``gym.make(env_id, **env_kwargs)`` after registering our envs, with one-line errors.

    Raises
    ------
    CLIError
        For an unknown id (with close matches) or keyword arguments the env refuses.
    """
    import envs  # noqa: F401  (registers the rl_planners/ ids)

    kwargs = dict(env_kwargs or {})
    try:
        return gym.make(env_id, **kwargs, **make_kwargs)
    except gym.error.UnregisteredEnv:
        raise CLIError(_unknown_id_message(env_id)) from None
    except (TypeError, ValueError) as error:
        shown = f" with --env-kwargs {json.dumps(kwargs)}" if kwargs else ""
        raise CLIError(f"cannot make {env_id!r}{shown}: {one_line(error)}") from None


def _unknown_id_message(env_id: str) -> str:
    from gymnasium.envs.registration import registry

    by_lower = {name.lower(): name for name in registry}
    close = difflib.get_close_matches(env_id.lower(), list(by_lower), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(by_lower[c]) for c in close)}?" if close else ""
    return (
        f"unknown environment id {env_id!r}{hint} "
        f"('{PROG} list-envs' lists the ids with a tabular model)"
    )


def has_tabular_model(env: Any) -> bool:
    """Whether ``env`` has ``Discrete`` spaces and holds a :class:`TabularMDP` or a ``P`` table.

    The model itself is not read (nor checked).
    """
    base = env.unwrapped
    spaces = (base.observation_space, base.action_space)
    has_model = isinstance(getattr(base, "mdp", None), TabularMDP) or "P" in vars(base)
    return has_model and all(isinstance(space, gym.spaces.Discrete) for space in spaces)


def describe_env(env: Any) -> str:
    """One line: the env's id, its numbers of states and actions (its spaces), its time limit."""
    limit = env.spec.max_episode_steps if env.spec is not None else None
    limit_text = f"time limit {limit} steps" if limit else "no time limit"
    n_states, n_actions = env.observation_space.n, env.action_space.n
    return f"{env.spec.id}: {n_states} states, {n_actions} actions, {limit_text}"


@dataclass(frozen=True)
class TabularEnvInfo:
    """A registered id whose env exposes a tabular model."""

    env_id: str
    n_states: int
    n_actions: int
    max_episode_steps: int | None
    grid_shape: tuple[int, int] | None


def tabular_envs() -> list[TabularEnvInfo]:
    """The registered ids of Gymnasium's toy-text envs and ours that expose a model.

    Only those two families are tried (constructing every registered env is
    slow and needs extra packages such as box2d or mujoco); an id is listed
    if its env constructs with default arguments, has ``Discrete`` spaces,
    and holds a :class:`TabularMDP` or a ``P`` table. The model itself is
    not built.
    """
    from gymnasium.envs.registration import registry

    import envs  # noqa: F401  (registers the rl_planners/ ids)

    found = []
    for env_id, spec in registry.items():
        entry_point = spec.entry_point if isinstance(spec.entry_point, str) else ""
        ours = spec.namespace == "rl_planners"
        if not (ours or entry_point.startswith("gymnasium.envs.toy_text")):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                env = gym.make(env_id)
        except Exception:  # an id that does not construct is not listed
            continue
        if has_tabular_model(env):
            base = env.unwrapped
            spaces = (base.observation_space, base.action_space)
            found.append(
                TabularEnvInfo(
                    env_id,
                    int(spaces[0].n),
                    int(spaces[1].n),
                    spec.max_episode_steps,
                    grid_shape(env),
                )
            )
        env.close()
    return sorted(found, key=lambda info: (info.env_id.startswith("rl_planners/"), info.env_id))


def run_list_envs(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners list-envs``."""
    out = sys.stdout if out is None else out
    rows = [
        [
            info.env_id,
            str(info.n_states),
            str(info.n_actions),
            str(info.max_episode_steps) if info.max_episode_steps else "-",
            f"{info.grid_shape[0]}x{info.grid_shape[1]}" if info.grid_shape else "-",
        ]
        for info in tabular_envs()
    ]
    print(format_table(["id", "states", "actions", "time limit", "grid"], rows), file=out)
    return 0
