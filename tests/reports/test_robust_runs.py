"""Runs as an operator meets them: signals, resume, a full disk, a read-only or busy output folder,
and a console that names what failed.

The runner is exercised on stub notebooks (``stub_notebooks/``, via ``QI_EQUITY_NOTEBOOKS``) that
write minimal metrics and findings after a pause (``QI_STUB_SECONDS``), so that the faults can be
placed mid-run in seconds; the real extracts are still read and validated. The real notebooks'
end-to-end run is tested in ``test_runner.py``.
"""

import html
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from _support import SAMPLE, STUBS, set_first_row
from qi_equity.reports.outputs import FAULT_ENOSPC_ENV, LOCK_NAME
from qi_equity.reports.pool import descendants

pytestmark = pytest.mark.slow

CODES = ["XQA", "XQB", "XQC"]


@pytest.fixture
def collab(tmp_path, monkeypatch):
    """A three-provider collaborative on the sample's extracts, run on the stub notebooks."""
    (tmp_path / "providers").mkdir()
    for c in CODES:  # the first 400 pathways of each: real rows, validated quickly
        lines = (SAMPLE / "providers" / f"{c}.csv").read_text().splitlines()[:401]
        (tmp_path / "providers" / f"{c}.csv").write_text("\n".join(lines) + "\n")
    cfg = {"name": "stubbed", "title": "Stubbed", "census_date": "2026-03-31",
           "providers": [{"code": c, "name": f"Trust {c}", "extract": f"providers/{c}.csv"} for c in CODES]}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("QI_EQUITY_NOTEBOOKS", str(STUBS))
    monkeypatch.setenv("QI_STUB_SECONDS", "0")
    return tmp_path


def _start(collab, *extra, seconds="0", env=None):
    e = dict(os.environ, QI_STUB_SECONDS=seconds, **(env or {}))
    cmd = [sys.executable, "-m", "qi_equity.cli", "report", "--config", str(collab / "c.yaml"),
           "--out", str(collab / "out"), "--workers", "1", *extra]
    return subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _state(collab):
    try:
        return {s["code"]: s for s in json.loads((collab / "out" / "stubbed" / "run.json").read_text())["providers"]}
    except (OSError, ValueError, KeyError):
        return {}


def _wait_for(cond, timeout=180):
    t = time.time()
    while time.time() - t < timeout:
        if cond():
            return True
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_run_stops_everything_and_resume_finishes_only_what_was_left(collab, sig):
    proc = _start(collab, seconds="4")
    _wait_for(lambda: _state(collab).get("XQA", {}).get("status") == "ok")
    time.sleep(1.0)  # XQB is now on the worker's kernel
    family = descendants([proc.pid])
    assert len(family) >= 2  # the worker and its kernel at least
    t = time.time()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert time.time() - t < 15, "the run took too long to stop"
    assert proc.returncode == 128 + sig
    assert "Traceback" not in out + err and f"interrupted by {sig.name}" in err
    time.sleep(1)
    assert not [p for p in family if _alive(p)], "a process of the run outlived it"
    state = _state(collab)
    assert [state[c]["status"] for c in CODES] == ["ok", "interrupted", "not run"]
    run_json = json.loads((collab / "out" / "stubbed" / "run.json").read_text())
    assert run_json["interrupted"]["signal"] == sig.name
    index = (collab / "out" / "stubbed" / "index.html").read_text()
    assert "interrupted" in index and "--resume" in index and "1 of 3 provider reports up to date" in index
    assert not (collab / "out" / "stubbed" / LOCK_NAME).exists()
    if sig == signal.SIGINT:  # the same resume path as SIGTERM's, tested once
        return
    first = (collab / "out" / "stubbed" / "XQA.html").stat().st_mtime_ns

    proc = _start(collab, "--resume")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, out + err
    assert "2 provider report(s)" in out  # exactly what was left
    assert (collab / "out" / "stubbed" / "XQA.html").stat().st_mtime_ns == first  # not rerun
    assert [s["status"] for s in _state(collab).values()] == ["ok"] * 3
    assert "without encryption" not in out + err and "Kernel died" not in out + err


def test_a_full_disk_on_the_third_provider_leaves_no_mixed_outputs_and_no_stale_comparison(collab):
    from qi_equity.reports.runner import run

    out = collab / "out" / "stubbed"
    res = run(collab / "c.yaml", collab / "out", threshold=8, progress=False, workers=1)
    assert res["ok"]
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("XQC*")}
    os.environ[FAULT_ENOSPC_ENV] = "XQC"
    try:
        res = run(collab / "c.yaml", collab / "out", threshold=5, progress=False, workers=1)
    finally:
        os.environ.pop(FAULT_ENOSPC_ENV)
    state = {s["code"]: s for s in res["providers"]}
    assert state["XQC"]["status"] == "failed" and state["XQC"]["stage"] == "export"
    assert "No space left on device" in state["XQC"]["error"] and "none of them was replaced" in state["XQC"]["error"]
    assert state["XQA"]["status"] == state["XQB"]["status"] == "ok" and not res["ok"]
    # XQC: report, metrics and findings all still the first run's (threshold 8), none half-replaced
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("XQC*")} == before
    assert json.loads((out / "metrics" / "XQC.json").read_text())["threshold"] == 8
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
    # the collaborative report compared only current outputs (threshold 5) and says what it left out
    collab_html = html.unescape((out / "collaborative.html").read_text())
    assert 'COMPARED=["XQA", "XQB"]' in collab_html and 'THRESHOLDS={"XQA": 5, "XQB": 5}' in collab_html
    assert "XQC: not compared: its report failed in the last run (export)" in res["left_out"][0]
    assert "XQC: not compared" in (out / "index.html").read_text()
    assert "previous report of" in (out / "index.html").read_text()
    # a resume reruns XQC only, and then everything is current at threshold 5
    res = run(collab / "c.yaml", collab / "out", threshold=5, progress=False, workers=1, only_failed=True)
    assert res["ok"] and res["left_out"] == []
    assert [s["code"] for s in res["providers"] if s.get("stage_seconds")] != []
    assert json.loads((out / "metrics" / "XQC.json").read_text())["threshold"] == 5
    # outputs changed behind the run's back are not current: resume reruns that provider
    (out / "findings" / "XQB.json").write_text("{}")
    res = run(collab / "c.yaml", collab / "out", threshold=5, progress=False, workers=1, only_failed=True)
    rerun = [s["code"] for s in res["providers"] if s.get("finished_at") and s["code"] == "XQB"]
    assert rerun == ["XQB"] and json.loads((out / "findings" / "XQB.json").read_text())["findings"]


@pytest.fixture
def read_only(tmp_path):
    """A folder no one can write to, even root: a read-only tmpfs where mounts are allowed, else
    permissions (not root), else /sys (read-only in containers)."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() != 0:
        d.chmod(0o555)
        yield d
        d.chmod(0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(d)], capture_output=True).returncode == 0:
        yield d
        subprocess.run(["umount", str(d)], capture_output=True)
        return
    yield Path("/sys")


def test_a_read_only_out_fails_before_any_notebook(collab, read_only, capsys):
    from qi_equity.cli import main

    t = time.time()
    code = main(["report", "--config", str(collab / "c.yaml"), "--out", str(read_only), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and "cannot write here" in err and "No report was run" in err and "Traceback" not in out + err
    assert time.time() - t < 10


def test_a_second_run_into_the_same_folder_is_refused_and_a_dead_runs_lock_is_taken_over(collab, capsys):
    from qi_equity.cli import main

    first = _start(collab, "--provider", "XQA", seconds="3")
    lock = collab / "out" / "stubbed" / LOCK_NAME
    _wait_for(lambda: lock.exists() and lock.read_text().strip())
    code = main(["report", "--config", str(collab / "c.yaml"), "--out", str(collab / "out"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and "another run is writing to this folder" in err and f"PID {first.pid}" in err
    assert "Traceback" not in out + err
    stdout, stderr = first.communicate(timeout=180)
    assert first.returncode == 0, stdout + stderr
    assert not lock.exists()
    # a lock file left by a run that died (its flock went with it) is taken over
    lock.write_text(json.dumps({"pid": 999999, "host": "h", "started": "2026-01-01 00:00:00", "command": "x"}))
    code = main(["report", "--config", str(collab / "c.yaml"), "--out", str(collab / "out"), "--provider", "XQA"])
    out, err = capsys.readouterr()
    assert code == 0 and "PID 999999" in out and "taken over" in out


def test_the_console_names_the_failing_rules_an_empty_extract_and_a_wrong_code(collab):
    set_first_row(collab / "providers" / "XQB.csv", "sex", "Q")
    header = (collab / "providers" / "XQA.csv").read_text().splitlines()[0]
    (collab / "providers" / "XQA_header_only.csv").write_text(header + "\n")
    cfg = yaml.safe_load((collab / "c.yaml").read_text())
    cfg["providers"][0]["extract"] = "providers/XQA_header_only.csv"
    cfg["providers"][2]["extract"] = "providers/XQA.csv"  # the config says XQC for XQA's extract
    (collab / "c.yaml").write_text(yaml.safe_dump(cfg))
    proc = _start(collab)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1
    assert "XQA    failed at validation" in out and "no data rows" in out
    assert "XQB    failed at validation" in out and "- sex: must be one of F / M / U -- 1 of" in out
    assert "XQC    failed at validation" in out and "is XQA in the file, but the config gives XQC for it" in out
    assert "Kernel died" not in out + err and "without encryption" not in out + err and "Traceback" not in out + err
