"""Every library internal the runner relies on still exists, with the signature used: an upgrade of
papermill, nbclient, nbconvert or jupyter_client that removes or changes one fails here, naming it,
rather than somewhere inside a report run."""

import importlib
import inspect
from importlib.metadata import version

import pytest

from qi_equity.reports import internals


@pytest.mark.parametrize("module, path", internals.relied_on())
def test_each_internal_exists(module, path):
    obj = importlib.import_module(module)
    for part in path.split("."):
        assert hasattr(obj, part), (f"{module}.{path} is gone (installed: {_versions()}; written for "
                                    f"{internals.WRITTEN_FOR}): update qi_equity/reports/internals.py")
        obj = getattr(obj, part)


def test_signatures_used():
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine

    takes = inspect.signature(PapermillNotebookClient.__init__).parameters
    assert {"nb_man", "km"} <= set(takes)
    assert "km" in inspect.signature(NBClientEngine.execute_managed_notebook).parameters or \
        "kwargs" in inspect.signature(NBClientEngine.execute_managed_notebook).parameters


def test_the_exporter_still_has_its_notebook_metadata_and_renders():
    import nbformat

    from qi_equity.reports.notebooks import TEMPLATES

    exporter = internals.report_exporter("qi_report", str(TEMPLATES))
    assert hasattr(exporter, "_nb_metadata")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("hello")]
    body, _ = exporter.from_notebook_node(nb)
    assert "hello" in body and "<html" in body


def test_installed_versions_are_the_ones_written_for():
    """A version bump is a decision: re-check internals.py, then update WRITTEN_FOR."""
    for package, want in internals.WRITTEN_FOR.items():
        assert version(package) == want, f"{package} {version(package)} installed; internals.py was checked " \
                                         f"against {want}"


def _versions():
    return {p: version(p) for p in internals.WRITTEN_FOR}
