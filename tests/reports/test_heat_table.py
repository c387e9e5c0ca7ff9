"""The report's HEAT summary measures: from the published groups only, with worked values."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.publication.tables import Published
from qi_equity.reports import provider as R


def _published(hidden_groups=()):
    """A published inequality table of one measure by IMD quintile; ``hidden_groups`` have their
    count masked, as suppression leaves them."""
    groups = ["Q1 most deprived", "Q2", "Q3", "Q4", "Q5 least deprived", "Unmatched"]
    x = [30.0, 20.0, 15.0, 12.0, 10.0, 3.0]
    n = [200.0, 200.0, 200.0, 150.0, 200.0, 20.0]
    data = pd.DataFrame({"measure": "dna_rate", "measure_label": "DNA (%)", "dimension": "imd_quintile",
                         "group": groups, "x": x, "n": n})
    mask = pd.DataFrame(False, index=data.index, columns=data.columns)
    for g in hidden_groups:
        i = groups.index(g)
        data.loc[i, "x"] = np.nan
        mask.loc[i, "x"] = True
    return Published(data, mask, 5)


def test_measures_use_only_published_recorded_groups():
    # Q1 = 15%, Q2 = 10%, Q3 = 7.5%, Q4 = 8%, Q5 = 5%; Unmatched is never a group
    h = R.heat_table(_published(), reps=2000).set_index("summary")
    assert h.at["D", "value"] == pytest.approx(15.0 - 5.0)
    assert h.at["R", "value"] == pytest.approx(15.0 / 5.0)
    assert (h["groups_used"] == 5).all() and (h["groups"] == 5).all()
    # worked by hand: weights 200, 200, 200, 150, 200 of 950; mean = (30+20+15+12+10)/950*100
    mu = 100 * 87 / 950
    assert h.at["PAR", "value"] == pytest.approx(5.0 - mu)
    assert h.at["PAF", "value"] == pytest.approx(100 * (5.0 - mu) / mu)
    # D's interval: sqrt(se_Q1^2 + se_Q5^2), binomial standard errors in percentage points
    se = np.sqrt(15 * 85 / 200 + 5 * 95 / 200)
    assert h.at["D", "upper"] - h.at["D", "value"] == pytest.approx(1.959964 * se, rel=1e-5)


def test_a_hidden_group_is_left_out_so_no_measure_rests_on_it():
    # with the least deprived group hidden, the lowest shown group is Q3 (7.5%)
    h = R.heat_table(_published(hidden_groups=["Q5 least deprived"]), reps=2000).set_index("summary")
    assert h.at["D", "value"] == pytest.approx(15.0 - 7.5)
    assert (h["groups_used"] == 4).all() and (h["groups"] == 5).all()
    shown = R.heat_display(R.heat_table(_published(hidden_groups=["Q5 least deprived"]), reps=2000))
    assert shown.loc[0, "Groups"] == "4 of 5"


def test_fewer_than_two_published_groups_gives_no_row():
    h = R.heat_table(_published(hidden_groups=["Q1 most deprived", "Q2", "Q3", "Q4"]), reps=2000)
    assert h.empty and "summary" in h.columns


def test_display_turns_paf_into_a_reduction_for_unfavourable_measures():
    h = R.heat_table(_published(), reps=2000)
    paf = float(h.loc[h["summary"] == "PAF", "value"].iloc[0])
    shown = R.heat_display(h)
    cell = shown.loc[0, "Reduction if every group matched the best (%)"]
    assert cell.startswith(f"{-paf:.1f} (")
    lo, hi = (float(v) for v in cell.split("(")[1].rstrip(")").split(" to "))
    assert lo <= hi
