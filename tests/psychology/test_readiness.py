"""Readiness survey: contract errors, hand-worked item scores, diverging bars."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from _support import SAMPLE
from qi_equity.equity.intervals import wilson
from qi_equity.psychology.readiness import distribution, item_scores, load_readiness, plot_diverging, validate_readiness

D = pd.DataFrame({"provider_code": "A", "respondent_id": ["1", "2", "3", "4"], "role": "nurse", "item": "R1",
                  "response": [5, 4, 2, 3]})


def test_item_scores_hand_worked():
    s = item_scores(D).iloc[0]
    assert s["n"] == 4 and s["mean"] == pytest.approx(3.5) and s["agree"] == 2
    half = student_t.ppf(0.975, 3) * np.std([5, 4, 2, 3], ddof=1) / 2
    assert s["mean_upper"] == pytest.approx(3.5 + half)
    lo, hi = wilson([2], [4])
    assert s["agree_lower"] == pytest.approx(100 * lo[0]) and s["agree_pct"] == 50


def test_distribution_and_plot():
    dist = distribution(D)
    assert dist.loc[0, [1, 2, 3, 4, 5]].tolist() == [0, 25, 25, 25, 25]
    fig = plot_diverging(dist)
    assert "R1: 50% agree, 25% disagree" in fig.qi_alt_text


@pytest.mark.parametrize("col,value,rule", [("response", 6, "must be a whole number 1-5"),
                                            ("item", "Q9", "must be an item code of the survey"),
                                            ("respondent_id", "1", "must answer each item once"),
                                            ("role", "", "must not be empty")])
def test_contract_errors(col, value, rule):
    bad = D.copy()
    bad.loc[1, col] = value
    rep = validate_readiness(bad)
    assert any(f.column == col and f.rule == rule for f in rep.failures), rep.format()


def test_sample_survey_loads_and_xqd_is_most_ready():
    df = load_readiness(SAMPLE / "readiness_survey.csv")
    s = item_scores(df, by=["provider_code"]).set_index("provider_code")["mean"]
    assert s.idxmax() == "XQD"


def test_scores_by_role_and_provider_hand_worked():
    d = pd.DataFrame({"provider_code": "A", "respondent_id": ["1", "1", "2", "2"], "role": ["nurse", "nurse", "manager",
                                                                                           "manager"],
                      "item": ["R1", "R2", "R1", "R2"], "response": [2, 4, 5, 5]})
    s = item_scores(d, by=("provider_code", "role")).set_index("role")
    assert s.loc["nurse", "mean"] == 3 and s.loc["manager", "agree_pct"] == 100


def test_diverging_chart_labels_fit_in_the_figure():
    from _support import assert_text_inside_figure

    df = load_readiness(SAMPLE / "readiness_survey.csv")
    assert_text_inside_figure(plot_diverging(distribution(df[df["provider_code"] == "XQB"], by=("item",))))
    assert_text_inside_figure(plot_diverging(distribution(df, by=("role",)), label="role"))
