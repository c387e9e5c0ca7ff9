"""Run the collaborative's reports: validate -> execute -> export, per provider, isolated.

Each provider runs in its own worker process (at most ``workers`` at once). Inside it:
validate the extract (great-expectations), execute ``notebooks/provider_report.ipynb``
with papermill on the named kernel, export HTML (code hidden, images embedded, nothing
loaded from the internet), and write the provider's suppressed metrics file. Every file
in the output folder is written to a temporary name and renamed, so a report is either
the previous one or the new one, never half-written. A provider that fails -- bad data,
a notebook error, or a worker that dies -- keeps its previous report, shows its error on
the index page and makes the exit code non-zero; the others carry on.

The collaborative report reads only the providers' metrics files.
"""

from __future__ import annotations

import html
import json
import multiprocessing as mp
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

import yaml

from qi_equity.reports.provider import atomic_write

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
DEFAULT_KERNEL = "qi-equity"


def find_notebooks() -> Path:
    """The kit's ``notebooks/`` folder (next to the package in a checkout)."""
    env = os.environ.get("QI_EQUITY_NOTEBOOKS")
    if env:
        return Path(env)
    return PACKAGE_DIR.parents[1] / "notebooks"


@dataclass
class Collaborative:
    name: str
    title: str
    census_date: str
    providers: list[dict]
    population: str | None
    root: Path
    lens_data: Path | None = None

    @classmethod
    def load(cls, path: str | Path) -> "Collaborative":
        path = Path(path)
        cfg = yaml.safe_load(path.read_text())
        missing = [k for k in ("name", "census_date", "providers") if k not in cfg]
        if missing:
            raise ValueError(f"{path}: missing key(s) {missing}")
        root = path.parent.resolve()
        providers = []
        for i, p in enumerate(cfg["providers"]):
            if "code" not in p or "extract" not in p:
                raise ValueError(f"{path}: provider {i + 1} needs 'code' and 'extract'")
            providers.append({"code": str(p["code"]), "name": str(p.get("name", p["code"])),
                              "extract": str((root / p["extract"]).resolve())})
        pop = cfg.get("population")
        lens = cfg.get("lens_data")
        return cls(str(cfg["name"]), str(cfg.get("title", cfg["name"])), str(cfg["census_date"]), providers,
                   str((root / pop).resolve()) if pop else None, root, (root / lens).resolve() if lens else None)


def export_html(nb) -> str:
    """HTML of an executed notebook: code hidden, images embedded, no internet resources."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="qi_report", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:  # papermill gives its injected cell a random id: make reruns identical
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    body, _ = exporter.from_notebook_node(nb)
    return body


def ensure_kernel(name: str = DEFAULT_KERNEL):
    """Make sure the named kernel exists; register it in this environment if not."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name in KernelSpecManager().find_kernel_specs():
        return
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name,
                    "--display-name", f"Python ({name})"], check=True, capture_output=True)


def _notebook_error(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return f"{ename}: {evalue}"[:2000]


def run_provider(job: dict) -> dict:
    """Validate, execute and export one provider. Never raises: returns a status dict.

    ``job`` keys: ``code, name, extract, census_date, out_dir, notebook, kernel, threshold``.
    """
    t0 = time.time()
    code = job["code"]
    status = {"code": code, "name": job["name"], "status": "failed", "stage": "validation", "error": "",
              "report": None, "metrics": None, "seconds": None}
    out = Path(job["out_dir"])
    tmp = Path(tempfile.mkdtemp(prefix=f"qi-equity-{code}-"))
    try:
        from qi_equity.data.io import read_raw
        from qi_equity.data.validation import validate_extract

        try:
            raw = read_raw(job["extract"])
        except Exception as exc:  # unreadable file
            status["error"] = f"could not read {job['extract']}: {type(exc).__name__}: {exc}"
            return status
        report = validate_extract(raw, census_date=job["census_date"], source=Path(job["extract"]).name)
        if not report.ok:
            status["error"] = report.format()
            return status
        del raw
        status["stage"] = "notebook"
        if job.get("_kill_after_validation"):
            return status
        import papermill as pm

        params = dict(provider_code=code, provider_name=job["name"], data_path=job["extract"],
                      census_date=job["census_date"], suppression_threshold=int(job.get("threshold", 5)),
                      validate=False, metrics_path=str(tmp / "metrics.json"), lens_data=job.get("lens_data") or "")
        try:
            nb = pm.execute_notebook(job["notebook"], str(tmp / "executed.ipynb"), parameters=params,
                                     kernel_name=job.get("kernel", DEFAULT_KERNEL),
                                     cwd=str(Path(job["notebook"]).parent), progress_bar=False, log_output=False)
        except Exception as exc:
            status["error"] = _notebook_error(exc)
            return status
        status["stage"] = "export"
        body = export_html(nb)
        atomic_write(out / "metrics" / f"{code}.json", (tmp / "metrics.json").read_bytes())
        atomic_write(out / f"{code}.html", body)
        status.update(status="ok", stage="done", report=f"{code}.html", metrics=f"metrics/{code}.json")
        return status
    except Exception as exc:
        status["error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"[:3000]
        return status
    finally:
        status["seconds"] = round(time.time() - t0, 2)
        shutil.rmtree(tmp, ignore_errors=True)


FAULT_KILL_ENV = "QI_EQUITY_FAULT_KILL"


def _child(job: dict, result_path: str):
    # Fault injection for tests: a worker killed mid-run (as by the OOM killer) for the named
    # provider(s): it dies after validation, in the middle of writing its report.
    if job["code"] in os.environ.get(FAULT_KILL_ENV, "").split(","):
        import signal

        run_provider(dict(job, _kill_after_validation=True))
        fd, _ = tempfile.mkstemp(prefix=f".{job['code']}.html.", suffix=".tmp", dir=job["out_dir"])
        os.write(fd, b"<html>half-written")  # dies mid-write
        os.kill(os.getpid(), signal.SIGKILL)
    res = run_provider(job)
    Path(result_path).write_text(json.dumps(res))


def run_local(jobs: list[dict], workers: int, progress: bool = True) -> list[dict]:
    """Run jobs in separate processes, ``workers`` at a time. A process that dies without a
    result (killed, out of memory) fails only its own provider."""
    if not jobs:
        return []
    try:  # share great-expectations with forked workers (it is slow to import)
        from qi_equity.data.validation import _gx

        _gx()
    except Exception:
        pass
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    bar = tqdm(total=len(jobs), desc="providers", unit="report", disable=not progress)
    results: dict[str, dict] = {}
    pending = list(jobs)
    running: dict = {}
    resdir = Path(tempfile.mkdtemp(prefix="qi-equity-results-"))
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                job = pending.pop(0)
                rp = resdir / f"{job['code']}.json"
                proc = ctx.Process(target=_child, args=(job, str(rp)), name=f"qi-equity-{job['code']}")
                proc.start()
                running[proc.sentinel] = (proc, job, rp)
            for sentinel in wait(list(running)):
                proc, job, rp = running.pop(sentinel)
                proc.join()
                if rp.exists():
                    results[job["code"]] = json.loads(rp.read_text())
                else:
                    how = f"signal {-proc.exitcode}" if proc.exitcode and proc.exitcode < 0 else f"exit code {proc.exitcode}"
                    results[job["code"]] = {"code": job["code"], "name": job["name"], "status": "failed",
                                            "stage": "worker", "report": None, "metrics": None, "seconds": None,
                                            "error": f"the worker process died ({how}) before finishing"}
                bar.set_postfix_str(f"{job['code']} {results[job['code']]['status']}")
                bar.update(1)
    finally:
        bar.close()
        for proc, _, _ in running.values():
            proc.kill()
        shutil.rmtree(resdir, ignore_errors=True)
    return [results[j["code"]] for j in jobs]


def run_dask(jobs: list[dict], scheduler, progress: bool = True) -> list[dict]:
    """Submit the per-provider runs to a Dask distributed scheduler (an address or a Client)."""
    from distributed import Client, as_completed
    from tqdm import tqdm

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = {client.submit(run_provider, job, key=f"qi-equity-{job['code']}-{time.time_ns()}", pure=False): job
                   for job in jobs}
        results = {}
        for fut in tqdm(as_completed(futures), total=len(futures), desc="providers", disable=not progress):
            job = futures[fut]
            try:
                results[job["code"]] = fut.result()
            except Exception as exc:  # the worker died or the task was lost
                results[job["code"]] = {"code": job["code"], "name": job["name"], "status": "failed",
                                        "stage": "worker", "report": None, "metrics": None, "seconds": None,
                                        "error": f"the Dask task failed: {type(exc).__name__}: {exc}"}
        return [results[j["code"]] for j in jobs]
    finally:
        if not isinstance(scheduler, Client):
            client.close()


def run_collaborative_notebook(collab: Collaborative, out: Path, kernel: str, threshold: int) -> dict:
    import papermill as pm

    nb_path = find_notebooks() / "collaborative_report.ipynb"
    status = {"status": "failed", "error": "", "report": None}
    tmp = Path(tempfile.mkdtemp(prefix="qi-equity-collab-"))
    try:
        nb = pm.execute_notebook(str(nb_path), str(tmp / "executed.ipynb"),
                                 parameters=dict(collaborative_title=collab.title, census_date=collab.census_date,
                                                 metrics_dir=str((out / "metrics").resolve()),
                                                 suppression_threshold=threshold,
                                                 self_assessment_path=str(collab.lens_data / "self_assessment.csv")
                                                 if collab.lens_data and (collab.lens_data / "self_assessment.csv").exists()
                                                 else ""),
                                 kernel_name=kernel, cwd=str(nb_path.parent), progress_bar=False, log_output=False)
        atomic_write(out / "collaborative.html", export_html(nb))
        status.update(status="ok", report="collaborative.html")
    except Exception as exc:
        status["error"] = _notebook_error(exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def sweep_temporary_files(out: Path):
    """Remove temporary files a killed worker may have left mid-write."""
    for p in list(out.glob(".*.tmp")) + list((out / "metrics").glob(".*.tmp")):
        p.unlink(missing_ok=True)


def write_index(out: Path, collab: Collaborative, statuses: list[dict], collab_status: dict | None):
    rows = []
    for s in statuses:
        exists = (out / f"{s['code']}.html").exists()
        if s["status"] == "ok":
            link = f'<a href="{html.escape(s["code"])}.html">report</a>'
            state = '<span class="ok">&#10003; ok</span>'
        else:
            link = (f'<a href="{html.escape(s["code"])}.html">previous report</a>' if exists else "no report")
            state = f'<span class="failed">&#10007; failed at {html.escape(s.get("stage") or "")}</span>'
        err = (f"<details><summary>what went wrong</summary><pre>{html.escape(s.get('error') or '')}</pre></details>"
               if s["status"] != "ok" else "")
        rows.append(f"<tr><td>{html.escape(s['code'])}</td><td>{html.escape(s['name'])}</td><td>{state}</td>"
                    f"<td>{link}</td><td>{err}</td></tr>")
    if collab_status and collab_status.get("status") == "ok":
        collab_line = '<p><a href="collaborative.html">Collaborative report: compare the providers</a></p>'
    elif collab_status:
        collab_line = ("<p class='failed'>Collaborative report failed: "
                       f"<pre>{html.escape(collab_status.get('error', ''))}</pre></p>")
    else:
        collab_line = ""
    n_ok = sum(s["status"] == "ok" for s in statuses)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(collab.title)}: equity reports</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ text-align: left; padding: 6px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }}
.ok {{ color: #005eb8; font-weight: 600; }} .failed {{ color: #8a4b00; font-weight: 600; }}
pre {{ white-space: pre-wrap; font-size: 12px; background: #f6f6f6; padding: 8px; }}
.meta {{ color: #555; font-size: 13px; }}
</style></head><body>
<h1>{html.escape(collab.title)}</h1>
<p class="meta">Equity-of-access reports by provider. Census date {html.escape(collab.census_date)}.
{n_ok} of {len(statuses)} provider reports up to date. Everything published applies small-number suppression.</p>
<p class="meta">Generated at {time.strftime('%Y-%m-%d %H:%M:%S')}</p>
{collab_line}
<table><thead><tr><th>Code</th><th>Provider</th><th>Status</th><th>Report</th><th>Details</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
</body></html>
"""
    atomic_write(out / "index.html", page)


def run(config: str | Path, out_dir: str | Path = "reports", workers: int | None = None,
        providers: list[str] | None = None, only_failed: bool = False, progress: bool = True,
        scheduler=None, kernel: str = DEFAULT_KERNEL, threshold: int = 5, collaborative: bool = True) -> dict:
    """Run the reports of a collaborative.

    Returns
    -------
    dict
        ``{"out": path, "providers": [status...], "collaborative": status, "ok": bool}``; each
        provider status has ``code, name, status (ok/failed), stage, error, report, metrics, seconds``.
    """
    collab = Collaborative.load(config)
    out = Path(out_dir) / collab.name
    (out / "metrics").mkdir(parents=True, exist_ok=True)
    state_path = out / "run.json"
    previous = {}
    if state_path.exists():
        previous = {s["code"]: s for s in json.loads(state_path.read_text()).get("providers", [])}
    notebook = str((find_notebooks() / "provider_report.ipynb").resolve())
    ensure_kernel(kernel)
    codes = [p["code"] for p in collab.providers]
    unknown = sorted(set(providers or []) - set(codes))
    if unknown:
        raise ValueError(f"unknown provider code(s) {unknown}; the config lists {codes}")
    selected = [p for p in collab.providers
                if (not providers or p["code"] in providers)
                and (not only_failed or previous.get(p["code"], {}).get("status") != "ok")]
    jobs = [dict(p, census_date=collab.census_date, out_dir=str(out), notebook=notebook, kernel=kernel,
                 threshold=threshold, lens_data=str(collab.lens_data or "")) for p in selected]
    if workers is None:
        workers = min(len(jobs), os.cpu_count() or 1) or 1
    try:
        results = run_dask(jobs, scheduler, progress) if scheduler is not None else run_local(jobs, workers, progress)
    finally:
        sweep_temporary_files(out)
    by_code = {r["code"]: r for r in results}
    statuses = [by_code.get(p["code"]) or previous.get(p["code"]) or
                {"code": p["code"], "name": p["name"], "status": "failed", "stage": "not run",
                 "error": "not run yet", "report": None, "metrics": None, "seconds": None}
                for p in collab.providers]
    collab_status = None
    if collaborative:
        if any((out / "metrics" / f"{c}.json").exists() for c in codes):
            collab_status = run_collaborative_notebook(collab, out, kernel, threshold)
        else:
            collab_status = {"status": "failed", "error": "no provider metrics to compare", "report": None}
    atomic_write(state_path, json.dumps({"collaborative": collab.name, "providers": statuses,
                                         "collaborative_report": collab_status}, indent=1, sort_keys=True))
    write_index(out, collab, statuses, collab_status)
    sweep_temporary_files(out)
    # the exit status reflects the providers run now (a --provider subset is not failed by the others)
    ok = all(r["status"] == "ok" for r in results) and (collab_status is None or collab_status["status"] == "ok")
    return {"out": str(out), "providers": statuses, "collaborative": collab_status, "ok": ok}
