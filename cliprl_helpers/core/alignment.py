"""CLIP-style alignment of instructions and policies: Algorithm 2, step 2.

Two trainable linear projections map both modalities into one ``k``-dimensional space:

* language: the frozen sentence embedding ``tau(l)`` -> ``Proj_L``;
* policy: the flattened policy weights ``nn(pi)``, standardised feature by feature with the
  mean and standard deviation over the training policies, -> ``Proj_P``.

The similarity matrix is the paper's plain dot product ``S_ij = <Proj_L(tau(l_i)),
Proj_P(nn(pi_j))>`` and the loss its symmetric cross-entropy with temperature ``delta``
(:func:`clip_loss`). Step 3 of Algorithm 2 then compares *instructions* only, in the
projected space: ``cos(Proj_L(tau(target)), Proj_L(tau(base_i)))``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from tqdm.auto import tqdm

from . import checks
from .language import cosine_matrix

#: How the loss compares a projected instruction with a projected policy.
SIMILARITIES = ("dot", "cosine")


@dataclass(frozen=True)
class AlignConfig:
    """Hyperparameters of the contrastive alignment."""

    dim: int = 16
    """Size k of the shared space."""
    delta: float = 0.1
    """Temperature of the loss (the paper's delta), > 0."""
    epochs: int = 300
    """Full-batch Adam steps (the dataset is the N base pairs)."""
    learning_rate: float = 1e-2
    """Adam learning rate."""
    bias: bool = True
    """Whether both projections have a bias term (the paper does not say)."""
    similarity: str = "dot"
    """``S_ij`` in the loss, ``"dot"`` (plain inner product, as printed) or ``"cosine"``
    (inner product of L2-normalised projections, as in CLIP)."""

    def __post_init__(self):
        object.__setattr__(self, "dim", checks.positive_int("dim", self.dim))
        object.__setattr__(self, "delta", checks.positive_real("delta (the temperature)",
                                                               self.delta))
        object.__setattr__(self, "epochs", checks.positive_int("epochs", self.epochs))
        object.__setattr__(self, "learning_rate", checks.positive_real("learning_rate",
                                                                       self.learning_rate))
        object.__setattr__(self, "bias", checks.flag("bias", self.bias))
        checks.choice("similarity", self.similarity, SIMILARITIES)

    def to_dict(self) -> dict:
        return asdict(self)


def clip_loss(S: torch.Tensor, delta: float) -> torch.Tensor:
    """The paper's symmetric contrastive loss of a similarity matrix ``S`` ``(N, N)``.

    ``L = -1/(2N) sum_i log softmax_j(S_ij / delta)[i] - 1/(2N) sum_j log softmax_i(S_ij /
    delta)[j]``: row ``i`` (instruction ``i``) should pick policy ``i`` and column ``j``
    (policy ``j``) should pick instruction ``j``.
    """
    checks.positive_real("delta (the temperature)", delta)
    if not isinstance(S, torch.Tensor):
        raise ValueError(f"S must be a torch tensor, got {type(S).__name__}")
    if S.dim() != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise ValueError(f"S must be a non-empty square matrix, got shape {tuple(S.shape)}")
    logits = S / delta
    n = S.shape[0]
    rows = torch.log_softmax(logits, dim=1).diagonal().sum()
    cols = torch.log_softmax(logits, dim=0).diagonal().sum()
    return -(rows + cols) / (2 * n)


class Alignment(torch.nn.Module):
    """The two projections, plus the policy standardisation fitted on the training policies.

    Args:
        lang_dim: size of the sentence embeddings.
        policy_mean, policy_std: ``(D,)`` standardisation of flat policy vectors.
        dim: size of the shared space.
        seed: seeds the projections' initial weights.
        bias: give both projections a bias term.
        similarity: ``"dot"`` or ``"cosine"`` (see :class:`AlignConfig`).
    """

    def __init__(self, lang_dim: int, policy_mean: torch.Tensor, policy_std: torch.Tensor,
                 dim: int, seed: int, bias: bool = True, similarity: str = "dot"):
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        D = policy_mean.numel()
        self.cosine = checks.choice("similarity", similarity, SIMILARITIES) == "cosine"
        self.register_buffer("policy_mean", policy_mean.clone())
        self.register_buffer("policy_std", policy_std.clone())
        self.lang = torch.nn.Linear(lang_dim, dim, bias=bias)
        self.policy = torch.nn.Linear(D, dim, bias=bias)
        with torch.no_grad():
            for layer, fan_in in ((self.lang, lang_dim), (self.policy, D)):
                bound = fan_in ** -0.5
                layer.weight.copy_((torch.rand(layer.weight.shape, generator=g) * 2 - 1) * bound)
                if bias:
                    layer.bias.copy_((torch.rand(layer.bias.shape, generator=g) * 2 - 1)
                                     * bound)

    def project_language(self, emb: torch.Tensor) -> torch.Tensor:
        """``Proj_L(tau(l))``: ``(N, lang_dim)`` -> ``(N, dim)``."""
        return self.lang(emb)

    def project_policy(self, flat: torch.Tensor) -> torch.Tensor:
        """``Proj_P(nn(pi))``: flat weights ``(N, D)`` -> ``(N, dim)`` (standardised first)."""
        return self.policy((flat - self.policy_mean) / self.policy_std)

    def similarity(self, emb: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
        """``S_ij = <Proj_L(tau(l_i)), Proj_P(nn(pi_j))>``: ``(N, M)`` (both projections
        L2-normalised first when the config's similarity is ``"cosine"``)."""
        lang, pol = self.project_language(emb), self.project_policy(flat)
        if self.cosine:
            lang = torch.nn.functional.normalize(lang, dim=-1)
            pol = torch.nn.functional.normalize(pol, dim=-1)
        return lang @ pol.T

    def step3_cosines(self, lang_emb: torch.Tensor,
                      policies: torch.Tensor | None = None) -> torch.Tensor:
        """Algorithm 2, step 3: the cosine of the projected target instruction with each
        base, ``(N,)``.

        Args:
            lang_emb: ``(N + 1, lang_dim)`` sentence embeddings, the ``N`` bases then the
                target (projected together, as one batch).
            policies: ``None`` compares with the projected base *instructions*, as the
                paper prints it; the flat base policies ``(N, D)`` compare with the projected
                policies instead.
        """
        n = lang_emb.shape[0] - 1
        with torch.no_grad():
            proj = self.project_language(lang_emb)
            keys = proj[:n] if policies is None else self.project_policy(policies)
        return cosine_matrix(proj[n:], keys)[0]


def init_alignment(lang_emb: torch.Tensor, policies: torch.Tensor,
                   config: AlignConfig | None = None, seed: int = 0) -> Alignment:
    """An untrained :class:`Alignment` for these pairs (standardisation fitted, projections
    random): the "before" of an alignment. Checks the inputs like :func:`train_alignment`."""
    cfg = config or AlignConfig()
    if not isinstance(cfg, AlignConfig):
        raise ValueError(f"config must be an AlignConfig, got {type(cfg).__name__}")
    lang_emb = checks.finite("lang_emb (the sentence embeddings)", lang_emb)
    policies = checks.finite("policies (the flat policy weights)", policies)
    if lang_emb.dim() != 2 or policies.dim() != 2:
        raise ValueError(f"lang_emb and policies must be 2-D: (N, features), got shapes "
                         f"{tuple(lang_emb.shape)} and {tuple(policies.shape)}")
    if lang_emb.shape[0] < 2:
        raise ValueError(f"got {lang_emb.shape[0]} (instruction, policy) pair(s): alignment "
                         f"needs at least two (with one, the contrastive loss is always 0)")
    if lang_emb.shape[0] != policies.shape[0]:
        raise ValueError(f"got {lang_emb.shape[0]} instructions but {policies.shape[0]} "
                         f"policies: alignment needs one policy per instruction")
    policies = policies.to(torch.float32)
    mean = policies.mean(0)
    std = policies.std(0, unbiased=False).clamp(min=1e-8) if policies.shape[0] > 1 \
        else torch.ones_like(mean)
    return Alignment(lang_emb.shape[1], mean, std, cfg.dim, seed, cfg.bias, cfg.similarity)


def train_alignment(lang_emb: torch.Tensor, policies: torch.Tensor,
                    config: AlignConfig | None = None, seed: int = 0,
                    progress: bool = False) -> tuple[Alignment, list[float]]:
    """Fit the projections on ``N`` (instruction, policy) pairs.

    Args:
        lang_emb: ``(N, lang_dim)`` sentence embeddings of the base instructions.
        policies: ``(N, D)`` flat weights of the matching base policies (row i <-> row i).
        config: hyperparameters.
        seed: seeds the projections (one per trial).
        progress: show a tqdm bar.

    Returns:
        ``(model, losses)`` with the loss before each step and after the last one.
    """
    cfg = config or AlignConfig()
    model = init_alignment(lang_emb, policies, cfg, seed)
    lang_emb = torch.as_tensor(lang_emb).to(torch.float32)
    policies = torch.as_tensor(policies).to(torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, fused=True)
    losses = []
    for _ in tqdm(range(cfg.epochs), desc="alignment", disable=not progress, leave=False):
        loss = clip_loss(model.similarity(lang_emb, policies), cfg.delta)
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        losses.append(float(clip_loss(model.similarity(lang_emb, policies), cfg.delta)))
    model.eval()
    return model, losses
