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



def pytest_collection_modifyitems(config, items):
    """Groups for pytest-xdist's ``--dist loadgroup`` (``./kit test`` runs two processes): the
    tests of one file run in one process, in order (module fixtures and a notebook's cells are
    built once), and every file with a test on the session's ``sample_run`` joins one group, so
    the report command on the sample runs once."""
    if not config.pluginmanager.hasplugin("xdist"):
        return

    def file_of(item):
        return item.nodeid.split("::")[0]

    shares = {file_of(i) for i in items if "sample_run" in getattr(i, "fixturenames", ())}
    for item in items:
        f = file_of(item)
        item.add_marker(pytest.mark.xdist_group("sample_run" if f in shares else f))
