"""Every place the report runner relies on something papermill, nbclient, nbconvert or
jupyter_client do not document as public: one module, so that an upgrade breaks here, loudly.

``tests/reports/test_internals.py`` checks that each name and signature used below still exists
in the installed versions (and names the versions it was written against); the rest of the runner
uses public APIs only (``papermill.execute_notebook``, ``jupyter_client.KernelManager``,
``nbconvert.HTMLExporter`` and its template options).

What is relied on, and why:

- ``papermill.clientwrap.PapermillNotebookClient`` and ``papermill.engines.NBClientEngine``
  (engine registration is public, the client wrapper is not): an engine that runs a notebook on a
  kernel manager the runner owns, so a worker keeps one warm kernel from report to report.
- ``jupyter_client.asynchronous.AsyncKernelClient._handle_kernel_info_reply`` and
  ``_async_is_alive``: a handshake without jupyter_client's 0.2 s IOPub drain.
- ``nbconvert.exporters.templateexporter.TemplateExporter.from_notebook_node``,
  ``HTMLExporter._init_resources`` and ``._nb_metadata``: the HTML export without its
  BeautifulSoup pass (0.25 s a report).
- ``KernelManager.provisioner.process``: the kernel's process, to kill it at once.
"""

from __future__ import annotations

import re
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

#: The versions this module was written and tested against (pinned in pyproject.toml).
WRITTEN_FOR = {"papermill": "2.7.0", "nbclient": "0.11.0", "nbconvert": "7.17.2", "jupyter_client": "8.10.0"}

WARM_ENGINE = "qi-equity-warm"
NO_ALT = "No description has been provided for this image"


def register_warm_engine():
    """Register papermill's nbclient engine under :data:`WARM_ENGINE`, running on a kernel
    manager it does not own (``km``): it closes its client's channels, never the kernel."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    if WARM_ENGINE in papermill_engines._engines:
        return

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, km=None, **kwargs):
            client = PapermillNotebookClient(nb_man, km=km, kernel_name=kernel_name, timeout=execution_timeout,
                                             startup_timeout=start_timeout, log=quiet_logger(), log_output=log_output,
                                             stdout_file=stdout_file, stderr_file=stderr_file)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(WARM_ENGINE, WarmKernelEngine)


class ReportKernelClient(AsyncKernelClient):
    """An asyncio kernel client (so nbclient's cell timeout and dead-kernel check keep running
    while it waits) whose handshake returns as soon as the kernel has answered on the shell and
    IOPub channels: jupyter_client then reads IOPub until it is quiet for 0.2 s, to drop messages
    of earlier requests, which nbclient ignores anyway (it reads by parent message id)."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            msg_id = self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply is not None and reply["parent_header"].get("msg_id") == msg_id:
                try:  # the request's busy/idle status: IOPub is subscribed
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass  # not yet: ask again
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


CLIENT_CLASS = f"{__name__}.ReportKernelClient"


def quiet_logger():
    """The logger notebook clients get: nothing reaches the console (a killed kernel's
    "Kernel died while waiting for execute reply" is the runner's business, reported per provider)."""
    import logging

    log = logging.getLogger("qi_equity.notebook")
    if not log.handlers:
        log.addHandler(logging.NullHandler())
        log.propagate = False
    return log


def kernel_pid(km) -> int | None:
    """The process id of a local kernel (``None`` if it has none)."""
    proc = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(proc, "pid", None)


def kill_kernel(km) -> None:
    """Kill a kernel's process at once (SIGKILL). Safe from any thread: it only signals."""
    try:
        km.provisioner.process.kill()
    except Exception:  # already gone, or not a local kernel
        pass


def report_exporter(template_name: str, template_dir: str):
    """nbconvert's HTML exporter for the report template, without its BeautifulSoup pass.

    After rendering, ``HTMLExporter`` re-parses the whole page in pure Python (about 0.25 s a
    report, most of the export) only to give images without ``alt`` a placeholder and to make
    cells and outputs focusable (``tabindex="0"``). Both edits are made here on the rendered text.
    """
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
            html_ = img_without_alt.sub(f'<img alt="{NO_ALT}"', html_)
            return focusable.sub(r'\1 tabindex="0"', html_), resources

    return ReportExporter(template_name=template_name, extra_template_basedirs=[template_dir], exclude_input=True,
                          exclude_input_prompt=True, exclude_output_prompt=True)


def relied_on() -> list[tuple[str, str]]:
    """``(module, attribute path)`` of every internal used above, for the upgrade test."""
    return [("papermill.clientwrap", "PapermillNotebookClient"),
            ("papermill.engines", "NBClientEngine.execute_managed_notebook"),
            ("papermill.engines", "papermill_engines._engines"),
            ("jupyter_client.asynchronous", "AsyncKernelClient._handle_kernel_info_reply"),
            ("jupyter_client.asynchronous", "AsyncKernelClient._async_is_alive"),
            ("nbconvert.exporters.templateexporter", "TemplateExporter.from_notebook_node"),
            ("nbconvert", "HTMLExporter._init_resources"),
            ("nbconvert.filters.highlight", "Highlight2HTML"),
            ("nbconvert.filters.widgetsdatatypefilter", "WidgetsDataTypeFilter"),
            ("jupyter_client.provisioning.local_provisioner", "LocalProvisioner.process")]
