"""The command line's planner flags, generated from the planners table.

:data:`~rl_planners.agents.planners.PLANNERS` says which planners exist and
which solver options each offers; :data:`OPTION_FLAGS` says how an option
reads as a flag (its type, metavar and help). ``--algo``'s choices, each
option flag's help (which planners take it, its default from the solver's
signature) and the check that a flag suits the chosen planner all follow
from the two; nothing here names a planner.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rl_planners.agents.planners import PLANNERS, Planner
from rl_planners.solvers.vi import SWEEP_METHODS

__all__ = [
    "OPTION_FLAGS",
    "FlagError",
    "OptionFlag",
    "add_env_arguments",
    "add_planner_arguments",
    "discount",
    "fraction",
    "json_object",
    "non_negative_int",
    "options_from_arguments",
    "positive_float",
    "positive_int",
    "sweep_method",
]


class FlagError(ValueError):
    """A flag given to a planner that does not take it."""


# ================================================================= numbers
def _number(text: str, kind: Callable[[str], Any], expected: str, ok: Callable[[Any], bool]):
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def discount(text: str) -> float:
    """A discount factor in ``[0, 1]``."""
    return _number(text, float, "a number in [0, 1]", lambda g: 0.0 <= g <= 1.0)


def positive_float(text: str) -> float:
    """A finite number ``> 0``."""
    return _number(text, float, "a positive number", lambda x: math.isfinite(x) and x > 0)


def fraction(text: str) -> float:
    """A number in ``(0, 1]``."""
    return _number(text, float, "a number in (0, 1]", lambda x: 0.0 < x <= 1.0)


def positive_int(text: str) -> int:
    """An integer ``>= 1``."""
    return _number(text, int, "an integer >= 1", lambda n: n >= 1)


def non_negative_int(text: str) -> int:
    """An integer ``>= 0``."""
    return _number(text, int, "an integer >= 0", lambda n: n >= 0)


def sweep_method(text: str) -> str:
    """``jacobi`` or ``gauss-seidel``."""
    if text not in SWEEP_METHODS:
        raise argparse.ArgumentTypeError(f"expected jacobi or gauss-seidel, got {text!r}")
    return text


def json_object(text: str) -> dict[str, Any]:
    """A JSON object (``--env-kwargs``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"expected a JSON object such as '{{\"is_slippery\": false}}', got {text!r}"
        )
    return value


# =================================================================== flags
@dataclass(frozen=True)
class OptionFlag:
    """How a solver option reads as a flag.

    ``help`` may hold ``{planners}`` (the keys of the planners that take it)
    and ``{default}`` (its default in the first of them); ``without`` says
    why a planner that does not take it has none.
    """

    metavar: str
    type: Callable[[str], Any]
    help: str
    without: str

    def flag(self, option: str) -> str:
        return "--" + option.replace("_", "-")


OPTION_FLAGS: dict[str, OptionFlag] = {
    "tol": OptionFlag(
        "T",
        positive_float,
        "tolerance of {planners}: the greedy policy is T-optimal (default {default})",
        "it stops when the policy is stable, exactly",
    ),
    "max_iterations": OptionFlag(
        "N", positive_int, "iteration cap of the solver", "it has no iteration cap"
    ),
    "m": OptionFlag(
        "M",
        non_negative_int,
        "partial evaluation sweeps of {planners} (default {default})",
        "only {names} makes partial evaluation sweeps",
    ),
    "inner_ratio": OptionFlag(
        "ETA",
        fraction,
        "inexact evaluation of {planners}: its residual target as a fraction in (0, 1] "
        "of the outer residual at most, less where that falls fast (default {default})",
        "only {names} evaluates inexactly",
    ),
    "method": OptionFlag(
        "METHOD",
        sweep_method,
        "sweeps of {planners}: jacobi, or gauss-seidel (in place, needs numba; pays on "
        "grids numbered along the flow of values) (default {default})",
        "only {names} can sweep in place",
    ),
}
"""The option flags, in the order ``--help`` lists them."""


def _shown(value: Any) -> str:
    """A default as ``--help`` shows it: ``1e-8``, ``20``."""
    return f"{value:g}".replace("e-0", "e-") if isinstance(value, float) else str(value)


def _listed(words: list[str]) -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _offering(option: str) -> list[Planner]:
    return [planner for planner in PLANNERS.values() if option in planner.flags]


def add_env_arguments(parser: argparse.ArgumentParser) -> None:
    """``ENV_ID`` and ``--env-kwargs``."""
    parser.add_argument("env_id", metavar="ENV_ID", help="e.g. FrozenLake-v1 (see list-envs)")
    parser.add_argument(
        "--env-kwargs",
        type=json_object,
        default={},
        metavar="JSON",
        help="keyword arguments of gym.make, e.g. '{\"is_slippery\": false}'",
    )


def add_planner_arguments(parser: argparse.ArgumentParser, algo: bool = True) -> None:
    """``--algo`` (if ``algo``), ``--gamma``, every option flag of the table and ``--quiet``."""
    if algo:
        names = [planner.name for planner in PLANNERS.values()]
        names[0] += " (default)"
        listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        parser.add_argument(
            "--algo", choices=list(PLANNERS), default=next(iter(PLANNERS)), help=listed
        )
    parser.add_argument(
        "--gamma", type=discount, default=0.99, metavar="G", help="discount in [0, 1] (0.99)"
    )
    for option, spec in OPTION_FLAGS.items():
        offering = _offering(option)
        if not offering:
            continue
        help_text = spec.help.format(
            planners=_listed([planner.key for planner in offering]),
            default=_shown(offering[0].default(option)),
        )
        parser.add_argument(spec.flag(option), type=spec.type, metavar=spec.metavar, help=help_text)
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar, even for long solves"
    )


def options_from_arguments(
    args: argparse.Namespace, planner: Planner, explicit: bool = True
) -> dict[str, Any]:
    """The solver options the parsed arguments ask of ``planner``.

    With ``explicit``, a flag the planner does not offer is a :class:`FlagError`
    naming the flag and why; otherwise it is left out (``compare`` runs every
    planner with the flags each takes).
    """
    options = {}
    for option, spec in OPTION_FLAGS.items():
        value = getattr(args, option, None)
        if value is None:
            continue
        if option in planner.flags:
            options[option] = value
        elif explicit:
            names = _listed([p.name for p in _offering(option)])
            reason = spec.without.format(names=names)
            flag = spec.flag(option)
            raise FlagError(f"{planner.name} takes no {flag} ({reason}); drop {flag}")
    return options
