"""Suppression that holds across every relation between the published cells.

1. **Primary**: a shown count from 1 to ``threshold - 1`` is hidden (zero is published).
2. **Secondary, by substitution**: a reader who has every published cell substitutes (see
   :func:`qi_equity.publication.bounds.substitute`); whenever that would give a count of 1 to
   ``threshold - 1`` (a hidden cell, or an unpublished one: a complement such as "treated
   within 18 weeks", the groups not in a table, the months a 12-month total does not show) one
   more published cell of the relation that gives it away is hidden -- the cheapest one: small
   counts before large, months before 12-month totals, groups before all-patient totals.
3. **Secondary, by bounds**: what substitution cannot reach, linear programming can (a hidden
   cell between two relations may still be narrowed to a few values); every unpublished count
   is bounded (:func:`qi_equity.publication.bounds.bounds`) and, for each one exposed, one more
   cell of one of its relations is hidden, until none is.

The result is proven by the same bounds the audit computes from the published files
(:mod:`qi_equity.publication.audit`), so what the suppression accepts the audit accepts.

This is the approach of Tau-Argus's "modular" and of Statistics Norway's ``GaussSuppression``
-- primary cells, then secondary cells chosen in an order of preference until no primary cell is
linearly determined -- with two differences stated in docs/disclosure.md: intervals are checked
by LP (GaussSuppression checks exact determination, with a singleton rule), and the unpublished
complements and remainders are protected like cells.

References
----------
.. [1] de Wolf P-P (2002). "HiTaS: a heuristic approach to cell suppression in hierarchical
       tables." In *Inference Control in Statistical Databases*, LNCS 2316 (Tau-Argus).
.. [2] Langsrud O (2024). "Secondary cell suppression by Gaussian elimination: an algorithm
       suitable for handling issues with zeros and singletons." *Privacy in Statistical
       Databases*, LNCS 14915, doi:10.1007/978-3-031-69651-0_6.
.. [3] NHS Digital (2014). *Hospital Episode Statistics: Disclosure Control Method* (counts 1-7
       suppressed, other counts rounded to the nearest 5; rates from unrounded values).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity.publication.bounds import binding_relations, bounds, substitute
from qi_equity.publication.cells import KEY, LINK_FAMILIES, System, fill_values, relations

DEFAULT_THRESHOLD = 5
#: Fewest pathways a published median, percentile or mean wait may rest on.
DEFAULT_MIN_MEDIAN = 10
HES_THRESHOLD = 8


class DisclosureError(ValueError):
    """Suppression could not protect every small count: nothing is published."""


@dataclass
class Rule:
    """A disclosure rule.

    ``threshold``: counts from 1 to ``threshold - 1`` are suppressed. ``min_median``: no median,
    percentile or mean on fewer pathways. ``rounding``: 0, or the base every published count
    is rounded to (the HES option: threshold 8, rounding 5; rates are computed from unrounded
    values and shown only where their counts are).
    """

    threshold: int = DEFAULT_THRESHOLD
    min_median: int = DEFAULT_MIN_MEDIAN
    rounding: int = 0

    @classmethod
    def hes(cls) -> "Rule":
        """NHS Digital's HES rule: suppress 1-7, round every other count to the nearest 5."""
        return cls(threshold=HES_THRESHOLD, min_median=DEFAULT_MIN_MEDIAN, rounding=5)

    def __post_init__(self):
        if int(self.threshold) < 2:
            raise ValueError(f"the suppression threshold must be at least 2 (got {self.threshold})")
        if int(self.min_median) < 10:
            raise ValueError(f"the minimum base of a median must be at least 10 pathways (got {self.min_median})")
        if self.rounding not in (0, 5, 10):
            raise ValueError(f"rounding must be 0, 5 or 10 (got {self.rounding})")

    def describe(self) -> str:
        r = (f"Counts from 1 to {self.threshold - 1} are not shown ('*'), nor anything worked out from them; "
             "further counts are hidden where totals or other tables would give them back. ")
        if self.rounding:
            r += f"Every other count is rounded to the nearest {self.rounding}; rates use unrounded counts. "
        return r + f"No median or percentile is shown for fewer than {self.min_median} pathways."


@dataclass
class Protected:
    """Cells with the decision: ``cells`` has the input columns plus ``hidden`` (bool) and
    ``reason`` (``primary``, ``secondary`` or ""), and ``published`` (the value shown, NaN
    where hidden; rounded under a rounding rule). ``system`` and ``rounds`` (secondary
    rounds run) are kept for the audit and the benchmark."""

    cells: pd.DataFrame
    rule: Rule
    system: System | None = None
    rounds: int = 0
    unresolved: list = field(default_factory=list)
    links: tuple = ()


def _cost(system: System) -> np.ndarray:
    """Preference for secondary suppression: lower is hidden first."""
    v = system.vars
    value = v["value"].to_numpy(float)
    w = np.ones(len(v))
    w[v["group"].to_numpy() == "All"] *= 100.0
    w[v["period"].str.contains("..", regex=False).to_numpy()] *= 10.0
    w[v["group"].str.startswith("~").to_numpy()] *= 3.0
    return np.nan_to_num(value, nan=1e9) * w + 1e-3 * np.arange(len(v)) / max(len(v), 1)


def _pick_near(A, At, var: int, candidates: np.ndarray, cost: np.ndarray, first_rows=None, max_depth: int = 4,
               penalty: float = 4.0, avoid: np.ndarray | None = None) -> int | None:
    """The cheapest candidate cell in the relations of ``var`` -- or, when none of them has one,
    in the relations of the unpublished variables they hold (breadth first): where a count is
    given away through a chain of worked-out values, the chain is broken nearest to it.

    When the cheapest candidate found is one to ``avoid`` (an all-patients count), the search
    goes on, a step further costing ``penalty`` times more: an all-patients count is hidden only
    when no group further along the chain would do."""
    rows = list(first_rows) if first_rows is not None else list(At.indices[At.indptr[var]:At.indptr[var + 1]])
    seen_rows, seen_vars = set(rows), {var}
    best, best_cost = None, np.inf
    scale = 1.0
    for _ in range(max_depth):
        nxt_vars = []
        for r in rows:
            cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
            cand = cols[candidates[cols]]
            if len(cand):
                j = cand[np.argmin(cost[cand])]
                if cost[j] * scale < best_cost:
                    best, best_cost = int(j), cost[j] * scale
            nxt_vars.extend(c for c in cols if not candidates[c] and c not in seen_vars)
        scale *= penalty
        if best is not None and (avoid is None or not avoid[best]):
            break
        rows = []
        for c in nxt_vars:
            seen_vars.add(c)
            for r in At.indices[At.indptr[c]:At.indptr[c + 1]]:
                if r not in seen_rows:
                    seen_rows.add(r)
                    rows.append(r)
        if not rows:
            break
    return best


def protect(cells: pd.DataFrame, rule: Rule | None = None, links=LINK_FAMILIES, max_rounds: int = 200,
            strict: bool = True) -> Protected:
    """Decide which cells are published.

    Parameters
    ----------
    cells : pandas.DataFrame
        Full-data counts: :data:`~qi_equity.publication.cells.KEY`, ``value``, ``shown`` (the
        cell appears in some artefact; unshown cells are in the table because relations need
        them), optionally ``parent`` (a count it is part of) and ``forced`` (never hidden
        secondarily -- use sparingly).
    rule : Rule
    links : the link families that hold on these cells (see
        :func:`qi_equity.publication.cells.verified_links`).
    max_rounds : int
        Secondary rounds at most. Each round hides cells for every count still exposed and
        looks again, since a newly hidden cell can itself be worked out from another relation.
    strict : bool
        Raise :class:`DisclosureError` when a count is still exposed at the end (no cell left
        to hide, or ``max_rounds`` reached); with False the exposed counts are in
        ``unresolved`` (for tests and benchmarks).

    Returns
    -------
    Protected
    """
    rule = rule or Rule()
    t = rule.threshold
    cells = cells.reset_index(drop=True).copy()
    if "shown" not in cells:
        cells["shown"] = True
    for c in KEY:
        cells[c] = cells[c].astype(str)
    # the system of the shown cells -- what a reader of the published files has -- with the
    # values of the totals it adds taken from the full data
    show = cells["shown"].to_numpy(bool)
    sc = cells[show].reset_index(drop=True)
    lookup = dict(zip(zip(*(cells.loc[~show, c].to_numpy() for c in KEY)), cells.loc[~show, "value"].to_numpy(float)))
    sys = relations(sc, links, lookup=lookup)
    n = len(sys.vars)
    vals = fill_values(sys)
    sys.vars["value"] = vals
    shown = np.zeros(n, dtype=bool)
    shown[:sys.n_input] = True
    small = (vals >= 1) & (vals < t)
    primary = shown & small
    published = shown & ~primary & ~np.isnan(vals)
    forced = np.zeros(n, dtype=bool)
    if "forced" in sc:
        forced[:sys.n_input] = sc["forced"].to_numpy(bool)
    cost = _cost(sys)
    avoid = (sys.vars["group"] == "All").to_numpy()
    cost[forced] = np.inf
    A = sys.A
    At = A.T.tocsr()
    absA = abs(A)
    lb = np.where(shown, 1.0, 0.0)
    rounds = 0
    unresolved = []
    converged = False
    stuck: dict = {}
    cache: dict = {}
    while rounds < max_rounds:
        rounds += 1
        # --- substitution: which relations would give a small count away
        v, known = substitute(A, vals, published)
        exposed_now = known & ~published & small
        if exposed_now.any():
            # for each exposed count, the relations through which it is reached: those where it
            # is the lone unknown once every other published or worked-out value is in
            unk_after = (~(known & ~exposed_now)).astype(float)
            cnt = np.asarray(absA @ unk_after).ravel()
            lone = cnt == 1
            cand = published & ~forced & (vals > 0)
            picks = set()
            for var in np.flatnonzero(exposed_now):
                rs = [r for r in At.indices[At.indptr[var]:At.indptr[var + 1]] if lone[r]]
                j = _pick_near(A, At, var, cand, cost, first_rows=rs or None, avoid=avoid)
                if j is not None:
                    picks.add(j)
            if not picks:
                unresolved = list(np.flatnonzero(exposed_now))
                break
            published[list(picks)] = False
            continue
        # --- bounds: narrow ranges substitution cannot see
        b = bounds(A, vals, published, lb, t, truth=vals, exact=True, cache=cache)
        bad = np.flatnonzero(b.exposed)
        if not len(bad):
            converged = True
            break
        cand = published & ~forced & (vals > 0)
        # a count still exposed after a round of picks that spared the all-patients counts is
        # held by one of them (e.g. a 12-month total over months all too small to show): from
        # then on its search may pick one
        # and a count exposed for a third round is held through relations the nearest picks
        # keep missing (months all hidden under a 12-month total that other tables give back,
        # say): the LP's certificate of its bound names them, and the cheapest shown cell of
        # each is hidden too
        picks = set()
        for var in bad:
            stuck[var] = stuck.get(var, 0) + 1
        again = [var for var in bad if stuck[var] >= 3]
        if again:
            for var, rows in binding_relations(A, vals, published, lb, again).items():
                for r in rows:
                    cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
                    c = cols[cand[cols]]
                    if len(c):
                        picks.add(int(c[np.argmin(cost[c])]))
        for var in bad:
            j = _pick_near(A, At, var, cand, cost, avoid=avoid if stuck[var] < 2 else None)
            if j is not None:
                picks.add(j)
        if not picks:
            unresolved = list(bad)
            break
        published[list(picks)] = False
    if not converged and not unresolved:
        # the rounds ran out with cells hidden in the last one: what is exposed now?
        v, known = substitute(A, vals, published)
        b = bounds(A, vals, published, lb, t, truth=vals, exact=True, cache=cache)
        unresolved = list(np.flatnonzero((known & ~published & small) | b.exposed))
        converged = not unresolved
    if unresolved and strict:
        keys = sys.vars.iloc[unresolved[:3]][KEY].astype(str).agg("|".join, axis=1).tolist()
        raise DisclosureError(f"secondary suppression could not protect {len(unresolved)} small count(s) "
                              f"after {rounds} round(s), e.g. {'; '.join(keys)}: nothing is published")
    # clean-up: a secondary cell the reader can work out anyway protects nothing -- publish it
    # (what is known does not change, so the result stays safe)
    if not unresolved:
        v, known = substitute(A, vals, published)
        b = bounds(A, vals, published, lb, t, truth=vals, exact=True, cache=cache)
        pinned = ~b.inner & (np.abs(np.nan_to_num(b.lo, nan=-1) - np.nan_to_num(b.hi, nan=-2)) < 1e-6)
        det = (known | pinned) & ~published
        published |= det & shown & ~primary
    out = cells.copy()
    hidden = np.zeros(len(cells), dtype=bool)
    hidden[np.flatnonzero(show)] = ~published[:sys.n_input]
    out["hidden"] = hidden
    prim = np.zeros(len(cells), dtype=bool)
    prim[np.flatnonzero(show)] = primary[:sys.n_input]
    out["reason"] = np.where(prim, "primary", np.where(hidden, "secondary", ""))
    pub = np.where(hidden, np.nan, out["value"].to_numpy(float))
    if rule.rounding:
        pub = np.where(pub > 0, np.round(pub / rule.rounding) * rule.rounding, pub)
    out["published"] = np.where(show, pub, np.nan)
    return Protected(out, rule, sys, rounds, unresolved, tuple(links))
