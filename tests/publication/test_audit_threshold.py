"""The sample collaborative published at threshold 8 (metrics and findings of every provider)
audits clean against threshold 8, and no published count is from 1 to 7."""

import json

import numpy as np

from _support import SAMPLE
from qi_equity.disclosure import audit, audit_summary


def test_the_sample_published_at_threshold_8_audits_clean(tmp_path):
    from qi_equity.reports.provider import build_metrics

    # every provider of the sample (a file of its own, so it runs beside the session's report run)
    build_metrics(SAMPLE / "collaborative.yaml", tmp_path / "metrics", threshold=8, workers=2,
                  findings_dir=tmp_path / "findings")
    issues = audit(tmp_path)
    assert issues.empty, audit_summary(issues)
    payload = json.loads((tmp_path / "metrics" / "XQA.json").read_text())
    assert payload["rule"]["threshold"] == 8
    vals = np.array([r[-1] for r in payload["cells"]["data"] if r[-1] is not None], dtype=float)
    assert not ((vals >= 1) & (vals < 8)).any()
