"""Worker processes for the report runner, and stopping them on a signal.

``workers`` long-lived processes, each with its own warm kernel; tasks are handed out one at a
time to whichever worker is free. A worker that dies (killed, out of memory) fails only the task
it was running and is replaced for the tasks still to run.

Signals. The runner's main process turns SIGTERM and SIGINT into a flag (:class:`StopFlag`)
that the pool checks twice a second; it then stops every worker: SIGTERM first (a worker kills its
kernels and exits), SIGKILL after a grace period, and finally any process descended from a worker
that is still alive (its kernels, which jupyter_client starts in sessions of their own, so a
process-group signal would miss them). Workers ignore SIGINT (a Ctrl-C reaches the whole foreground
group; the main process decides) and ask the kernel (``prctl(PR_SET_PDEATHSIG)``, Linux) to send
them SIGTERM if the main process dies without stopping them, so nothing outlives a run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from multiprocessing.connection import wait
from pathlib import Path


class Interrupted(Exception):
    """The run was stopped by a signal; ``signum`` says which."""

    def __init__(self, signum: int):
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")


class StopFlag:
    """SIGTERM and SIGINT, caught in the main thread and kept as a flag (``signum``), so the run
    stops at a point of its own choosing, never half-way through writing a file."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signum: int | None = None
        self._old: dict = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        self._old = {}

    def _handle(self, signum, frame):
        self.signum = self.signum or signum

    def check(self):
        """Raise :class:`Interrupted` if a signal has arrived."""
        if self.signum:
            raise Interrupted(self.signum)


def descendants(pids) -> set[int]:
    """Every live process descended from ``pids`` (read from ``/proc``; empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for e in entries:
        if not e.isdigit():
            continue
        try:
            stat = Path(f"/proc/{e}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(e))
    out, todo = set(), list(pids)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _die_with_parent():
    """Ask Linux to send this process SIGTERM when its parent dies (no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _terminate_worker(signum, frame):
    """A worker told to stop: kill its kernels (and anything they started), then exit at once."""
    from qi_equity.reports import notebooks

    for pid in notebooks.kernel_pids():
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
    notebooks.remove_ipc_dir()
    os._exit(128 + signum)


def _worker_main(conn, run_task, prestart=None):
    """A pool worker: run tasks from ``conn`` with ``run_task`` on this worker's warm kernel until
    told to stop."""
    import gc

    from qi_equity.reports import notebooks

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminate_worker)
    _die_with_parent()
    gc.freeze()  # what the parent imported (great-expectations among it) is never collected
    try:
        if prestart:
            try:
                notebooks.prestart_kernel(*prestart)
            except Exception:  # the first report starts its kernel the usual way
                pass
        while True:
            try:
                task = conn.recv()
            except EOFError:
                break
            if task is None:
                break
            conn.send(run_task(task))
    finally:
        notebooks.shutdown_warm_kernels(now=True)
        notebooks.remove_ipc_dir()


class WorkerPool:
    """``workers`` long-lived worker processes, each running ``run_task(task) -> dict``."""

    def __init__(self, workers: int, run_task, prestart: tuple[str, str] | None = None, stop: StopFlag | None = None):
        self.size = max(1, int(workers))
        self.run_task = run_task
        self.prestart = prestart  # (kernel, notebook folder) each worker launches as it starts
        self.stop_flag = stop or StopFlag()
        self.ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
        self.idle: list = []
        self.busy: dict = {}  # conn -> (proc, task index)
        self.n_started = 0

    def _start(self):
        parent, child = self.ctx.Pipe()
        self.n_started += 1
        proc = self.ctx.Process(target=_worker_main, args=(child, self.run_task, self.prestart),
                                name=f"qi-equity-worker-{self.n_started}", daemon=True)
        proc.start()
        child.close()
        return proc, parent

    def map(self, tasks: list[dict], on_start=None, on_done=None) -> list:
        """Run ``tasks``; results in task order (a task whose worker died gets ``{"_died": code}``).

        Raises :class:`Interrupted` when a signal arrives; ``self.results`` then holds what
        finished (``None`` elsewhere) and ``self.running`` the indices that were running.
        """
        self.results: list = [None] * len(tasks)
        pending = list(enumerate(tasks))
        while pending or self.busy:
            self.stop_flag.check()
            while pending and len(self.busy) < self.size:
                proc, conn = self.idle.pop() if self.idle else self._start()
                i, task = pending.pop(0)
                conn.send(task)
                self.busy[conn] = (proc, i)
                if on_start:
                    on_start(i)
            ready = wait(list(self.busy) + [proc.sentinel for proc, _ in self.busy.values()], timeout=0.5)
            for conn in [c for c in list(self.busy) if c in ready or self.busy[c][0].sentinel in ready]:
                proc, i = self.busy.pop(conn)
                try:
                    self.results[i] = conn.recv()
                    self.idle.append((proc, conn))
                except (EOFError, OSError):  # died before answering
                    proc.join()
                    self.results[i] = {"_died": proc.exitcode}
                    conn.close()
                if on_done:
                    on_done(i, self.results[i])
        return self.results

    @property
    def running(self) -> list[int]:
        return [i for _, i in self.busy.values()]

    def close(self):
        """Stop idle workers gracefully (busy ones, after an interrupt, are :meth:`terminate`-d)."""
        if self.busy:
            self.terminate()
        for proc, conn in self.idle:
            try:
                conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for proc, conn in self.idle:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
            conn.close()
        self.idle = []

    def terminate(self, grace: float = 5.0):
        """Stop every worker now: SIGTERM, then SIGKILL after ``grace`` seconds, then any process
        descended from them that is still alive (their kernels)."""
        procs = [p for p, _ in self.idle] + [p for p, _ in self.busy.values()]
        family = descendants([p.pid for p in procs if p.pid])
        for p in procs:
            if p.is_alive():
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for p in procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
        for pid in family:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for conn in [c for _, c in self.idle] + list(self.busy):
            try:
                conn.close()
            except OSError:
                pass
        self.idle, self.busy = [], {}
