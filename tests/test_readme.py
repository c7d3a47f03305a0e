"""What the README shows is what the project does.

Every Python block of the README runs, every ``rl-planners`` command it shows
runs and succeeds, the quickstart output it prints matches a fresh run in its
numbers, and CI runs exactly the test command the README gives.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rl_planners.interface import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The blocks run in a scratch directory, as a user's script would, with the
# package importable whether or not it is installed.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _command_lines() -> list[str]:
    lines = []
    for block in _blocks("sh"):
        for line in block.splitlines():
            for part in line.split("  #")[0].split("&&"):
                if part.strip().startswith("rl-planners "):
                    lines.append(part.strip())
    return lines


def test_ci_runs_the_readme_test_command():
    commands = [line.strip() for block in _blocks("sh") for line in block.splitlines()]
    test_commands = [c for c in commands if c.endswith("python -m pytest") and "venv" in c]
    assert len(test_commands) == 1, "the README gives exactly one set-up-and-test command"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_commands[0] in [line.strip() for line in ci_lines]


def test_readme_has_two_newcomer_commands():
    newcomer = [
        line.strip()
        for block in _blocks("sh")
        for line in block.splitlines()
        if line.strip().startswith("python3 -m venv")
    ]
    assert len(newcomer) == 2
    assert "rl-planners play FrozenLake8x8-v1" in newcomer[0]


def _run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_block_runs(index, tmp_path):
    completed = _run_python(_blocks("python")[index], tmp_path)
    assert completed.returncode == 0, completed.stderr


def test_finite_horizon_block_prints_the_figure_it_claims(tmp_path):
    (block,) = [b for b in _blocks("python") if "backward_induction" in b]
    claimed = re.search(r"# (\d\.\d{4})", block).group(1)
    assert _run_python(block, tmp_path).stdout.strip() == claimed


@pytest.mark.parametrize("command", _command_lines())
def test_cli_command_runs(command, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib") if "--plot" in command else None
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(command)[1:]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out


def test_quickstart_output_matches_a_fresh_run(capsys):
    (shown,) = [b for b in _blocks("text") if b.startswith("FrozenLake8x8-v1")]
    (quickstart,) = [c for c in _command_lines() if c.startswith("rl-planners play FrozenLake8x8")]
    assert cli.main(shlex.split(quickstart)[1:]) == 0
    fresh = capsys.readouterr().out

    def numbers(text: str) -> list[str]:
        # Timings and the residual's last digits vary between machines.
        lines = [line for line in text.splitlines() if "converged after" not in line]
        return re.findall(r"-?\d+\.\d+", "\n".join(lines))

    assert numbers(fresh) == numbers(shown)
    assert [line for line in fresh.splitlines() if "←" in line or "→" in line] == [
        line for line in shown.splitlines() if "←" in line or "→" in line
    ]
