"""Published findings: no internal columns, no numbers resting on a suppressed count, and the
file reads back as it was written."""

import json

import numpy as np

from qi_equity.data.simulate import Plant, derived, simulate_provider
from qi_equity.findings import scan
from qi_equity.publication import publish_findings, read_findings, write_findings


def _result():
    raw = simulate_provider("XZP", np.random.default_rng(4), None,
                            [Plant("shift", "dna", "imd_quintile", "Q1 most deprived", 2.2, start="2024-07-01")])
    return scan(derived(raw), "2026-03-31")


def test_payload_has_no_internal_columns_and_round_trips(tmp_path):
    res = _result()
    payload = publish_findings(res, census_date="2026-03-31", provider_name="A trust", threshold=5)
    cols = payload["findings"]["columns"]
    assert "cell" not in cols and "ref_cell" not in cols and "n_group" not in cols
    path = tmp_path / "XZP.json"
    write_findings(path, payload)
    back = read_findings(path)
    assert back["finding_id"].tolist() == res.data["finding_id"].tolist()
    assert json.loads(path.read_text())["schema"] == "qi_equity.findings/1"


def test_a_finding_on_small_counts_keeps_who_but_not_its_numbers():
    res = _result()
    gap = res.data.index[res.data["kind"] == "gap_now"]
    assert len(gap)  # the plant gives gap-now findings too
    t = res.tests
    row = res.data.loc[gap[0]]
    hit = (t["family"] == "gap_now") & (t["measure"] == row["measure"]) & (t["cell"] == row["cell"]) & \
          (t["ref_cell"] == row["ref_cell"])
    threshold = int(t.loc[hit, "n_reference"].iloc[0]) + 1   # as if the reference's count were suppressed
    payload = publish_findings(res, threshold=threshold)
    pub = dict(zip(payload["findings"]["columns"], payload["findings"]["data"][list(res.data.index).index(gap[0])]))
    assert pub["size"] is None and pub["value_group"] is None and "withheld" in pub["sentence"]
    assert pub["group"] == row["group"] and pub["kind"] == "gap_now"
