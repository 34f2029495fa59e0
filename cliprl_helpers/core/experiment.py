"""One grid size end to end: base policies, alignment, four initialisations, fine-tuning.

Per trial (seed ``s``):

1. the base policies (from the cache when they exist);
2. Algorithm 1 weights from cosines of raw sentence embeddings;
3. an alignment trained on the trial's (instruction, policy) pairs, then
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
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import artifacts, checks, metrics
from .alignment import AlignConfig, Alignment, init_alignment, train_alignment
from .base_policies import BasePolicies, agent_seed, train_base_policies
from .config import (  # noqa: F401  (re-exported: experiment.METHODS, ...)
    BASELINES,
    METHODS,
    PAPER_METHODS,
    POLICY_REPRS,
    ExperimentConfig,
    check_methods,
)
from .dqn import PARAM_NAMES, TrainResult, greedy_actions, init_params, init_seeds
from .language import Encoder, cosine_matrix
from .mdp import grid_side
from .numerics import cache_tag
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
           "bases_censored", "initial_fraction", "steps_to_converge", "censored",
           "resolution", "budget",
           *metrics.COLUMNS, "wall_s"]


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
        size: grid side (of the paper's task set; with ``task_set``, the side of its world).
        config: the run's settings (:class:`~cliprl_helpers.core.config.ExperimentConfig`; default:
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
    side = grid_side(ts.world)
    dcfg, acfg = cfg.at_size(cfg.dqn_config, side), cfg.align_config
    trial_seeds = list(range(seed, seed + n_trials))
    N = len(base_instr)

    # a model that cannot be loaded fails before any training; embeddings cached with the rest
    encoder = Encoder(cfg.model, cache_dir=cache_dir)
    if bases is None:
        bases = train_base_policies(ts.world, ts.bases, trial_seeds, dcfg, init_mode=cfg.init_mode,
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
                own_accuracy[m][t] = retrieval_accuracy(
                    model_t.similarity(base_emb, rep[torch.as_tensor(order)]))
            # step 3: the projected target instruction against the projected base
            # instructions (as printed) or the projected base policies (own order)
            sims[m][t] = model_t.step3_cosines(
                emb, None if cfg.step3 == "instruction" else rep).numpy()
            if m == "algorithm2":
                aligns.append(model_t)
                losses.append(loss_t)
    nearest = int(nearest_goal_weights(ts.target_goal, list(ts.bases.values())).argmax())

    scratch = init_params(ts.world, dcfg.hidden, init_seeds(trial_seeds, 1, bases.init_mode))
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
    job = Job(ts.world, [ts.target_goal] * (n_trials * M), seeds, params,
              cfg.at_size(cfg.finetuning, side),
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
    cfg = res.config
    curve = metrics.curve_metrics(res.curve_steps, res.curve, res.return_curve,
                                  cfg.budget_steps, cfg.threshold)
    bases_censored = plan.bases.table.groupby("trial").censored.sum()
    rows = []
    for t, s in enumerate(plan.trial_seeds):
        for j, m in enumerate(methods):
            a = t * M + j
            rows.append({"grid_size": grid_side(ts.world), "target_reading": ts.reading, "trial": t,
                         "trial_seed": s, "method": m,
                         "weighting": (weighting if m in WEIGHTED_METHODS else
                                       "top1" if m == "language_top1" else ""),
                         "weights": json.dumps([round(float(x), 6) for x in weights[m][t]]),
                         "negative_weights": bool(negative[m][t]),
                         "top_pick_nearest": float(plan.top_pick_nearest[m][t]),
                         "align_own_accuracy": float(plan.own_accuracy.get(
                             m, np.full(len(plan.trial_seeds), np.nan))[t]),
                         "bases_censored": int(bases_censored.get(t, 0)),
                         "initial_fraction": float(res.initial_fraction[a]),
                         "steps_to_converge": int(res.steps_to_converge[a]),
                         "censored": bool(res.censored[a]),
                         "resolution": cfg.eval_every * cfg.envs_per_agent,
                         "budget": cfg.budget_steps,
                         **{k: float(v[a]) for k, v in curve.items()},
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
    documented there), one fine-tuning population (:func:`cliprl_helpers.core.training.train_jobs`,
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
    cache; later :func:`run_grid` calls with the same settings load it (a batch of runs calls this
    first)."""
    cfg = ExperimentConfig.of(config, **settings)
    plans = [plan_grid(size, ExperimentConfig.of(cfg, reading=r), cache_dir=cache_dir,
                       progress=progress) for r in readings]
    train_jobs([p.job for p in plans], cache_dir=cache_dir, progress=progress)


def initial_policy_maps(result: GridResult, trial: int = 0) -> dict[str, np.ndarray]:
    """Greedy action per cell ``(n*n,)`` of each method's initial network in ``trial``."""
    return {m: greedy_actions({k: v[trial:trial + 1] for k, v in p.items()})[0].numpy()
            for m, p in result.init_params.items()}


