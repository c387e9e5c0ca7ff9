"""Self-assessment contract, heatmap table and charts."""

import pandas as pd
import pytest

from _support import SAMPLE
from qi_equity.assessment import frameworks, heatmap_table, load_assessment, plot_heatmap, plot_provider, validate_assessment


def test_frameworks_are_data_with_eleven_canvas_themes():
    fw = frameworks()
    assert len(fw["canvas"]) == 11
    assert set(fw["intentional_equity"]["stage"]) == {"framing", "design", "operations"}


def test_sample_loads_heatmap_and_charts():
    df = load_assessment(SAMPLE / "self_assessment.csv")
    t = heatmap_table(df)
    assert t.shape == (6, 12) and t.iloc[:, 1:].isin([0, 1, 2, 3, 4]).all().all()
    assert t.set_index("provider_code").loc["XQA", "T03 Population data and recording"] == 0
    gap = heatmap_table(df, value="gap")
    assert (gap.iloc[:, 1:] >= 0).all().all()
    assert "XQA:" in plot_heatmap(t).qi_alt_text
    assert "Population data and recording now 0" in plot_provider(df, "XQA").qi_alt_text


@pytest.mark.parametrize("col,value,rule", [
    ("now", 5, "must be a whole number 0-4"),
    ("target", 0, "must not be below now"),
    ("action", "", "must say how we get there when target is above now"),
    ("code", "T99", "must be a code of its framework"),
    ("framework", "vibes", "must be one of canvas / intentional_equity"),
])
def test_contract_errors(col, value, rule):
    d = pd.DataFrame({"provider_code": ["A"], "framework": ["canvas"], "code": ["T01"], "now": [2], "target": [3],
                      "action": ["plan"]})
    d[col] = [value]
    rep = validate_assessment(d)
    assert any(f.column == col and f.rule == rule for f in rep.failures), rep.format()


def test_heatmap_table_hand_worked():
    d = pd.DataFrame({"provider_code": ["A", "A", "B"], "framework": "canvas", "code": ["T01", "T02", "T01"],
                      "now": [1, 3, 0], "target": [3, 3, 4], "action": ["x", "", "y"]})
    now = heatmap_table(d).set_index("provider_code")
    gap = heatmap_table(d, value="gap").set_index("provider_code")
    assert now.loc["A", "T01 Co-design with lived experience"] == 1
    assert gap.loc["A", "T01 Co-design with lived experience"] == 2 and gap.loc["B", "T01 Co-design with lived experience"] == 4
    assert pd.isna(now.loc["B", "T02 Understanding digital exclusion"])


def test_provider_chart_labels_fit_in_the_figure():
    from _support import assert_text_inside_figure

    assert_text_inside_figure(plot_provider(load_assessment(SAMPLE / "self_assessment.csv"), "XQB", "canvas"))
