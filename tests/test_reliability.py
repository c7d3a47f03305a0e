"""Overflow is an error, never a converged result; agent files are named and written safely."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np
import pytest

from rl_planners import (
    NonFiniteValueError,
    TabularMDP,
    ValueIterationAgent,
    backward_induction,
    load_agent,
    modified_policy_iteration,
    persistence,
    policy_evaluation,
    policy_iteration,
    value_iteration,
)


def huge_reward_model() -> TabularMDP:
    """Two states looping on themselves with reward 1e308: V = 1e308/(1−γ) overflows."""
    return TabularMDP.from_arrays(
        [[[1.0, 0.0]], [[0.0, 1.0]]], [[1e308], [0.0]], initial_distribution=[1.0, 0.0]
    )


@pytest.mark.parametrize(
    "solve",
    [
        lambda mdp: value_iteration(mdp, 0.9),
        lambda mdp: value_iteration(mdp, 0.9, stopping="sup"),
        lambda mdp: policy_iteration(mdp, 0.9),
        lambda mdp: modified_policy_iteration(mdp, 0.9),
        lambda mdp: policy_evaluation(mdp, [0, 0], 0.9),
        lambda mdp: policy_evaluation(mdp, [0, 0], 0.9, method="iterative"),
        lambda mdp: backward_induction(mdp, horizon=5, gamma=1.0),
    ],
    ids=["vi-span", "vi-sup", "pi", "mpi", "evaluation-exact", "evaluation-iterative", "bi"],
)
def test_overflow_raises_naming_the_state(solve):
    # 1e308 / (1 − 0.9) = 1e309 > float64's 1.8e308; five steps of 1e308 overflow too.
    with pytest.raises(NonFiniteValueError, match=r"not finite .* at 1 state\(s\): 0\b") as caught:
        solve(huge_reward_model())
    assert list(caught.value.states) == [0]


def test_a_large_but_representable_value_is_solved():
    # 1e306 / (1 − 0.9) = 1e307 fits in float64: no error, and the exact value.
    mdp = TabularMDP.from_arrays([[[1.0, 0.0]], [[0.0, 1.0]]], [[1e306], [0.0]])
    assert value_iteration(mdp, 0.9).V[0] == pytest.approx(1e307, rel=1e-9)


@pytest.fixture(scope="module")
def agent():
    return ValueIterationAgent(gym.make("FrozenLake-v1"))


def test_save_and_load_meet_at_the_same_name(agent, tmp_path):
    written = agent.save(tmp_path / "good")
    assert written == tmp_path / "good.npz"
    np.testing.assert_array_equal(load_agent(tmp_path / "good").policy, agent.policy)
    np.testing.assert_array_equal(load_agent(str(tmp_path / "good.npz")).policy, agent.policy)


def test_a_directory_is_not_a_file_name(agent, tmp_path):
    with pytest.raises(ValueError, match="must name a file, not a directory"):
        agent.save(f"{tmp_path}{os.sep}")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        agent.save(tmp_path / "folder")
    assert not (tmp_path / "folder.npz").exists()


def test_a_path_that_is_no_path_is_a_type_error(agent):
    with pytest.raises(
        TypeError, match=r"path must be a file name \(str or os.PathLike\), got None"
    ):
        agent.save(None)


def test_a_failed_save_leaves_the_existing_file_intact(agent, tmp_path, monkeypatch):
    target = agent.save(tmp_path / "agent")
    before = target.read_bytes()

    def fail_halfway(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip archive")
        raise OSError("disk full")

    monkeypatch.setattr(persistence.np, "savez", fail_halfway)
    with pytest.raises(OSError, match="disk full"):
        agent.save(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.npz"]  # no temporary left
