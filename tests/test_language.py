"""Sentence embeddings: the offline default model, the on-disk cache, clear errors."""

import pytest
import torch

from cliprl_helpers.core import language


def test_encoder_offline_default_and_cache():
    enc = language.Encoder()
    e = enc(["top left first", "top left second", "top left first"])
    assert e.shape == (3, enc.dim) and enc.dim == 384
    torch.testing.assert_close(e[0], e[2])
    cos = language.cosine_matrix(e)
    assert cos[0, 1] > 0.8  # the two instructions differ by one word
    with pytest.raises(ValueError, match="at least one string"):
        enc([])


def test_encoder_keeps_embeddings_on_disk_and_does_not_load_the_model_again(
        tmp_path, monkeypatch):
    first = language.Encoder(cache_dir=tmp_path)(["go to the red cone", "top left first"])
    monkeypatch.setattr(language, "load_encoder",
                        lambda *a: pytest.fail("model loaded although embeddings are stored"))
    again = language.Encoder(cache_dir=tmp_path)(["top left first", "go to the red cone"])
    assert torch.equal(again, first[[1, 0]])
    with pytest.raises(ValueError, match="not one string"):
        language.Encoder(cache_dir=tmp_path)("top left first")


def test_a_damaged_embedding_cache_is_ignored_with_a_warning(tmp_path):
    enc = language.Encoder(cache_dir=tmp_path)
    enc(["top left first"])
    [f] = tmp_path.glob("embeddings-*.json")
    f.write_text('{"top left first": [1.0, "x"]}')
    with pytest.warns(UserWarning, match="damaged embedding cache"):
        again = language.Encoder(cache_dir=tmp_path)(["top left first"])
    torch.testing.assert_close(again, enc(["top left first"]))


def test_encoder_missing_model_says_how_to_fix(tmp_path):
    with pytest.raises(ValueError, match="cannot load sentence model.*local sentence-transformers"):
        language.Encoder(str(tmp_path / "no-such-model"), cache_dir=tmp_path)
