"""Helpers for the CLIP-RL book, in three layers whose imports go one way.

* :mod:`cliprl_helpers.core`: the paper's pipeline (worlds, tasks, environments, DQN,
  language, alignment, transfer, base policies, one experiment);
* :mod:`cliprl_helpers.analysis`: statistics, claim rules, sentences and figures over the
  tables ``core`` computes;
* :mod:`cliprl_helpers.repro`: the machinery that reproduces them (threads, runs, the sweep,
  published results and the reference checks).

Importing the package first puts torch on the reference numeric path, the same bits on every
x86-64 CPU (:mod:`cliprl_helpers.core.numerics`; ``CLIPRL_NUMERICS=native`` opts out), before
anything computes; then it pins torch to one thread per process
(:mod:`cliprl_helpers.repro.threads`), keeps large temporaries on the heap
(:mod:`cliprl_helpers.repro.allocator`) and registers the ``cliprl/GoalGrid-v0`` and
``cliprl/GoToObjectRoom-v0`` gymnasium environments.
"""

from .core.numerics import pin as _pin_numerics

_pin_numerics()  # before any module below imports torch and computes

from .core import envs, minigrid_world  # noqa: E402
from .core.envs import ENV_ID  # noqa: E402
from .core.minigrid_world import ROOM_ENV_ID  # noqa: E402
from .repro.allocator import keep_on_heap  # noqa: E402
from .repro.threads import pin_threads  # noqa: E402

pin_threads()
keep_on_heap()
envs.register()
minigrid_world.register()

__all__ = ["ENV_ID", "ROOM_ENV_ID"]
__version__ = "0.1.0"
