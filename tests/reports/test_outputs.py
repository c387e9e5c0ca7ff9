"""The output folder's rules, one by one: a unit is published whole or not at all, the lock admits
one run, the writability check fails early, and 'current' means the recorded files, unchanged,
made with this rule."""

import errno
import json
import os

import pytest

from qi_equity.reports import outputs as O

RULE = {"threshold": 5, "min_median": 10, "hes": False}


def test_a_unit_is_published_whole(tmp_path):
    hashes = O.publish_unit(tmp_path, "XQA", {"XQA.html": "<p>r</p>", "metrics/XQA.json": b"{}"})
    assert (tmp_path / "XQA.html").read_text() == "<p>r</p>" and (tmp_path / "metrics" / "XQA.json").read_bytes() == b"{}"
    assert hashes == O.file_hashes(tmp_path, ["XQA.html", "metrics/XQA.json"])
    assert oct((tmp_path / "XQA.html").stat().st_mode & 0o777) == oct(0o666 & ~O._umask())


def test_a_failed_write_replaces_nothing_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    O.publish_unit(tmp_path, "XQA", {"XQA.html": "old", "metrics/XQA.json": "old", "findings/XQA.json": "old"})
    monkeypatch.setenv(O.FAULT_ENOSPC_ENV, "XQA")
    with pytest.raises(OSError) as err:
        O.publish_unit(tmp_path, "XQA", {"XQA.html": "new", "metrics/XQA.json": "new", "findings/XQA.json": "new"})
    assert err.value.errno == errno.ENOSPC
    assert [p.read_text() for p in sorted(tmp_path.rglob("*.*"))] == ["old"] * 3
    assert not [p for p in tmp_path.rglob(".*")]


def test_the_lock_admits_one_run_and_names_the_holder(tmp_path):
    with O.RunLock(tmp_path) as first:
        assert first.took_over is None
        with pytest.raises(O.OutputError, match=f"another run is writing to this folder \\(PID {os.getpid()}"):
            with O.RunLock(tmp_path):
                pass
    assert not (tmp_path / O.LOCK_NAME).exists()


def test_a_dead_runs_lock_is_taken_over(tmp_path):
    (tmp_path / O.LOCK_NAME).write_text(json.dumps({"pid": 999999, "started": "2026-01-01 00:00:00"}))
    with O.RunLock(tmp_path) as lock:
        assert lock.took_over["pid"] == 999999
        assert json.loads((tmp_path / O.LOCK_NAME).read_text())["pid"] == os.getpid()


def test_too_little_space_is_refused_before_work(tmp_path, monkeypatch):
    O.check_writable(tmp_path, 3)  # this disk has room for three reports
    assert not [p for p in tmp_path.rglob(".*")]  # probes removed
    monkeypatch.setattr(O, "MB_PER_REPORT", 10**9)
    with pytest.raises(O.OutputError, match="MB free; this run needs about"):
        O.check_writable(tmp_path, 3)


def test_current_means_recorded_unchanged_and_this_rule(tmp_path):
    hashes = O.publish_unit(tmp_path, "XQA", {"XQA.html": "r", "metrics/XQA.json": "{}"})
    entry = {"status": "ok", "stage": "done", "files": hashes, "rule": RULE, "finished_at": "2026-12-02 10:00:00"}
    assert O.current(entry, RULE, tmp_path) == (True, "")
    ok, why = O.current(entry, dict(RULE, threshold=8), tmp_path)
    assert not ok and "another disclosure rule (threshold 5" in why
    failed = {"status": "failed", "stage": "export", "kept": O.published(entry)}
    ok, why = O.current(failed, RULE, tmp_path)
    assert not ok and "outputs of 2026-12-02 10:00:00 are kept but not current" in why
    (tmp_path / "XQA.html").write_text("changed")
    ok, why = O.current(entry, RULE, tmp_path)
    assert not ok and "do not match the run record" in why
    assert O.current(None, RULE, tmp_path) == (False, "no report yet")
    assert not O.current({"status": "ok"}, RULE, tmp_path)[0]  # no record of its files: not vouched for
