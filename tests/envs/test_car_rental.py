"""JacksCarRental-v0 against a loop-by-loop transcription of Sutton & Barto's Example 4.2.

The reference follows the structure of the program the book's author
published for Figure 4.2 (per-location tables ``P_i(morning cars, evening
cars)`` and expected rental income ``R_i(morning cars)``, combined per state
and move), with plain Python loops over requests and returns and a Poisson
tail far beyond any mass that matters, so it shares no code with the env.
With ``poisson_terms=11`` the same loops stop where the widely used Python
reproduction (ShangtongZhang/reinforcement-learning-an-introduction,
``chapter04/car_rental.py``, ``POISSON_UPPER_BOUND = 11``) stops, without
renormalising: the model of ``poisson_upper_bound=11``.
"""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from envs_reference import (
    JACKS_GAMMA,
    JACKS_POLICY_CELLS,
    JACKS_POLICY_MOVES,
    JACKS_TRUNCATED_V_STAR_RANGE,
    JACKS_V_STAR_LOWER_LABEL,
    JACKS_V_STAR_RANGE,
    JACKS_V_STAR_UPPER_LABEL,
)
from gymnasium.utils.env_checker import check_env
from independent import dense_model, dense_value_iteration

import envs  # noqa: F401  (registers the ids)
from envs import JacksCarRentalEnv
from rl_planners import TabularMDP, policy_iteration
from rl_planners import value_iteration as solve

DEFAULTS = {
    "max_cars": 20,
    "max_move": 5,
    "rental_reward": 10.0,
    "move_cost": 2.0,
    "request_means": (3.0, 4.0),
    "return_means": (3.0, 2.0),
}
POISSON_TERMS = 80  # P(X >= 80) < 1e-60 for the means used here
TRUNCATED_TERMS = 11  # the reproduction's POISSON_UPPER_BOUND


def poisson(n: int, mean: float) -> float:
    return math.exp(-mean) * mean**n / math.factorial(n)


def location_tables(
    max_cars, max_morning, rental_reward, request_mean, return_mean, terms=POISSON_TERMS
):
    """``P[m][n]`` and ``R[m]`` for ``m = 0..max_morning`` cars in the morning.

    Requests and returns run over ``0..terms-1``; whatever lies beyond is
    dropped, so with few terms the rows of ``P`` sum to less than 1 and ``R``
    counts only the income of the kept (requests, returns) pairs.
    """
    P = [[0.0] * (max_cars + 1) for _ in range(max_morning + 1)]
    R = [0.0] * (max_morning + 1)
    for requests in range(terms):
        p_request = poisson(requests, request_mean)
        for returns in range(terms):
            p = p_request * poisson(returns, return_mean)
            for m in range(max_morning + 1):
                rented = min(requests, m)
                P[m][min(m - rented + returns, max_cars)] += p
                R[m] += p * rental_reward * rented
    return np.array(P), np.array(R)


def book_model(
    max_cars,
    max_move,
    rental_reward,
    move_cost,
    request_means,
    return_means,
    cap_after_move=True,
    poisson_terms=POISSON_TERMS,
):
    """Dense ``T[s, a, s']`` and ``R[s, a]`` of the book's problem, states ``n1 * (M+1) + n2``.

    A move is clipped to the cars available. With ``cap_after_move`` a location
    keeps at most ``max_cars`` after the move (the book's text: extra cars
    disappear); without it, as in the author's program, up to
    ``max_cars + max_move`` cars start the day and the cap applies at night.
    With few ``poisson_terms`` the rows of ``T`` sum to less than 1 (the
    dropped mass has no future) and the move is paid in full.
    """
    size = max_cars + 1
    max_morning = max_cars if cap_after_move else max_cars + max_move
    P1, R1 = location_tables(
        max_cars, max_morning, rental_reward, request_means[0], return_means[0], poisson_terms
    )
    P2, R2 = location_tables(
        max_cars, max_morning, rental_reward, request_means[1], return_means[1], poisson_terms
    )
    n_actions = 2 * max_move + 1
    T = np.zeros((size * size, n_actions, size * size))
    R = np.zeros((size * size, n_actions))
    for n1 in range(size):
        for n2 in range(size):
            for a in range(n_actions):
                moved = max(-n2, min(a - max_move, n1))
                m1, m2 = n1 - moved, n2 + moved
                if cap_after_move:
                    m1, m2 = min(m1, max_cars), min(m2, max_cars)
                s = n1 * size + n2
                T[s, a] = np.outer(P1[m1], P2[m2]).ravel()
                # Income at one location counts when the other's outcome is kept too.
                income = R1[m1] * P2[m2].sum() + R2[m2] * P1[m1].sum()
                R[s, a] = income - move_cost * abs(moved)
    return T, R


def moves(policy: np.ndarray, max_cars: int = 20, max_move: int = 5) -> np.ndarray:
    """``[n1, n2]`` the cars a policy really moves (actions clipped to the cars available)."""
    n1, n2 = np.divmod(np.arange((max_cars + 1) ** 2), max_cars + 1)
    return np.clip(policy - max_move, -n2, n1).reshape(max_cars + 1, max_cars + 1)


@pytest.fixture(scope="module")
def book() -> tuple[np.ndarray, np.ndarray]:
    return book_model(**DEFAULTS)


@pytest.fixture(scope="module")
def book_v_star(book) -> np.ndarray:
    return dense_value_iteration(*book, JACKS_GAMMA)


@pytest.fixture(scope="module")
def truncated_book() -> tuple[np.ndarray, np.ndarray]:
    return book_model(**DEFAULTS, poisson_terms=TRUNCATED_TERMS)


@pytest.fixture(scope="module")
def env() -> JacksCarRentalEnv:
    return gym.make("rl_planners/JacksCarRental-v0").unwrapped


@pytest.fixture(scope="module")
def truncated_env() -> JacksCarRentalEnv:
    return gym.make("rl_planners/JacksCarRental-v0", poisson_upper_bound=TRUNCATED_TERMS).unwrapped


@pytest.fixture(scope="module")
def solution(env):
    return solve(TabularMDP.from_env(env), JACKS_GAMMA, tol=1e-8)


@pytest.fixture(scope="module")
def truncated_solution(truncated_env):
    return solve(TabularMDP.from_env(truncated_env), JACKS_GAMMA, tol=1e-8)


def test_the_model_is_the_books(env, book) -> None:
    T_ref, R_ref = book
    T, R = dense_model(env.P)
    np.testing.assert_allclose(T, T_ref, atol=1e-14)
    np.testing.assert_allclose(R, R_ref, atol=1e-11)
    assert not env.mdp.terminated.any()
    assert env.poisson_upper_bound is None


OTHER_OPTIONS = {
    "max_cars": 6,
    "max_move": 2,
    "rental_reward": 7.0,
    "move_cost": 1.5,
    "request_means": (1.5, 2.5),
    "return_means": (2.0, 0.5),
}


def test_other_parameters_reach_the_model() -> None:
    T, R = dense_model(JacksCarRentalEnv(**OTHER_OPTIONS).P)
    T_ref, R_ref = book_model(**OTHER_OPTIONS)
    np.testing.assert_allclose(T, T_ref, atol=1e-14)
    np.testing.assert_allclose(R, R_ref, atol=1e-12)


@pytest.mark.parametrize("bound", [1, 4, 7, 11])  # below, at and beyond max_cars + 1 = 7
def test_other_parameters_with_a_poisson_upper_bound(bound) -> None:
    T, R = dense_model(JacksCarRentalEnv(**OTHER_OPTIONS, poisson_upper_bound=bound).P)
    T_ref, R_ref = book_model(**OTHER_OPTIONS, poisson_terms=bound)
    np.testing.assert_allclose(T, T_ref, atol=1e-14)
    np.testing.assert_allclose(R, R_ref, atol=1e-12)


def test_optimal_values_and_policy_of_figure_4_2(solution, book_v_star) -> None:
    np.testing.assert_allclose(solution.V, book_v_star, atol=1e-6)
    # Figure 4.2: the surface of v* is labelled 420 at its bottom, and this model's
    # minimum is 421.4 at (0, 0); its top label, 612, is not what the book's model
    # gives: 637.0 at 20 cars in each location (see envs_reference).
    assert solution.V.min() == pytest.approx(JACKS_V_STAR_LOWER_LABEL, abs=2.0)
    assert (solution.V.min(), solution.V.max()) == pytest.approx(JACKS_V_STAR_RANGE, abs=0.01)
    assert solution.V.max() > JACKS_V_STAR_UPPER_LABEL + 20
    moved = moves(solution.policy)
    assert sorted(set(moved.ravel().tolist())) == list(JACKS_POLICY_MOVES)
    for (n1, n2), cars in JACKS_POLICY_CELLS.items():
        assert moved[n1, n2] == cars, (n1, n2)


def test_policy_iteration_from_never_moving_stops_at_pi_4(env, solution) -> None:
    # Figure 4.2 shows π0 (never move) .. π4, and π4 is the last: five evaluations.
    never_move = np.full(env.observation_space.n, 5)
    result = policy_iteration(TabularMDP.from_env(env), JACKS_GAMMA, policy0=never_move)
    assert result.converged and result.iterations == 5
    np.testing.assert_array_equal(moves(result.policy), moves(solution.policy))


def test_poisson_upper_bound_is_the_truncated_model_of_the_reproduction(
    truncated_env, truncated_book
) -> None:
    T_ref, R_ref = truncated_book
    T, R = dense_model(truncated_env.P)
    np.testing.assert_allclose(T, T_ref, atol=1e-14)
    np.testing.assert_allclose(R, R_ref, atol=1e-11)
    # The dropped mass is one terminating outcome per pair: the same in every row,
    # 1 - P(requests < 11) P(returns < 11) at both locations, paying for the move.
    kept = math.prod(
        sum(poisson(n, mean) for n in range(TRUNCATED_TERMS)) for mean in (3.0, 4.0, 3.0, 2.0)
    )
    mdp = truncated_env.mdp
    assert mdp.terminated.sum() == mdp.n_states * mdp.n_actions
    np.testing.assert_allclose(mdp.prob[mdp.terminated], 1.0 - kept, rtol=1e-9)
    assert 0.0033 < 1.0 - kept < 0.0035
    n1, n2 = np.divmod(np.arange(441), 21)
    moved = np.clip(np.arange(11)[None, :] - 5, -n2[:, None], n1[:, None])
    np.testing.assert_array_equal(mdp.reward[mdp.terminated].reshape(441, 11), -2.0 * abs(moved))


def test_truncated_values_miss_both_labels_of_figure_4_2(
    truncated_solution, truncated_book, solution
) -> None:
    V_ref = dense_value_iteration(*truncated_book, JACKS_GAMMA)
    np.testing.assert_allclose(truncated_solution.V, V_ref, atol=1e-6)
    V = truncated_solution.V
    assert (V.min(), V.max()) == pytest.approx(JACKS_TRUNCATED_V_STAR_RANGE, abs=0.01)
    assert V.min() < JACKS_V_STAR_LOWER_LABEL - 10 and V.max() > JACKS_V_STAR_UPPER_LABEL + 4
    # Same shape of policy: the moves -4..5 and the figure's cells; 11 states on the
    # borders between regions move one car fewer towards their side than the exact optimum.
    moved, exact = moves(truncated_solution.policy), moves(solution.policy)
    assert sorted(set(moved.ravel().tolist())) == list(JACKS_POLICY_MOVES)
    for (n1, n2), cars in JACKS_POLICY_CELLS.items():
        assert moved[n1, n2] == cars, (n1, n2)
    differ = moved != exact
    assert differ.sum() == 11
    np.testing.assert_array_equal(np.abs(moved[differ] - exact[differ]), 1)


def test_check_env_passes_with_a_poisson_upper_bound() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(
            gym.make("rl_planners/JacksCarRental-v0", poisson_upper_bound=TRUNCATED_TERMS).unwrapped
        )


def test_the_authors_uncapped_mornings_give_the_same_optimum(book_v_star) -> None:
    """Cars moved beyond 20 vanish here; the author's program keeps them until night.

    The optimal values agree: moving cars into a full location never pays.
    """
    uncapped = book_model(**DEFAULTS, cap_after_move=False)
    np.testing.assert_allclose(
        dense_value_iteration(*uncapped, JACKS_GAMMA), book_v_star, atol=1e-6
    )


def test_moves_are_clipped_to_the_cars_available(env) -> None:
    T, R = dense_model(env.P)
    state = 2 * 21 + 7  # 2 cars at the first location, 7 at the second
    # Actions +2..+5 all move 2 cars; -5 moves 5 back.
    for a in (7, 8, 9, 10):
        np.testing.assert_array_equal(T[state, a], T[state, 7])
        assert R[state, a] == R[state, 7]
    assert R[state, 0] < R[state, 5]


def outcome_rewards(env: JacksCarRentalEnv, state: int, action: int) -> np.ndarray:
    mdp = env.mdp
    row = state * mdp.n_actions + action
    return mdp.reward[mdp.row_offsets[row] : mdp.row_offsets[row + 1]]


def test_reward_of_an_outcome_is_the_expected_profit_given_the_next_state(env) -> None:
    # From (0, 0) nothing can be rented: every outcome earns 0, and moving costs nothing.
    assert set(outcome_rewards(env, 0, 5)) == set(outcome_rewards(env, 0, 10)) == {0.0}
    # From (20, 20) without a move: income only, at most 10 per car.
    rewards = outcome_rewards(env, 440, 5)
    assert 0 < rewards.min() and rewards.max() <= 400
    # Ending the day with 0 cars at both means every morning car was rented.
    assert outcome_rewards(env, 440, 5)[0] == pytest.approx(400.0)
    # Moving 3 cars from (10, 10) starts the day as (7, 13) does, 6 poorer on every outcome.
    np.testing.assert_allclose(
        outcome_rewards(env, 10 * 21 + 10, 8) + 6.0, outcome_rewards(env, 7 * 21 + 13, 5)
    )


def test_the_text_frame_names_both_locations(env) -> None:
    frame_env = JacksCarRentalEnv(render_mode="ansi", max_cars=3, max_move=1)
    frame_env.reset(seed=0)
    frame_env.s = 2 * 4 + 3
    assert frame_env.render() == "first location: 2 cars, second: 3 cars\n"
    frame_env.step(0)
    assert frame_env.render().endswith("  (move -1)\n")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_cars": 0}, r"max_cars must be at least 1, got 0"),
        ({"max_move": 25}, r"max_move must be at least 0 and at most 20, got 25"),
        ({"request_means": (3.0,)}, r"request_means must be a pair .* got \(3.0,\)"),
        ({"return_means": (3.0, -2.0)}, r"return_means\[1\] must be a non-negative Poisson mean"),
        ({"rental_reward": float("nan")}, r"rental_reward must be finite, got nan"),
        ({"move_cost": "2"}, r"move_cost must be a real number, got '2'"),
        ({"poisson_upper_bound": 0}, r"poisson_upper_bound must be at least 1, got 0"),
        ({"poisson_upper_bound": 10.5}, r"poisson_upper_bound must be an integer, got 10.5"),
        ({"poisson_upper_bound": True}, r"poisson_upper_bound must be an integer, got True"),
    ],
)
def test_bad_options_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        JacksCarRentalEnv(**kwargs)
