"""What a reader can work out about unpublished counts: exact values and linear-programming bounds.

Given the relations of a set of cells (:func:`qi_equity.publication.cells.relations`) and the
values that are published, a reader can (1) **substitute**: a relation with one unknown gives
it exactly, which may leave another relation with one unknown, and so on; and (2) **bound**:
each remaining unknown lies between the minimum and maximum of itself over every non-negative
solution of the relations (a linear programme; hidden published cells are at least 1, since
zeros are published). Both are done here for the suppression (which knows the true values) and
for the audit (which reads only what was published).

A hidden count is **exposed** when its range holds fewer than ``threshold - 1`` whole numbers
(narrower than the 1 to ``threshold - 1`` a suppression symbol stands for) and may be small (it
reaches 1 and starts below the threshold) -- determined exactly is the narrowest case. A count
determined as zero is not exposed: zeros are published.

References
----------
.. [1] Hundepool A, et al. (2012). *Statistical Disclosure Control*. Wiley, section 4.3
       (the attacker problem: bounds of a suppressed cell by linear programming; protection
       intervals).
.. [2] Huangfu Q, Hall JAJ (2018). "Parallelizing the dual revised simplex method."
       *Mathematical Programming Computation* 10:119-142 (HiGHS, the solver behind
       ``scipy.optimize.linprog(method="highs")``).
.. [3] Achterberg T, Bixby RE, Gu Z, Rothberg E, Weninger D (2020). "Presolve reductions in mixed
       integer programming." *INFORMS Journal on Computing* 32(2):473-506 (bound tightening
       from single constraints).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csc_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components


_HIGHS_QUIET = False


def _highs():
    """A HiGHS instance; the first of a process is made with standard output closed, since HiGHS
    prints a licence banner on it at construction, before any option can be set."""
    global _HIGHS_QUIET
    import highspy

    if _HIGHS_QUIET:
        return highspy.Highs()
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _HIGHS_QUIET = True
    return h


class _Programme:
    """One linear programme ``B x = b``, ``lo <= x <= hi`` kept in HiGHS between objectives: each
    new objective starts from the last optimal basis (a warm start), which is what makes the
    hundreds of minimum/maximum programmes of a suppression affordable."""

    def __init__(self, B, b, lo, hi):
        import highspy

        self.h = h = _highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        h.setOptionValue("simplex_strategy", 4)  # primal: a new objective keeps the basis primal feasible
        C = csc_matrix(B)
        C.sort_indices()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = C.shape[1], C.shape[0]
        lp.col_cost_ = np.zeros(C.shape[1])
        lp.col_lower_, lp.col_upper_ = np.asarray(lo, float), np.asarray(hi, float)
        lp.row_lower_ = lp.row_upper_ = np.asarray(b, float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = C.indptr.astype(np.int32)
        lp.a_matrix_.index_ = C.indices.astype(np.int32)
        lp.a_matrix_.value_ = C.data.astype(float)
        h.passModel(lp)
        self.n = C.shape[1]
        self.idx = np.arange(self.n, dtype=np.int32)
        self.optimal = highspy.HighsModelStatus.kOptimal
        self.solved = 0

    def row_duals(self) -> np.ndarray:
        """The last optimum's row duals (one per relation)."""
        return np.asarray(self.h.getSolution().row_dual)

    def solve(self, obj: np.ndarray) -> np.ndarray | None:
        """Minimise ``obj @ x``: the solution, or None when there is none."""
        self.h.changeColsCost(self.n, self.idx, np.asarray(obj, float))
        self.h.run()
        self.solved += 1
        if self.h.getModelStatus() != self.optimal:
            return None
        return np.asarray(self.h.getSolution().col_value)


@dataclass
class Bounds:
    """Per variable: ``lo``, ``hi`` (NaN for published ones; ``hi`` may be inf), ``determined``
    (found by substitution), ``exposed`` (see the module docstring) and ``inner`` (``lo``/``hi``
    are values the variable can take, not its extremes: it was certified protected)."""

    lo: np.ndarray
    hi: np.ndarray
    determined: np.ndarray
    exposed: np.ndarray
    lp_solved: int = 0
    inner: np.ndarray | None = None


def substitute(A: csr_matrix, values: np.ndarray, known: np.ndarray, via: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Values a reader works out by repeated substitution (a relation with one unknown gives it).

    Returns ``(values, known)`` extended with every determined variable. ``via``, when given (an
    integer array, one per variable), receives the relation that gave each determined variable.
    """
    v = np.where(known, values, 0.0).astype(float)
    known = known.copy()
    absA = abs(A)
    while True:
        unk = (~known).astype(float)
        n_unknown = np.asarray(absA @ unk).ravel()
        rows = np.flatnonzero(n_unknown == 1)
        if not len(rows):
            break
        sub = A[rows]
        s = sub @ np.where(known, v, 0.0)
        B = sub.multiply(unk[None, :]).tocsr()
        B.eliminate_zeros()
        col = B.indices[B.indptr[:-1]]
        coef = B.data[B.indptr[:-1]]
        # a variable may be the lone unknown of several relations: take the first (they agree
        # when the data are consistent)
        col, first = np.unique(col, return_index=True)
        v[col] = -s[first] / coef[first]
        known[col] = True
        if via is not None:
            via[col] = rows[first]
    return v, known


def _default_cap(v: np.ndarray, known: np.ndarray) -> float:
    """An upper bound for every variable: ten times the largest known value plus 1000."""
    kv = np.abs(v[known]) if known.any() else np.zeros(1)
    return 10.0 * float(kv.max(initial=0.0)) + 1000.0


def _unknowns(A: csr_matrix, v: np.ndarray, known: np.ndarray):
    """The system of the unknown variables: ``cols`` (their indices), ``B`` (the relations that
    hold one, restricted to them), ``rhs``, ``rows`` (those relations' indices in ``A``) and each
    relation's and variable's connected component (``rlab``, ``vlab``, ``ncomp``)."""
    from scipy.sparse import bmat

    cols = np.flatnonzero(~known)
    B = A[:, cols].tocsr()
    rhs = -(A @ np.where(known, v, 0.0))
    rows = np.flatnonzero(np.diff(B.indptr) > 0)
    B = B[rows].tocsr()
    m = len(rows)
    ncomp, lab = connected_components(bmat([[None, B], [B.T, None]]).tocsr(), directed=False)
    return cols, B, rhs[rows], rows, lab[:m], lab[m:], ncomp


def binding_relations(A: csr_matrix, values: np.ndarray, known: np.ndarray, lb: np.ndarray, targets,
                      cap: float | None = None) -> dict:
    """For each target variable, the relations that hold its range: those with a non-zero dual
    at the minimum or the maximum of the variable (the LP certificate of its bound [1]_).
    Publishing less in one of them is what can widen the range; a degenerate optimum may name
    fewer relations than bind, so callers keep another way to choose.

    Returns ``{target: array of row indices of A}`` (empty for a target found by substitution),
    with the relations that gave, by substitution, any value in a binding relation.
    """
    via = np.full(A.shape[1], -1, dtype=np.int64)
    v, k2 = substitute(A, values, known, via)
    cols = np.flatnonzero(~k2)
    out = {int(t): np.zeros(0, dtype=np.int64) for t in targets}
    want = [int(t) for t in targets if not k2[t]]
    if not want or not len(cols):
        return out
    if cap is None:
        cap = _default_cap(v, k2)
    cols, B, rhs, rows_any, rlab, vlab, _ = _unknowns(A, v, k2)
    # only the components (of unknowns linked by relations) that hold a target
    pos_all = np.full(A.shape[1], -1)
    pos_all[cols] = np.arange(len(cols))
    held = vlab[pos_all[want]]
    keep_c, keep_r = np.isin(vlab, held), np.isin(rlab, held)
    cols, rows_any, rhs = cols[keep_c], rows_any[keep_r], rhs[keep_r]
    B = B[keep_r][:, keep_c]
    prog = _Programme(B, rhs, lb[cols].astype(float), np.full(len(cols), cap))
    pos = np.full(A.shape[1], -1)
    pos[cols] = np.arange(len(cols))
    covered: dict = {}  # variable -> the rows found for a target whose chain holds it
    for t in want:
        if t in covered:  # held by the same chain as a target already solved
            out[t] = covered[t]
            continue
        rows = set()
        for sign in (1.0, -1.0):
            e = np.zeros(len(cols))
            e[pos[t]] = sign
            if prog.solve(e) is not None:
                rows.update(rows_any[np.abs(prog.row_duals()) > 1e-9].tolist())
        # a binding relation may hold a value worked out by substitution (a 12-month total
        # given back by its partition): the relations that gave it bind too
        todo = list(rows)
        while todo:
            r = todo.pop()
            for j in A.indices[A.indptr[r]:A.indptr[r + 1]]:
                g = via[j]
                if g >= 0 and g not in rows:
                    rows.add(int(g))
                    todo.append(int(g))
        out[t] = np.array(sorted(rows), dtype=np.int64)
        for r in out[t]:
            for j in A.indices[A.indptr[r]:A.indptr[r + 1]]:
                covered.setdefault(int(j), out[t])
    return out


def _exposed(lo: np.ndarray, hi: np.ndarray, threshold: int) -> np.ndarray:
    lo_i = np.ceil(lo - 1e-6)
    hi_i = np.floor(hi + 1e-6)
    width = hi_i - lo_i + 1
    return (width < threshold - 1) & (hi_i >= 1) & (lo_i <= threshold - 1)


def _single_relation(c: np.ndarray, r: float, lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact range of each variable of one equality ``c @ x == r`` with box bounds: each other
    variable moves freely in its box, so the projection is interval arithmetic."""
    lo_t = np.where(c > 0, c * lb, c * ub)   # least value of each term
    hi_t = np.where(c > 0, c * ub, c * lb)
    s_lo, s_hi = lo_t.sum(), hi_t.sum()
    # c_i x_i = r - sum of the others
    a = r - (s_hi - hi_t)
    b = r - (s_lo - lo_t)
    xlo = np.where(c > 0, a / c, b / c)
    xhi = np.where(c > 0, b / c, a / c)
    return np.maximum(xlo, lb), np.minimum(xhi, ub)


def propagate(B: csr_matrix, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, rounds: int = 30
              ) -> tuple[np.ndarray, np.ndarray]:
    """Outer bounds of ``B x == b``, ``lo <= x <= hi`` by constraint propagation: each relation
    bounds each of its variables by interval arithmetic over the others' current bounds,
    repeated until nothing tightens (bound tightening, as LP presolvers do [3]_). The true range
    of a variable lies inside the result, so a range narrow here is narrow in fact -- exposed
    without solving a programme for it.
    """
    B = csr_matrix(B)
    lo, hi = np.asarray(lo, float).copy(), np.asarray(hi, float).copy()
    rows = np.repeat(np.arange(B.shape[0]), np.diff(B.indptr))
    cols, a = B.indices, B.data
    for _ in range(rounds):
        t_lo = np.where(a > 0, a * lo[cols], a * hi[cols])     # least value of each term
        t_hi = np.where(a > 0, a * hi[cols], a * lo[cols])
        with np.errstate(invalid="ignore"):
            s_lo = np.bincount(rows, t_lo, minlength=B.shape[0])
            s_hi = np.bincount(rows, t_hi, minlength=B.shape[0])
            # a_j x_j = b - (sum of the other terms)
            rest_lo, rest_hi = s_lo[rows] - t_lo, s_hi[rows] - t_hi
            u = b[rows] - rest_hi
            w = b[rows] - rest_lo
            x_lo = np.where(a > 0, u / a, w / a)
            x_hi = np.where(a > 0, w / a, u / a)
        x_lo = np.where(np.isfinite(x_lo), x_lo, -np.inf)
        x_hi = np.where(np.isnan(x_hi), np.inf, x_hi)
        new_lo = lo.copy()
        new_hi = hi.copy()
        np.maximum.at(new_lo, cols, x_lo)
        np.minimum.at(new_hi, cols, x_hi)
        if np.allclose(new_lo, lo, atol=1e-9, rtol=0) and np.allclose(new_hi, hi, atol=1e-9, rtol=0):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


def bounds(A: csr_matrix, values: np.ndarray, known: np.ndarray, lb: np.ndarray, threshold: int,
           check: np.ndarray | None = None, truth: np.ndarray | None = None, cap: float | None = None,
           exact: bool | int = True, cache: dict | None = None) -> Bounds:
    """Exact values and LP bounds of every unknown variable.

    Parameters
    ----------
    A : relations x variables, ``A @ x == 0``.
    values : published values (ignored where not ``known``).
    known : which variables are published.
    lb : least possible value of each variable (1 for a hidden published cell, else 0).
    threshold : counts from 1 to ``threshold - 1`` are the ones protected.
    check : optional mask of the variables whose bounds are wanted (default: every unknown one).
    truth : the true values, when known (the suppression): one more feasible point.
    cap : an upper bound for every variable (default: ten times the largest published value
        plus 1000), which keeps every programme bounded; a range reaching it is "unbounded".
    exact : solve each variable not certified by the shared solutions on its own (True: the
        audit); an integer k solves k variables of each component so, and counts any variable
        still not certified as exposed if it may be small -- conservative, and faster (the
        suppression's working rounds); False is k = 0.
    cache : a dict kept between calls on the same relations (the suppression's rounds): a
        component whose variables, relations and right-hand sides have not changed is not
        solved again.

    Notes
    -----
    A component of the unknowns that one relation alone ties is bounded exactly by interval
    arithmetic. Larger components are solved by linear programming: first the minimum and
    maximum of the sum of their variables (and the true values, when given) -- every variable
    whose values across these solutions already span ``threshold - 2`` or more is certified
    protected (its range is at least that wide) -- and then, for each variable left, its own
    minimum and maximum. Certified ranges are inner bounds (``lo``/``hi`` are values it can
    take, the true range may be wider). Before any of this, constraint propagation
    (:func:`propagate`) bounds every variable from outside: one whose outer range is already
    narrow (and does not start at 0, where it may be a determined zero) is exposed without a
    programme, its ``lo``/``hi`` the outer bounds. All other ranges are exact.
    """
    n = A.shape[1]
    v, k2 = substitute(A, values, known)
    determined = k2 & ~known
    lo = np.full(n, np.nan)
    hi = np.full(n, np.nan)
    lo[determined] = hi[determined] = v[determined]
    unknown = ~k2
    want = unknown if check is None else (unknown & check)
    solved = 0
    unproven = np.zeros(n, dtype=bool)
    inner = np.zeros(n, dtype=bool)
    if cap is None:
        cap = _default_cap(v, k2)
    if unknown.any() and want.any():
        cols, B, rhs, rows_any, rlab, vlab, ncomp = _unknowns(A, v, k2)
        order_r = np.argsort(rlab, kind="stable")
        order_v = np.argsort(vlab, kind="stable")
        r_start = np.searchsorted(rlab[order_r], np.arange(ncomp + 1))
        v_start = np.searchsorted(vlab[order_v], np.arange(ncomp + 1))
        wanted_cols = want[cols]
        lb_u = lb[cols].astype(float)
        ub_u = np.full(len(cols), cap)
        tr = truth[cols] if truth is not None else None
        n_rel = np.bincount(rlab, minlength=ncomp)
        comps = np.unique(vlab[wanted_cols])
        multi = []
        for c in comps:
            vi = order_v[v_start[c]:v_start[c + 1]]
            ri = order_r[r_start[c]:r_start[c + 1]]
            var = cols[vi]
            if not len(ri):
                lo[var], hi[var] = lb_u[vi], np.inf
                continue
            if len(ri) == 1:
                row = B[ri[0]]
                coef = np.zeros(len(vi))
                pos = {j: k for k, j in enumerate(vi)}
                for j, a in zip(row.indices, row.data):
                    coef[pos[j]] = a
                a, b = _single_relation(coef, float(rhs[ri[0]]), lb_u[vi], ub_u[vi])
                lo[var], hi[var] = a, np.where(b >= cap - 1e-6, np.inf, b)
                continue
            if cache is not None:
                sig = (cols[vi].tobytes(), rows_any[ri].tobytes(), np.round(rhs[ri], 6).tobytes(),
                       lb_u[vi].tobytes(), cap, bool(exact) if isinstance(exact, bool) else int(exact))
                hit = cache.get(sig)
                if hit is not None:
                    lo[var], hi[var], unproven[var], inner[var] = hit
                    continue
            multi.append(c)
        if multi:
            # every multi-relation component in one programme: they share no variable, so a
            # separable objective is optimised in each independently
            multi = np.array(multi)
            vi = np.concatenate([order_v[v_start[c]:v_start[c + 1]] for c in multi])
            ri = np.concatenate([order_r[r_start[c]:r_start[c + 1]] for c in multi])
            comp_of = vlab[vi]
            var = cols[vi]
            Bc = B[ri][:, vi].tocsr()
            bc = rhs[ri]
            bnds = np.column_stack([lb_u[vi], ub_u[vi]])
            wanted = wanted_cols[vi]

            prog = _Programme(Bc, bc, bnds[:, 0], bnds[:, 1])
            solve = prog.solve

            pts = [tr[vi]] if tr is not None and not np.isnan(tr[vi]).any() else []
            # solutions found in earlier calls on the same relations: hiding more cells only relaxes
            # the programme (a hidden value may still take its old one), so they are still feasible
            # and what they certified stays certified
            reuse = truth is not None and cache is not None
            if reuse:
                pts += [q[var] for q in cache.get("points", [])]
            found = []

            def keep(x):
                if reuse and x is not None:
                    full = np.nan_to_num(truth, nan=0.0).copy()
                    full[var] = x
                    found.append(full)
                return x

            def certify(P):
                # certified: the solutions already span threshold - 2 (range at least threshold - 1
                # wide); or one of them is at least 2 * threshold - 3 (an exposed range is narrower
                # than threshold - 1 and starts below threshold, so it ends below that)
                return (((P.max(axis=0) - P.min(axis=0)) >= threshold - 2 - 1e-6)
                        | (P.max(axis=0) >= 2 * threshold - 3 - 1e-6))

            certified = certify(np.vstack(pts)) if pts else np.zeros(len(vi), dtype=bool)
            # narrow already by propagation: exposed whatever the programme says (outer bounds)
            o_lo, o_hi = propagate(Bc, bc, bnds[:, 0], bnds[:, 1])
            # (a range from 0 may be 0 alone -- determined zero, not exposed: left to the programme)
            surely = wanted & ~certified & _exposed(o_lo, o_hi, threshold) & (o_lo > 0.5)
            if surely.any():
                lo[var[surely]], hi[var[surely]] = o_lo[surely], o_hi[surely]
                wanted = wanted & ~surely
            focus = wanted & ~certified
            rng = np.random.default_rng(20261202)
            for it in range(16 if focus.any() else 0):
                # first the sum of the uncertain variables up and down, then random signs: each
                # optimum a vertex pushing a random half of them up and the rest down, so one
                # programme moves many variables to an end of their ranges at once
                if it == 0:
                    ws = [focus * 1.0, focus * -1.0]
                else:
                    ws = [focus * rng.choice([-1.0, 1.0], len(vi)) * rng.uniform(0.5, 1.5, len(vi))]
                for w in ws:
                    x = keep(solve(w))
                    if x is not None:
                        pts.append(x)
                if not pts:
                    break
                before = int(focus.sum())
                certified = certify(np.vstack(pts))
                focus = wanted & ~certified
                if not focus.any() or (it >= 4 and before - int(focus.sum()) < max(2, before // 50)):
                    break  # done, or random vertices no longer pay: solve the rest one at a time
            if pts:
                P = np.vstack(pts)
                pmin, pmax = P.min(axis=0), P.max(axis=0)
                lo[var], hi[var] = pmin, pmax
                inner[var] = True
                if surely.any():
                    lo[var[surely]], hi[var[surely]] = o_lo[surely], o_hi[surely]
                    inner[var[surely]] = False
                left = wanted & ~certified
                if left.any():
                    # one variable of each component at a time, all components in one programme
                    rank = np.zeros(len(vi), dtype=np.int64)
                    idx = np.flatnonzero(left)
                    if len(idx):
                        order = np.lexsort((idx, comp_of[idx]))
                        idx = idx[order]
                        firsts = np.r_[True, comp_of[idx][1:] != comp_of[idx][:-1]]
                        grp_start = np.maximum.accumulate(np.where(firsts, np.arange(len(idx)), 0))
                        rank[idx] = np.arange(len(idx)) - grp_start
                        rounds = int(rank[idx].max()) + 1
                        if exact is not True:
                            rounds = min(rounds, int(exact))
                        for k in range(rounds):
                            pick = idx[rank[idx] == k]
                            # only the components with a variable to solve this round
                            # one programme for all: components without a pick have a zero objective
                            # and stay where the warm start leaves them
                            e = np.zeros(len(vi))
                            e[pick] = 1.0
                            # the maximum first: it often certifies the variable without the minimum
                            x2 = keep(solve(-e))
                            inner[var[pick]] = False
                            if x2 is not None:
                                hi[var[pick]] = x2[pick]
                                done_ = ((x2[pick] - pmin[pick]) >= threshold - 2 - 1e-6) | (x2[pick] >= 2 * threshold - 3 - 1e-6)
                            else:
                                done_ = np.zeros(len(pick), dtype=bool)
                            need = ~done_
                            if need.any():
                                e2 = np.zeros(len(vi))
                                e2[pick[need]] = 1.0
                                x1 = keep(solve(e2))
                                if x1 is not None:
                                    lo[var[pick[need]]] = x1[pick[need]]
                            # a maximum that certifies leaves the minimum unknown: inner bounds
                            inner[var[pick[done_]]] = True
                        rest = idx[rank[idx] >= rounds]
                        # not proven protected and possibly small: counted as exposed
                        unproven[var[rest[pmin[rest] < 2 * threshold]]] = True
            solved += prog.solved
            if reuse and found:
                cache["points"] = (cache.get("points", []) + found[:12] + found[-4:])[-48:]
            hi[var] = np.where(hi[var] >= cap - 1e-6, np.inf, hi[var])
            if cache is not None:
                for c in multi:
                    vi_c = order_v[v_start[c]:v_start[c + 1]]
                    ri_c = order_r[r_start[c]:r_start[c + 1]]
                    sig = (cols[vi_c].tobytes(), rows_any[ri_c].tobytes(), np.round(rhs[ri_c], 6).tobytes(),
                           lb_u[vi_c].tobytes(), cap, bool(exact) if isinstance(exact, bool) else int(exact))
                    vv = cols[vi_c]
                    cache[sig] = (lo[vv].copy(), hi[vv].copy(), unproven[vv].copy(), inner[vv].copy())
    exposed = np.zeros(n, dtype=bool)
    ok = ~np.isnan(lo)
    exposed[ok] = _exposed(lo[ok], hi[ok], threshold)
    # a count determined as zero is not exposed (zeros are published)
    exposed &= ~((np.abs(lo) < 1e-6) & (np.abs(hi) < 1e-6))
    exposed |= unproven
    return Bounds(lo, hi, determined, exposed, solved, inner)
