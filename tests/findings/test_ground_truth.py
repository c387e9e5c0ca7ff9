"""Acceptance: on the sample collaborative, the published findings match every planted effect of
data_samples/ground_truth.json -- found by scanning (nothing here names where to look) -- and the
provider with nothing planted has no finding but "too few to tell". Then the same on the sample
regenerated with another seed."""

import json
import re

import pandas as pd

from _support import SAMPLE
from qi_equity.findings.evaluate import false_findings, match_ground_truth
from qi_equity.publication import read_findings

GT = json.loads((SAMPLE / "ground_truth.json").read_text())


def _published(out) -> pd.DataFrame:
    """Every finding a run published: the providers' findings files and the collaborative's."""
    provider = read_findings(out / "findings")
    payload = json.loads((out / "collaborative_findings.json").read_text())
    collab = pd.DataFrame(payload["findings"]["data"], columns=payload["findings"]["columns"])
    return pd.concat([provider, collab], ignore_index=True)


def test_every_planted_effect_is_found_and_the_clean_provider_is_quiet(sample_run):
    code, out = sample_run
    assert code == 0
    codes = sorted(f.stem for f in (SAMPLE / "providers").glob("*.csv"))
    assert sorted(f.stem for f in (out / "findings").glob("*.json")) == codes  # findings.json for every provider
    found = _published(out)
    m = match_ground_truth(found, GT)
    assert m["found"].all(), m[~m["found"]].to_dict("records")
    assert false_findings(found, GT["clean_providers"]).empty
    clean = found[found["provider_code"].isin(GT["clean_providers"])]
    assert len(clean) and (clean["kind"] == "too_few").all()


def test_reports_open_on_findings_and_the_index_shows_them(sample_run):
    _, out = sample_run
    html = (out / "XQB.html").read_text()
    headings = re.findall(r"<h2[^>]*>(.*?)<", html)
    assert headings[0].startswith("Brindle Valley") and headings[1].startswith("What stands out"), headings[:3]
    first = html.index("What stands out")
    assert html.index("working-age women", first) < html.index("Summary", first)  # the findings come first
    assert re.search(r"href='#chart-XQB-[0-9a-f]{8}'", html) and re.search(r"id='chart-XQB-[0-9a-f]{8}'", html)
    index = (out / "index.html").read_text()
    assert index.count("<ul class='tops'>") >= 5 and "Nothing stands out" in index
    assert "Across the collaborative: Eastcombe" in index
    collab = (out / "collaborative.html").read_text()
    assert collab.index("What stands out across the collaborative") < collab.index("Headline measures")
    # the outlier is flagged on its own funnel, against the others
    assert re.search(r"XQE against the others: XQE at [0-9.]+ against the other providers(?:'|&#x27;) [0-9.]+ \(z = [0-9.]+\), "
                     r"above the 99\.8% limits", collab)


def test_the_same_holds_on_a_sample_regenerated_with_another_seed(tmp_path):
    from qi_equity.data.sample import generate
    from qi_equity.findings.collaborative import scan_collaborative
    from qi_equity.reports.provider import build_metrics, read_metrics

    config = generate(tmp_path / "sample", seed=7)
    truth = json.loads((tmp_path / "sample" / "ground_truth.json").read_text())
    build_metrics(config, tmp_path / "metrics", validate=True, findings_dir=tmp_path / "findings", workers=2)
    provider = read_findings(tmp_path / "findings")
    collab = scan_collaborative(read_metrics(tmp_path / "metrics"), provider).data
    found = pd.concat([provider, collab], ignore_index=True)
    m = match_ground_truth(found, truth)
    assert m["found"].all(), m[~m["found"]].to_dict("records")
    assert false_findings(found, truth["clean_providers"]).empty
