"""Where a sweep's runs execute: a Dask client on an existing scheduler or on a local cluster
of one-thread worker processes on 127.0.0.1, and a stop that leaves no process behind."""

from __future__ import annotations

import logging
import signal
import threading

import psutil

# Dask takes seconds to import; the sweep imports this module only when runs are to execute.
from distributed import Client, LocalCluster, as_completed  # noqa: F401 (the sweep's)


class ClusterError(Exception):
    """The scheduler cannot be reached."""


def start(scheduler: str | None, jobs: int, timeout: str = "20s"):
    """``(client, cluster)``: a Dask client on ``scheduler``, or on a new local cluster of
    ``jobs`` workers (returned too; ``None`` with a scheduler). ``ClusterError`` if the
    scheduler cannot be reached."""
    if scheduler:
        try:
            return Client(scheduler, timeout=timeout), None
        except OSError as e:
            raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {e}") \
                from None
    # Ctrl-C in a terminal sends SIGINT to its whole foreground process group: Dask's nanny
    # and worker processes would each print a KeyboardInterrupt traceback. Started with
    # SIGINT ignored (a disposition a spawned process inherits; Python and asyncio then
    # install no handler of their own), they leave it to the sweep, which stops them.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               silence_logs=logging.ERROR)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    return Client(cluster), cluster


def stop(client, cluster, futures, children) -> None:
    """Cancel the tasks, close the cluster and make sure no process of ours survives."""
    try:
        client.cancel(futures, force=True)
    except Exception:  # noqa: BLE001 - the cluster may already be going away
        pass
    for closer in (client, cluster):
        if closer is not None:
            try:
                closer.close(timeout=3)
            except Exception:  # noqa: BLE001
                pass
    procs = [*children, *psutil.Process().children(recursive=True)]
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=2)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)  # a killed process is gone only once it has exited


def children() -> list:
    """This process's child processes (the workers of a local cluster among them)."""
    return psutil.Process().children(recursive=True)
