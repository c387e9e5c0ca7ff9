"""A floor for SPC speed: XmR limits and the four Making Data Count rules in bare numpy on a
(series x points) matrix of complete, equal-length series -- no input checks, no gaps, no
rebasing, no data frames. What `qi_equity.variation.spc` does on top (missing months, periods,
directions, targets, Anhøj runs, icons, tidy output) is the price of its features; this
measures how close to the arithmetic it stays. Rules as NHSRplotthedots 0.2.2 (2.66 x mean
moving range, moving ranges >= 3.267 x their mean screened once, 7-point shift and trend, two of
three beyond 2 sigma, all three on one side). On 5,000 random series its flags agree with
spc() on all but 7 of 180,000 points (values tied with the centre, which spc() computes as R does)."""

from __future__ import annotations

import numpy as np


def _in_run(flag: np.ndarray, length: int) -> np.ndarray:
    """Points belonging to a run of ``length`` or more True values along each row: the run
    through a point is as long as the run ending there plus the run starting there, less one."""
    k = flag.shape[1]
    idx = np.arange(k, dtype=np.int16)
    last_off = np.maximum.accumulate(np.where(flag, np.int16(-1), idx), axis=1)
    ending = idx - last_off                       # run length ending at each point (0 where False)
    rev = flag[:, ::-1]
    last_off_r = np.maximum.accumulate(np.where(rev, np.int16(-1), idx), axis=1)
    starting = (idx - last_off_r)[:, ::-1]
    return flag & (ending + starting - 1 >= length)


def floor_spc(x: np.ndarray, shift: int = 7, trend: int = 7) -> dict:
    """Limits and rule flags for each row of ``x`` (series x points)."""
    centre = x.mean(axis=1)
    mr = np.abs(np.diff(x, axis=1))
    amr = mr.mean(axis=1)
    keep = mr < 3.267 * amr[:, None]
    amr = (mr * keep).sum(axis=1) / keep.sum(axis=1)
    half = 2.66 * amr
    lower, upper = centre - half, centre + half
    two = (2 * 2.66 / 3) * amr
    dev = x - centre[:, None]
    outside = (dev > half[:, None]) | (dev < -half[:, None])
    above, below = dev > 0, dev < 0
    shift_flag = _in_run(above, shift) | _in_run(below, shift)
    d = np.diff(x, axis=1)
    up, down = _in_run(d > 0, trend - 1), _in_run(d < 0, trend - 1)
    trend_flag = np.zeros_like(outside)
    # a run of trend - 1 rising steps covers trend points: the step's two ends
    trend_flag[:, 1:] |= up | down
    trend_flag[:, :-1] |= up | down
    # two of three beyond 2 sigma (inside the limits), the three on one side of the centre
    hi2, lo2 = (dev > two[:, None]) & ~outside, (dev < -two[:, None]) & ~outside
    two3 = np.zeros_like(outside)
    for close, side in ((hi2, above), (lo2, below)):
        c = close.view(np.int8)
        w = ((c[:, :-2] + c[:, 1:-1] + c[:, 2:]) >= 2) & side[:, :-2] & side[:, 1:-1] & side[:, 2:]
        for off in range(3):
            two3[:, off:off + w.shape[1]] |= w & close[:, off:off + w.shape[1]]
    special = outside | shift_flag | trend_flag | two3
    return dict(centre=centre, lower=lower, upper=upper, special=special, last_special=special[:, -1])
