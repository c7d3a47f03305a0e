r"""The soft maximum and the Boltzmann policy: entropy-regularised operators on arrays.

With a temperature ``τ > 0``,

- soft maximum    ``V(s) = τ log Σ_a exp(Q(s,a)/τ)``, computed stably as
  ``m(s) + τ log Σ_a exp((Q(s,a) − m(s))/τ)`` with ``m(s) = max_a Q(s,a)``, so
  no exponential overflows whatever ``τ`` and the scale of ``Q``; it lies in
  ``[max_a Q, max_a Q + τ log A]``;
- Boltzmann policy ``π(a|s) = exp((Q(s,a) − V(s))/τ)``, each row summing to 1;
- :func:`sample_boltzmann_action` draws ``a ~ π(·|s)`` with a given generator.

:mod:`rl_planners.solvers.soft` plans with them (soft value iteration and soft
backward induction).

References
----------
Ziebart, B. D. (2010). *Modeling Purposeful Adaptive Behavior with the
Principle of Maximum Causal Entropy*, PhD thesis, Carnegie Mellon University,
ch. 6. Haarnoja, T., Tang, H., Abbeel, P. & Levine, S. (2017). Reinforcement
learning with deep energy-based policies. *ICML*, eqs. (2)–(5).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = ["boltzmann_policy", "check_temperature", "sample_boltzmann_action", "soft_maximum"]


def check_temperature(temperature: Any) -> float:
    """Return ``temperature`` as a finite float > 0, or raise ``TypeError``/``ValueError``."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(
            f"temperature must be a real number > 0, got {temperature!r} "
            f"of type {type(temperature).__name__}"
        )
    temperature = float(temperature)
    if not (np.isfinite(temperature) and temperature > 0.0):
        raise ValueError(
            f"temperature must be finite and > 0, got {temperature!r}; for the hard "
            "maximum (τ → 0) use value_iteration or backward_induction"
        )
    return temperature


def soft_maximum(Q: np.ndarray, temperature: float) -> np.ndarray:
    """The soft maximum over actions, ``V(s) = τ log Σ_a exp(Q(s,a)/τ)``.

    Computed as ``m(s) + τ log Σ_a exp((Q(s,a) − m(s))/τ)`` with
    ``m(s) = max_a Q(s,a)``: every exponent is ``≤ 0`` and the largest is 0,
    so the sum lies in ``[1, A]`` and nothing overflows.

    Parameters
    ----------
    Q : numpy.ndarray
        ``[..., A]`` finite action values (the last axis is the action).
    temperature : float
        ``τ > 0``.

    Returns
    -------
    numpy.ndarray
        ``[...]`` float64, with ``max_a Q ≤ V ≤ max_a Q + τ log A``.

    Examples
    --------
    >>> soft_maximum(np.array([[0.0, 0.0], [1.0, -1000.0]]), 1.0).round(6)
    array([0.693147, 1.      ])
    """
    top = Q.max(axis=-1, keepdims=True)
    total = np.exp((Q - top) / temperature).sum(axis=-1)
    return top[..., 0] + temperature * np.log(total)


def boltzmann_policy(Q: np.ndarray, temperature: float) -> np.ndarray:
    """The Boltzmann (softmax) policy ``π(a|s) = exp((Q(s,a) − V(s))/τ)``.

    ``V(s) = τ log Σ_a exp(Q(s,a)/τ)`` (:func:`soft_maximum`), so each row
    sums to 1; computed as ``w / Σ_a w`` with ``w = exp((Q − max_a Q)/τ)``.

    Parameters
    ----------
    Q : numpy.ndarray
        ``[..., A]`` finite action values.
    temperature : float
        ``τ > 0``.

    Returns
    -------
    numpy.ndarray
        ``[..., A]`` float64 probabilities.
    """
    weights = np.exp((Q - Q.max(axis=-1, keepdims=True)) / temperature)
    return weights / weights.sum(axis=-1, keepdims=True)


def sample_boltzmann_action(policy_row: np.ndarray, rng: np.random.Generator) -> int:
    """Draw an action ``a ~ π(·|s)`` from one row of a stochastic policy.

    Parameters
    ----------
    policy_row : array_like, shape (A,)
        ``π(a|s)`` for one state, e.g. ``result.policy[s]``: finite,
        non-negative, summing to 1 within 1e-6.
    rng : numpy.random.Generator
        The source of randomness (``np.random.default_rng(seed)``, or a
        Gymnasium env's ``np_random``).

    Returns
    -------
    int
        An action in ``0..A-1``.

    Raises
    ------
    TypeError
        ``rng`` is not a ``numpy.random.Generator``.
    ValueError
        ``policy_row`` is not a 1-D distribution (the offending action is named).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
            "use np.random.default_rng(seed)"
        )
    row = np.asarray(policy_row, dtype=np.float64)
    if row.ndim != 1 or row.size == 0:
        raise ValueError(f"policy_row must be a 1-D array of π(a|s), got shape {row.shape}")
    bad = np.flatnonzero(~np.isfinite(row) | (row < 0.0))
    if bad.size:
        raise ValueError(
            "policy_row must hold finite non-negative probabilities; got "
            f"{row[bad[0]].item()!r} at action {bad[0]}"
        )
    total = float(row.sum())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"policy_row must sum to 1, it sums to {total!r}")
    return int(rng.choice(row.size, p=row / total))
