"""Saving a solved agent to one ``.npz`` file, and loading it without planning again.

The file is a plain NumPy archive, read with ``allow_pickle=False`` (loading
one runs no code from it). It holds, as arrays:

- ``format_version`` (int), ``agent_class`` and ``env_id`` (strings; ``""``
  for an env without a spec id), ``library_version`` (string);
- ``gamma`` (float), ``options`` (the solver options as a JSON string;
  arrays become lists and a callable, such as a progress callback, the
  text ``"<callable NAME>"``), ``max_episode_steps`` (int, ``-1`` for none),
  ``n_states`` and ``n_actions`` (ints);
- the :class:`~rl_planners.result.PlanningResult`: ``V`` ``[S]``, ``Q``
  ``[S, A]``, ``policy`` ``[S]``, ``iterations``, ``converged``,
  ``residuals``, ``wall_time``;
- unless saved with ``include_model=False``, the model:
  ``model_row_offsets``, ``model_next_state``, ``model_prob``,
  ``model_reward``, ``model_terminated``, ``model_initial_distribution``
  (the arrays of :class:`~rl_planners.mdp.TabularMDP`).

A loaded agent acts exactly as the saved one did: its policy is the saved
array. With the model it also gives the exact figures; without it,
``agent.mdp`` raises ``AttributeError`` and ``evaluate`` takes the exact
figures from the env evaluated on (when it exposes a model).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from rl_planners.agents import AGENT_CLASSES, PlanningAgent
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult

__all__ = ["FORMAT_VERSION", "load_agent", "save_agent"]

FORMAT_VERSION = 1
"""The version of the file layout written by :func:`save_agent`."""

_REQUIRED = (
    "format_version",
    "agent_class",
    "env_id",
    "gamma",
    "options",
    "max_episode_steps",
    "n_states",
    "n_actions",
    "V",
    "Q",
    "policy",
    "iterations",
    "converged",
    "residuals",
    "wall_time",
)
_MODEL_FIELDS = (
    "row_offsets",
    "next_state",
    "prob",
    "reward",
    "terminated",
    "initial_distribution",
)


def save_agent(
    agent: PlanningAgent, path: str | os.PathLike[str], *, include_model: bool = True
) -> Path:
    """Write a solved agent to one ``.npz`` file.

    Parameters
    ----------
    agent : PlanningAgent
    path : str or path-like
        Where to write; ``.npz`` is appended if the name lacks it (as
        ``numpy.savez`` does).
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
        If a solver option cannot be stored as JSON (it is named).
    ValueError
        If ``include_model`` is asked of an agent that was loaded without one.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    result = agent.result
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION),
        "agent_class": np.array(type(agent).__name__),
        "env_id": np.array(agent.env_id or ""),
        "library_version": np.array(_library_version()),
        "gamma": np.array(agent.gamma, dtype=np.float64),
        "options": np.array(_options_json(agent.options)),
        "max_episode_steps": np.array(
            -1 if agent.max_episode_steps is None else agent.max_episode_steps
        ),
        "n_states": np.array(agent.n_states),
        "n_actions": np.array(agent.n_actions),
        "V": np.asarray(result.V, dtype=np.float64),
        "Q": np.asarray(result.Q, dtype=np.float64),
        "policy": np.asarray(result.policy, dtype=np.int64),
        "iterations": np.array(int(result.iterations)),
        "converged": np.array(bool(result.converged)),
        "residuals": np.asarray(result.residuals, dtype=np.float64),
        "wall_time": np.array(float(result.wall_time)),
    }
    if include_model:
        try:
            mdp = agent.mdp
        except AttributeError as error:
            raise ValueError(f"{error} To save it anyway, pass include_model=False.") from None
        for name in _MODEL_FIELDS:
            arrays[f"model_{name}"] = np.asarray(getattr(mdp, name))
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    return path


def load_agent(path: str | os.PathLike[str]) -> PlanningAgent:
    """Read an agent written by :func:`save_agent`, as its own class, without planning.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    PlanningAgent
        An agent of the saved class (``ValueIterationAgent``, …) whose
        ``policy``, ``V``, ``Q``, ``result``, ``gamma``, ``options``,
        ``env_id`` and ``max_episode_steps`` are the saved ones (array
        options come back as lists), and whose ``mdp`` is the saved model
        if there is one.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not an agent saved by :func:`save_agent`, was written
        by a newer format, names an agent class that is not defined, or holds
        inconsistent arrays (each case is named).
    """
    name = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            data = {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(
            f"{name!r} is not an agent file written by agent.save (an .npz archive): {error}"
        ) from error
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ValueError(
            f"{name!r} is not an agent file written by agent.save: it lacks {', '.join(missing)}"
        )
    version = int(data["format_version"])
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{name!r} was written in agent file format {version}; this version of "
            f"rl_planners reads formats up to {FORMAT_VERSION}: upgrade rl_planners"
        )
    class_name = str(data["agent_class"])
    cls = AGENT_CLASSES.get(class_name)
    if cls is None:
        raise ValueError(
            f"{name!r} holds a {class_name}, which is not defined: import the module that "
            f"defines it before loading (known: {', '.join(sorted(AGENT_CLASSES))})"
        )
    result = _result(data, name)
    mdp = _model(data, name, result)
    env_id = str(data["env_id"]) or None
    max_episode_steps = int(data["max_episode_steps"])
    return cls._from_parts(
        result=result,
        mdp=mdp,
        gamma=float(data["gamma"]),
        options=json.loads(str(data["options"])),
        env_id=env_id,
        max_episode_steps=None if max_episode_steps < 0 else max_episode_steps,
        source=name,
    )


# ---------------------------------------------------------------- helpers
def _library_version() -> str:
    import rl_planners

    return str(getattr(rl_planners, "__version__", ""))


def _options_json(options: Any) -> str:
    """The solver options as JSON (arrays as lists), naming any that cannot be."""

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, np.generic):
            return value.item()
        if callable(value):  # a progress callback: record which, it cannot be stored
            name = getattr(value, "__qualname__", None) or type(value).__qualname__
            return f"<callable {name}>"
        raise TypeError

    for key, value in options.items():
        try:
            json.dumps(value, default=encode)
        except (TypeError, ValueError):
            raise TypeError(
                f"solver option {key!r} = {value!r} cannot be saved: the agent file stores "
                "options as JSON (numbers, strings, lists, arrays, None; callables by name)"
            ) from None
    return json.dumps(dict(options), default=encode)


def _result(data: dict[str, np.ndarray], name: str) -> PlanningResult:
    n_states, n_actions = int(data["n_states"]), int(data["n_actions"])
    expected = {"V": (n_states,), "Q": (n_states, n_actions), "policy": (n_states,)}
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise ValueError(
                f"{name!r} is inconsistent: {key} has shape {data[key].shape}, expected "
                f"{shape} for {n_states} states and {n_actions} actions"
            )
    policy = data["policy"]
    if policy.dtype.kind not in "iu":
        raise ValueError(f"{name!r} is inconsistent: policy has dtype {policy.dtype}, not int")
    bad = np.flatnonzero((policy < 0) | (policy >= n_actions))
    if bad.size:
        raise ValueError(
            f"{name!r} is inconsistent: policy has action {policy[bad[0]]} at state "
            f"{bad[0]}, outside 0..{n_actions - 1}"
        )
    return PlanningResult(
        V=data["V"].astype(np.float64),
        Q=data["Q"].astype(np.float64),
        policy=policy.astype(np.int64),
        iterations=int(data["iterations"]),
        converged=bool(data["converged"]),
        residuals=data["residuals"].astype(np.float64),
        gamma=float(data["gamma"]),
        wall_time=float(data["wall_time"]),
    )


def _model(data: dict[str, np.ndarray], name: str, result: PlanningResult) -> TabularMDP | None:
    keys = [f"model_{field}" for field in _MODEL_FIELDS]
    present = [key in data for key in keys]
    if not any(present):
        return None
    if not all(present):
        missing = [key for key, there in zip(keys, present, strict=True) if not there]
        raise ValueError(f"{name!r} is inconsistent: its model lacks {', '.join(missing)}")
    n_states, n_actions = result.Q.shape
    return TabularMDP(n_states, n_actions, *(data[key] for key in keys))
