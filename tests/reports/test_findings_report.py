"""Report blocks for findings: "What stands out" (escaped, linked, honest when empty), and series
too small to chart are "too few to tell", never common cause."""

import numpy as np
import pandas as pd

from qi_equity.data.simulate import Background, derived, simulate_provider
from qi_equity.findings import scan
from qi_equity.reports.findings import change_status, findings_html, icon_table, series_chart


def _res():
    bg = Background(referrals_per_month=200, ethnic_shares={"White": 0.97, "Mixed": 0.01, "Asian": 0.01,
                                                            "Black": 0.005, "Other": 0.005})
    return scan(derived(simulate_provider("XZR", np.random.default_rng(9), bg)), "2026-03-31")


def test_what_stands_out_escapes_and_links():
    f = pd.DataFrame([{"finding_id": "X-1", "kind": "gap_now", "sentence": "<script>alert(1)</script> waited longer",
                       "headline": True, "also": "X-2", "chart_id": "chart-X-1", "dimension": "sex", "group": "Female"},
                      {"finding_id": "X-2", "kind": "gap_now", "sentence": "echo", "headline": False, "also": "X-1",
                       "chart_id": "chart-X-2", "dimension": "sex", "group": "Female"}])
    html = findings_html(f)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "href='#chart-X-1'" in html and "and 1 related finding" in html and "echo" not in html


def test_nothing_stands_out_is_said_plainly_with_groups_too_few_to_tell():
    res = _res()
    html = findings_html(res.data, res.summary)
    assert "Nothing stands out" in html and "Too few to tell" in html
    assert "false discovery rate held at 5%" in html


def test_series_too_small_to_chart_are_never_common_cause():
    res = _res()
    table = icon_table(res, "ethnic_group")
    row = table.set_index("Group").loc["Black"]
    assert (row == "too_few").all()                    # about 1 a month: never charted
    assert table.set_index("Group").loc["White"].notna().all()
    assert "common_cause" not in set(table.set_index("Group").loc["Black"])
    assert change_status(res, "dna_rate", "ethnic_group", "Black", "White") == "too few to tell"
    assert change_status(res, "completed_median_wait", "all", "All") == "no change found"
    fig = series_chart(res, "dna_rate", "ethnic_group", ["Black"], reference="White", title="DNA gap")
    assert "Too few to tell" in fig.qi_alt_text and "common cause" not in fig.qi_alt_text


def test_a_chart_says_which_of_the_groups_its_title_promises_it_draws():
    res = _res()
    fig = series_chart(res, "dna_rate", "ethnic_group", ["White", "Black"], title="DNA, White and Black patients")
    title = fig.axes[0].get_title(loc="left").replace("\n", " ")
    assert title == "DNA, White and Black patients: White patients only"
    assert "Too few to tell" in fig.qi_alt_text and "Black or Black British patients" in fig.qi_alt_text
