"""Text pictures: grid shapes and arrows per env, value and policy grids, tables."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from reference_values import FROZEN_LAKE_4X4_V_STAR_GAMMA_1

from rl_planners import TabularMDP, value_iteration
from rl_planners.interface.display import (
    CLIFF_WALKING_ARROWS,
    FROZEN_LAKE_ARROWS,
    MAX_LISTED_STATES,
    TERMINAL_MARK,
    Layout,
    action_arrows,
    describe_solution,
    format_policy,
    format_table,
    format_values,
    grid_shape,
    policy_symbols,
    terminal_states,
)

ARROW_VECTORS = {
    "←": (0, -1),
    "↓": (1, 0),
    "→": (0, 1),
    "↑": (-1, 0),
    "↙": (1, -1),
    "↘": (1, 1),
    "↗": (-1, 1),
    "↖": (-1, -1),
}
"""(Δrow, Δcol) each arrow stands for, rows counted downwards."""


def _grid_world(**kwargs):
    gridworld = pytest.importorskip("envs.gridworld")
    return gridworld.GridWorldEnv(**kwargs)


def _windy_king_moves():
    windy = pytest.importorskip("envs.windy")
    return windy.WindyGridWorldEnv(king_moves=True)


# ------------------------------------------------------------- the environment
@pytest.mark.parametrize(
    ("env_id", "kwargs", "shape"),
    [
        ("FrozenLake-v1", {}, (4, 4)),
        ("FrozenLake8x8-v1", {}, (8, 8)),
        ("FrozenLake-v1", {"desc": ["SFF", "FHF", "FFG"]}, (3, 3)),
        ("CliffWalking-v1", {}, (4, 12)),
        ("Taxi-v4", {}, None),
        ("Blackjack-v1", {}, None),
    ],
)
def test_grid_shape_of_gymnasium_envs(env_id, kwargs, shape):
    assert grid_shape(gym.make(env_id, **kwargs)) == shape


def test_grid_shape_of_our_grid_env():
    env = _grid_world(desc=["S..#.", "....G"])
    assert grid_shape(env) == (2, 5)


def test_grid_shape_refuses_a_shape_that_does_not_cover_the_states():
    class Fake:
        observation_space = gym.spaces.Discrete(500)
        nrow, ncol = 5, 5

    assert grid_shape(Fake()) is None


@pytest.mark.parametrize(
    ("make", "arrows"),
    [
        (lambda: gym.make("FrozenLake-v1", is_slippery=False), FROZEN_LAKE_ARROWS),
        (lambda: gym.make("CliffWalking-v1"), CLIFF_WALKING_ARROWS),
        (lambda: _grid_world(desc=["S....", ".....", "....G"]), FROZEN_LAKE_ARROWS),
        (_windy_king_moves, "←↓→↑↙↘↗↖"),
    ],
    ids=["FrozenLake", "CliffWalking", "GridWorld", "WindyKingMoves"],
)
def test_each_arrow_points_where_its_action_moves(make, arrows):
    """From an inner cell, the likeliest next cell of action a lies in arrow a's direction."""
    env = make()
    assert action_arrows(env) == arrows
    n_rows, n_cols = grid_shape(env)
    mdp = TabularMDP.from_env(env)
    P = mdp.to_transitions()
    # An inner cell, from which every move stays on the grid, that is not terminal.
    inner = [row * n_cols + col for row in range(1, n_rows - 1) for col in range(1, n_cols - 1)]
    state = next(s for s in inner if not terminal_states(mdp)[s])
    row, col = divmod(state, n_cols)
    for action, arrow in enumerate(arrows):
        probability = {}
        for prob, next_state, _, _ in P[state][action]:
            probability[next_state] = probability.get(next_state, 0.0) + prob
        likeliest = max(probability, key=probability.get)
        d_row, d_col = ARROW_VECTORS[arrow]
        moved = divmod(likeliest, n_cols)
        # (Windy's wind is 0 in the columns this picks.)
        assert moved == (row + d_row, col + d_col), (arrow, moved)


def test_envs_that_are_not_grids_have_no_arrows():
    assert action_arrows(gym.make("Taxi-v4")) is None


def test_terminal_states_of_frozen_lake_are_its_holes_and_goal():
    env = gym.make("FrozenLake8x8-v1")
    desc = env.unwrapped.desc.astype(str).reshape(-1)
    expected = np.isin(desc, ["H", "G"])
    np.testing.assert_array_equal(terminal_states(TabularMDP.from_env(env)), expected)


def test_cliff_walking_goal_is_not_terminal_in_p():
    # Its goal keeps ordinary moves in P (DESIGN.md, Traps): no state is terminal.
    mdp = TabularMDP.from_env(gym.make("CliffWalking-v1"))
    assert not terminal_states(mdp).any()


# ----------------------------------------------------------------- formatting
def test_format_values_aligns_columns():
    text = format_values(np.array([1.0, -12.5, 0.25, 3.0, 100.0, 0.0]), (2, 3), precision=1)
    assert text == "  1.0  -12.5    0.2\n  3.0  100.0    0.0"


def test_cliff_walking_optimal_policy_picture():
    """Sutton & Barto (2018), Example 6.6: the optimal path runs along the cliff edge."""
    env = gym.make("CliffWalking-v1")
    mdp = TabularMDP.from_env(env)
    result = value_iteration(mdp, 1.0)
    text = format_policy(result.policy, grid_shape(env), action_arrows(env))
    rows = text.splitlines()
    assert len(rows) == 4
    # From the start (bottom left) go up; right along the row above the cliff;
    # down into the goal from the last column.
    assert rows[3].split()[0] == "↑"
    assert rows[2].split() == ["→"] * 11 + ["↓"]


def test_frozen_lake_policy_picture_marks_holes_and_goal():
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_env(env)
    result = value_iteration(mdp, 1.0)
    text = format_policy(result.policy, (4, 4), terminal=terminal_states(mdp))
    cells = [row.split() for row in text.splitlines()]
    desc = env.unwrapped.desc.astype(str)
    for row in range(4):
        for col in range(4):
            is_end = desc[row, col] in "HG"
            assert (cells[row][col] == TERMINAL_MARK) == is_end
    # The optimal action in the start state (γ = 1) is "left": slip down or stay.
    assert cells[0][0] == "←"


def test_format_policy_in_ascii_and_with_indices():
    policy = np.array([0, 1, 2, 3])
    assert format_policy(policy, (2, 2), ascii_only=True) == "< v\n> ^"
    assert format_policy(policy, (1, 4), arrows=None) == "0 1 2 3"


def test_policy_symbols_mark_terminal_states():
    symbols = policy_symbols(np.array([2, 2, 0]), terminal=[False, True, False])
    assert symbols == ["→", TERMINAL_MARK, "←"]


@pytest.mark.parametrize(
    ("policy", "shape", "arrows", "match"),
    [
        (np.array([0, 1, 4, 0]), (2, 2), FROZEN_LAKE_ARROWS, "4 arrows"),
        (np.array([0, 1, 2]), (2, 2), FROZEN_LAKE_ARROWS, "one entry per cell of the 2x2 grid"),
        (np.array([0.5, 1.0]), (1, 2), FROZEN_LAKE_ARROWS, "integer actions"),
    ],
)
def test_format_policy_rejects_bad_input(policy, shape, arrows, match):
    with pytest.raises(ValueError, match=match):
        format_policy(policy, shape, arrows)


def test_format_values_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match="one entry per cell of the 3x3 grid"):
        format_values(np.zeros(4), (3, 3))


def test_format_table_aligns_text_left_and_numbers_right():
    text = format_table(
        ["algorithm", "time", "optimal"],
        [["value iteration", "0.5 ms", "yes"], ["pi", "12.25 ms", "no"]],
    )
    assert text.splitlines() == [
        "algorithm        time      optimal",
        "---------------  --------  -------",
        "value iteration    0.5 ms  yes",
        "pi               12.25 ms  no",
    ]


# ------------------------------------------------------------ whole solutions
def test_describe_solution_of_a_grid_env():
    env = gym.make("FrozenLake-v1")
    result = value_iteration(TabularMDP.from_env(env), 1.0)
    lines = describe_solution(env, result.V, result.policy).splitlines()
    assert lines[0] == "V (state values, as on the map):"
    assert lines[1].split() == ["0.824"] * 4  # Every state of the top row: 14/17.
    assert lines[6] == "policy (greedy action in each state):"
    assert lines[7].split() == ["←", "↑", "↑", "↑"]
    assert lines[-1] == (
        "(← = action 0, ↓ = action 1, → = action 2, ↑ = action 3; · = terminal state)"
    )
    ascii_text = describe_solution(env, result.V, result.policy, ascii_only=True)
    assert ascii_text.isascii()
    assert "(< = action 0, v = action 1, > = action 2, ^ = action 3; . = terminal state)" in (
        ascii_text
    )


def test_describe_solution_of_an_env_that_is_not_a_grid():
    env = gym.make("Taxi-v4")
    mdp = TabularMDP.from_env(env)
    result = value_iteration(mdp, 0.99)
    lines = describe_solution(env, result.V, result.policy).splitlines()
    assert lines[0].split() == ["state", "V", "action"]
    assert len(lines) == 2 + MAX_LISTED_STATES + 2
    state_7 = lines[2 + 7].split()
    assert state_7 == ["7", f"{result.V[7]:.4f}", str(result.policy[7])]
    assert lines[-2] == f"... and {500 - MAX_LISTED_STATES} more states"
    start = float(mdp.initial_distribution @ result.V)
    assert lines[-1].endswith(f"from the initial distribution {start:.4f}")


def test_describe_solution_takes_the_model_and_a_layout_read_once_from_the_env():
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_env(env)
    result = value_iteration(mdp, 1.0)
    layout = Layout.of(env)
    assert layout == Layout((4, 4), "←↓→↑", None, "FrozenLake-v1")
    # the model and the layout draw what the env drew (the env's form is kept)
    drawn = describe_solution(mdp, result.V, result.policy, layout=layout)
    assert drawn == describe_solution(env, result.V, result.policy)
    # a model without a layout is a table of states: the model says nothing of grids
    table = describe_solution(mdp, result.V, result.policy).splitlines()
    assert table[0].split() == ["state", "V", "action"]
    assert table[2].split() == ["0", f"{result.V[0]:.4f}", str(result.policy[0])]


def test_layout_of_our_grid_env_names_its_actions():
    env = _grid_world(desc=["S.", ".G"])
    layout = Layout.of(env)
    assert layout.shape == (2, 2)
    assert layout.action_names == tuple(env.action_name(a) for a in range(env.action_space.n))
    assert Layout.of(gym.make("Taxi-v4")).shape is None


def test_describe_solution_of_a_large_grid_lists_states():
    env = _grid_world(desc=["S" + "." * 49, "." * 49 + "G"])
    result = value_iteration(TabularMDP.from_env(env), 0.9)
    text = describe_solution(env, result.V, result.policy)
    assert text.startswith("(a 2x50 grid: too large to draw)")
    first = text.splitlines()[3].split()  # our envs name their actions
    action = int(result.policy[0])
    assert first == ["0", f"{result.V[0]:.4f}", str(action), f"({env.action_name(action)})"]


README_SNIPPET = """\
import gymnasium as gym
from rl_planners import ValueIterationAgent
from rl_planners.interface.display import describe_solution

env = gym.make("FrozenLake-v1")
agent = ValueIterationAgent(env, gamma=1.0)
print(describe_solution(env, agent.V, agent.policy))
"""
"""The README's Python snippet for text pictures, run as it is written there."""


def test_readme_snippet(capsys):
    exec(README_SNIPPET, {})
    lines = capsys.readouterr().out.splitlines()
    values = np.array([[float(x) for x in row.split()] for row in lines[1:5]])
    np.testing.assert_allclose(values.reshape(-1), FROZEN_LAKE_4X4_V_STAR_GAMMA_1, atol=5e-4)
    assert lines[7:11] == ["← ↑ ↑ ↑", "← · ← ·", "↑ ↓ ← ·", "· → ↓ ·"]
