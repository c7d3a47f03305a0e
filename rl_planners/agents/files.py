"""Saving an agent to one ``.npz`` file and loading it back as its own class.

The layout of the file is :mod:`rl_planners.persistence`'s; what an agent
saves and how it is restored is its class's
(:meth:`~rl_planners.agents.base.TabularAgent.saved_parts`,
:meth:`~rl_planners.agents.base.TabularAgent.from_saved`). Loading finds the
class by the name the file gives among the subclasses of
:class:`~rl_planners.agents.base.TabularAgent`, the library's and any a user
has defined: no registry has to be filled in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rl_planners.agents.base import TabularAgent, subclass_named
from rl_planners.persistence import read_agent_file

__all__ = ["load_agent", "save_agent"]


def save_agent(agent: TabularAgent, path: Any, *, include_model: bool = True) -> Path:
    """Write a solved agent to one ``.npz`` file, atomically.

    Parameters
    ----------
    agent : PlanningAgent or FiniteHorizonAgent
    path : str or path-like
        The file; ``.npz`` is appended if the name lacks it. A directory is refused.
    include_model : bool, default True
        Also store the model, so that the loaded agent has ``mdp`` and the
        exact figures. Without it the file holds only what acting needs.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``agent`` is not an agent, ``path`` not a path, or a solver option
        cannot be stored as JSON (it is named).
    ValueError
        If ``path`` names a directory, or ``include_model`` is asked of an
        agent that was loaded without one.
    """
    if not isinstance(agent, TabularAgent):
        raise TypeError(f"save_agent saves a planning agent, got {type(agent).__name__}")
    return agent.save(path, include_model=include_model)


def load_agent(path: Any) -> TabularAgent:
    """Read an agent written by :func:`save_agent`, as its own class, without planning.

    Parameters
    ----------
    path : str or path-like
        As given to :func:`save_agent` (``.npz`` is appended if missing).

    Returns
    -------
    PlanningAgent or FiniteHorizonAgent
        An agent of the saved class whose ``policy``, ``V``, ``Q`` (if
        saved), ``result``, ``gamma``, ``options`` (arrays as arrays),
        ``env_id`` and ``max_episode_steps`` are the saved ones, and whose
        ``mdp`` is the saved model if there is one.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not an agent file, was written by a newer format,
        names an agent class that is not defined, or holds inconsistent
        arrays (each case is named).
    """
    parts = read_agent_file(path)
    cls = subclass_named(TabularAgent, parts.agent_class)
    if cls is None or cls is TabularAgent:
        raise ValueError(
            f"{os.fspath(path)!r} holds a {parts.agent_class}, which is not defined: import "
            "the module that defines it before loading"
        )
    return cls.from_saved(parts, os.fspath(path))
