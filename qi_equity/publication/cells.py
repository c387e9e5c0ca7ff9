"""Published counts as one set of cells, and every linear relation between them.

Everything a provider publishes is a view of one table of **count cells**, each with a canonical
key ``measure, period, specialty, dimension, group`` -- so a count shown in two places (the
12-month completed pathways of working-age women in the equity table and in a finding) is one
cell, one variable of the disclosure problem. Rates, percentages and medians are *derived* from
cells and are published only when the cells they rest on are (see :mod:`.protect`).

``measure`` names a count, not an indicator: ``completed`` (pathways whose clock stopped),
``over_18``, ``over_52``, ``removed`` (of them), ``first_appts`` (pathways whose first
appointment fell in the period), ``dna`` (of them, with a DNA), ``referrals``, ``waiting`` and
``waiting_over_18`` (month-end snapshots), and data-quality counts. ``period`` is a month
``YYYY-MM``, a run of months ``YYYY-MM..YYYY-MM``, or ``extract`` (every pathway of the extract).

Relations are generated from the keys, not declared table by table (the tables are linked
whether their authors meant it or not). Each is ``sum(coefficient * variable) == 0`` over the
cells and three kinds of unpublished variables, all of them counts of real people that are
protected like cells:

- **partition** -- the groups of a dimension add up to the all-patients cell of the same
  measure, period and specialty (a *remainder* variable stands for groups not in the table);
- **link** -- groups of one dimension add up to groups of another: an intersection to each of
  its parts (``Female 16-64, Core20`` + ``Female 16-64, Not Core20`` + ``..., Unmatched`` =
  ``Female 16-64``), IMD deciles to quintiles, Core20 to IMD quintile 1, sex x age band to sex
  and to age bands. Links that depend on the data's coding are verified on the full data before
  they are declared (:func:`verified_links`);
- **everyone else** -- ``~g`` (everyone in the specialty whose group is recorded, other than
  ``g``) is the sum of the other recorded groups;
- **specialty** -- the all-specialties cell is the sum of the specialties' cells (plus a
  remainder for specialties not in the table);
- **area** -- a Core20PLUS5 clinical area's cell (specialty ``c20p5:<area>:<code>+<code>``, see
  :mod:`qi_equity.data.core20plus5`) is the sum of its treatment functions' cells, which are
  added as unpublished totals where no artefact shows them (they count in the specialty
  relation like any specialty; an area is never a specialty of its own there);
- **time** -- a run of months is the sum of the shortest periods inside it (plus a remainder for
  months they do not cover); month-end snapshots are not additive and have no time relation;
- **subset** -- a count and the count it is part of (``over_18`` of ``completed``, ``dna`` of
  ``first_appts``): ``parent = part + complement``, where the *complement* (treated within 18
  weeks, attended) is a count too.

References
----------
.. [1] Hundepool A, Domingo-Ferrer J, Franconi L, et al. (2012). *Statistical Disclosure
       Control*. Wiley, ch. 4 and 5 (linked tables, the attacker's linear system, interval
       protection).
.. [2] Langsrud O (2024). "Secondary cell suppression by Gaussian elimination: an algorithm
       suitable for handling issues with zeros and singletons." In *Privacy in Statistical
       Databases*, LNCS 14915, doi:10.1007/978-3-031-69651-0_6 (published cells as linear
       combinations of inner cells; the ``GaussSuppression`` R package).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix, csr_matrix

from qi_equity.data import contract as C
from qi_equity.data.core20plus5 import parse_area_key

KEY = ["measure", "period", "specialty", "dimension", "group"]

#: Each count and the count it is a part of (its complement is protected too).
SUBSETS = {"over_18": "completed", "over_52": "over_18", "removed": "completed", "dna": "first_appts",
           "waiting_over_18": "waiting", "stage_completed": "completed", "referrals_seen": "referrals",
           "seen_completed": "referrals_seen", "seen_treated": "seen_completed"}
#: Month-end snapshots: not additive over months.
SNAPSHOTS = {"waiting", "waiting_over_18"}
#: Groups of the IMD decile "dimension" (SII charts).
DECILE_GROUPS = tuple(str(i) for i in range(1, 11)) + ("Unmatched",)
#: Every link family :func:`relations` knows; the ones that hold are declared with the cells.
LINK_FAMILIES = ("intersection", "imd_decile>imd_quintile", "core20=imd_quintile", "sex_age>sex",
                 "sex_age~age_band")
_QUINTILE = {1: "Q1 most deprived", 2: "Q2", 3: "Q3", 4: "Q4", 5: "Q5 least deprived"}
_AGE3 = {"0-15": "0-15", "16-29": "16-64", "30-44": "16-64", "45-64": "16-64", "65-74": "65+", "75+": "65+"}


def groups_of(dimension: str) -> tuple[str, ...]:
    """The groups a dimension is known to have (the contract's, the deciles', a flag's)."""
    if dimension == "imd_decile":
        return DECILE_GROUPS
    d = C.DIMENSIONS.get(dimension)
    if d is not None:
        return d.groups
    return C.FLAG_GROUPS


def recorded_groups(dimension: str) -> tuple[str, ...]:
    d = C.DIMENSIONS.get(dimension)
    unrec = set(d.unrecorded) if d is not None and d.unrecorded else set(C._UNRECORDED)
    return tuple(g for g in groups_of(dimension) if g not in unrec)


# ------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------

def month_label(d) -> str:
    return pd.Timestamp(d).strftime("%Y-%m")


def run_label(first, last) -> str:
    """The period label of the months ``first`` to ``last`` (one month: ``YYYY-MM``)."""
    a, b = month_label(first), month_label(last)
    return a if a == b else f"{a}..{b}"


def _ordinal(label: str) -> int:
    y, m = label.split("-")
    return int(y) * 12 + int(m) - 1


def period_span(periods: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """First and last month (as month ordinals) of each period label; -1 for non-month periods."""
    p = periods.astype(str)
    uniq = pd.unique(p)
    lo, hi = {}, {}
    for u in uniq:
        try:
            if ".." in u:
                a, b = u.split("..")
                lo[u], hi[u] = _ordinal(a), _ordinal(b)
            else:
                lo[u] = hi[u] = _ordinal(u)
        except ValueError:
            lo[u] = hi[u] = -1
    return p.map(lo).to_numpy(np.int64), p.map(hi).to_numpy(np.int64)


# ------------------------------------------------------------------------------------------
# The system
# ------------------------------------------------------------------------------------------

@dataclass
class System:
    """The variables and relations of a set of cells.

    Attributes
    ----------
    vars : pandas.DataFrame
        One row per variable: :data:`KEY`, ``role`` (``cell``, ``total`` -- an all-patients or
        partition total added because a relation needs it --, ``remainder`` or ``complement``),
        ``shown`` (a cell some artefact publishes), ``value`` (its count; NaN where unknown),
        ``lb`` (its least possible value to a reader: 1 for a hidden shown cell, since zeros are
        published; 0 otherwise). The first rows are the input cells, in their order.
    A : scipy.sparse.csr_matrix
        Relations x variables; ``A @ true_values == 0``.
    kinds : numpy.ndarray
        The kind of each relation (``partition``, ``link:<family>``, ``everyone_else``,
        ``specialty``, ``area``, ``time``, ``subset``).
    n_input : int
        Number of input cells (the first rows of ``vars``).
    """

    vars: pd.DataFrame
    A: csr_matrix
    kinds: np.ndarray
    n_input: int
    links: tuple = ()

    def residual(self, values: np.ndarray | None = None) -> np.ndarray:
        v = self.vars["value"].to_numpy(float) if values is None else values
        return self.A @ np.nan_to_num(v)


class _Builder:
    def __init__(self, cells: pd.DataFrame, lookup: dict | None = None, support: list | None = None):
        self.lookup = lookup or {}
        t = cells.reset_index(drop=True).copy()
        for c in KEY:
            t[c] = t[c].astype(str)
        if "shown" not in t:
            t["shown"] = True
        t["role"] = "cell"
        self.n_input = len(t)
        if support:
            # counts the relations need as members, added after the input cells (as totals)
            s = pd.DataFrame(support, columns=KEY).assign(role="total", shown=False)
            s["value"] = [self.lookup.get(k, np.nan) for k in support]
            t = pd.concat([t, s], ignore_index=True)
        self.frames = [t[KEY + ["role", "shown", "value"]]]
        self.extra = []
        self.n = len(t)
        self.index = {k: i for i, k in enumerate(zip(*(t[c].to_numpy() for c in KEY)))}
        if len(self.index) != len(t):
            dup = t[t.duplicated(KEY, keep=False)].head(3)
            raise ValueError(f"cells must have unique keys; duplicated: {dup[KEY].to_dict('records')}")
        self.rows, self.cols, self.vals, self.kinds = [], [], [], []

    def new_var(self, key: tuple, role: str) -> int:
        i = self.index.get(key)
        if i is not None:
            return i
        i = self.n
        self.n += 1
        self.index[key] = i
        self.extra.append(key + (role, self.lookup.get(key, np.nan)))
        return i

    def relation(self, kind: str, plus: list[int], minus: list[int]):
        r = len(self.kinds)
        self.kinds.append(kind)
        for i in plus:
            self.rows.append(r)
            self.cols.append(i)
            self.vals.append(1.0)
        for i in minus:
            self.rows.append(r)
            self.cols.append(i)
            self.vals.append(-1.0)

    def system(self, links) -> System:
        ex = pd.DataFrame(self.extra, columns=KEY + ["role", "value"]).assign(shown=False)
        v = pd.concat([self.frames[0], ex], ignore_index=True) if len(ex) else self.frames[0].copy()
        v["shown"] = v["shown"].astype(bool)
        A = coo_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.kinds), self.n)).tocsr()
        A.sum_duplicates()
        v["lb"] = 0.0
        return System(v, A, np.array(self.kinds, dtype=object), self.n_input, tuple(links))


def _link_maps(family: str):
    """(fine dimension, map of its groups, coarse dimension, map of its groups) for a link family;
    intersections are expanded by the caller. Maps return None for groups outside the link."""
    if family == "imd_decile>imd_quintile":
        def fine(g):
            return _QUINTILE[(int(g) + 1) // 2] if g.isdigit() else ("Unmatched" if g == "Unmatched" else None)
        return [("imd_decile", fine, "imd_quintile", lambda g: g)]
    if family == "core20=imd_quintile":
        m = {"Core20": "Core20", "Not Core20": "Not Core20", "Unmatched": "Unmatched"}
        q = {"Q1 most deprived": "Core20", "Q2": "Not Core20", "Q3": "Not Core20", "Q4": "Not Core20",
             "Q5 least deprived": "Not Core20", "Unmatched": "Unmatched"}
        return [("core20", m.get, "imd_quintile", q.get)]
    if family == "sex_age>sex":
        return [("sex_age", lambda g: g.rsplit(" ", 1)[0], "sex", lambda g: g)]
    if family == "sex_age~age_band":
        return [("sex_age", lambda g: g.rsplit(" ", 1)[1], "age_band", lambda g: _AGE3.get(g, g))]
    if family == "intersection":
        out = []
        for name, d in C.DIMENSIONS.items():
            if d.kind == "intersection":
                for k, part in enumerate(d.parts):
                    out.append((name, (lambda g, k=k: g.split(", ")[k]), part, lambda g: g))
        return out
    raise ValueError(f"unknown link family {family!r}; known: {', '.join(LINK_FAMILIES)}")


def _area_support(cells: pd.DataFrame) -> list[tuple]:
    """Keys of the treatment-function cells that the area cells among ``cells`` are sums of and
    that ``cells`` lacks, in a fixed order."""
    spec = cells["specialty"].astype(str)
    sel = spec.str.startswith("c20p5:").to_numpy()
    if not sel.any():
        return []
    have = set(zip(*(cells[c].astype(str).to_numpy() for c in KEY)))
    out: dict = {}
    for m, p, s, d, g in zip(*(cells.loc[sel, c].astype(str).to_numpy() for c in KEY)):
        parsed = parse_area_key(s)
        for code in parsed[1]:
            k = (m, p, code, d, g)
            if k not in have:
                out[k] = None
    return list(out)


def relations(cells: pd.DataFrame, links=LINK_FAMILIES, lookup: dict | None = None) -> System:
    """Every relation between ``cells`` (see the module docstring).

    Parameters
    ----------
    cells : pandas.DataFrame
        :data:`KEY`, ``value`` (NaN where unknown, e.g. suppressed in a published file) and
        optionally ``shown`` (default True).
    links : sequence of str
        The link families that hold for these cells (:func:`verified_links`).
    lookup : dict, optional
        Key -> value of counts that are not in ``cells`` (the suppression knows the full data):
        the values of the totals the relations add. The audit has none.
    """
    b = _Builder(cells, lookup, _area_support(cells))
    t = b.frames[0]
    parents = cells["parent"].to_numpy(object) if "parent" in cells else None
    is_cell = np.ones(len(t), dtype=bool)
    meas, per, spec, dim, grp = (t[c].to_numpy() for c in KEY)
    comp = pd.Series(grp).str.startswith("~").to_numpy()

    # --- partitions of each dimension under the all-patients cell
    part = (dim != "all") & ~comp & is_cell
    if part.any():
        keys = pd.DataFrame({"m": meas[part], "p": per[part], "s": spec[part], "d": dim[part], "g": grp[part],
                             "i": np.flatnonzero(part)})
        for (m, p, s, d), g in keys.groupby(["m", "p", "s", "d"], sort=False):
            total = b.new_var((m, p, s, "all", "All"), "total")
            minus = list(g["i"])
            if not set(groups_of(d)) <= set(g["g"]):
                minus.append(b.new_var((m, p, s, d, "~remainder"), "remainder"))
            b.relation("partition", [total], minus)
    # --- links between dimensions
    by_mps = {}
    for i in np.flatnonzero(~comp):
        by_mps.setdefault((meas[i], per[i], spec[i], dim[i]), []).append(i)
    for family in links:
        for fine_dim, fmap, coarse_dim, cmap in _link_maps(family):
            for (m, p, s, d), idx in list(by_mps.items()):
                if d != fine_dim or (m, p, s, coarse_dim) not in by_mps:
                    continue
                cidx = by_mps[(m, p, s, coarse_dim)]
                left, right = {}, {}
                for i in idx:
                    lab = fmap(grp[i])
                    if lab is not None:
                        left.setdefault(lab, []).append(i)
                for i in cidx:
                    lab = cmap(grp[i])
                    if lab is not None:
                        right.setdefault(lab, []).append(i)
                fine_complete = set(groups_of(fine_dim)) <= {grp[i] for i in idx}
                coarse_complete = set(groups_of(coarse_dim)) <= {grp[i] for i in cidx}
                # in a fixed order: the order of relations and variables must not depend on string
                # hashing (a run's suppression would differ from the next run's)
                for lab in sorted(set(left) | set(right), key=str):
                    plus, minus = list(right.get(lab, [])), list(left.get(lab, []))
                    if not coarse_complete:
                        plus.append(b.new_var((m, p, s, coarse_dim, f"~remainder:{family}:{lab}"), "remainder"))
                    if not fine_complete:
                        minus.append(b.new_var((m, p, s, fine_dim, f"~remainder:{family}:{lab}"), "remainder"))
                    b.relation(f"link:{family}", plus, minus)
    # --- everyone else: All = g + ~g + the unrecorded groups
    for i in np.flatnonzero(comp & ~pd.Series(grp).str.startswith("~remainder").to_numpy()):
        target = grp[i][1:]
        unrec = [g for g in groups_of(dim[i]) if g not in recorded_groups(dim[i])]
        total = b.new_var((meas[i], per[i], spec[i], "all", "All"), "total")
        own = b.index.get((meas[i], per[i], spec[i], dim[i], target))
        minus = [i] + ([own] if own is not None else
                       [b.new_var((meas[i], per[i], spec[i], dim[i], target), "total")])
        idx = [b.index.get((meas[i], per[i], spec[i], dim[i], g)) for g in unrec]
        minus += [j for j in idx if j is not None]
        if len(idx) != sum(j is not None for j in idx):
            minus.append(b.new_var((meas[i], per[i], spec[i], dim[i], f"~remainder:unrecorded:~{target}"), "remainder"))
        b.relation("everyone_else", [total], minus)
    # --- a Core20PLUS5 area is the sum of its treatment functions
    area = pd.Series(spec).str.startswith("c20p5:").to_numpy()
    for i in np.flatnonzero(area):
        members = [b.index[(meas[i], per[i], code, dim[i], grp[i])] for code in parse_area_key(spec[i])[1]]
        b.relation("area", [int(i)], members)
    # --- specialties add up to all specialties
    notall = (spec != "all") & ~area
    if notall.any():
        keys = pd.DataFrame({"m": meas, "p": per, "d": dim, "g": grp, "s": spec, "i": np.arange(len(t))})[notall]
        for (m, p, d, g), k in keys.groupby(["m", "p", "d", "g"], sort=False):
            total = b.index.get((m, p, "all", d, g))
            if total is None:
                continue
            rem = b.new_var((m, p, "~other specialties", d, g), "remainder")
            b.relation("specialty", [total], list(k["i"]) + [rem])
    # --- time: a run of months is the sum of the shortest periods inside it
    lo, hi = period_span(pd.Series(per))
    flow = ~pd.Series(meas).isin(SNAPSHOTS).to_numpy() & (lo >= 0)
    if flow.any():
        keys = pd.DataFrame({"m": meas, "s": spec, "d": dim, "g": grp, "lo": lo, "hi": hi, "i": np.arange(len(t))})[flow]
        multi = keys.groupby(["m", "s", "d", "g"], sort=False)
        for (m, s, d, g), k in multi:
            if (k["hi"] > k["lo"]).sum() == 0 or len(k) < 2:
                continue
            k = k.sort_values(["lo", "hi"])
            L, H, I = k["lo"].to_numpy(), k["hi"].to_numpy(), k["i"].to_numpy()
            for j in np.flatnonzero(H > L):
                inside = np.flatnonzero((L >= L[j]) & (H <= H[j]) & ~((L == L[j]) & (H == H[j])))
                if not len(inside):
                    continue
                # the shortest periods inside: those containing no other period inside
                minimal = [a for a in inside if not any((L[c] >= L[a]) & (H[c] <= H[a]) & (c != a) for c in inside)]
                chosen, end = [], -1
                for a in sorted(minimal, key=lambda a: (L[a], H[a])):
                    if L[a] > end:
                        chosen.append(a)
                        end = H[a]
                covered = sum(H[a] - L[a] + 1 for a in chosen)
                minus = [int(I[a]) for a in chosen]
                if covered < H[j] - L[j] + 1:
                    minus.append(b.new_var((m, per[I[j]], s, d, "~remainder:time:" + g), "remainder"))
                b.relation("time", [int(I[j])], minus)
    # --- subsets: parent = part + complement
    for i in range(len(t)):
        parent = SUBSETS.get(meas[i]) or (parents[i] if parents is not None and i < len(parents) else None)
        if not isinstance(parent, str) or not parent:
            continue
        j = b.index.get((parent, per[i], spec[i], dim[i], grp[i]))
        if j is None:
            continue
        c = b.new_var((f"{parent}-{meas[i]}", per[i], spec[i], dim[i], grp[i]), "complement")
        b.relation("subset", [j], [i, c])
    return b.system(links)


def fill_values(system: System) -> np.ndarray:
    """Values of the added variables (totals, remainders, complements) from the cells', where
    relations determine them (repeated substitution); NaN where they do not."""
    from qi_equity.publication.bounds import substitute

    v = system.vars["value"].to_numpy(float)
    known = ~np.isnan(v)
    out, k = substitute(system.A, v, known)
    return np.where(k, out, np.nan)


def verified_links(cells: pd.DataFrame, families=LINK_FAMILIES) -> tuple[str, ...]:
    """The link families that hold on these (full-data) cells: each family's relations are built
    alone and kept only when every one of them is exactly satisfied. A family that does not hold
    (a coding the contract did not foresee) is left out rather than asserted."""
    ok = []
    for f in families:
        s = relations(cells, links=(f,))
        rows = np.flatnonzero(np.char.startswith(s.kinds.astype(str), f"link:{f}"))
        if not len(rows):
            continue
        v = fill_values(s)
        A = s.A[rows]
        involved = np.asarray(abs(A) @ np.isnan(v).astype(float)).ravel() == 0
        if np.allclose((A @ np.nan_to_num(v))[involved], 0):
            ok.append(f)
    return tuple(ok)
