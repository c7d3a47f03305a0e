"""The finite MDP as arrays: :class:`TabularMDP`, its constructors and validation.

A model is held exactly as Gymnasium's ``P[s][a] = [(prob, next_state, reward,
terminated), ...]`` lists it, one row per (state, action) pair (row ``s*A + a``)
and one entry per outcome, in CSR layout. Everything the solvers need is
derived from these arrays once:

- the continuation matrix ``P_cont`` (``scipy.sparse`` CSR, ``(S*A, S)``): the
  probability of each outcome that does *not* terminate. A terminating outcome
  earns its reward but no future value (``V(s') = 0`` after it), which is what
  Taxi's drop-off and CliffWalking's goal need, since neither is absorbing in
  ``P``. Repeated next states (FrozenLake lists a wall bump twice) add up.
- the expected reward ``R(s, a) = Σ_k prob_k · reward_k`` over the row, ``(S, A)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners import gym_env
from rl_planners.errors import ModelError
from rl_planners.mdp.petsc import PetscFiles, write_petsc
from rl_planners.mdp.samples import count_transitions, env_sizes, sample_every_pair
from rl_planners.mdp.transitions import (
    Outcomes,
    read_dense,
    read_padded,
    read_transitions,
    typed_array,
)

__all__ = ["TabularMDP"]

PROBABILITY_ATOL = 1e-6
"""How far a row of probabilities (or the initial distribution) may sum from 1."""


_ARRAY_FIELDS = (
    "row_offsets",
    "next_state",
    "prob",
    "reward",
    "terminated",
    "initial_distribution",
)
"""The arrays a model keeps; each is its own, read-only."""

_RULES = {  # the type rule of each array (see rl_planners.mdp.transitions.RULES)
    "row_offsets": "index",
    "next_state": "index",
    "prob": "number",
    "reward": "number",
    "terminated": "flag",
    "initial_distribution": "number",
}


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array``, which must be the model's own (it is frozen too).

    Every array in the chain of bases is frozen, so the view cannot be made
    writable again through ``setflags``.
    """
    base = array
    while isinstance(base, np.ndarray):
        base.setflags(write=False)
        base = base.base
    return array.view()


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite Markov decision process with per-outcome termination.

    Build one with :meth:`from_env`, :meth:`from_transitions`,
    :meth:`from_arrays` or :meth:`from_outcomes`; all of them validate. Every
    array a model keeps is its own and read-only: a model never changes after
    construction, whatever happens to the arrays, dicts or env it was built
    from. Built directly, ``TabularMDP(n_states, n_actions, row_offsets, ...)``
    copies each array it is given (once, with the dtype conversion).

    Values are taken only in the types they mean, never cast from another:
    probabilities, rewards and the initial distribution are ints or floats
    (Python or NumPy; not bools, not strings), next states and row offsets
    ints (not bools, not floats, even whole ones), terminated flags bools
    (``bool`` or ``numpy.bool_``; the numbers 0 and 1 are not flags). Arrays
    must have dtypes of these kinds; object, string and complex arrays are
    errors.

    Attributes
    ----------
    n_states, n_actions : int
        ``S`` and ``A``.
    row_offsets : numpy.ndarray
        ``[S*A + 1]`` int64; the outcomes of pair ``(s, a)`` are entries
        ``row_offsets[s*A + a] : row_offsets[s*A + a + 1]`` of the arrays below.
    next_state : numpy.ndarray
        ``[N]`` int64, the next state of each outcome.
    prob : numpy.ndarray
        ``[N]`` float64, its probability.
    reward : numpy.ndarray
        ``[N]`` float64, its reward.
    terminated : numpy.ndarray
        ``[N]`` bool, whether the episode ends with it.
    initial_distribution : numpy.ndarray
        ``[S]`` float64, the distribution of the first state.

    Examples
    --------
    >>> mdp = TabularMDP.from_transitions(
    ...     {0: {0: [(1.0, 0, 0.0, False)], 1: [(1.0, 1, 1.0, True)]},
    ...      1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 1, 0.0, True)]}})
    >>> mdp.n_states, mdp.n_actions
    (2, 2)
    >>> mdp.R
    array([[0., 1.],
           [0., 0.]])
    """

    n_states: int
    n_actions: int
    row_offsets: np.ndarray = field(repr=False)
    next_state: np.ndarray = field(repr=False)
    prob: np.ndarray = field(repr=False)
    reward: np.ndarray = field(repr=False)
    terminated: np.ndarray = field(repr=False)
    initial_distribution: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        self._adopt(copied=_ARRAY_FIELDS)

    @classmethod
    def _assemble(
        cls,
        outcomes: Outcomes,
        initial_distribution: Any,
        *,
        copied: tuple[str, ...],
        validate: bool = True,
    ) -> TabularMDP:
        """A model of arrays the caller hands over, copying only the fields ``copied``.

        The constructors pass arrays their readers just made (see
        :class:`~rl_planners.mdp.transitions.Outcomes`), which nobody else
        holds: copying them again would cost memory and time on big models.
        ``validate=False`` skips the outcome checks (for outcome arrays taken
        from a model, already checked); the initial distribution is checked.
        """
        model = object.__new__(cls)
        for name, value in zip(
            cls.__dataclass_fields__, (*outcomes, initial_distribution), strict=True
        ):
            object.__setattr__(model, name, value)
        model._adopt(copied=copied, validate=validate)
        return model

    def _adopt(self, *, copied: tuple[str, ...], validate: bool = True) -> None:
        """Check types and shapes, make every array the model's own, freeze, validate."""
        for name in ("n_states", "n_actions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ModelError(
                    f"{name} must be an int, got {value!r} of type {type(value).__name__}"
                )
            if value < 1:
                raise ModelError(f"{name} must be at least 1, got {value}")
            object.__setattr__(self, name, int(value))
        arrays = {
            name: typed_array(
                getattr(self, name),
                _RULES[name],
                name,
                axes=("state",) if name == "initial_distribution" else ("entry",),
                copy=name in copied,
            )
            for name in _ARRAY_FIELDS
        }
        n_rows = self.n_states * self.n_actions
        offsets = arrays["row_offsets"]
        if offsets.shape != (n_rows + 1,):
            raise ModelError(
                f"row_offsets must have shape ({n_rows + 1},) for "
                f"{self.n_states} states x {self.n_actions} actions, "
                f"got {offsets.shape}"
            )
        if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ModelError("row_offsets must start at 0 and never decrease")
        n_outcomes = int(offsets[-1])
        for name in ("next_state", "prob", "reward", "terminated"):
            if arrays[name].shape != (n_outcomes,):
                raise ModelError(
                    f"{name} must have shape ({n_outcomes},) to match "
                    f"row_offsets[-1], got {arrays[name].shape}"
                )
        for name, array in arrays.items():
            object.__setattr__(self, name, _frozen(array))
        if validate:
            self._validate()
        else:
            _check_distribution(self.initial_distribution, self.n_states)

    # ------------------------------------------------------------------ checks
    def _where(self, outcome: int) -> str:
        """Name the (state, action) pair that outcome index ``outcome`` belongs to."""
        row = int(np.searchsorted(self.row_offsets, outcome, side="right")) - 1
        state, action = divmod(row, self.n_actions)
        return f"state {state}, action {action}, outcome {outcome - self.row_offsets[row]}"

    def _validate(self) -> None:
        prob, next_state, reward = self.prob, self.next_state, self.reward
        bad = np.flatnonzero(~np.isfinite(prob) | (prob < 0))
        if bad.size:
            raise ModelError(
                f"probabilities must be finite and non-negative; got {prob[bad[0]].item()!r} "
                f"at {self._where(bad[0])}"
            )
        bad = np.flatnonzero((next_state < 0) | (next_state >= self.n_states))
        if bad.size:
            raise ModelError(
                f"next states must lie in 0..{self.n_states - 1}; got "
                f"{next_state[bad[0]]} at {self._where(bad[0])}"
            )
        bad = np.flatnonzero(~np.isfinite(reward))
        if bad.size:
            raise ModelError(
                f"rewards must be finite; got {reward[bad[0]].item()!r} at {self._where(bad[0])}"
            )
        row_sums = _row_sums(self.row_offsets, lambda lo, hi: prob[lo:hi])
        bad = np.flatnonzero(np.abs(row_sums - 1.0) > PROBABILITY_ATOL)
        if bad.size:
            state, action = divmod(int(bad[0]), self.n_actions)
            raise ModelError(
                f"transition probabilities must sum to 1 (within {PROBABILITY_ATOL:g}); "
                f"they sum to {row_sums[bad[0]].item()!r} at state {state}, action {action}"
            )
        _check_distribution(self.initial_distribution, self.n_states)

    # ----------------------------------------------------------------- derived
    @property
    def n_outcomes(self) -> int:
        """The number of stored outcomes ``N`` over all (state, action) pairs."""
        return int(self.row_offsets[-1])

    @cached_property
    def outcome_row(self) -> np.ndarray:
        """``[N]`` the row ``s*A + a`` each outcome belongs to."""
        counts = np.diff(self.row_offsets)
        return _frozen(np.repeat(np.arange(counts.size, dtype=np.int64), counts))

    @cached_property
    def continuation(self) -> sp.csr_matrix:
        """``[S*A, S]`` probability of each non-terminating outcome (CSR).

        ``continuation[s*A + a, s'] = Σ_k prob_k [next_k = s', not terminated_k]``:
        the transition matrix with terminating outcomes removed, so that
        ``Q = R + γ · continuation @ V`` gives them no future value.
        """
        data = np.where(self.terminated, 0.0, self.prob)
        matrix = sp.csr_matrix(
            (data, self.next_state, self.row_offsets),
            shape=(self.n_states * self.n_actions, self.n_states),
        )
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return matrix

    @cached_property
    def continuation_by_action(self) -> sp.csr_matrix:
        """:attr:`continuation` with its rows in action-major order, ``[A*S, S]`` (CSR).

        Row ``a*S + s`` is row ``s*A + a`` of :attr:`continuation`, so that
        ``(continuation_by_action @ V).reshape(A, S)`` holds ``Σ_s' P_cont V``
        one action per contiguous row: the maximum over actions then reads
        memory in order (see :func:`rl_planners.bellman.optimality_backup`).
        """
        rows = np.arange(self.n_states * self.n_actions).reshape(self.n_states, self.n_actions)
        return self.continuation[rows.T.reshape(-1)]

    @cached_property
    def R_by_action(self) -> np.ndarray:
        """``[A, S]`` C-ordered copy of :attr:`R` (its transpose), for the action-major sweep."""
        return _frozen(np.ascontiguousarray(self.R.T))

    @cached_property
    def R(self) -> np.ndarray:
        """``[S, A]`` expected reward ``R(s, a) = Σ_s' P(s'|s,a) R(s,a,s')``."""
        prob, reward = self.prob, self.reward
        expected = _row_sums(self.row_offsets, lambda lo, hi: prob[lo:hi] * reward[lo:hi])
        return _frozen(expected.reshape(self.n_states, self.n_actions))

    @cached_property
    def termination_probability(self) -> np.ndarray:
        """``[S, A]`` probability that taking ``a`` in ``s`` ends the episode."""
        prob, terminated = self.prob, self.terminated
        ends = _row_sums(
            self.row_offsets, lambda lo, hi: np.where(terminated[lo:hi], prob[lo:hi], 0.0)
        )
        return _frozen(ends.reshape(self.n_states, self.n_actions))

    @cached_property
    def continuation_probability(self) -> np.ndarray:
        """``[S, A]`` probability that taking ``a`` in ``s`` does not end the episode.

        The row sums of :attr:`continuation`, computed without building it.
        """
        prob, terminated = self.prob, self.terminated
        goes_on = _row_sums(
            self.row_offsets, lambda lo, hi: np.where(terminated[lo:hi], 0.0, prob[lo:hi])
        )
        return _frozen(goes_on.reshape(self.n_states, self.n_actions))

    def __repr__(self) -> str:
        return (
            f"TabularMDP(n_states={self.n_states}, n_actions={self.n_actions}, "
            f"n_outcomes={self.n_outcomes})"
        )

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_outcomes(
        cls,
        next_state: np.ndarray,
        prob: np.ndarray,
        reward: np.ndarray,
        terminated: np.ndarray | None = None,
        initial_distribution: np.ndarray | None = None,
    ) -> TabularMDP:
        """Build a model from ``(S, A, K)`` outcome arrays, without Python dicts.

        ``K`` is the largest number of outcomes of any (state, action) pair;
        shorter rows are padded with probability 0 (the padding's next state
        must still be a valid state, e.g. 0). Padding is dropped. The model
        keeps its own copies: dropping the padding or converting a dtype makes
        them, else the arrays are copied once.

        Parameters
        ----------
        next_state : array_like of int, shape (S, A, K)
            An integer array; a float array is an error even if its values
            are whole (a state index is never a float), so is a bool array.
        prob : array_like of int or float, shape (S, A, K)
        reward : array_like of int or float, shape (S, A, K) or (S, A)
            Reward per outcome, or one per pair for all its outcomes.
        terminated : array_like of bool, shape (S, A, K), optional
            A bool array (0/1 numbers are not read as flags). Default: no
            outcome terminates.
        initial_distribution : array_like, shape (S,), optional
            Default: uniform over the states.

        Raises
        ------
        ModelError
            If the shapes disagree or the model is invalid (see :class:`TabularMDP`).
        """
        outcomes = read_padded(next_state, prob, reward, terminated)
        return cls._from_reader(outcomes, initial_distribution)

    @classmethod
    def from_arrays(
        cls,
        transitions: np.ndarray,
        rewards: np.ndarray,
        *,
        terminal_states: Sequence[int] | np.ndarray = (),
        initial_distribution: np.ndarray | None = None,
    ) -> TabularMDP:
        """Build a model from dense arrays.

        Parameters
        ----------
        transitions : array_like, shape (S, A, S)
            ``transitions[s, a, s'] = P(s'|s,a)``, state-major like ``P[s][a]``
            (pymdptoolbox's ``(A, S, S)`` arrays need ``np.transpose(T, (1, 0, 2))``).
        rewards : array_like, shape (S, A) or (S, A, S)
            ``R(s, a)`` or ``R(s, a, s')``.
        terminal_states : sequence of int, optional
            Every transition into one of these states terminates the episode.
            A terminal state is absorbing: its own row becomes a terminating
            self-loop with reward 0, so ``V(terminal) = 0`` (Sutton & Barto's
            convention, and Gymnasium FrozenLake's).
        initial_distribution : array_like, shape (S,), optional
            Default: uniform over the states.

        Raises
        ------
        ModelError
            If a shape is wrong or the model is invalid.
        """
        outcomes = read_dense(transitions, rewards, terminal_states)
        return cls._from_reader(outcomes, initial_distribution)

    @classmethod
    def from_transitions(
        cls,
        P: Mapping | Sequence,
        initial_distribution: np.ndarray | None = None,
    ) -> TabularMDP:
        """Build a model from a FrozenLake-style ``P``.

        Parameters
        ----------
        P : dict or list
            ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` for every
            state ``0..S-1`` and action ``0..A-1`` (dicts or lists at either level).
        initial_distribution : array_like, shape (S,), optional
            Default: uniform over the states.

        Raises
        ------
        ModelError
            If a state or action is missing, an outcome is not a 4-tuple, or
            the model is invalid.
        """
        outcomes = read_transitions(P)
        return cls._from_reader(outcomes, initial_distribution)

    @classmethod
    def from_env(cls, env: Any, initial_distribution: np.ndarray | None = None) -> TabularMDP:
        """Read the model of a Gymnasium environment, wrapped or not.

        Uses ``env.unwrapped.mdp`` when the env already holds a
        :class:`TabularMDP` (the fast array path), else ``env.unwrapped.P``.

        Parameters
        ----------
        env : gymnasium.Env
            An env with ``Discrete`` observation and action spaces.
        initial_distribution : array_like, shape (S,), optional
            Overrides the env's. By default it is the env's own: the model's,
            or ``initial_state_distrib`` as Gymnasium's toy_text envs keep it;
            failing both, uniform over the states (with a warning).

        Raises
        ------
        ModelError
            If the spaces are not ``Discrete`` (starting at 0), the env exposes
            no model, or the model does not match the spaces.
        """
        base = gym_env.unwrapped(env)
        name = gym_env.env_name(env)
        n_states = gym_env.discrete_size(env, "observation_space")
        n_actions = gym_env.discrete_size(env, "action_space")
        model = getattr(base, "mdp", None)
        if isinstance(model, TabularMDP):
            mdp = model
        else:
            P = getattr(base, "P", None)
            if P is None:
                raise ModelError(
                    f"{name} exposes no transition model: expected "
                    "env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...] "
                    "(as FrozenLake, Taxi and CliffWalking have); build the model with "
                    "TabularMDP.from_transitions or from_arrays instead"
                )
            if initial_distribution is None:
                initial_distribution = getattr(base, "initial_state_distrib", None)
                if initial_distribution is None:
                    warnings.warn(
                        f"{name} has no initial_state_distrib; using a uniform initial "
                        "distribution over states (pass initial_distribution= to set it)",
                        UserWarning,
                        stacklevel=2,
                    )
            mdp = cls.from_transitions(P, initial_distribution)
        if (mdp.n_states, mdp.n_actions) != (n_states, n_actions):
            raise ModelError(
                f"{name}'s model has {mdp.n_states} states and {mdp.n_actions} actions "
                f"but its spaces have {n_states} and {n_actions}"
            )
        if initial_distribution is not None and mdp is model:
            mdp = mdp.with_initial_distribution(initial_distribution)
        return mdp

    @classmethod
    def _from_reader(cls, outcomes: Outcomes, initial_distribution: Any) -> TabularMDP:
        """A model of a reader's new arrays; a given initial distribution is copied."""
        if initial_distribution is None:
            uniform = np.full(outcomes.n_states, 1.0 / outcomes.n_states)
            return cls._assemble(outcomes, uniform, copied=())
        return cls._assemble(outcomes, initial_distribution, copied=("initial_distribution",))

    @classmethod
    def from_samples(
        cls,
        transitions: tuple[Any, Any, Any, Any, Any],
        *,
        n_states: int,
        n_actions: int,
        unvisited: str = "self_loop",
        optimistic_reward: float | None = None,
        initial_distribution: np.ndarray | None = None,
    ) -> TabularMDP:
        """The certainty-equivalence model of sampled ``(s, a, r, s', terminated)`` arrays.

        Each outcome's probability is its empirical frequency and its reward
        the sample mean; unvisited pairs follow ``unvisited`` (see
        :func:`rl_planners.mdp.samples.count_transitions`). For the counts, the
        L1 confidence radii and the simulation-lemma bound, use
        :func:`rl_planners.model_from_samples`, which returns them with the model.

        Parameters
        ----------
        transitions : tuple of five arrays
            ``(states, actions, rewards, next_states, terminated)``, one entry per sample.
        n_states, n_actions : int
        unvisited : {"self_loop", "optimistic"}
        optimistic_reward : float, optional
            The reward of an unvisited pair under ``unvisited="optimistic"``.
        initial_distribution : array_like, shape (S,), optional
            Default: uniform over the states.

        Raises
        ------
        ModelError, ValueError, TypeError
            For a malformed sample (its index and value are named).
        """
        counts = count_transitions(
            *transitions,
            n_states=n_states,
            n_actions=n_actions,
            unvisited=unvisited,
            optimistic_reward=optimistic_reward,
        )
        outcomes = Outcomes(
            counts.n_states,
            counts.n_actions,
            counts.row_offsets,
            counts.next_state,
            counts.prob,
            counts.reward,
            counts.terminated,
        )
        return cls._from_reader(outcomes, initial_distribution)

    @classmethod
    def estimate(
        cls, env: Any, n_samples_per_pair: int, *, seed: int | None, **options: Any
    ) -> TabularMDP:
        """Sample every (state, action) pair of an env whose state can be set, and estimate.

        The env's state is set through ``env.unwrapped.s`` (Gymnasium's toy_text
        envs keep it there) and each pair stepped ``n_samples_per_pair`` times
        (:func:`rl_planners.mdp.samples.sample_every_pair`, which raises a clear
        error for an env without a settable state); ``options`` go to
        :meth:`from_samples`. :func:`rl_planners.estimate_model` also reports
        the counts and confidence radii.
        """
        n_states, n_actions = env_sizes(env)
        samples = sample_every_pair(env, n_samples_per_pair, seed=seed)
        return cls.from_samples(samples, n_states=n_states, n_actions=n_actions, **options)

    def with_initial_distribution(self, initial_distribution: np.ndarray) -> TabularMDP:
        """Return the same model with another initial distribution (copied, and checked).

        The outcome arrays are shared with this model: they are read-only.
        """
        outcomes = Outcomes(
            self.n_states,
            self.n_actions,
            self.row_offsets,
            self.next_state,
            self.prob,
            self.reward,
            self.terminated,
        )
        return TabularMDP._assemble(
            outcomes, initial_distribution, copied=("initial_distribution",), validate=False
        )

    def to_transitions(
        self,
    ) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """Return the model as a FrozenLake-style ``P`` dict.

        ``TabularMDP.from_transitions(mdp.to_transitions())`` reproduces the
        arrays exactly, outcome for outcome and in order.
        """
        outcomes = list(
            zip(
                self.prob.tolist(),
                self.next_state.tolist(),
                self.reward.tolist(),
                self.terminated.tolist(),
                strict=True,
            )
        )
        offsets = self.row_offsets.tolist()
        n_actions = self.n_actions
        return {
            state: {
                action: outcomes[
                    offsets[state * n_actions + action] : offsets[state * n_actions + action + 1]
                ]
                for action in range(n_actions)
            }
            for state in range(self.n_states)
        }

    def to_petsc(self, path: Any) -> PetscFiles:
        """Write the model for madupite: ``path/P.bin`` and ``path/g.bin`` in PETSc's format.

        ``P`` is ``[S'·A, S']`` (row ``s·A + a``), ``g`` the ``[S', A]`` expected
        rewards (solve with ``-mode MAXREWARD``). Terminating outcomes lead to
        one added absorbing zero-reward state ``S`` (``S' = S + 1``; none is
        added if nothing terminates), so madupite's optimal values on states
        ``0..S−1`` are this model's. See :mod:`rl_planners.mdp.petsc` for the
        layout and :func:`~rl_planners.mdp.petsc.write_petsc` for the errors.
        """
        return write_petsc(path, self.continuation, self.termination_probability, self.R)


# ---------------------------------------------------------------- helpers
_ROW_SUM_BLOCK = 1 << 20
"""Outcomes per block in :func:`_row_sums` (bounds its temporaries)."""


def _row_sums(offsets: np.ndarray, values: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """``[rows]`` the sum over each row's outcomes of ``values(lo, hi)`` (outcomes ``lo:hi``).

    Works through whole rows in blocks of about :data:`_ROW_SUM_BLOCK`
    outcomes, so no temporary grows with the model; an empty row sums to 0.
    """
    n_rows = offsets.size - 1
    sums = np.zeros(n_rows)
    first = 0
    while first < n_rows:
        lo = int(offsets[first])
        last = int(np.searchsorted(offsets, lo + _ROW_SUM_BLOCK, side="right")) - 1
        last = min(max(last, first + 1), n_rows)
        hi = int(offsets[last])
        if hi > lo:
            block = np.append(values(lo, hi), 0.0)  # the 0 ends trailing empty rows
            counts = np.diff(offsets[first : last + 1])
            sums[first:last] = np.add.reduceat(block, offsets[first:last] - lo) * (counts > 0)
        first = last
    return sums


def _check_distribution(distribution: np.ndarray, n_states: int) -> None:
    if distribution.shape != (n_states,):
        raise ModelError(
            f"initial_distribution must have shape ({n_states},), got {distribution.shape}"
        )
    bad = np.flatnonzero(~np.isfinite(distribution) | (distribution < 0))
    if bad.size:
        raise ModelError(
            "initial_distribution must be finite and non-negative; got "
            f"{distribution[bad[0]].item()!r} at state {bad[0]}"
        )
    total = distribution.sum()
    if abs(total - 1.0) > PROBABILITY_ATOL:
        raise ModelError(
            f"initial_distribution must sum to 1 (within {PROBABILITY_ATOL:g}), "
            f"got {float(total)!r}"
        )
