"""Helpers for the CLIP-RL book: one module per chapter idea.

Importing the package registers the ``cliprl/GoalGrid-v0`` gymnasium environment and pins
torch to one thread per process (:mod:`cliprl_helpers.threads`; ``CLIPRL_TORCH_THREADS``
overrides it) and keeps large temporaries on the heap (:mod:`cliprl_helpers.allocator`).
"""

from .allocator import keep_on_heap
from .colour_world import COLOUR_ENV_ID, ColourWorldEnv, register_colour_world
from .envs import ENV_ID, BatchedGoalGrid, GoalGridEnv, GoalGridVectorEnv, register_envs
from .threads import pin_threads

pin_threads()
keep_on_heap()

register_envs()
register_colour_world()

__all__ = ["COLOUR_ENV_ID", "ColourWorldEnv", "ENV_ID", "BatchedGoalGrid", "GoalGridEnv",
           "GoalGridVectorEnv", "pin_threads", "register_envs"]
__version__ = "0.1.0"
