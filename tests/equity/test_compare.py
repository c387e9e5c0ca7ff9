"""Group comparisons and HEAT summary measures against published and hand-worked values."""

import numpy as np
import pandas as pd
import pytest

from qi_equity.equity.compare import compare_groups, summary_measures


@pytest.mark.parametrize("a,b,lo,hi", [
    ((56, 70), (48, 80), 0.0524, 0.3339),   # Newcombe (1998) Table II, example (a), method 10
    ((9, 10), (3, 10), 0.1705, 0.8090),     # example (b)
])
def test_newcombe_published_examples(a, b, lo, hi):
    d = pd.DataFrame({"group": ["g", "ref"], "x": [a[0], b[0]], "n": [a[1], b[1]]})
    r = compare_groups(d, "x", "n", reference="ref", multiplier=1).set_index("group")
    assert r.loc["g", "difference"] == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert r.loc["g", "difference_lower"] == pytest.approx(lo, abs=6e-5)
    assert r.loc["g", "difference_upper"] == pytest.approx(hi, abs=6e-5)
    assert r.loc["g", "flag"] == "worse" and r.loc["ref", "flag"] == "reference"


def test_log_ratio_hand_worked():
    d = pd.DataFrame({"group": ["g", "ref"], "x": [30, 20], "n": [100, 100]})
    r = compare_groups(d, "x", "n", reference="ref").set_index("group")
    se = np.sqrt(1 / 30 - 1 / 100 + 1 / 20 - 1 / 100)
    assert r.loc["g", "ratio"] == pytest.approx(1.5)
    assert r.loc["g", "ratio_lower"] == pytest.approx(1.5 * np.exp(-1.959963985 * se))
    rates = compare_groups(d, "x", "n", reference="ref", kind="rate", multiplier=1000).set_index("group")
    assert rates.loc["g", "ratio_upper"] == pytest.approx(1.5 * np.exp(1.959963985 * np.sqrt(1 / 30 + 1 / 20)))


def test_default_reference_is_largest_and_zero_events():
    d = pd.DataFrame({"group": ["a", "b", "c"], "x": [0, 10, 3], "n": [20, 200, 30]})
    r = compare_groups(d, "x", "n").set_index("group")
    assert r.loc["b", "flag"] == "reference"
    assert np.isnan(r.loc["a", "ratio_lower"])  # log method undefined with zero events
    assert np.isfinite(r.loc["a", "difference_lower"])


def test_heat_summary_measures_hand_worked():
    d = pd.DataFrame({"group": ["A", "B", "C"], "value": [10.0, 20.0, 30.0], "population": [50, 30, 20]})
    m = summary_measures(d, higher_is_better=False).set_index("measure")["value"]
    mu = 0.5 * 10 + 0.3 * 20 + 0.2 * 30  # 17
    assert m["D"] == 20 and m["R"] == 3
    assert m["BGV"] == pytest.approx(0.5 * 49 + 0.3 * 9 + 0.2 * 169)
    assert m["MDB"] == pytest.approx(0.3 * 10 + 0.2 * 20)
    assert m["MDM"] == pytest.approx(0.5 * 7 + 0.3 * 3 + 0.2 * 13)
    r = np.array([10, 20, 30]) / mu
    assert m["TI"] == pytest.approx(np.sum(np.array([0.5, 0.3, 0.2]) * r * np.log(r)))
    assert m["MLD"] == pytest.approx(np.sum(np.array([0.5, 0.3, 0.2]) * -np.log(r)))
    assert m["PAR"] == pytest.approx(10 - mu) and m["PAF"] == pytest.approx(100 * (10 - mu) / mu)


def test_heat_intervals_analytic_agree_with_the_spread_of_simulated_measures():
    """The analytic (delta-method) intervals of D, R, BGV, TI and MLD against an independent
    Monte Carlo: groups drawn from normals with their standard errors, each measure's spread
    computed here from its definition (HEAT technical notes)."""
    d = pd.DataFrame({"group": list("ABCDE"), "value": [0.10, 0.14, 0.21, 0.12, 0.30],
                      "population": [400, 250, 150, 120, 80], "se": [0.004, 0.006, 0.009, 0.008, 0.012]})
    m = summary_measures(d, se="se").set_index("measure")
    z = 1.959964
    rng = np.random.default_rng(11)
    y = d["value"].to_numpy() + rng.standard_normal((200_000, 5)) * d["se"].to_numpy()
    p = d["population"].to_numpy() / d["population"].sum()
    mu = y @ p
    r = y / mu[:, None]
    spread = {"D": y[:, 4] - y[:, 0], "BGV": ((y - mu[:, None]) ** 2) @ p,
              "TI": (r * np.log(r)) @ p, "MLD": (-np.log(r)) @ p}
    for k, v in spread.items():
        assert m.loc[k, "ci_method"] == "analytic"
        assert (m.loc[k, "upper"] - m.loc[k, "lower"]) / (2 * z) == pytest.approx(v.std(), rel=0.05), k
    logr = np.log(y[:, 4] / y[:, 0])
    assert np.log(m.loc["R", "upper"] / m.loc["R", "lower"]) / (2 * z) == pytest.approx(logr.std(), rel=0.05)
    for k in ("MDB", "MDM", "PAR", "PAF"):
        assert m.loc[k, "ci_method"].startswith("simulated") and m.loc[k, "lower"] < m.loc[k, "upper"]
    # D by hand: 0.30 - 0.10 +/- 1.96 sqrt(0.012^2 + 0.004^2)
    assert m.loc["D", "lower"] == pytest.approx(0.2 - z * np.sqrt(0.012 ** 2 + 0.004 ** 2), rel=1e-7)
    assert summary_measures(d)["lower"].isna().all()  # no standard errors, no intervals
