"""The TabularEnv base: sampling, the lazy ``P``, errors, rendering, registration."""

from __future__ import annotations

import ast
import importlib
import pathlib
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs import GridWorldEnv, TabularEnv
from rl_planners import TabularMDP

ROOT = pathlib.Path(envs.__file__).resolve().parent.parent


def two_state_mdp() -> TabularMDP:
    """State 0: action 0 stays (reward 1); action 1 has a probability-0 outcome,
    then 0.25 to state 1 (terminating, reward 5) and 0.75 back to 0 (reward -1)."""
    return TabularMDP.from_transitions(
        {
            0: {
                0: [(1.0, 0, 1.0, False)],
                1: [(0.0, 1, 99.0, False), (0.25, 1, 5.0, True), (0.75, 0, -1.0, False)],
            },
            1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 1, 0.0, True)]},
        },
        initial_distribution=[1.0, 0.0],
    )


def test_spaces_and_attributes_come_from_the_model() -> None:
    mdp = two_state_mdp()
    env = TabularEnv(mdp)
    assert env.observation_space == gym.spaces.Discrete(2)
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.mdp is mdp
    np.testing.assert_array_equal(env.initial_state_distrib, [1.0, 0.0])


def test_P_is_built_on_first_access_and_cached() -> None:
    env = TabularEnv(two_state_mdp())
    assert "P" not in vars(env)
    P = env.P
    assert env.P is P
    assert P[0][1] == [(0.0, 1, 99.0, False), (0.25, 1, 5.0, True), (0.75, 0, -1.0, False)]


def test_step_follows_the_sampled_outcome_and_never_a_zero_probability_one() -> None:
    env = TabularEnv(two_state_mdp())
    assert env.reset(seed=0) == (0, {"prob": 1.0})
    seen = set()
    for _ in range(400):
        env.s = 0
        obs, reward, terminated, truncated, info = env.step(1)
        seen.add((obs, reward, terminated, info["prob"]))
        assert truncated is False
    assert seen == {(1, 5.0, True, 0.25), (0, -1.0, False, 0.75)}
    assert env.s in (0, 1) and env.lastaction == 1


def test_a_numpy_integer_action_is_accepted() -> None:
    env = TabularEnv(two_state_mdp())
    env.reset(seed=0)
    assert env.step(np.int64(0))[:3] == (0, 1.0, False)


@pytest.mark.parametrize("action", [-1, 2, 0.5, "0", None, True])
def test_an_invalid_action_is_refused(action) -> None:
    env = TabularEnv(two_state_mdp())
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in 0\.\.1, got"):
        env.step(action)


def test_step_before_reset_is_refused() -> None:
    with pytest.raises(gym.error.ResetNeeded, match="reset"):
        TabularEnv(two_state_mdp()).step(0)


def test_an_unknown_render_mode_is_refused() -> None:
    with pytest.raises(ValueError, match=r"render_mode must be one of .*'human'"):
        TabularEnv(two_state_mdp(), render_mode="human")
    with (
        pytest.warns(UserWarning, match="not in the possible render_modes"),
        pytest.raises(ValueError, match="render_mode must be one of"),
    ):
        gym.make("rl_planners/GamblersProblem-v0", render_mode="rgb_array")


def test_a_model_that_is_not_a_TabularMDP_is_refused() -> None:
    with pytest.raises(TypeError, match="mdp must be a TabularMDP, got dict"):
        TabularEnv({0: {0: [(1.0, 0, 0.0, True)]}})


def test_render_without_a_mode_warns_and_returns_none() -> None:
    env = TabularEnv(two_state_mdp())
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert env.render() is None


def test_ansi_frames_name_the_state_and_the_last_action() -> None:
    env = TabularEnv(two_state_mdp(), render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "state 0\n"
    env.step(0)
    assert env.render() == "state 0  (action 0)\n"


def test_grid_frames_highlight_the_agent() -> None:
    env = GridWorldEnv(render_mode="ansi", desc=["S.", ".G"])
    env.reset(seed=0)
    env.step(2)  # right
    assert (
        env.render() == "  (Right)\nS" + gym.utils.colorize(".", "red", highlight=True) + "\n.G\n"
    )


def test_grid_images_draw_the_agent_in_its_cell() -> None:
    env = GridWorldEnv(render_mode="rgb_array", desc=["S..", "#.G"])
    env.reset(seed=0)
    env.step(2)  # right, to row 0 column 1
    image = env.render()
    assert image.dtype == np.uint8 and image.shape == (2 * 32, 3 * 32, 3)
    red = (image[:, :, 0] > 200) & (image[:, :, 1] < 80) & (image[:, :, 2] < 80)
    rows, cols = np.nonzero(red)
    assert (rows // 32 == 0).all() and (cols // 32 == 1).all() and red.sum() > 50
    wall = image[32 + 16, 16]
    assert (wall < 100).all()  # the wall cell is dark


def test_the_fast_path_of_from_env_sees_the_model_through_wrappers() -> None:
    env = gym.make("rl_planners/SuttonBarto4x4-v0")
    assert TabularMDP.from_env(env) is env.unwrapped.mdp


def test_make_with_the_module_prefix_works_in_a_fresh_interpreter() -> None:
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('envs:rl_planners/GridWorld-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(type(env.unwrapped).__name__, env.spec.max_episode_steps, obs)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["GridWorldEnv", "100", "0"]


def test_importing_again_registers_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(envs)
    assert gym.spec("rl_planners/GridWorld-v0").entry_point == "envs.gridworld:GridWorldEnv"


def test_envs_imports_only_the_model_from_rl_planners() -> None:
    """DESIGN.md: data flows env -> model -> math; envs never imports solvers or agents."""
    allowed = {"rl_planners.mdp", "rl_planners.errors"}
    for path in sorted((ROOT / "envs").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "rl_planners":
                    assert name in allowed, f"{path.name} imports {name}"


ENV_CLASSES = [
    envs.GridWorldEnv,
    envs.SuttonBarto4x4Env,
    envs.SuttonBarto5x5Env,
    envs.GamblersProblemEnv,
    envs.JacksCarRentalEnv,
    envs.WindyGridWorldEnv,
    envs.ForestManagementEnv,
    envs.GarnetEnv,
]


def test_every_registered_id_makes_one_of_these_classes() -> None:
    made = {type(gym.make(env_id).unwrapped) for env_id in envs.ENV_IDS}
    assert made == set(ENV_CLASSES)


@pytest.mark.parametrize("env_class", ENV_CLASSES)
def test_every_env_documents_its_spaces_dynamics_rewards_and_source(env_class) -> None:
    doc = env_class.__doc__
    for section in (
        "## Action Space",
        "## Observation Space",
        "## Transitions",
        "## Rewards",
        "## Starting State",
        "## Episode End",
        "## Arguments",
        "## Version History",
    ):
        assert section in doc, f"{env_class.__name__} lacks {section}"
    assert "## References" in doc or "## Example" in doc
