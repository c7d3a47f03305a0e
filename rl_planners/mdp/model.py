"""The finite MDP as arrays: :class:`TabularMDP`, its constructors and validation.

A model is held exactly as Gymnasium's ``P[s][a] = [(prob, next_state, reward,
terminated), ...]`` lists it, one row per (state, action) pair (row ``s*A + a``)
and one entry per outcome, in CSR layout. Everything the solvers need (the
continuation matrix ``P_cont`` of the outcomes that do not terminate, the
expected reward ``R``) is derived from these arrays once, on first use
(:mod:`rl_planners.mdp.derived`). The readers of each form a model comes in
live in :mod:`~rl_planners.mdp.transitions`, :mod:`~rl_planners.mdp.p_reader`
and :mod:`~rl_planners.mdp.samples`; the checks in :mod:`~rl_planners.mdp.checks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners import gym_env
from rl_planners.errors import ModelError
from rl_planners.mdp.checks import (
    ARRAY_FIELDS,
    PROBABILITY_ATOL,
    check_distribution,
    check_model_size,
    check_outcomes,
    frozen,
    owned_arrays,
)
from rl_planners.mdp.derived import action_major, continuation_matrix, outcome_rows, pair_sums
from rl_planners.mdp.outcomes import Outcomes
from rl_planners.mdp.p_reader import read_transitions
from rl_planners.mdp.petsc import PetscFiles, write_petsc
from rl_planners.mdp.samples import count_transitions
from rl_planners.mdp.sampling import env_sizes, sample_every_pair
from rl_planners.mdp.transitions import (
    env_transitions,
    read_dense,
    read_padded,
    write_transitions,
)

__all__ = ["PROBABILITY_ATOL", "TabularMDP"]


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
        self._adopt(copied=tuple(ARRAY_FIELDS))

    @classmethod
    def _assemble(
        cls, outcomes: Outcomes, initial_distribution: Any, *, validate: bool = True
    ) -> TabularMDP:
        """A model of outcome arrays a reader just made, which nobody else holds.

        They are kept as they are (see :class:`~rl_planners.mdp.outcomes.Outcomes`:
        copying them again would cost memory and time on big models); a given
        initial distribution is copied, ``None`` is uniform. ``validate=False``
        skips the outcome checks (for outcome arrays taken from a model,
        already checked); the initial distribution is always checked.
        """
        if initial_distribution is None:
            initial_distribution = np.full(outcomes.n_states, 1.0 / outcomes.n_states)
        model = object.__new__(cls)
        for name, value in zip(
            cls.__dataclass_fields__, (*outcomes, initial_distribution), strict=True
        ):
            object.__setattr__(model, name, value)
        model._adopt(copied=("initial_distribution",), validate=validate)
        return model

    def _adopt(self, *, copied: tuple[str, ...], validate: bool = True) -> None:
        """Check types and shapes, make every array the model's own, freeze, validate."""
        n_states = check_model_size(self.n_states, "n_states")
        n_actions = check_model_size(self.n_actions, "n_actions")
        values = {name: getattr(self, name) for name in ARRAY_FIELDS}
        arrays = owned_arrays(n_states, n_actions, values, copied)
        object.__setattr__(self, "n_states", n_states)
        object.__setattr__(self, "n_actions", n_actions)
        for name, array in arrays.items():
            object.__setattr__(self, name, frozen(array))
        if validate:
            check_outcomes(self._outcomes())
        check_distribution(self.initial_distribution, self.n_states)

    # ----------------------------------------------------------------- derived
    @property
    def n_outcomes(self) -> int:
        """The number of stored outcomes ``N`` over all (state, action) pairs."""
        return int(self.row_offsets[-1])

    @cached_property
    def outcome_row(self) -> np.ndarray:
        """``[N]`` the row ``s*A + a`` each outcome belongs to."""
        return frozen(outcome_rows(self.row_offsets))

    @cached_property
    def continuation(self) -> sp.csr_matrix:
        """``[S*A, S]`` probability of each non-terminating outcome (CSR).

        ``continuation[s*A + a, s'] = Σ_k prob_k [next_k = s', not terminated_k]``:
        the transition matrix with terminating outcomes removed, so that
        ``Q = R + γ · continuation @ V`` gives them no future value.
        """
        return continuation_matrix(self._outcomes())

    @cached_property
    def continuation_by_action(self) -> sp.csr_matrix:
        """:attr:`continuation` with its rows in action-major order, ``[A*S, S]`` (CSR).

        Row ``a*S + s`` is row ``s*A + a`` of :attr:`continuation`, so that
        ``(continuation_by_action @ V).reshape(A, S)`` holds ``Σ_s' P_cont V``
        one action per contiguous row: the maximum over actions then reads
        memory in order (see :func:`rl_planners.bellman.optimality_backup`).
        """
        return action_major(self.continuation, self.n_states, self.n_actions)

    @cached_property
    def R_by_action(self) -> np.ndarray:
        """``[A, S]`` C-ordered copy of :attr:`R` (its transpose), for the action-major sweep."""
        return frozen(np.ascontiguousarray(self.R.T))

    @cached_property
    def R(self) -> np.ndarray:
        """``[S, A]`` expected reward ``R(s, a) = Σ_s' P(s'|s,a) R(s,a,s')``."""
        return frozen(pair_sums(self._outcomes(), "reward"))

    @cached_property
    def termination_probability(self) -> np.ndarray:
        """``[S, A]`` probability that taking ``a`` in ``s`` ends the episode."""
        return frozen(pair_sums(self._outcomes(), "termination"))

    @cached_property
    def continuation_probability(self) -> np.ndarray:
        """``[S, A]`` probability that taking ``a`` in ``s`` does not end the episode.

        The row sums of :attr:`continuation`, computed without building it.
        """
        return frozen(pair_sums(self._outcomes(), "continuation"))

    def _outcomes(self) -> Outcomes:
        """The model's outcome arrays (its own, read-only) as :class:`Outcomes`."""
        kept = (self.row_offsets, self.next_state, self.prob, self.reward, self.terminated)
        return Outcomes(self.n_states, self.n_actions, *kept)

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
        return cls._assemble(outcomes, initial_distribution)

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
        return cls._assemble(outcomes, initial_distribution)

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
        return cls._assemble(outcomes, initial_distribution)

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
        name = gym_env.env_name(env)
        n_states = gym_env.discrete_size(env, "observation_space")
        n_actions = gym_env.discrete_size(env, "action_space")
        held = getattr(gym_env.unwrapped(env), "mdp", None)
        if isinstance(held, TabularMDP):
            mdp = held
        else:
            mdp = cls.from_transitions(*env_transitions(env, initial_distribution))
        if (mdp.n_states, mdp.n_actions) != (n_states, n_actions):
            raise ModelError(
                f"{name}'s model has {mdp.n_states} states and {mdp.n_actions} actions "
                f"but its spaces have {n_states} and {n_actions}"
            )
        if mdp is held and initial_distribution is not None:
            mdp = mdp.with_initial_distribution(initial_distribution)
        return mdp

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

        ``transitions = (states, actions, rewards, next_states, terminated)``,
        one entry per sample. Each outcome's probability is its empirical
        frequency and its reward the sample mean; pairs never sampled follow
        ``unvisited`` (``"self_loop"`` or ``"optimistic"`` with
        ``optimistic_reward``), as :func:`rl_planners.mdp.samples.count_transitions`
        documents with the errors it raises (naming the sample and value). The
        initial distribution defaults to uniform. For the counts, the L1
        confidence radii and the simulation-lemma bound, use
        :func:`rl_planners.model_from_samples`, which returns them with the model.
        """
        counts = count_transitions(
            *transitions,
            n_states=n_states,
            n_actions=n_actions,
            unvisited=unvisited,
            optimistic_reward=optimistic_reward,
        )
        return cls._assemble(counts.outcomes, initial_distribution)

    @classmethod
    def estimate(
        cls, env: Any, n_samples_per_pair: int, *, seed: int | None, **options: Any
    ) -> TabularMDP:
        """Sample every (state, action) pair of an env whose state can be set, and estimate.

        The env's state is set through ``env.unwrapped.s`` (Gymnasium's toy_text
        envs keep it there) and each pair stepped ``n_samples_per_pair`` times
        (:func:`rl_planners.mdp.sampling.sample_every_pair`, which raises a clear
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
        return TabularMDP._assemble(self._outcomes(), initial_distribution, validate=False)

    def to_transitions(
        self,
    ) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        """Return the model as a FrozenLake-style ``P`` dict.

        ``TabularMDP.from_transitions(mdp.to_transitions())`` reproduces the
        arrays exactly, outcome for outcome and in order.
        """
        return write_transitions(self._outcomes())

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
