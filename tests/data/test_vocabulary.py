"""The display vocabulary (qi_equity/data/vocabulary.yaml): words for codes, columns, icons."""

import pandas as pd
import pytest

from qi_equity.data import vocabulary as V


def test_every_icon_has_words_a_colour_and_a_letter_or_run():
    v = V.vocabulary()["icons"]
    assert set(v["variation"]) == {"common_cause", "improvement_high", "improvement_low", "concern_high",
                                   "concern_low", "neutral_high", "neutral_low", "too_few"}
    assert set(v["assurance"]) == {"pass", "fail", "inconsistent"}
    for kind, entries in v.items():
        for code, e in entries.items():
            assert e["label"] and e["short"] and e["colour"].startswith("#"), (kind, code)
            assert "_" not in e["label"] + e["short"], (kind, code)
    # Making Data Count's letters: H/L for a special cause high/low, P/F for assurance
    assert [v["variation"][c]["letter"] for c in ("concern_high", "improvement_low")] == ["H", "L"]
    assert [v["assurance"][c]["letter"] for c in ("pass", "fail")] == ["P", "F"]


def test_icon_text_and_missing_icons():
    assert V.icon_text("variation", "common_cause") == "common cause"
    assert V.icon_text("assurance", "fail") == "misses the target"
    assert V.icon_text("variation", None) == "n/a"
    assert V.icon_text("variation", float("nan")) == "n/a"
    assert V.icon("variation", "not_an_icon") is None


def test_no_label_is_itself_a_code():
    v = V.vocabulary()
    for section in ("columns", "values", "dimensions", "kinds"):
        for code, label in v[section].items():
            assert "_" not in str(label), (section, code, label)


def test_relabel_headings_codes_booleans_and_counts():
    df = pd.DataFrame({"dimension": ["sex_age", "ethnic_group"], "framework": ["intentional_equity", "canvas"],
                       "autocorrelated": [True, False], "count": [2700.0, None], "percent": [10.0, 12.5],
                       "Already words": ["kept", "as is"]})
    df.attrs["cells"] = {"count": ["k1", "k2"]}
    out = V.relabel(df)
    assert list(out.columns) == ["Dimension", "Framework", "Limits may be unreliable", "Count", "%", "Already words"]
    assert out["Dimension"].tolist() == ["Sex and working age", "Ethnic group"]
    assert out["Framework"].tolist() == ["Intentional equity", "Equity canvas"]
    assert out["Limits may be unreliable"].tolist() == ["Yes", "No"]
    assert out["Count"].dtype == "Int64" and out["Count"].iloc[0] == 2700 and pd.isna(out["Count"].iloc[1])
    assert out["%"].tolist() == [10.0, 12.5]  # not a count column: decimals kept
    assert out.attrs["cells"] == {"Count": ["k1", "k2"]}  # release keys follow their column
    assert list(df.columns)[0] == "dimension"  # the input is untouched


def test_relabel_keeps_fractional_counts_and_kept_columns():
    out = V.relabel(pd.DataFrame({"count": [2.5, 3.0], "variation": ["common_cause", "fail"]}), keep=("variation",))
    assert out["Count"].tolist() == [2.5, 3.0]
    assert out["variation"].tolist() == ["common_cause", "fail"]


@pytest.mark.parametrize("code,words", [("sex_age", "Sex and working age"), ("imd_quintile", "Deprivation (IMD quintile)")])
def test_dimension_codes_as_cell_values(code, words):
    assert V.value(code) == words
