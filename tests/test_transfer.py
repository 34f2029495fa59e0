"""Weighting schemes, weight averaging, the CLIP loss, the encoder, the experiment's inputs."""

import math

import pytest
import torch

from cliprl_helpers.core import alignment, experiment, language, transfer


def test_paper_weights_exactly_as_printed():
    w, info = transfer.similarity_weights(torch.tensor([0.5, 0.3, 0.2]), "paper")
    torch.testing.assert_close(w, torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64))
    assert not info["negative"] and not info["extrapolates"]


def test_paper_weights_with_negative_similarity_warn_and_extrapolate():
    with pytest.warns(transfer.NegativeWeightWarning, match="extrapolates"):
        w, info = transfer.similarity_weights(torch.tensor([0.6, -0.2]), "paper")
    torch.testing.assert_close(w, torch.tensor([1.5, -0.5], dtype=torch.float64))
    assert info["negative"] and info["extrapolates"]


def test_paper_weights_sum_near_zero_raises():
    with pytest.raises(ValueError, match=r"sum to 0 \(near zero\).*softmax"):
        transfer.similarity_weights(torch.tensor([0.5, -0.5]), "paper")


def test_softmax_positive_top1():
    d = torch.tensor([0.2, -0.1, 0.4])
    w, _ = transfer.similarity_weights(d, "softmax", temperature=0.1)
    e = torch.exp(d.double() / 0.1)
    torch.testing.assert_close(w, e / e.sum())
    w, _ = transfer.similarity_weights(d, "positive")
    torch.testing.assert_close(w, torch.tensor([1 / 3, 0, 2 / 3], dtype=torch.float64))
    w, _ = transfer.similarity_weights(d, "top1")
    assert w.tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="no positive similarity"):
        transfer.similarity_weights(torch.tensor([-0.1, -0.2]), "positive")


def test_unknown_weighting_raises():
    with pytest.raises(ValueError, match="unknown weighting scheme 'mean'.*paper, softmax"):
        transfer.similarity_weights(torch.tensor([1.0]), "mean")


def test_average_policies_is_the_weighted_sum():
    a = {"W": torch.tensor([1.0, 2.0]), "b": torch.tensor([0.0])}
    b = {"W": torch.tensor([3.0, 6.0]), "b": torch.tensor([4.0])}
    avg = transfer.average_policies([a, b], torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(avg["W"], torch.tensor([2.5, 5.0]))
    torch.testing.assert_close(avg["b"], torch.tensor([3.0]))


def test_average_policies_refuses_other_architectures():
    a = {"W": torch.zeros(2, 3)}
    with pytest.raises(ValueError, match="shape .* only policies of one architecture"):
        transfer.average_policies([a, {"W": torch.zeros(3, 3)}], torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="has tensors"):
        transfer.average_policies([a, {"V": torch.zeros(2, 3)}], torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="3 weights for 2 policies"):
        transfer.average_policies([a, a], torch.tensor([0.2, 0.3, 0.5]))


def test_instruction_checks():
    with pytest.raises(ValueError, match="no base instructions"):
        transfer.check_instructions("top left third", [])
    with pytest.raises(ValueError, match="is one of the base instructions"):
        transfer.check_instructions("top left first", ["top left first", "top right first"])


def test_oracle_picks_nearest_goal():
    w = transfer.nearest_goal_weights((0, 7), [(0, 0), (0, 1), (0, 9), (0, 8)])
    assert w.tolist() == [0.0, 0.0, 0.0, 1.0]


def test_clip_loss_matches_hand_computation():
    S = torch.tensor([[1.0, 0.0], [0.5, 2.0]])
    delta = 0.5
    # rows: softmax over j of S_ij / delta; columns: softmax over i
    r0 = 2.0 - math.log(math.exp(2.0) + math.exp(0.0))
    r1 = 4.0 - math.log(math.exp(1.0) + math.exp(4.0))
    c0 = 2.0 - math.log(math.exp(2.0) + math.exp(1.0))
    c1 = 4.0 - math.log(math.exp(0.0) + math.exp(4.0))
    expected = -(r0 + r1) / 4 - (c0 + c1) / 4
    assert alignment.clip_loss(S, delta).item() == pytest.approx(expected, rel=1e-6)
    # a perfectly separated, sharp S has a loss near 0; a constant one has log N
    assert alignment.clip_loss(torch.eye(3) * 50, 0.1).item() < 1e-6
    assert alignment.clip_loss(torch.ones(3, 3), 0.1).item() == pytest.approx(math.log(3))


def test_clip_loss_bad_delta():
    with pytest.raises(ValueError, match="delta .* must be a finite number > 0"):
        alignment.clip_loss(torch.eye(2), 0.0)
    with pytest.raises(ValueError, match="delta .* must be a finite number > 0"):
        alignment.AlignConfig(delta=-1.0)


def test_alignment_learns_the_pairing_and_checks_inputs():
    g = torch.Generator().manual_seed(0)
    lang, pol = torch.randn(4, 8, generator=g), torch.randn(4, 30, generator=g)
    model, losses = alignment.train_alignment(lang, pol, alignment.AlignConfig(epochs=200),
                                              seed=0)
    assert losses[-1] < 0.1 * losses[0]
    with torch.no_grad():
        S = model.similarity(lang, pol)
    assert S.argmax(1).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="4 instructions but 3 policies"):
        alignment.train_alignment(lang, pol[:3])
    with pytest.raises(ValueError, match="got 0 \\(instruction, policy\\) pair"):
        alignment.train_alignment(lang[:0], pol[:0])


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


def test_experiment_rejects_bad_methods_and_weighting():
    with pytest.raises(ValueError, match="unknown method"):
        experiment.run_grid(5, methods=["scratch", "magic"])
    with pytest.raises(ValueError, match="unknown weighting scheme"):
        experiment.run_grid(5, weighting="mean")
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1"):
        experiment.run_grid(5, n_trials=0)
