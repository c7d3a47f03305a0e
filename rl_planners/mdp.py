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

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any

import numpy as np
import scipy.sparse as sp

from rl_planners.errors import ModelError

__all__ = ["TabularMDP"]

PROBABILITY_ATOL = 1e-6
"""How far a row of probabilities (or the initial distribution) may sum from 1."""


def _frozen(array: np.ndarray) -> np.ndarray:
    """Return a read-only view of ``array`` (the caller's array stays writable)."""
    view = array.view()
    view.setflags(write=False)
    return view


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite Markov decision process with per-outcome termination.

    Build one with :meth:`from_env`, :meth:`from_transitions`,
    :meth:`from_arrays` or :meth:`from_outcomes`; all of them validate. The
    arrays are read-only: a model never changes after construction.

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
        for name in ("n_states", "n_actions"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ModelError(f"{name} must be an int, got {value!r}")
            if value < 1:
                raise ModelError(f"{name} must be at least 1, got {value}")
            object.__setattr__(self, name, int(value))
        n_rows = self.n_states * self.n_actions
        offsets = _as_array(self.row_offsets, np.int64, "row_offsets")
        if offsets.shape != (n_rows + 1,):
            raise ModelError(
                f"row_offsets must have shape ({n_rows + 1},) for "
                f"{self.n_states} states x {self.n_actions} actions, "
                f"got {offsets.shape}"
            )
        n_outcomes = int(offsets[-1])
        if offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ModelError("row_offsets must start at 0 and never decrease")
        arrays = {
            "next_state": _as_array(self.next_state, np.int64, "next_state"),
            "prob": _as_array(self.prob, np.float64, "prob"),
            "reward": _as_array(self.reward, np.float64, "reward"),
            "terminated": _as_array(self.terminated, np.bool_, "terminated"),
        }
        for name, array in arrays.items():
            if array.shape != (n_outcomes,):
                raise ModelError(
                    f"{name} must have shape ({n_outcomes},) to match "
                    f"row_offsets[-1], got {array.shape}"
                )
        initial = _as_array(self.initial_distribution, np.float64, "initial_distribution")
        object.__setattr__(self, "row_offsets", _frozen(offsets))
        for name, array in arrays.items():
            object.__setattr__(self, name, _frozen(array))
        object.__setattr__(self, "initial_distribution", _frozen(initial))
        self._validate()

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
        must still be a valid state, e.g. 0). Padding is dropped; without any,
        the arrays are used as they are (no copy for float64/int64 input).

        Parameters
        ----------
        next_state : array_like of int, shape (S, A, K)
        prob : array_like of float, shape (S, A, K)
        reward : array_like of float, shape (S, A, K) or (S, A)
            Reward per outcome, or one per pair for all its outcomes.
        terminated : array_like of bool, shape (S, A, K), optional
            Default: no outcome terminates.
        initial_distribution : array_like, shape (S,), optional
            Default: uniform over the states.

        Raises
        ------
        ModelError
            If the shapes disagree or the model is invalid (see :class:`TabularMDP`).
        """
        next_state = np.asarray(next_state)
        prob = np.asarray(prob)
        if next_state.ndim != 3:
            raise ModelError(f"next_state must have shape (S, A, K), got {next_state.shape}")
        shape = next_state.shape
        n_states, n_actions, k = shape
        if 0 in shape:
            raise ModelError(f"next_state must have shape (S, A, K) with S, A, K >= 1, got {shape}")
        reward = np.asarray(reward)
        if reward.shape == (n_states, n_actions):
            reward = np.broadcast_to(reward[:, :, None], shape)
        if terminated is None:
            terminated = np.zeros(shape, dtype=bool)
        terminated = np.asarray(terminated)
        for name, array in (
            ("prob", prob),
            ("reward", reward),
            ("terminated", terminated),
        ):
            if array.shape != shape:
                raise ModelError(
                    f"{name} must have the shape of next_state {shape}, got {array.shape}"
                )
        flat = [a.reshape(-1) for a in (next_state, prob, reward, terminated)]
        offsets = np.arange(0, n_states * n_actions * k + 1, k, dtype=np.int64)
        with np.errstate(invalid="ignore"):
            padding = flat[1] == 0.0
        if padding.any():
            keep = ~padding
            counts = keep.reshape(-1, k).sum(axis=1)
            offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
            flat = [a[keep] for a in flat]
        return cls(
            n_states,
            n_actions,
            offsets,
            *flat,
            _initial_or_uniform(initial_distribution, n_states),
        )

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
        try:
            T = np.asarray(transitions, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ModelError(
                "transitions must be a numeric (S, A, S) array of probabilities; "
                f"NumPy could not read it: {error}"
            ) from error
        if T.ndim != 3 or T.shape[0] != T.shape[2] or 0 in T.shape:
            raise ModelError(
                f"transitions must have shape (S, A, S), got {T.shape}; "
                "pymdptoolbox's (A, S, S) arrays need np.transpose(T, (1, 0, 2))"
            )
        n_states, n_actions, _ = T.shape
        try:
            rewards = np.asarray(rewards, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ModelError(
                f"rewards must be a numeric array; NumPy could not read it: {error}"
            ) from error
        if rewards.shape not in ((n_states, n_actions), T.shape):
            raise ModelError(
                f"rewards must have shape {(n_states, n_actions)} or {T.shape}, got {rewards.shape}"
            )
        bad = np.argwhere(~np.isfinite(rewards))
        if bad.size:
            where = ", ".join(
                f"{name} {i}"
                for name, i in zip(("state", "action", "next state"), bad[0], strict=False)
            )
            raise ModelError(
                f"rewards must be finite; got {rewards[tuple(bad[0])].item()!r} at {where}"
            )
        terminal = _terminal_mask(terminal_states, n_states)
        T = T.copy()
        T[terminal] = 0.0
        T[terminal, :, np.flatnonzero(terminal)] = 1.0
        flat_T = T.reshape(n_states * n_actions, n_states)
        rows, next_state = np.nonzero(flat_T)
        prob = flat_T[rows, next_state]
        if rewards.ndim == 2:
            reward = rewards.reshape(-1)[rows]
        else:
            reward = rewards.reshape(n_states * n_actions, n_states)[rows, next_state]
        state_of_row = rows // n_actions
        reward = np.where(terminal[state_of_row], 0.0, reward)
        counts = np.bincount(rows, minlength=n_states * n_actions)
        offsets = np.concatenate(([0], np.cumsum(counts, dtype=np.int64)))
        return cls(
            n_states,
            n_actions,
            offsets,
            next_state,
            prob,
            reward,
            terminal[next_state],
            _initial_or_uniform(initial_distribution, n_states),
        )

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
        if not isinstance(P, Mapping | Sequence) or isinstance(P, str | bytes):
            raise ModelError(f"P must be a dict or list indexed by state, got {type(P).__name__}")
        n_states = len(P)
        if n_states == 0:
            raise ModelError("P has no states")
        n_actions = len(_row_of(P, 0, None))
        rows = _rows_in_order(P, n_states, n_actions)
        if rows is None:  # something is off: find it, and name it, state by state
            rows = []
            for state in range(n_states):
                actions = _row_of(P, state, None)
                if len(actions) != n_actions:
                    raise ModelError(
                        f"every state must have the same {n_actions} actions; "
                        f"state {state} has {len(actions)}"
                    )
                rows.extend(_row_of(actions, action, state) for action in range(n_actions))
        offsets = _row_offsets(rows)
        arrays = _read_outcomes(rows, int(offsets[-1]), n_states)
        if arrays is None:  # something is off: read them all at once, to find it and name it
            arrays = _read_outcomes_carefully(rows, offsets, n_states, n_actions)
        return cls(
            n_states,
            n_actions,
            offsets,
            *arrays,
            _initial_or_uniform(initial_distribution, n_states),
        )

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
        base = getattr(env, "unwrapped", env)
        name = _env_name(env)
        n_states = _discrete_size(base, "observation_space", name)
        n_actions = _discrete_size(base, "action_space", name)
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

    def with_initial_distribution(self, initial_distribution: np.ndarray) -> TabularMDP:
        """Return the same model with another initial distribution."""
        return TabularMDP(
            self.n_states,
            self.n_actions,
            self.row_offsets,
            self.next_state,
            self.prob,
            self.reward,
            self.terminated,
            initial_distribution,
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


def _as_array(value: Any, dtype: type, name: str) -> np.ndarray:
    try:
        array = np.asarray(value)
        if array.dtype != dtype:
            if dtype is np.int64 and array.dtype.kind not in "iub":
                raise TypeError
            array = array.astype(dtype)
    except (TypeError, ValueError) as error:
        raise ModelError(f"{name} must be an array of {np.dtype(dtype).name}") from error
    return array


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


def _initial_or_uniform(initial: Any, n_states: int) -> Any:
    if initial is None:
        return np.full(n_states, 1.0 / n_states)
    return initial  # converted and checked, with a ModelError, in TabularMDP.__post_init__


def _terminal_mask(terminal_states: Sequence[int] | np.ndarray, n_states: int) -> np.ndarray:
    states = np.asarray(terminal_states).reshape(-1)
    if states.size and (states.dtype.kind not in "iu"):
        raise ModelError(f"terminal_states must be state indices, got {terminal_states!r}")
    bad = states[(states < 0) | (states >= n_states)]
    if bad.size:
        raise ModelError(f"terminal_states must lie in 0..{n_states - 1}; got {bad[0]}")
    mask = np.zeros(n_states, dtype=bool)
    mask[states.astype(np.int64)] = True
    return mask


def _row_of(table: Mapping | Sequence, index: int, state: int | None) -> Any:
    """``table[index]``, with an error naming the missing state or action."""
    try:
        entry = table[index]
    except (KeyError, IndexError, TypeError):
        pass
    else:
        if isinstance(entry, Mapping | Sequence) and not isinstance(entry, str | bytes):
            return entry
        where = f"P[{index}]" if state is None else f"P[{state}][{index}]"
        expected = "a dict or list of actions" if state is None else "a list of outcomes"
        raise ModelError(f"{where} must be {expected}, got {entry!r}")
    if state is None:
        raise ModelError(
            f"P has no entry for state {index}: states must be numbered 0..{len(table) - 1}"
        )
    raise ModelError(
        f"P[{state}] has no entry for action {index}: actions must be numbered "
        f"0..{len(table) - 1} in every state"
    )


def _is_table(kind: type) -> bool:
    """Whether ``P`` entries of this type are accepted (dicts and lists, not strings)."""
    return issubclass(kind, Mapping | Sequence) and not issubclass(kind, str | bytes)


def _rows_in_order(P: Mapping | Sequence, n_states: int, n_actions: int) -> list | None:
    """``P[s][a]`` for rows ``s*A + a`` in order, or None if anything is unusual.

    The fast road for big ``P``: no Python-level work per row beyond C-level
    ``map``/``itemgetter`` calls. None (a missing state or action, a ragged
    state, an entry that is no dict or list) sends the caller to its careful
    loop, which names the problem.
    """
    try:
        states = [P[state] for state in range(n_states)]
        if set(map(len, states)) != {n_actions} or not all(map(_is_table, set(map(type, states)))):
            return None
        if n_actions == 1:
            rows = [actions[0] for actions in states]
        else:
            rows = list(itertools.chain.from_iterable(map(itemgetter(*range(n_actions)), states)))
        if not all(map(_is_table, set(map(type, rows)))):
            return None
    except (KeyError, IndexError, TypeError):
        return None
    return rows


def _outcome_columns(outcomes: list) -> list[np.ndarray] | None:
    """The four float64 columns of ``(prob, next_state, reward, terminated)`` tuples.

    None if an outcome is not a 4-sequence of numbers. Each column is read
    straight into an array with ``numpy.fromiter`` (about 30 ns an entry).
    """
    n_outcomes = len(outcomes)
    try:
        if sum(map(len, outcomes)) != 4 * n_outcomes:  # with itemgetter(3): all have 4
            return None
        return [
            np.fromiter(map(itemgetter(k), outcomes), dtype=np.float64, count=n_outcomes)
            for k in range(4)
        ]
    except (TypeError, ValueError, IndexError, KeyError):
        return None


def _row_offsets(rows: list) -> np.ndarray:
    """``[len(rows) + 1]`` int64 CSR offsets of the outcome lists ``rows``, built in place."""
    offsets = np.fromiter(
        itertools.chain((0,), map(len, rows)), dtype=np.int64, count=len(rows) + 1
    )
    return np.cumsum(offsets, out=offsets)


_OUTCOME_BLOCK = 1 << 14
"""Outcomes per block in :func:`_read_outcomes` (its temporaries stay in cache)."""


def _read_outcomes(rows: list, n_outcomes: int, n_states: int) -> tuple[np.ndarray, ...] | None:
    """``next_state, prob, reward, terminated`` of the outcomes in ``rows``, or None.

    The fast road. The outcomes are taken in blocks of :data:`_OUTCOME_BLOCK`
    (no list of all of them is made: on a big model, fresh memory is slow to
    come by); each field is read as :func:`_outcome_columns` reads it, checked
    at once, and stored in its final array (int64 next states, bool flags).
    None if anything is unusual (an outcome that is not a 4-sequence of numbers,
    a next state that is not an integer in ``0..n_states-1``, a flag that is
    neither 0 nor 1, any exception): :func:`_read_outcomes_carefully` then reads
    them again, and decides.
    """
    next_state = np.empty(n_outcomes, dtype=np.int64)
    prob, reward = np.empty(n_outcomes), np.empty(n_outcomes)
    terminated = np.empty(n_outcomes, dtype=np.bool_)
    outcomes = itertools.chain.from_iterable(rows)
    try:
        for lo in range(0, n_outcomes, _OUTCOME_BLOCK):
            hi = min(lo + _OUTCOME_BLOCK, n_outcomes)
            block = list(itertools.islice(outcomes, hi - lo))
            if sum(map(len, block)) != 4 * (hi - lo):  # with itemgetter(3): all have 4
                return None
            prob[lo:hi], states, reward[lo:hi], flags = (
                np.fromiter(map(itemgetter(k), block), dtype=np.float64, count=hi - lo)
                for k in range(4)
            )
            if any(bad.any() for bad, _, _ in _outcome_rules(states, flags, n_states)):
                return None
            next_state[lo:hi] = states
            terminated[lo:hi] = flags != 0.0
        if next(outcomes, _END) is not _END:  # a row that yields more than its len
            return None
    except Exception:  # whatever it is, the careful reading meets it again and reports it
        return None
    return next_state, prob, reward, terminated


_END = object()
"""Marks the end of an iterator in :func:`_read_outcomes`."""


def _outcome_rules(
    states: np.ndarray, flags: np.ndarray, n_states: int
) -> tuple[tuple[np.ndarray, str, np.ndarray], ...]:
    """``(bad, rule, column)`` for each rule on next states and flags read as float64.

    Next states must be integers in ``0..n_states-1`` (NaN and ±inf break
    both rules) and terminated flags 0 or 1; ``bad`` marks the outcomes that
    break the rule.
    """
    return (
        (states != np.round(states), "next states must be integers", states),
        (
            (states < 0) | (states >= n_states),
            f"next states must lie in 0..{n_states - 1}",
            states,
        ),
        ((flags != 0.0) & (flags != 1.0), "terminated flags must be True or False", flags),
    )


def _read_outcomes_carefully(
    rows: list, offsets: np.ndarray, n_states: int, n_actions: int
) -> tuple[np.ndarray, ...]:
    """:func:`_read_outcomes` one whole column at a time, raising on the first problem.

    Raises
    ------
    ModelError
        Naming the state, action and outcome of the first malformed outcome, else
        of the first bad next state, else of the first bad terminated flag.
    """
    outcomes = list(itertools.chain.from_iterable(rows))
    columns = _outcome_columns(outcomes)  # prob, next_state, reward, terminated
    if columns is None:
        _raise_malformed(rows, n_actions)
    next_state, flags = columns[1], columns[3]
    for bad, expected, column in _outcome_rules(next_state, flags, n_states):
        if bad.any():
            outcome = int(np.flatnonzero(bad)[0])
            row = int(np.searchsorted(offsets, outcome, side="right")) - 1
            raise ModelError(
                f"{expected}; got {column[outcome].item()!r} at state "
                f"{row // n_actions}, action {row % n_actions}, "
                f"outcome {outcome - offsets[row]}"
            )
    return next_state.astype(np.int64), columns[0], columns[2], flags != 0.0


def _raise_malformed(rows: list, n_actions: int) -> None:
    for row, outcomes in enumerate(rows):
        for k, outcome in enumerate(outcomes):
            ok = isinstance(outcome, Sequence) and len(outcome) == 4
            if ok:
                try:
                    [float(x) for x in outcome]
                except (TypeError, ValueError):
                    ok = False
            if not ok:
                raise ModelError(
                    "each outcome must be a tuple (prob, next_state, reward, terminated) "
                    f"of numbers; got {outcome!r} at state {row // n_actions}, "
                    f"action {row % n_actions}, outcome {k}"
                )
    raise ModelError("P's outcomes could not be read as (prob, next_state, reward, terminated)")


def _env_name(env: Any) -> str:
    spec = getattr(env, "spec", None)
    if spec is not None and getattr(spec, "id", None):
        return f"env {spec.id!r}"
    return f"env {type(getattr(env, 'unwrapped', env)).__name__}"


def _discrete_size(base: Any, attribute: str, name: str) -> int:
    from gymnasium import spaces

    space = getattr(base, attribute, None)
    if not isinstance(space, spaces.Discrete):
        raise ModelError(f"{name} needs a Discrete {attribute} for tabular planning, got {space!r}")
    if int(space.start) != 0:
        raise ModelError(
            f"{name}'s {attribute} {space!r} starts at {space.start}; tabular planning "
            "needs Discrete spaces that start at 0"
        )
    return int(space.n)
