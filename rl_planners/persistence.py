"""The agent file: one ``.npz`` archive, written atomically, read without running code.

This module knows the file's layout and no agent class: an agent gives
:func:`write_agent_file` an :class:`AgentFile` (its
:meth:`~rl_planners.agents.base.TabularAgent.saved_parts`), and
:func:`read_agent_file` gives one back for the agent class to restore itself
from (:func:`rl_planners.agents.files.load_agent`).

The file is a plain NumPy archive, read with ``allow_pickle=False`` (loading
one runs no code from it). It holds, as arrays:

- ``format_version`` (int), ``agent_class`` and ``env_id`` (strings; ``""``
  for an env without a spec id), ``library_version`` (string);
- ``gamma`` (float), ``options`` (the solver options as a JSON string;
  an array is stored as ``{"ndarray": [...], "dtype": ...}`` and comes back
  an array; a callable, such as a progress callback, the text
  ``"<callable NAME>"``), ``max_episode_steps`` (int, ``-1`` for none),
  ``n_states`` and ``n_actions`` (ints);
- the :class:`~rl_planners.result.PlanningResult`: ``V`` ``[S]``, ``Q``
  ``[S, A]``, ``policy`` ``[S]``, ``iterations``, ``converged``,
  ``residuals``, ``wall_time``;
- for a :class:`~rl_planners.finite_horizon_agent.FiniteHorizonAgent`,
  whose policy depends on the time step, the
  :class:`~rl_planners.solvers.horizon.FiniteHorizonResult` in place of the above:
  ``horizon`` (int ``H``; its presence marks such a file), ``keep``
  (string), ``policy`` ``[H, S]``, ``V`` (``[1, S]`` with ``keep="policy"``,
  ``[H + 1, S]`` with ``keep="all"``), ``Q`` ``[H, S, A]`` (with
  ``keep="all"`` only), ``wall_time``;
- unless saved with ``include_model=False``, the model:
  ``model_row_offsets``, ``model_next_state``, ``model_prob``,
  ``model_reward``, ``model_terminated``, ``model_initial_distribution``
  (the arrays of :class:`~rl_planners.mdp.TabularMDP`).

Names: ``path`` names the file; ``.npz`` is appended when the name lacks it,
on writing and reading alike, so ``save("good")`` and ``load_agent("good")``
meet at ``good.npz``. A path that ends with a separator or names a directory
is refused. Writing goes to a temporary file in the same directory, which is
flushed, ``fsync``-ed and renamed over the target: an interrupted or failed
save leaves any existing file as it was.

A loaded agent acts exactly as the saved one did: its policy is the saved
array. With the model it also gives the exact figures; without it,
``agent.mdp`` raises ``AttributeError`` and ``evaluate`` takes the exact
figures from the env evaluated on (when it exposes a model).
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl_planners.atomic_file import file_path, write_atomically
from rl_planners.mdp import TabularMDP
from rl_planners.result import FiniteHorizonResult, PlanningResult

__all__ = ["FORMAT_VERSION", "AgentFile", "agent_path", "read_agent_file", "write_agent_file"]

FORMAT_VERSION = 1
"""The version of the file layout written by :func:`write_agent_file`."""


@dataclass(frozen=True, eq=False)
class AgentFile:
    """What an agent file holds: enough to act, and (with ``mdp``) the exact figures."""

    agent_class: str
    env_id: str | None
    gamma: float
    options: dict[str, Any]
    max_episode_steps: int | None
    n_states: int
    n_actions: int
    result: PlanningResult | FiniteHorizonResult
    mdp: TabularMDP | None


def agent_path(path: Any) -> Path:
    """The file an agent is saved to or loaded from: ``path``, with ``.npz`` appended if missing.

    Raises
    ------
    TypeError
        If ``path`` is not a string or path-like.
    ValueError
        If it names a directory (or ends with a path separator).
    """
    file = file_path(path)
    return file if file.suffix == ".npz" else file.with_name(file.name + ".npz")


def write_agent_file(path: Any, parts: AgentFile) -> Path:
    """Write ``parts`` to ``path`` (see :func:`agent_path`) atomically; return the file.

    Raises
    ------
    TypeError
        If a solver option cannot be stored as JSON (it is named), or ``path`` is no path.
    ValueError
        If ``path`` names a directory.
    """
    file = agent_path(path)
    result = parts.result
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION),
        "agent_class": np.array(parts.agent_class),
        "env_id": np.array(parts.env_id or ""),
        "library_version": np.array(_library_version()),
        "gamma": np.array(parts.gamma, dtype=np.float64),
        "options": np.array(_options_json(parts.options)),
        "max_episode_steps": np.array(
            -1 if parts.max_episode_steps is None else parts.max_episode_steps
        ),
        "n_states": np.array(parts.n_states),
        "n_actions": np.array(parts.n_actions),
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
        arrays["status"] = np.array(result.status)
    if parts.mdp is not None:
        for name in _MODEL_FIELDS:
            arrays[f"model_{name}"] = np.asarray(getattr(parts.mdp, name))
    write_atomically(file, lambda handle: np.savez(handle, **arrays))
    return file


def read_agent_file(path: Any) -> AgentFile:
    """Read what :func:`write_agent_file` wrote (see :func:`agent_path` for the name).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not an agent file, was written by a newer format, or
        holds inconsistent arrays (each case is named).
    """
    file = agent_path(path)
    name = os.fspath(file)
    try:
        with np.load(file, allow_pickle=False) as archive:
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
    n_states, n_actions = int(data["n_states"]), int(data["n_actions"])
    max_episode_steps = int(data["max_episode_steps"])
    return AgentFile(
        agent_class=str(data["agent_class"]),
        env_id=str(data["env_id"]) or None,
        gamma=float(data["gamma"]),
        options=json.loads(str(data["options"]), object_hook=_decode_option),
        max_episode_steps=None if max_episode_steps < 0 else max_episode_steps,
        n_states=n_states,
        n_actions=n_actions,
        result=_finite_horizon_result(data, name) if finite_horizon else _result(data, name),
        mdp=_model(data, name, n_states, n_actions),
    )


def _decode_option(value: dict[str, Any]) -> Any:
    """An array stored by :func:`_options_json` back as an array; other objects as they are."""
    if set(value) == {"ndarray", "dtype"}:
        return np.array(value["ndarray"], dtype=np.dtype(value["dtype"]))
    return value


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


# ---------------------------------------------------------------- helpers
def _library_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rl_planners")
    except PackageNotFoundError:
        return ""


def _options_json(options: Any) -> str:
    """The solver options as JSON (arrays as lists), naming any that cannot be."""

    def encode(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return {"ndarray": value.tolist(), "dtype": value.dtype.str}
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
        status=str(data["status"]) if "status" in data else "",
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
