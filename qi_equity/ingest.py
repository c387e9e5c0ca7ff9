"""Large extracts: aggregate to the monthly form with DuckDB over Parquet (or CSV).

The national elective waiting list is about 7.5 million pathways. Loading that into pandas
needs several GB; DuckDB (embedded, no server) streams it from Parquet a batch of providers at
a time, deriving each pathway's fields as small integers, and numpy aggregates each batch to
month x provider x specialty x equity group (bincounts; one sort per grouping set for medians)
in bounded memory. This computes exactly what :func:`qi_equity.measures.monthly_measures`
computes from a pandas frame (same derived fields, same measures, same completion of empty
months); a test checks the two paths agree on the sample collaborative.

:func:`aggregate_extract` picks the path by what the input holds, not its size on disk: DuckDB
for a folder, a glob, or more than :data:`AUTO_DUCKDB_ROWS` pathways (counted from Parquet
footers, estimated for CSV); pandas otherwise (``engine=`` forces one).

The large-extract path does not run great-expectations row validation (that would load
every row into pandas); run ``qi-equity validate`` on each provider's file, or validate a
sample. It still refuses what would break the measures: an empty ``provider_code`` or
``specialty`` is an error naming the column and the number of rows.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.data.io import AGGREGATE_COLUMNS

DIMENSIONS = ("all", "sex_age", "ethnic_group", "imd_quintile")
_NEVER = 1_000_000  # month index of a date that is missing (far after any window)
SNAPSHOT_MEASURES = ("waiting_list", "waiting_over_18")  # month-end counts, from running sums


def _source(path: str | Path) -> str:
    p = str(path)
    if Path(p).is_dir():
        p = str(Path(p) / "**" / "*.parquet")
    if p.endswith(".csv"):
        return f"read_csv('{p}', header=true, all_varchar=true)"
    return f"read_parquet('{p}', union_by_name=true)"


def _quote(v) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _sql(src: str, months: pd.DatetimeIndex, columns: set[str], by_provider: bool, labels: dict) -> str:
    """The pathway query: one row per pathway with the fields every measure needs, as small
    integers (provider and specialty as DuckDB ENUM codes; equity groups as their index in
    ``labels``; dates as month indices from the window's first month, a missing date as
    ``_NEVER``). DuckDB reads and derives; :func:`_aggregate_batch` aggregates in numpy.
    The derived fields are those of :func:`qi_equity.data.contract.derive`."""
    first = months[0].date()
    G = {v: i for i, v in enumerate(labels["qi_group"])}
    age = "TRY_CAST(age AS INTEGER)" if "age" in columns else "NULL"
    band = "age_band" if "age_band" in columns else "NULL"
    ages = ("0-15", "16-64", "65+")
    age_i = (f"CASE WHEN {age} IS NOT NULL THEN (CASE WHEN {age} < 16 THEN 0 WHEN {age} <= 64 THEN 1 ELSE 2 END) "
             f"WHEN {band} = '0-15' THEN 0 WHEN {band} IN ('16-29','30-44','45-64') THEN 1 ELSE 2 END")
    sexes = list(dict.fromkeys(C.SEX_LABEL.values()))
    if "Not known" not in sexes:
        sexes.append("Not known")
    sex_i = ("CASE " + " ".join(f"WHEN sex = {_quote(k)} THEN {sexes.index(v)}" for k, v in C.SEX_LABEL.items())
             + f" ELSE {sexes.index('Not known')} END")
    sex_age_codes = "[" + ", ".join(str(G[f"{s} {a}"]) for s in sexes for a in ages) + "]"
    sex_age = f"{sex_age_codes}[({sex_i}) * 3 + ({age_i}) + 1]"
    eth = ("CASE " + " ".join(f"WHEN ethnic_category = {_quote(k)} THEN {G[v]}"
                               for k, v in C.ETHNIC_CATEGORY_GROUP.items()) + f" ELSE {G['Not known']} END")
    q = "CEIL(TRY_CAST(imd_decile AS DOUBLE) / 2)"
    quint = {1: "Q1 most deprived", 2: "Q2", 3: "Q3", 4: "Q4", 5: "Q5 least deprived"}
    imd = ("CASE " + " ".join(f"WHEN {q} = {k} THEN {G[v]}" for k, v in quint.items())
           + f" ELSE {G['Unmatched']} END")
    lo = f"DATE '{first}'"

    def month_index(col):
        return (f"COALESCE(CAST(date_diff('month', {lo}, CAST(date_trunc('month', {col}) AS DATE)) AS INTEGER), "
                f"{_NEVER})")

    return f"""
WITH base AS (
  SELECT CAST(provider_code AS qi_provider) AS provider_code,
         CAST(CAST(specialty AS VARCHAR) AS qi_specialty) AS specialty,
         CAST(referral_date AS DATE) AS ref, CAST(first_appointment_date AS DATE) AS fa,
         CAST(clock_stop_date AS DATE) AS cs, outcome, TRY_CAST(dna_count AS INTEGER) AS dna,
         {sex_age} AS sex_age, {eth} AS ethnic_group, {imd} AS imd_quintile
  FROM {src}
)
SELECT {"enum_code(provider_code) AS provider_code, " if by_provider else ""}enum_code(specialty) AS specialty,
       sex_age, ethnic_group, imd_quintile,
       {month_index("ref")} AS ref_t, {month_index("fa")} AS fa_t, {month_index("cs")} AS cs_t,
       -- month-end waits are whole days: over 18 weeks from the first month end at least
       -- 127 days after referral (date_diff > 126)
       {month_index("ref + INTERVAL 127 DAY")} AS o18_t,
       COALESCE(outcome IN ('treated', 'removed'), false) AS completed,
       COALESCE(outcome = 'removed', false) AS removed,
       COALESCE(CAST(date_diff('day', ref, cs) AS INTEGER), 0) AS days,
       COALESCE(CAST(date_diff('day', ref, fa) AS INTEGER), 0) AS fa_days,
       COALESCE(dna > 0, false) AS dna
FROM base
"""


def monthly_measures_duckdb(path: str | Path, census_date, months: int = 36, by_specialty: bool = False,
                            by_provider: bool = True, memory_limit: str = "400MB", threads: int | None = None,
                            batch_rows: int = 450_000) -> pd.DataFrame:
    """The aggregate form computed by DuckDB from a Parquet/CSV file, folder or glob.

    Same columns and values as :func:`qi_equity.measures.monthly_measures` for the
    dimensions ``all, sex_age, ethnic_group, imd_quintile``; one block per provider.

    Parameters
    ----------
    memory_limit : str
        DuckDB's memory limit (it spills to disk beyond it where it can).
    batch_rows : int
        Pathways per batch: a batch's pathways (one row of small integers each) are held in
        memory while numpy aggregates them, so large extracts are processed whole providers at
        a time, packed into batches of about this many rows (a larger provider is a batch of its
        own); DuckDB reads the next batch while numpy aggregates the last two. With one Parquet
        row group per provider each batch reads only its own rows. The defaults keep a
        7.5-million-pathway extract under 1 GB peak resident memory (benchmarks/RESULTS.md).
    """
    import duckdb

    census = pd.Timestamp(census_date)
    win = measures.window(census, months)
    import tempfile

    spill = Path(tempfile.gettempdir()) / "qi-equity-duckdb"  # never spill into the working folder
    con = duckdb.connect(config={"memory_limit": memory_limit, "preserve_insertion_order": False,
                                 "temp_directory": str(spill), **({"threads": threads} if threads else {})})
    try:
        src = _source(path)
        cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
        try:  # read Parquet footers once, not once per batch (the reader is loaded by now)
            con.execute("SET parquet_metadata_cache = true")
        except duckdb.Error:  # a CSV source
            pass
        missing = set(C.REQUIRED_COLUMNS) - cols
        if missing:
            raise ValueError(f"{path}: required column(s) missing: {sorted(missing)}")
        counts = con.execute(f"SELECT provider_code, COUNT(*), COUNT(*) FILTER (WHERE specialty IS NULL) "
                             f"FROM {src} GROUP BY 1 ORDER BY 1").fetchall()
        sizes = [(code, n) for code, n, _ in counts]
        empty_spec = sum(k for _, _, k in counts)
        for column, n in (("provider_code", sum(n for code, n in sizes if code is None)), ("specialty", empty_spec)):
            if n:  # never drop pathways silently: the contract requires both
                raise ValueError(f"{path}: column '{column}': must not be empty -- {n:,} row(s) fail")
        provs = [r[0] for r in sizes]
        specs = [r[0] for r in con.execute(
            f"SELECT DISTINCT CAST(specialty AS VARCHAR) FROM {src} WHERE specialty IS NOT NULL ORDER BY 1").fetchall()]
        # categories in the order rows are sorted in (text order; measures in their own order)
        labels = {"qi_provider": provs, "qi_specialty": sorted(set(specs) | {"all"}),
                  "qi_dimension": sorted(DIMENSIONS),
                  "qi_group": sorted({g for d in DIMENSIONS for g in C.DIMENSIONS[d].groups}),
                  "qi_measure": list(measures.MEASURES)}
        for name in ("qi_provider", "qi_specialty"):
            con.execute(f"CREATE TYPE {name} AS ENUM ({', '.join(_quote(v) for v in labels[name])})")
        parts = []
        batches: list = [None]
        if by_provider:
            batches = [[]]
            rows = 0
            for code, n in sizes:
                if batches[-1] and rows + n > batch_rows:
                    batches.append([])
                    rows = 0
                batches[-1].append(code)
                rows += n

        def finish(pw):
            # batches hold whole providers in code order, so completing each batch on its own
            # keeps the global row order with small temporaries
            return _complete_months(_aggregate_batch(pw, win, labels, by_specialty, by_provider), win, labels,
                                    by_provider)

        # numpy aggregates and completes batches in threads while DuckDB reads the next batch
        # (sorting, bincounts and DuckDB release the GIL)
        from concurrent.futures import ThreadPoolExecutor

        finishers = max(1, min(2, os.cpu_count() or 1))

        with ThreadPoolExecutor(max_workers=finishers, thread_name_prefix="qi-equity-batch") as pool:
            pending: list = []
            for batch in batches:
                sub = src if batch is None else (
                    f"(SELECT * FROM {src} WHERE provider_code IN ({', '.join(_quote(p) for p in batch)}))")
                pw = con.execute(_sql(sub, win, cols, by_provider, labels)).fetchnumpy()
                if len(pending) >= finishers:  # bounded: at most `finishers` batches in memory at once
                    parts.append(pending.pop(0).result())
                pending.append(pool.submit(finish, pw))
                del pw
            parts.extend(f.result() for f in pending)
    finally:
        con.close()
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts
    if not by_provider:
        out.insert(1, "provider_code", pd.Categorical([provs[0] if len(provs) == 1 else ""] * len(out)))
    return out[AGGREGATE_COLUMNS]


def _aggregate_batch(pw: dict, months: pd.DatetimeIndex, labels: dict, by_specialty: bool,
                     by_provider: bool) -> pd.DataFrame:
    """Every measure of a batch from its pathways, with numpy: the rows the aggregation gives
    before completion (:func:`_complete_months`), for every grouping set (overall and each
    dimension; by specialty and for all specialties).

    ``pw`` holds one array per pathway field, from the pathway query of :func:`_sql`:
    ``provider_code``, ``specialty`` (ENUM codes), ``sex_age``, ``ethnic_group``,
    ``imd_quintile`` (group codes), the month indices (0 = the window's first month; missing =
    a large number) ``ref_t``, ``fa_t``, ``cs_t`` and ``o18_t`` (the first month end at least 127
    days after referral), ``completed``, ``days`` (referral to clock stop) and ``dna`` (any DNA).

    Counts are bincounts over a dense series x month index. Completed pathways are sorted once
    per grouping set by series and wait: a series is a run, its size the denominator, its median
    the middle value or the mean of the two middle values, exactly as pandas' median (waits in
    weeks are days / 7, as :func:`qi_equity.data.contract.derive` computes them), and over 18 /
    52 weeks the waits of more than 126 / 364 days. Month-end lists come as each month's net
    change (+1 from the referral month, -1 from the clock-stop month; for over 18 weeks from
    ``o18_t``), clamped to the window's first month; :func:`_complete_months` takes the running
    sums.
    """
    code = {k: {v: i for i, v in enumerate(vals)} for k, vals in labels.items()}
    G, D, M = code["qi_group"], code["qi_dimension"], code["qi_measure"]
    n_t, n_g, n_s = len(months), len(labels["qi_group"]), len(labels["qi_specialty"])
    n = len(pw["specialty"])
    arr = {k: np.asarray(v) for k, v in pw.items()}
    prov_all = arr["provider_code"].astype(np.int64) if by_provider else np.zeros(n, dtype=np.int64)
    p0 = int(prov_all.min()) if n else 0
    prov = prov_all - p0  # providers of a batch are consecutive codes: a small dense index
    n_p = int(prov.max()) + 1 if n else 1
    specs = [arr["specialty"].astype(np.int64)] if by_specialty else []
    specs.append(np.full(n, code["qi_specialty"]["all"], dtype=np.int64))
    groups = {"all": np.full(n, G["All"], dtype=np.int64), "sex_age": arr["sex_age"].astype(np.int64),
              "ethnic_group": arr["ethnic_group"].astype(np.int64), "imd_quintile": arr["imd_quintile"].astype(np.int64)}
    ref_t, fa_t, cs_t, o18_t = (arr[c].astype(np.int64) for c in ("ref_t", "fa_t", "cs_t", "o18_t"))
    completed, dna, days = arr["completed"].astype(bool), arr["dna"].astype(bool), arr["days"].astype(np.int64)
    removed, fa_days = arr["removed"].astype(bool), arr["fa_days"].astype(np.int64)
    size = n_p * n_s * n_g * n_t
    out = []

    def emit(key, measure, numerator, denominator, value):
        k = key
        out.append({"t": k % n_t, "group": (k // n_t) % n_g, "specialty": (k // (n_t * n_g)) % n_s,
                    "provider_code": k // (n_t * n_g * n_s) + p0, "dimension": None, "measure": M[measure],
                    "numerator": numerator, "denominator": denominator, "value": value})

    done = completed & (cs_t >= 0) & (cs_t < n_t)
    first_seen = (fa_t >= 0) & (fa_t < n_t)
    referred = (ref_t >= 0) & (ref_t < n_t)
    # month-end list events (each pathway's +1 and -1, on the list and over 18 weeks)
    stops = cs_t <= n_t - 1
    o18_on = (o18_t <= n_t - 1) & (o18_t < cs_t)
    ev_t = np.concatenate([np.maximum(ref_t[ref_t <= n_t - 1], 0), np.maximum(cs_t[stops], 0),
                           np.maximum(o18_t[o18_on], 0), np.maximum(cs_t[stops & o18_on], 0)])
    ev_rows = np.concatenate([np.flatnonzero(ref_t <= n_t - 1), np.flatnonzero(stops), np.flatnonzero(o18_on),
                              np.flatnonzero(stops & o18_on)])
    n1, n2, n3 = int((ref_t <= n_t - 1).sum()), int(stops.sum()), int(o18_on.sum())
    ev_dn = np.concatenate([np.ones(n1), -np.ones(n2), np.zeros(len(ev_t) - n1 - n2)])
    ev_d18 = np.concatenate([np.zeros(n1 + n2), np.ones(n3), -np.ones(len(ev_t) - n1 - n2 - n3)])
    # the fields each family needs, gathered once (the grouping sets differ only in the series key)
    i_done, i_seen, i_ref = np.flatnonzero(done), np.flatnonzero(first_seen), np.flatnonzero(referred)
    t_done, t_seen, t_ref = cs_t[i_done], fa_t[i_seen], ref_t[i_ref]
    d_done = days[i_done]
    lo_d = int(d_done.min()) if len(d_done) else 0
    span = (int(d_done.max()) - lo_d + 1) if len(d_done) else 1
    d_done = d_done - lo_d
    dna_seen = dna[i_seen].astype(float)
    rem_done = removed[i_done].astype(float)
    f_seen = fa_days[i_seen]
    lo_f = int(f_seen.min()) if len(f_seen) else 0
    span_f = (int(f_seen.max()) - lo_f + 1) if len(f_seen) else 1
    f_seen = f_seen - lo_f

    def run_medians(order, span_, lo_):
        """Runs (series x month keys), sizes and medians of values sorted within each run."""
        skey = order // span_
        m = len(order)
        starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]]) if m else np.array([], dtype=np.int64)
        counts = np.diff(np.r_[starts, m])
        runs = skey[starts]
        mid_lo, mid_hi = starts + (counts - 1) // 2, starts + counts // 2
        w_lo = (order[mid_lo] - runs * span_ + lo_) / 7.0
        w_hi = (order[mid_hi] - runs * span_ + lo_) / 7.0
        return runs, starts, counts, (w_lo + w_hi) / 2

    for sp in specs:
        for dim, grp in groups.items():
            start = len(out)
            series = (prov * n_s + sp) * n_g + grp  # the month comes last in every key
            # completed pathways: one sort by series, month and wait
            order = np.sort((series[i_done] * n_t + t_done) * span + d_done)
            runs, starts, counts, median = run_medians(order, span, lo_d)
            ends = starts + counts
            den = counts.astype(float)
            emit(runs, "completed_median_wait", np.nan, den, median)
            for name, limit in (("completed_over_18", 126), ("completed_over_52", 364)):
                # waits are sorted within a run: those over the limit are its last ones
                first_over = np.searchsorted(order, runs * span + (limit + 1 - lo_d))
                emit(runs, name, (ends - np.clip(first_over, starts, ends)).astype(float), den, np.nan)
            key = series[i_done] * n_t + t_done
            k_rem = np.bincount(key, weights=rem_done, minlength=size)
            emit(runs, "removed_other", k_rem[runs], den, np.nan)
            # first appointments with any DNA, and referrals, by month
            key = series[i_seen] * n_t + t_seen
            cnt = np.bincount(key, minlength=size)
            k_dna = np.bincount(key, weights=dna_seen, minlength=size)
            cells = np.flatnonzero(cnt)
            emit(cells, "dna_rate", k_dna[cells], cnt[cells].astype(float), np.nan)
            f_runs, _, f_counts, f_median = run_medians(np.sort(key * span_f + f_seen), span_f, lo_f)
            emit(f_runs, "first_appointment_wait", np.nan, f_counts.astype(float), f_median)
            cnt = np.bincount(series[i_ref] * n_t + t_ref, minlength=size)
            cells = np.flatnonzero(cnt)
            emit(cells, "referrals", np.nan, cnt[cells].astype(float), cnt[cells].astype(float))
            # month-end lists: net changes per series and month
            key = series[ev_rows] * n_t + ev_t
            seen = np.bincount(key, minlength=size)
            dn = np.bincount(key, weights=ev_dn, minlength=size)
            d18 = np.bincount(key, weights=ev_d18, minlength=size)
            cells = np.flatnonzero(seen)
            emit(cells, "waiting_list", np.nan, dn[cells], np.nan)
            emit(cells, "waiting_over_18", d18[cells], dn[cells], np.nan)
            for row in out[start:]:
                row["dimension"] = D[dim]
    frames = [pd.DataFrame({k: (np.full(len(r["t"]), v) if np.isscalar(v) or v is None else v)
                            for k, v in r.items()}) for r in out]
    res = pd.concat(frames, ignore_index=True)
    res["numerator"] = res["numerator"].astype(float)
    res["value"] = res["value"].astype(float)
    return res


def _complete_months(res: pd.DataFrame, months: pd.DatetimeIndex, labels: dict, by_provider: bool) -> pd.DataFrame:
    """Every series (provider x measure x specialty x dimension x group with any pathway) gets
    every month of the window, as :func:`qi_equity.measures.monthly_measures` does: an empty
    month has denominator 0, numerator 0 for a percentage (value missing), value 0 for a count.
    Rows are ordered by provider, measure, specialty, dimension, group, month.

    Done with integer codes in numpy rather than as a grid join in SQL: the keys arrive as
    categoricals (DuckDB ENUMs) whose categories are already in sort order.
    """
    keys = (["provider_code"] if by_provider else []) + ["measure", "specialty", "dimension", "group"]
    cats = {"provider_code": labels["qi_provider"], "measure": labels["qi_measure"],
            "specialty": labels["qi_specialty"], "dimension": labels["qi_dimension"], "group": labels["qi_group"]}
    key = np.zeros(len(res), dtype=np.int64)
    for k in keys:  # ENUM columns arrive as categoricals, the others as integer codes already
        col = res[k]
        codes = (col.cat.codes if isinstance(col.dtype, pd.CategoricalDtype) else col).to_numpy(np.int64)
        if len(codes) and codes.min() < 0:
            raise ValueError(f"column '{k}': {int((codes < 0).sum())} aggregate row(s) with no label")
        key = key * len(cats[k]) + codes
    series, sid = np.unique(key, return_inverse=True)
    t = res["t"].to_numpy(np.int64)  # month index in the window
    if len(t) and (t.min() < 0 or t.max() >= len(months)):
        raise ValueError("aggregate months outside the window")
    n_s, n_t = len(series), len(months)
    cell = sid * n_t + t
    num, den, val = (np.full(n_s * n_t, np.nan) for _ in range(3))
    den[:] = 0.0
    num[cell] = res["numerator"].to_numpy(float)
    den[cell] = np.nan_to_num(res["denominator"].to_numpy(float), nan=0.0)
    val[cell] = res["value"].to_numpy(float)
    present = np.zeros(n_s * n_t, dtype=bool)
    present[cell] = True
    # decode the series keys back to codes, last key fastest
    codes = {}
    rest = series.copy()
    for k in reversed(keys):
        codes[k] = rest % len(cats[k])
        rest //= len(cats[k])
    # Month-end snapshots arrive as each month's net change: the list is their running sum. A
    # series is kept when the list is ever non-empty (the pandas path's rows with n > 0), and a
    # month with an empty list counts as not present (0 for a count, no value for a percentage).
    snap = np.isin(codes["measure"], [cats["measure"].index(m) for m in SNAPSHOT_MEASURES])
    if snap.any():
        den2, num2, val2, pres2 = (a.reshape(n_s, n_t) for a in (den, num, val, present))
        rows = np.flatnonzero(snap)
        den2[rows] = np.cumsum(den2[rows], axis=1)
        num2[rows] = np.cumsum(np.nan_to_num(num2[rows], nan=0.0), axis=1)
        count = rows[np.array([measures.MEASURES[cats["measure"][m]].kind == "count" for m in codes["measure"][rows]],
                              dtype=bool)]
        num2[count] = np.nan
        val2[count] = den2[count]
        pres2[rows] = den2[rows] > 0
        keep = np.ones(n_s, dtype=bool)
        keep[rows] = pres2[rows].any(axis=1)
        if not keep.all():
            num, den, val, present = (a[keep].ravel() for a in (num2, den2, val2, pres2))
            codes = {k: v[keep] for k, v in codes.items()}
            n_s = int(keep.sum())
    kinds = np.array([{"percent": 1, "count": 2}.get(measures.MEASURES[m].kind, 0) for m in cats["measure"]],
                     dtype=np.int8)
    kind = np.repeat(kinds[codes["measure"]], n_t)
    pct = kind == 1
    num[pct & ~present] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        val[pct] = np.where(den[pct] > 0, 100.0 * num[pct] / den[pct], np.nan)
    val[(kind == 2) & ~present] = 0.0
    del kind, pct, present, cell
    out = {k: pd.Categorical.from_codes(np.repeat(codes[k].astype(np.int16 if len(cats[k]) < 2**15 else np.int32),
                                                  n_t), categories=cats[k]) for k in keys}
    out["month"] = np.tile(months.to_numpy(dtype="datetime64[ns]"), n_s)
    out.update(numerator=num, denominator=den, value=val)
    return pd.DataFrame(out)


#: Inputs with more pathways than this go through DuckDB (``engine="auto"``): the pandas path
#: validates every rule with great-expectations and holds the whole extract in memory (7.5M
#: pathways: about 250 s and 10 GB; DuckDB: about 11 s and under 1 GB).
AUTO_DUCKDB_ROWS = 1_000_000


def estimated_rows(path: str | Path) -> int:
    """How many pathways an input holds: exact for Parquet (from the file footers, for a file, a
    folder or a glob of files), estimated for CSV from the size and the mean length of its first
    lines. Compressed size says little: 7.5M pathways are 67 MB of Parquet."""
    import glob as _glob

    p = Path(path)
    if any(ch in str(path) for ch in "*?["):
        files = [Path(f) for f in _glob.glob(str(path))]
    elif p.is_dir():
        files = sorted(p.rglob("*.parquet")) + sorted(p.rglob("*.pq")) + sorted(p.rglob("*.csv"))
    else:
        files = [p]
    total = 0
    for f in files:
        if f.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            total += pq.read_metadata(f).num_rows
        elif f.exists():
            with open(f, "rb") as fh:
                head = fh.read(1 << 16)
            lines = max(1, head.count(b"\n"))
            total += int(f.stat().st_size / (len(head) / lines)) - 1
    return max(total, 0)


def choose_engine(path: str | Path, engine: str = "auto") -> str:
    """``"duckdb"`` or ``"pandas"`` for an input: ``auto`` takes DuckDB for folders, globs and
    inputs over :data:`AUTO_DUCKDB_ROWS` pathways (see :func:`estimated_rows`), pandas otherwise."""
    if engine not in ("auto", "pandas", "duckdb"):
        raise ValueError("engine must be 'auto', 'pandas' or 'duckdb'")
    if engine != "auto":
        return engine
    p = Path(path)
    if p.is_dir() or any(ch in str(path) for ch in "*?["):
        return "duckdb"
    if not p.exists():
        raise FileNotFoundError(f"{p.name}: no such file ({p})")
    return "duckdb" if estimated_rows(p) > AUTO_DUCKDB_ROWS else "pandas"


def aggregate_extract(path: str | Path, census_date, months: int = 36, by_specialty: bool = False,
                      engine: str = "auto") -> pd.DataFrame:
    """Monthly aggregates of an extract by the cheapest adequate path.

    ``engine="auto"`` uses DuckDB for folders, globs and inputs of more than
    :data:`AUTO_DUCKDB_ROWS` pathways, pandas (with full great-expectations validation)
    otherwise; ``"pandas"`` or ``"duckdb"`` force one (:func:`choose_engine`).
    Returns the aggregate form for every provider in the extract.
    """
    engine = choose_engine(path, engine)
    if engine == "duckdb":
        return monthly_measures_duckdb(path, census_date, months, by_specialty)
    from qi_equity.data.io import load_extract

    derived = C.derive(load_extract(path, census_date=census_date), census_date)
    parts = [measures.monthly_measures(g, census_date, months, DIMENSIONS, by_specialty)
             for _, g in derived.groupby("provider_code", sort=True)]
    return pd.concat(parts, ignore_index=True)


def provider_funnel_from_aggregate(agg: pd.DataFrame, measure: str = "dna_rate", census_date=None, months: int = 12,
                                   highlight=None):
    """Funnel of a percentage measure across every provider of an aggregate (e.g. national),
    pooling the last ``months`` months of 'All patients, all specialties' counts."""
    from qi_equity.equity import funnel

    if measures.MEASURES[measure].kind != "percent":
        raise ValueError(f"{measure} is not a proportion: funnel plots need numerator/denominator")
    d = agg[(agg["measure"] == measure) & (agg["dimension"] == "all") & (agg["specialty"] == "all")]
    end = pd.Timestamp(census_date) if census_date is not None else d["month"].max()
    d = d[d["month"].isin(measures.window(end, months))]
    g = d.groupby("provider_code", as_index=False)[["numerator", "denominator"]].sum()
    g = g[g["denominator"] > 0]
    return funnel(g, group="provider_code", kind="proportion", multiplier=100, highlight=highlight)
