"""Files written whole or not at all: a checked file name and an atomic write.

A leaf: it imports nothing from rl_planners. The agent file
(:mod:`rl_planners.persistence`) and the PETSc export
(:mod:`rl_planners.mdp.petsc`) both write through :func:`write_atomically`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["file_path", "write_atomically"]


def file_path(path: Any) -> Path:
    """``path`` as a :class:`~pathlib.Path` that may name a file (it need not exist yet).

    Raises
    ------
    TypeError
        If ``path`` is not a string or path-like.
    ValueError
        If it is empty, ends with a path separator or names an existing directory.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file name (str or os.PathLike), got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str) or not text or text.endswith(("/", os.sep)):
        raise ValueError(f"path must name a file, not a directory: got {text!r}")
    file = Path(text)
    if file.is_dir():
        raise ValueError(f"path must name a file, but {text!r} is a directory")
    return file


def write_atomically(file: Path, write: Callable[[BinaryIO], None]) -> None:
    """Run ``write(handle)`` on a temporary file beside ``file``, fsync, rename it over ``file``.

    Either the whole new content is at ``file`` afterwards, or (if ``write``
    or the disk fails, or the process is interrupted) ``file`` is as it was
    and no temporary file remains.

    Raises
    ------
    FileNotFoundError
        If the directory of ``file`` does not exist.
    """
    directory = file.parent if str(file.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(
            f"cannot write {os.fspath(file)!r}: the directory {os.fspath(directory)!r} "
            "does not exist; create it first"
        )
    descriptor, temporary = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
