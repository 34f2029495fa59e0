"""Helpers for the CLIP-RL book: one module per chapter idea.

Importing the package registers the ``cliprl/GoalGrid-v0`` gymnasium environment.
"""

from .envs import ENV_ID, BatchedGoalGrid, GoalGridEnv, GoalGridVectorEnv, register_envs

register_envs()

__all__ = ["ENV_ID", "BatchedGoalGrid", "GoalGridEnv", "GoalGridVectorEnv", "register_envs"]
__version__ = "0.1.0"
