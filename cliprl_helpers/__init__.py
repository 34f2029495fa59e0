"""Helpers for the CLIP-RL book: one module per chapter idea.

Importing the package registers the ``cliprl/GoalGrid-v0`` gymnasium environment.
"""

from .colour_world import COLOUR_ENV_ID, ColourWorldEnv, register_colour_world
from .envs import ENV_ID, BatchedGoalGrid, GoalGridEnv, GoalGridVectorEnv, register_envs

register_envs()
register_colour_world()

__all__ = ["COLOUR_ENV_ID", "ColourWorldEnv", "ENV_ID", "BatchedGoalGrid", "GoalGridEnv",
           "GoalGridVectorEnv", "register_envs"]
__version__ = "0.1.0"
