"""Exception and warning types raised by rl_planners.

Every error a user can trigger with bad input is one of these (or a plain
``ValueError``/``TypeError`` for a bad argument), with a message that says what
was expected, what was found, where (state, action, value) and what to do.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "ModelError",
    "NonFiniteValueError",
    "NonTerminatingPolicyError",
]


class ModelError(ValueError):
    """The tabular model (transitions, rewards, spaces) is not a valid finite MDP."""


class NonTerminatingPolicyError(ValueError):
    """At ``gamma = 1`` a policy never terminates from some states.

    Its undiscounted return from those states is undefined (or infinite), so
    ``(I - P_pi) V = R_pi`` has no unique solution.

    Attributes
    ----------
    states : numpy.ndarray
        The states from which the policy does not terminate with probability 1.
    """

    def __init__(self, message: str, states) -> None:
        super().__init__(message)
        self.states = states

    def __reduce__(self):  # pickled with its states, e.g. back from a process pool
        return type(self), (str(self), self.states)


class NonFiniteValueError(ValueError):
    """A value computed during a solve is not finite (float64 overflowed).

    Attributes
    ----------
    states : numpy.ndarray
        The states whose value is not finite (or the state of the largest
        reward, when the bound ``max|R|/(1−γ)`` already exceeds float64).
    """

    def __init__(self, message: str, states) -> None:
        super().__init__(message)
        self.states = states

    def __reduce__(self):  # pickled with its states, e.g. back from a process pool
        return type(self), (str(self), self.states)


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iterations`` before meeting its stopping rule."""
