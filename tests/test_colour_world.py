"""The colour world: layout, task set, the registered env."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import cliprl_helpers  # noqa: F401
from cliprl_helpers import colour_world


def test_layout_groups_colours_by_quadrant():
    lay = colour_world.layout(10)
    assert len(lay) == 9 and len(set(lay.values())) == 9
    for instr, (r, c) in lay.items():
        colour = instr.split()[-2]
        assert {"red": (r < 5 and c < 5), "blue": (r < 5 and c >= 5),
                "green": (r >= 5 and c < 5)}[colour]
    assert lay["go to the red cone"] == (1, 1)


def test_colour_tasks_hold_out_the_target():
    ts = colour_world.colour_tasks(10, "go to the blue box")
    assert ts.target not in ts.bases and len(ts.bases) == 8
    with pytest.raises(ValueError, match="unknown colour-world instruction"):
        colour_world.colour_tasks(10, "go to the purple cone")
    with pytest.raises(ValueError, match="size >= 8"):
        colour_world.layout(6)


def test_registered_env_passes_check_env():
    env = gym.make("cliprl/ColourWorld-v0", size=10, instruction="go to the green ball",
                   render_mode="ansi")
    check_env(env.unwrapped)
    env.reset(seed=0)
    assert env.unwrapped.goal == colour_world.layout(10)["go to the green ball"]
    assert "GG" in env.render()
