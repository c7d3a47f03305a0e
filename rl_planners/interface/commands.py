"""What ``rl-planners solve`` and ``play`` do: make the env, plan, print, play.

:mod:`rl_planners.interface.cli` parses the command line and reports errors;
each ``run_*`` function carries out one subcommand on the parsed arguments and
returns the exit status. ``compare``, ``regret`` and ``list-envs`` have their
own modules (:mod:`~rl_planners.interface.compare`,
:mod:`~rl_planners.interface.regret_command`,
:mod:`~rl_planners.interface.environments`); their names are re-exported here.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from typing import IO, Any

from rl_planners.agents import PlanningAgent
from rl_planners.agents.planners import PLANNERS, Planner
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.interface.compare import run_compare
from rl_planners.interface.display import Layout, describe_solution
from rl_planners.interface.environments import (
    PROG,
    CLIError,
    describe_env,
    has_tabular_model,
    make_env,
    one_line,
    run_list_envs,
    tabular_envs,
)
from rl_planners.interface.flags import options_from_arguments
from rl_planners.interface.output import (
    UNDEFINED,
    check_plot_path,
    check_save_path,
    duration,
    unicode_ok,
)
from rl_planners.interface.progress import SolveProgress
from rl_planners.interface.regret_command import run_regret
from rl_planners.result import PlanningResult

__all__ = [
    "EXIT_INTERRUPTED",
    "PLANNERS",
    "PROG",
    "CLIError",
    "Planner",
    "make_env",
    "one_line",
    "run_compare",
    "run_list_envs",
    "run_play",
    "run_regret",
    "run_solve",
    "tabular_envs",
]

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), also when the interrupted solve's result is shown."""


# ================================================================ planning
def _make_and_plan(args: argparse.Namespace, out: IO[str]) -> tuple[Any, PlanningAgent, bool]:
    """Make the env and plan with the chosen agent, printing what happens.

    Returns the env, the agent and whether Ctrl-C stopped the solve.
    """
    planner = PLANNERS[args.algo]
    options = options_from_arguments(args, planner)
    env = make_env(args.env_id, args.env_kwargs)
    described = has_tabular_model(env)  # else the agent says what is missing
    if described:
        print(describe_env(env), file=out, flush=True)
    progress = SolveProgress(planner.name, verbose=not args.quiet)
    # Warnings wait until the bar is gone, so that they do not split its line.
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught, progress:
            warnings.simplefilter("always")
            controls = planner.run_controls(callback=progress, interruptible=True)
            agent = planner.agent(env, gamma=args.gamma, **controls, **options)
    finally:
        for warning in caught:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if not described:  # a model the agent could read all the same (e.g. a wrapper's P)
        print(describe_env(env), file=out, flush=True)
    interrupted = agent.result.status == "interrupted"
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
        f"last residual {residual}, {duration(result.wall_time)}"
    )


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
        unlimited = UNDEFINED
    rows.append(("undiscounted, no time limit", unlimited))
    return rows


# ============================================================== subcommands
def run_solve(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners solve``."""
    out = sys.stdout if out is None else out
    plot = check_plot_path(args.plot) if args.plot else None
    save = check_save_path(args.save) if args.save else None
    env, agent, interrupted = _make_and_plan(args, out)
    layout = Layout.of(env)
    _print_solution(layout, agent, out)
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

        solution_figure(agent.mdp, agent.result, PLANNERS[args.algo].name, layout=layout).savefig(
            plot
        )
        print(f"wrote the figure to {plot}", file=out)
    return EXIT_INTERRUPTED if interrupted else 0


def _print_solution(layout: Layout, agent: PlanningAgent, out: IO[str]) -> None:
    """V as a grid and the policy as arrows (or as lists for non-grid envs)."""
    ascii_only = not unicode_ok(out)
    text = describe_solution(agent.mdp, agent.V, agent.policy, layout=layout, ascii_only=ascii_only)
    print("\n" + text, file=out)


def run_play(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners play``: plan, show the solution, then play episodes in the env."""
    out = sys.stdout if out is None else out
    env, agent, interrupted = _make_and_plan(args, out)
    _print_solution(Layout.of(env), agent, out)
    if args.render:
        _render_episode(env, args, agent, out)
    evaluation = agent.evaluate(env, n_episodes=args.episodes, seed=args.seed)
    pm = "±" if unicode_ok(out) else "+/-"
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
    unlimited = UNDEFINED if unlimited is None else f"{unlimited:.4f}"
    print(f"exact expected return with no time limit: {unlimited}", file=out)
    return EXIT_INTERRUPTED if interrupted else 0


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
