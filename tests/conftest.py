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



@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups into the node ids
def pytest_collection_modifyitems(config, items):
    """With ``./kit test``'s two processes (pytest-xdist), every file with a test on the
    session's ``sample_run`` joins one group, so the report command on the sample runs once."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    shares = {i.nodeid.split("::")[0] for i in items if "sample_run" in getattr(i, "fixturenames", ())}
    for item in items:
        if item.nodeid.split("::")[0] in shares:
            item.add_marker(pytest.mark.xdist_group("sample_run"))


@pytest.hookimpl(optionalhook=True)  # xdist may be switched off (-p no:xdist)
def pytest_xdist_make_scheduler(config, log):
    """Whole files to a process, in order (module fixtures are built once; a notebook's cells
    share one kernel -- nbval's items cannot carry an xdist group), and the ``sample_run`` group
    as one unit."""
    from xdist.scheduler import LoadScopeScheduling

    class FileOrGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.rfind("@") > nodeid.rfind("]"):
                return nodeid.split("@")[-1]
            return nodeid.split("::", 1)[0]

    return FileOrGroup(config, log)
