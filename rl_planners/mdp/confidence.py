r"""How far to trust a model estimated from samples: :class:`EstimatedModel`.

With ``n`` samples of a pair, the empirical distribution of its outcomes lies
within the L1 radius of Weissman et al. (2003) of the true one
(:meth:`EstimatedModel.l1_radius`), and the simulation lemma turns the radii
into a bound on ``‖V^π − V̂^π‖∞`` for every policy at once
(:meth:`EstimatedModel.value_error_bound`). The models themselves are built by
:mod:`rl_planners.mdp.estimation`.

References
----------
Weissman, Ordentlich, Seroussi, Verdú & Weinberger (2003), "Inequalities for
the L1 deviation of the empirical distribution", HP Labs HPL-2003-97, Thm 2.1.
Kearns & Singh (2002), "Near-optimal reinforcement learning in polynomial
time", Machine Learning 49, Lemma 4 (simulation lemma).
Agarwal, Jiang, Kakade & Sun (2019), "Reinforcement Learning: Theory and
Algorithms", Lemma 2.2 (simulation lemma) and §2.2.
Hoeffding (1963), "Probability inequalities for sums of bounded random
variables", JASA 58, Thm 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rl_planners.mdp import TabularMDP
from rl_planners.mdp.checks import read_only_copy
from rl_planners.mdp.samples import check_delta, weissman_l1_radius
from rl_planners.validation import check_gamma, check_policy

__all__ = ["EstimatedModel"]


@dataclass(frozen=True, eq=False)
class EstimatedModel:
    """A certainty-equivalence model and the sample statistics behind it.

    Attributes
    ----------
    mdp : TabularMDP
        The empirical model (see :func:`count_transitions`).
    counts : numpy.ndarray
        ``[S, A]`` int64, the number of samples of each pair.
    visited : numpy.ndarray
        ``[S, A]`` bool, ``counts > 0``; the other pairs follow the ``unvisited`` rule.
    n_samples : int
    reward_range : tuple of float
        The smallest and largest sampled reward.
    unvisited : str
        The rule the unvisited pairs follow.
    """

    mdp: TabularMDP
    counts: np.ndarray = field(repr=False)
    visited: np.ndarray = field(repr=False)
    n_samples: int = 0
    reward_range: tuple[float, float] = (0.0, 0.0)
    unvisited: str = "self_loop"

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", read_only_copy(self.counts))
        object.__setattr__(self, "visited", read_only_copy(self.visited))

    def l1_radius(self, delta: float) -> np.ndarray:
        r"""``[S, A]`` the Weissman L1 radius of each pair's outcome distribution.

        With probability at least ``1 − δ`` (for each pair on its own),
        ``Σ_{s'} |P̂_cont(s'|s,a) − P_cont(s'|s,a)| + |P̂(end|s,a) − P(end|s,a)|
        < l1_radius(δ)[s, a]``: the distribution over the ``k = S + 1``
        outcomes that matter for values (continue to one of the ``S`` states,
        or end the episode). See :func:`weissman_l1_radius`; 2 for unvisited
        pairs. Valid when the ``n(s, a)`` samples of a pair are i.i.d. draws
        for a fixed ``n(s, a)``, as :func:`estimate_model` takes them.
        """
        return weissman_l1_radius(self.counts, delta, n_outcomes=self.mdp.n_states + 1)

    def value_error_bound(
        self,
        policy: Any,
        gamma: float,
        delta: float,
        reward_range: tuple[float, float] | None = None,
    ) -> float:
        r"""A bound on ``‖V^π − V̂^π‖∞`` (true against estimated model) that holds w.p. ≥ 1 − δ.

        Parameters
        ----------
        policy : array_like
            Deterministic ``(S,)`` int or stochastic ``(S, A)`` float; it may
            depend on the samples (e.g. planned on :attr:`mdp`).
        gamma : float
            Discount in [0, 1).
        delta : float
            Failure probability in (0, 1), shared by all pairs and all policies.
        reward_range : (float, float), optional
            ``(r_min, r_max)``, bounds on every per-step reward of the true
            model (FrozenLake: ``(0, 1)``). Default: the sampled range, which
            is a bound only if no reward outside it is possible.

        Returns
        -------
        float
            ``inf`` if ``π`` takes an unvisited pair with positive probability
            (its model is a rule, not an estimate).

        Raises
        ------
        ValueError
            Bad policy, ``gamma`` not in [0, 1), ``delta`` not in (0, 1), or a
            reward range that is not finite or misses a sampled reward.

        Notes
        -----
        The simulation lemma (Agarwal et al. 2019, Lemma 2.2; Kearns & Singh
        2002, Lemma 4), with expected rewards: for any policy ``π``,
        ``V^π − V̂^π = (I − γ P̂_π)^{-1} [(R_π − R̂_π) + γ (P_π − P̂_π) V^π]``,
        where ``P`` runs over the ``S + 1`` outcomes (the end of the episode
        has value 0), ``‖(I − γ P̂_π)^{-1}‖∞ ≤ 1/(1−γ)`` and
        ``‖V^π‖∞ ≤ R_max/(1−γ)`` with ``R_max = max(|r_min|, |r_max|)``. With
        ``ε_P(s,a)`` the Weissman radius (:meth:`l1_radius`) and
        ``ε_R(s,a) = min(1, sqrt(ln(2/δ') / (2 n(s,a)))) (r_max − r_min)``
        Hoeffding's bound on ``|R̂ − R|``, both at ``δ' = δ / (2 S A)`` (a union
        bound over both and all pairs, so it holds for every policy at once):

        ``‖V^π − V̂^π‖∞ ≤ max_s Σ_a π(a|s) [ε_R(s,a)/(1−γ) + γ R_max ε_P(s,a)/(1−γ)²]``.

        For a deterministic policy this is ``max_s [ε_R(s, π(s))/(1−γ) +
        γ R_max ε_P(s, π(s))/(1−γ)²]``. The guarantee needs i.i.d. samples of
        a fixed number per pair (a generative model, :func:`estimate_model`);
        for trajectories of one behaviour policy it is an estimate only.

        References
        ----------
        Agarwal, Jiang, Kakade & Sun (2019), "Reinforcement Learning: Theory
        and Algorithms", Lemma 2.2; Kearns & Singh (2002), Lemma 4;
        Weissman et al. (2003), Thm 2.1; Hoeffding (1963), Thm 2.
        """
        mdp = self.mdp
        pi = check_policy(mdp, policy)
        gamma = check_gamma(gamma)
        if gamma >= 1.0:
            raise ValueError(
                f"value_error_bound needs gamma < 1 (the bound grows as 1/(1-gamma)^2), "
                f"got {gamma!r}"
            )
        delta = check_delta(delta)
        r_min, r_max = self._reward_bounds(reward_range)
        if pi.ndim == 1:
            weights = np.zeros((mdp.n_states, mdp.n_actions))
            weights[np.arange(mdp.n_states), pi] = 1.0
        else:
            weights = pi
        uses = weights > 0.0
        if np.any(uses & ~self.visited):
            return math.inf
        pair_delta = delta / (2 * mdp.n_states * mdp.n_actions)
        eps_P = self.l1_radius(pair_delta)  # [S, A]
        with np.errstate(divide="ignore"):
            eps_R = (r_max - r_min) * np.minimum(
                1.0, np.sqrt(math.log(2.0 / pair_delta) / (2.0 * self.counts))
            )  # [S, A]
        reward_scale = max(abs(r_min), abs(r_max))
        per_pair = eps_R / (1.0 - gamma) + gamma * reward_scale * eps_P / (1.0 - gamma) ** 2
        per_pair = np.where(uses, per_pair, 0.0)  # unvisited pairs π never takes
        return float((weights * per_pair).sum(axis=1).max())

    def _reward_bounds(self, reward_range: Any) -> tuple[float, float]:
        if reward_range is None:
            return self.reward_range
        try:
            r_min, r_max = (float(x) for x in reward_range)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"reward_range must be a pair (r_min, r_max) of numbers, got {reward_range!r}"
            ) from error
        seen_min, seen_max = self.reward_range
        if not (math.isfinite(r_min) and math.isfinite(r_max) and r_min <= r_max):
            raise ValueError(
                f"reward_range must be finite with r_min <= r_max, got {reward_range!r}"
            )
        if seen_min < r_min or seen_max > r_max:
            raise ValueError(
                f"reward_range {reward_range!r} must contain every sampled reward; "
                f"the samples range over [{seen_min!r}, {seen_max!r}]"
            )
        return r_min, r_max
