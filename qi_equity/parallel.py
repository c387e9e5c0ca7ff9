"""One helper for independent jobs in forked processes (each provider's metrics, each provider's
audit): the results in the jobs' order."""

from __future__ import annotations


def fork_map(fn, jobs: list, workers: int) -> list:
    """``[fn(j) for j in jobs]``, in up to ``workers`` forked processes when there is more than one
    job and more than one worker (``fn`` must be a module-level function)."""
    workers = min(int(workers), len(jobs))
    if workers <= 1:
        return [fn(j) for j in jobs]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        return list(ex.map(fn, jobs))
