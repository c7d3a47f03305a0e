"""Tests of the PETSc export for madupite (rl_planners.mdp.petsc, TabularMDP.to_petsc).

No PETSc is needed: the bytes are checked against the format as PETSc's
``MatLoad`` manual page documents it (big-endian int32 class id 1211216, rows,
columns, entries, then row lengths, column indices and float64 values), and
the exported model is solved again here, as madupite would solve it (every
row a distribution, no terminal flag), to show that its optimal values are
the model's.
"""

from __future__ import annotations

import os
import struct

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from independent import dense_model, dense_optimal_values
from strategies import random_mdps

import envs  # noqa: F401  (registers the rl_planners/ ids)
from rl_planners.mdp import TabularMDP
from rl_planners.mdp.petsc import (
    MAT_FILE_CLASSID,
    VEC_FILE_CLASSID,
    read_petsc_matrix,
    write_petsc_matrix,
)


def exported(mdp: TabularMDP, directory) -> tuple[np.ndarray, np.ndarray]:
    """The dense ``P [S'·A, S']`` and ``g [S', A]`` read back from ``mdp.to_petsc``."""
    files = mdp.to_petsc(directory)
    P = read_petsc_matrix(files.transitions).toarray()
    g = read_petsc_matrix(files.rewards).toarray()
    assert P.shape == (files.n_states * files.n_actions, files.n_states)
    assert g.shape == (files.n_states, files.n_actions)
    return P, g


def solved_as_madupite_would(P: np.ndarray, g: np.ndarray, gamma: float) -> np.ndarray:
    """V* of the exported model: every outcome continues (madupite has no terminal flag)."""
    n_states, n_actions = g.shape
    assert np.allclose(P.sum(axis=1), 1.0, rtol=0.0, atol=1e-12)  # rows are distributions
    return dense_optimal_values(P.reshape(n_states, n_actions, n_states), g, gamma)


def test_the_bytes_follow_petscs_binary_matrix_layout(tmp_path) -> None:
    # P = [[0.25, 0, 0.75], [0, 1, 0]]: rows of 2 and 1 entries.
    matrix = np.array([[0.25, 0.0, 0.75], [0.0, 1.0, 0.0]])
    write_petsc_matrix(tmp_path / "m.bin", sp.csr_matrix(matrix))
    data = (tmp_path / "m.bin").read_bytes()
    assert data[:4] == b"\x00\x12\x7b\x50"  # 1211216, big-endian
    header = struct.unpack(">4i", data[:16])
    assert header == (MAT_FILE_CLASSID, 2, 3, 3)
    assert struct.unpack(">2i", data[16:24]) == (2, 1)  # row lengths
    assert struct.unpack(">3i", data[24:36]) == (0, 2, 1)  # column indices
    assert struct.unpack(">3d", data[36:60]) == (0.25, 0.75, 1.0)  # values
    assert len(data) == 60


@pytest.mark.parametrize(
    "env_id, kwargs",
    [
        ("FrozenLake-v1", {}),  # terminal self-loops, repeated next states
        ("Taxi-v4", {}),  # terminating outcomes out of ordinary states
        ("CliffWalking-v1", {}),
    ],
)
def test_exported_model_has_our_optimal_values(tmp_path, env_id, kwargs) -> None:
    mdp = TabularMDP.from_env(gym.make(env_id, **kwargs))
    P, g = exported(mdp, tmp_path / "model")
    assert g.shape == (mdp.n_states + 1, mdp.n_actions)  # one absorbing state added
    T, R = dense_model(gym.make(env_id, **kwargs).unwrapped.P)
    gamma = 0.95
    V_export = solved_as_madupite_would(P, g, gamma)
    V_ours = dense_optimal_values(T, R, gamma)
    assert np.abs(V_export[: mdp.n_states] - V_ours).max() < 1e-9
    assert V_export[mdp.n_states] == 0.0


@settings(max_examples=25, deadline=None)
@given(random_mdps())
def test_random_models_round_trip_and_keep_their_optimum(tmp_path_factory, drawn) -> None:
    mdp = drawn.from_transitions()
    P, g = exported(mdp, tmp_path_factory.mktemp("petsc"))
    n_states, n_actions = mdp.n_states, mdp.n_actions
    T, R = dense_model(drawn.P)
    terminates = (mdp.termination_probability > 0).any()
    assert g.shape[0] == n_states + int(terminates)
    # the arrays themselves: P_cont, the ending probability, R
    assert np.allclose(P[: n_states * n_actions, :n_states], T.reshape(-1, n_states), atol=1e-15)
    assert np.array_equal(g[:n_states], mdp.R)
    if terminates:
        ends = P[: n_states * n_actions, n_states]
        assert np.allclose(ends, mdp.termination_probability.reshape(-1), atol=1e-15)
        assert np.array_equal(P[n_states * n_actions :, n_states], np.ones(n_actions))
        assert not g[n_states].any()
    gamma = 0.9
    V_export = solved_as_madupite_would(P, g, gamma)
    assert np.abs(V_export[:n_states] - dense_optimal_values(T, R, gamma)).max() < 1e-9


def test_a_model_without_terminating_outcomes_gets_no_extra_state(tmp_path) -> None:
    forest = TabularMDP.from_env(gym.make("rl_planners/ForestManagement-v0"))
    files = forest.to_petsc(tmp_path / "forest")
    assert files.absorbing_state is None and files.n_states == forest.n_states
    P = read_petsc_matrix(files.transitions)
    assert (P != forest.continuation).nnz == 0
    assert files.transitions == tmp_path / "forest" / "P.bin"
    assert files.rewards == tmp_path / "forest" / "g.bin"


def test_writing_again_replaces_the_files_and_leaves_no_temporary(tmp_path) -> None:
    lake = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    taxi = TabularMDP.from_env(gym.make("Taxi-v4"))
    lake.to_petsc(tmp_path / "out")
    files = taxi.to_petsc(tmp_path / "out")
    assert sorted(os.listdir(tmp_path / "out")) == ["P.bin", "g.bin"]
    assert read_petsc_matrix(files.rewards).shape == (taxi.n_states + 1, taxi.n_actions)


def test_a_failed_write_leaves_the_old_file_as_it_was(tmp_path, monkeypatch) -> None:
    lake = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    files = lake.to_petsc(tmp_path / "out")
    before = files.transitions.read_bytes()

    def fail(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", fail)  # after the new bytes, before the rename
    with pytest.raises(OSError, match="disk full"):
        TabularMDP.from_env(gym.make("Taxi-v4")).to_petsc(tmp_path / "out")
    assert files.transitions.read_bytes() == before
    assert sorted(os.listdir(tmp_path / "out")) == ["P.bin", "g.bin"]


def test_bad_paths_are_refused_with_what_to_do(tmp_path) -> None:
    lake = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    with pytest.raises(TypeError, match="path must be a directory name"):
        lake.to_petsc(None)
    with pytest.raises(ValueError, match="path must name a directory"):
        lake.to_petsc("")
    (tmp_path / "a_file").write_text("not a directory")
    with pytest.raises(ValueError, match="is a file; give a directory name"):
        lake.to_petsc(tmp_path / "a_file")
    with pytest.raises(FileNotFoundError, match=r"parent directory .* does not exist"):
        lake.to_petsc(tmp_path / "missing" / "model")
    assert not (tmp_path / "missing").exists()


def test_the_reader_names_what_is_wrong_with_a_file(tmp_path) -> None:
    vector = tmp_path / "vec.bin"
    vector.write_bytes(struct.pack(">2i", VEC_FILE_CLASSID, 1) + struct.pack(">d", 1.0))
    with pytest.raises(ValueError, match="holds a PETSc vector"):
        read_petsc_matrix(vector)
    other = tmp_path / "other.bin"
    other.write_bytes(struct.pack(">4i", 42, 1, 1, 0))
    with pytest.raises(ValueError, match="class id 42, expected 1211216"):
        read_petsc_matrix(other)
    lake = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    files = lake.to_petsc(tmp_path / "lake")
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(files.transitions.read_bytes()[:-8])
    with pytest.raises(ValueError, match="truncated"):
        read_petsc_matrix(truncated)
    with pytest.raises(FileNotFoundError):
        read_petsc_matrix(tmp_path / "nothing.bin")
