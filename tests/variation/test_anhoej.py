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
