"""End to end: the report command on the sample collaborative with one invalid provider."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from _support import SAMPLE
from qi_equity.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_with_bad_provider(tmp_path_factory):
    root = tmp_path_factory.mktemp("collab")
    cfg = yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())
    (root / "providers").mkdir()
    for p in cfg["providers"]:
        shutil.copy(SAMPLE / p["extract"], root / p["extract"])
    shutil.copy(SAMPLE / "population.csv", root / "population.csv")
    bad = (root / "providers" / "XQD.csv").read_text().splitlines()
    header = bad[0].split(",")
    eth = header.index("ethnic_category")
    row = bad[1].split(",")
    row[eth] = "X"
    bad[1] = ",".join(row)
    (root / "providers" / "XQD.csv").write_text("\n".join(bad) + "\n")
    (root / "collaborative.yaml").write_text(yaml.safe_dump(cfg))
    out = root / "reports"
    code = main(["report", "--config", str(root / "collaborative.yaml"), "--out", str(out), "--no-progress"])
    return code, out / cfg["name"], cfg


def test_invalid_provider_gets_no_report_others_do(run_with_bad_provider):
    code, out, cfg = run_with_bad_provider
    assert code != 0
    for p in cfg["providers"]:
        assert (out / f"{p['code']}.html").exists() == (p["code"] != "XQD")
        assert (out / "metrics" / f"{p['code']}.json").exists() == (p["code"] != "XQD")
    index = (out / "index.html").read_text()
    assert "XQD" in index and "failed at validation" in index
    assert "ethnic_category: must be an NHS Data Dictionary ethnic category" in index
    assert index.count("&#10003; ok") == len(cfg["providers"]) - 1
    assert (out / "collaborative.html").exists()
    state = json.loads((out / "run.json").read_text())
    assert [s["status"] for s in state["providers"]].count("failed") == 1


def test_reports_open_offline_and_images_have_alt_text(run_with_bad_provider):
    _, out, _ = run_with_bad_provider
    for page in out.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"""<(script|link|img)[^>]+(src|href)\s*=\s*["']?https?://""", text, re.I), page.name
        assert not re.search(r"""@import\s+url\(\s*["']?https?://""", text, re.I), page.name
        for img in re.findall(r"<img\b[^>]*>", text):
            assert re.search(r'alt="[^"]{10,}"', img), page.name
        assert "def " not in text or page.name == "index.html"  # code cells hidden


def test_no_temporary_files_left(run_with_bad_provider):
    _, out, _ = run_with_bad_provider
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_provider_report_has_its_sections(run_with_bad_provider):
    _, out, _ = run_with_bad_provider
    html = (out / "XQB.html").read_text()
    for heading in ("Data quality", "Waits and did-not-attend by equity group", "Understanding variation",
                    "Methods and caveats"):
        assert heading in html
    assert "Counts from 1 to 4" in html
