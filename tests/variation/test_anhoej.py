"""Anhøj's runs rules at their boundaries (Anhøj J, Olesen AV (2014). Run charts revisited. PLoS ONE
9(11): e113825). The limits per number of useful points are qicharts2 0.8.1's, as its run charts in
tests/fixtures/spc/qic report them (``longest_run_max``, ``n_crossings_min``)."""

import numpy as np
import pytest

from qi_equity.variation.anhoej import crossings_min, longest_run_max, runs_analysis


def _runs(lengths):
    """Values alternating above and below 0 in runs of the given lengths."""
    return np.concatenate([np.full(n, 1.0 if i % 2 == 0 else -1.0) for i, n in enumerate(lengths)])


def _analyse(values):
    n = len(values)
    return runs_analysis(values, np.zeros(n), np.ones(n, bool), np.zeros(n, np.int64), 1)


@pytest.mark.parametrize("n,longest,crossings", [(18, 7, 5), (24, 8, 8), (27, 8, 9), (30, 8, 10), (36, 8, 13),
                                                 (60, 9, 23)])
def test_limits_match_the_published_table(n, longest, crossings):
    assert longest_run_max(np.array([n]))[0] == longest
    assert crossings_min(np.array([n]))[0] == crossings


def test_longest_run_at_its_maximum_does_not_signal_and_one_more_does():
    at = _analyse(_runs([8, 2, 2, 2, 2, 2, 2, 2, 2]))  # 24 points, longest 8, 8 crossings
    assert at["longest_run"][0] == 8 and at["crossings"][0] == 8 and not at["runs_signal"][0]
    over = _analyse(_runs([9, 2, 2, 2, 2, 2, 2, 2, 1]))  # longest 9, still 8 crossings
    assert over["longest_run"][0] == 9 and over["crossings"][0] == 8 and over["runs_signal"][0]


def test_crossings_at_their_minimum_do_not_signal_and_one_fewer_does():
    at = _analyse(_runs([3] * 6 + [2, 2, 2]))  # 24 points, 9 runs: 8 crossings, longest 3
    assert at["crossings"][0] == 8 and not at["runs_signal"][0]
    under = _analyse(_runs([3] * 8))  # 8 runs: 7 crossings, longest 3
    assert under["crossings"][0] == 7 and under["longest_run"][0] == 3 and under["runs_signal"][0]


def test_points_on_the_centre_are_not_useful_and_do_not_break_a_run():
    v = _runs([4, 4])
    v = np.insert(v, 2, 0.0)  # a point on the line inside the first run
    r = _analyse(v)
    assert r["n_useful"][0] == 8 and r["longest_run"][0] == 4 and r["crossings"][0] == 1


def test_boundary_no_useful_points_gives_no_limits_and_no_statistics():
    """n = 0 is the edge of both limits (qicharts2 gives NA): not 3 for the longest run, not 0 crossings."""
    assert np.isnan(longest_run_max(np.array([0]))).all() and np.isnan(crossings_min(np.array([0]))).all()
    out = runs_analysis(np.array([0.0, 0.0, np.nan]), np.zeros(3), np.ones(3, bool), np.zeros(3, np.int64), 1)
    assert out["n_useful"].tolist() == [0] and np.isnan(out["longest_run"][0]) and np.isnan(out["crossings"][0])
    assert not out["runs_signal"][0]


def test_boundary_one_and_two_useful_points():
    """One useful point is a run of 1 with no crossing; two on one side are one run of 2 (by hand)."""
    one = runs_analysis(np.array([1.0, 0.0]), np.zeros(2), np.ones(2, bool), np.zeros(2, np.int64), 1)
    assert (one["n_useful"][0], one["longest_run"][0], one["crossings"][0]) == (1, 1, 0)
    two = _analyse(np.array([1.0, 2.0]))
    assert (two["longest_run"][0], two["crossings"][0]) == (2, 0)
    apart = _analyse(np.array([1.0, -2.0]))
    assert (apart["longest_run"][0], apart["crossings"][0]) == (1, 1)


def test_boundary_a_single_run_has_no_crossing():
    out = _analyse(np.full(12, 3.0))
    assert out["crossings"][0] == 0 and out["longest_run"][0] == 12
    assert out["longest_run_max"][0] == 7 and out["runs_signal"][0]  # round(log2 12) + 3 = 7 < 12


def test_n_obs_counts_included_points_per_segment_even_past_the_last_one_used():
    """Excluded points are left out of n_obs, and every segment has its entry (one with no points: 0)."""
    v = np.array([1.0, -1.0, 1.0, 2.0])
    out = runs_analysis(v, np.zeros(4), np.array([True, False, True, True]), np.array([0, 0, 1, 1]), 3)
    assert out["n_obs"].tolist() == [1, 2, 0] and len(out["longest_run"]) == 3
    assert out["n_useful"].tolist() == [1, 2, 0] and np.isnan(out["longest_run"][2])


def test_boundary_limits_for_a_mix_of_empty_and_useful_segments():
    """Segments with no, one and ten useful points side by side: NaN for the empty one, the limits
    by the formulas for one point, the published limits for ten (longest run 6, crossings 2;
    Anhøj and Olesen 2014, table 1)."""
    lmax, cmin = longest_run_max(np.array([0, 1, 10])), crossings_min(np.array([0, 1, 10]))
    assert np.isnan(lmax[0]) and lmax[1:].tolist() == [3, 6]  # n = 1: round(log2 1) + 3 = 3
    assert np.isnan(cmin[0]) and cmin[1:].tolist() == [0, 2]  # n = 1: Binomial(0, 0.5) has only 0


def _runs_by_hand(signs):
    """n_useful, longest run and crossings of one row's useful signs, written out as a loop."""
    longest, crossings, run, prev = 0, 0, 0, None
    for s in signs:
        run = run + 1 if s == prev else 1
        crossings += prev is not None and s != prev
        longest, prev = max(longest, run), s
    return len(signs), longest, crossings


@pytest.mark.parametrize("empty", ["none", "some rows", "every row"])
def test_matrix_runs_match_a_loop_over_each_rows_useful_points(empty):
    from qi_equity.variation.anhoej import _runs_matrix

    rng = np.random.default_rng(11)
    sign = rng.choice(np.array([-1, 0, 1], dtype=np.int8), size=(70, 20), p=[0.45, 0.1, 0.45])
    useful = (sign != 0) & (rng.random((70, 20)) > 0.1)
    if empty == "some rows":
        useful[::9] = False
    elif empty == "every row":
        useful[:] = False
    n_useful, longest, crossings = _runs_matrix(sign, useful)
    for i in range(70):
        assert (n_useful[i], longest[i], crossings[i]) == _runs_by_hand(sign[i][useful[i]].tolist())


def test_boundary_the_first_run_of_the_first_row_counts():
    # the first useful point of the whole layout starts a run: here it is the longest run of its
    # row (four points), and the first row's only crossing follows it
    from qi_equity.variation.anhoej import _runs_matrix

    sign = np.array([[1, 1, 1, 1, -1, 1], [-1, 1, 1, -1, -1, -1]], dtype=np.int8)
    n_useful, longest, crossings = _runs_matrix(sign, np.ones(sign.shape, dtype=bool))
    assert longest.tolist() == [4.0, 3.0] and crossings.tolist() == [2.0, 2.0] and n_useful.tolist() == [6.0, 6.0]
