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
    assert "Median wait" in alt and "24 points" in alt and "variation: concern (higher)" in alt
    assert "assurance:" in alt
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "Latest point: concern (higher)" in texts
    # point types carried by marker shape as well as colour
    markers = {c.get_paths()[0].vertices.shape for c in ax.collections}
    assert len(markers) >= 2


def test_no_words_drawn_over_the_data_and_none_too_small():
    """The icons' words sit above the plotting area and the notes (autocorrelation, latest-point
    rule) below it; every text is at least 8 pt (10.7 px at the report's width)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _res().plot(title="Median wait")
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    area = ax.get_window_extent(renderer)
    texts = [t for t in ax.texts if t.get_text()]
    assert len(texts) >= 2  # the icons' words and the autocorrelation note
    for t in texts:
        box = t.get_window_extent(renderer)
        assert box.y0 >= area.y1 - 0.5 or box.y1 <= area.y0 + 0.5, t.get_text()
        assert t.get_fontsize() >= 8, t.get_text()
    legend = ax.get_legend().get_window_extent(renderer)
    labels = [lab.get_window_extent(renderer) for lab in ax.get_xticklabels() if lab.get_text()]
    assert legend.y1 <= min(b.y0 for b in labels) + 0.5  # the legend sits under the tick labels
    assert all(lab.get_fontsize() >= 8 for lab in ax.get_xticklabels() + ax.get_yticklabels())


def test_the_latest_point_rule_is_explained_when_earlier_points_are_special():
    from qi_equity.plotting.spc import LATEST_POINT_NOTE

    rng = np.random.default_rng(3)
    v = np.r_[rng.normal(10, 1, 12), rng.normal(14, 1, 9), rng.normal(10, 1, 3)]
    res = spc(pd.DataFrame({"date": pd.date_range("2023-01-01", periods=24, freq="MS"), "value": v}),
              improvement="decrease")
    assert res.summary["variation"].iloc[-1] == "common_cause"
    texts = " ".join(t.get_text().replace("\n", " ") for t in res.plot(title="x").axes[0].texts)
    assert LATEST_POINT_NOTE in texts
    calm = spc(pd.DataFrame({"date": pd.date_range("2023-01-01", periods=24, freq="MS"),
                             "value": rng.normal(10, 1, 24)}), improvement="decrease")
    if not calm.points["point_type"].astype(str).str.startswith("special").any():
        assert LATEST_POINT_NOTE not in " ".join(t.get_text() for t in calm.plot(title="y").axes[0].texts)


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


def test_month_ticks_every_six_months_for_three_years_with_the_year_under_january():
    from qi_equity.plotting.spc import month_ticks

    dates, labels = month_ticks("2023-04-01", "2026-03-01")  # 36 months
    assert [f"{d:%Y-%m}" for d in dates] == ["2023-07", "2024-01", "2024-07", "2025-01", "2025-07", "2026-01"]
    assert labels == ["Jul\n2023", "Jan\n2024", "Jul", "Jan\n2025", "Jul", "Jan\n2026"]


def test_month_ticks_short_and_long_ranges():
    from qi_equity.plotting.spc import month_ticks

    dates, labels = month_ticks("2025-01-01", "2025-06-01")  # 6 months: every month
    assert len(dates) == 6 and labels[0] == "Jan\n2025" and labels[1] == "Feb"
    dates, labels = month_ticks("2015-01-01", "2026-01-01")  # 11 years: every 2 years, years only
    assert labels == ["2016", "2018", "2020", "2022", "2024", "2026"]
    dates, _ = month_ticks("2025-03-15", "2025-03-20")  # no month start inside: one tick
    assert len(dates) == 1


def test_small_multiples_share_the_x_range_and_ticks():
    fig = _res(by=True).plot(title="Two groups")
    axes = [a for a in fig.axes if a.get_visible()]
    assert len(axes) == 2
    assert axes[0].get_xlim() == axes[1].get_xlim()
    assert list(axes[0].get_xticks()) == list(axes[1].get_xticks())


def test_charts_with_fixed_margins_keep_their_labels_inside():
    from _support import assert_text_inside_figure

    assert_text_inside_figure(_res().plot(title="Median wait", ylabel="weeks"))
    assert_text_inside_figure(_res(by=True).plot(title="Two groups", ylabel="weeks"))


def test_sii_chart_fits_in_its_figure():
    from _support import assert_text_inside_figure
    from qi_equity.equity.sii import sii
    from qi_equity.plotting import plot_sii

    data = pd.DataFrame({"quantile": [1, 2, 3, 4, 5], "value": [14.0, 12.5, 11.0, 9.0, 8.5],
                         "lower": [12.0, 10.5, 9.0, 7.0, 6.5], "upper": [16.0, 14.5, 13.0, 11.0, 10.5],
                         "population": [120, 110, 100, 90, 80]})
    result = sii(data, value="value", population="population", quantile="quantile", lower="lower", upper="upper")
    assert_text_inside_figure(plot_sii(data, result, title="DNA (%) by IMD quintile", ylabel="%"))
