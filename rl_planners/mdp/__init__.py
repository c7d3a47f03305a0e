"""The model: :class:`TabularMDP`, the readers of the forms a model comes in, and
the graph questions about it (:mod:`~rl_planners.mdp.termination`).

Imports flow ``transitions → model → termination``; nothing here knows the
Bellman equations, the solvers or the agents.
"""

from rl_planners.mdp.model import PROBABILITY_ATOL, TabularMDP

__all__ = ["PROBABILITY_ATOL", "TabularMDP"]
