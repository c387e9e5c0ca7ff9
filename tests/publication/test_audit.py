"""The disclosure audit reads published files back: it is clean on the sample collaborative's
reports (the session's report run; threshold 8 is in test_audit_threshold.py), and it
catches a planted leak -- one extra published total -- naming the file and the cell.

The planted-leak cases are worked by hand (a partition whose hidden cells are given back by one
more count), so the expected finding does not come from the kit's own output."""

import json

import pytest

from qi_equity.cli import main
from qi_equity.disclosure import audit, audit_summary
from qi_equity.publication.audit import cell_key

KEYS = ["measure", "period", "specialty", "dimension", "group", "value"]


def _metrics(path, code, cells, threshold=5):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema": "qi_equity.metrics/2", "provider_code": code,
                                "rule": {"threshold": threshold, "min_median": 10},
                                "cells": {"columns": KEYS, "data": cells}}))


def _sex(female, male, unknown, total, measure="dna", period="2025-04..2026-03"):
    return [[measure, period, "all", "all", "All", total],
            [measure, period, "all", "sex", "Female", female],
            [measure, period, "all", "sex", "Male", male],
            [measure, period, "all", "sex", "Not known", unknown]]


def test_a_protected_partition_is_clean(tmp_path):
    # Not known = 3 hidden (primary), Male = 9 hidden (secondary): a reader knows only that they
    # add to 12 and each is at least 1, so Not known lies anywhere from 1 to 11
    _metrics(tmp_path / "metrics" / "XQZ.json", "XQZ", _sex(40, None, None, 52))
    issues = audit(tmp_path)
    assert issues.empty, audit_summary(issues)
    assert issues.attrs["providers"] == ["XQZ"] and issues.attrs["cells"] == 2


def test_a_planted_total_is_reported_by_file_and_cell(tmp_path):
    _metrics(tmp_path / "metrics" / "XQZ.json", "XQZ", _sex(40, None, None, 52))
    # the leak: a findings file publishes the male count the metrics hid
    (tmp_path / "findings").mkdir()
    (tmp_path / "findings" / "XQZ.json").write_text(json.dumps(
        {"schema": "qi_equity.findings/1", "provider_code": "XQZ",
         "cells": {"columns": KEYS, "data": [["dna", "2025-04..2026-03", "all", "sex", "Male", 9]]}}))
    issues = audit(tmp_path)
    exposed = issues[issues["kind"] == "exposed"]
    assert len(exposed) == 1, audit_summary(issues)
    r = exposed.iloc[0]
    assert (r["group"], r["dimension"], r["measure"], r["file"]) == ("Not known", "sex", "dna", "metrics/XQZ.json")
    assert r["lower"] == pytest.approx(3) and r["upper"] == pytest.approx(3)
    assert "exactly 3" in audit_summary(issues)


def test_a_leak_through_twelve_months_and_an_html_table_is_caught(tmp_path):
    # months published with one month hidden (2); the 12-month total in an HTML table gives it back
    months = [f"2025-{m:02d}" for m in range(4, 13)] + ["2026-01", "2026-02", "2026-03"]
    vals = [20] * 11 + [None]
    cells = [["dna", m, "all", "all", "All", v] for m, v in zip(months, vals)]
    _metrics(tmp_path / "metrics" / "XQZ.json", "XQZ", cells)
    assert audit(tmp_path).empty
    key = cell_key("dna", "2025-04..2026-03", "all", "all", "All")
    (tmp_path / "XQZ.html").write_text(f"<html><body><table><tr><td data-cell='{key}'>222</td></tr></table></body></html>")
    issues = audit(tmp_path)
    exposed = issues[issues["kind"] == "exposed"]
    assert len(exposed) == 1 and exposed.iloc[0]["period"] == "2026-03", audit_summary(issues)
    assert exposed.iloc[0]["lower"] == pytest.approx(2)


def test_a_count_published_twice_with_two_values_is_inconsistent(tmp_path):
    _metrics(tmp_path / "metrics" / "XQZ.json", "XQZ", _sex(40, 30, 0, 70))
    key = cell_key("dna", "2025-04..2026-03", "all", "sex", "Male")
    (tmp_path / "XQZ.html").write_text(f"<table><tr><td data-cell='{key}'>31</td></tr></table>")
    issues = audit(tmp_path)
    assert (issues["kind"] == "inconsistent").sum() == 1


def test_the_sample_collaborative_reports_audit_clean(sample_run, capsys):
    _, out = sample_run
    issues = audit(out)
    assert issues.empty, audit_summary(issues)
    assert len(issues.attrs["providers"]) == 6 and issues.attrs["cells"] > 10_000 and issues.attrs["hidden"] > 500
    assert main(["audit", str(out)]) == 0
    assert "Nothing can be recovered" in capsys.readouterr().out
