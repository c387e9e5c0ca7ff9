"""Warm kernels: a report notebook on a reused kernel sees a fresh namespace, its working folder
and no open figures; a kernel that died, hung or timed out is replaced; papermill still injects
the parameters."""

import os
import signal
import time

import nbformat
import pytest

from qi_equity.reports.notebooks import _warm, ensure_kernel, execute_notebook, shutdown_warm_kernels

pytestmark = pytest.mark.slow


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "qi-equity", "display_name": "qi-equity", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("value = 0", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return str(path)


@pytest.fixture()
def folder(tmp_path):
    ensure_kernel()
    yield tmp_path
    shutdown_warm_kernels()


def test_each_notebook_gets_a_fresh_namespace_folder_and_no_figures(folder):
    dirty = _notebook(folder / "dirty.ipynb",
                      "leak = value\nimport os\nos.chdir('/')\nimport matplotlib.pyplot as plt\nplt.figure()")
    clean = _notebook(folder / "clean.ipynb",
                      "assert 'leak' not in globals(), 'namespace not reset'\n"
                      f"import os\nassert os.getcwd() == {str(folder)!r}, os.getcwd()\n"
                      "import matplotlib.pyplot as plt\nassert plt.get_fignums() == [], plt.get_fignums()\n"
                      "seen = value")
    execute_notebook(dirty, str(folder / "out1.ipynb"), {"value": 1}, "qi-equity", str(folder))
    km = _warm.kernels[("qi-equity", str(folder))]
    nb = execute_notebook(clean, str(folder / "out2.ipynb"), {"value": 2}, "qi-equity", str(folder))
    assert _warm.kernels[("qi-equity", str(folder))] is km  # the same kernel, reused
    assert any("value = 2" in c.source for c in nb.cells)  # parameters injected by papermill


def test_a_dead_kernel_is_replaced(folder):
    nb = _notebook(folder / "nb.ipynb", "import os\npid = os.getpid()")
    execute_notebook(nb, str(folder / "out.ipynb"), {"value": 1}, "qi-equity", str(folder))
    km = _warm.kernels[("qi-equity", str(folder))]
    os.kill(km.provisioner.process.pid, signal.SIGKILL)
    km.provisioner.process.wait()
    execute_notebook(nb, str(folder / "out.ipynb"), {"value": 2}, "qi-equity", str(folder))
    assert _warm.kernels[("qi-equity", str(folder))] is not km


def test_notebooks_run_on_the_report_client_and_lose_no_output(folder):
    """The report client's handshake skips jupyter_client's 0.2 s IOPub drain; no output of a
    notebook's first cells may be lost by it."""
    from qi_equity.reports.internals import ReportKernelClient

    nb = _notebook(folder / "p.ipynb", "print('first', value)", "print('second')")
    for i in range(5):
        out = execute_notebook(nb, str(folder / "out.ipynb"), {"value": i}, "qi-equity", str(folder))
        texts = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in out.cells]
        assert texts[-2:] == [f"first {i}\n", "second\n"]
    assert isinstance(_warm.kernels[("qi-equity", str(folder))].client(), ReportKernelClient)


def test_a_kernel_that_never_answers_fails_its_notebook_within_the_cell_timeout(folder):
    """A kernel that stops answering (here: stopped by a signal, so no reply ever comes) must fail
    the notebook at the cell timeout, not hang the worker; the next notebook gets a new kernel."""
    from qi_equity.reports.notebooks import CELL_TIMEOUT

    assert CELL_TIMEOUT is not None and CELL_TIMEOUT <= 3600  # the runner's default is a finite limit
    hang = _notebook(folder / "hang.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)")
    t = time.time()
    with pytest.raises(Exception) as err:
        execute_notebook(hang, str(folder / "out.ipynb"), {"value": 1}, "qi-equity", str(folder), cell_timeout=3)
    assert time.time() - t < 60, "the notebook waited past its cell timeout"
    assert "timed out" in str(err.value).lower() or "Timeout" in type(err.value).__name__
    assert ("qi-equity", str(folder)) not in _warm.kernels  # the hung kernel was discarded
    ok = _notebook(folder / "ok.ipynb", "seen = value")
    nb = execute_notebook(ok, str(folder / "out2.ipynb"), {"value": 2}, "qi-equity", str(folder))
    assert any("value = 2" in c.source for c in nb.cells)


def _bad_extract(folder):
    from _support import SAMPLE, set_first_row

    return set_first_row(SAMPLE / "providers" / "XQB.csv", "sex", "Q", folder / "XQB.csv")


def test_a_failing_validation_stops_the_notebook_and_publishes_nothing(folder):
    """The notebook runs while the extract is validated; a failed validation stops it and wins."""
    from qi_equity.reports.runner import run_provider

    nb = _notebook(folder / "slow.ipynb", "import time\ntime.sleep(120)")
    extract = _bad_extract(folder)
    out = folder / "reports"
    status = run_provider(dict(code="XQB", name="B", extract=str(extract), census_date="2026-03-31",
                               out_dir=str(out), notebook=nb, kernel="qi-equity", threshold=5))
    assert status["status"] == "failed" and status["stage"] == "validation"
    assert "sex: must be one of F / M / U -- 1 of" in status["error"]
    assert status["stage_seconds"]["notebook"] < 60  # stopped, not slept out
    assert not out.exists() or not any(out.rglob("*.html"))


def test_after_a_failed_validation_the_worker_runs_its_next_notebooks(folder):
    """Regression: a failed validation used to interrupt the kernel every 0.25 s; an interrupt that
    reached ipykernel while it sent a reply was swallowed and the next notebook waited for ever (the
    run hung). Now the kernel is killed and replaced: repeated failures never leave the worker stuck,
    and a good notebook still runs after them."""
    from qi_equity.reports.runner import run_provider

    quick = _notebook(folder / "quick.ipynb", "import time\ntime.sleep(0.2)\nx = 1", "y = 2", "z = 3")
    extract = _bad_extract(folder)
    job = dict(code="XQB", name="B", extract=str(extract), census_date="2026-03-31", out_dir=str(folder / "r"),
               notebook=quick, kernel="qi-equity", threshold=5, cell_timeout=120)
    for _ in range(3):
        t = time.time()
        status = run_provider(job)
        assert status["stage"] == "validation" and time.time() - t < 120
    nb = execute_notebook(quick, str(folder / "out.ipynb"), {"value": 3}, "qi-equity", str(folder))
    assert any("value = 3" in c.source for c in nb.cells)
