import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

from _support import _sample_derived, good_frame  # noqa: E402


@pytest.fixture
def good_raw():
    return good_frame()


@pytest.fixture
def good_csv(tmp_path):
    p = tmp_path / "good.csv"
    good_frame().to_csv(p, index=False)
    return p


@pytest.fixture(scope="session")
def sample_derived():
    return _sample_derived


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory):
    """The report command on the bundled sample collaborative, once per session: ``(exit code,
    the collaborative's report folder)``."""
    import yaml

    from _support import SAMPLE
    from qi_equity.cli import main

    out = tmp_path_factory.mktemp("reports")
    code = main(["report", "--config", str(SAMPLE / "collaborative.yaml"), "--out", str(out), "--no-progress"])
    name = yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())["name"]
    return code, out / name



#: The test files that use the session's ``sample_run``: with ``./kit test``'s two processes
#: (pytest-xdist) they are scheduled as one unit, so the report command on the sample runs once.
#: Collection fails if another file starts using it without being listed here.
SAMPLE_RUN_FILES = {"tests/findings/test_ground_truth.py", "tests/publication/test_audit.py",
                    "tests/reports/test_runner.py", "tests/reports/test_reading.py",
                    "tests/reports/test_browser.py"}


def pytest_collection_modifyitems(config, items):
    uses = {i.nodeid.split("::")[0] for i in items if "sample_run" in getattr(i, "fixturenames", ())}
    if uses - SAMPLE_RUN_FILES:
        raise pytest.UsageError(f"{sorted(uses - SAMPLE_RUN_FILES)} use the sample_run fixture: add them to "
                                "SAMPLE_RUN_FILES in tests/conftest.py")


@pytest.hookimpl(optionalhook=True)  # xdist may be switched off (-p no:xdist)
def pytest_xdist_make_scheduler(config, log):
    """Whole files to a process, in order (module fixtures are built once; a notebook's cells
    share one kernel -- nbval's items cannot carry an xdist group), and the files on the
    session's ``sample_run`` as one unit."""
    from xdist.scheduler import LoadScopeScheduling

    class FileOrGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            f = nodeid.split("::", 1)[0]
            return "sample_run" if f in SAMPLE_RUN_FILES else f

    return FileOrGroup(config, log)
