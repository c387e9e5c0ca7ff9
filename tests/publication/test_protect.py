"""Suppression across linked cells, checked by brute force: every integer table consistent with
what is published is enumerated (independently of the LP the kit uses), and each hidden small
count must keep at least threshold - 1 possible values."""

import itertools

import numpy as np
import pandas as pd
import pytest

from qi_equity.publication.bounds import bounds, substitute
from qi_equity.publication.cells import KEY, relations
from qi_equity.publication.protect import Rule, protect


def _table(values: dict, months=("2026-01", "2026-02", "2026-03"), window=True, measure="completed"):
    rows = []
    for g, v in values.items():
        for m, x in zip(months, v):
            rows.append((measure, m, "all", "imd_quintile", g, x))
        if window:
            rows.append((measure, f"{months[0]}..{months[-1]}", "all", "imd_quintile", g, sum(v)))
    for i, m in enumerate(months):
        rows.append((measure, m, "all", "all", "All", sum(v[i] for v in values.values())))
    if window:
        rows.append((measure, f"{months[0]}..{months[-1]}", "all", "all", "All", sum(sum(v) for v in values.values())))
    return pd.DataFrame(rows, columns=KEY + ["value"])


def brute_force_ranges(table: pd.DataFrame, published: np.ndarray, hi: int = 60) -> dict:
    """For each hidden cell, every value it takes over all non-negative integer tables (hidden
    cells at least 1: zeros are published) that satisfy the partitions and the time sums the
    published cells state. Enumerates the hidden cells directly."""
    t = table.reset_index(drop=True)
    hidden = np.flatnonzero(~published)
    known = {i: t.at[i, "value"] for i in np.flatnonzero(published)}
    # constraints, written out by hand from the table's meaning (not from the kit's relations)
    cons = []
    key = {tuple(r[k] for k in KEY): i for i, r in t.iterrows()}
    for (m, p), g in t[t["dimension"] != "all"].groupby(["measure", "period"]):
        cons.append((key[(m, p, "all", "all", "All")], list(g.index)))
    for (m, d, grp), g in t.groupby(["measure", "dimension", "group"]):
        win = g[g["period"].str.contains("..", regex=False)]
        months = g[~g["period"].str.contains("..", regex=False)]
        if len(win):
            cons.append((win.index[0], list(months.index)))
    seen = {i: set() for i in hidden}
    # depth-first over the hidden cells, pruning on each constraint's remaining total
    pos = {h: k for k, h in enumerate(hidden)}
    cons_h = []
    for tot, parts in cons:
        members = [x for x in [tot] + parts if x in pos]
        const = (known.get(tot, 0) if tot not in pos else 0) - sum(known[x] for x in parts if x not in pos)
        coef = {x: (1 if x == tot else -1) for x in members}
        cons_h.append((members, coef, const))   # sum(coef * x) + const == 0

    assign = {}

    def feasible_partial():
        for members, coef, const in cons_h:
            rest = [m for m in members if m not in assign]
            s = const + sum(coef[m] * assign[m] for m in members if m in assign)
            if not rest:
                if s != 0:
                    return False
            elif all(coef[m] == -1 for m in rest) and s < len(rest):   # parts still to come, at least 1 each
                return False
        return True

    def dfs(k):
        if k == len(hidden):
            for h in hidden:
                seen[h].add(assign[h])
            return
        h = hidden[k]
        for x in range(1, hi + 1):
            assign[h] = x
            if feasible_partial():
                dfs(k + 1)
            del assign[h]

    dfs(0)
    return seen


def test_lone_small_cell_gets_a_partner_and_every_small_cell_keeps_its_range():
    tab = _table({"Q1 most deprived": [10, 12, 3], "Q2": [20, 21, 19], "Q3": [30, 31, 29], "Q4": [25, 26, 27],
                  "Q5 least deprived": [40, 2, 41], "Unmatched": [0, 0, 0]})
    p = protect(tab)
    assert not p.unresolved
    hidden = p.cells["hidden"].to_numpy()
    assert hidden[(tab["value"] >= 1) & (tab["value"] < 5)].all()       # primary
    assert not hidden[tab["value"] == 0].any()                         # zeros are published
    assert (p.cells["reason"] == "secondary").sum() >= 2                 # a partition and a time sum
    # every hidden count keeps at least 4 possible values (brute force over all tables)
    small = [i for i in np.flatnonzero(hidden)]
    assert len(small) <= 7
    ranges = brute_force_ranges(tab, ~hidden, hi=50)
    for i in small:
        if 1 <= tab.at[i, "value"] < 5:
            assert len(ranges[i]) >= 4, (tab.iloc[i].to_dict(), sorted(ranges[i]))


def test_two_small_cells_summing_to_two_are_not_left_alone():
    # one month, five groups: two ones add up to a known 2, so each would be exactly 1
    tab = _table({"Q1 most deprived": [1], "Q2": [1], "Q3": [30], "Q4": [25], "Q5 least deprived": [40],
                  "Unmatched": [0]}, months=("2026-01",), window=False)
    p = protect(tab)
    hidden = p.cells["hidden"].to_numpy()
    assert hidden[:2].all() and hidden.sum() >= 3
    ranges = brute_force_ranges(tab, ~hidden, hi=80)
    for i in (0, 1):
        assert len(ranges[i]) >= 4


def test_threshold_eight_and_the_hes_rule():
    tab = _table({"Q1 most deprived": [6, 12, 30], "Q2": [20, 21, 19], "Q3": [30, 31, 29], "Q4": [25, 26, 27],
                  "Q5 least deprived": [40, 7, 41], "Unmatched": [0, 0, 0]})
    p8 = protect(tab, Rule(threshold=8))
    assert p8.cells.loc[tab["value"].isin([6, 7]), "hidden"].all()
    hes = protect(tab, Rule.hes())
    pub = hes.cells.loc[~hes.cells["hidden"], "published"]
    assert (pub % 5 == 0).all()                     # every published count rounded to 5
    assert hes.cells.loc[tab["value"].isin([6, 7]), "hidden"].all()


def test_rule_validates_its_settings():
    with pytest.raises(ValueError, match="at least 10"):
        Rule(min_median=5)
    with pytest.raises(ValueError, match="at least 2"):
        Rule(threshold=1)


def test_complement_is_protected_like_a_count():
    # completed 12 and over 18 weeks 10: treated within 18 weeks is 2 -- a small count nobody shows
    rows = [("completed", "2026-01", "all", "all", "All", 12), ("over_18", "2026-01", "all", "all", "All", 10)]
    p = protect(pd.DataFrame(rows, columns=KEY + ["value"]))
    assert p.cells["hidden"].any()
    sys = relations(p.cells[KEY].assign(value=p.cells["published"]))
    v = sys.vars["value"].to_numpy(float)
    b = bounds(sys.A, v, ~np.isnan(v), np.where(sys.vars["role"].eq("cell") & np.isnan(v), 1.0, 0.0), 5)
    assert not b.exposed.any()


def test_substitution_follows_chains():
    # a + b = 10 (b published 7) gives a = 3; a + c = 8 then gives c = 5
    from scipy.sparse import csr_matrix

    A = csr_matrix(np.array([[1, 1, 0, -1, 0], [1, 0, 1, 0, -1]], dtype=float))  # a+b-T1, a+c-T2
    vals = np.array([np.nan, 7, np.nan, 10, 8])
    v, known = substitute(A, vals, ~np.isnan(vals))
    assert known.all() and v[0] == 3 and v[2] == 5


def test_lp_bounds_of_a_two_by_two_pattern():
    # rows r1: x11 + x12 = 5, r2: x21 + x22 = 9; columns c1: x11 + x21 = 6, c2: x12 + x22 = 8; every
    # x >= 1. By hand: x11 in [max(1, 6 - 8), min(5 - 1, 6 - 1)] = [1, 4]
    from scipy.sparse import csr_matrix

    A = csr_matrix(np.array([[1, 1, 0, 0, -1, 0, 0, 0], [0, 0, 1, 1, 0, -1, 0, 0],
                             [1, 0, 1, 0, 0, 0, -1, 0], [0, 1, 0, 1, 0, 0, 0, -1]], dtype=float))
    vals = np.array([np.nan] * 4 + [5, 9, 6, 8])
    known = ~np.isnan(vals)
    b = bounds(A, vals, known, np.where(known, 0.0, 1.0), 5, exact=True)
    assert b.lo[0] == pytest.approx(1) and b.hi[0] == pytest.approx(4)
    assert b.lo[3] == pytest.approx(4) and b.hi[3] == pytest.approx(7)   # x22 = 9 - x21 = 3 + x11
    assert not b.exposed[0]  # four values: as wide as the symbol says


# A table whose suppression needs nine rounds: each cell hidden to protect one count is itself
# worked out from another relation (month partition -> 12-month total -> the next month ...).
_CHAIN = {"Q1 most deprived": [3, 12, 10], "Q2": [6, 21, 19], "Q3": [30, 31, 29], "Q4": [25, 26, 27],
          "Q5 least deprived": [40, 9, 41], "Unmatched": [0, 0, 0]}


def test_boundary_the_propagation_loop_runs_until_nothing_is_exposed():
    tab = _table(_CHAIN)
    p = protect(tab)
    assert not p.unresolved and p.rounds > 2
    hidden = p.cells["hidden"].to_numpy()
    ranges = brute_force_ranges(tab, ~hidden, hi=40)
    for i in np.flatnonzero(hidden):
        if 1 <= tab.at[i, "value"] < 5:
            assert len(ranges[i]) >= 4, (tab.iloc[i].to_dict(), sorted(ranges[i]))


def test_boundary_rounds_running_out_is_an_error_not_a_release():
    from qi_equity.publication.protect import DisclosureError

    tab = _table(_CHAIN)
    with pytest.raises(DisclosureError, match="could not protect .* after 2 round"):
        protect(tab, max_rounds=2)
    p = protect(tab, max_rounds=2, strict=False)
    assert p.unresolved


def test_binding_relations_name_the_chain_that_holds_a_count():
    """Months m1..m3 (hidden, each at least 1) add up to a 12-month total W (hidden), which its
    partition gives back: T = W + O with T = 54 and O = 50 published, so W = 4 and each month is
    1 or 2. What holds m1 is the time relation and the partition that gave W: hiding O (or T)
    is what protects the months, and both relations are named."""
    from scipy.sparse import csr_matrix

    from qi_equity.publication.bounds import binding_relations

    #                  m1  m2  m3   W   O   T
    A = csr_matrix(np.array([[-1, -1, -1, 1, 0, 0],      # r0: W = m1 + m2 + m3
                             [0, 0, 0, -1, -1, 1]], dtype=float))  # r1: T = W + O
    vals = np.array([2, 1, 1, 4, 50, 54], dtype=float)
    known = np.array([False, False, False, False, True, True])
    lb = np.array([1, 1, 1, 1, 0, 0], dtype=float)
    b = bounds(A, vals, known, lb, 5)
    assert (b.lo[0], b.hi[0]) == (1, 2) and b.exposed[0]
    assert list(binding_relations(A, vals, known, lb, [0])[0]) == [0, 1]
    # with O hidden too, W is no longer given back and m1 is protected
    b2 = bounds(A, vals, np.array([False] * 5 + [True]), lb, 5)
    assert not b2.exposed[0]


def test_propagation_bounds_by_hand():
    """x1 + x2 = 5 and x2 + x3 = 3, each at least 1: x2 and x3 in [1, 2], then x1 in [3, 4]."""
    from scipy.sparse import csr_matrix

    from qi_equity.publication.bounds import propagate

    B = csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=float))
    lo, hi = propagate(B, np.array([5.0, 3.0]), np.ones(3), np.full(3, 1000.0))
    np.testing.assert_allclose(lo, [3, 1, 1])
    np.testing.assert_allclose(hi, [4, 2, 2])


def test_propagation_bounds_contain_every_lp_range():
    """On random partition-like systems, the outer bounds contain the exact range (by scipy's
    linprog, independently of the kit's programme)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    from qi_equity.publication.bounds import propagate

    rng = np.random.default_rng(7)
    for _ in range(20):
        n, m = 8, 4
        M = (rng.random((m, n)) < 0.4).astype(float) * rng.choice([-1.0, 1.0], (m, n))
        x = rng.integers(1, 6, n).astype(float)
        b = M @ x
        lo, hi = propagate(csr_matrix(M), b, np.ones(n), np.full(n, 100.0))
        for j in range(n):
            c = np.zeros(n)
            c[j] = 1
            mn = linprog(c, A_eq=M, b_eq=b, bounds=[(1, 100)] * n, method="highs").fun
            mx = -linprog(-c, A_eq=M, b_eq=b, bounds=[(1, 100)] * n, method="highs").fun
            assert lo[j] <= mn + 1e-7 and hi[j] >= mx - 1e-7


def test_an_area_and_one_of_its_services_do_not_give_the_other_away():
    # area (340 + 341) = 12 and 340 = 10 are both fine to show alone, but together they give
    # 341 = 2: the area relation makes the suppression hide one of them (a differencing attack
    # across the Core20PLUS5 table and the specialty's own cells)
    area = "c20p5:chronic_respiratory_disease:340+341"
    cells = pd.DataFrame([("completed", "P", area, "core20", "Core20", 12, True),
                          ("completed", "P", "340", "core20", "Core20", 10, True),
                          ("completed", "P", "341", "core20", "Core20", 2, False)],
                         columns=KEY + ["value", "shown"])
    p = protect(cells, Rule(threshold=5))
    shown = p.cells[p.cells["shown"]]
    assert shown["hidden"].sum() == 1
    assert set(shown["reason"]) == {"", "secondary"}
    # without the area key the same two counts are unrelated and both published
    plain = cells.assign(specialty=["other", "340", "341"])
    assert not protect(plain[plain["shown"]], Rule(threshold=5)).cells["hidden"].any()


def test_rules_describe_themselves_for_the_reader():
    """The sentence every report prints under its tables, for the default (threshold 5) and the
    HES rule (threshold 8, rounding to 5, the default minimum base for a median of 10)."""
    assert Rule().describe() == (
        "Counts from 1 to 4 are not shown ('*'), nor anything worked out from them; further counts are "
        "hidden where totals or other tables would give them back. No median or percentile is shown for "
        "fewer than 10 pathways.")
    hes = Rule.hes()
    assert (hes.threshold, hes.min_median, hes.rounding) == (8, 10, 5)
    assert hes.describe() == (
        "Counts from 1 to 7 are not shown ('*'), nor anything worked out from them; further counts are "
        "hidden where totals or other tables would give them back. Every other count is rounded to the "
        "nearest 5; rates use unrounded counts. No median or percentile is shown for fewer than 10 pathways.")
    with pytest.raises(ValueError, match=r"^rounding must be 0, 5 or 10 \(got 3\)$"):
        Rule(rounding=3)
    assert Rule(threshold=2, min_median=10, rounding=10).rounding == 10
