"""Run the collaborative's reports: validate -> execute -> export, per provider, isolated.

Each provider runs on a worker process (:mod:`qi_equity.reports.pool`, at most ``workers`` at
once) with a warm kernel (:mod:`qi_equity.reports.notebooks`). Inside it the extract is validated
while ``notebooks/provider_report.ipynb`` runs on the kernel; the notebook's output is used only if
validation passes. A provider's report, metrics and findings are published together or not at all
(:func:`qi_equity.reports.outputs.publish_unit`). A provider that fails -- bad data, a notebook
error, a full disk, a worker that dies -- keeps its previous outputs (marked not current), shows
its error on the index page and makes the exit code non-zero; the others carry on.

The run holds a lock on its output folder, checks it is writable before any notebook runs, and
records each provider's state in ``run.json`` as it goes. SIGTERM or SIGINT stops it within
seconds: workers and kernels are stopped, ``run.json`` and the index say which providers were
done, interrupted or not started, and ``--resume`` runs exactly those. The collaborative report
compares only providers whose outputs are current (see :func:`qi_equity.reports.outputs.current`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
import traceback
from pathlib import Path

from qi_equity.reports import outputs as O
from qi_equity.reports.config import Collaborative, public_message, safe_name  # noqa: F401
from qi_equity.reports.index_page import write_index
from qi_equity.reports.notebooks import (CELL_TIMEOUT, DEFAULT_KERNEL, TEMPLATES, ensure_kernel,  # noqa: F401
                                         execute_notebook, export_html, find_notebooks, kernel_unusable,
                                         notebook_error, prestart_kernel, shutdown_warm_kernels, warm_kernel)
from qi_equity.reports.pool import Interrupted, StopFlag, WorkerPool

FAULT_KILL_ENV = "QI_EQUITY_FAULT_KILL"  # fault injection (tests): these providers' workers die mid-write
FAULT_ENOSPC_ENV = O.FAULT_ENOSPC_ENV


class _Validation(threading.Thread):
    """Validate an extract in a background thread while the notebook runs on the kernel.

    The notebook's output is speculative: it is published only if validation passes. When
    validation fails, the kernel (``km``) is killed so that a bad extract does not cost a whole
    notebook run; the worker replaces it for its next report. (A kill, not an interrupt: an
    interrupt reaching ipykernel while it sends a reply is swallowed and the client waits for ever.)
    """

    def __init__(self, raw, census_date, source: str, code: str, km=None):
        super().__init__(daemon=True, name="qi-equity-validation")
        self.raw, self.census_date, self.source, self.code, self.km = raw, census_date, source, code, km
        self.killed_kernel = False
        self.report = self.error = None
        self.seconds = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.error) or (self.report is not None and not self.report.ok)

    def run(self):
        from qi_equity.data.validation import validate_extract
        from qi_equity.reports.internals import kill_kernel

        t = time.time()
        try:
            self.report = validate_extract(self.raw, census_date=self.census_date, source=self.source,
                                           provider_code=self.code)
        except Exception as exc:  # reported like any other failure of the provider
            self.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"[:3000]
        finally:
            self.raw = None
            self.seconds = round(time.time() - t, 3)
        if self.km is not None and self.failed:
            self.killed_kernel = True
            kill_kernel(self.km)


def _rule(job: dict) -> dict:
    return {"threshold": int(job.get("threshold", 5)), "min_median": int(job.get("min_median", 10)),
            "hes": bool(job.get("hes", False))}


def run_provider(job: dict) -> dict:
    """Validate, execute and export one provider. Never raises: returns a status dict.

    ``job`` keys: ``code, name, extract, census_date, out_dir, notebook, kernel, threshold``
    (and ``min_median, hes, lens_data, warm, cell_timeout``). The status has ``code, name,
    status (ok/failed), stage, error, report, metrics, findings, files (path -> SHA-256),
    rule, finished_at, seconds, stage_seconds``.
    """
    t0 = time.time()
    code = job["code"]
    status = {"code": code, "name": job["name"], "status": "failed", "stage": "validation", "error": "",
              "report": None, "metrics": None, "seconds": None, "stage_seconds": {}}
    out = Path(job["out_dir"])
    tmp = Path(tempfile.mkdtemp(prefix=f"qi-equity-{code}-"))
    try:
        from qi_equity.data.io import read_raw
        from qi_equity.data.validation import validate_extract

        try:
            raw = read_raw(job["extract"])
        except Exception as exc:  # unreadable file: the reader's message names the problem
            what = str(exc) if isinstance(exc, (ValueError, OSError)) else f"{type(exc).__name__}: {exc}"
            status["error"] = public_message(f"could not read {Path(job['extract']).name}: {what}")
            return status
        source = Path(job["extract"]).name
        if job.get("_kill_after_validation"):  # fault injection: validate, then the worker dies
            validate_extract(raw, census_date=job["census_date"], source=source)
            status["stage"] = "notebook"
            return status
        warm = job.get("warm", True)
        kernel, cwd = job.get("kernel", DEFAULT_KERNEL), str(Path(job["notebook"]).parent)
        try:
            km = warm_kernel(kernel, cwd) if warm else None
        except Exception as exc:  # the kernel would not start or reset
            status.update(stage="notebook", error=f"report kernel: {type(exc).__name__}: {exc}")
            return status
        validation = _Validation(raw, job["census_date"], source, code, km)
        del raw
        validation.start()
        rule = _rule(job)
        params = dict(provider_code=code, provider_name=job["name"], data_path=job["extract"],
                      census_date=job["census_date"], suppression_threshold=rule["threshold"],
                      min_median=rule["min_median"], hes_rule=rule["hes"],
                      validate=False, metrics_path=str(tmp / "metrics.json"), findings_path=str(tmp / "findings.json"),
                      lens_data=job.get("lens_data") or "", core20plus5_mapping=job.get("core20plus5_mapping") or "")
        t_nb = time.time()
        nb = failure = None
        try:
            nb = execute_notebook(job["notebook"], str(tmp / "executed.ipynb"), params, kernel, cwd, warm=warm, km=km,
                                  cell_timeout=job.get("cell_timeout", CELL_TIMEOUT))
        except Exception as exc:
            failure = exc
        status["stage_seconds"]["notebook"] = round(time.time() - t_nb, 3)
        validation.join()
        status["stage_seconds"]["validation"] = validation.seconds
        if warm and (validation.killed_kernel or kernel_unusable(failure)):
            shutdown_warm_kernels(only=(kernel, cwd), now=True)  # reaped (it may not have exited yet)
            try:
                prestart_kernel(kernel, cwd)  # and a new one boots now, for this worker's next report
            except Exception:
                pass
        if validation.failed:  # the extract's own fault comes first
            status["error"] = (public_message(validation.error) if validation.error else
                               validation.report.format(public=True)
                               + f"\nTo see the failing values: qi-equity validate {Path(job['extract']).name}")
            return status
        status["stage"] = "notebook"
        if failure is not None:
            status["error"] = public_message(notebook_error(failure))
            return status
        status["stage"] = "export"
        t_ex = time.time()
        files = {f"metrics/{code}.json": (tmp / "metrics.json").read_bytes(),
                 f"findings/{code}.json": (tmp / "findings.json").read_bytes(),
                 f"{code}.html": export_html(nb, f"{job['name']} ({code}): equity report")}
        try:
            hashes = O.publish_unit(out, code, files)
        except OSError as exc:
            status["error"] = public_message(f"could not write the report's files ({exc.strerror or exc}); "
                                             "none of them was replaced")
            return status
        status["stage_seconds"]["export"] = round(time.time() - t_ex, 3)
        status.update(status="ok", stage="done", report=f"{code}.html", metrics=f"metrics/{code}.json",
                      findings=f"findings/{code}.json", files=hashes, rule=rule,
                      finished_at=time.strftime("%Y-%m-%d %H:%M:%S"),
                      top_findings=_top_findings(files[f"findings/{code}.json"]))
        return status
    except Exception as exc:
        status["error"] = public_message(f"{type(exc).__name__}: {exc}")
        status["detail"] = traceback.format_exc(limit=3)[:3000]   # run.json only, never the index
        return status
    finally:
        status["seconds"] = round(time.time() - t0, 2)
        shutil.rmtree(tmp, ignore_errors=True)


def _top_findings(data: bytes, n: int = 3) -> list[str]:
    """The first ``n`` headline sentences of a published findings file (for the index)."""
    try:
        payload = json.loads(data)
        cols = payload["findings"]["columns"]
        rows = [dict(zip(cols, r)) for r in payload["findings"]["data"]]
    except (ValueError, KeyError, TypeError):
        return []
    return [r["sentence"] for r in rows if r.get("headline") and r.get("kind") != "too_few"][:n]


def _fault_kill(job: dict):
    # Fault injection for tests: a worker killed mid-run (as by the OOM killer) for the named
    # provider(s): it dies after validation, in the middle of writing its report.
    import signal

    run_provider(dict(job, _kill_after_validation=True))
    fd, _ = tempfile.mkstemp(prefix=f".{job['code']}.html.", suffix=".tmp", dir=job["out_dir"])
    os.write(fd, b"<html>half-written")  # dies mid-write
    os.kill(os.getpid(), signal.SIGKILL)


def _run_task(task: dict) -> dict:
    if task.get("kind") == "collaborative":
        return run_collaborative_notebook(**task["args"])
    if task["code"] in os.environ.get(FAULT_KILL_ENV, "").split(","):
        _fault_kill(task)
    return run_provider(task)


def _state(job: dict, status: str, stage: str, error: str) -> dict:
    return {"code": job["code"], "name": job["name"], "status": status, "stage": stage, "report": None,
            "metrics": None, "seconds": None, "error": error}


def _died_status(job: dict, exitcode) -> dict:
    how = f"signal {-exitcode}" if exitcode and exitcode < 0 else f"exit code {exitcode}"
    return _state(job, "failed", "worker", f"the worker process died ({how}) before finishing")


def _line(res: dict) -> str:
    """A provider's console line: its status and, on failure, the first failing rules."""
    if res.get("status") == "ok":
        return f"  {res['code']:<6} ok        {res.get('seconds') or 0:6.1f} s"
    lines = [ln.strip() for ln in (res.get("error") or "").splitlines() if ln.strip()]
    rules = [ln for ln in lines if ln.startswith("- ")][:3] or lines[:1]
    return f"  {res['code']:<6} {res.get('status')} at {res.get('stage')}" + "".join(f"\n           {r}" for r in rules)


def run_local(jobs: list[dict], workers: int, progress: bool = True, pool: WorkerPool | None = None,
              on_done=None) -> list[dict]:
    """Run jobs on a pool of ``workers`` worker processes (or on ``pool``). A process that dies
    without a result (killed, out of memory) fails only its own provider. ``on_done(i, status)``
    is called as each finishes. Raises :class:`~qi_equity.reports.pool.Interrupted` on a signal."""
    if not jobs:
        return []
    try:  # share great-expectations and the contract suite with the forked workers (built once here)
        from qi_equity.data.validation import prepare_suite

        prepare_suite(jobs[0]["extract"], jobs[0]["census_date"])
    except Exception:  # an unreadable first extract fails in its worker, with its own message
        pass
    own = pool is None
    pool = pool or WorkerPool(min(workers, len(jobs)), _run_task)

    def done(i, res):
        res = _died_status(jobs[i], res["_died"]) if isinstance(res, dict) and "_died" in res else res
        if progress:
            print(_line(res), flush=True)
        if on_done:
            on_done(i, res)

    try:
        results = pool.map(jobs, on_done=done)
    finally:
        if own:
            pool.close()
    return [_died_status(job, res["_died"]) if "_died" in res else res for job, res in zip(jobs, results)]


def run_dask(jobs: list[dict], scheduler, progress: bool = True, stop: StopFlag | None = None,
             on_done=None) -> list[dict]:
    """Submit the per-provider runs to a Dask distributed scheduler (an address or a Client).
    Each Dask worker thread keeps a warm kernel between the providers it runs."""
    from distributed import Client
    from distributed import wait as dwait

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = {client.submit(run_provider, job, key=f"qi-equity-{job['code']}-{time.time_ns()}", pure=False): i
                   for i, job in enumerate(jobs)}
        results: list = [None] * len(jobs)
        pending = set(futures)
        while pending:
            if stop is not None and stop.signum:
                client.cancel(list(pending))
                stop.check()
            try:
                finished, pending = dwait(pending, timeout=0.5, return_when="FIRST_COMPLETED")
            except TimeoutError:  # none finished in the last half second: check for a signal
                continue
            for fut in finished:
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # the worker died or the task was lost
                    results[i] = _state(jobs[i], "failed", "worker", f"the Dask task failed: {type(exc).__name__}: {exc}")
                if progress:
                    print(_line(results[i]), flush=True)
                if on_done:
                    on_done(i, results[i])
        return results
    finally:
        if not isinstance(scheduler, Client):
            client.close()


def run_collaborative_notebook(title: str, census_date: str, out: str, kernel: str, threshold: int,
                               self_assessment_path: str = "", warm: bool = True, compare_dir: str = "",
                               left_out: str = "", action_log_path: str = "", nasss_path: str = "",
                               worksheets_path: str = "") -> dict:
    """Execute the collaborative notebook on the providers' metrics files and export it.

    ``compare_dir`` holds the metrics and findings of the providers to compare (default: the
    output folder's); ``left_out`` is the note on providers not compared, shown in the report."""
    nb_path = find_notebooks() / "collaborative_report.ipynb"
    out = Path(out)
    src = Path(compare_dir) if compare_dir else out
    status = {"status": "failed", "error": "", "report": None}
    tmp = Path(tempfile.mkdtemp(prefix="qi-equity-collab-"))
    try:
        nb = execute_notebook(str(nb_path), str(tmp / "executed.ipynb"),
                              dict(collaborative_title=title, census_date=census_date,
                                   metrics_dir=str((src / "metrics").resolve()),
                                   findings_dir=str((src / "findings").resolve()),
                                   collaborative_findings_path=str(tmp / "collaborative_findings.json"),
                                   suppression_threshold=threshold, self_assessment_path=self_assessment_path,
                                   left_out=left_out, action_log_path=action_log_path, nasss_path=nasss_path,
                                   worksheets_path=worksheets_path),
                              kernel, str(nb_path.parent), warm=warm)
        files = {"collaborative.html": export_html(nb, f"{title}: collaborative equity report")}
        if (tmp / "collaborative_findings.json").exists():
            files["collaborative_findings.json"] = (tmp / "collaborative_findings.json").read_bytes()
        O.publish_unit(out, "collaborative", files)
        status.update(status="ok", report="collaborative.html")
    except Exception as exc:
        status["error"] = public_message(notebook_error(exc))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def _carry(entry: dict, before: dict | None) -> dict:
    """A provider's new entry, carrying the outputs its last success left on disk when it did not
    succeed now (``kept``: their files, rule and date)."""
    if entry.get("status") != "ok":
        kept = O.published(before)
        if kept:
            entry = dict(entry, kept=kept)
    return entry


def run(config: str | Path, out_dir: str | Path = "reports", workers: int | None = None,
        providers: list[str] | None = None, only_failed: bool = False, progress: bool = True,
        scheduler=None, kernel: str = DEFAULT_KERNEL, threshold: int = 5, collaborative: bool = True,
        min_median: int = 10, hes: bool = False) -> dict:
    """Run the reports of a collaborative (``threshold``, ``min_median``, ``hes``: the disclosure
    rule, see :func:`qi_equity.reports.provider.disclosure_rule`). ``only_failed`` (``--resume``)
    runs only the providers whose outputs are not current: failed, interrupted, not started, made
    with another rule, or changed since.

    Returns
    -------
    dict
        ``{"out", "providers": [status...], "collaborative": status, "ok": bool, "interrupted":
        signal name or None, "left_out": [notes]}``; each provider status has ``code, name, status
        (ok / failed / interrupted / not run), stage, error, report, metrics, seconds``.

    Raises
    ------
    ValueError
        A config or option error, or an output folder that is locked by another run, not
        writable or too full (:class:`~qi_equity.reports.outputs.OutputError`): raised before any
        notebook runs.
    """
    collab = Collaborative.load(config)
    out = Path(out_dir) / collab.name
    codes = [p["code"] for p in collab.providers]
    unknown = sorted(set(providers or []) - set(codes))
    if unknown:
        raise ValueError(f"unknown provider code(s) {unknown}; the config lists {codes}")
    rule = _rule(dict(threshold=threshold, min_median=min_median, hes=hes))
    with O.RunLock(out) as lock, StopFlag() as stop:
        state_path = out / "run.json"
        previous = {}
        if state_path.exists():
            try:
                previous = {s["code"]: s for s in json.loads(state_path.read_text()).get("providers", [])}
            except (ValueError, KeyError, TypeError):
                previous = {}
        selected = [p for p in collab.providers if (not providers or p["code"] in providers)
                    and (not only_failed or not O.current(previous.get(p["code"]), rule, out)[0])]
        O.check_writable(out, len(selected))
        O.sweep_temporary_files(out)
        notebook = str((find_notebooks() / "provider_report.ipynb").resolve())
        ensure_kernel(kernel)
        if lock.took_over and progress:
            print(f"  (a run that ended without finishing held {out}: PID {lock.took_over.get('pid')}, started "
                  f"{lock.took_over.get('started')}; its lock is taken over)", flush=True)
        jobs = [dict(p, census_date=collab.census_date, out_dir=str(out), notebook=notebook, kernel=kernel,
                     lens_data=str(collab.lens_data or ""), core20plus5_mapping=collab.core20plus5_mapping or "",
                     **rule) for p in selected]
        entries = dict(previous)
        for job in jobs:  # recorded before anything runs: a run killed outright still leaves a record
            entries[job["code"]] = _carry(_state(job, "not run", "not started", "this run has not reached it yet"),
                                          previous.get(job["code"]))

        def record(extra=None):
            statuses = [entries.get(c) or _state(p, "not run", "not started", "not run yet")
                        for c, p in zip(codes, collab.providers)]
            O.publish_unit(out, "run", {"run.json": json.dumps(dict({"collaborative": collab.name, "rule": rule,
                                                                      "providers": statuses}, **(extra or {})),
                                                                 indent=1, sort_keys=True)})
            return statuses

        record({"running": {"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}})

        def on_done(i, res):
            entries[jobs[i]["code"]] = _carry(res, previous.get(jobs[i]["code"]))
            record({"running": {"pid": os.getpid()}})

        if workers is None:
            workers = min(len(jobs), os.cpu_count() or 1) or 1
        pool = (WorkerPool(max(1, min(workers, len(jobs) or 1)), _run_task, stop=stop,
                           prestart=(kernel, str(Path(notebook).parent))) if scheduler is None else None)
        interrupted, collab_status, notes = None, None, []
        results = []
        try:
            if progress and jobs:
                print(f"{len(jobs)} provider report(s) into {out}:", flush=True)
            results = (run_dask(jobs, scheduler, progress, stop, on_done) if scheduler is not None
                       else run_local(jobs, workers, progress, pool=pool, on_done=on_done))
            if collaborative:
                stop.check()
                tmp = Path(tempfile.mkdtemp(prefix="qi-equity-compare-"))
                try:
                    compared, notes = O.comparison_set(out, collab.providers, entries, rule, tmp)
                    if compared:
                        task = _collaborative_task(collab, out, kernel, threshold, tmp, notes)
                        if pool is not None:  # on a worker whose kernel is already warm
                            collab_status = pool.map([task])[0]
                            if "_died" in collab_status:
                                collab_status = {"status": "failed", "report": None,
                                                 "error": f"the worker process died (exit {collab_status['_died']})"}
                        else:
                            collab_status = run_collaborative_notebook(**task["args"], warm=False)
                    else:
                        collab_status = {"status": "failed", "report": None,
                                         "error": "no provider has current outputs to compare"}
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
        except Interrupted as sig:
            interrupted = sig.name
            running = set(pool.running) if pool is not None else set()
            if pool is not None:
                pool.terminate()
            for i, job in enumerate(jobs):
                e = entries[job["code"]]
                if e.get("stage") == "not started" and e.get("status") == "not run":
                    if i in running:
                        entries[job["code"]] = _carry(_state(job, "interrupted", "interrupted",
                                                             f"the run was stopped ({sig.name}) while this report was "
                                                             "being made; nothing of it was published"),
                                                      previous.get(job["code"]))
                    else:
                        entries[job["code"]] = _carry(_state(job, "not run", "not started",
                                                             f"the run was stopped ({sig.name}) before this report "
                                                             "started"), previous.get(job["code"]))
        finally:
            if pool is not None:
                pool.close()
            O.sweep_temporary_files(out)
        extra = {"collaborative_report": collab_status, "left_out": notes}
        if interrupted:
            extra["interrupted"] = {"signal": interrupted, "at": time.strftime("%Y-%m-%d %H:%M:%S")}
        statuses = record(extra)
        write_index(out, collab, statuses, collab_status, interrupted, notes)
    by_code = {r["code"]: r for r in results if r}
    # the exit status reflects the providers run now (a --provider subset is not failed by the others)
    ok = (not interrupted and all(by_code.get(j["code"], {}).get("status") == "ok" for j in jobs)
          and (collab_status is None or collab_status["status"] == "ok"))
    return {"out": str(out), "providers": statuses, "collaborative": collab_status, "ok": ok,
            "interrupted": interrupted, "left_out": notes}


def _lens_file(collab: Collaborative, name: str) -> str:
    """The path of a lens file in the collaborative's lens data folder, or "" when there is none."""
    path = collab.lens_data / name if collab.lens_data else None
    return str(path) if path is not None and path.exists() else ""


def _collaborative_task(collab: Collaborative, out: Path, kernel: str, threshold: int, compare_dir: Path,
                        notes: list[str]) -> dict:
    return {"kind": "collaborative",
            "args": dict(title=collab.title, census_date=collab.census_date, out=str(out), kernel=kernel,
                         threshold=threshold, self_assessment_path=_lens_file(collab, "self_assessment.csv"),
                         compare_dir=str(compare_dir), left_out="\n".join(notes),
                         action_log_path=_lens_file(collab, "action_log.csv"),
                         nasss_path=_lens_file(collab, "nasss.csv"),
                         worksheets_path=_lens_file(collab, "worksheets.csv"))}
