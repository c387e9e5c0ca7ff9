"""Notebooks on warm kernels: execute with papermill, export HTML with nbconvert.

Starting a kernel and importing pandas / matplotlib / the kit costs about 3 s, as much as a
report itself. A worker keeps its kernel and clears the user namespace and every open figure
before each notebook (:mod:`qi_equity.reports.kernel_reset`), so a notebook sees the namespace
of a new kernel with the modules already imported. A kernel that died or timed out is replaced
before the next report. papermill still injects the parameters and executes the notebook.

Kernels talk to their worker over IPC (Unix sockets in a private temporary folder), not TCP:
nothing is sent in plain text over the network and ipykernel has nothing to warn about.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from qi_equity.reports import internals

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES = PACKAGE_DIR / "templates"
DEFAULT_KERNEL = "qi-equity"
WARM_ENGINE = internals.WARM_ENGINE

# Report kernels: no input history database, and the kit imported as the kernel starts (the
# worker validates the extract meanwhile; the namespace is cleared before every notebook anyway).
# Then gc.freeze(): the imported modules' objects are set aside from garbage collection.
KERNEL_ARGS = ["--HistoryManager.enabled=False",
               "--IPKernelApp.exec_lines=import pandas, matplotlib.figure, qi_equity.plotting, "
               "qi_equity.reports.provider, qi_equity.reports.lenses, qi_equity.reports.display; "
               "__import__('gc').freeze()"]

# A cell that runs longer than this fails its provider instead of holding up the run.
CELL_TIMEOUT = 900

_RESET_CODE = "__import__('qi_equity.reports.kernel_reset', fromlist=['reset']).reset({cwd!r})"
_warm = threading.local()
_exporters = threading.local()
_ipc_dirs: dict[int, str] = {}


def find_notebooks() -> Path:
    """The kit's ``notebooks/`` folder (next to the package in a checkout), or
    ``$QI_EQUITY_NOTEBOOKS``."""
    env = os.environ.get("QI_EQUITY_NOTEBOOKS")
    if env:
        return Path(env)
    return PACKAGE_DIR.parents[1] / "notebooks"


def ensure_kernel(name: str = DEFAULT_KERNEL):
    """Make sure the named kernel exists; register it in this environment if not."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name in KernelSpecManager().find_kernel_specs():
        return
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", name,
                    "--display-name", f"Python ({name})"], check=True, capture_output=True)


def _ipc_prefix() -> str:
    """A path prefix for this process's kernel sockets, in a private folder removed at exit
    (one per process: a forked worker does not share its parent's)."""
    d = _ipc_dirs.get(os.getpid())
    if d is None:
        d = _ipc_dirs[os.getpid()] = tempfile.mkdtemp(prefix="qi-k-")
        os.chmod(d, 0o700)
        atexit.register(shutil.rmtree, d, True)
    return os.path.join(d, "kernel")


def remove_ipc_dir():
    """Remove this process's kernel-socket folder (a forked worker exits without atexit)."""
    d = _ipc_dirs.pop(os.getpid(), None)
    if d:
        shutil.rmtree(d, ignore_errors=True)


def _launch_kernel(kernel: str, cwd: str):
    """This thread's kernel manager for ``kernel`` in ``cwd``, launching the kernel process if
    there is none (or it died). Does not wait for the kernel to be ready."""
    from jupyter_client.manager import KernelManager

    kernels = getattr(_warm, "kernels", None)
    if kernels is None:
        kernels = _warm.kernels = {}
        internals.register_warm_engine()
        atexit.register(shutdown_warm_kernels)
    km = kernels.get((kernel, cwd))
    if km is not None and not km.is_alive():
        shutdown_warm_kernels(only=(kernel, cwd))
        km = None
    if km is None:
        # an asyncio client for the notebooks: with a blocking one, waiting for a message blocks
        # nbclient's event loop, so neither its cell timeout nor its dead-kernel check could run
        km = KernelManager(kernel_name=kernel, client_class=internals.CLIENT_CLASS, transport="ipc",
                           ip=_ipc_prefix() + f"-{threading.get_ident()}-{len(kernels)}-{os.urandom(3).hex()}")
        km.start_kernel(cwd=cwd, extra_arguments=KERNEL_ARGS)
        kernels[(kernel, cwd)] = km
    return km


def kernel_pids() -> list[int]:
    """Process ids of this thread's warm kernels."""
    return [p for p in (internals.kernel_pid(km) for km in (getattr(_warm, "kernels", None) or {}).values()) if p]


def warm_kernel(kernel: str, cwd: str):
    """This worker's kernel manager for ``kernel`` in ``cwd``: started once, reset before each use."""
    from jupyter_client.blocking import BlockingKernelClient

    km = _launch_kernel(kernel, cwd)
    kc = BlockingKernelClient(parent=km, connection_file=km.connection_file, **km.get_connection_info(session=True))
    kc.start_channels()
    try:
        if not getattr(km, "qi_ready", False):  # a kernel that answered before needs no handshake
            kc.wait_for_ready(timeout=60)
        # only the shell reply is awaited (papermill's client ignores this request's outputs)
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
    """Launch this worker's kernel process without waiting for it: it boots while the worker
    validates its first extract, and :func:`warm_kernel` connects to it."""
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


def execute_notebook(input_path: str, output_path: str, parameters: dict, kernel: str, cwd: str, warm: bool = True,
                     km=None, cell_timeout: int | None = CELL_TIMEOUT):
    """Execute a notebook with papermill on the named kernel (this worker's warm kernel by default,
    or the kernel manager ``km`` already reset by :func:`warm_kernel`). A cell running longer than
    ``cell_timeout`` seconds raises (``None``: no limit)."""
    import papermill as pm

    logging.getLogger("papermill").setLevel(logging.CRITICAL)  # failures are reported per provider
    if not warm:
        return pm.execute_notebook(input_path, output_path, parameters=parameters, kernel_name=kernel, cwd=cwd,
                                   progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                                   execution_timeout=cell_timeout)
    km = km or warm_kernel(kernel, cwd)
    try:
        return pm.execute_notebook(input_path, output_path, parameters=parameters, kernel_name=kernel,
                                   engine_name=WARM_ENGINE, km=km, progress_bar=False, log_output=False,
                                   request_save_on_cell_execute=False, execution_timeout=cell_timeout)
    except Exception as exc:
        if kernel_unusable(exc):  # timed out (still busy) or died: this worker gets a new kernel
            shutdown_warm_kernels(only=(kernel, cwd), now=True)
        raise


def kernel_unusable(exc: BaseException | None) -> bool:
    """Whether a notebook that raised ``exc`` left its kernel unfit for another report: any failure
    other than an error raised by a cell's own code (a timeout, a dead kernel, a lost message)."""
    if exc is None:
        return False
    from papermill.exceptions import PapermillExecutionError

    return not isinstance(exc, PapermillExecutionError)


def notebook_error(exc: BaseException) -> str:
    """A notebook failure in one line: the exception's name and value."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    return f"{ename}: {evalue}"[:2000]


def export_html(nb, title: str | None = None) -> str:
    """HTML of an executed notebook: code hidden, images embedded, no internet resources;
    ``title`` is the page's title (what a browser tab, a bookmark and a printed page show)."""
    exporter = getattr(_exporters, "html", None)
    if exporter is None:  # built once per thread: loading the templates costs more than an export
        exporter = _exporters.html = internals.report_exporter("qi_report", str(TEMPLATES))
    nb.metadata.pop("widgets", None)
    if title:
        nb.metadata["title"] = title  # nbconvert's lab template escapes it
    for cell in nb.cells:  # papermill gives its injected cell a random id: make reruns identical
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    body, _ = exporter.from_notebook_node(nb)
    return body
