"""The model: :class:`TabularMDP`, the readers of the forms a model comes in, and
the graph questions about it (:mod:`~rl_planners.mdp.termination`).

Imports flow one way, leaves first: ``outcomes`` (the outcome arrays and the
type rules of their values) → ``checks`` (validation, read-only arrays) →
``derived``, ``p_reader``, ``transitions``, ``sampling``, ``samples`` (the
readers) → ``model`` (:class:`TabularMDP`) → ``termination``, ``confidence``,
``estimation``. Nothing here knows the Bellman equations, the solvers or the
agents.
"""

from rl_planners.mdp.model import PROBABILITY_ATOL, TabularMDP

__all__ = ["PROBABILITY_ATOL", "TabularMDP"]
