"""Block-by-block computation: the rules, the Anhøj runs and the autocorrelation run on blocks of
whole segments, and the matrix path's means on blocks of rows. Blocks change where the work is
done, never a result: every column must be what one block over everything gives."""

import numpy as np
import pandas as pd
import pytest

import qi_equity.variation.spc  # noqa: F401  (the module, not the function the package exports)
from qi_equity.variation import _segments as S
from qi_equity.variation import spc

SPC = __import__("sys").modules["qi_equity.variation.spc"]


def _data(n_series=90, n_points=30, seed=5):
    rng = np.random.default_rng(seed)
    months = pd.date_range("2023-01-01", periods=n_points, freq="MS")
    v = rng.normal(20, 3, (n_series, n_points)).round(1)
    v[::4, 6:14] = v[::4, 6:7] + np.arange(8) * 0.4          # trends
    v[1::6, 12:22] += 8                                      # shifts
    # ties with the centre: the last value makes the mean (in tenths, exactly) the first value
    t = np.round(v[2::5] * 10).astype(int)
    t[:, -1] = n_points * t[:, 0] - t[:, :-1].sum(axis=1)
    v[2::5] = t / 10
    df = pd.DataFrame({"series": np.repeat(np.arange(n_series), n_points), "date": np.tile(months, n_series),
                       "value": v.ravel()})
    return df


@pytest.mark.parametrize("layout", ["matrix", "grouped"])
def test_blocks_of_whole_segments_give_what_one_block_gives(monkeypatch, layout):
    df = _data()
    kwargs = dict(by="series", improvement="decrease", target=21)
    if layout == "grouped":  # a missing month and a rebase in some series: segments of unequal length
        df = df.drop(index=df.index[(df["series"] % 7 == 0) & (df["date"] == "2023-05-01")])
        kwargs["rebase"] = {k: "2024-01-01" for k in range(0, 90, 3)}
    monkeypatch.setattr(SPC, "BLOCK_POINTS", 10**9)
    one = spc(df, **kwargs)
    monkeypatch.setattr(SPC, "BLOCK_POINTS", 97)   # blocks of about three segments, cut mid-segment
    many = spc(df, **kwargs)
    assert len(SPC._blocks(np.repeat(np.arange(90), 30), 2700, 97)) > 20
    pd.testing.assert_frame_equal(many.points, one.points)
    pd.testing.assert_frame_equal(many.summary, one.summary)
    assert one.points["special_cause"].any() and (one.points["relative_to_centre"] == 0).any()


def test_blocks_cover_every_point_once_and_start_at_a_segment():
    seg = np.repeat(np.arange(6), [5, 1, 40, 2, 2, 10])      # one segment longer than a block
    blocks = SPC._blocks(seg, len(seg), 8)
    starts = [a for a, _ in blocks]
    assert starts[0] == 0 and blocks[-1][1] == len(seg)
    assert all(b == a2 for (_, b), (a2, _) in zip(blocks[:-1], blocks[1:]))   # contiguous, no overlap
    assert all(seg[a] != seg[a - 1] for a in starts[1:])                        # each at a segment start
    assert any(a <= 6 and b >= 46 for a, b in blocks)                           # the long one whole
    assert SPC._blocks(seg, len(seg), 1000) == [(0, len(seg))]


def test_means_by_blocks_of_rows_are_the_means_of_the_whole(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.normal(50, 5, (1000, 36)).round(1)
    m = rng.random((1000, 36)) > 0.1
    whole = S.means_matrix(x, m)
    monkeypatch.setattr(S, "MEANS_BLOCK", 64)
    assert np.array_equal(S.means_matrix(x, m), whole)
    # and each row is R's two-pass long-double mean of its values (checked here for a few rows)
    for i in (0, 63, 64, 999):
        v = x[i][m[i]].astype(np.longdouble)
        s = v.sum() / len(v)
        s = s + (v - s).sum() / len(v)
        assert whole[i] == float(s)
