"""Relations between published cells, generated from their keys."""

import numpy as np
import pandas as pd

from qi_equity.publication.cells import KEY, fill_values, period_span, relations, verified_links


def _kinds(system):
    return pd.Series(system.kinds).value_counts().to_dict()


def test_partition_time_subset_and_remainders():
    rows = [("completed", "2026-01", "all", "all", "All", 30), ("completed", "2026-02", "all", "all", "All", 40),
            ("completed", "2026-01..2026-02", "all", "all", "All", 70),
            ("completed", "2026-01", "all", "sex", "Female", 18), ("completed", "2026-01", "all", "sex", "Male", 12),
            ("over_18", "2026-01", "all", "all", "All", 5)]
    s = relations(pd.DataFrame(rows, columns=KEY + ["value"]))
    k = _kinds(s)
    assert k["time"] == 1 and k["subset"] == 1 and k["partition"] == 1
    roles = s.vars["role"].value_counts().to_dict()
    # sex has a third group ("Not known") not in the table: a remainder stands for it
    assert roles["remainder"] == 1 and roles["complement"] == 1
    v = fill_values(s)
    rem = s.vars.index[s.vars["role"] == "remainder"][0]
    comp = s.vars.index[s.vars["role"] == "complement"][0]
    assert v[rem] == 0 and v[comp] == 25
    assert np.allclose(s.A @ v, 0)


def test_everyone_else_and_specialty():
    rows = [("dna", "2026-01", "110", "interpreter_needed", "Yes", 3),
            ("dna", "2026-01", "110", "interpreter_needed", "~Yes", 40),
            ("dna", "2026-01", "110", "interpreter_needed", "Not recorded", 2),
            ("dna", "2026-01", "all", "interpreter_needed", "Yes", 10)]
    s = relations(pd.DataFrame(rows, columns=KEY + ["value"]))
    k = _kinds(s)
    assert k["everyone_else"] == 1 and k["specialty"] == 1
    # the specialty's all-patients cell is a total the relations add: 3 + 40 + 2
    lookup = {("dna", "2026-01", "110", "all", "All"): 45.0}
    s2 = relations(pd.DataFrame(rows, columns=KEY + ["value"]), lookup=lookup)
    v = fill_values(s2)
    full = np.asarray(abs(s2.A) @ np.isnan(v).astype(float)).ravel() == 0
    assert full.sum() == 3 and np.allclose((s2.A @ np.nan_to_num(v))[full], 0)
    by = dict(zip(zip(s2.vars["specialty"], s2.vars["group"]), v))
    assert by[("110", "~remainder")] == 40        # the "No" group: 45 - 3 - 2
    assert by[("~other specialties", "Yes")] == 7  # interpreter needed, other specialties


def test_links_are_declared_only_when_they_hold():
    rows = []
    for d, x in zip(range(1, 11), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]):
        rows.append(("completed", "2026-01", "all", "imd_decile", str(d), x))
    rows.append(("completed", "2026-01", "all", "imd_decile", "Unmatched", 1))
    for q, x in zip(["Q1 most deprived", "Q2", "Q3", "Q4", "Q5 least deprived", "Unmatched"], [7, 11, 15, 19, 23, 1]):
        rows.append(("completed", "2026-01", "all", "imd_quintile", q, x))
    t = pd.DataFrame(rows, columns=KEY + ["value"])
    assert "imd_decile>imd_quintile" in verified_links(t)
    t.loc[t["group"] == "Q2", "value"] = 12   # a coding the link does not describe
    assert "imd_decile>imd_quintile" not in verified_links(t)


def test_period_span():
    lo, hi = period_span(pd.Series(["2026-01", "2025-04..2026-03", "extract"]))
    assert lo[0] == hi[0] and hi[1] - lo[1] == 11 and lo[2] == -1


def test_relations_do_not_depend_on_string_hashing():
    """The same cells give the same variables in the same order under two hash seeds: a set of
    group labels iterated in hash order made two runs of one report suppress different cells."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import hashlib, sys\n"
        "from qi_equity.reports.provider import load_provider\n"
        "from qi_equity.publication.release import window_cells\n"
        "from qi_equity.publication.cells import LINK_FAMILIES, relations\n"
        f"d = load_provider({str(root / 'data_samples' / 'providers' / 'XQC.csv')!r}, '2026-03-31', validate=False)\n"
        "s = relations(window_cells(d, '2026-03-31').drop_duplicates(['measure','period','specialty','dimension','group']), LINK_FAMILIES)\n"
        "v = s.vars[['measure','period','specialty','dimension','group']].astype(str).agg('|'.join, axis=1)\n"
        "print(hashlib.md5('\\n'.join(v).encode()).hexdigest(), hashlib.md5(s.A.toarray().tobytes()).hexdigest())\n")
    out = []
    for seed in ("1", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root)
        assert r.returncode == 0, r.stderr[-2000:]
        out.append(r.stdout.strip().splitlines()[-1])
    assert out[0] == out[1]


def test_an_area_is_the_sum_of_its_treatment_functions():
    # a Core20PLUS5 area's key names its treatment functions: the area's cell is their sum, and
    # the treatment functions no artefact shows are added as totals (so they count among the
    # specialties too, and an area is never a specialty of its own)
    area = "c20p5:chronic_respiratory_disease:340+341"
    rows = [("completed", "P", area, "core20", "Core20", 12), ("completed", "P", "340", "core20", "Core20", 10),
            ("completed", "P", "all", "core20", "Core20", 50)]
    lookup = {("completed", "P", "341", "core20", "Core20"): 2.0}
    s = relations(pd.DataFrame(rows, columns=KEY + ["value"]), lookup=lookup)
    k = _kinds(s)
    assert k["area"] == 1 and k["specialty"] == 1
    added = s.vars.iloc[s.n_input:]
    assert ("341", "total") in set(zip(added["specialty"], added["role"]))
    spec_row = s.A[int(np.flatnonzero(s.kinds == "specialty")[0])]
    assert 0 not in spec_row.indices                      # the area (input row 0) is not a specialty
    v = fill_values(s)
    by = dict(zip(zip(s.vars["specialty"], s.vars["group"]), v))
    assert by[("341", "Core20")] == 2                      # 12 - 10: what an attacker would work out
    assert by[("~other specialties", "Core20")] == 50 - 10 - 2   # the area is not counted again
    known = np.asarray(abs(s.A) @ np.isnan(v).astype(float)).ravel() == 0
    assert known.sum() >= 2 and np.allclose((s.A @ np.nan_to_num(v))[known], 0)


def test_an_area_of_one_treatment_function_is_that_function():
    rows = [("dna", "P", "c20p5:hypertension:320", "all", "All", 7), ("dna", "P", "320", "all", "All", 7)]
    s = relations(pd.DataFrame(rows, columns=KEY + ["value"]))
    assert _kinds(s) == {"area": 1}
    assert s.A.toarray().tolist() == [[1.0, -1.0]]
