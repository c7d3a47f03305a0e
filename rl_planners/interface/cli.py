"""The ``rl-planners`` command line (also ``python -m rl_planners``).

Subcommands:

- ``solve ENV_ID``: plan, then print the solve's statistics, ``V`` and the
  policy (as grids with arrows for grid envs) and the exact expected return;
  ``--save`` writes the agent, ``--plot`` a figure.
- ``play ENV_ID``: plan, play episodes in the env loop and print the sampled
  return beside its exact expectation; ``--render`` shows one episode.
- ``compare ENV_ID``: run every planner on one env and tabulate them against
  policy iteration's exact solution.
- ``regret ENV_ID --policy FILE.npy``: the exact expected return of a saved
  policy, the optimum, their gap and the states where the policy loses most.
- ``list-envs``: the registered ids whose env exposes a tabular model.

The planners, their ``--algo`` keys and option flags come from one table,
:data:`rl_planners.agents.planners.PLANNERS` (:mod:`rl_planners.interface.flags`).

Bad input (an unknown id, an env without a model, malformed JSON, an
option out of range) prints one line, ``rl-planners: error: ...``, on stderr
and exits with status 2. Ctrl-C during a solve keeps the last iterate, marked
not converged, and the command finishes with it (status 130).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import gymnasium as gym

__all__ = ["build_parser", "main"]

from rl_planners.interface.commands import EXIT_INTERRUPTED, run_play, run_solve
from rl_planners.interface.compare import run_compare
from rl_planners.interface.environments import PROG, CLIError, one_line, run_list_envs
from rl_planners.interface.flags import (
    add_env_arguments,
    add_planner_arguments,
    discount,
    non_negative_int,
    positive_int,
)
from rl_planners.interface.regret_command import run_regret

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
    add_env_arguments(solve)
    add_planner_arguments(solve)
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
    add_env_arguments(play)
    add_planner_arguments(play)
    play.add_argument("--episodes", type=positive_int, default=100, metavar="N", help="default 100")
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
        description=f"Run {_planner_names()} and (for gamma < 1) linear programming on one "
        "env; compare each with policy iteration's exact solution.",
    )
    add_env_arguments(compare)
    add_planner_arguments(compare, algo=False)
    compare.add_argument(
        "--plot", metavar="FILE", help="write the convergence plot of every planner to FILE"
    )
    compare.set_defaults(run=run_compare)

    regret = commands.add_parser(
        "regret",
        help="the exact regret of a policy saved with numpy.save",
        description="Read a policy from a .npy file ([S] actions, [S, A] probabilities or "
        "[S, A] Q-values, acted on greedily with the lowest action among ties) and print "
        "its exact expected return from the initial distribution, the optimum, their gap "
        "and the states with the largest gaps. Without --gamma and --horizon the objective "
        "is the undiscounted return within the env's time limit.",
    )
    add_env_arguments(regret)
    regret.add_argument(
        "--policy", required=True, metavar="FILE", help="the policy, a .npy file (numpy.save)"
    )
    regret.add_argument(
        "--gamma",
        type=discount,
        metavar="G",
        help="discount in [0, 1]; alone, the infinite-horizon discounted return",
    )
    regret.add_argument(
        "--horizon",
        type=non_negative_int,
        metavar="H",
        help="the H-step return (discounted by --gamma, default 1); default: the env's "
        "time limit when --gamma is not given",
    )
    regret.set_defaults(run=run_regret)

    list_envs = commands.add_parser(
        "list-envs",
        help="list the registered env ids that expose a tabular model",
        description="List Gymnasium's toy-text ids and ours (rl_planners/...) whose env "
        "has Discrete spaces and a model (P).",
    )
    list_envs.set_defaults(run=run_list_envs)
    return parser


def _planner_names() -> str:
    from rl_planners.agents.planners import PLANNERS

    return ", ".join(planner.name for planner in PLANNERS.values())
