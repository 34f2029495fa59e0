"""One torch thread per process in reference numerics, deterministic algorithms on."""

import pytest
import torch

from cliprl_helpers.repro import threads


def test_the_package_pinned_one_thread_and_determinism():
    assert torch.get_num_threads() == 1
    assert threads.pin_threads() == 1 and torch.get_num_threads() == 1


def test_other_thread_counts_are_refused_in_reference_numerics(monkeypatch):
    with pytest.raises(ValueError, match="reference numerics compute on 1 thread, got 2"):
        threads.pin_threads(2)
    monkeypatch.setenv("CLIPRL_TORCH_THREADS", "zero")
    with pytest.raises(ValueError, match="CLIPRL_TORCH_THREADS must be a positive integer, got "
                                         "'zero'"):
        threads.requested_threads()
    monkeypatch.setenv("CLIPRL_TORCH_THREADS", "3")
    assert threads.requested_threads() == 3
