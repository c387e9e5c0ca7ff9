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
