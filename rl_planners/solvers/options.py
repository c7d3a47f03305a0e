"""A solver's options, read from its signature: the one place they are declared.

A solver's keyword-only parameters are its options, with their defaults. The
agents check what they are given against them (:func:`check_solver_options`),
and the command line reads the defaults it shows (:func:`solver_defaults`),
so no layer restates an option or a default.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["RUN_CONTROLS", "check_solver_options", "solver_defaults", "solver_options"]

RUN_CONTROLS = frozenset({"callback", "interruptible"})
"""Options that steer how a solve runs, not what it computes: an agent passes
them to its solver but does not keep (or save) them."""


def solver_options(solver: Callable[..., Any]) -> tuple[str, ...]:
    """The names of ``solver``'s keyword-only options, in signature order."""
    parameters = inspect.signature(solver).parameters.values()
    return tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)


def solver_defaults(solver: Callable[..., Any]) -> dict[str, Any]:
    """``{option: default}`` for ``solver``'s keyword-only options."""
    parameters = inspect.signature(solver).parameters
    return {name: parameters[name].default for name in solver_options(solver)}


def check_solver_options(
    owner: str, solver: Callable[..., Any], options: Mapping[str, Any]
) -> None:
    """Raise ``TypeError`` for an option ``solver`` does not take, listing those it does.

    ``owner`` names who was given the options (an agent class) in the message.
    """
    parameters = inspect.signature(solver).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = solver_options(solver)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"{owner} got unknown solver option(s) {', '.join(map(repr, unknown))}; "
            f"{getattr(solver, '__name__', 'its solver')} takes {', '.join(accepted) or 'none'}"
        )
