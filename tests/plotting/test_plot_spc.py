"""plot_spc draws a result, returns the figure with alt text, and leaves global style alone."""

import matplotlib
import numpy as np
import pandas as pd

from qi_equity.plotting import plot_spc
from qi_equity.variation import spc

MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")


def _res(by=False):
    v = np.r_[np.full(12, 10.0), np.full(12, 14.0)] + np.tile([0, 1, -1], 8)
    df = pd.DataFrame({"date": MONTHS, "value": v})
    if by:
        df = pd.concat([df.assign(g="a"), df.assign(g="b", value=v[::-1])])
    return spc(df, by="g" if by else None, improvement="decrease", target=11)


def test_single_chart_has_title_alt_text_and_no_global_changes():
    before = dict(matplotlib.rcParams)
    fig = _res().plot(title="Median wait")
    assert dict(matplotlib.rcParams) == before
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Median wait"
    alt = fig.qi_alt_text
    assert "Median wait" in alt and "24 points" in alt and "variation: concern (high)" in alt
    assert "assurance:" in alt
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "Variation: concern (high)" in texts
    # point types carried by marker shape as well as colour
    markers = {c.get_paths()[0].vertices.shape for c in ax.collections}
    assert len(markers) >= 2


def test_small_multiples_and_existing_axes():
    res = _res(by=True)
    fig = plot_spc(res, title="By group")
    assert len([a for a in fig.axes if a.get_visible()]) == 2
    assert fig.qi_alt_text.count("SPC chart") == 2
    from qi_equity.plotting import new_figure

    f2, axes = new_figure()
    out = res.plot(ax=axes[0, 0], series="b")
    assert out is f2 and axes[0, 0].get_title(loc="left") == "b"


def test_empty_result_draws_a_message():
    df = pd.DataFrame({"date": [], "value": []})
    res = spc(df)
    fig = res.plot(title="Nothing")
    assert "No series" in fig.qi_alt_text
