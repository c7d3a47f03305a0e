"""The Bellman operators of one model on one backend, chosen once per solve.

:func:`operators` decides, once, whether a model's sweeps run on NumPy/SciPy
(:mod:`~rl_planners.bellman.formulas`) or on the compiled kernels
(:mod:`~rl_planners.bellman.kernels`), and returns a frozen object with the
three operators every algorithm needs:

- ``q(V, γ)``: the action values ``Q(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')``;
- ``backup(V, γ, out)``: the optimality backup ``out = T V = max_a Q``, with
  the statistics of ``d = T V − V`` the stopping rules read;
- ``policy(π)``: the expectation operator of a policy, ``T_π V = R_π + γ P_π V``,
  and the product ``(I − γ P_π) x`` of its linear system. The policy's ``S``
  rows are gathered once into a contiguous ``[S]``-row matrix (SciPy CSR, or
  the kernels' gathered form), so each product reads ``1/A`` of the model.

The solvers call only these, so no algorithm branches on the backend. Each
:class:`Operators` counts the work done through it (:class:`WorkCount`): full
backups (``T V`` or ``Q``, all ``S·A`` rows) and products with a policy's
``S`` rows.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners.bellman import kernels, policy_rows
from rl_planners.bellman.dense_rows import DenseRows
from rl_planners.bellman.formulas import (
    expectation_backup,
    greedy_policy,
    policy_model,
    q_by_action,
    tie_tolerance,
)
from rl_planners.bellman.kernels import SweepStats
from rl_planners.bellman.successors import SuccessorMatrix, successor_table
from rl_planners.mdp import TabularMDP

__all__ = ["BACKENDS", "Operators", "PolicyOperator", "SweepStats", "WorkCount", "operators"]

BACKENDS = kernels.BACKENDS


DENSE_MAX_ENTRIES = 1 << 16
"""NumPy backend: a policy's ``[S, S]`` rows are kept dense while ``S·A·S`` is at most this.

Up to 512 KiB (FrozenLake8x8: 256 × 64) a dense BLAS product ``P_π V``
costs less than SciPy's sparse one, whose Python-level dispatch alone is a
few microseconds. (The full backup keeps SciPy's CSR product, whose order of
summation the batched kernels reproduce bit for bit.)
"""


def sweep_stats(V: np.ndarray, V_next: np.ndarray, scratch: np.ndarray | None = None) -> SweepStats:
    """``max d``, ``min d`` and ``max |V_next|`` for ``d = V_next − V``.

    ``scratch``, an ``[S]`` float64 array, receives ``d`` (else a new one does).
    ``max |V_next|`` is read as ``max(max V_next, −min V_next)``: the same
    number, without an array of absolute values.
    """
    d = np.subtract(V_next, V, out=scratch)
    top = max(float(V_next.max()), -float(V_next.min()))  # NaN in V_next: NaN first
    return SweepStats(high=float(d.max()), low=float(d.min()), top=top)


@dataclass(eq=False)
class WorkCount:
    """Matrix–vector work done through one :class:`Operators`.

    ``backups``: passes over all ``S·A`` rows (``T V``, ``Q``, a Gauss–Seidel
    sweep); ``policy_products``: products with a policy's ``S`` rows (``T_π x``
    or ``(I − γ P_π) x``), each reading about ``1/A`` of a backup's bytes.
    """

    backups: int = 0
    policy_products: int = 0


@dataclass(frozen=True, eq=False)
class PolicyOperator:
    """``T_π V = R_π + γ P_π V`` for one policy, its ``S`` rows gathered once.

    Attributes
    ----------
    R_pi : numpy.ndarray
        ``[S]`` ``R_π(s) = Σ_a π(a|s) R(s,a)``.
    """

    R_pi: np.ndarray
    # [S, S] on the NumPy backend: CSR, dense (small models) or SuccessorMatrix
    P_pi: sp.csr_matrix | DenseRows | SuccessorMatrix | None = field(repr=False)
    rows: Any = field(repr=False)  # policy_rows.gather_policy_rows (compiled backend)
    work: WorkCount = field(default_factory=WorkCount, repr=False)
    actions: np.ndarray | None = field(default=None, repr=False)  # [S] the gathered policy

    def apply(self, V: np.ndarray, gamma: float, out: np.ndarray | None = None) -> np.ndarray:
        """``T_π V = R_π + γ P_π V``."""
        self.work.policy_products += 1
        if self.rows is None:
            return expectation_backup(self.P_pi, self.R_pi, V, gamma, out=out)
        return policy_rows.rows_apply(self.rows, V, alpha=0.0, beta=1.0, g=gamma, out=out)

    def sweep(self, V: np.ndarray, gamma: float, out: np.ndarray) -> tuple[float, float]:
        """``out = T_π V``; ``(max d, min d)`` for ``d = out − V`` (one pass on the kernels)."""
        self.work.policy_products += 1
        if self.rows is None:
            result = expectation_backup(self.P_pi, self.R_pi, V, gamma, out=out)
            if result is not out:  # SciPy's CSR product makes its own array
                out[:] = result
            d = out - V
            return float(d.max()), float(d.min())
        stats = policy_rows.rows_sweep(self.rows, V, gamma, out)
        return stats.high, stats.low

    def system_product(
        self, x: np.ndarray, gamma: float, out: np.ndarray | None = None
    ) -> np.ndarray:
        """``(I − γ P_π) x``, the left side of ``(I − γ P_π) V = R_π`` (into ``out`` if given)."""
        self.work.policy_products += 1
        if self.rows is None:
            product = x - gamma * (self.P_pi @ x)
            if out is None:
                return product
            out[:] = product
            return out
        return policy_rows.rows_apply(self.rows, x, alpha=1.0, beta=0.0, g=-gamma, out=out)

    def gauss_seidel(self, V: np.ndarray, gamma: float, reverse: bool = False) -> None:
        """In place, for ``s = 0, 1, …`` (``reverse``: ``S−1, …, 0``): ``V(s) ← (T_π V)(s)``.

        A Gauss–Seidel sweep of policy evaluation on the gathered rows (the
        compiled backend, a deterministic policy); counted as a policy product.
        """
        self.work.policy_products += 1
        policy_rows.rows_gauss_seidel(self.rows, V, gamma, reverse=reverse)


@dataclass(frozen=True, eq=False)
class Operators:
    """The operators of ``mdp`` on ``backend`` (``"numpy"`` or ``"compiled"``).

    On the NumPy backend a backup writes ``d = T V − V`` into a scratch
    vector it owns, and models of at most :data:`DENSE_MAX_ENTRIES`
    ``S·A·S`` entries gather a policy's rows from a dense copy of the
    continuation matrix (:attr:`dense_by_action`, made on first use).
    """

    mdp: TabularMDP
    backend: str
    compiled: Any = field(default=None, repr=False)  # kernels.SweepModel when compiled
    work: WorkCount = field(default_factory=WorkCount, repr=False)
    scratch: np.ndarray | None = field(default=None, repr=False)  # [S] d = T V − V (NumPy)

    def q(self, V: np.ndarray, gamma: float) -> np.ndarray:
        """``[S, A]`` ``Q(s,a) = R(s,a) + γ Σ_s' P_cont(s'|s,a) V(s')``."""
        self.work.backups += 1
        if self.compiled is None:
            return q_by_action(self.mdp, V, gamma, self.single_successors).T
        return kernels.q_values(self.compiled, V, gamma)

    def backup(
        self, V: np.ndarray, gamma: float, out: np.ndarray, policy: np.ndarray | None = None
    ) -> SweepStats:
        """``out = T V``, ``(T V)(s) = max_a Q(s,a)``; the statistics of ``d = out − V``.

        ``policy`` (``[S]`` int64), if given, receives ``argmax_a Q(s,a)``,
        ties to the lowest index (``np.argmax``'s rule), made in the same pass.
        """
        self.work.backups += 1
        if self.compiled is None:
            Q = q_by_action(self.mdp, V, gamma, self.single_successors)  # [A, S]
            np.maximum.reduce(Q, axis=0, out=out)
            if policy is not None:
                np.argmax(Q, axis=0, out=policy)
            return sweep_stats(V, out, self.scratch)
        return kernels.jacobi_sweep(self.compiled, V, gamma, out, policy)

    def gauss_seidel(
        self,
        V: np.ndarray,
        gamma: float,
        reverse: bool = False,
        policy: np.ndarray | None = None,
    ) -> SweepStats:
        """In place, for ``s = 0, 1, …`` (``reverse``: ``S−1, …, 0``): ``V(s) ← (T V)(s)``.

        ``policy``, if given, receives each state's maximising action as in
        :meth:`backup`. Only the kernels sweep in place: ask for these
        operators with ``operators(mdp, backend, gauss_seidel=True)``.
        """
        self.work.backups += 1
        return kernels.gauss_seidel_sweep(self.compiled, V, gamma, reverse=reverse, policy=policy)

    def greedy(
        self, V: np.ndarray, gamma: float, atol: float | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The greedy policy of ``V``, and ``Q`` if it was made on the way.

        The policy is :func:`~rl_planners.bellman.greedy_policy`'s (ties within ``atol``).

        On the compiled backend with ``γ < 1`` the policy is read off the
        kernels without an ``[S, A]`` array (two passes: ``max |Q|`` for the
        default tie tolerance, then each state's first action within it of the
        best), the same policy bit for bit, and ``Q`` is returned as ``None``.
        Otherwise ``Q = self.q(V, γ)`` is made and returned with the policy (at
        ``γ = 1`` the choice among ties reads the whole tied set).
        """
        if self.compiled is None or gamma == 1.0:
            Q = self.q(V, gamma)
            return greedy_policy(self.mdp, Q, gamma, atol=atol), Q
        self.work.backups += 2
        if atol is None:
            # tie_tolerance reads only max |Q|: give it that one number
            atol = tie_tolerance(np.array([kernels.q_scale(self.compiled, V, gamma)]))
        return kernels.greedy_actions(self.compiled, V, gamma, atol), None

    def q_later(self, V: np.ndarray, gamma: float) -> Callable[[], np.ndarray]:
        """A function computing ``self.q(V, γ)`` when called (a result's lazy ``Q``)."""
        return functools.partial(self.q, V, gamma)

    def continuation_extremes(self) -> tuple[float, np.ndarray]:
        """``(min_{s,a} c(s,a), [S] max_a c(s,a))`` of ``c = mdp.continuation_probability``.

        The compiled backend sums ``c`` row by row without caching the
        ``[S, A]`` array on the model (:func:`kernels.continuation_extremes`).
        """
        if self.compiled is None:
            goes_on = self.mdp.continuation_probability
            return float(goes_on.min()), goes_on.max(axis=1)
        return kernels.continuation_extremes(self.compiled)

    def policy(self, policy: np.ndarray, previous: PolicyOperator | None = None) -> PolicyOperator:
        """The expectation operator of a checked policy (``[S]`` int or ``[S, A]`` float).

        Its rows are gathered here, once: ``P_π`` as an ``[S, S]`` CSR matrix, or,
        for a deterministic policy, the kernels' contiguous ``[S]``-row form
        (compiled backend), a :class:`SuccessorMatrix` (a model whose every
        step has one next state: a gather, SciPy's floats exactly) or a dense
        ``[S, S]`` array (:class:`DenseRows`, at most :data:`DENSE_MAX_ENTRIES`
        ``S·A·S``). ``previous``, an operator of this solve that is no longer
        used, is returned as it is for the same deterministic policy on the
        compiled backend, else lends its rows' memory, where only the rows of
        the states whose action changed are copied again
        (:func:`~rl_planners.bellman.policy_rows.gather_policy_rows`' ``into``).
        """
        if self.compiled is not None and policy.ndim == 1:
            actions = np.array(policy, dtype=np.int64)  # kept: the caller may reuse its array
            if previous is None:
                rows = policy_rows.gather_policy_rows(self.compiled, actions)
            elif previous.actions is not None and np.array_equal(previous.actions, actions):
                return previous  # the same policy: its rows as they are
            else:
                rows = policy_rows.gather_policy_rows(
                    self.compiled, actions, into=previous.rows, into_policy=previous.actions
                )
            return PolicyOperator(rows.R, None, rows, self.work, actions)
        if policy.ndim == 1 and self.successors is not None:
            pairs = np.arange(self.mdp.n_states) * self.mdp.n_actions + policy  # s·A + π(s)
            R_pi = self.mdp.R.reshape(-1).take(pairs)
            P_pi = SuccessorMatrix.of_pairs(self.successors, pairs, self.mdp.n_states)
            return PolicyOperator(R_pi, P_pi, None, self.work)
        if policy.ndim == 1 and self.dense_by_action is not None:
            n_actions, n_states = self.mdp.n_actions, self.mdp.n_states
            states = np.arange(n_states)
            dense = self.dense_by_action.reshape(n_actions, n_states, n_states)
            P_pi = DenseRows(dense[policy, states])
            return PolicyOperator(self.mdp.R_by_action[policy, states], P_pi, None, self.work)
        P_pi, R_pi = policy_model(self.mdp, policy)
        return PolicyOperator(R_pi, P_pi, None, self.work)

    @functools.cached_property
    def dense_by_action(self) -> np.ndarray | None:
        """``[A*S, S]`` :attr:`TabularMDP.continuation_by_action` as a dense array, or ``None``.

        Made on first use, on the NumPy backend for models of at most
        :data:`DENSE_MAX_ENTRIES` ``S·A·S`` entries.
        """
        if self.compiled is not None:
            return None
        if self.mdp.n_states * self.mdp.n_actions * self.mdp.n_states > DENSE_MAX_ENTRIES:
            return None
        return self.mdp.continuation_by_action.toarray()

    @functools.cached_property
    def successors(self) -> np.ndarray | None:
        """``[S*A]`` each pair's one next state (``S``: it ends), or ``None``.

        :func:`~rl_planners.bellman.successors.successor_table`, made on first
        use: where it exists a deterministic policy is evaluated exactly by
        path doubling (:func:`~rl_planners.bellman.successors.evaluate_by_doubling`).
        """
        if self.compiled is not None:
            return None
        return successor_table(self.mdp)

    @functools.cached_property
    def single_successors(self) -> SuccessorMatrix | None:
        """:attr:`TabularMDP.continuation_by_action` as a gather, where :attr:`successors` exists.

        The same floats as SciPy's product over rows holding one 1 (or none),
        in two NumPy calls instead of SciPy's dispatch (Taxi: 1.5 against
        5.8 µs a product).
        """
        if self.successors is None:
            return None
        return SuccessorMatrix.by_action(self.successors, self.mdp.n_states)


def operators(mdp: TabularMDP, backend: str = "auto", *, gauss_seidel: bool = False) -> Operators:
    """Choose the backend of ``mdp``'s sweeps, once.

    Parameters
    ----------
    mdp : TabularMDP
    backend : {"auto", "numpy", "compiled"}
        ``"auto"`` takes the compiled kernels for models of
        :data:`~rl_planners.bellman.kernels.KERNEL_MIN_OUTCOMES` outcomes or
        more (when numba is installed), NumPy/SciPy below.
    gauss_seidel : bool
        The solve sweeps in place, which only the kernels do: ``"auto"`` then
        means compiled.

    Raises
    ------
    ValueError
        For an unknown backend, or Gauss–Seidel with ``backend="numpy"``.
    ModuleNotFoundError
        If the compiled backend is asked for and numba is not installed.
    """
    if gauss_seidel and backend == "numpy":
        raise ValueError("method='gauss-seidel' needs the compiled kernels, not backend='numpy'")
    compiled = kernels.uses_kernel(mdp, backend)  # checks the backend's name
    if compiled or (gauss_seidel and kernels.uses_kernel(mdp, "compiled")):
        return Operators(mdp, "compiled", kernels.prepare(mdp))
    return Operators(mdp, "numpy", scratch=np.empty(mdp.n_states))
