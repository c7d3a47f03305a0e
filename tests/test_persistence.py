"""Tests of rl_planners.persistence: one .npz per agent, loaded without replanning."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from agent_cases import AGENTS, rewrite_agent_file

from rl_planners import load_agent, save_agent
from rl_planners.agents import (
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    ValueIterationAgent,
)
from rl_planners.persistence import FORMAT_VERSION, write_agent_file

ENV_IDS = ["FrozenLake8x8-v1", "Taxi-v4", "CliffWalkingSlippery-v1"]


@cache
def planned(env_id: str, agent_class: type) -> PlanningAgent:
    return agent_class(gym.make(env_id))


def forbid_planning(monkeypatch):
    """Make every solver raise, so that a test fails if loading plans."""

    def refuse(*args, **kwargs):
        raise AssertionError("loading must not plan")

    for cls in AGENTS:
        monkeypatch.setattr(cls, "solver", staticmethod(refuse))


@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_round_trip_acts_identically_on_every_state(tmp_path, monkeypatch, env_id, agent_class):
    agent = planned(env_id, agent_class)
    path = agent.save(tmp_path / "agent.npz")
    forbid_planning(monkeypatch)
    loaded = load_agent(path)
    assert type(loaded) is agent_class
    states = range(agent.n_states)
    assert [loaded.act(s) for s in states] == [agent.act(s) for s in states]
    np.testing.assert_array_equal(loaded.predict(np.arange(agent.n_states))[0], agent.policy)
    np.testing.assert_array_equal(loaded.policy, agent.policy)
    np.testing.assert_array_equal(loaded.V, agent.V)
    np.testing.assert_array_equal(loaded.Q, agent.Q)
    assert loaded.gamma == agent.gamma
    assert loaded.env_id == env_id
    assert loaded.max_episode_steps == agent.max_episode_steps
    assert loaded.observation_space == agent.observation_space
    assert loaded.action_space == agent.action_space
    for name in ("iterations", "converged", "gamma", "wall_time"):
        assert getattr(loaded.result, name) == getattr(agent.result, name)
    np.testing.assert_array_equal(loaded.result.residuals, agent.result.residuals)


def test_a_loaded_agent_keeps_the_model_and_the_exact_figures(tmp_path, monkeypatch):
    agent = planned("FrozenLake8x8-v1", ValueIterationAgent)
    path = agent.save(tmp_path / "lake")
    forbid_planning(monkeypatch)
    loaded = ValueIterationAgent.load(path)
    for name in ("row_offsets", "next_state", "prob", "reward", "terminated"):
        np.testing.assert_array_equal(getattr(loaded.mdp, name), getattr(agent.mdp, name))
    assert loaded.expected_return() == agent.expected_return()
    assert loaded.expected_return_within_limit() == agent.expected_return_within_limit()
    env = gym.make("FrozenLake8x8-v1")
    first = agent.evaluate(env, n_episodes=30, seed=4)
    again = loaded.evaluate(gym.make("FrozenLake8x8-v1"), n_episodes=30, seed=4)
    np.testing.assert_array_equal(first.returns, again.returns)
    assert first.expected_return == again.expected_return


def test_save_appends_npz_and_returns_the_path(tmp_path):
    agent = planned("Taxi-v4", PolicyIterationAgent)
    path = agent.save(tmp_path / "taxi")
    assert path == tmp_path / "taxi.npz" and path.exists()
    assert save_agent(agent, str(tmp_path / "again.npz")) == tmp_path / "again.npz"


def test_the_file_holds_no_pickles_and_documents_itself(tmp_path):
    agent = ValueIterationAgent(gym.make("FrozenLake-v1"), gamma=0.9, tol=1e-6)
    path = agent.save(tmp_path / "agent.npz")
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)
        assert int(data["format_version"]) == FORMAT_VERSION
        assert str(data["agent_class"]) == "ValueIterationAgent"
        assert str(data["env_id"]) == "FrozenLake-v1"
        assert float(data["gamma"]) == 0.9
        assert json.loads(str(data["options"])) == {"tol": 1e-6}
        assert (int(data["n_states"]), int(data["n_actions"])) == (16, 4)
        assert int(data["max_episode_steps"]) == 100


def test_array_options_come_back_as_arrays(tmp_path):
    V0 = np.linspace(0.0, 1.0, 16)
    agent = ValueIterationAgent(gym.make("FrozenLake-v1"), V0=V0, max_iterations=np.int64(100_000))
    loaded = load_agent(agent.save(tmp_path / "agent.npz"))
    assert set(loaded.options) == {"V0", "max_iterations"}
    assert isinstance(loaded.options["V0"], np.ndarray)
    assert loaded.options["V0"].dtype == V0.dtype
    np.testing.assert_array_equal(loaded.options["V0"], V0)
    assert loaded.options["max_iterations"] == 100_000


def test_a_callable_option_is_saved_by_name(tmp_path):
    def progress(*args, **kwargs):
        return None

    agent = ValueIterationAgent(gym.make("FrozenLake-v1"))
    parts = replace(agent.saved_parts(), options={"callback": progress, "tol": 1e-6})
    loaded = load_agent(write_agent_file(tmp_path / "agent.npz", parts))
    assert loaded.options == {
        "callback": "<callable test_a_callable_option_is_saved_by_name.<locals>.progress>",
        "tol": 1e-6,
    }


def test_an_option_that_is_not_json_cannot_be_saved(tmp_path):
    agent = PolicyIterationAgent(gym.make("FrozenLake-v1"), policy0=np.zeros(16, dtype=np.int64))
    bad = replace(agent.saved_parts(), options={"policy0": object()})
    with pytest.raises(TypeError, match=r"solver option 'policy0' = <object .*> cannot be saved"):
        write_agent_file(tmp_path / "agent.npz", bad)
    assert not (tmp_path / "agent.npz").exists()


def test_without_the_model_the_agent_acts_but_has_no_mdp(tmp_path):
    agent = planned("Taxi-v4", ValueIterationAgent)
    path = agent.save(tmp_path / "small.npz", include_model=False)
    assert path.stat().st_size < agent.save(tmp_path / "full.npz").stat().st_size
    loaded = load_agent(path)
    np.testing.assert_array_equal(loaded.predict(np.arange(500))[0], agent.policy)
    with pytest.raises(AttributeError, match=r"saved without its model \(include_model=False\)"):
        loaded.mdp  # noqa: B018
    with pytest.raises(AttributeError, match="has no mdp"):
        loaded.expected_return()
    # evaluate takes the exact figures from the env it plays
    result = loaded.evaluate(gym.make("Taxi-v4"), n_episodes=20, seed=0)
    assert result.expected_return == pytest.approx(agent.expected_return_within_limit())
    with pytest.raises(ValueError, match="pass include_model=False"):
        loaded.save(tmp_path / "again.npz")
    loaded.save(tmp_path / "again.npz", include_model=False)


def test_load_as_the_wrong_class_raises(tmp_path):
    path = planned("Taxi-v4", PolicyIterationAgent).save(tmp_path / "pi.npz")
    with pytest.raises(
        ValueError, match=r"holds a PolicyIterationAgent, not a ValueIterationAgent"
    ):
        ValueIterationAgent.load(path)
    assert isinstance(PlanningAgent.load(path), PolicyIterationAgent)


def test_load_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_agent(tmp_path / "nothing.npz")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"policy": None}, r"is not an agent file written by agent\.save: it lacks policy"),
        ({"format_version": FORMAT_VERSION + 1}, r"agent file format 2; .* reads formats up to 1"),
        ({"agent_class": "SarsaAgent"}, r"holds a SarsaAgent, which is not defined"),
        ({"policy": np.full(16, 4)}, r"policy has action 4 at state 0, outside 0\.\.3"),
        ({"policy": np.zeros(15, dtype=np.int64)}, r"policy has shape \(15,\), expected \(16,\)"),
        ({"policy": np.zeros(16)}, r"policy has dtype float64, not int"),
        ({"model_prob": None}, r"its model lacks model_prob"),
        ({"model_prob": lambda prob: 0.5 * prob}, r"must sum to 1"),
    ],
)
def test_load_rejects_a_damaged_file(tmp_path, changes, match):
    path = ValueIterationAgent(gym.make("FrozenLake-v1")).save(tmp_path / "agent.npz")
    rewrite_agent_file(path, **changes)
    with pytest.raises(ValueError, match=match):
        load_agent(path)


def test_load_rejects_a_file_that_is_not_an_archive(tmp_path):
    path = tmp_path / "agent.npz"
    path.write_text("not an archive")
    with pytest.raises(ValueError, match=r"is not an agent file written by agent\.save"):
        load_agent(path)


# ------------------------------------------------------------ old files
OLD_FILES = Path(__file__).parent / "data"
"""Agent files of format 1 written by the flat layout (rl_planners/agents.py,
persistence.py), at the commit before the subpackage redesign (39a071e^)::

    ValueIterationAgent(gym.make("FrozenLake-v1"), gamma=0.95, tol=1e-10).save(...)
    FiniteHorizonAgent(gym.make("FrozenLake-v1"), horizon=5).save(...)
    ModifiedPolicyIterationAgent(gym.make("CliffWalking-v1"), gamma=0.9, m=3,
                                 V0=np.zeros(48)).save(..., include_model=False)
"""


def test_a_value_iteration_file_of_the_flat_layout_loads_and_matches_a_fresh_plan(monkeypatch):
    forbid_planning(monkeypatch)
    agent = load_agent(OLD_FILES / "value_iteration_frozen_lake_format1.npz")
    monkeypatch.undo()
    assert type(agent) is ValueIterationAgent
    assert (agent.env_id, agent.gamma, dict(agent.options)) == (
        "FrozenLake-v1",
        0.95,
        {"tol": 1e-10},
    )
    fresh = ValueIterationAgent(gym.make("FrozenLake-v1"), gamma=0.95, tol=1e-10)
    np.testing.assert_array_equal(agent.policy, fresh.policy)
    np.testing.assert_allclose(agent.V, fresh.V, atol=1e-10)
    assert agent.mdp is not None and agent.mdp.n_states == 16
    assert agent.expected_return() == pytest.approx(fresh.expected_return(), abs=1e-10)


def test_a_finite_horizon_file_of_the_flat_layout_loads_and_matches_a_fresh_plan():
    from rl_planners import FiniteHorizonAgent

    agent = load_agent(OLD_FILES / "finite_horizon_frozen_lake_format1.npz")
    assert type(agent) is FiniteHorizonAgent and agent.policy.shape == (5, 16)
    with pytest.warns(UserWarning, match="horizon=5 is shorter than the time limit"):
        fresh = FiniteHorizonAgent(gym.make("FrozenLake-v1"), horizon=5)
    np.testing.assert_array_equal(agent.policy, fresh.policy)
    np.testing.assert_allclose(agent.V, fresh.V, atol=1e-12)


def test_a_file_without_model_and_with_an_array_option_of_the_flat_layout_loads():
    agent = load_agent(OLD_FILES / "modified_policy_iteration_cliff_walking_format1.npz")
    assert type(agent) is ModifiedPolicyIterationAgent
    assert agent.options["m"] == 3
    # the flat layout kept array options in the JSON options, so V0 comes back as a list
    np.testing.assert_array_equal(agent.options["V0"], np.zeros(48))
    fresh = ModifiedPolicyIterationAgent(gym.make("CliffWalking-v1"), gamma=0.9, m=3)
    np.testing.assert_array_equal(agent.policy, fresh.policy)
