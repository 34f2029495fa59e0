"""Where the sweep's runs execute: a local Dask cluster of one-thread workers on 127.0.0.1,
stopped without leaving a process behind, and a clear error for an unreachable scheduler."""

import pytest

from cliprl_helpers.repro import cluster


def _worker_threads():
    import torch  # in the worker process

    return torch.get_num_threads()


def test_a_local_cluster_runs_tasks_and_stops_every_process():
    client, local = cluster.start(None, 1)
    try:
        assert client.submit(_worker_threads).result(timeout=120) == 1
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 1 and all("127.0.0.1" in w for w in workers)
    finally:
        cluster.stop(client, local, [], cluster.children())
    assert not [p for p in cluster.children() if p.is_running() and p.status() != "zombie"]


def test_an_unreachable_scheduler_is_a_clear_error():
    with pytest.raises(cluster.ClusterError, match="cannot reach the Dask scheduler at "
                                                   "tcp://127.0.0.1:9"):
        cluster.start("tcp://127.0.0.1:9", 1, timeout="2s")
