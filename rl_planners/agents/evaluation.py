r"""What a policy is worth in an env: sampled by playing episodes, and exactly.

A Gymnasium episode's return is the *undiscounted* sum of its rewards,
``G = Σ_{t<T} r_{t+1}``, where the episode ends at the first terminating
outcome or is cut off (truncated) after ``H`` steps by a ``TimeLimit``. Its
expectation from the initial distribution ``μ₀`` is computed exactly by the
backward recursion of :func:`rl_planners.solvers.finite_horizon_policy_value`:

.. math::

    J_H(π) = Σ_s μ₀(s) V^π_0(s), \qquad V^π_H = 0, \quad
    V^π_t = R_π + γ P_π V^π_{t+1},

with ``γ = 1`` for Gymnasium's return. The mean of ``n`` sampled returns
estimates ``J_H`` with standard error ``σ/√n``: a mean within a few standard
errors of ``J_H`` is what the policy is worth, up to sampling noise.

Without a time limit the expected return is ``J_∞(π) = μ₀ · V^π`` with
``(I − γ P_π) V^π = R_π`` (:func:`rl_planners.solvers.policy_evaluation`).
At ``γ = 1`` it exists only if the episode ends with probability 1 from every
state reachable from ``μ₀``; states the policy never reaches do not matter
(Taxi's optimal policy loops forever in states where the passenger already
stands at the destination, but no episode starts or arrives there).

The exact figures are :mod:`rl_planners.agents.exact`'s (re-exported here).

References
----------
Puterman, M. L. (1994). *Markov Decision Processes*, §4.2 (finite-horizon
policy evaluation) and §6.1 (infinite horizon).
Sutton, R. S. & Barto, A. G. (2018). *Reinforcement Learning: An
Introduction*, 2nd ed., §3.3 (episodic returns) and §5.1 (Monte Carlo
estimation).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_planners.agents.exact import expected_return, reachable_states
from rl_planners.agents.policies import check_state
from rl_planners.errors import NonTerminatingPolicyError
from rl_planners.gym_env import time_limit
from rl_planners.mdp import TabularMDP
from rl_planners.validation import check_int

__all__ = [
    "DEFAULT_MAX_STEPS",
    "EvaluationResult",
    "evaluate_policy",
    "expected_return",
    "reachable_states",
    "run_episodes",
    "step_limit",
]

DEFAULT_MAX_STEPS = 10_000
"""Steps after which an episode is cut when the env itself has no time limit."""


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Sampled returns of a policy in an env, beside their exact expectation.

    Attributes
    ----------
    returns : numpy.ndarray
        ``[n]`` float64, the undiscounted return ``Σ_t r_{t+1}`` of each episode.
    lengths : numpy.ndarray
        ``[n]`` int64, the number of steps of each episode.
    mean_return : float
        The mean of ``returns``.
    std_return : float
        Their standard deviation (``ddof=0``, as ``np.std`` and
        Stable-Baselines3's ``evaluate_policy`` report it).
    mean_length : float
        The mean of ``lengths``.
    standard_error : float
        ``std(returns, ddof=1) / √n``, the standard error of ``mean_return``
        (``nan`` for a single episode).
    horizon : int
        ``H``, the step limit the episodes ran under: the env's time limit,
        or the evaluation's ``max_steps`` if that is smaller or the env has none.
    n_cut : int
        Episodes cut at ``max_steps`` by the evaluation (not by the env).
    expected_return : float or None
        ``J_H``: the exact expected undiscounted return within ``H`` steps
        from the env's initial distribution, the figure ``mean_return``
        estimates. ``None`` when the env exposes no model.
    expected_return_unlimited : float or None
        ``J_∞``: the exact expected undiscounted return with no time limit;
        ``None`` when the env exposes no model, or when the policy does not
        terminate with probability 1 from every state it can reach.
    seed : int or None
        The seed of the first reset.
    """

    returns: np.ndarray = field(repr=False)
    lengths: np.ndarray = field(repr=False)
    horizon: int
    expected_return: float | None
    expected_return_unlimited: float | None
    n_cut: int = 0
    seed: int | None = None
    mean_return: float = field(init=False)
    std_return: float = field(init=False)
    mean_length: float = field(init=False)
    standard_error: float = field(init=False)

    def __post_init__(self) -> None:
        returns = np.array(self.returns, dtype=np.float64)
        lengths = np.array(self.lengths, dtype=np.int64)
        if returns.ndim != 1 or returns.shape != lengths.shape or returns.size == 0:
            raise ValueError(
                "returns and lengths must be 1-d arrays of the same, non-zero length; "
                f"got shapes {returns.shape} and {lengths.shape}"
            )
        for array in (returns, lengths):
            array.setflags(write=False)
        n = returns.size
        derived = {
            "returns": returns,
            "lengths": lengths,
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "mean_length": float(lengths.mean()),
            "standard_error": float(returns.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @property
    def n_episodes(self) -> int:
        """The number of episodes played."""
        return int(self.returns.size)

    @property
    def z_score(self) -> float:
        """``(mean_return − expected_return) / standard_error``.

        Within about ±3 the sampled mean agrees with the exact figure up to
        sampling noise. ``nan`` without an exact figure or a standard error;
        ``±inf`` if every episode returned the same, different, value.
        """
        if self.expected_return is None or not np.isfinite(self.standard_error):
            return float("nan")
        gap = self.mean_return - self.expected_return
        if self.standard_error > 0:
            return gap / self.standard_error
        # All returns equal: agreement means exact equality, up to rounding.
        if abs(gap) <= 1e-9 * max(1.0, abs(self.expected_return)):
            return 0.0
        return float(np.copysign(np.inf, gap))

    def __repr__(self) -> str:
        exact = "n/a" if self.expected_return is None else f"{self.expected_return:.6g}"
        return (
            f"EvaluationResult(n_episodes={self.n_episodes}, "
            f"mean_return={self.mean_return:.6g} ± {self.standard_error:.2g}, "
            f"expected_return={exact}, horizon={self.horizon}, "
            f"mean_length={self.mean_length:.4g})"
        )


# ------------------------------------------------------------------- sampling
def run_episodes(
    env: Any,
    choose_action: Callable[[Any, int], int],
    n_episodes: int,
    seed: int | None,
    max_steps: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Play ``n_episodes`` episodes; return their returns, lengths and how many were cut.

    The first reset is ``env.reset(seed=seed)`` and the later ones
    ``env.reset()``, which continue the env's random stream: the same seed
    gives the same episodes. An episode ends when the env reports
    ``terminated`` or ``truncated``, or is cut after ``max_steps`` steps.

    Parameters
    ----------
    env : gymnasium.Env
    choose_action : callable
        ``choose_action(obs, t) -> action``, ``t`` the step index in the episode.
    n_episodes, max_steps : int
    seed : int or None

    Returns
    -------
    returns : numpy.ndarray
        ``[n]`` float64, undiscounted.
    lengths : numpy.ndarray
        ``[n]`` int64.
    n_cut : int
        Episodes cut at ``max_steps``.
    """
    returns = np.empty(n_episodes)
    lengths = np.empty(n_episodes, dtype=np.int64)
    n_cut = 0
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=seed) if episode == 0 else env.reset()
        total, steps, ended = 0.0, 0, False
        while steps < max_steps:
            obs, reward, terminated, truncated, _ = env.step(choose_action(obs, steps))
            total += float(reward)
            steps += 1
            if terminated or truncated:
                ended = True
                break
        n_cut += not ended
        returns[episode], lengths[episode] = total, steps
    return returns, lengths, n_cut


def step_limit(env: Any, max_steps: Any) -> int:
    """The horizon episodes run under: the env's time limit capped by ``max_steps``.

    ``max_steps=None`` means the env's own limit, or :data:`DEFAULT_MAX_STEPS`
    when it has none.
    """
    limit = time_limit(env)
    if max_steps is None:
        return DEFAULT_MAX_STEPS if limit is None else limit
    max_steps = check_int(max_steps, "max_steps", 1)
    return max_steps if limit is None else min(limit, max_steps)


def warn_cut(n_cut: int, n_episodes: int, horizon: int, *, stacklevel: int = 3) -> None:
    """Warn that the evaluation, not the env, ended some episodes.

    ``stacklevel`` as :func:`warnings.warn` takes it, counted from this
    function's caller: 3 names the caller of the function that called this one.
    """
    warnings.warn(
        f"{n_cut} of {n_episodes} episodes had not ended after max_steps={horizon} "
        "steps and were cut there (the env's own time limit, if any, is longer); "
        "the policy may never reach a terminal state from some states. Their "
        "returns are sums over the first max_steps steps, and expected_return is "
        "computed for the same horizon; pass a larger max_steps to let them run.",
        UserWarning,
        stacklevel=stacklevel,
    )


def evaluate_policy(
    policy: Any,
    env: Any,
    n_episodes: int = 100,
    seed: int | None = None,
    *,
    max_steps: int | None = None,
    mdp: TabularMDP | None = None,
    planned_for: str = "",
) -> EvaluationResult:
    """Play a policy in ``env``; report its returns beside the exact ``J_H`` in ``mdp``.

    Parameters
    ----------
    policy : StationaryPolicy, TimeDependentPolicy, or any object with ``predict``
        A policy value of :mod:`rl_planners.agents.policies` (acts as
        ``policy.select(state, t)``, and gives the exact figures), or an object
        with Stable-Baselines3's ``predict(obs, deterministic=True)`` (sampled
        figures only).
    env : gymnasium.Env
        A single env; its ``TimeLimit`` and other wrappers apply.
    n_episodes : int, default 100
    seed : int, optional
        Seeds the first ``env.reset``; later resets continue the env's stream.
    max_steps : int, optional
        Cut an episode after this many steps if the env has not ended it.
        Default: the env's time limit, or :data:`DEFAULT_MAX_STEPS` (for a
        time-dependent policy of ``H`` steps: ``H``) if it has none. A
        time-dependent policy is never asked past its horizon.
    mdp : TabularMDP, optional
        The model the exact figures are computed in (``None``: sampled only).
    planned_for : str
        Ends the messages about observations (which env the policy was made for).

    Returns
    -------
    EvaluationResult
    """
    n_episodes = check_int(n_episodes, "n_episodes", 1)
    horizon = getattr(policy, "horizon", None)
    if horizon is not None and max_steps is None and time_limit(env) is None:
        max_steps = horizon
    steps = step_limit(env, max_steps)
    if horizon is not None and steps > horizon:
        raise ValueError(
            f"episodes in this env can run {steps} steps, but the agent planned "
            f"{horizon} and has no action after them: pass max_steps={horizon} to cut "
            f"episodes at the horizon, or plan with FiniteHorizonAgent(env, horizon={steps})"
        )
    select = getattr(policy, "select", None)
    if select is None:  # a predict-only policy (e.g. a Stable-Baselines3 model)

        def choose_action(obs: Any, t: int) -> int:
            return int(np.asarray(policy.predict(obs, deterministic=True)[0]))

    else:
        actions = policy.actions
        n_states = actions.shape[-1]
        stationary = horizon is None

        def choose_action(obs: Any, t: int) -> int:
            if stationary and type(obs) is int and 0 <= obs < n_states:
                return int(actions[obs])  # the common case, without the general checks
            return int(select(check_state(obs, n_states, planned_for), t))

    returns, lengths, n_cut = run_episodes(env, choose_action, n_episodes, seed, steps)
    if n_cut and (horizon is None or steps < horizon):  # a cut at the horizon is the plan's end
        warn_cut(n_cut, n_episodes, steps, stacklevel=4)
    exact = unlimited = None
    if mdp is not None and select is not None:
        exact = expected_return(mdp, policy.for_horizon(steps), 1.0, horizon=steps)
        if horizon is None:
            try:
                unlimited = expected_return(mdp, actions, 1.0)
            except NonTerminatingPolicyError:
                unlimited = None
    return EvaluationResult(
        returns=returns,
        lengths=lengths,
        horizon=steps,
        expected_return=exact,
        expected_return_unlimited=unlimited,
        n_cut=n_cut,
        seed=seed,
    )
