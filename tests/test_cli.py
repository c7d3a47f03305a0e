"""The ``rl-planners`` command line, end to end.

Every subcommand runs once as a subprocess (``python -m rl_planners``) on
FrozenLake-v1 and on one of our envs; the finer cases call ``main(argv)`` in
the test process, which runs the same code without the interpreter start-up.
Expected numbers come from the literature or from in-test computations that
do not go through the CLI.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from reference_values import FROZEN_LAKE_4X4_V_STAR_GAMMA_1

import envs  # noqa: F401  (registers the rl_planners/ ids)
from rl_planners import TabularMDP, policy_iteration, value_iteration
from rl_planners.agents.evaluation import expected_return
from rl_planners.agents.planners import PLANNERS
from rl_planners.interface.cli import main
from rl_planners.interface.commands import tabular_envs

REPO = Path(__file__).resolve().parents[1]

SUTTON_BARTO_4X4_V_STAR = -np.fromfunction(lambda r, c: np.minimum(r + c, 6 - r - c), (4, 4))
"""Sutton & Barto (2018), Example 4.1 at γ = 1: every step costs 1 and moves are
deterministic, so v*(s) is minus the number of steps from s to the nearest
terminal corner, min(r + c, 6 − r − c)."""


README_SOLVE_OUTPUT = """\
FrozenLake-v1: 16 states, 4 actions, time limit 100 steps
value iteration (gamma=1): converged after ... iterations, last residual ..., ... ms

V (state values, as on the map):
0.824  0.824  0.824  0.824
0.824  0.000  0.529  0.000
0.824  0.824  0.765  0.000
0.000  0.882  0.941  0.000

policy (greedy action in each state):
← ↑ ↑ ↑
← · ← ·
↑ ↓ ← ·
· → ↓ ·
(← = action 0, ↓ = action 1, → = action 2, ↑ = action 3; · = terminal state)

expected return from the initial distribution (exact):
  undiscounted, within 100 steps  0.7402
  undiscounted, no time limit     0.8235
"""
"""What the README shows for ``rl-planners solve FrozenLake-v1 --gamma 1``; ``...``
stands for the run's iteration count, residual and time."""


# ----------------------------------------------------------------- helpers
def child_environment() -> dict[str, str]:
    """The environment of a child ``python -m rl_planners``: this checkout, UTF-8 output."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONIOENCODING": "utf-8"}


def run_subprocess(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rl_planners", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=child_environment(),
        timeout=timeout,
        check=False,
    )


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """``main(args)`` in this process: its exit status, stdout and stderr."""
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def section(out: str, title: str) -> list[str]:
    """The lines after the line starting with ``title``, up to the next blank line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def value_grid(out: str) -> np.ndarray:
    return np.array([[float(x) for x in row.split()] for row in section(out, "V (state values")])


def figure(out: str, label: str) -> float:
    """The number after ``label`` on the first line that holds it."""
    line = next(line for line in out.splitlines() if label in line)
    return float(re.search(r"-?\d+\.\d+", line.split(label, 1)[1]).group())


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rl-planners")
    assert "error:" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


# ============================================================ subprocesses
def test_solve_frozen_lake():
    done = run_subprocess("solve", "FrozenLake-v1", "--gamma", "1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    pattern = re.escape(README_SOLVE_OUTPUT).replace(re.escape("..."), r"\S+")
    assert re.fullmatch(pattern, out), out
    assert out.startswith("FrozenLake-v1: 16 states, 4 actions, time limit 100 steps")
    assert "value iteration (gamma=1): converged after" in out
    V = value_grid(out)
    assert V.shape == (4, 4)
    # Printed to 3 decimals.
    np.testing.assert_allclose(V.reshape(-1), FROZEN_LAKE_4X4_V_STAR_GAMMA_1, atol=5e-4 + 1e-9)
    policy = [row.split() for row in section(out, "policy (greedy action")]
    desc = gym.make("FrozenLake-v1").unwrapped.desc.astype(str)
    for row in range(4):
        for col in range(4):
            assert (policy[row][col] == "·") == (desc[row, col] in "HG")
    assert policy[0][0] == "←"  # the optimal first move: away from the hole, slipping down
    assert figure(out, "undiscounted, no time limit") == pytest.approx(
        FROZEN_LAKE_4X4_V_STAR_GAMMA_1[0], abs=5e-5
    )
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    within = expected_return(mdp, value_iteration(mdp, 1.0).policy, horizon=100)
    assert figure(out, "undiscounted, within 100 steps") == pytest.approx(within, abs=1e-4)


def test_solve_sutton_barto_4x4():
    done = run_subprocess("solve", "rl_planners/SuttonBarto4x4-v0", "--gamma", "1", "--algo", "pi")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "policy iteration (gamma=1): converged" in out
    np.testing.assert_array_equal(value_grid(out), SUTTON_BARTO_4X4_V_STAR)
    # Every arrow leads one step closer to a terminal corner.
    moves = {"←": (0, -1), "↓": (1, 0), "→": (0, 1), "↑": (-1, 0)}
    policy = [row.split() for row in section(out, "policy (greedy action")]
    for row in range(4):
        for col in range(4):
            if (row, col) in ((0, 0), (3, 3)):
                assert policy[row][col] == "·"
                continue
            d_row, d_col = moves[policy[row][col]]
            target = SUTTON_BARTO_4X4_V_STAR[row + d_row, col + d_col]
            assert target == SUTTON_BARTO_4X4_V_STAR[row, col] + 1
    # Start uniform over the 14 non-terminal cells: expected return = −(mean distance).
    mean_distance = -SUTTON_BARTO_4X4_V_STAR.sum() / 14
    assert figure(out, "undiscounted, no time limit") == pytest.approx(-mean_distance, abs=1e-4)


def test_play_frozen_lake():
    done = run_subprocess("play", "FrozenLake-v1", "--episodes", "1000")  # as in the README
    assert done.returncode == 0, done.stderr
    out = done.stdout
    match = re.search(
        r"1000 episodes \(seed 0\): return (\S+) ± (\S+) \(mean ± std\), mean length (\S+) steps",
        out,
    )
    assert match, out
    mean, std, length = map(float, match.groups())
    assert 0.0 <= mean <= 1.0 and 0.0 < std <= 0.5 and 1.0 <= length <= 100.0
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    exact = expected_return(mdp, value_iteration(mdp, 0.99).policy, horizon=100)
    assert figure(out, "exact expected return within 100 steps:") == pytest.approx(exact, abs=1e-4)
    # The sample mean of 1000 Bernoulli returns is within 4 standard errors of its expectation.
    assert abs(mean - exact) < 4 * std / np.sqrt(1000)
    assert "exact expected return with no time limit:" in out


def test_play_sutton_barto_4x4_with_render():
    done = run_subprocess(
        "play", "rl_planners/SuttonBarto4x4-v0", "--gamma", "1", "--episodes", "20", "--render"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    steps = re.findall(r"^step (\d+): action (\d), reward (-?\d+)$", out, flags=re.MULTILINE)
    ended = re.search(r"^return (-?\d+) after (\d+) steps \(terminated\)$", out, re.MULTILINE)
    assert ended, out
    total, n_steps = int(ended.group(1)), int(ended.group(2))
    assert [int(step[0]) for step in steps] == list(range(1, n_steps + 1))
    assert total == -n_steps and 1 <= n_steps <= 3  # an optimal walk: −1 per step, ≤ 3 steps
    assert out.count("...T") == n_steps + 1  # one frame before the first step and after each
    assert figure(out, "exact expected return within 100 steps:") == pytest.approx(-2.0)


def test_compare_frozen_lake():
    done = run_subprocess("compare", "FrozenLake-v1")
    assert done.returncode == 0, done.stderr
    rows = {
        line[:27].strip(): line[27:].split()
        for line in done.stdout.splitlines()
        if line.startswith(("value", "policy", "modified", "inexact", "linear"))
    }
    assert list(rows) == [
        "value iteration",
        "policy iteration",
        "modified policy iteration",
        "inexact policy iteration",
        "linear programming",
    ]
    for name, cells in rows.items():
        converged, max_error, same, optimal = cells[1], float(cells[4]), cells[5], cells[6]
        assert converged == "yes" and optimal == "yes", name
        assert max_error < 1e-6, name  # tol 1e-8 on V* ≤ 1
        assert same == "100.0%", name  # FrozenLake's optimal actions have no ties at γ = 0.99
    assert float(rows["policy iteration"][4]) == 0.0


def test_compare_our_env_at_gamma_1_leaves_out_linear_programming():
    done = run_subprocess("compare", "rl_planners/SuttonBarto4x4-v0", "--gamma", "1")
    assert done.returncode == 0, done.stderr
    assert "linear programming is left out: it needs gamma < 1" in done.stdout
    table = [line for line in done.stdout.splitlines() if line.endswith(("yes", "no"))]
    assert len(table) == len(PLANNERS)  # every planner of the table, without linear programming
    assert all(line.split()[-1] == "yes" for line in table)


def test_list_envs():
    done = run_subprocess("list-envs")
    assert done.returncode == 0, done.stderr
    ids = {line.split()[0] for line in done.stdout.splitlines()[2:]}
    assert {"FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4"} <= ids
    assert {"rl_planners/SuttonBarto4x4-v0", "rl_planners/GridWorld-v0"} <= ids
    assert not ids & {"Blackjack-v1", "CartPole-v1"}  # no P, or not Discrete
    frozen = next(line for line in done.stdout.splitlines() if line.startswith("FrozenLake-v1 "))
    assert frozen.split() == ["FrozenLake-v1", "16", "4", "100", "4x4"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["solve", "FrozenLak-v1"], ["unknown environment id 'FrozenLak-v1'", "'FrozenLake-v1'"]),
        (["play", "CartPole-v1"], ["CartPole-v1", "Discrete"]),
        (["compare", "FrozenLake-v1", "--env-kwargs", "{bad"], ["--env-kwargs", "not valid JSON"]),
    ],
    ids=["unknown-id", "no-model", "bad-json"],
)
def test_bad_input_in_a_subprocess_is_one_line(args, fragments):
    done = run_subprocess(*args)
    assert_one_line_error(done.returncode, done.stderr, *fragments)
    assert done.stdout == ""


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child process")
def test_ctrl_c_during_a_long_solve_shows_the_last_iterate():
    """SIGINT to a solve that would run for hours: its last iterate, not a traceback."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rl_planners",
            "solve",
            "rl_planners/Garnet-v0",
            # Each sweep shrinks ‖V_{k+1} − V_k‖ by γ only, and the tolerance is
            # out of reach: value iteration would sweep until the iteration cap.
            "--gamma",
            "0.999999",
            "--tol",
            "1e-300",
            "--max-iterations",
            "1000000000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        cwd=REPO,
        env=child_environment(),
        # A non-interactive shell starts its background jobs with SIGINT
        # ignored, and a child inherits that, so Python would install no
        # KeyboardInterrupt handler in it: give it the default, as a terminal does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        header = process.stdout.readline()  # printed just before the solve starts
        assert header.startswith("rl_planners/Garnet-v0: 100 states"), header
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert "Traceback" not in err
    assert process.returncode == 130
    assert re.search(r"NOT converged \(interrupted\) after \d+ iterations", out)
    assert "value_iteration interrupted after" in err
    assert "expected return from the initial distribution (exact):" in out


# =============================================================== in-process
@pytest.mark.parametrize("command", ["solve", "play", "compare"])
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["FrozenLak-v1"], ["did you mean 'FrozenLake-v1'"]),
        (["rl_planners/GridWorld-v1"], ["did you mean 'rl_planners/GridWorld-v0'"]),
        (["nowhere/Nothing-v0"], ["unknown environment id 'nowhere/Nothing-v0'", "list-envs"]),
        (["CartPole-v1"], ["CartPole-v1", "Discrete observation_space"]),
        (["FrozenLake-v1", "--env-kwargs", "{bad"], ["argument --env-kwargs: not valid JSON"]),
        (["FrozenLake-v1", "--env-kwargs", "[1, 2]"], ["expected a JSON object"]),
        (["FrozenLake-v1", "--env-kwargs", '{"size": 4}'], ["cannot make 'FrozenLake-v1'", "size"]),
        (
            ["rl_planners/GridWorld-v0", "--env-kwargs", '{"slip_probability": 0.9}'],
            ["slip_probability must be a probability in [0, 0.5]"],
        ),
        (["FrozenLake-v1", "--gamma", "1.5"], ["argument --gamma: expected a number in [0, 1]"]),
        (["FrozenLake-v1", "--tol", "-1"], ["argument --tol: expected a positive number"]),
    ],
)
def test_bad_input_is_one_line(capsys, command, args, fragments):
    code, out, err = run_main(capsys, command, *args)
    assert_one_line_error(code, err, *fragments)
    assert out == ""


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["solve", "FrozenLake-v1", "--algo", "pi", "--tol", "1e-3"],
            "policy iteration takes no --tol",
        ),
        (["play", "FrozenLake-v1", "--m", "5"], "value iteration takes no --m"),
        (
            ["solve", "FrozenLake-v1", "--algo", "ipi", "--inner-ratio", "2"],
            "argument --inner-ratio: expected a number in (0, 1], got '2'",
        ),
        (
            ["solve", "FrozenLake-v1", "--inner-ratio", "0.5"],
            "value iteration takes no --inner-ratio (only inexact policy iteration evaluates",
        ),
        (
            ["solve", "FrozenLake-v1", "--algo", "ipi", "--m", "5"],
            "inexact policy iteration takes no --m (only modified policy iteration makes",
        ),
        (
            ["solve", "FrozenLake-v1", "--algo", "pi", "--method", "gauss-seidel"],
            "policy iteration takes no --method (only value iteration and modified policy "
            "iteration can sweep in place)",
        ),
        (
            ["solve", "FrozenLake-v1", "--method", "sor"],
            "argument --method: expected jacobi or gauss-seidel, got 'sor'",
        ),
        (
            ["play", "FrozenLake-v1", "--episodes", "0"],
            "argument --episodes: expected an integer >= 1",
        ),
        (["solve", "FrozenLake-v1", "--algo", "xx"], "argument --algo: invalid choice"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
        (["solve", "FrozenLake-v1", "--save", "/no/such/dir/agent.npz"], "does not exist"),
    ],
)
def test_bad_options_are_one_line(capsys, args, fragment):
    code, _, err = run_main(capsys, *args)
    assert_one_line_error(code, err, fragment)


def test_solve_a_non_grid_env_lists_states(capsys):
    code, out, err = run_main(capsys, "solve", "Taxi-v4")
    assert code == 0, err
    table = section(out, "state  V")
    assert table[0].startswith("-----")
    assert len(table) == 1 + 20 + 2  # rule, 20 states, "... more", summary
    assert "... and 480 more states" in out
    assert "undiscounted, within 200 steps" in out


def test_solve_with_mpi_options(capsys):
    code, out, _ = run_main(
        capsys, "solve", "FrozenLake8x8-v1", "--algo", "mpi", "--m", "5", "--tol", "1e-6"
    )
    assert code == 0
    assert "modified policy iteration (gamma=0.99, tol=1e-06, m=5): converged" in out
    assert value_grid(out).shape == (8, 8)


@pytest.mark.parametrize("algo", ["vi", "mpi"])
def test_solve_with_gauss_seidel_sweeps(capsys, algo):
    pytest.importorskip("numba")
    code, out, err = run_main(
        capsys, "solve", "FrozenLake8x8-v1", "--algo", algo, "--method", "gauss-seidel",
        "--tol", "1e-6",
    )  # fmt: skip
    assert code == 0, err
    assert "method=gauss-seidel): converged" in out
    exact = policy_iteration(TabularMDP.from_env(gym.make("FrozenLake8x8-v1")), 0.99)
    # tol/2 on V (the solvers' guarantee), printed to 3 decimals
    np.testing.assert_allclose(value_grid(out).ravel(), exact.V, atol=5e-4 + 1e-6)


def test_solve_with_inexact_policy_iteration(capsys, tmp_path):
    code, out, err = run_main(
        capsys, "solve", "FrozenLake8x8-v1", "--algo", "ipi", "--tol", "1e-6",
        "--inner-ratio", "0.5", "--save", str(tmp_path / "ipi.npz"),
    )  # fmt: skip
    assert code == 0, err
    assert "inexact policy iteration (gamma=0.99, tol=1e-06, inner_ratio=0.5): converged" in out
    exact = policy_iteration(TabularMDP.from_env(gym.make("FrozenLake8x8-v1")), 0.99)
    # tol/2 on V (inexact_policy_iteration's guarantee), printed to 3 decimals
    np.testing.assert_allclose(value_grid(out).ravel(), exact.V, atol=5e-4 + 1e-6)
    from rl_planners import InexactPolicyIterationAgent, load_agent

    agent = load_agent(tmp_path / "ipi.npz")
    assert type(agent) is InexactPolicyIterationAgent
    assert agent.options == {"tol": 1e-6, "inner_ratio": 0.5}
    assert np.max(np.abs(agent.V - exact.V)) < 1e-6 / 2


def test_iteration_cap_warns_in_one_line(capsys):
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1", "--max-iterations", "5")
    assert code == 0
    assert "NOT converged (iteration cap reached) after 5 iterations" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rl-planners: warning: value_iteration stopped at max_iterations=5")


def test_ctrl_c_in_the_solver_keeps_the_last_iterate(capsys, monkeypatch):
    from rl_planners.interface import commands
    from rl_planners.interface.progress import SolveProgress

    class InterruptAtThree(SolveProgress):
        def __call__(self, iteration, residual):
            super().__call__(iteration, residual)
            if iteration == 3:
                raise KeyboardInterrupt

    monkeypatch.setattr(commands, "SolveProgress", InterruptAtThree)
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1", "--gamma", "1")
    assert code == 130
    assert "NOT converged (interrupted) after 3 iterations" in out
    assert "value_iteration interrupted after 3 iterations" in err
    assert "Traceback" not in err
    # The V printed is the third sweep's: T³0 (in-test).
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    with pytest.warns(UserWarning):
        third = value_iteration(mdp, 1.0, max_iterations=3).V
    np.testing.assert_allclose(value_grid(out).reshape(-1), third, atol=6e-4)


def test_ctrl_c_outside_the_solver_is_one_line(capsys, monkeypatch):
    from rl_planners.interface import commands

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "make_env", interrupted)
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1")
    assert code == 130
    assert out == ""
    assert err == "rl-planners: error: interrupted\n"


def test_policy_in_ascii_where_arrows_cannot_be_printed(monkeypatch):
    from rl_planners.interface import cli, commands

    class AsciiStream(io.StringIO):
        encoding = "ascii"

    stream = AsciiStream()
    args = cli.build_parser().parse_args(["solve", "FrozenLake-v1", "--gamma", "1"])
    assert commands.run_solve(args, out=stream) == 0
    policy = section(stream.getvalue(), "policy (greedy action")
    assert policy[0].split() == ["<", "^", "^", "^"]
    assert stream.getvalue().isascii()


def test_solve_save_writes_a_loadable_agent(capsys, tmp_path):
    from rl_planners.agents import PlanningAgent

    code, out, err = run_main(
        capsys, "solve", "FrozenLake-v1", "--algo", "pi", "--save", str(tmp_path / "agent")
    )
    assert code == 0, err
    path = tmp_path / "agent.npz"
    assert f"saved the agent to {path}" in out
    agent = PlanningAgent.load(path)
    expected = policy_iteration(TabularMDP.from_env(gym.make("FrozenLake-v1")), 0.99)
    np.testing.assert_array_equal(agent.policy, expected.policy)


def _png_size(path: Path) -> tuple[int, int]:
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.size and np.unique(image.reshape(-1, image.shape[-1]), axis=0).shape[0] > 10
    return image.shape[1], image.shape[0]


def test_solve_plot_writes_the_figure(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plan.png"
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1", "--plot", str(path))
    assert code == 0, err
    assert f"wrote the figure to {path}" in out
    assert _png_size(path) == (1100, 450)  # heatmap and convergence, 11 x 4.5 in at 100 dpi


def test_solve_plot_of_a_non_grid_env_is_the_convergence_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "taxi.png"
    code, _, err = run_main(capsys, "solve", "Taxi-v4", "--plot", str(path))
    assert code == 0, err
    assert _png_size(path) == (600, 400)


def test_compare_plot_writes_the_convergence_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "compare.png"
    code, _, err = run_main(capsys, "compare", "FrozenLake-v1", "--plot", str(path))
    assert code == 0, err
    assert _png_size(path) == (600, 400)


def test_plot_to_an_unknown_format_fails_before_planning(capsys):
    pytest.importorskip("matplotlib")
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1", "--plot", "plan.xyz")
    assert_one_line_error(code, err, "cannot write .xyz files")
    assert out == ""


def test_plot_without_matplotlib_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes its import fail
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1", "--plot", "plan.png")
    assert_one_line_error(code, err, 'pip install "rl_planners[plot]"')
    assert out == ""  # before planning


@pytest.mark.parametrize(("flags", "verbose"), [([], True), (["--quiet"], False)])
def test_quiet_turns_the_progress_bar_off(capsys, monkeypatch, flags, verbose):
    from rl_planners.interface import commands
    from rl_planners.interface.progress import SolveProgress

    made = []

    class Recorder(SolveProgress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(kwargs["verbose"])

    monkeypatch.setattr(commands, "SolveProgress", Recorder)
    code, _, _ = run_main(capsys, "solve", "FrozenLake-v1", *flags)
    assert code == 0
    assert made == [verbose]


def test_tabular_envs_reads_no_model():
    infos = {info.env_id: info for info in tabular_envs()}
    assert infos["CliffWalking-v1"].grid_shape == (4, 12)
    assert infos["CliffWalking-v1"].max_episode_steps is None
    assert infos["Taxi-v4"].grid_shape is None
    assert (infos["Taxi-v4"].n_states, infos["Taxi-v4"].n_actions) == (500, 6)


# ================================================================= regret
def _policy_file(tmp_path, array, name="policy.npy") -> str:
    path = tmp_path / name
    np.save(path, array)
    return str(path)


def _figures(out: str) -> dict[str, float]:
    found = re.findall(r"^  (policy|optimum|gap \(regret\))\s+(\S+)$", out, flags=re.M)
    return {label: float(value) for label, value in found}


def test_regret_prints_the_exact_return_the_optimum_and_the_gap(capsys, tmp_path):
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_env(env)
    policy = value_iteration(mdp, 0.99).policy
    code, out, err = run_main(
        capsys, "regret", "FrozenLake-v1", "--policy", _policy_file(tmp_path, policy)
    )
    assert code == 0, err
    assert "undiscounted, within 100 steps" in out
    figures = _figures(out)
    # In-test references: the policy's 100-step return (expected_return) and the
    # optimum by dense backward induction over 100 steps.
    from tests.independent import dense_backward_induction, dense_model

    T, R = dense_model(env.unwrapped.P)
    optimum = float(mdp.initial_distribution @ dense_backward_induction(T, R, 100, 1.0)[0][0])
    policy_return = expected_return(mdp, policy, 1.0, horizon=100)
    assert figures["policy"] == pytest.approx(policy_return, rel=1e-5)
    assert figures["optimum"] == pytest.approx(optimum, rel=1e-5)
    assert figures["gap (regret)"] == pytest.approx(optimum - policy_return, rel=1e-4)
    # reference_values: FrozenLake-v1 within 100 steps, optimum 0.744190, VI policy 0.740165
    assert figures["optimum"] == pytest.approx(0.744190, abs=1e-6)
    worst = section(out, "the 5 states with the largest gaps")
    assert worst[2].split()[0] == "3"  # the state with the largest gap first


def test_regret_with_gamma_is_the_discounted_return_and_zero_for_the_optimum(capsys, tmp_path):
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    optimal = policy_iteration(mdp, 0.9).policy
    code, out, err = run_main(
        capsys,
        "regret",
        "FrozenLake-v1",
        "--policy",
        _policy_file(tmp_path, optimal),
        "--gamma",
        "0.9",
    )
    assert code == 0, err
    assert "discounted (gamma=0.9), no time limit" in out
    figures = _figures(out)
    assert figures["policy"] == pytest.approx(expected_return(mdp, optimal, 0.9), rel=1e-5)
    assert abs(figures["gap (regret)"]) < 1e-9


def test_regret_reads_q_values_and_a_horizon(capsys, tmp_path):
    mdp = TabularMDP.from_env(gym.make("FrozenLake-v1"))
    result = value_iteration(mdp, 0.99)
    code, out, err = run_main(
        capsys,
        "regret",
        "FrozenLake-v1",
        "--policy",
        _policy_file(tmp_path, result.Q),
        "--horizon",
        "10",
    )
    assert code == 0, err
    assert "undiscounted, within 10 steps" in out
    expected = expected_return(mdp, result.policy, 1.0, horizon=10)  # greedy in Q
    assert _figures(out)["policy"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("array", "fragments"),
    [
        (None, ["no such file"]),
        (np.zeros(5, dtype=np.int64), ["shape (16,)", "got shape (5,)"]),
        (np.full(16, 7), ["0..3", "got 7 at state 0"]),
        (np.array(["a"] * 16, dtype=object), ["not a .npy file of numbers"]),
    ],
)
def test_regret_bad_policy_files_are_one_line(capsys, tmp_path, array, fragments):
    path = str(tmp_path / "missing.npy") if array is None else _policy_file(tmp_path, array)
    code, _, err = run_main(capsys, "regret", "FrozenLake-v1", "--policy", path)
    assert_one_line_error(code, err, *fragments)


def test_regret_without_a_horizon_asks_for_gamma_or_horizon(capsys, tmp_path):
    path = _policy_file(tmp_path, np.zeros(48, dtype=np.int64))
    code, out, err = run_main(capsys, "regret", "CliffWalking-v1", "--policy", path)
    assert_one_line_error(code, err, "no time limit", "--gamma", "--horizon")
    assert out == ""


def test_regret_needs_a_policy_and_is_in_the_help(capsys):
    code, _, err = run_main(capsys, "regret", "FrozenLake-v1")
    assert code == 2 and "--policy" in err
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and "regret" in out
    code, out, _ = run_main(capsys, "regret", "--help")
    assert code == 0
    for flag in ("--policy", "--gamma", "--horizon", "--env-kwargs"):
        assert flag in out


def test_the_planner_flags_come_from_the_table(capsys):
    from rl_planners.agents.planners import PLANNERS

    code, out, _ = run_main(capsys, "solve", "--help")
    assert code == 0
    assert "{" + ",".join(PLANNERS) + "}" in out
    offered = {option for planner in PLANNERS.values() for option in planner.flags}
    for option in offered:
        assert "--" + option.replace("_", "-") in out


def test_the_readme_regret_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """README "Command line": the block that saves policy.npy, then the regret line."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (block,) = [b for b in blocks if "policy.npy" in b]
    (line,) = [ln for ln in readme.splitlines() if ln.startswith("python -m rl_planners regret")]
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    command, claimed = line.split("  # ")
    code, out, err = run_main(capsys, *command.split()[3:])
    assert code == 0, err
    assert f"{float(claimed.split()[1]):.6g}" in out  # the gap the comment claims


def test_one_row_of_the_table_adds_a_planner_to_solve_compare_and_the_help(capsys, monkeypatch):
    """Adding a planner is a three-line agent class and one row of PLANNERS, nothing else."""
    from rl_planners.agents.planners import Planner
    from rl_planners.agents.stationary import PlanningAgent
    from rl_planners.solvers import modified_policy_iteration

    class SweepsOnlyAgent(PlanningAgent):
        solver = staticmethod(modified_policy_iteration)

    row = Planner("mpi0", "sweeps only", SweepsOnlyAgent, flags=("tol", "m"))
    monkeypatch.setitem(PLANNERS, "mpi0", row)
    code, out, _ = run_main(capsys, "solve", "--help")
    assert code == 0 and "mpi0" in out and "or sweeps only" in " ".join(out.split())
    code, out, err = run_main(capsys, "solve", "FrozenLake-v1", "--algo", "mpi0", "--m", "0")
    assert code == 0, err
    assert "sweeps only (gamma=0.99, m=0): converged" in out
    code, _, err = run_main(
        capsys, "solve", "FrozenLake-v1", "--algo", "mpi0", "--max-iterations", "3"
    )
    assert_one_line_error(code, err, "sweeps only takes no --max-iterations")
    code, out, err = run_main(capsys, "compare", "FrozenLake-v1")
    assert code == 0, err
    assert any(line.startswith("sweeps only") for line in out.splitlines())
