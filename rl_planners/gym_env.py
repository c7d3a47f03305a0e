"""What the library asks of a Gymnasium env: its name, spaces, wrappers and time limit.

Every question about an env is answered here, once, so that the model, the
agents and the command line never walk a wrapper chain or read a spec
themselves. Nothing here plans or evaluates.
"""

from __future__ import annotations

from typing import Any

from rl_planners.errors import ModelError

__all__ = [
    "discrete_size",
    "env_id",
    "env_name",
    "find_wrapper",
    "space_size",
    "time_limit",
    "unwrapped",
]


def unwrapped(env: Any) -> Any:
    """The innermost env: ``env.unwrapped`` (Gymnasium 1.x forwards no attributes)."""
    return getattr(env, "unwrapped", env)


def env_id(env: Any) -> str | None:
    """``env.spec.id``, or ``None`` for an env made without the registry."""
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or None


def env_name(env: Any) -> str:
    """``"env 'FrozenLake-v1'"``, or ``"env <ClassName>"``: how messages name an env."""
    name = env_id(env)
    if name:
        return f"env {name!r}"
    return f"env {type(unwrapped(env)).__name__}"


def wrappers(env: Any) -> list[Any]:
    """The layers of ``env`` from the outermost wrapper to the unwrapped env."""
    layers = []
    layer = env
    while layer is not None:
        layers.append(layer)
        inner = getattr(layer, "env", None)
        layer = inner if inner is not layer else None
    return layers


def find_wrapper(env: Any, kind: type) -> Any | None:
    """The outermost layer of ``env`` that is an instance of ``kind``, or ``None``."""
    return next((layer for layer in wrappers(env) if isinstance(layer, kind)), None)


def time_limit(env: Any) -> int | None:
    """The step limit Gymnasium's ``TimeLimit`` wrappers put on ``env``.

    ``gym.make`` adds a ``TimeLimit`` when the spec has ``max_episode_steps``;
    users may add their own. Returns the smallest limit in the wrapper chain,
    or ``None`` if no ``TimeLimit`` wraps the env.
    """
    from gymnasium.wrappers import TimeLimit

    limits = [
        int(layer._max_episode_steps) for layer in wrappers(env) if isinstance(layer, TimeLimit)
    ]
    return min(limits) if limits else None


def space_size(space: Any, what: str, owner: str) -> int:
    """``n`` of a ``Discrete(n)`` space that starts at 0; ``owner`` and ``what`` name it in errors.

    Raises
    ------
    ModelError
        If the space is not ``Discrete`` or does not start at 0.
    """
    from gymnasium import spaces

    if not isinstance(space, spaces.Discrete):
        raise ModelError(f"{owner} needs a Discrete {what} for tabular planning, got {space!r}")
    if int(space.start) != 0:
        raise ModelError(
            f"{owner}'s {what} {space!r} starts at {space.start}; tabular planning "
            "needs Discrete spaces that start at 0"
        )
    return int(space.n)


def discrete_size(env: Any, attribute: str) -> int:
    """``n`` of the env's ``Discrete`` space ``attribute`` (``observation_space``, ...).

    Raises
    ------
    ModelError
        If the space is not ``Discrete`` or does not start at 0.
    """
    return space_size(getattr(unwrapped(env), attribute, None), attribute, env_name(env))
