"""Helpers for the CLIP-RL book: one module per chapter idea.

Importing the package first puts torch on the reference numeric path, the same bits on every
x86-64 CPU (:mod:`cliprl_helpers.numerics`; ``CLIPRL_NUMERICS=native`` opts out), before
anything computes; then it pins torch to one thread per process (:mod:`cliprl_helpers.threads`),
keeps large temporaries on the heap (:mod:`cliprl_helpers.allocator`) and registers the
``cliprl/GoalGrid-v0`` and ``cliprl/GoToObjectRoom-v0`` gymnasium environments.
"""

from .numerics import pin as _pin_numerics

_pin_numerics()  # before any module below imports torch and computes

from .allocator import keep_on_heap  # noqa: E402
from .envs import (  # noqa: E402
    ENV_ID,
    ROOM_ENV_ID,
    BatchedGoalGrid,
    GoalGridEnv,
    GoalGridVectorEnv,
    register_envs,
)
from .threads import pin_threads  # noqa: E402

pin_threads()
keep_on_heap()

register_envs()

__all__ = ["ENV_ID", "ROOM_ENV_ID", "BatchedGoalGrid", "GoalGridEnv",
           "GoalGridVectorEnv", "pin_threads", "register_envs"]
__version__ = "0.1.0"
