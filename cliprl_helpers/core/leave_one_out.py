"""Leave-one-out: hold out each task of a family in turn, the rest are its bases.

The paper's task set has one target and four bases. Asking when alignment helps means
making every task of a larger family the target once (:func:`leave_one_out`), on GoalGrid or
on Minigrid's object rooms (:func:`leave_one_out_room`). All policies of the family train once;
each held-out run reuses them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import artifacts, checks
from .base_policies import BasePolicies, train_base_policies
from .config import METHODS, PAPER_METHODS, ExperimentConfig
from .dqn import TRAINER_VERSION
from .experiment import COLUMNS, finish_grid, plan_grid
from .mdp import World, as_world, grid_side
from .minigrid_world import Room
from .tasks import TaskSet
from .training import train_jobs


def _result_key(kind: str, config: ExperimentConfig) -> dict:
    """Everything that can change a number of a :func:`run_grid`-based result, as JSON-able
    values: the config's settings, the trainer version and the table's columns."""
    return {"kind": kind, "trainer_version": TRAINER_VERSION, "columns": COLUMNS,
            **config.key()}


def leave_one_out(family: dict[str, tuple[int, int]], world: World | int, targets=None,
                  config: ExperimentConfig | None = None, *, reading: str = "family",
                  progress: bool = True, target_names: dict[str, str] | None = None,
                  n_bases: int | None = None, cache_dir: str | Path | None = None,
                  **settings) -> tuple[pd.DataFrame, BasePolicies]:
    """Hold out each target of a task family in turn; the rest are its bases.

    All policies of the family are trained once (one population per trial set) and each
    held-out run reuses them (:meth:`BasePolicies.subset`). ``config`` and keyword
    ``settings`` are the run's :class:`~cliprl_helpers.core.config.ExperimentConfig` as in
    :func:`run_grid` (n_trials, seed, weighting, methods, init_mode, align_config, ...);
    without a config, ``methods`` defaults to :data:`PAPER_METHODS` (the baselines belong to
    the main experiment). ``reading`` labels the task family in the table.

    ``target_names`` maps a held-out instruction to the wording the target is given in
    (e.g. a paraphrase); ``n_bases`` keeps a random subset of that many bases per target
    (seeded by ``seed`` and the target's position; at least 2, the fewest pairs an alignment
    can learn from).

    The table is cached in ``cache_dir`` (default ``artifacts/``) under a key of every
    setting that can change a number (the config, trainer version, family, targets, ...), so
    a re-run with the same arguments reads it and any change recomputes.

    Returns ``(table, all_policies)``; the table has a ``target`` column.
    """
    targets = list(family) if targets is None else list(targets)
    unknown = [t for t in targets if t not in family]
    if unknown or not targets:
        raise ValueError(f"targets {unknown or targets} are not in the task family "
                         f"{list(family)}")
    if n_bases is not None:
        n_bases = checks.integer("n_bases", n_bases, low=2, high=len(family) - 1)
    if config is None:
        settings.setdefault("methods", PAPER_METHODS)
    cfg = ExperimentConfig.of(config, **settings)  # every setting checked before any training
    seed = cfg.seed
    trial_seeds = list(range(seed, seed + cfg.n_trials))
    all_policies = train_base_policies(world, family, trial_seeds, cfg.dqn_config,
                                       init_mode=cfg.init_mode, cache_dir=cache_dir,
                                       progress=progress)

    def compute() -> pd.DataFrame:
        plans = []
        for k, target in enumerate(tqdm(targets, desc="held-out targets",
                                        disable=not progress, leave=False)):
            bases = {i: g for i, g in family.items() if i != target}
            if n_bases is not None:
                rng = np.random.default_rng([seed, k])
                keep = sorted(rng.choice(len(bases), n_bases, replace=False).tolist())
                bases = {i: bases[i] for j, i in enumerate(bases) if j in keep}
            name = (target_names or {}).get(target, target)
            ts = TaskSet(world=world, bases=bases, target=name, target_goal=family[target],
                         reading=reading)
            plans.append(plan_grid(grid_side(world), cfg, task_set=ts,
                                   bases=all_policies.subset(list(bases)), progress=False,
                                   cache_dir=cache_dir))
        # every target's fine-tuning as one population: the same numbers as one run_grid per
        # target (an agent's result does not depend on its population), one tail instead of
        # one per target
        results = train_jobs([p.job for p in plans], cache_dir=cache_dir, progress=progress)
        return pd.concat([finish_grid(p, r).table.assign(target=t)
                          for p, r, t in zip(plans, results, targets)], ignore_index=True)

    key = _result_key("leave_one_out", cfg)
    key.update(family={i: list(g) for i, g in family.items()}, size=as_world(world).key(),
               targets=targets,
               reading=reading, target_names=target_names or {}, n_bases=n_bases)
    table = artifacts.cached_table(key, compute, cache_dir, prefix="loo")
    return table, all_policies


def leave_one_out_table(family: dict[str, tuple[int, int]], world: World | int, setting: str,
                        **kwargs) -> pd.DataFrame:
    """:func:`leave_one_out`'s table with a ``setting`` column (a label for ablations)."""
    return leave_one_out(family, world, **kwargs)[0].assign(setting=setting)


def leave_one_out_room(size: int, layout_seed: int, layout: str, setting: str,
                       **settings) -> pd.DataFrame:
    """Every object of the ``layout`` room held out in turn, every method of
    :data:`~cliprl_helpers.core.config.METHODS` (:func:`leave_one_out`;
    ``settings`` are its run settings: n_trials, seed, weighting, dqn_config, ...). The table
    is labelled ``setting`` and has the layout as ``target_reading``."""
    room = Room(layout, size, layout_seed)
    settings.setdefault("methods", METHODS)
    return leave_one_out_table(room.objects, room, setting=setting, reading=layout, **settings)
