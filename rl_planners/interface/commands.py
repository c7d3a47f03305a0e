"""What the ``rl-planners`` subcommands do: make the env, plan, print, play, compare.

:mod:`rl_planners.cli` parses the command line and reports errors; each
``run_*`` function here carries out one subcommand on the parsed arguments
and returns the exit status.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import json
import math
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import gymnasium as gym
import numpy as np

from rl_planners.agents import (
    ModifiedPolicyIterationAgent,
    PlanningAgent,
    PolicyIterationAgent,
    ValueIterationAgent,
)
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.interface.display import ASCII_ARROWS, describe_solution, format_table, grid_shape
from rl_planners.interface.progress import SolveProgress
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult

__all__ = [
    "PLANNERS",
    "make_env",
    "one_line",
    "run_compare",
    "run_list_envs",
    "run_play",
    "run_solve",
    "tabular_envs",
]

PROG = "rl-planners"
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), also when the interrupted solve's result is shown."""


@dataclass(frozen=True)
class Planner:
    """A planner the CLI offers: its name and its agent class."""

    name: str
    agent: type[PlanningAgent]

    def takes(self, option: str) -> bool:
        """Whether its solver has the keyword option ``option``."""
        return option in inspect.signature(self.agent.solver).parameters

    def default(self, option: str) -> Any:
        return inspect.signature(self.agent.solver).parameters[option].default


PLANNERS = {
    "vi": Planner("value iteration", ValueIterationAgent),
    "pi": Planner("policy iteration", PolicyIterationAgent),
    "mpi": Planner("modified policy iteration", ModifiedPolicyIterationAgent),
}
"""``--algo`` choices."""


class CLIError(Exception):
    """Bad input, reported as one line without a traceback."""


def one_line(message: object) -> str:
    """``message`` as one line of plain text (no colour codes, no line breaks)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(message))  # Gymnasium colours its warnings
    text = " ".join(text.split())
    return text or type(message).__name__


# ============================================================ environments
def make_env(env_id: str, env_kwargs: dict[str, Any] | None = None, **make_kwargs: Any) -> Any:
    """``gym.make(env_id, **env_kwargs)`` after registering our envs, with one-line errors.

    Raises
    ------
    CLIError
        For an unknown id (with close matches) or keyword arguments the env refuses.
    """
    import envs  # noqa: F401  (registers the rl_planners/ ids)

    kwargs = dict(env_kwargs or {})
    try:
        return gym.make(env_id, **kwargs, **make_kwargs)
    except gym.error.UnregisteredEnv:
        raise CLIError(_unknown_id_message(env_id)) from None
    except (TypeError, ValueError) as error:
        shown = f" with --env-kwargs {json.dumps(kwargs)}" if kwargs else ""
        raise CLIError(f"cannot make {env_id!r}{shown}: {one_line(error)}") from None


def _unknown_id_message(env_id: str) -> str:
    from gymnasium.envs.registration import registry

    by_lower = {name.lower(): name for name in registry}
    close = difflib.get_close_matches(env_id.lower(), list(by_lower), n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(by_lower[c]) for c in close)}?" if close else ""
    return (
        f"unknown environment id {env_id!r}{hint} "
        f"('{PROG} list-envs' lists the ids with a tabular model)"
    )


def _describe(env: Any, mdp: TabularMDP) -> str:
    limit = env.spec.max_episode_steps if env.spec is not None else None
    limit_text = f"time limit {limit} steps" if limit else "no time limit"
    return f"{env.spec.id}: {mdp.n_states} states, {mdp.n_actions} actions, {limit_text}"


@dataclass(frozen=True)
class TabularEnvInfo:
    """A registered id whose env exposes a tabular model."""

    env_id: str
    n_states: int
    n_actions: int
    max_episode_steps: int | None
    grid_shape: tuple[int, int] | None


def tabular_envs() -> list[TabularEnvInfo]:
    """The registered ids of Gymnasium's toy-text envs and ours that expose a model.

    Only those two families are tried (constructing every registered env is
    slow and needs extra packages such as box2d or mujoco); an id is listed
    if its env constructs with default arguments, has ``Discrete`` spaces,
    and holds a :class:`TabularMDP` or a ``P`` table. The model itself is
    not built.
    """
    from gymnasium.envs.registration import registry

    import envs  # noqa: F401  (registers the rl_planners/ ids)

    found = []
    for env_id, spec in registry.items():
        entry_point = spec.entry_point if isinstance(spec.entry_point, str) else ""
        ours = spec.namespace == "rl_planners"
        if not (ours or entry_point.startswith("gymnasium.envs.toy_text")):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                env = gym.make(env_id)
        except Exception:  # an id that does not construct is not listed
            continue
        base = env.unwrapped
        spaces = (base.observation_space, base.action_space)
        has_model = isinstance(getattr(base, "mdp", None), TabularMDP) or "P" in vars(base)
        if has_model and all(isinstance(space, gym.spaces.Discrete) for space in spaces):
            found.append(
                TabularEnvInfo(
                    env_id,
                    int(spaces[0].n),
                    int(spaces[1].n),
                    spec.max_episode_steps,
                    grid_shape(env),
                )
            )
        env.close()
    return sorted(found, key=lambda info: (info.env_id.startswith("rl_planners/"), info.env_id))


# ================================================================ planning
def _solver_options(args: argparse.Namespace, algo: str, explicit: bool = True) -> dict:
    """The solver options the arguments ask for ``algo``.

    With ``explicit``, an option the planner does not take (``--tol`` with
    policy iteration, ``--m`` without mpi) is an error; otherwise it is left out.
    """
    planner = PLANNERS[algo]
    options = {}
    for option, flag in (("tol", "--tol"), ("m", "--m"), ("max_iterations", "--max-iterations")):
        value = getattr(args, option)
        if value is None:
            continue
        if planner.takes(option):
            options[option] = value
        elif explicit:
            reason = {
                "tol": "it stops when the policy is stable, exactly",
                "m": "only modified policy iteration makes partial evaluation sweeps",
            }[option]
            raise CLIError(f"{planner.name} takes no {flag} ({reason}); drop {flag}")
    return options


def _make_and_plan(args: argparse.Namespace, out: IO[str]) -> tuple[Any, PlanningAgent, bool]:
    """Make the env and plan with the chosen agent, printing what happens.

    Returns the env, the agent and whether Ctrl-C stopped the solve.
    """
    planner = PLANNERS[args.algo]
    options = _solver_options(args, args.algo)
    env = make_env(args.env_id, args.env_kwargs)
    print(_describe(env, TabularMDP.from_env(env)), file=out, flush=True)
    progress = SolveProgress(planner.name, verbose=not args.quiet)
    # Warnings wait until the bar is gone, so that they do not split its line.
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught, progress:
            warnings.simplefilter("always")
            agent = planner.agent(
                env, gamma=args.gamma, callback=progress, interruptible=True, **options
            )
    finally:
        for warning in caught:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    cap = options.get("max_iterations", planner.default("max_iterations"))
    interrupted = not agent.result.converged and agent.result.iterations < cap
    print(_summary(planner.name, agent.result, options, interrupted), file=out)
    return env, agent, interrupted


def _summary(name: str, result: PlanningResult, options: dict, interrupted: bool) -> str:
    settings = ", ".join(
        [f"gamma={result.gamma:g}"]
        + [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in options.items()]
    )
    if result.converged:
        status = "converged"
    elif interrupted:
        status = "NOT converged (interrupted)"
    else:
        status = "NOT converged (iteration cap reached)"
    residual = f"{result.residuals[-1]:.3g}" if result.residuals.size else "n/a"
    return (
        f"{name} ({settings}): {status} after {result.iterations} iterations, "
        f"last residual {residual}, {_duration(result.wall_time)}"
    )


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1.0 else f"{seconds:.2f} s"


# ================================================================== output
def _unicode_ok(stream: IO[str]) -> bool:
    """Whether ``stream`` can print arrows and ``±``."""
    try:
        ("".join(ASCII_ARROWS) + "±").encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


_UNDEFINED = "undefined (the policy does not always end the episode)"


def _exact_returns(agent: PlanningAgent) -> list[tuple[str, str]]:
    """Labelled exact expected returns of the agent's policy from the initial distribution."""
    rows = []
    if agent.gamma < 1.0:
        rows.append((f"discounted (gamma={agent.gamma:g})", f"{agent.expected_return():.4f}"))
    if agent.max_episode_steps is not None:
        within = agent.expected_return_within_limit()
        rows.append((f"undiscounted, within {agent.max_episode_steps} steps", f"{within:.4f}"))
    try:
        unlimited = f"{agent.expected_return(gamma=1.0):.4f}"
    except NonTerminatingPolicyError:
        unlimited = _UNDEFINED
    rows.append(("undiscounted, no time limit", unlimited))
    return rows


# ============================================================== subcommands
def run_solve(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners solve``."""
    out = sys.stdout if out is None else out
    plot = _check_plot_path(args.plot) if args.plot else None
    save = _check_save_path(args.save) if args.save else None
    env, agent, interrupted = _make_and_plan(args, out)
    _print_solution(env, agent, out)
    print("\nexpected return from the initial distribution (exact):", file=out)
    rows = _exact_returns(agent)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}", file=out)
    if save is not None:
        written = agent.save(save)
        cls = type(agent).__name__
        print(
            f"\nsaved the agent to {written} (load it with {cls}.load({str(written)!r}))", file=out
        )
    if plot is not None:
        from rl_planners.interface.plots import solution_figure

        solution_figure(env, agent.result, PLANNERS[args.algo].name).savefig(plot)
        print(f"wrote the figure to {plot}", file=out)
    return EXIT_INTERRUPTED if interrupted else 0


def _print_solution(env: Any, agent: PlanningAgent, out: IO[str]) -> None:
    """V as a grid and the policy as arrows (or as lists for non-grid envs)."""
    print(
        "\n" + describe_solution(env, agent.V, agent.policy, ascii_only=not _unicode_ok(out)),
        file=out,
    )


def run_play(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners play``: plan, show the solution, then play episodes in the env."""
    out = sys.stdout if out is None else out
    env, agent, interrupted = _make_and_plan(args, out)
    _print_solution(env, agent, out)
    if args.render:
        _render_episode(env, args, agent, out)
    evaluation = agent.evaluate(env, n_episodes=args.episodes, seed=args.seed)
    pm = "±" if _unicode_ok(out) else "+/-"
    print(
        f"\n{evaluation.n_episodes} episodes (seed {args.seed}): return "
        f"{evaluation.mean_return:.4f} {pm} {evaluation.std_return:.4f} (mean {pm} std), "
        f"mean length {evaluation.mean_length:.1f} steps",
        file=out,
    )
    within = f"within {evaluation.horizon} steps"
    if agent.max_episode_steps is None:
        within += " (the evaluation's cap: the env has no time limit)"
    if evaluation.expected_return is not None:
        gap = ""
        if math.isfinite(evaluation.z_score):
            gap = f" (the mean is {evaluation.z_score:+.1f} standard errors from it)"
        print(f"exact expected return {within}: {evaluation.expected_return:.4f}{gap}", file=out)
    unlimited = evaluation.expected_return_unlimited
    unlimited = _UNDEFINED if unlimited is None else f"{unlimited:.4f}"
    print(f"exact expected return with no time limit: {unlimited}", file=out)
    return EXIT_INTERRUPTED if interrupted else 0


def run_compare(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners compare``."""
    from rl_planners.solvers import policy_evaluation

    out = sys.stdout if out is None else out
    plot = _check_plot_path(args.plot) if args.plot else None
    env = make_env(args.env_id, args.env_kwargs)
    mdp = TabularMDP.from_env(env)
    print(_describe(env, mdp), file=out, flush=True)
    results: dict[str, PlanningResult] = {}
    for algo, planner in PLANNERS.items():
        options = _solver_options(args, algo, explicit=False)
        with SolveProgress(planner.name, verbose=not args.quiet) as progress:
            results[planner.name] = planner.agent.solver(
                mdp, args.gamma, callback=progress, **options
            )
    skipped = ""
    if args.gamma < 1.0:
        from rl_planners import linear_programming

        results["linear programming"] = linear_programming(mdp, args.gamma)
    else:
        skipped = "(linear programming is left out: it needs gamma < 1)\n"
    reference = results[PLANNERS["pi"].name]
    tol = args.tol if args.tol is not None else PLANNERS["vi"].default("tol")
    atol = max(tol, 1e-9 * max(1.0, float(np.abs(reference.V).max())))
    rows = []
    for name, result in results.items():
        try:
            V_pi = policy_evaluation(mdp, result.policy, args.gamma)
            optimal = "yes" if np.all(V_pi >= reference.V - atol) else "no"
        except NonTerminatingPolicyError:
            optimal = "no (never ends)"
        rows.append(
            [
                name,
                str(result.iterations),
                "yes" if result.converged else "no",
                _duration(result.wall_time),
                f"{float(np.abs(result.V - reference.V).max()):.2e}",
                f"{float(np.mean(result.policy == reference.policy)):.1%}",
                optimal,
            ]
        )
    print(f"gamma={args.gamma:g}; reference: policy iteration (exact)\n", file=out)
    headers = [
        "algorithm",
        "iterations",
        "converged",
        "wall time",
        "max |V - V_ref|",
        "same action",
        "optimal",
    ]
    print(format_table(headers, rows), file=out)
    print(
        f"\n{skipped}same action: share of states where the policy takes the reference's "
        "action (ties make other actions just as good).\n"
        f"optimal: the policy's exact value is within {atol:.0e} of the reference's in "
        "every state.",
        file=out,
    )
    if plot is not None:
        from rl_planners.interface.plots import convergence_figure

        convergence_figure(results).savefig(plot)
        print(f"wrote the figure to {plot}", file=out)
    return 0


def run_list_envs(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners list-envs``."""
    out = sys.stdout if out is None else out
    rows = [
        [
            info.env_id,
            str(info.n_states),
            str(info.n_actions),
            str(info.max_episode_steps) if info.max_episode_steps else "-",
            f"{info.grid_shape[0]}x{info.grid_shape[1]}" if info.grid_shape else "-",
        ]
        for info in tabular_envs()
    ]
    print(format_table(["id", "states", "actions", "time limit", "grid"], rows), file=out)
    return 0


# =============================================================== rendering
def _render_episode(env: Any, args: argparse.Namespace, agent: PlanningAgent, out: IO[str]) -> None:
    """Play one episode of a copy of ``env`` made with ``render_mode="ansi"``; print its frames."""
    modes = env.unwrapped.metadata.get("render_modes", [])
    if "ansi" not in modes:
        raise CLIError(f"--render shows text frames, but {args.env_id!r} renders only as {modes}")
    env = make_env(args.env_id, args.env_kwargs, render_mode="ansi")
    obs, _ = env.reset(seed=args.seed)
    print(f"\none episode (seed {args.seed}):\n", file=out)
    print(_frame(env.render()), file=out)
    total, steps, terminated, truncated = 0.0, 0, False, False
    while not (terminated or truncated):
        action = agent.act(obs)
        obs, reward, terminated, truncated, _ = env.step(action)
        total += float(reward)
        steps += 1
        print(f"step {steps}: action {action}, reward {float(reward):g}", file=out)
        print(_frame(env.render()), file=out)
    ending = "terminated" if terminated else "truncated by the time limit"
    print(f"return {total:g} after {steps} steps ({ending})", file=out)
    env.close()


def _frame(frame: Any) -> str:
    return str(frame).strip("\n")


# ================================================================== figures
def _check_plot_path(path: str) -> Path:
    """Fail before planning if the figure could not be written."""
    from rl_planners.interface.plots import require_matplotlib

    require_matplotlib()
    from matplotlib.figure import Figure

    target = Path(path)
    suffix = target.suffix.lower().removeprefix(".")
    supported = Figure().canvas.get_supported_filetypes()
    if suffix and suffix not in supported:
        raise CLIError(
            f"--plot {path}: matplotlib cannot write .{suffix} files; use one of "
            f"{', '.join('.' + s for s in sorted(supported))}"
        )
    _check_directory(target, "--plot")
    return target


def _check_save_path(path: str) -> Path:
    target = Path(path)
    _check_directory(target, "--save")
    return target


def _check_directory(target: Path, flag: str) -> None:
    if not target.parent.is_dir():
        raise CLIError(f"{flag} {target}: the directory {target.parent} does not exist")
