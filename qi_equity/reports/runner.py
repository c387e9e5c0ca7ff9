"""Run the collaborative's reports: validate -> execute -> export, per provider, isolated.

Each provider runs in its own worker process (at most ``workers`` at once). Inside it:
validate the extract (great-expectations), execute ``notebooks/provider_report.ipynb``
with papermill on the named kernel, export HTML (code hidden, images embedded, nothing
loaded from the internet), and write the provider's suppressed metrics file. Validation and
the notebook run at the same time (the notebook in its kernel process, validation in the
worker); the notebook's output is used only if validation passes. Every file
in the output folder is written to a temporary name and renamed, so a report is either
the previous one or the new one, never half-written. A provider that fails -- bad data,
a notebook error, or a worker that dies -- keeps its previous report, shows its error on
the index page and makes the exit code non-zero; the others carry on.

The collaborative report reads only the providers' metrics files.
"""

from __future__ import annotations

import atexit
import html
import json
import multiprocessing as mp
import os
import re
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

import yaml

from qi_equity.data.contract import PROVIDER_CODE_PATTERN
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
        """Read a collaborative's YAML. Raises ``ValueError`` naming the file and key for a
        missing key, a collaborative ``name`` that is not a plain folder name (it names the output
        folder: letters, digits, spaces, ``_ . -``; no ``/``, ``\\`` or ``..``), a provider code that
        does not match the contract's pattern, or a code given twice."""
        path = Path(path)
        cfg = yaml.safe_load(path.read_text())
        if not isinstance(cfg, dict):
            raise ValueError(f"{path}: expected a YAML mapping with name, census_date and providers")
        missing = [k for k in ("name", "census_date", "providers") if k not in cfg]
        if missing:
            raise ValueError(f"{path}: missing key(s) {missing}")
        safe_name(str(cfg["name"]), f"{path}: name")
        root = path.parent.resolve()
        providers = []
        seen = set()
        for i, p in enumerate(cfg["providers"]):
            if not isinstance(p, dict) or "code" not in p or "extract" not in p:
                raise ValueError(f"{path}: provider {i + 1} needs 'code' and 'extract'")
            code = str(p["code"])
            if not re.fullmatch(PROVIDER_CODE_PATTERN, code):
                raise ValueError(f"{path}: provider {i + 1}: code {code!r} does not match the contract's pattern "
                                 f"(3-5 upper-case letters or digits, e.g. RXX01)")
            if code in seen:
                raise ValueError(f"{path}: provider code {code} is given twice")
            seen.add(code)
            providers.append({"code": code, "name": str(p.get("name", p["code"])),
                              "extract": str((root / p["extract"]).resolve())})
        pop = cfg.get("population")
        lens = cfg.get("lens_data")
        return cls(str(cfg["name"]), str(cfg.get("title", cfg["name"])), str(cfg["census_date"]), providers,
                   str((root / pop).resolve()) if pop else None, root, (root / lens).resolve() if lens else None)


_ABS_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/|\\)(?:[^\s'\"<>:|]+(?:/|\\))+([^\s'\"<>:|/\\]*)")


def public_message(text: str) -> str:
    """An error as a published report may show it: every absolute path reduced to its file name
    (no server folders). Validation messages are made public by
    :meth:`~qi_equity.data.validation.ValidationReport.format` (no raw values)."""
    return _ABS_PATH.sub(lambda m: m.group(1) or "(folder)", str(text or ""))[:3000]


def safe_name(name: str, what: str = "name") -> str:
    """``name`` if it is a plain folder name (letters, digits, spaces, ``_ . -``, not starting
    with a dot, no ``..``), else ``ValueError``: a name from a config never places a file outside
    the output folder."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}", name) or ".." in name:
        raise ValueError(f"{what} {name!r} cannot name a folder: use letters, digits, spaces, '_', '.' or '-' "
                         "(not starting with '.', no '..', '/' or '\\')")
    return name


_exporters = threading.local()
_NO_ALT = "No description has been provided for this image"


def _report_exporter():
    """nbconvert's HTML exporter for the report template, without its BeautifulSoup pass.

    After rendering, ``HTMLExporter`` re-parses the whole page in pure Python (about 0.25 s a
    report, most of the export) only to give images without ``alt`` a placeholder and to make
    cells and outputs focusable (``tabindex="0"``). The kit's figures carry their own alt text;
    both edits are made here on the rendered text, the same way for every report.
    """
    import re

    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    focusable = re.compile(r'(<div\b[^>]*\bclass="[^"]*\b(?:jp-Cell-inputWrapper|jp-OutputArea-output)\b[^"]*")')
    img_without_alt = re.compile(r"<img\b(?![^>]*\balt=)")

    class ReportExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            resources = self._init_resources(resources)
            self.register_filter("highlight_code",
                                 self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)))
            self.register_filter("filter_data_type", WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata,
                                                                           parent=self, resources=resources))
            html_, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html_ = img_without_alt.sub(f'<img alt="{_NO_ALT}"', html_)
            return focusable.sub(r'\1 tabindex="0"', html_), resources

    return ReportExporter(template_name="qi_report", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True,
                          exclude_input_prompt=True, exclude_output_prompt=True)


def export_html(nb) -> str:
    """HTML of an executed notebook: code hidden, images embedded, no internet resources."""
    exporter = getattr(_exporters, "html", None)
    if exporter is None:  # built once per worker thread: loading the templates costs more than a report's export
        exporter = _exporters.html = _report_exporter()
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

# ---------------------------------------------------------------------------------------------
# Warm kernels: one Jupyter kernel per worker (process, thread), reused from report to report.
#
# Starting a kernel and importing pandas / matplotlib / the kit costs about 3 s, as much as the
# report itself. A worker keeps its kernel and clears the user namespace (``%reset -f``) and
# every open figure before each notebook, so a notebook sees the same fresh namespace it would
# in a new kernel, with the modules already imported. A kernel that died (or a notebook that
# crashed it) is replaced before the next report. papermill still injects the parameters and
# executes the notebook, through an engine that runs it on the warm kernel.
# ---------------------------------------------------------------------------------------------

_RESET_CODE = "__import__('qi_equity.reports.kernel_reset', fromlist=['reset']).reset({cwd!r})"
_warm = threading.local()


def _register_warm_engine():
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger

    class WarmKernelEngine(NBClientEngine):
        """papermill's nbclient engine, on a kernel manager it does not own (``km``)."""

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, km=None, **kwargs):
            client = PapermillNotebookClient(nb_man, km=km, kernel_name=kernel_name, timeout=execution_timeout,
                                             startup_timeout=start_timeout, log=logger, log_output=log_output,
                                             stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute()
            finally:
                if client.kc is not None:  # the client is ours to close; the kernel is not
                    client.kc.stop_channels()

    papermill_engines.register(WARM_ENGINE, WarmKernelEngine)


WARM_ENGINE = "qi-equity-warm"
# Report kernels: no input history database (nobody reads it; it costs a write per cell), and
# the kit imported as the kernel starts, so a worker's first report does not wait for it (the
# worker validates the extract meanwhile; the namespace is cleared before every notebook anyway).
# Then gc.freeze(): the imported modules' objects (about 200,000) are set aside from garbage
# collection, so a full collection during a report scans only the report's own objects.
KERNEL_ARGS = ["--HistoryManager.enabled=False",
               "--IPKernelApp.exec_lines=import pandas, matplotlib.figure, qi_equity.plotting, "
               "qi_equity.reports.provider, qi_equity.reports.lenses, qi_equity.reports.display; "
               "__import__('gc').freeze()"]


def _launch_kernel(kernel: str, cwd: str):
    """This thread's kernel manager for ``kernel`` in ``cwd``, launching the kernel process if
    there is none (or it died). Does not wait for the kernel to be ready."""
    from jupyter_client.manager import KernelManager

    kernels = getattr(_warm, "kernels", None)
    if kernels is None:
        kernels = _warm.kernels = {}
        _register_warm_engine()
        atexit.register(shutdown_warm_kernels)
    km = kernels.get((kernel, cwd))
    if km is not None and not km.is_alive():
        shutdown_warm_kernels(only=(kernel, cwd))
        km = None
    if km is None:
        # The notebook client (nbclient, through papermill) gets an asyncio client: with the default
        # blocking one, waiting for a message blocks nbclient's event loop, so neither its cell
        # timeout nor its dead-kernel check can run and a lost reply would hang the worker for ever.
        km = KernelManager(kernel_name=kernel, client_class="qi_equity.reports.kernel_client.ReportKernelClient")
        km.start_kernel(cwd=cwd, extra_arguments=KERNEL_ARGS)
        kernels[(kernel, cwd)] = km
    return km


def warm_kernel(kernel: str, cwd: str):
    """This worker's kernel manager for ``kernel`` in ``cwd``: started once, reset before each use."""
    from jupyter_client.blocking import BlockingKernelClient

    km = _launch_kernel(kernel, cwd)
    # a blocking client for the reset (km.client() gives the notebooks' asyncio client)
    kc = BlockingKernelClient(parent=km, connection_file=km.connection_file, **km.get_connection_info(session=True))
    kc.start_channels()
    try:
        if not getattr(km, "qi_ready", False):  # a kernel that answered before needs no handshake (~0.2 s)
            kc.wait_for_ready(timeout=60)
        # Only the shell reply is awaited (a new client's iopub subscription may miss early
        # messages; papermill's client ignores this request's outputs, which are not its own).
        msg_id = kc.execute(_RESET_CODE.format(cwd=cwd), silent=False, store_history=False)
        reply = kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=60)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not reset the kernel: {reply['content'].get('evalue')}")
        km.qi_ready = True
    finally:
        kc.stop_channels()
    return km


def prestart_kernel(kernel: str, cwd: str):
    """Launch this worker's kernel process without waiting for it (no client, no message): it
    boots while the worker validates its first extract, and :func:`warm_kernel` connects to it."""
    _launch_kernel(kernel, cwd)


def shutdown_warm_kernels(only=None, now: bool = False):
    """Shut down this thread's warm kernels (all of them, or the one keyed ``only``)."""
    kernels = getattr(_warm, "kernels", None) or {}
    for key in [only] if only else list(kernels):
        km = kernels.pop(key, None)
        if km is None:
            continue
        try:
            km.shutdown_kernel(now=now or not km.is_alive())
        except Exception:
            pass


# A cell that runs longer than this fails its provider instead of holding up the run (a scheduled
# run must always finish); the largest report cell takes a few seconds on a national-size provider.
CELL_TIMEOUT = 900


def execute_notebook(input_path: str, output_path: str, parameters: dict, kernel: str, cwd: str, warm: bool = True,
                     km=None, cell_timeout: int | None = CELL_TIMEOUT):
    """Execute a notebook with papermill on the named kernel (this worker's warm kernel by default,
    or the kernel manager ``km`` already reset by :func:`warm_kernel`). A cell running longer than
    ``cell_timeout`` seconds raises (``None``: no limit)."""
    import papermill as pm

    if not warm:
        return pm.execute_notebook(input_path, output_path, parameters=parameters, kernel_name=kernel, cwd=cwd,
                                   progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                                   execution_timeout=cell_timeout)
    km = km or warm_kernel(kernel, cwd)
    try:
        return pm.execute_notebook(input_path, output_path, parameters=parameters, kernel_name=kernel,
                                   engine_name=WARM_ENGINE, km=km, progress_bar=False, log_output=False,
                                   request_save_on_cell_execute=False,  # written once, at the end
                                   execution_timeout=cell_timeout)
    except Exception as exc:
        if _kernel_unusable(exc):  # timed out (still busy) or died: this worker gets a new kernel
            shutdown_warm_kernels(only=(kernel, cwd), now=True)
        raise


def _kernel_unusable(exc: BaseException | None) -> bool:
    """Whether a notebook that raised ``exc`` left its kernel unfit for another report: any failure
    other than an error raised by a cell's own code (a timeout, a dead kernel, a lost message)."""
    if exc is None:
        return False
    from papermill.exceptions import PapermillExecutionError

    return not isinstance(exc, PapermillExecutionError)


def _kill_kernel(km) -> None:
    """Kill a kernel's process at once (SIGKILL). Safe from any thread: it only signals the
    process; the notebook client sees a dead kernel within a second and :func:`warm_kernel`
    replaces it before the next report."""
    try:
        km.provisioner.process.kill()
    except Exception:  # already gone, or not a local kernel
        pass


class _Validation(threading.Thread):
    """Validate an extract in a background thread while the notebook runs on the kernel.

    The notebook's output is speculative: it is published only if validation passes. When
    validation fails, the kernel (``km``) is killed so that a bad extract does not cost a whole
    notebook run; the worker replaces it for its next report.

    Why kill and not interrupt: an interrupt (SIGINT) that reaches ipykernel while it is sending a
    cell's reply, or running a post-execute hook, is swallowed ("KeyboardInterrupt caught in
    kernel") and the reply is never sent, so the notebook client waits for ever. A kill always ends
    the notebook (DeadKernelError) and costs only a kernel start, for failed extracts only.
    """

    def __init__(self, raw, census_date, source: str, km=None):
        super().__init__(daemon=True, name="qi-equity-validation")
        self.raw, self.census_date, self.source, self.km = raw, census_date, source, km
        self.killed_kernel = False
        self.report = self.error = None
        self.seconds = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.error) or (self.report is not None and not self.report.ok)

    def run(self):
        from qi_equity.data.validation import validate_extract

        t = time.time()
        try:
            self.report = validate_extract(self.raw, census_date=self.census_date, source=self.source)
        except Exception as exc:  # reported like any other failure of the provider
            self.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"[:3000]
        finally:
            self.raw = None
            self.seconds = round(time.time() - t, 3)
        if self.km is not None and self.failed:
            self.killed_kernel = True
            _kill_kernel(self.km)


def _notebook_error(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return f"{ename}: {evalue}"[:2000]


def run_provider(job: dict) -> dict:
    """Validate, execute and export one provider. Never raises: returns a status dict.

    ``job`` keys: ``code, name, extract, census_date, out_dir, notebook, kernel, threshold``.
    The notebook runs while the extract is validated (the kernel is a process of its own): its
    output is used only when validation passes, and a failing validation kills its kernel. The
    status's ``stage_seconds`` gives each stage's own duration (validation overlaps notebook).
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
        except Exception as exc:  # unreadable file
            status["error"] = public_message(f"could not read {Path(job['extract']).name}: {type(exc).__name__}: {exc}")
            return status
        source = Path(job["extract"]).name
        if job.get("_kill_after_validation"):  # fault injection: validate, then the worker dies
            validate_extract(raw, census_date=job["census_date"], source=source)
            status["stage"] = "notebook"
            return status
        # The notebook starts at once, on its own process (the kernel), while this worker
        # validates the extract in a thread: nothing is published unless validation passes.
        warm = job.get("warm", True)
        kernel, cwd = job.get("kernel", DEFAULT_KERNEL), str(Path(job["notebook"]).parent)
        try:
            km = warm_kernel(kernel, cwd) if warm else None
        except Exception as exc:  # the kernel would not start or reset
            status.update(stage="notebook", error=f"report kernel: {type(exc).__name__}: {exc}")
            return status
        validation = _Validation(raw, job["census_date"], source, km)
        del raw
        validation.start()
        params = dict(provider_code=code, provider_name=job["name"], data_path=job["extract"],
                      census_date=job["census_date"], suppression_threshold=int(job.get("threshold", 5)),
                      min_median=int(job.get("min_median", 10)), hes_rule=bool(job.get("hes", False)),
                      validate=False, metrics_path=str(tmp / "metrics.json"), findings_path=str(tmp / "findings.json"),
                      lens_data=job.get("lens_data") or "")
        t_nb = time.time()
        nb = notebook_error = None
        try:
            nb = execute_notebook(job["notebook"], str(tmp / "executed.ipynb"), params, kernel, cwd, warm=warm, km=km,
                                  cell_timeout=job.get("cell_timeout", CELL_TIMEOUT))
        except Exception as exc:
            notebook_error = exc
        status["stage_seconds"]["notebook"] = round(time.time() - t_nb, 3)
        validation.join()
        status["stage_seconds"]["validation"] = validation.seconds
        if warm and (validation.killed_kernel or _kernel_unusable(notebook_error)):
            shutdown_warm_kernels(only=(kernel, cwd), now=True)  # reaped (it may not have exited yet)
            try:
                prestart_kernel(kernel, cwd)  # and a new one boots now, for this worker's next report
            except Exception:  # the next report starts one the usual way, and reports its failure
                pass
        if validation.failed:  # the extract's own fault comes first
            status["error"] = (public_message(validation.error) if validation.error else
                               validation.report.format(public=True)
                               + f"\nTo see the failing values: qi-equity validate {Path(job['extract']).name}")
            return status
        status["stage"] = "notebook"
        if notebook_error is not None:
            status["error"] = public_message(_notebook_error(notebook_error))
            return status
        status["stage"] = "export"
        t_ex = time.time()
        body = export_html(nb)
        atomic_write(out / "metrics" / f"{code}.json", (tmp / "metrics.json").read_bytes())
        atomic_write(out / "findings" / f"{code}.json", (tmp / "findings.json").read_bytes())
        atomic_write(out / f"{code}.html", body)
        status["stage_seconds"]["export"] = round(time.time() - t_ex, 3)
        status.update(status="ok", stage="done", report=f"{code}.html", metrics=f"metrics/{code}.json",
                      findings=f"findings/{code}.json", top_findings=_top_findings(tmp / "findings.json"))
        return status
    except Exception as exc:
        status["error"] = public_message(f"{type(exc).__name__}: {exc}")
        status["detail"] = traceback.format_exc(limit=3)[:3000]   # run.json only, never the index
        return status
    finally:
        status["seconds"] = round(time.time() - t0, 2)
        shutil.rmtree(tmp, ignore_errors=True)


def _top_findings(path: Path, n: int = 3) -> list[str]:
    """The first ``n`` headline sentences of a published findings file (for the index)."""
    try:
        payload = json.loads(Path(path).read_text())
        cols = payload["findings"]["columns"]
        rows = [dict(zip(cols, r)) for r in payload["findings"]["data"]]
    except (OSError, ValueError, KeyError):
        return []
    return [r["sentence"] for r in rows if r.get("headline") and r.get("kind") != "too_few"][:n]


FAULT_KILL_ENV = "QI_EQUITY_FAULT_KILL"


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


def _worker_main(conn, prestart=None):
    """A pool worker: run tasks from ``conn`` on this worker's warm kernel until told to stop."""
    import gc

    gc.freeze()  # what the parent imported (great-expectations among it) is never collected
    try:
        if prestart:
            try:
                prestart_kernel(*prestart)
            except Exception:  # the first report starts its kernel the usual way
                pass
        while True:
            try:
                task = conn.recv()
            except EOFError:
                break
            if task is None:
                break
            conn.send(_run_task(task))
    finally:
        shutdown_warm_kernels(now=True)  # nothing in a report kernel needs a graceful shutdown


class WorkerPool:
    """``workers`` long-lived worker processes, each with its own warm kernel.

    Tasks are handed out one at a time to whichever worker is free. A worker that dies (killed,
    out of memory) fails only the task it was running and is replaced for the tasks still to run.
    """

    def __init__(self, workers: int, prestart: tuple[str, str] | None = None):
        self.size = max(1, int(workers))
        self.prestart = prestart  # (kernel, notebook folder) each worker launches as it starts
        self.ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
        self.idle: list = []
        self.n_started = 0

    def _start(self):
        parent, child = self.ctx.Pipe()
        self.n_started += 1
        proc = self.ctx.Process(target=_worker_main, args=(child, self.prestart),
                                name=f"qi-equity-worker-{self.n_started}",
                                daemon=True)
        proc.start()
        child.close()
        return proc, parent

    def map(self, tasks: list[dict], on_done=None) -> list[dict]:
        """Run ``tasks``; results in task order. A task whose worker died gets ``None``."""
        results: list = [None] * len(tasks)
        pending = list(enumerate(tasks))
        busy: dict = {}  # conn -> (proc, index)
        while pending or busy:
            while pending and len(busy) < self.size:
                proc, conn = self.idle.pop() if self.idle else self._start()
                i, task = pending.pop(0)
                conn.send(task)
                busy[conn] = (proc, i)
            ready = wait(list(busy) + [proc.sentinel for proc, _ in busy.values()])
            for conn in [c for c in list(busy) if c in ready or busy[c][0].sentinel in ready]:
                proc, i = busy.pop(conn)
                try:
                    results[i] = conn.recv()
                    self.idle.append((proc, conn))
                except (EOFError, OSError):  # died before answering
                    proc.join()
                    results[i] = {"_died": proc.exitcode}
                    conn.close()
                if on_done:
                    on_done(i, results[i])
        return results

    def close(self):
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


def _worker_failure(job: dict, error: str) -> dict:
    """Status of a provider whose worker failed (died, lost its task) before giving a result."""
    return {"code": job["code"], "name": job["name"], "status": "failed", "stage": "worker", "report": None,
            "metrics": None, "seconds": None, "error": error}


def _died_status(job: dict, exitcode) -> dict:
    how = f"signal {-exitcode}" if exitcode and exitcode < 0 else f"exit code {exitcode}"
    return _worker_failure(job, f"the worker process died ({how}) before finishing")


def run_local(jobs: list[dict], workers: int, progress: bool = True, pool: WorkerPool | None = None) -> list[dict]:
    """Run jobs on a pool of ``workers`` worker processes (or on ``pool``). A process that dies
    without a result (killed, out of memory) fails only its own provider."""
    if not jobs:
        return []
    try:  # share great-expectations, and the contract suite for these extracts, with the forked
        # workers (slow to import and to build; done once here instead of once per worker)
        from qi_equity.data.validation import prepare_suite

        prepare_suite(jobs[0]["extract"], jobs[0]["census_date"])
    except Exception:  # an unreadable first extract fails in its worker, with its own message
        pass
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    own = pool is None
    pool = pool or WorkerPool(min(workers, len(jobs)))
    bar = tqdm(total=len(jobs), desc="providers", unit="report", disable=not progress)

    def done(i, res):
        ok = isinstance(res, dict) and res.get("status") == "ok"
        bar.set_postfix_str(f"{jobs[i]['code']} {'ok' if ok else 'failed'}")
        bar.update(1)

    try:
        results = pool.map(jobs, done)
    finally:
        bar.close()
        if own:
            pool.close()
    return [_died_status(job, res["_died"]) if "_died" in res else res for job, res in zip(jobs, results)]


def run_dask(jobs: list[dict], scheduler, progress: bool = True) -> list[dict]:
    """Submit the per-provider runs to a Dask distributed scheduler (an address or a Client).

    Each Dask worker thread keeps a warm kernel between the providers it runs."""
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
                results[job["code"]] = _worker_failure(job, f"the Dask task failed: {type(exc).__name__}: {exc}")
        return [results[j["code"]] for j in jobs]
    finally:
        if not isinstance(scheduler, Client):
            client.close()


def run_collaborative_notebook(title: str, census_date: str, out: str, kernel: str, threshold: int,
                               self_assessment_path: str = "", warm: bool = True) -> dict:
    """Execute the collaborative notebook on the providers' metrics files and export it."""
    nb_path = find_notebooks() / "collaborative_report.ipynb"
    out = Path(out)
    status = {"status": "failed", "error": "", "report": None}
    tmp = Path(tempfile.mkdtemp(prefix="qi-equity-collab-"))
    try:
        nb = execute_notebook(str(nb_path), str(tmp / "executed.ipynb"),
                              dict(collaborative_title=title, census_date=census_date,
                                   metrics_dir=str((out / "metrics").resolve()),
                                   findings_dir=str((out / "findings").resolve()),
                                   collaborative_findings_path=str(tmp / "collaborative_findings.json"),
                                   suppression_threshold=threshold, self_assessment_path=self_assessment_path),
                              kernel, str(nb_path.parent), warm=warm)
        body = export_html(nb)
        if (tmp / "collaborative_findings.json").exists():
            atomic_write(out / "collaborative_findings.json", (tmp / "collaborative_findings.json").read_bytes())
        atomic_write(out / "collaborative.html", body)
        status.update(status="ok", report="collaborative.html")
    except Exception as exc:
        status["error"] = _notebook_error(exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return status


def _collaborative_task(collab: Collaborative, out: Path, kernel: str, threshold: int) -> dict:
    sa = collab.lens_data / "self_assessment.csv" if collab.lens_data else None
    return {"kind": "collaborative",
            "args": dict(title=collab.title, census_date=collab.census_date, out=str(out), kernel=kernel,
                         threshold=threshold, self_assessment_path=str(sa) if sa and sa.exists() else "")}


def sweep_temporary_files(out: Path):
    """Remove temporary files a killed worker may have left mid-write."""
    for p in list(out.glob(".*.tmp")) + list((out / "metrics").glob(".*.tmp")) + list((out / "findings").glob(".*.tmp")):
        p.unlink(missing_ok=True)


def _collaborative_sentences(out: Path) -> dict:
    """Provider code -> the collaborative findings about it (from collaborative_findings.json)."""
    try:
        payload = json.loads((out / "collaborative_findings.json").read_text())
        cols = payload["findings"]["columns"]
        rows = [dict(zip(cols, r)) for r in payload["findings"]["data"]]
    except (OSError, ValueError, KeyError):
        return {}
    by: dict = {}
    for r in rows:
        by.setdefault(r.get("provider_code"), []).append(r.get("sentence") or "")
    return by


def write_index(out: Path, collab: Collaborative, statuses: list[dict], collab_status: dict | None):
    rows = []
    across = _collaborative_sentences(out) if collab_status and collab_status.get("status") == "ok" else {}
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
        tops = (s.get("top_findings") or []) + [f"Across the collaborative: {t}" for t in across.get(s["code"], [])]
        found = ("<ul class='tops'>" + "".join(f"<li>{html.escape(t)}</li>" for t in tops) + "</ul>" if tops else
                 ("<span class='quiet'>Nothing stands out</span>" if s["status"] == "ok" else ""))
        rows.append(f"<tr><td>{html.escape(s['code'])}</td><td>{html.escape(s['name'])}</td><td>{state}</td>"
                    f"<td>{found}</td><td>{link}</td><td>{err}</td></tr>")
    if collab_status and collab_status.get("status") == "ok":
        collab_line = '<p><a href="collaborative.html">Collaborative report: compare the providers</a></p>'
    elif collab_status:
        collab_line = ("<p class='failed'>Collaborative report failed: "
                       f"<pre>{html.escape(collab_status.get('error', ''))}</pre></p>")
    else:
        collab_line = ""
    n_ok = sum(s["status"] == "ok" for s in statuses)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(collab.title)}: equity reports</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ text-align: left; padding: 6px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }}
.ok {{ color: #005eb8; font-weight: 600; }} .failed {{ color: #8a4b00; font-weight: 600; }}
pre {{ white-space: pre-wrap; font-size: 12px; background: #f6f6f6; padding: 8px; }}
.meta {{ color: #555; font-size: 13px; }}
ul.tops {{ margin: 0; padding-left: 1.1em; font-size: 14px; }} .quiet {{ color: #555; }}
</style></head><body>
<h1>{html.escape(collab.title)}</h1>
<p class="meta">Equity-of-access reports by provider. Census date {html.escape(collab.census_date)}.
{n_ok} of {len(statuses)} provider reports up to date. Everything published applies small-number suppression.</p>
<p class="meta">Generated at {time.strftime('%Y-%m-%d %H:%M:%S')}</p>
{collab_line}
<table><thead><tr><th>Code</th><th>Provider</th><th>Status</th><th>What stands out</th><th>Report</th><th>Details</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
</body></html>
"""
    atomic_write(out / "index.html", page)


def run(config: str | Path, out_dir: str | Path = "reports", workers: int | None = None,
        providers: list[str] | None = None, only_failed: bool = False, progress: bool = True,
        scheduler=None, kernel: str = DEFAULT_KERNEL, threshold: int = 5, collaborative: bool = True,
        min_median: int = 10, hes: bool = False) -> dict:
    """Run the reports of a collaborative (``threshold``, ``min_median``, ``hes``: the disclosure
    rule, see :func:`qi_equity.reports.provider.disclosure_rule`).

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
                 threshold=threshold, min_median=min_median, hes=hes, lens_data=str(collab.lens_data or ""))
            for p in selected]
    if workers is None:
        workers = min(len(jobs), os.cpu_count() or 1) or 1
    pool = (WorkerPool(max(1, min(workers, len(jobs))), prestart=(kernel, str(Path(notebook).parent)))
            if scheduler is None else None)
    try:
        try:
            results = (run_dask(jobs, scheduler, progress) if scheduler is not None
                       else run_local(jobs, workers, progress, pool=pool))
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
                task = _collaborative_task(collab, out, kernel, threshold)
                if pool is not None:  # on a worker whose kernel is already warm
                    collab_status = pool.map([task])[0]
                    if "_died" in collab_status:
                        collab_status = {"status": "failed", "report": None,
                                         "error": f"the worker process died (exit {collab_status['_died']})"}
                else:
                    collab_status = run_collaborative_notebook(**task["args"], warm=False)
            else:
                collab_status = {"status": "failed", "error": "no provider metrics to compare", "report": None}
    finally:
        if pool is not None:
            pool.close()
    atomic_write(state_path, json.dumps({"collaborative": collab.name, "providers": statuses,
                                         "collaborative_report": collab_status}, indent=1, sort_keys=True))
    write_index(out, collab, statuses, collab_status)
    sweep_temporary_files(out)
    # the exit status reflects the providers run now (a --provider subset is not failed by the others)
    ok = all(r["status"] == "ok" for r in results) and (collab_status is None or collab_status["status"] == "ok")
    return {"out": str(out), "providers": statuses, "collaborative": collab_status, "ok": ok}
