r"""A model in PETSc's binary format, for madupite's distributed inexact policy iteration.

madupite (Gargiani et al., 2024) solves MDPs too large for one machine with
MPI and PETSc. It reads two matrices, each a PETSc binary file
(``madupite.Matrix.fromFile``):

- the transition probabilities ``P``, ``[S'·A, S']``, row ``s·A + a``,
  column ``s'`` (category ``Dynamics``, sparse);
- the stage values ``g``, ``[S', A]`` (category ``Cost``, read sparse and
  best held dense).

:func:`write_petsc` writes them from a model's arrays as ``P.bin`` and
``g.bin`` in one directory; :meth:`rl_planners.mdp.TabularMDP.to_petsc`
calls it with the model's own arrays.

Rewards. ``g`` holds the expected rewards ``R(s, a) = Σ prob · reward``
unchanged: solve with ``-mode MAXREWARD``. (With ``-mode MINCOST`` the costs
would be ``−g``, and madupite's optimal costs ``−V*``.)

Terminating outcomes. madupite has no terminal flag: every row of ``P`` sums
to 1 and every next state has a future. A terminating outcome of ours gains
its reward and then nothing, so the export sends it to one added state
``z = S`` (``S' = S + 1``) that every action keeps in ``z`` with probability 1
and reward 0. Then ``V*(z) = 0`` for every discount ``γ < 1``, and

    ``Q(s, a) = R(s, a) + γ [Σ_{s' < S} P_cont(s'|s,a) V(s') + P_end(s,a) · V(z)]``

is our backup exactly, so the optimal values on ``0..S−1`` and the optimal
policies are ours. A model without terminating outcomes gets no added
state (``S' = S``). madupite asks for ``γ ∈ (0, 1)``.

The binary format (PETSc's ``MatView`` / ``MatLoad`` for a sequential AIJ
matrix with 32-bit indices; see the ``MatLoad`` manual page): big-endian
throughout,

- int32 class id ``1211216`` (``MAT_FILE_CLASSID``; a vector would have
  ``1211214``, ``VEC_FILE_CLASSID``), int32 rows ``M``, int32 columns ``N``,
  int32 stored entries ``nz``;
- int32 ``[M]`` the number of entries of each row;
- int32 ``[nz]`` their column indices, row by row, increasing in each row;
- float64 ``[nz]`` their values.

Every file is written atomically (:func:`rl_planners.atomic_file.write_atomically`):
a temporary file beside it, fsync-ed and renamed over it. The two files are
written one after the other, each whole or not at all. No ``.info`` file is
written: PETSc reads the matrices without one (versions that warn about its
absence are silenced by ``-viewer_binary_skip_info``).

References
----------
M. Gargiani, R. Sieber, P. Pawlowsky, J. Lygeros (2024). *madupite: a
high-performance distributed solver for large-scale Markov decision
processes*. https://github.com/madupite/madupite
PETSc manual, ``MatLoad``: https://petsc.org/release/manualpages/Mat/MatLoad/
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp

from rl_planners.atomic_file import write_atomically

__all__ = [
    "MAT_FILE_CLASSID",
    "VEC_FILE_CLASSID",
    "PetscFiles",
    "petsc_model",
    "read_petsc_matrix",
    "write_petsc",
    "write_petsc_matrix",
]

MAT_FILE_CLASSID = 1211216
"""PETSc's class id at the start of a binary matrix file."""

VEC_FILE_CLASSID = 1211214
"""PETSc's class id at the start of a binary vector file."""

TRANSITIONS_FILE = "P.bin"
REWARDS_FILE = "g.bin"

_INT32_MAX = np.iinfo(np.int32).max
_CHUNK = 1 << 22
"""Entries converted to big-endian at a time (bounds the writer's temporaries)."""


@dataclass(frozen=True)
class PetscFiles:
    """What :func:`write_petsc` wrote.

    Attributes
    ----------
    transitions : pathlib.Path
        ``P.bin``: ``[n_states·n_actions, n_states]`` transition probabilities.
    rewards : pathlib.Path
        ``g.bin``: ``[n_states, n_actions]`` expected rewards (``-mode MAXREWARD``).
    n_states : int
        ``S'``: the model's states, plus one if ``absorbing_state`` is set.
    n_actions : int
        ``A``.
    absorbing_state : int or None
        ``S``, the added zero-reward state that terminating outcomes lead to,
        or None if the model has no terminating outcome.
    """

    transitions: Path
    rewards: Path
    n_states: int
    n_actions: int
    absorbing_state: int | None


def petsc_model(
    continuation: sp.csr_matrix, termination_probability: np.ndarray, R: np.ndarray
) -> tuple[sp.csr_matrix, np.ndarray, int | None]:
    """The exported ``P [S'·A, S']``, ``g [S', A]`` and the added absorbing state (or None).

    Parameters
    ----------
    continuation : scipy.sparse.csr_matrix
        ``[S·A, S]`` probabilities of the non-terminating outcomes, duplicates summed.
    termination_probability : numpy.ndarray
        ``[S, A]`` probability that each pair ends the episode.
    R : numpy.ndarray
        ``[S, A]`` expected rewards.
    """
    n_states, n_actions = R.shape
    ends = np.asarray(termination_probability, dtype=np.float64).reshape(-1)  # [S*A]
    matrix = sp.csr_matrix(continuation, dtype=np.float64)
    g = np.array(R, dtype=np.float64)
    absorbing = None
    if np.any(ends > 0.0):
        absorbing = n_states
        to_end = sp.csr_matrix(ends.reshape(-1, 1))
        stay = sp.csr_matrix(np.ones((n_actions, 1)))  # [A, 1]: z stays z
        matrix = sp.bmat([[matrix, to_end], [None, stay]], format="csr")
        g = np.vstack([g, np.zeros((1, n_actions))])
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix, g, absorbing


def write_petsc(
    path: Any,
    continuation: sp.csr_matrix,
    termination_probability: np.ndarray,
    R: np.ndarray,
) -> PetscFiles:
    """Write a model as madupite reads it: ``path/P.bin`` and ``path/g.bin`` (module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        A directory, created if it does not exist (its parent must); files
        ``P.bin`` and ``g.bin`` in it are replaced.
    continuation, termination_probability, R
        The model's arrays, as :func:`petsc_model` takes them.

    Returns
    -------
    PetscFiles

    Raises
    ------
    TypeError
        If ``path`` is not a string or path-like.
    ValueError
        If ``path`` names an existing file, or the model has more rows or
        entries than 32-bit PETSc indices hold (2³¹ − 1).
    FileNotFoundError
        If the parent directory of ``path`` does not exist.
    """
    directory = _directory(path)
    P, g, absorbing = petsc_model(continuation, termination_probability, R)
    _check_int32(P, "the transition matrix")
    directory.mkdir(exist_ok=True)
    transitions, rewards = directory / TRANSITIONS_FILE, directory / REWARDS_FILE
    write_petsc_matrix(transitions, P)
    write_petsc_matrix(rewards, _all_entries(g))
    return PetscFiles(transitions, rewards, g.shape[0], g.shape[1], absorbing)


def write_petsc_matrix(file: Path, matrix: sp.csr_matrix) -> None:
    """Write the CSR ``matrix`` (sorted columns) to ``file`` in PETSc's format, atomically."""
    _check_int32(matrix, f"the matrix for {os.fspath(file)!r}")

    def write(handle: BinaryIO) -> None:
        n_rows, n_columns = matrix.shape
        header = [MAT_FILE_CLASSID, n_rows, n_columns, matrix.nnz]
        handle.write(np.array(header, dtype=">i4").tobytes())
        _write_big_endian(handle, np.diff(matrix.indptr), ">i4")
        _write_big_endian(handle, matrix.indices, ">i4")
        _write_big_endian(handle, matrix.data, ">f8")

    write_atomically(file, write)


def read_petsc_matrix(path: Any) -> sp.csr_matrix:
    """The matrix in a PETSc binary matrix file (32-bit indices, float64 values), as CSR.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a PETSc binary matrix of this layout (a vector, a
        wrong class id, sizes that do not match its length, a column out of
        range); the problem is named.
    """
    file = Path(os.fspath(path))
    data = file.read_bytes()
    name = os.fspath(file)
    if len(data) < 16:
        raise ValueError(f"{name!r} is not a PETSc binary matrix: only {len(data)} bytes")
    class_id, n_rows, n_columns, nnz = (int(x) for x in np.frombuffer(data, ">i4", 4))
    if class_id == VEC_FILE_CLASSID:
        raise ValueError(f"{name!r} holds a PETSc vector (class id {class_id}), not a matrix")
    if class_id != MAT_FILE_CLASSID:
        raise ValueError(
            f"{name!r} is not a PETSc binary matrix: class id {class_id}, "
            f"expected {MAT_FILE_CLASSID}"
        )
    if min(n_rows, n_columns, nnz) < 0:
        raise ValueError(f"{name!r}: negative size in the header ({n_rows}, {n_columns}, {nnz})")
    expected = 16 + 4 * n_rows + 12 * nnz
    if len(data) != expected:
        raise ValueError(
            f"{name!r}: a {n_rows}x{n_columns} matrix with {nnz} entries takes {expected} "
            f"bytes, the file has {len(data)} (truncated, or 64-bit indices)"
        )
    offset = 16
    row_lengths = np.frombuffer(data, ">i4", n_rows, offset).astype(np.int64)
    offset += 4 * n_rows
    columns = np.frombuffer(data, ">i4", nnz, offset).astype(np.int64)
    values = np.frombuffer(data, ">f8", nnz, offset + 4 * nnz).astype(np.float64)
    if row_lengths.sum() != nnz or np.any(row_lengths < 0):
        raise ValueError(f"{name!r}: the row lengths do not add up to the {nnz} entries")
    if nnz and (columns.min() < 0 or columns.max() >= n_columns):
        raise ValueError(f"{name!r}: a column index lies outside 0..{n_columns - 1}")
    indptr = np.concatenate(([0], np.cumsum(row_lengths)))
    return sp.csr_matrix((values, columns, indptr), shape=(n_rows, n_columns))


# ----------------------------------------------------------------- helpers
def _directory(path: Any) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a directory name (str or os.PathLike), got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValueError(f"path must name a directory, got {text!r}")
    directory = Path(text)
    if directory.exists() and not directory.is_dir():
        raise ValueError(
            f"path must name a directory to hold {TRANSITIONS_FILE} and {REWARDS_FILE}, "
            f"but {text!r} is a file; give a directory name"
        )
    parent = directory.parent
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot create {text!r}: its parent directory {os.fspath(parent)!r} "
            "does not exist; create it first"
        )
    return directory


def _all_entries(dense: np.ndarray) -> sp.csr_matrix:
    """``dense`` as CSR with every entry stored, zeros included (a fixed layout)."""
    n_rows, n_columns = dense.shape
    return sp.csr_matrix(
        (
            dense.reshape(-1),
            np.tile(np.arange(n_columns), n_rows),
            np.arange(0, n_rows * n_columns + 1, n_columns),
        ),
        shape=dense.shape,
    )


def _check_int32(matrix: sp.spmatrix, what: str) -> None:
    n_rows, n_columns = matrix.shape
    if max(n_rows, n_columns, matrix.nnz) > _INT32_MAX:
        raise ValueError(
            f"{what} has {n_rows} rows, {n_columns} columns and {matrix.nnz} entries: "
            f"more than 32-bit PETSc indices hold ({_INT32_MAX}); this writer writes "
            "32-bit indices only"
        )


def _write_big_endian(handle: BinaryIO, values: np.ndarray, dtype: str) -> None:
    for start in range(0, values.size, _CHUNK):
        handle.write(values[start : start + _CHUNK].astype(dtype).tobytes())
