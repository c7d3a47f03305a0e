"""The ``rl-planners`` command line (also ``python -m rl_planners``).

Subcommands:

- ``solve ENV_ID``: plan, then print the solve's statistics, ``V`` and the
  policy (as grids with arrows for grid envs) and the exact expected return;
  ``--save`` writes the agent, ``--plot`` a figure.
- ``play ENV_ID``: plan, play episodes in the env loop and print the sampled
  return beside its exact expectation; ``--render`` shows one episode.
- ``compare ENV_ID``: run every planner on one env and tabulate them against
  policy iteration's exact solution.
- ``list-envs``: the registered ids whose env exposes a tabular model.

Bad input (an unknown id, an env without a model, malformed JSON, an
option out of range) prints one line, ``rl-planners: error: ...``, on stderr
and exits with status 2. Ctrl-C during a solve keeps the last iterate, marked
not converged, and the command finishes with it (status 130).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import gymnasium as gym

__all__ = ["build_parser", "main"]

from rl_planners.interface.commands import (
    EXIT_INTERRUPTED,
    PLANNERS,
    PROG,
    CLIError,
    one_line,
    run_compare,
    run_list_envs,
    run_play,
    run_solve,
)

EXIT_ERROR = 2
"""Exit status for bad input, as argparse uses for usage errors."""


# ===================================================================== main
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name; default ``sys.argv[1:]``.
    """
    args = build_parser().parse_args(argv)
    try:
        with _one_line_warnings():
            return args.run(args)
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `rl-planners list-envs | head -1`
        return 0
    except (CLIError, ValueError, OSError, ImportError, gym.error.Error) as error:
        _print_error(error)
        return EXIT_ERROR


def _print_error(error: object) -> None:
    print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Show each warning as one line, ``rl-planners: warning: ...``."""
    original = warnings.showwarning

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        text = one_line(message).removeprefix("WARN: ")
        print(f"{PROG}: warning: {text}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


# =================================================================== parser
class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``rl-planners`` and its subcommands."""
    from rl_planners import __version__

    parser = _Parser(
        prog=PROG,
        description="Exact tabular dynamic-programming planners for Gymnasium environments.",
        epilog="Run 'rl-planners COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    solve = commands.add_parser(
        "solve",
        help="plan for an env; print V, the policy and the exact expected return",
        description="Plan for an env, then print the solve's statistics, V and the policy "
        "(as grids with arrows for grid envs) and the exact expected return.",
    )
    _add_env_arguments(solve)
    _add_planner_arguments(solve)
    solve.add_argument("--save", metavar="FILE", help="write the agent to FILE (.npz)")
    solve.add_argument(
        "--plot",
        metavar="FILE",
        help="write a figure (value heatmap with arrows, convergence) to FILE, e.g. plan.png",
    )
    solve.set_defaults(run=run_solve)

    play = commands.add_parser(
        "play",
        help="plan, play episodes and compare the mean return with the exact one",
        description="Plan, play the agent in the env loop, and print the mean return "
        "beside the exact expected return within the env's time limit.",
    )
    _add_env_arguments(play)
    _add_planner_arguments(play)
    play.add_argument(
        "--episodes", type=_positive_int, default=100, metavar="N", help="default 100"
    )
    play.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seed of the first reset (default 0)"
    )
    play.add_argument(
        "--render", action="store_true", help="show the text frames of one episode first"
    )
    play.set_defaults(run=run_play)

    compare = commands.add_parser(
        "compare",
        help="run every planner on one env and tabulate them",
        description="Run value iteration, policy iteration, modified policy iteration and "
        "(for gamma < 1) linear programming on one env; compare each with policy "
        "iteration's exact solution.",
    )
    _add_env_arguments(compare)
    _add_planner_arguments(compare, algo=False)
    compare.add_argument(
        "--plot", metavar="FILE", help="write the convergence plot of every planner to FILE"
    )
    compare.set_defaults(run=run_compare)

    list_envs = commands.add_parser(
        "list-envs",
        help="list the registered env ids that expose a tabular model",
        description="List Gymnasium's toy-text ids and ours (rl_planners/...) whose env "
        "has Discrete spaces and a model (P).",
    )
    list_envs.set_defaults(run=run_list_envs)
    return parser


def _add_env_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("env_id", metavar="ENV_ID", help="e.g. FrozenLake-v1 (see list-envs)")
    parser.add_argument(
        "--env-kwargs",
        type=_json_object,
        default={},
        metavar="JSON",
        help="keyword arguments of gym.make, e.g. '{\"is_slippery\": false}'",
    )


def _add_planner_arguments(parser: argparse.ArgumentParser, algo: bool = True) -> None:
    if algo:
        parser.add_argument(
            "--algo",
            choices=list(PLANNERS),
            default="vi",
            help="value iteration (default), policy iteration or modified policy iteration",
        )
    parser.add_argument(
        "--gamma", type=_discount, default=0.99, metavar="G", help="discount in [0, 1] (0.99)"
    )
    parser.add_argument(
        "--tol",
        type=_positive_float,
        metavar="T",
        help="tolerance of vi and mpi: the greedy policy is T-optimal (default 1e-8)",
    )
    parser.add_argument(
        "--max-iterations", type=_positive_int, metavar="N", help="iteration cap of the solver"
    )
    parser.add_argument(
        "--m",
        type=_non_negative_int,
        metavar="M",
        help="partial evaluation sweeps of mpi (default 20)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar, even for long solves"
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"is_slippery\": false}}', got {text!r}"
        )
    return value


def _number(text: str, kind: Callable[[str], Any], expected: str, ok: Callable[[Any], bool]):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def _discount(text: str) -> float:
    return _number(text, float, "a number in [0, 1]", lambda g: 0.0 <= g <= 1.0)


def _positive_float(text: str) -> float:
    return _number(text, float, "a positive number", lambda x: math.isfinite(x) and x > 0)


def _positive_int(text: str) -> int:
    return _number(text, int, "an integer >= 1", lambda n: n >= 1)


def _non_negative_int(text: str) -> int:
    return _number(text, int, "an integer >= 0", lambda n: n >= 0)
