"""Plots: each renders to a PNG of the expected size with the Agg backend."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest

from rl_planners import (
    TabularMDP,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from rl_planners.interface.display import action_arrows, grid_shape, terminal_states

WIDTH_IN, HEIGHT_IN, DPI = 6.0, 4.0, 50


@pytest.fixture(scope="module")
def matplotlib():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


@pytest.fixture(scope="module")
def frozen_lake():
    env = gym.make("FrozenLake-v1")
    mdp = TabularMDP.from_env(env)
    return env, mdp, value_iteration(mdp, 0.99)


def _figure():
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)


def _assert_png_of_expected_size(path, matplotlib):
    import matplotlib.image

    assert path.stat().st_size > 0
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (int(HEIGHT_IN * DPI), int(WIDTH_IN * DPI))
    # Not a blank canvas: the plot put several distinct colours on it.
    colours = np.unique(image.reshape(-1, image.shape[-1]), axis=0)
    assert len(colours) > 10


# --------------------------------------------------------------- value heatmap
def test_value_heatmap_png(matplotlib, frozen_lake, tmp_path):
    from rl_planners.interface.plots import value_heatmap

    env, mdp, result = frozen_lake
    figure = _figure()
    ax = value_heatmap(
        result.V,
        result.policy,
        grid_shape(env),
        action_arrows(env),
        ax=figure.add_subplot(),
        terminal=terminal_states(mdp),
    )
    path = tmp_path / "heatmap.png"
    figure.savefig(path)
    _assert_png_of_expected_size(path, matplotlib)
    # The picture shows V cell by cell: image row r, column c holds V[r * 4 + c].
    np.testing.assert_array_equal(ax.images[0].get_array(), result.V.reshape(4, 4))


def test_value_heatmap_draws_one_arrow_per_state_in_the_envs_order(matplotlib):
    from rl_planners.interface.plots import value_heatmap

    env = gym.make("CliffWalking-v1")
    mdp = TabularMDP.from_env(env)
    result = value_iteration(mdp, 1.0)
    ax = value_heatmap(
        result.V, result.policy, grid_shape(env), action_arrows(env), ax=_figure().add_subplot()
    )
    arrows = {
        (round(t.get_position()[1]), t.get_position()[0]): t.get_text()
        for t in ax.texts
        if t.get_text() in "↑→↓←"
    }
    assert len(arrows) == 48
    # Sutton & Barto (2018), Example 6.6: up from the start, right along the cliff edge.
    assert arrows[(3, 0)] == "↑"
    assert [arrows[(2, col)] for col in range(12)] == ["→"] * 11 + ["↓"]


def test_value_heatmap_on_a_new_pyplot_figure(matplotlib, frozen_lake):
    import matplotlib.pyplot as plt

    from rl_planners.interface.plots import value_heatmap

    _, _, result = frozen_lake
    ax = value_heatmap(result.V, None, (4, 4), annotate=False)
    try:
        assert ax.figure in map(plt.figure, plt.get_fignums())
        assert len(ax.texts) == 0
    finally:
        plt.close(ax.figure)


def test_value_heatmap_rejects_a_shape_that_does_not_fit(matplotlib, frozen_lake):
    from rl_planners.interface.plots import value_heatmap

    _, _, result = frozen_lake
    with pytest.raises(ValueError, match="one value per cell of the 3x5 grid"):
        value_heatmap(result.V, result.policy, (3, 5), ax=_figure().add_subplot())


# ------------------------------------------------------------ convergence plot
def test_convergence_plot_png(matplotlib, frozen_lake, tmp_path):
    from rl_planners.interface.plots import convergence_plot

    _, mdp, result = frozen_lake
    results = {
        "value iteration": result,
        "policy iteration": policy_iteration(mdp, 0.99),
        "modified policy iteration": modified_policy_iteration(mdp, 0.99),
    }
    figure = _figure()
    ax = convergence_plot(results, ax=figure.add_subplot())
    path = tmp_path / "convergence.png"
    figure.savefig(path)
    _assert_png_of_expected_size(path, matplotlib)
    assert ax.get_yscale() == "log"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == list(results)
    for line, named in zip(ax.get_lines(), results.values(), strict=True):
        x, y = line.get_data()
        np.testing.assert_array_equal(x, np.arange(1, named.iterations + 1))
        positive = named.residuals > 0
        np.testing.assert_array_equal(y[positive], named.residuals[positive])
        assert np.isnan(y[~positive]).all()  # zeros have no place on a log scale


def test_convergence_plot_of_one_result_and_of_a_list(matplotlib, frozen_lake):
    from rl_planners.interface.plots import convergence_plot

    _, _, result = frozen_lake
    ax = convergence_plot(result, ax=_figure().add_subplot())
    assert len(ax.get_lines()) == 1
    assert ax.get_legend() is None
    ax = convergence_plot([result, result], ax=_figure().add_subplot())
    assert len(ax.get_lines()) == 2


@pytest.mark.parametrize(
    ("results", "error", "match"),
    [
        ({}, ValueError, "results is empty"),
        ("vi", TypeError, "must be a PlanningResult"),
        ({"vi": 3}, TypeError, r"results\['vi'\] must be a PlanningResult"),
    ],
)
def test_convergence_plot_rejects_bad_results(matplotlib, results, error, match):
    from rl_planners.interface.plots import convergence_plot

    with pytest.raises(error, match=match):
        convergence_plot(results, ax=_figure().add_subplot())


# ---------------------------------------------------------- without matplotlib
def test_missing_matplotlib_says_what_to_install(monkeypatch, frozen_lake):
    from rl_planners.interface import plots

    for name in [name for name in sys.modules if name.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    _, _, result = frozen_lake
    with pytest.raises(ImportError, match=r'pip install "rl_planners\[plot\]"'):
        plots.require_matplotlib()
    with pytest.raises(ImportError, match=r'pip install "rl_planners\[plot\]"'):
        plots.convergence_plot(result)


# ------------------------------------------------------------- whole figures
@pytest.mark.parametrize(
    ("env_id", "size"),
    [("FrozenLake-v1", (1100, 450)), ("CliffWalking-v1", (1100, 450)), ("Taxi-v4", (600, 400))],
)
def test_solution_figure_png(matplotlib, tmp_path, env_id, size):
    from rl_planners.interface.plots import solution_figure

    env = gym.make(env_id)
    result = value_iteration(TabularMDP.from_env(env), 0.99)
    figure = solution_figure(env, result, "value iteration")
    path = tmp_path / "solution.png"
    figure.savefig(path)
    image = matplotlib.image.imread(path)
    assert (image.shape[1], image.shape[0]) == size
    assert len(figure.axes) == (1 if env_id == "Taxi-v4" else 3)  # heatmap, colorbar, residuals


def test_solution_figure_of_the_model_and_its_layout(matplotlib, tmp_path):
    from rl_planners.interface.display import Layout
    from rl_planners.interface.plots import solution_figure

    env = gym.make("CliffWalking-v1")
    mdp = TabularMDP.from_env(env)
    result = value_iteration(mdp, 0.99)
    figure = solution_figure(mdp, result, "value iteration", layout=Layout.of(env))
    assert len(figure.axes) == 3  # heatmap, colorbar, residuals
    assert figure.axes[0].get_title() == "CliffWalking-v1: V and the greedy policy"
    alone = solution_figure(mdp, result, "value iteration")  # no layout: no grid to draw
    assert len(alone.axes) == 1


def test_convergence_figure_png(matplotlib, frozen_lake, tmp_path):
    from rl_planners.interface.plots import convergence_figure

    _, _, result = frozen_lake
    path = tmp_path / "convergence.png"
    convergence_figure({"vi": result}).savefig(path)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (400, 600)


README_SNIPPET = """\
import gymnasium as gym
from rl_planners import ValueIterationAgent
from rl_planners.interface.plots import solution_figure

env = gym.make("FrozenLake-v1")
agent = ValueIterationAgent(env, gamma=0.99)
solution_figure(env, agent.result, "value iteration").savefig("frozenlake.png")
"""
"""The README's Python snippet for the picture, run as it is written there."""


def test_readme_snippet(matplotlib, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(README_SNIPPET, {})
    image = matplotlib.image.imread(tmp_path / "frozenlake.png")
    assert image.shape[:2] == (450, 1100)
