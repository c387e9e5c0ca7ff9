"""spc() input handling: missing months, clear errors, periods, multiply, charts without references."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.variation import SPCInputError, spc

MONTHS = pd.date_range("2023-01-01", periods=24, freq="MS")


def test_missing_month_is_inserted_explicitly_and_breaks_moving_ranges():
    v = np.arange(24, dtype=float) % 5
    df = pd.DataFrame({"date": MONTHS, "value": v}).drop(index=10)
    res = spc(df)
    p = res.points
    assert len(p) == 24 and p["missing"].sum() == 1
    assert p.loc[10, "date"] == MONTHS[10] and np.isnan(p.loc[10, "value"])
    assert p.loc[10, "rule"] == "common_cause"
    # the mean moving range uses only consecutive months: hand-computed
    kept = np.delete(v, 10)
    mrs = [abs(v[i] - v[i - 1]) for i in range(1, 24) if i not in (10, 11)]
    amr = np.mean(mrs)
    amr = np.mean([m for m in mrs if m < 3.267 * amr])
    assert p.loc[0, "upper"] == pytest.approx(kept.mean() + 2.66 * amr)
    assert res.summary.loc[0, "n_missing"] == 1


@pytest.mark.parametrize("bad,msg", [
    (lambda d: d.drop(columns="value"), "column(s) ['value'] not found"),
    (lambda d: d.assign(value=["x"] + [1.0] * 23), "column 'value': 1 row(s) are not numbers"),
    (lambda d: d.assign(date=d["date"] + pd.Timedelta(days=3)), "24 row(s) are not the first day of a month"),
    (lambda d: pd.concat([d, d.iloc[:2]]), "2 row(s) repeat a series and date"),
])
def test_bad_input_names_column_rule_and_rows(bad, msg):
    df = pd.DataFrame({"date": MONTHS, "value": np.arange(24.0)})
    with pytest.raises(SPCInputError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        spc(bad(df))


def test_rebase_per_series_and_exclude():
    df = pd.concat([pd.DataFrame({"date": MONTHS, "value": np.r_[np.full(12, 10.0), np.full(12, 20.0)] + np.tile([0, 1], 12),
                                  "g": g}) for g in ("a", "b")])
    res = spc(df, by="g", rebase={"a": "2024-01-01"})
    s = res.summary
    assert s[s.g == "a"]["period"].tolist() == [0, 1] and s[s.g == "b"]["period"].tolist() == [0]
    assert s[s.g == "a"]["centre"].tolist() == [10.5, 20.5]
    ex = spc(df[df.g == "b"], exclude=MONTHS[12:].tolist())
    assert ex.points["centre"].iloc[0] == 10.5
    assert ex.points["excluded"].sum() == 12


def test_ratio_charts_against_hand_computation():
    df = pd.DataFrame({"date": MONTHS[:4], "num": [5, 10, 8, 7], "den": [50, 100, 80, 70]})
    u = spc(df, chart="u", numerator="num", denominator="den", multiply=1000).points
    cl = 30 / 300
    assert u["centre"].iloc[0] == pytest.approx(100.0)
    assert u["upper"].iloc[0] == pytest.approx(1000 * (cl + 3 * np.sqrt(cl / 50)))
    assert u["lower"].iloc[1] == pytest.approx(max(0, 1000 * (cl - 3 * np.sqrt(cl / 100))))
    c = spc(df.assign(value=df.num), chart="c").points
    assert c["upper"].iloc[0] == pytest.approx(7.5 + 3 * np.sqrt(7.5))
    g = spc(pd.DataFrame({"date": MONTHS[:5], "value": [3.0, 10, 1, 6, 20]}), chart="g").points
    assert g["centre"].iloc[0] == 6.0  # median
    assert g["upper"].iloc[0] == pytest.approx(8 + 3 * np.sqrt(8 * 9))


def test_up_chart_uses_laney_sigma_z():
    df = pd.DataFrame({"date": MONTHS[:6], "num": [5, 14, 8, 20, 6, 12], "den": [50, 100, 80, 120, 60, 90]})
    p = spc(df, chart="up", numerator="num", denominator="den", screen_outliers=False).points
    cl = df.num.sum() / df.den.sum()
    sd = np.sqrt(cl / df.den)
    z = (df.num / df.den - cl) / sd
    sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    np.testing.assert_allclose(p["upper"], cl + 3 * sd * sigma_z)


def test_autocorrelated_snapshot_series_is_flagged():
    rng = np.random.default_rng(1)
    x = np.zeros(36)
    for t in range(1, 36):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    s = spc(pd.DataFrame({"date": pd.date_range("2022-01-01", periods=36, freq="MS"), "value": x})).summary
    assert s["autocorrelation"].iloc[0] > 0.5 and bool(s["autocorrelated"].iloc[0])
    w = spc(pd.DataFrame({"date": pd.date_range("2022-01-01", periods=36, freq="MS"), "value": rng.normal(size=36)})).summary
    assert not bool(w["autocorrelated"].iloc[0])


_SPC = __import__("sys").modules["qi_equity.variation.spc"]


@pytest.mark.parametrize("stamps, months, off", [
    # midnight on the first of a month, before and after 1970, across a year end
    (["1969-12-01", "1970-01-01", "2024-02-01", "2025-01-01"], [1969 * 12 + 11, 1970 * 12, 2024 * 12 + 1, 2025 * 12],
     [False, False, False, False]),
    # the second of a month, one nanosecond after midnight, the last day of a leap February
    (["2024-03-02", "2024-03-01 00:00:00.000000001", "2024-02-29", "1969-12-31 23:00"],
     [2024 * 12 + 2, 2024 * 12 + 2, 2024 * 12 + 1, 1969 * 12 + 11], [True, True, True, True]),
])
@pytest.mark.parametrize("long_span", [False, True])
def test_boundary_months_and_first_of_month_checks(stamps, months, off, long_span):
    t = pd.to_datetime(stamps, format="ISO8601").to_numpy().astype("datetime64[ns]")
    if long_span:  # a span of days far longer than the rows: the per-row calendar conversion
        t = np.r_[t, np.datetime64("2200-01-01", "ns")]
        months, off = months + [2200 * 12], off + [False]
    assert _SPC._calendar(_SPC._day_numbers(t)[0], "month").tolist() == months
    assert _SPC._not_first_of_month(t).tolist() == off
    assert _SPC._count_not_first_of_month(t) == sum(off)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_boundary_first_of_month_in_each_unit_pandas_stores(unit):
    # one unit of the column's resolution after midnight is not midnight
    t = np.array(["2024-03-01T00:00:00", "2024-03-01T00:00:00", "1969-07-01T00:00:00"], dtype=f"datetime64[{unit}]")
    t[1] += np.timedelta64(1, unit)
    m, off = _SPC._calendar(_SPC._day_numbers(t)[0], "month"), _SPC._not_first_of_month(t)
    assert m.tolist() == [2024 * 12 + 2, 2024 * 12 + 2, 1969 * 12 + 6] and off.tolist() == [False, True, False]
    df = pd.DataFrame({"date": t[[0, 2]], "value": [1.0, 2.0]})
    assert len(spc(df).points) == 2 + (2024 * 12 + 2 - (1969 * 12 + 6)) - 1   # the months between inserted


def test_integer_series_keys_sort_as_their_values():
    col = pd.Series([7, -3, 7, 1000, -3, 0])
    codes, size = _SPC._sorted_codes(col)
    assert size == 1004 and (np.argsort(codes, kind="stable") == np.argsort(col.to_numpy(), kind="stable")).all()
    assert codes.tolist() == [10, 0, 10, 1003, 0, 3]
    text = pd.Series(["b", "a", None, "b"])  # other columns are factorised, a missing value -1
    assert _SPC._sorted_codes(text)[0].tolist() == [1, 0, -1, 1]
    # counted from start, as spc() counts them (start 1: a missing value is 0), as 64-bit integers
    for values, want in ((col, [11, 1, 11, 1004, 1, 4]), (text, [2, 1, 0, 2])):
        got, _ = _SPC._sorted_codes(values, 1)
        assert got.tolist() == want and got.dtype == np.int64
    # series keyed by integers come out in the same order as keyed by their text
    df = pd.DataFrame({"s": np.repeat([30, -2, 5], 3), "date": np.tile(pd.date_range("2024-01-01", periods=3,
                                                                                        freq="MS"), 3),
                       "value": np.arange(9.0)})
    a = spc(df, by="s").summary
    b = spc(df.assign(s=df["s"].map({30: "c", -2: "a", 5: "b"})), by="s").summary
    assert a["s"].tolist() == [-2, 5, 30] and (a["centre"].to_numpy() == b["centre"].to_numpy()).all()


@pytest.mark.parametrize("dates, values", [
    (["2024-01-01", "2024-02-01", "2024-04-01"], [1, 2, 3]),                        # text dates, integers
    (pd.to_datetime(["2024-01-01", "2024-02-01", "2024-04-01"]), [1.0, np.nan, 3.0]),  # dates, floats
])
def test_the_callers_frame_is_left_as_it_was(dates, values):
    df = pd.DataFrame({"g": ["b", "a", "a"], "date": dates, "value": values})
    before = df.copy()
    res = spc(df, by="g")
    pd.testing.assert_frame_equal(df, before)
    # series "a" runs February to April: March is absent (inserted as missing), and a NaN in a
    # float column is a missing month too
    a = res.points[res.points["g"] == "a"]
    assert a["missing"].tolist() == ([True, True, False] if np.isnan(values[1]) else [False, True, False])


def test_improvement_from_a_column_is_each_series_own():
    # one series better higher, one better lower, given per row; a month missing from the second
    # takes its series' direction; the same values outside the upper limit read oppositely
    months = pd.date_range("2024-01-01", periods=15, freq="MS")
    v = [10.0] * 8 + [11.0, 9.0] * 3 + [40.0]
    df = pd.DataFrame({"s": ["up"] * 15 + ["down"] * 15, "date": list(months) * 2, "value": v * 2,
                       "better": ["increase"] * 15 + ["decrease"] * 15})
    df = df.drop(index=20)
    res = spc(df, by="s", improvement="better")
    p = res.points
    assert p.loc[p["s"] == "up", "improvement"].astype(str).eq("increase").all()
    assert p.loc[p["s"] == "down", "improvement"].astype(str).eq("decrease").all()
    assert p["missing"].sum() == 1
    last = p.groupby("s").tail(1).set_index("s")["point_type"].astype(str)
    assert last["up"] == "special_cause_improvement" and last["down"] == "special_cause_concern"


@pytest.mark.parametrize("chart", ["xmr", "i"])
@pytest.mark.parametrize("multiply", [1.0, 1.0 + 1e-9])
def test_boundary_a_limit_beyond_the_largest_double_is_no_limit(chart, multiply):
    # centre 1.65e308 and a moving range of 1e307: the upper limit overflows to infinity, which the
    # kit reports as no limit (NaN), whether or not values are multiplied; the lower limit stands
    months = pd.date_range("2024-01-01", periods=14, freq="MS")
    df = pd.DataFrame({"date": months, "value": [1.6e308, 1.7e308] * 7})
    p = spc(df, chart=chart, multiply=multiply).points
    assert p["upper"].isna().all() and p["upper_2sigma"].isna().all()
    assert np.isfinite(p["lower"]).all() and not np.isinf(p[["upper", "upper_2sigma"]].to_numpy()).any()


@pytest.mark.parametrize("two_columns", [False, True])
def test_rebase_per_series_for_many_series_gives_each_series_its_own(two_columns):
    # 40 series; 15 rebased (one or two dates, one past the series' end, one on its first month),
    # one label not in the data: each series must be what it gives alone with its own dates
    rng = np.random.default_rng(6)
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    df = pd.DataFrame({"s": np.repeat(np.arange(40), 24), "t": np.repeat(np.arange(40) % 3, 24),
                       "date": np.tile(months, 40), "value": rng.normal(20, 2, 960).round(1)})
    by = ["s", "t"] if two_columns else ["s"]
    label = (lambda k: (k, k % 3)) if two_columns else (lambda k: k)
    dates = {k: ["2023-09-01"] if k % 2 else ["2023-05-01", "2024-03-01"] for k in range(0, 40, 3)}
    dates[39] = ["2025-06-01"]          # after the series ends: one period
    dates[1] = ["2023-01-01"]           # on the first month: the whole series is period 1
    rebase = {label(k): v for k, v in dates.items()}
    rebase[label(99)] = ["2023-06-01"]  # not in the data
    batch = spc(df, by=by, rebase=rebase)
    for k in [0, 1, 2, 3, 6, 39]:
        one = spc(df[df["s"] == k], by=by, rebase=dates.get(k))
        pd.testing.assert_frame_equal(batch.points[batch.points["s"] == k].reset_index(drop=True), one.points)
    p = batch.points
    assert p.loc[p["s"] == 0, "period"].max() == 2 and p.loc[p["s"] == 39, "period"].max() == 0
    assert (p.loc[p["s"] == 1, "period"] == 1).all() and p.loc[p["s"] == 2, "period"].max() == 0


def _monthly(months, values, **cols):
    return pd.DataFrame({"date": pd.date_range("2023-01-01", periods=months, freq="MS"), "value": values, **cols})


def test_icons_give_one_row_per_series_its_last_period():
    """A rebased series has a summary row per period; its icons are its last period's, one row
    (with ``by`` one row per series, in their order), on a fresh index."""
    vals = np.r_[np.full(12, 10.0) + np.tile([0.5, -0.5], 6), np.full(12, 30.0) + np.tile([0.5, -0.5], 6)]
    one = spc(_monthly(24, vals), rebase=["2024-01-01"])
    assert len(one.summary) == 2
    icons = one.icons()
    assert len(icons) == 1 and list(icons.index) == [0]
    assert icons.iloc[0].to_dict() == one.summary.iloc[-1][["variation", "assurance", "autocorrelated"]].to_dict()
    two = pd.concat([_monthly(24, vals, s="b"), _monthly(24, vals[::-1].copy(), s="a")], ignore_index=True)
    res = spc(two, by="s", rebase=["2024-01-01"])
    got = res.icons()
    assert got["s"].tolist() == ["a", "b"] and list(got.index) == [0, 1]
    last = res.summary.groupby("s").tail(1).set_index("s")
    assert got.set_index("s")["variation"].to_dict() == last["variation"].to_dict()


def test_ratio_checks_list_five_rows_then_say_there_are_more():
    """The error names the column, the rule, how many rows, and the first five row labels, with
    ' ...' only when there are more than five; on p and p-prime charts a numerator above its
    denominator is refused."""
    base = _monthly(8, np.nan, n=np.arange(8) + 1, d=np.full(8, 10))
    five = base.assign(n=[-1, -1, -1, -1, -1, 1, 1, 1])
    with pytest.raises(SPCInputError) as e:
        spc(five, numerator="n", denominator="d", chart="p")
    assert str(e.value) == "column 'n': 5 row(s) where the count is negative; rows [0, 1, 2, 3, 4]"
    six = base.assign(n=[-1, -1, -1, -1, -1, -1, 1, 1])
    with pytest.raises(SPCInputError) as e:
        spc(six, numerator="n", denominator="d", chart="p")
    assert str(e.value) == "column 'n': 6 row(s) where the count is negative; rows [0, 1, 2, 3, 4] ..."
    for chart in ("p", "pp"):
        with pytest.raises(SPCInputError, match=r"^column 'n': 1 row\(s\) where the count exceeds 'd'"):
            spc(base.assign(n=[1, 2, 3, 11, 1, 1, 1, 1]), numerator="n", denominator="d", chart=chart)
    with pytest.raises(SPCInputError, match=r"^column 'd': 1 row\(s\) where the count is negative"):
        spc(base.assign(d=[10, 10, -1, 10, 10, 10, 10, 10]), numerator="n", denominator="d", chart="u")


def test_improvement_column_with_values_it_does_not_know():
    d = _monthly(6, np.arange(6.0), imp=["increase", "up", "up", "decrease", "sideways", "increase"])
    with pytest.raises(SPCInputError) as e:
        spc(d, improvement="imp")
    assert str(e.value).startswith("column 'imp': 3 row(s) are not one of ") and "e.g. ['up', 'sideways']" in str(e.value)


def test_warnings_say_what_a_reader_must_know_word_for_word():
    """Per period: no values (or no denominator above zero), one point, no variation (and the
    target always or never met), provisional limits from 2 to 12 points, months without a
    denominator; a 13-point flat period is flat but not provisional; a period with nothing to say
    says nothing."""
    n = np.array([0, 0, 1, 13, 5, 20, 20])
    missing = np.array([0, 0, 0, 0, 0, 1, 0])
    flat = np.array([False, False, False, True, True, False, False])
    assurance = np.array(["", "", "", "pass", "fail", "", ""], dtype=object)
    constant = np.array([np.nan, np.nan, 4.0, 5.0, 2.5, np.nan, np.nan])
    got = _SPC._warnings(n, missing, flat, assurance, constant, has_den=False).tolist()
    assert got == ["no values", "no values", "one point: no limits (they need two or more)",
                   "no variation (every value is 5): always met the target",
                   "no variation (every value is 2.5): never met the target; 5 points: limits provisional until 13",
                   "1 month(s) with a zero or missing denominator shown as gaps", ""]
    with_den = _SPC._warnings(n[:1], missing[:1], flat[:1], assurance[:1], constant[:1], has_den=True).tolist()
    assert with_den == ["no point has a denominator above zero: nothing to chart"]


def test_rebase_per_series_needs_by_columns():
    with pytest.raises(SPCInputError, match=r"^rebase given per series \(a dict\) but no `by` columns$"):
        spc(_monthly(6, np.arange(6.0)), rebase={"a": "2023-03-01"})
