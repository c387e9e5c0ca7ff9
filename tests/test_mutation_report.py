"""tools/mutation_report.py: a run over some files adds to the record instead of replacing it."""

import importlib.util

from _support import ROOT

spec = importlib.util.spec_from_file_location("mutation_report", ROOT / "tools" / "mutation_report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def test_a_partial_run_replaces_only_its_files():
    record = {"a.py": {"measured": "2026-12-01", "killed": 9, "timeout": 0, "survived": ["a.x_f__mutmut_1"],
                       "no tests": []},
              "b.py": {"measured": "2026-12-01", "killed": 5, "timeout": 0, "survived": [], "no tests": []}}
    rows = [("b.py", "b.x_g__mutmut_1", "killed"), ("b.py", "b.x_g__mutmut_2", "survived"),
            ("c.py", "c.x_h__mutmut_1", "timeout")]
    out = report.merge(record, rows, "2026-12-03")
    assert out["a.py"] == record["a.py"]  # not in this run: kept as last measured
    assert out["b.py"] == {"measured": "2026-12-03", "killed": 1, "timeout": 0, "survived": ["b.x_g__mutmut_2"],
                           "no tests": []}
    assert out["c.py"]["timeout"] == 1 and list(out) == ["a.py", "b.py", "c.py"]
    text = report.render(out, {"b.x_g__mutmut_2": "equivalent: because"})
    # 9 + 1 killed, 1 timeout (a kill) of 13 mutants in the whole record
    assert "Mutants checked: 13" in text and "**Kill rate 84.6%**" in text
    assert "| `a.py` | 2026-12-01 | 10 | 9 | 1 | 0 | 0 | 90% | 90% |" in text
    # b's survivor is explained as equivalent, so it leaves the score: 11 killed of 13 - 1
    assert "| `b.py` | 2026-12-03 | 2 | 1 | 1 | 1 | 0 | 50% | 100% |" in text
    assert "1 are explained as equivalent and 1 are not: **mutation score 91.7%**" in text
    assert "- `b.x_g__mutmut_2`: equivalent: because" in text and "- `a.x_f__mutmut_1`: not yet explained" in text


def test_a_file_checked_only_in_part_keeps_its_last_full_measurement(tmp_path):
    # a stopped run: b.py's first mutant checked, its second never reached; c.py wholly checked
    import json

    for name, codes in {"b.py": {"b.x_g__mutmut_1": 1, "b.x_g__mutmut_2": None},
                        "c.py": {"c.x_h__mutmut_1": 0}, "d.py": {"d.x_k__mutmut_1": None}}.items():
        (tmp_path / f"{name}.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    rows = report.collect(tmp_path)
    assert ("b.py", "b.x_g__mutmut_2", "unchecked") in rows and not [r for r in rows if r[0] == "d.py"]
    record = {"b.py": {"measured": "2026-12-01", "killed": 7, "timeout": 0, "survived": [], "no tests": []}}
    out = report.merge(record, rows, "2026-12-04")
    assert out["b.py"] == record["b.py"] and out["c.py"]["survived"] == ["c.x_h__mutmut_1"] and "d.py" not in out


def test_files_in_scope_that_no_run_has_measured_are_named(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for f in ("pkg/a.py", "pkg/e.py", "pkg/cli.py", "pkg/sub/x.py", "pkg/sub/y.py"):
        (tmp_path / f).write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.mutmut]\nsource_paths = ["pkg/"]\n'
                                             'do_not_mutate = ["pkg/cli.py", "pkg/sub/*"]\n')
    assert report.scope(tmp_path) == ["pkg/a.py", "pkg/e.py"]
    record = {"pkg/a.py": {"measured": "2026-12-01", "killed": 1, "timeout": 0, "survived": [], "no tests": []}}
    assert report.unmeasured(report.scope(tmp_path), record) == ["pkg/e.py"]
    assert "In scope but not yet measured: `pkg/e.py`." in report.render(record, {}, ["pkg/e.py"])
    # the kit's own scope: the statistics, measures, contract and disclosure core, not the reports
    own = report.scope(ROOT)
    assert {"qi_equity/variation/spc.py", "qi_equity/data/contract.py", "qi_equity/publication/protect.py",
            "qi_equity/measures.py", "qi_equity/disclosure.py"} <= set(own)
    assert not [f for f in own if f.startswith(("qi_equity/reports/", "qi_equity/findings/"))]
