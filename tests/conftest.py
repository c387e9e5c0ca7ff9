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

