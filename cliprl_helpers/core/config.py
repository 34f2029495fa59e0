"""The settings of one run of the paper's experiment, in one dataclass.

:class:`ExperimentConfig` holds every setting of
:func:`cliprl_helpers.core.experiment.run_grid` and
:func:`~cliprl_helpers.core.leave_one_out.leave_one_out` that can change a number, one field
per line with its meaning. It checks itself when made, so a bad value fails before any
training, and its :meth:`~ExperimentConfig.key` is what result caches are keyed on. The
functions take either a config or its fields as keywords
(``run_grid(10, weighting="softmax")``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from . import checks
from .alignment import AlignConfig
from .dqn import INIT_MODES, DQNConfig
from .language import DEFAULT_MODEL
from .tasks import READINGS
from .transfer import WEIGHTINGS

#: The methods the paper compares (and the oracle reference).
PAPER_METHODS = ("scratch", "algorithm1", "algorithm2", "oracle")
#: Baselines and a control run in the same paired design:
#: ``uniform`` averages the bases with equal weights (no similarity at all);
#: ``language_top1`` copies the base with the highest raw language cosine (the abstract's
#: "straightforward approach"); ``algorithm2_shuffled`` is Algorithm 2 with an alignment
#: trained on *mismatched* (instruction, policy) pairs (a derangement per trial): if it does
#: as well as Algorithm 2, the pairing is not what Algorithm 2's weights rest on.
BASELINES = ("uniform", "language_top1", "algorithm2_shuffled")
#: Every method, in the order of tables and figures.
METHODS = PAPER_METHODS + BASELINES
#: What the alignment sees of a policy.
POLICY_REPRS = ("weights", "qvalues")
#: What step 3 of Algorithm 2 compares the projected target instruction with: the projected
#: base *instructions* (as printed) or the projected base *policies* (what the loss aligns).
STEP3 = ("instruction", "policy")
#: How the training budgets (base policies and fine-tuning) grow with the grid: ``"none"``
#: (the same budget at every size, the paper's sizes) or ``"cells"`` (the size ladder's rule,
#: fixed before its runs: past :data:`BUDGET_REFERENCE_SIZE`, a budget grows with the number
#: of cells).
BUDGET_GROWTH = ("none", "cells")
#: The largest grid of the paper: the budget of ``"cells"`` growth is the fixed one up to it.
BUDGET_REFERENCE_SIZE = 25


def grown_budget(budget_steps: int, size: int, growth: str = "none") -> int:
    """A training budget (env steps per agent) on an ``size x size`` grid.

    ``"cells"``: ``budget_steps x max(1, (size / 25)^2)``, rounded up to a whole step (with
    the default 400,000: 784,000 at 35, 1,600,000 at 50, unchanged up to 25).
    """
    checks.choice("budget_growth", growth, BUDGET_GROWTH)
    ref = BUDGET_REFERENCE_SIZE
    if growth == "none" or size <= ref:
        return int(budget_steps)
    return -(-int(budget_steps) * size * size // (ref * ref))


#: Flat names of nested settings, as notebook parameters name them
#: (:meth:`ExperimentConfig.from_parameters`): alignment settings ...
ALIGN_PARAMETERS = {"align_dim": "dim", "align_delta": "delta", "align_epochs": "epochs",
                    "align_bias": "bias", "align_similarity": "similarity"}
#: ... and fine-tuning settings (``lr_factor`` multiplies the DQN learning rate).
FINETUNE_PARAMETERS = {"eps_start": "eps_start", "threshold": "threshold"}


def check_methods(methods) -> list[str]:
    """``methods`` as a list, each one of :data:`METHODS` (``ValueError`` otherwise)."""
    methods = list(methods) if not isinstance(methods, str) else [methods]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"unknown method(s) {bad or methods!r}: allowed are {', '.join(METHODS)}")
    return methods


@dataclass(frozen=True)
class ExperimentConfig:
    """Every setting of one experiment run that can change a number."""

    reading: str = "as_printed"
    """Reading of the paper's target, ``"as_printed"`` or ``"self_consistent"`` (unused with a
    task set)."""
    weighting: str = "paper"
    """How similarities become weights, one of :data:`cliprl_helpers.core.transfer.WEIGHTINGS`."""
    n_trials: int = 10
    """Independent trials; trial ``k`` uses seed ``seed + k`` for every random stream."""
    seed: int = 0
    """Seed of the first trial."""
    init_mode: str = "shared"
    """``"shared"`` (one initial network per trial) or ``"independent"`` base networks."""
    methods: tuple[str, ...] = METHODS
    """Which of :data:`METHODS` to fine-tune on the target."""
    model: str = DEFAULT_MODEL
    """Sentence-transformers model of the instructions (a name or a local directory)."""
    temperature: float = 0.1
    """Temperature of the ``softmax`` weighting."""
    policy_repr: str = "weights"
    """What the alignment sees of a policy, ``"weights"`` (the paper) or ``"qvalues"``."""
    step3: str = "instruction"
    """What step 3 of Algorithm 2 compares the projected target instruction with, the
    projected base ``"instruction"`` embeddings (as printed) or the projected base
    ``"policy"`` vectors (what the contrastive loss pairs it with)."""
    dqn_config: DQNConfig = field(default_factory=DQNConfig)
    """DQN hyperparameters of base training and fine-tuning."""
    align_config: AlignConfig = field(default_factory=AlignConfig)
    """Contrastive alignment hyperparameters (size, temperature, steps, ...)."""
    finetune_config: DQNConfig | None = None
    """DQN hyperparameters of the fine-tuning on the target, the same for every method
    (``None``: ``dqn_config``, as the base policies)."""
    budget_growth: str = "none"
    """How the budgets of base training and fine-tuning grow with the grid, one of
    :data:`BUDGET_GROWTH` (:func:`grown_budget`)."""

    def __post_init__(self):
        def put(name, value):
            object.__setattr__(self, name, value)

        checks.choice("reading", self.reading, READINGS)
        checks.choice("weighting scheme", self.weighting, WEIGHTINGS)
        put("n_trials", checks.positive_int("n_trials", self.n_trials))
        put("seed", checks.integer("seed", self.seed, low=0))
        checks.choice("init_mode", self.init_mode, INIT_MODES)
        put("methods", tuple(check_methods(self.methods)))
        if not isinstance(self.model, (str, os.PathLike)):
            raise ValueError(f"model must be a sentence-transformers name or directory, got "
                             f"{self.model!r}")
        put("temperature", checks.positive_real("temperature", self.temperature))
        checks.choice("policy_repr", self.policy_repr, POLICY_REPRS)
        checks.choice("step3", self.step3, STEP3)
        checks.choice("budget_growth", self.budget_growth, BUDGET_GROWTH)
        for name, cls in (("dqn_config", DQNConfig), ("align_config", AlignConfig),
                          ("finetune_config", DQNConfig)):
            value = getattr(self, name)
            if value is None:
                if name != "finetune_config":
                    put(name, cls())
            elif not isinstance(value, cls):
                raise ValueError(f"{name} must be a {cls.__name__} or None, got "
                                 f"{type(value).__name__}")

    @classmethod
    def of(cls, config: ExperimentConfig | None = None, **settings) -> ExperimentConfig:
        """``config`` (default: the book's defaults) with ``settings`` changed; an unknown
        setting is a ``ValueError`` that lists the allowed ones."""
        if config is not None and not isinstance(config, cls):
            raise ValueError(f"config must be an ExperimentConfig or None, got "
                             f"{type(config).__name__}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(settings) - set(names))
        if unknown:
            raise ValueError(f"unknown argument(s) {unknown}: allowed are {', '.join(names)}")
        return dataclasses.replace(config or cls(), **settings)

    @property
    def finetuning(self) -> DQNConfig:
        """The DQN hyperparameters of fine-tuning (``finetune_config`` or ``dqn_config``)."""
        return self.finetune_config or self.dqn_config

    def at_size(self, cfg: DQNConfig, size: int) -> DQNConfig:
        """``cfg`` (:attr:`dqn_config` or :attr:`finetuning`) on an ``size x size`` grid: its
        budget grown by :attr:`budget_growth` (the same object when it does not grow)."""
        budget = grown_budget(cfg.budget_steps, size, self.budget_growth)
        return cfg if budget == cfg.budget_steps else dataclasses.replace(
            cfg, budget_steps=budget)

    @classmethod
    def from_parameters(cls, lr_factor: float = 1.0, **parameters) -> ExperimentConfig:
        """A config from flat parameter names, as notebook parameters name them:
        the fields of this class, plus ``align_<field>`` for the alignment
        (:data:`ALIGN_PARAMETERS`), ``eps_start`` and ``threshold`` for fine-tuning, and
        ``lr_factor`` to scale the fine-tuning learning rate. An ``eps_start`` below the
        default final epsilon keeps epsilon constant at ``eps_start`` (it never rises).
        Fine-tuning equal to the base training is stored as ``finetune_config=None``."""
        align = {ALIGN_PARAMETERS[k]: parameters.pop(k) for k in list(parameters)
                 if k in ALIGN_PARAMETERS}
        fine = {FINETUNE_PARAMETERS[k]: parameters.pop(k) for k in list(parameters)
                if k in FINETUNE_PARAMETERS}
        lr_factor = checks.positive_real("lr_factor", lr_factor)
        if "eps_start" in fine:  # epsilon never rises: a start below the end stays constant
            fine["eps_start"] = checks.real("eps_start", fine["eps_start"], low=0, high=1)
            fine["eps_end"] = min(DQNConfig().eps_end, fine["eps_start"])
        try:
            cfg = cls.of(**parameters)
        except ValueError as e:
            if "unknown argument" not in str(e):
                raise
            unknown = sorted(set(parameters) - {f.name for f in dataclasses.fields(cls)})
            names = [*PARAMETERS]
            raise ValueError(f"unknown parameter(s) {unknown}: allowed are "
                             f"{', '.join(names)}") from None
        base = cfg.dqn_config
        finetune = dataclasses.replace(cfg.finetuning, **fine)
        if lr_factor != 1.0:
            finetune = dataclasses.replace(finetune,
                                           learning_rate=finetune.learning_rate * lr_factor)
        return dataclasses.replace(
            cfg, align_config=dataclasses.replace(cfg.align_config, **align),
            finetune_config=None if finetune == base else finetune)

    def key(self) -> dict:
        """The settings as JSON-able values, for cache keys."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.update(methods=list(self.methods), model=str(self.model),
                   dqn_config=self.dqn_config.to_dict(),
                   align_config=self.align_config.to_dict(),
                   finetune_config=(None if self.finetune_config is None
                                    else self.finetune_config.to_dict()))
        return out


#: Every flat parameter name :meth:`ExperimentConfig.from_parameters` takes.
PARAMETERS = (*[f.name for f in dataclasses.fields(ExperimentConfig)], *ALIGN_PARAMETERS,
              *FINETUNE_PARAMETERS, "lr_factor")
