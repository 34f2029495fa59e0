"""Leave-one-out: its result table is cached under a key of every argument that can change
a number: a changed alignment setting, model, init mode or trainer version misses."""

import pandas as pd
import pytest

from cliprl_helpers.core import alignment, dqn, leave_one_out, tasks


class _FakeBases:
    def subset(self, instructions):
        return self


@pytest.fixture
def counted(monkeypatch):
    """leave_one_out with training replaced by a counter (the cache is what is tested)."""
    calls = []

    def fake_plan_grid(size, config=None, **kwargs):
        calls.append(kwargs)
        return type("Plan", (), {"job": len(calls)})()

    def fake_finish_grid(plan, result):
        table = pd.DataFrame({"method": ["scratch"], "steps_to_converge": [result]})
        return type("R", (), {"table": table})()

    monkeypatch.setattr(leave_one_out, "plan_grid", fake_plan_grid)
    monkeypatch.setattr(leave_one_out, "train_jobs", lambda jobs, **k: list(jobs))
    monkeypatch.setattr(leave_one_out, "finish_grid", fake_finish_grid)
    monkeypatch.setattr(leave_one_out, "train_base_policies", lambda *a, **k: _FakeBases())
    return calls


def _loo(tmp_path, **kwargs):
    family = tasks.top_row_family(4)
    return leave_one_out.leave_one_out(family, 4, targets=["top left second"], n_trials=1,
                                    cache_dir=tmp_path, progress=False, **kwargs)[0]


def test_same_arguments_hit_the_cache_in_its_folder(tmp_path, counted):
    a = _loo(tmp_path)
    b = _loo(tmp_path)
    assert len(counted) == 1 and a.equals(b)
    assert list(tmp_path.glob("loo-*.csv")), "leave_one_out must honour cache_dir"
    assert counted[0]["cache_dir"] == tmp_path  # and pass it on to plan_grid


@pytest.mark.parametrize("change", [
    {"align_config": alignment.AlignConfig(delta=0.2)},
    {"align_config": alignment.AlignConfig(dim=8)},
    {"dqn_config": dqn.DQNConfig(learning_rate=0.02)},
    {"init_mode": "independent"},
    {"model": "another-model"},
    {"weighting": "top1"},
    {"policy_repr": "qvalues"},
])
def test_any_changed_setting_misses(tmp_path, counted, change):
    _loo(tmp_path)
    _loo(tmp_path, **change)
    assert len(counted) == 2


def test_default_spelled_out_is_the_same_key(tmp_path, counted):
    _loo(tmp_path)
    _loo(tmp_path, align_config=alignment.AlignConfig(), weighting="paper")
    assert len(counted) == 1


def test_a_new_trainer_version_misses(tmp_path, counted, monkeypatch):
    _loo(tmp_path)
    monkeypatch.setattr(leave_one_out, "TRAINER_VERSION", dqn.TRAINER_VERSION + 1)
    _loo(tmp_path)
    assert len(counted) == 2
