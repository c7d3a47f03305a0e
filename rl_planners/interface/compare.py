"""``rl-planners compare``: every planner of the table on one env, against policy iteration."""

from __future__ import annotations

import argparse
import sys
from typing import IO

import numpy as np

from rl_planners.agents.planners import PLANNERS
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.interface.display import format_table
from rl_planners.interface.environments import describe_env, make_env
from rl_planners.interface.flags import options_from_arguments
from rl_planners.interface.output import check_plot_path, duration
from rl_planners.interface.progress import SolveProgress
from rl_planners.mdp import TabularMDP
from rl_planners.result import PlanningResult

__all__ = ["run_compare"]


def run_compare(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``rl-planners compare``: each planner of :data:`PLANNERS` with the flags it offers.

    Linear programming joins them for ``gamma < 1``; policy iteration's exact
    solution is the reference.
    """
    from rl_planners.solvers import policy_evaluation

    out = sys.stdout if out is None else out
    plot = check_plot_path(args.plot) if args.plot else None
    env = make_env(args.env_id, args.env_kwargs)
    mdp = TabularMDP.from_env(env)
    print(describe_env(env), file=out, flush=True)
    results: dict[str, PlanningResult] = {}
    for planner in PLANNERS.values():
        options = options_from_arguments(args, planner, explicit=False)
        with SolveProgress(planner.name, verbose=not args.quiet) as progress:
            controls = planner.run_controls(callback=progress)
            results[planner.name] = planner.solver(mdp, args.gamma, **controls, **options)
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
                duration(result.wall_time),
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
