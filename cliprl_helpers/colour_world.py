"""The paper's Figure 1 made real: coloured objects whose colour decides their region (ch. 7).

Nine objects — a red, a blue and a green cone, box and ball — sit on an ``n x n`` grid so that
all red objects share the top-left quadrant, blue the top-right, green the bottom-left. The
instruction ``"go to the <colour> <shape>"`` names an object; its goal is the object's cell.
Language groups "red cone" with "blue cone" (same shape word); the environment groups it with
"red box" and "red ball" (same region). Objects are landmarks only: the agent walks over them.
"""

from __future__ import annotations

from typing import Any

from .envs import GoalGridEnv, render_rgb
from .grid import check_size
from .tasks import TaskSet

COLOURS = ("red", "blue", "green")
SHAPES = ("cone", "box", "ball")
COLOUR_ENV_ID = "cliprl/ColourWorld-v0"
_RGB = {"red": (213, 94, 0), "blue": (0, 114, 178), "green": (0, 158, 115)}


def instruction(colour: str, shape: str) -> str:
    return f"go to the {colour} {shape}"


def layout(size: int) -> dict[str, tuple[int, int]]:
    """``{instruction: cell}`` of the nine objects on an ``size x size`` grid (size >= 8)."""
    size = check_size(size)
    if size < 8:
        raise ValueError(f"the colour world needs a grid size >= 8, got {size}")
    q = size // 2
    local = {"cone": (q // 4, q // 4), "box": (q // 4, (3 * q) // 4),
             "ball": ((3 * q) // 4, q // 2)}
    out = {}
    for colour in COLOURS:
        for shape, (r, c) in local.items():
            if colour == "blue":
                c = size - 1 - c
            elif colour == "green":
                r = size - 1 - r
            out[instruction(colour, shape)] = (r, c)
    return out


def colour_tasks(size: int, target: str = "go to the red cone") -> TaskSet:
    """All objects but ``target`` as bases, ``target`` held out."""
    objects = layout(size)
    if target not in objects:
        raise ValueError(f"unknown colour-world instruction {target!r}: allowed are "
                         f"{', '.join(objects)}")
    bases = {i: g for i, g in objects.items() if i != target}
    return TaskSet(size=size, bases=bases, target=target, target_goal=objects[target],
                   reading="colour_world")


class ColourWorldEnv(GoalGridEnv):
    """:class:`GoalGridEnv` whose goal is the object an instruction names.

    ## Description
    Nine coloured objects (see :func:`layout`); the episode ends when the agent reaches the
    object named by ``instruction``. Objects are not obstacles.

    ## Action Space, Observation Space, Starting State, Reward, Episode End
    As :class:`GoalGridEnv`: ``Discrete(4)`` moves, the cell index as observation, a uniform
    non-goal start, ``-1`` per step, termination at the goal, truncation after ``max_steps``.

    ## Arguments
    * ``size``: grid side, >= 8.
    * ``instruction``: e.g. ``"go to the red cone"``.
    * ``max_steps``, ``render_mode``: as :class:`GoalGridEnv`.

    ## Version History
    * v0: first version.
    """

    def __init__(self, size: int = 10, instruction: str = "go to the red cone",
                 max_steps: int | None = None, render_mode: str | None = None):
        self.objects = layout(size)
        if instruction not in self.objects:
            raise ValueError(f"unknown colour-world instruction {instruction!r}: allowed are "
                             f"{', '.join(self.objects)}")
        self.instruction = instruction
        super().__init__(size, self.objects[instruction], max_steps, render_mode)

    def render(self) -> Any:
        if self.render_mode == "ansi":
            grid = [["." for _ in range(self.size)] for _ in range(self.size)]
            for instr, (r, c) in self.objects.items():
                colour, shape = instr.split()[-2:]
                mark = colour[0].upper() + {"cone": "c", "box": "x", "ball": "o"}[shape]
                grid[r][c] = mark if instr != self.instruction else "GG"
            r, c = self.agent
            grid[r][c] = "AA"
            return "\n".join(" ".join(f"{x:>2}" for x in row) for row in grid) + "\n"
        if self.render_mode == "rgb_array":
            img = render_rgb(self.size, self.goal, self.agent)
            for instr, (r, c) in self.objects.items():
                colour = instr.split()[-2]
                img[r * 16 + 5:r * 16 + 12, c * 16 + 5:c * 16 + 12] = _RGB[colour]
            return img
        return None


def register_colour_world() -> None:
    """Register ``cliprl/ColourWorld-v0`` with gymnasium (idempotent)."""
    import gymnasium as gym

    if COLOUR_ENV_ID not in gym.registry:
        gym.register(id=COLOUR_ENV_ID, entry_point="cliprl_helpers.colour_world:ColourWorldEnv")
