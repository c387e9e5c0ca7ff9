"""End to end: the report command on the sample collaborative with broken providers, fault
isolation, atomic writes, determinism, offline HTML and a Dask LocalCluster."""

import json
import os
import re
import shutil

import pytest
import yaml

from _support import SAMPLE, STUBS, set_first_row
from qi_equity.cli import main
from qi_equity.reports.runner import FAULT_KILL_ENV, run

pytestmark = pytest.mark.slow


HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>'


def _copy_sample(root, hostile=False, leave_out=()):
    cfg = yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())
    cfg["providers"] = [p for p in cfg["providers"] if p["code"] not in leave_out]
    if hostile:
        cfg["title"] = HOSTILE_TITLE
        next(p for p in cfg["providers"] if p["code"] == "XQC")["name"] = HOSTILE_NAME
    shutil.copytree(SAMPLE, root, dirs_exist_ok=True)  # extracts and lens data
    (root / "collaborative.yaml").write_text(yaml.safe_dump(cfg))
    return cfg


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """XQD: invalid ethnicity code; XQE: corrupt (binary) file; XQA: worker killed mid-write;
    XQC named with a script and the collaborative titled with an image tag."""
    root = tmp_path_factory.mktemp("collab")
    cfg = _copy_sample(root, hostile=True, leave_out=("XQB",))  # XQB's report is checked on sample_run
    set_first_row(root / "providers" / "XQD.csv", "ethnic_category", "X")
    (root / "providers" / "XQE.csv").write_bytes(b"\x00\x9f\x92\x96 not a csv \xff\xfe" * 50)
    out = root / "reports"
    os.environ[FAULT_KILL_ENV] = "XQA"
    try:
        code = main(["report", "--config", str(root / "collaborative.yaml"), "--out", str(out), "--no-progress",
                     "--workers", "2"])
    finally:
        os.environ.pop(FAULT_KILL_ENV)
    return code, out / cfg["name"], cfg, root


def test_failures_are_isolated_and_shown(broken_run):
    code, out, cfg, _ = broken_run
    assert code != 0
    failed = {"XQA", "XQD", "XQE"}
    for p in cfg["providers"]:
        assert (out / f"{p['code']}.html").exists() == (p["code"] not in failed)
        assert (out / "metrics" / f"{p['code']}.json").exists() == (p["code"] not in failed)
    index = (out / "index.html").read_text()
    assert "failed at validation" in index and "ethnic_category: must be an NHS Data Dictionary ethnic category" in index
    assert "failed at worker" in index and "the worker process died (signal 9)" in index
    assert index.count("&#10003; ok") == len(cfg["providers"]) - len(failed)
    assert (out / "collaborative.html").exists()
    state = json.loads((out / "run.json").read_text())
    assert {s["code"] for s in state["providers"] if s["status"] == "failed"} == failed


def test_no_partial_or_temporary_file_left(broken_run):
    _, out, _, _ = broken_run
    assert not [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_reports_open_offline_and_images_have_alt_text(broken_run, sample_run):
    pages = list(broken_run[1].glob("*.html")) + list(sample_run[1].glob("*.html"))
    assert len(pages) >= 4
    for page in pages:
        text = page.read_text()
        assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)\s*=\s*["']?https?://""", text, re.I), page.name
        assert not re.search(r"""@import\s+url\(\s*["']?https?://""", text, re.I), page.name
        for img in re.findall(r"<img\b[^>]*>", text):
            assert re.search(r'alt="[^"]{10,}"', img), page.name


def test_hostile_names_and_titles_are_escaped_in_every_report(broken_run):
    _, out, _, _ = broken_run
    pages = {p.name: p.read_text() for p in out.glob("*.html")}
    assert {"XQC.html", "index.html", "collaborative.html"} <= set(pages)
    for name, text in pages.items():
        assert "<script>alert" not in text and "<img src=x" not in text, name
    for name in ("XQC.html", "index.html", "collaborative.html"):  # the provider's name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[name], name
    for name in ("index.html", "collaborative.html"):  # the collaborative's title
        assert "&lt;img src=x onerror=alert(1)&gt;" in pages[name], name


def test_unsafe_collaborative_names_and_provider_codes_are_rejected(tmp_path, capsys):
    from qi_equity.reports.runner import Collaborative

    for key, bad in (("name", "../x"), ("code", "../../x")):
        cfg = yaml.safe_load((SAMPLE / "collaborative.yaml").read_text())
        if key == "name":
            cfg["name"] = bad
        else:
            cfg["providers"][0]["code"] = bad
        for p in cfg["providers"]:
            p["extract"] = str(SAMPLE / p["extract"]) if not p["extract"].startswith("/") else p["extract"]
        path = tmp_path / f"bad_{key}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            Collaborative.load(path)
        code = main(["report", "--config", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2 and "error:" in err and bad in err and "Traceback" not in err
        assert not (tmp_path / "x").exists() and not (tmp_path.parent / "x").exists()
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_provider_report_sections(sample_run):
    _, out = sample_run
    html = (out / "XQB.html").read_text()
    order = ["Summary", "Data quality", "Waits and did-not-attend by equity group", "Inequality table",
             "The social gradient across IMD deciles", "Understanding variation", "Is the gap widening?",
             "Appreciation for a system", "Theory of knowledge", "Psychology of change", "Equity self-assessment",
             "Methods and caveats"]
    positions = [html.find(f">{h}") for h in order]
    assert all(p >= 0 for p in positions), [h for h, p in zip(order, positions) if p < 0]
    assert positions == sorted(positions)  # summary first, then data quality, the lenses, methods last
    assert "Who are the people?" in html and "Seldom heard" in html and "Driver diagram" in html
    assert "Counts from 1 to 4" in html
    assert "Running HiGHS" not in html  # no solver banner in a report
    collab = (out / "collaborative.html").read_text()
    assert "Funnel plots" in collab and "highlighted" in collab
    assert "Equity self-assessment across the collaborative" in collab


def test_only_failed_reruns_the_failed_and_keeps_previous_reports(broken_run):
    code, out, cfg, root = broken_run
    shutil.copy(SAMPLE / "providers" / "XQE.csv", root / "providers" / "XQE.csv")  # fixed
    before = (out / "XQC.html").stat().st_mtime_ns
    res = run(root / "collaborative.yaml", root / "reports", only_failed=True, progress=False, workers=2)
    status = {s["code"]: s["status"] for s in res["providers"]}
    assert status["XQE"] == "ok" and status["XQA"] == "ok" and status["XQD"] == "failed"
    assert (out / "XQC.html").stat().st_mtime_ns == before  # not re-run
    assert not res["ok"]


def test_two_runs_give_identical_metrics_and_html(broken_run, tmp_path):
    _, out, _, root = broken_run
    first_metrics = (out / "metrics" / "XQC.json").read_bytes()
    first_html = (out / "XQC.html").read_text()
    res = run(root / "collaborative.yaml", tmp_path, providers=["XQC"], progress=False, collaborative=False)
    assert res["ok"]
    second = tmp_path / "north_weald"
    assert (second / "metrics" / "XQC.json").read_bytes() == first_metrics

    def strip(html):
        return [line for line in html.splitlines() if "Generated at" not in line]

    a, b = strip(first_html), strip((second / "XQC.html").read_text())
    assert a == b
    assert len(first_html.splitlines()) - len(a) == 1  # exactly one generated-at line differs


def test_a_batch_runs_on_a_dask_local_cluster(tmp_path, monkeypatch):
    """The Dask path (each provider one task on a distributed worker), on the runner's stub
    notebooks (tests/reports/stub_notebooks): what is tested is the distribution, not the report."""
    from distributed import Client, LocalCluster

    monkeypatch.setenv("QI_EQUITY_NOTEBOOKS", str(STUBS))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        res = run(SAMPLE / "collaborative.yaml", tmp_path, providers=["XQC", "XQF"], scheduler=client, progress=False,
                  collaborative=False)
    assert res["ok"]
    out = tmp_path / "north_weald"
    for code in ("XQC", "XQF"):
        assert "stub report of " + code in (out / f"{code}.html").read_text()
        assert json.loads((out / "metrics" / f"{code}.json").read_text())["provider_code"] == code
    assert {s["code"]: s["status"] for s in json.loads((out / "run.json").read_text())["providers"]}["XQC"] == "ok"
