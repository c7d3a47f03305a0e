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
- for a :class:`~rl_planners.finite_horizon_agent.FiniteHorizonAgent`,
  whose policy depends on the time step, the
  :class:`~rl_planners.horizon.FiniteHorizonResult` in place of the above:
  ``horizon`` (int ``H``; its presence marks such a file), ``keep``
  (string), ``policy`` ``[H, S]``, ``V`` (``[1, S]`` with ``keep="policy"``,
  ``[H + 1, S]`` with ``keep="all"``), ``Q`` ``[H, S, A]`` (with
  ``keep="all"`` only), ``wall_time``;
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
from rl_planners.finite_horizon_agent import FiniteHorizonAgent
from rl_planners.horizon import FiniteHorizonResult
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
_REQUIRED_FINITE_HORIZON = (
    *(key for key in _REQUIRED if key not in ("Q", "iterations", "converged", "residuals")),
    "horizon",
    "keep",
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
        "policy": np.asarray(result.policy, dtype=np.int64),
        "wall_time": np.array(float(result.wall_time)),
    }
    if isinstance(result, FiniteHorizonResult):
        arrays["horizon"] = np.array(int(result.horizon))
        arrays["keep"] = np.array(result.keep)
        if result.Q is not None:
            arrays["Q"] = np.asarray(result.Q, dtype=np.float64)
    else:
        arrays["Q"] = np.asarray(result.Q, dtype=np.float64)
        arrays["iterations"] = np.array(int(result.iterations))
        arrays["converged"] = np.array(bool(result.converged))
        arrays["residuals"] = np.asarray(result.residuals, dtype=np.float64)
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
        An agent of the saved class (``ValueIterationAgent``,
        ``FiniteHorizonAgent``, …) whose ``policy``, ``V``, ``Q`` (if
        saved), ``result``, ``gamma``, ``options``,
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
    finite_horizon = "horizon" in data
    required = _REQUIRED_FINITE_HORIZON if finite_horizon else _REQUIRED
    missing = [key for key in required if key not in data]
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
    if finite_horizon != issubclass(cls, FiniteHorizonAgent):
        holds = "a time-dependent policy (horizon)" if finite_horizon else "no horizon"
        raise ValueError(f"{name!r} is inconsistent: it names a {class_name} but holds {holds}")
    n_states, n_actions = int(data["n_states"]), int(data["n_actions"])
    result = _finite_horizon_result(data, name) if finite_horizon else _result(data, name)
    mdp = _model(data, name, n_states, n_actions)
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
        n_actions=n_actions,
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


def _check_shapes(
    data: dict[str, np.ndarray], name: str, expected: dict[str, tuple[int, ...]]
) -> None:
    n_states, n_actions = int(data["n_states"]), int(data["n_actions"])
    for key, shape in expected.items():
        if data[key].shape != shape:
            raise ValueError(
                f"{name!r} is inconsistent: {key} has shape {data[key].shape}, expected "
                f"{shape} for {n_states} states and {n_actions} actions"
            )


def _check_policy(data: dict[str, np.ndarray], name: str) -> np.ndarray:
    """The saved policy (``[S]`` or ``[H, S]``) as int64, its actions checked."""
    n_actions = int(data["n_actions"])
    policy = data["policy"]
    if policy.dtype.kind not in "iu":
        raise ValueError(f"{name!r} is inconsistent: policy has dtype {policy.dtype}, not int")
    bad = np.argwhere((policy < 0) | (policy >= n_actions))
    if bad.size:
        at = tuple(int(i) for i in bad[0])
        where = f"at state {at[0]}" if policy.ndim == 1 else f"at time step {at[0]}, state {at[1]}"
        raise ValueError(
            f"{name!r} is inconsistent: policy has action {policy[at]} {where}, "
            f"outside 0..{n_actions - 1}"
        )
    return policy.astype(np.int64)


def _result(data: dict[str, np.ndarray], name: str) -> PlanningResult:
    n_states, n_actions = int(data["n_states"]), int(data["n_actions"])
    _check_shapes(data, name, {"V": (n_states,), "Q": (n_states, n_actions), "policy": (n_states,)})
    policy = _check_policy(data, name)
    return PlanningResult(
        V=data["V"].astype(np.float64),
        Q=data["Q"].astype(np.float64),
        policy=policy,
        iterations=int(data["iterations"]),
        converged=bool(data["converged"]),
        residuals=data["residuals"].astype(np.float64),
        gamma=float(data["gamma"]),
        wall_time=float(data["wall_time"]),
    )


def _finite_horizon_result(data: dict[str, np.ndarray], name: str) -> FiniteHorizonResult:
    n_states, n_actions = int(data["n_states"]), int(data["n_actions"])
    horizon, keep = int(data["horizon"]), str(data["keep"])
    if horizon < 1 or keep not in ("policy", "all") or (keep == "all") != ("Q" in data):
        has_q = "with" if "Q" in data else "without"
        raise ValueError(
            f"{name!r} is inconsistent: horizon {horizon}, keep {keep!r} {has_q} Q "
            "(expected horizon >= 1, and Q exactly when keep is 'all')"
        )
    expected = {"policy": (horizon, n_states)}
    expected["V"] = (horizon + 1, n_states) if keep == "all" else (1, n_states)
    if keep == "all":
        expected["Q"] = (horizon, n_states, n_actions)
    _check_shapes(data, name, expected)
    return FiniteHorizonResult(
        V=data["V"].astype(np.float64),
        Q=data["Q"].astype(np.float64) if keep == "all" else None,
        policy=_check_policy(data, name),
        horizon=horizon,
        gamma=float(data["gamma"]),
        wall_time=float(data["wall_time"]),
        keep=keep,  # type: ignore[arg-type]
    )


def _model(
    data: dict[str, np.ndarray], name: str, n_states: int, n_actions: int
) -> TabularMDP | None:
    keys = [f"model_{field}" for field in _MODEL_FIELDS]
    present = [key in data for key in keys]
    if not any(present):
        return None
    if not all(present):
        missing = [key for key, there in zip(keys, present, strict=True) if not there]
        raise ValueError(f"{name!r} is inconsistent: its model lacks {', '.join(missing)}")
    return TabularMDP(n_states, n_actions, *(data[key] for key in keys))
