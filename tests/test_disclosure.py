"""Disclosure control as a reader would attack it: simple, independent attacks (subtraction
within a table, 12-month totals minus the published months, a count minus its part) on what a
provider release publishes. The LP audit is tested in tests/publication/test_audit.py."""

import numpy as np
import pandas as pd
import pytest

from qi_equity import disclosure
from qi_equity.publication.release import EQUITY_BASES
from qi_equity.reports import provider as R

CENSUS = "2026-03-31"


def test_primary_hides_one_to_four_not_zero():
    assert disclosure.primary(pd.Series([0, 1, 4, 5, 100])).tolist() == [False, True, True, False, False]
    assert disclosure.primary(pd.Series([0, 1, 7, 8]), threshold=8).tolist() == [False, True, True, False]
    assert disclosure.round_to([3, 7, 12, 13]).tolist() == [5, 5, 10, 15]


def _subtract(published: pd.Series, total: float) -> list:
    """Hidden cells a reader pins down from a published total: a lone hidden cell."""
    hidden = published.isna()
    if hidden.sum() == 1:
        return [total - published[~hidden].sum()]
    if hidden.sum() > 1 and total - published[~hidden].sum() == hidden.sum():  # all ones
        return [1] * int(hidden.sum())
    return []


@pytest.fixture(scope="module")
def releases(sample_derived):
    out = {}
    for code in ("XQA", "XQF"):
        d = sample_derived(code)
        agg = R.monthly(d, CENSUS, 36, by_specialty=False)
        out[code] = (d, agg, R.release(d, agg, CENSUS, None))
    return out


def test_equity_table_within_and_across_tables(releases):
    from qi_equity import measures

    n_secondary = 0
    for code, (d, agg, rel) in releases.items():
        pub = R.equity_summary(d, CENSUS, release_=rel).data
        truth = measures.equity_table(d, CENSUS, 12, dimensions=R.PUBLISHED_DIMENSIONS)
        assert pub["group"].tolist() == truth["group"].tolist()
        n_hidden = 0
        # hidden although not small: secondary suppression (primary alone would not hide them)
        n_secondary += sum(int((pub[c].isna() & truth[c].notna() & ~truth[c].between(1, 4)).sum())
                           for c in EQUITY_BASES)
        for col in EQUITY_BASES:
            small = truth[col].between(1, 4)
            assert pub.loc[small, col].isna().all(), (code, col)        # primary
            total = pub.loc[pub.dimension == "all", col].iloc[0]
            for dim in ("sex_age", "ethnic_group", "imd_quintile"):
                m = (pub.dimension == dim).to_numpy()
                n_hidden += int(pub.loc[m, col].isna().sum())
                if pd.notna(total):
                    got = _subtract(pub.loc[m, col].reset_index(drop=True), total)
                    assert not any(1 <= g <= 4 for g in got), (code, col, dim, got)
        # a count minus its part: treated within 18 weeks, attended
        for whole, part in (("completed", "over_18"), ("dna_denominator", "dna"), ("completed", "removed")):
            both = pub[whole].notna() & pub[part].notna()
            comp = (pub.loc[both, whole] - pub.loc[both, part])
            assert not comp.between(1, 4).any(), (code, whole, part)
        assert n_hidden > 0
    assert n_secondary > 0  # the checks above ran on tables where secondary suppression acted


def test_twelve_month_totals_minus_published_months(releases):
    """The leak the issue found: a 12-month cell minus the 12 published months."""
    for code, (d, agg, rel) in releases.items():
        pub = R.equity_summary(d, CENSUS, release_=rel).data.set_index(["dimension", "group"])
        monthly = rel.aggregate(agg)
        last12 = monthly[pd.to_datetime(monthly["month"]) >= pd.Timestamp("2025-04-01")]
        checked = 0
        for measure, col, field in (("completed_median_wait", "completed", "denominator"),
                                    ("dna_rate", "dna", "numerator"), ("dna_rate", "dna_denominator", "denominator")):
            m = last12[last12["measure"] == measure]
            for (dim, grp), g in m.groupby(["dimension", "group"]):
                if (dim, grp) not in pub.index or pd.isna(pub.loc[(dim, grp), col]):
                    continue
                got = _subtract(g[field].reset_index(drop=True), pub.loc[(dim, grp), col])
                checked += 1
                assert not any(1 <= x <= 4 for x in got), (code, measure, dim, grp, got)
        assert checked > 20


def test_medians_rest_on_the_minimum(releases):
    for code, (d, agg, rel) in releases.items():
        m = rel.aggregate(agg)
        med = m[m["measure"].isin(["completed_median_wait", "first_appointment_wait"]) & m["value"].notna()]
        assert (med["denominator"] >= 10).all()
        eq = R.equity_summary(d, CENSUS, release_=rel).data
        assert (eq.loc[eq["median_wait"].notna(), "completed"] >= 10).all()


def test_primary_reads_an_already_suppressed_cell_as_not_a_count():
    from qi_equity.disclosure import primary

    got = primary(pd.Series(["*", "3", 0, 7, 4]))
    assert list(got) == [False, True, False, False, True]


def test_round_to_gives_whole_counts_also_from_text():
    from qi_equity.disclosure import round_to

    got = round_to(["12", "3", "8"])
    assert got.dtype.kind == "i" and list(got) == [10, 5, 10]
    assert list(round_to([0, 2, 3, 7, 13], base=10)) == [0, 0, 0, 10, 10]
