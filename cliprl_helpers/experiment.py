"""One grid size end to end: base policies, alignment, four initialisations, fine-tuning.

Per trial (seed ``s``):

1. the base policies of chapter 2 (from the cache when they exist);
2. Algorithm 1 weights from cosines of raw sentence embeddings;
3. an alignment (chapter 4) trained on the trial's (instruction, policy) pairs, then
   Algorithm 2 weights from cosines of *projected instruction* embeddings;
4. four initial networks for the target task: ``scratch`` (the trial's shared initial
   network), ``algorithm1``, ``algorithm2``, and ``oracle`` (the base policy whose goal is
   nearest the target's: a privileged reference, not a method);
5. all (trial, method) agents fine-tune on the target as *one population* with identical
   hyperparameters and budget. Within a trial every method uses the same random streams
   (common random numbers), so per-trial differences come from the initialisation alone.

The result is a tidy table, one row per (trial, method).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import artifacts, checks, libm
from .alignment import AlignConfig, Alignment, init_alignment, train_alignment
from .artifacts import atomic_write
from .base_policies import BasePolicies, agent_seed, train_base_policies
from .config import (  # noqa: F401  (re-exported: the chapters use experiment.METHODS, ...)
    BASELINES,
    METHODS,
    PAPER_METHODS,
    POLICY_REPRS,
    ExperimentConfig,
    check_methods,
)
from .dqn import PARAM_NAMES, DQNConfig, TrainResult, init_params, init_seeds
from .language import Encoder, cosine_matrix
from .mdp import as_world, grid_side
from .tasks import READINGS, TaskSet, paper_tasks
from .training import Job, train_jobs
from .transfer import (
    NegativeWeightWarning,
    average_policies,
    check_instructions,
    nearest_goal_weights,
    similarity_weights,
)

#: Methods whose similarities become weights by the chosen weighting scheme.
WEIGHTED_METHODS = ("algorithm1", "algorithm2", "algorithm2_shuffled")
COLUMNS = ["grid_size", "target_reading", "trial", "trial_seed", "method", "weighting",
           "weights", "negative_weights", "top_pick_nearest", "align_own_accuracy",
           "initial_fraction", "steps_to_converge", "censored", "resolution", "wall_s"]


@dataclass
class GridResult:
    """Everything one grid size produced.

    Attributes:
        table: one row per (trial, method), columns :data:`COLUMNS`.
        tasks: the task set (bases, target, reading).
        bases: the trained base policies.
        alignments: one trained :class:`Alignment` per trial.
        align_losses: ``(T, epochs + 1)`` loss curves.
        similarities: ``{"algorithm1": (T, N), "algorithm2": (T, N)}`` the d_i per trial.
        weights: ``{method: (T, N)}`` averaging weights per trial.
        init_params: ``{method: params (T, ...)}`` the initial target networks.
        finetune: the population's :class:`TrainResult` (agents ordered trial-major).
        lang_emb: ``(N + 1, dim)`` sentence embeddings, bases then target.
    """

    table: pd.DataFrame
    tasks: TaskSet
    bases: BasePolicies
    alignments: list[Alignment]
    align_losses: np.ndarray
    similarities: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    init_params: dict[str, dict[str, torch.Tensor]]
    finetune: TrainResult
    lang_emb: torch.Tensor


_ALIGNMENTS: dict[str, tuple[Alignment, list[float]]] = {}


def _alignment(lang_emb: torch.Tensor, policies: torch.Tensor, cfg: AlignConfig,
               seed: int, cache_dir: str | Path | None) -> tuple[Alignment, list[float]]:
    """:func:`train_alignment`, cached in this process and on disk under a hash of its
    inputs: a trial's alignment does not depend on the target, so both readings, every
    weighting and every later run reuse it."""
    from .numerics import cache_tag

    h = hashlib.sha256(repr((seed, asdict(cfg), cache_tag())).encode())
    for t in (lang_emb, policies):
        h.update(t.detach().to(torch.float32).contiguous().numpy().tobytes())
    key = h.hexdigest()
    if key in _ALIGNMENTS:
        return _ALIGNMENTS[key]
    directory = Path(cache_dir) if cache_dir is not None else artifacts.artifacts_dir()
    name = f"align-{key[:16]}"
    if artifacts.exists(directory, name):
        tensors, meta = artifacts.load(directory, name)
        model = init_alignment(lang_emb, policies, cfg, seed)
        losses = tensors.pop("losses").tolist()
        try:
            if meta.get("key") != key or len(losses) != cfg.epochs + 1:
                raise RuntimeError("key or loss curve does not match")
            model.load_state_dict(tensors)
        except RuntimeError as e:
            raise ValueError(f"cached alignment {name} in {directory} does not fit its inputs "
                             f"({e}); delete it to retrain") from None
        model.eval()
    else:
        model, losses = train_alignment(lang_emb, policies, cfg, seed=seed)
        artifacts.save(directory, name, {**model.state_dict(),
                                         "losses": torch.tensor(losses, dtype=torch.float64)},
                       {"key": key, "seed": seed, "config": asdict(cfg)})
    _ALIGNMENTS[key] = (model, losses)
    return model, losses


@dataclass
class GridPlan:
    """What :func:`plan_grid` prepares: the inputs of the fine-tuning population ``job``
    (agents trial-major, methods within a trial) and what led to them (see
    :class:`GridResult` for the fields)."""

    tasks: TaskSet
    bases: BasePolicies
    methods: list[str]
    weighting: str
    trial_seeds: list[int]
    alignments: list[Alignment]
    align_losses: np.ndarray
    similarities: dict[str, np.ndarray]
    weights: dict[str, np.ndarray]
    negative: dict[str, np.ndarray]
    init_params: dict[str, dict[str, torch.Tensor]]
    lang_emb: torch.Tensor
    job: Job
    top_pick_nearest: dict[str, np.ndarray]
    own_accuracy: dict[str, np.ndarray]


def plan_grid(size: int, config: ExperimentConfig | None = None, *,
              cache_dir: str | Path | None = None, progress: bool = True,
              task_set: TaskSet | None = None, bases: BasePolicies | None = None,
              **settings) -> GridPlan:
    """Everything before fine-tuning on one grid size: bases, alignments, initial networks.

    Returns a :class:`GridPlan` whose ``job`` is the fine-tuning population.

    Args:
        size: grid side.
        config: the run's settings (:class:`~cliprl_helpers.config.ExperimentConfig`; default:
            the book's defaults). Keyword ``settings`` change single fields of it, e.g.
            ``plan_grid(10, weighting="softmax", n_trials=3)``; all are checked before any
            training.
        cache_dir: base-policy cache (default ``artifacts/``).
        progress: progress bars.
        task_set: another task family (default: the paper's, via :func:`paper_tasks`, for
            ``config.reading``).
        bases: already trained base policies to use (e.g. a subset of a larger family, see
            :meth:`BasePolicies.subset`); default: train or load them here.
    """
    cfg = ExperimentConfig.of(config, **settings)
    methods, weighting, n_trials, seed = list(cfg.methods), cfg.weighting, cfg.n_trials, cfg.seed
    ts = task_set or paper_tasks(size, cfg.reading)
    base_instr = check_instructions(ts.target, list(ts.bases))
    dcfg, acfg = cfg.dqn_config, cfg.align_config
    trial_seeds = list(range(seed, seed + n_trials))
    N = len(base_instr)

    # a model that cannot be loaded fails before any training; embeddings cached with the rest
    encoder = Encoder(cfg.model, cache_dir=cache_dir)
    if bases is None:
        bases = train_base_policies(ts.size, ts.bases, trial_seeds, dcfg, init_mode=cfg.init_mode,
                                    cache_dir=cache_dir, progress=progress)
    elif bases.instructions != base_instr or bases.trial_seeds != trial_seeds:
        raise ValueError(f"the given base policies ({bases.instructions}, trials "
                         f"{bases.trial_seeds}) do not match the task set ({base_instr}, trials "
                         f"{trial_seeds})")
    emb = encoder([*base_instr, ts.target])  # (N + 1, dim)
    base_emb, target_emb = emb[:N], emb[N:]

    d1 = cosine_matrix(target_emb, base_emb)[0]  # (N,) same for every trial
    sims = {"algorithm1": np.tile(d1.numpy(), (n_trials, 1)),
            "language_top1": np.tile(d1.numpy(), (n_trials, 1)),
            "algorithm2": np.zeros((n_trials, N)), "algorithm2_shuffled": np.zeros((n_trials, N))}
    own_accuracy = {m: np.full(n_trials, np.nan) for m in ("algorithm2", "algorithm2_shuffled")}
    aligns, losses = [], []
    for t, s in enumerate(trial_seeds):
        rep = bases.flat(t) if cfg.policy_repr == "weights" else bases.qvalues(t)
        pairings = {"algorithm2": np.arange(N)}
        if "algorithm2_shuffled" in methods:
            pairings["algorithm2_shuffled"] = derangement(N, s)
        for m, order in pairings.items():
            model_t, loss_t = _alignment(base_emb, rep[torch.as_tensor(order)], acfg, s,
                                         cache_dir)
            with torch.no_grad():
                proj = model_t.project_language(emb)
                own_accuracy[m][t] = retrieval_accuracy(
                    model_t.similarity(base_emb, rep[torch.as_tensor(order)]))
                # step 3: the projected target instruction against the projected base
                # instructions (as printed) or the projected base policies (own order)
                keys = proj[:N] if cfg.step3 == "instruction" else model_t.project_policy(rep)
            sims[m][t] = cosine_matrix(proj[N:], keys)[0].numpy()
            if m == "algorithm2":
                aligns.append(model_t)
                losses.append(loss_t)
    nearest = int(nearest_goal_weights(ts.target_goal, list(ts.bases.values())).argmax())

    scratch = init_params(ts.size, dcfg.hidden, init_seeds(trial_seeds, 1, bases.init_mode))
    weights: dict[str, np.ndarray] = {}
    negative: dict[str, np.ndarray] = {}
    inits: dict[str, dict[str, torch.Tensor]] = {}
    for m in methods:
        if m == "scratch":
            inits[m] = scratch
            weights[m] = np.zeros((n_trials, N))
            negative[m] = np.zeros(n_trials, dtype=bool)
            continue
        w_all, neg_all, per_trial = np.zeros((n_trials, N)), np.zeros(n_trials, bool), []
        for t in range(n_trials):
            if m == "oracle":
                w, info = nearest_goal_weights(ts.target_goal, list(ts.bases.values())), {}
            elif m == "uniform":
                w, info = torch.full((N,), 1.0 / N, dtype=torch.float64), {}
            elif m == "language_top1":
                w, info = similarity_weights(torch.as_tensor(sims[m][t]), "top1")
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NegativeWeightWarning)
                    w, info = similarity_weights(torch.as_tensor(sims[m][t]), weighting,
                                                 cfg.temperature)
            w_all[t], neg_all[t] = w.numpy(), info.get("negative", False)
            policies = [{k: bases.params[k][t, i] for k in PARAM_NAMES} for i in range(N)]
            per_trial.append(average_policies(policies, w))
        if neg_all.any():
            warnings.warn(f"{m}: the paper's weighting gave negative weights in "
                          f"{int(neg_all.sum())} of {n_trials} trials (the average "
                          f"extrapolates); see the 'negative_weights' column",
                          NegativeWeightWarning, stacklevel=2)
        inits[m] = {k: torch.stack([p[k] for p in per_trial]) for k in PARAM_NAMES}
        weights[m], negative[m] = w_all, neg_all

    M = len(methods)
    params = {k: torch.stack([inits[m][k] for m in methods], dim=1).flatten(0, 1)
              for k in PARAM_NAMES}
    seeds = [agent_seed(s, "target", 0) for s in trial_seeds for _ in methods]
    job = Job(ts.size, [ts.target_goal] * (n_trials * M), seeds, params, cfg.finetuning,
              label=f"finetune-{ts.reading}")
    top_nearest = {m: (np.full(n_trials, np.nan) if m in ("scratch", "uniform") else
                       (weights[m].argmax(1) == nearest).astype(float)) for m in methods}
    return GridPlan(tasks=ts, bases=bases, methods=methods, weighting=weighting,
                    trial_seeds=trial_seeds, alignments=aligns, align_losses=np.asarray(losses),
                    similarities={m: v for m, v in sims.items() if m in methods or m in
                                  ("algorithm1", "algorithm2")},
                    weights=weights, negative=negative, init_params=inits,
                    lang_emb=emb, job=job, top_pick_nearest=top_nearest,
                    own_accuracy=own_accuracy)


def derangement(n: int, seed: int) -> np.ndarray:
    """A permutation of ``0..n-1`` with no fixed point, drawn from ``seed`` (``n >= 2``):
    the mismatched pairing of the shuffled-pair control."""
    n = checks.integer("n", n, low=2)
    rng = np.random.default_rng([int(seed), 0x5EED])
    while True:
        p = rng.permutation(n)
        if not (p == np.arange(n)).any():
            return p


def retrieval_accuracy(S: torch.Tensor) -> float:
    """Share of correct retrievals in a similarity matrix of matched pairs ``(N, N)``:
    instruction ``i`` retrieving policy ``i`` (rows) and policy ``j`` instruction ``j``
    (columns), averaged."""
    idx = torch.arange(S.shape[0])
    return float(((S.argmax(1) == idx).double().mean() + (S.argmax(0) == idx).double().mean())
                 / 2)


def finish_grid(plan: GridPlan, res: TrainResult) -> GridResult:
    """The :class:`GridResult` of a plan whose fine-tuning population gave ``res``."""
    ts, methods, weights, negative = plan.tasks, plan.methods, plan.weights, plan.negative
    weighting, M = plan.weighting, len(plan.methods)
    rows = []
    for t, s in enumerate(plan.trial_seeds):
        for j, m in enumerate(methods):
            a = t * M + j
            rows.append({"grid_size": grid_side(ts.size), "target_reading": ts.reading, "trial": t,
                         "trial_seed": s, "method": m,
                         "weighting": (weighting if m in WEIGHTED_METHODS else
                                       "top1" if m == "language_top1" else ""),
                         "weights": json.dumps([round(float(x), 6) for x in weights[m][t]]),
                         "negative_weights": bool(negative[m][t]),
                         "top_pick_nearest": float(plan.top_pick_nearest[m][t]),
                         "align_own_accuracy": float(plan.own_accuracy.get(
                             m, np.full(len(plan.trial_seeds), np.nan))[t]),
                         "initial_fraction": float(res.initial_fraction[a]),
                         "steps_to_converge": int(res.steps_to_converge[a]),
                         "censored": bool(res.censored[a]),
                         "resolution": res.config.eval_every * res.config.envs_per_agent,
                         "wall_s": float(res.converge_wall_s[a])})
    return GridResult(table=pd.DataFrame(rows, columns=COLUMNS), tasks=ts, bases=plan.bases,
                      alignments=plan.alignments, align_losses=plan.align_losses,
                      similarities=plan.similarities, weights=weights,
                      init_params=plan.init_params, finetune=res, lang_emb=plan.lang_emb)


def run_grid(size: int, config: ExperimentConfig | None = None, *,
             cache_dir: str | Path | None = None, progress: bool = True,
             task_set: TaskSet | None = None, bases: BasePolicies | None = None,
             **settings) -> GridResult:
    """Run the paper's experiment on one grid size: :func:`plan_grid` (every argument is
    documented there), one fine-tuning population (:func:`cliprl_helpers.training.train_jobs`,
    loaded from ``cache_dir`` when the same inputs ran before), then :func:`finish_grid`."""
    plan = plan_grid(size, config, cache_dir=cache_dir, progress=progress, task_set=task_set,
                     bases=bases, **settings)
    [res] = train_jobs([plan.job], cache_dir=cache_dir, progress=progress)
    return finish_grid(plan, res)


def prepare_grid(size: int, readings=READINGS, config: ExperimentConfig | None = None, *,
                 cache_dir: str | Path | None = None, progress: bool = True,
                 **settings) -> None:
    """Train everything ``run_grid(size, config, reading=r, **settings)`` needs for every
    reading ``r``, as one base population and one merged fine-tuning population, into the
    cache; later :func:`run_grid` calls with the same settings load it (the sweep calls this
    first)."""
    cfg = ExperimentConfig.of(config, **settings)
    plans = [plan_grid(size, ExperimentConfig.of(cfg, reading=r), cache_dir=cache_dir,
                       progress=progress) for r in readings]
    train_jobs([p.job for p in plans], cache_dir=cache_dir, progress=progress)


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` atomically (temp file, then rename)."""
    path = Path(path)
    atomic_write(path, table.to_csv(index=False).encode())
    return path


#: Steps are measured at evaluations every ``eval_every * envs_per_agent`` env steps (128 by
#: default); ratios add this resolution to both sides so that a run that starts converged
#: (0 steps) compares finitely instead of giving a ratio of 0 or infinity.
RATIO_RESOLUTION = DQNConfig().eval_every * DQNConfig().envs_per_agent


def resolution_of(table: pd.DataFrame) -> int:
    """The evaluation resolution (env steps between evaluations) of the runs in ``table``,
    from its ``resolution`` column (:data:`RATIO_RESOLUTION` for tables without one).
    Raises ``ValueError`` if the runs were measured at different resolutions."""
    if "resolution" not in table.columns:
        return RATIO_RESOLUTION
    values = sorted(set(int(v) for v in table.resolution.dropna()))
    if len(values) != 1:
        raise ValueError(f"the table mixes runs evaluated every {values} env steps; compare "
                         f"runs of one configuration")
    return values[0]


def paired_ratio(table: pd.DataFrame, num: str = "algorithm2", den: str = "algorithm1",
                 by=("grid_size", "target_reading"),
                 resolution: int | None = None) -> pd.DataFrame:
    """Per trial (within each ``by`` group): ``(steps[num] + resolution) / (steps[den] +
    resolution)``, and whether either run was censored. ``resolution`` defaults to the runs'
    own evaluation interval (:func:`resolution_of`)."""
    if resolution is None:
        resolution = resolution_of(table)
    index = [*by, "trial"]
    missing = [c for c in [*index, "method", "steps_to_converge", "censored"]
               if c not in table.columns]
    if missing:
        raise ValueError(f"paired_ratio needs columns {missing} in the table (it has "
                         f"{list(table.columns)})")
    absent = [m for m in (num, den) if m not in set(table.method)]
    if absent:
        raise ValueError(f"method(s) {absent} are not in the table's 'method' column: it has "
                         f"{sorted(set(table.method))}")
    piv = table.pivot_table(index=index, columns="method", values="steps_to_converge",
                            aggfunc="first")
    cen = table.pivot_table(index=index, columns="method", values="censored", aggfunc="first")
    out = pd.DataFrame({"ratio": (piv[num] + resolution) / (piv[den] + resolution),
                        "censored": cen[num].astype(bool) | cen[den].astype(bool)})
    return out.reset_index()


#: The comparisons an ablation reports, as (numerator, denominator) methods.
ABLATION_COMPARISONS = (("algorithm2", "algorithm1"), ("algorithm2", "scratch"),
                        ("algorithm1", "scratch"))


def ratio_summary(table: pd.DataFrame, num: str, den: str, by: str = "setting") -> pd.DataFrame:
    """Per ``by`` group: the ratio ``num / den`` over held-out targets and trials, with the
    **trial as the unit**: one trial's base policies serve every held-out target, so its
    targets are not independent. Each trial's log ratios are averaged over targets, and the
    geometric mean gets a t-interval and a one-sample t-test over those trial means
    (:func:`cliprl_helpers.stats.log_t_interval`). ``wins`` is the share of (target, trial)
    pairs where ``num`` was faster.

    Columns ``setting, comparison, geo-mean ratio, lo, hi, p, trials, wins``.
    """
    from scipy import stats as sps

    from .stats import log_t_interval

    groups = [by, "target"] if "target" in table.columns else [by]
    r = paired_ratio(table, num, den, by=groups)
    out = []
    for setting, g in r.groupby(by, sort=False):
        per_trial = libm.log(g.ratio).groupby(g.trial).mean()
        gm, lo, hi = log_t_interval(libm.exp(per_trial))
        p = float(sps.ttest_1samp(per_trial, 0.0).pvalue) if len(per_trial) > 1 and \
            np.ptp(per_trial) > 0 else float("nan")
        out.append({"setting": setting, "comparison": f"{num} / {den}",
                    "geo-mean ratio": gm, "lo": lo, "hi": hi, "p": p,
                    "trials": int(len(per_trial)), "wins": float((g.ratio < 1).mean())})
    return pd.DataFrame(out)


def ablation_summary(table: pd.DataFrame, comparisons=ABLATION_COMPARISONS) -> pd.DataFrame:
    """:func:`ratio_summary` of every comparison in ``comparisons``, stacked."""
    return pd.concat([ratio_summary(table, n, d) for n, d in comparisons], ignore_index=True)


def finetune_curves(result: GridResult) -> pd.DataFrame:
    """Tidy learning curves of the target fine-tuning: trial, method, env_steps, fraction."""
    from .stats import curves_frame

    methods = list(dict.fromkeys(result.table.method))
    T, M = result.table.trial.nunique(), len(methods)
    c = result.finetune.curve  # (K, T * M), trial-major
    curves = c.reshape(c.shape[0], T, M).transpose(1, 0, 2)
    return curves_frame(result.finetune.curve_steps, curves, methods, label_name="method")


def initial_policy_maps(result: GridResult, trial: int = 0) -> dict[str, np.ndarray]:
    """Greedy action per cell ``(n*n,)`` of each method's initial network in ``trial``."""
    from .dqn import greedy_actions

    return {m: greedy_actions({k: v[trial:trial + 1] for k, v in p.items()})[0].numpy()
            for m, p in result.init_params.items()}


def _result_key(kind: str, config: ExperimentConfig) -> dict:
    """Everything that can change a number of a :func:`run_grid`-based result, as JSON-able
    values: the config's settings, the trainer version and the table's columns."""
    from .dqn import TRAINER_VERSION

    return {"kind": kind, "trainer_version": TRAINER_VERSION, "columns": COLUMNS,
            **config.key()}


def leave_one_out(family: dict[str, tuple[int, int]], size: int, targets=None,
                  config: ExperimentConfig | None = None, *, reading: str = "family",
                  progress: bool = True, target_names: dict[str, str] | None = None,
                  n_bases: int | None = None, cache_dir: str | Path | None = None,
                  **settings) -> tuple[pd.DataFrame, BasePolicies]:
    """Hold out each target of a task family in turn; the rest are its bases.

    All policies of the family are trained once (one population per trial set) and each
    held-out run reuses them (:meth:`BasePolicies.subset`). ``config`` and keyword
    ``settings`` are the run's :class:`~cliprl_helpers.config.ExperimentConfig` as in
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
    from tqdm.auto import tqdm

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
    all_policies = train_base_policies(size, family, trial_seeds, cfg.dqn_config,
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
            ts = TaskSet(size=size, bases=bases, target=name, target_goal=family[target],
                         reading=reading)
            plans.append(plan_grid(size, cfg, task_set=ts,
                                   bases=all_policies.subset(list(bases)), progress=False,
                                   cache_dir=cache_dir))
        # every target's fine-tuning as one population: the same numbers as one run_grid per
        # target (an agent's result does not depend on its population), one tail instead of
        # one per target
        results = train_jobs([p.job for p in plans], cache_dir=cache_dir, progress=progress)
        return pd.concat([finish_grid(p, r).table.assign(target=t)
                          for p, r, t in zip(plans, results, targets)], ignore_index=True)

    key = _result_key("leave_one_out", cfg)
    key.update(family={i: list(g) for i, g in family.items()}, size=as_world(size).key(),
               targets=targets,
               reading=reading, target_names=target_names or {}, n_bases=n_bases)
    table = artifacts.cached_table(key, compute, cache_dir, prefix="loo")
    return table, all_policies


def leave_one_out_table(family: dict[str, tuple[int, int]], size: int, setting: str,
                        **kwargs) -> pd.DataFrame:
    """:func:`leave_one_out`'s table with a ``setting`` column (a label for ablations)."""
    return leave_one_out(family, size, **kwargs)[0].assign(setting=setting)


def nearest_half(goals: list[tuple[int, int]], target: tuple[int, int]) -> np.ndarray:
    """Mask of the bases whose goals are nearer (Manhattan) to the target than the median
    base: for the paper's tasks, the two right-hand goals beside the target."""
    d = np.array([abs(g[0] - target[0]) + abs(g[1] - target[1]) for g in goals], dtype=float)
    return d < np.median(d)


def mechanism_table(table: pd.DataFrame, resolution: int | None = None,
                    method: str = "algorithm2", against: str = "algorithm1") -> pd.DataFrame:
    """One row per (reading, grid size, trial) of the paper's task set: the log ratio
    ``method / against`` and what ``method``'s initialisation looked like.

    Columns: ``target_reading, grid_size, trial, log_ratio, sum_abs_weight`` (the sum of the
    absolute weights, 1 unless the weights extrapolate), ``negative_weights``,
    ``near_weight`` (net weight on the bases nearest the target, :func:`nearest_half`),
    ``initial_fraction_gain`` (initial optimal fraction of ``method`` minus ``against``'s),
    ``top_pick_nearest``, ``align_own_accuracy``.
    """
    resolution = resolution_of(table) if resolution is None else resolution
    rows = []
    for (reading, n), g in table.groupby(["target_reading", "grid_size"], sort=True):
        ts = paper_tasks(int(n), reading)
        near = nearest_half(list(ts.bases.values()), ts.target_goal)
        by = g.set_index(["trial", "method"])
        for t in sorted(g.trial.unique()):
            a, b = by.loc[(t, method)], by.loc[(t, against)]
            w = np.asarray(json.loads(a.weights), dtype=float)
            rows.append({
                "target_reading": reading, "grid_size": int(n), "trial": int(t),
                "log_ratio": float(libm.log((a.steps_to_converge + resolution)
                                          / (b.steps_to_converge + resolution))),
                "sum_abs_weight": float(np.abs(w).sum()),
                "negative_weights": bool(a.negative_weights),
                "near_weight": float(w[near].sum()),
                "initial_fraction_gain": float(a.initial_fraction - b.initial_fraction),
                "top_pick_nearest": float(a.top_pick_nearest),
                "align_own_accuracy": float(a.align_own_accuracy)})
    return pd.DataFrame(rows)
