"""Large extracts: aggregate to the monthly form with DuckDB over Parquet (or CSV).

The national elective waiting list is about 7.5 million pathways. Loading that into pandas
needs several GB; DuckDB (embedded, no server) streams it from Parquet and aggregates to
month x provider x specialty x equity group in bounded memory. The SQL below computes
exactly what :func:`qi_equity.measures.monthly_measures` computes from a pandas frame
(same derived fields, same measures, same completion of empty months), and a test checks the
two paths agree on the sample collaborative.

:func:`aggregate_extract` picks the path: DuckDB for a folder, a glob, or a file larger than
``threshold_mb``; pandas otherwise (``engine=`` forces one).

The large-extract path does not run great-expectations row validation (that would load
every row into pandas); run ``qi-equity validate`` on each provider's file, or validate a
sample. The SQL still refuses rows that would break the measures (see ``_CHECKS``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.data.io import AGGREGATE_COLUMNS

DIMENSIONS = ("all", "sex_age", "ethnic_group", "imd_quintile")
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


def _case(expr: str, mapping: dict, default: str) -> str:
    whens = " ".join(f"WHEN {expr} = '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {whens} ELSE '{default}' END"


def _sql(src: str, census: pd.Timestamp, months: pd.DatetimeIndex, by_specialty: bool, columns: set[str],
         by_provider: bool, labels: dict, completed_only: bool = False) -> str:
    """The aggregation query. Equity groups, dimensions and measures are small integers (their
    index in ``labels``), provider and specialty DuckDB ENUMs: grouping, joining and returning
    integers is much cheaper than strings, and the labels are attached in pandas as categoricals.

    Every measure but those of completed pathways: their medians cannot be rolled up, and
    DuckDB's MEDIAN over eight grouping sets cost half the query, so ``completed_only=True``
    gives instead the completed pathways of the window (keys, month index ``t`` and waited
    ``days``), whose measures :func:`_completed_measures` computes with one sort per grouping set."""
    first, last = months[0].date(), months[-1].date()
    code = {k: {v: i for i, v in enumerate(vals)} for k, vals in labels.items()}
    G, D = code["qi_group"], code["qi_dimension"]
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
    prov = "provider_code, " if by_provider else ""
    dims = ("sex_age", "ethnic_group", "imd_quintile")
    # GROUPING(...) bit 8 = specialty (when grouped by it), bits 4/2/1 = the dimensions
    grouped = (("specialty",) if by_specialty else ()) + dims

    def sets(month, finest_only=False):
        """One grouping set per dimension (and overall), with and without specialty: the
        equity dimensions are separate columns, so no row is repeated per dimension. With
        ``finest_only`` just the three dimensions by specialty: sums are rolled up from them."""
        keys = f"{prov}{month}"
        out = []
        for spec in ((", specialty", "") if by_specialty else ("",)):
            if not finest_only:
                out.append(f"({keys}{spec})")
            out += [f"({keys}{spec}, {d})" for d in dims]
            if finest_only:
                break
        return "GROUPING SETS (" + ", ".join(out) + ")"

    def rolled_up(name, sums):
        """``{name}_f`` (by specialty and dimension) completed with the overall group (the sum
        over the sex-age groups, which cover every pathway) and the all-specialty rows (the sum
        over specialties): counts and sums need not be recomputed from the pathways."""
        agg = ", ".join(f"SUM({c}) AS {c}" for c in sums)
        text = (f"{name}_a AS (\n  SELECT * FROM {name}_f\n  UNION ALL SELECT {prov}m, specialty, {D['all']}, "
                f"{G['All']}, {agg} FROM {name}_f WHERE dimension = {D['sex_age']} GROUP BY {prov}m, specialty\n),\n")
        if by_specialty:
            text += (f"{name} AS (\n  SELECT * FROM {name}_a\n  UNION ALL SELECT {prov}m, {all_spec}, dimension, grp, "
                     f"{agg} FROM {name}_a GROUP BY {prov}m, dimension, grp\n)")
        else:
            text += f"{name} AS (SELECT * FROM {name}_a)"
        return text

    gid = f"GROUPING({', '.join(grouped)})"
    all_spec = "CAST('all' AS qi_specialty)"
    spec = f"CASE WHEN {gid} & 8 = 8 THEN {all_spec} ELSE specialty END" if by_specialty else all_spec
    keys = (f"{spec} AS specialty, "
            f"CASE WHEN {gid} & 4 = 0 THEN {D['sex_age']} WHEN {gid} & 2 = 0 THEN {D['ethnic_group']} "
            f"WHEN {gid} & 1 = 0 THEN {D['imd_quintile']} ELSE {D['all']} END AS dimension, "
            f"CASE WHEN {gid} & 4 = 0 THEN sex_age WHEN {gid} & 2 = 0 THEN ethnic_group "
            f"WHEN {gid} & 1 = 0 THEN imd_quintile ELSE {G['All']} END AS grp")
    M = code["qi_measure"]
    head = f"{prov}m, specialty, dimension, grp"
    skeys = ", ".join((["provider_code"] if by_provider else []) + ["specialty", "dimension", "grp"])
    lo, hi = f"DATE '{first}'", f"DATE '{last}'"

    prefix = f"""
WITH base AS (
  SELECT CAST(provider_code AS qi_provider) AS provider_code,
         CAST(CAST(specialty AS VARCHAR) AS qi_specialty) AS specialty,
         CAST(referral_date AS DATE) AS ref, CAST(first_appointment_date AS DATE) AS fa,
         CAST(clock_stop_date AS DATE) AS cs, outcome, TRY_CAST(dna_count AS INTEGER) AS dna,
         {sex_age} AS sex_age, {eth} AS ethnic_group, {imd} AS imd_quintile
  FROM {src}
),
d AS MATERIALIZED (
  SELECT *, date_diff('day', ref, COALESCE(cs, DATE '{census.date()}')) / 7.0 AS wait,
         outcome IN ('treated', 'removed') AS completed,
         CAST(date_trunc('month', ref) AS DATE) AS ref_m, CAST(date_trunc('month', cs) AS DATE) AS cs_m,
         -- month-end waits are whole days: over 18 weeks from the first month end at least
         -- 127 days after referral (date_diff > 126)
         CAST(date_trunc('month', ref + INTERVAL 127 DAY) AS DATE) AS o18_m
  FROM base
)"""
    in_window = f"cs >= {lo} AND cs < {hi} + INTERVAL 1 MONTH"
    if completed_only:
        return prefix + f"""
SELECT {"enum_code(provider_code) AS provider_code, " if by_provider else ""}enum_code(specialty) AS specialty,
       sex_age, ethnic_group, imd_quintile,
       CAST(date_diff('month', {lo}, CAST(date_trunc('month', cs) AS DATE)) AS INTEGER) AS t,
       CAST(date_diff('day', ref, cs) AS INTEGER) AS days
FROM d WHERE completed AND {in_window}
"""
    return prefix + f""",
dna_f AS (
  SELECT {prov}date_trunc('month', fa) AS m, {keys}, COUNT(*) AS n,
         SUM(CASE WHEN dna > 0 THEN 1 ELSE 0 END) AS k
  FROM d WHERE fa >= {lo} AND fa < {hi} + INTERVAL 1 MONTH
  GROUP BY {sets("date_trunc('month', fa)", finest_only=True)}
),
{rolled_up("dna", ["n", "k"])},
refs_f AS (
  SELECT {prov}date_trunc('month', ref) AS m, {keys}, COUNT(*) AS n
  FROM d WHERE ref >= {lo} AND ref < {hi} + INTERVAL 1 MONTH
  GROUP BY {sets("date_trunc('month', ref)", finest_only=True)}
),
{rolled_up("refs", ["n"])},
-- Month-end snapshots without joining every pathway to every month: a pathway is on the list at
-- the end of each month from its referral month up to (not including) its clock-stop month, and
-- over 18 weeks from o18_m; each of those is a +1 event and a -1 event, and the list at a month
-- end is the running sum of the events (events before the window count at its first month),
-- taken per series in numpy (_complete_months).
events AS (
  SELECT {prov}specialty, sex_age, ethnic_group, imd_quintile, GREATEST(ref_m, {lo}) AS m, 1 AS dn, 0 AS d18
  FROM d WHERE ref_m <= {hi}
  UNION ALL
  SELECT {prov}specialty, sex_age, ethnic_group, imd_quintile, GREATEST(cs_m, {lo}), -1, 0
  FROM d WHERE cs_m IS NOT NULL AND cs_m <= {hi}
  UNION ALL
  SELECT {prov}specialty, sex_age, ethnic_group, imd_quintile, GREATEST(o18_m, {lo}), 0, 1
  FROM d WHERE o18_m <= {hi} AND (cs_m IS NULL OR o18_m < cs_m)
  UNION ALL
  SELECT {prov}specialty, sex_age, ethnic_group, imd_quintile, GREATEST(cs_m, {lo}), 0, -1
  FROM d WHERE cs_m IS NOT NULL AND cs_m <= {hi} AND o18_m < cs_m
),
steps_f AS (
  SELECT {prov}m, {keys}, SUM(dn) AS dn, SUM(d18) AS d18
  FROM events GROUP BY {sets("m", finest_only=True)}
),
{rolled_up("steps", ["dn", "d18"])},
res AS (
  SELECT {head}, {M['dna_rate']} AS measure, k AS numerator, n AS denominator, NULL AS value FROM dna
  UNION ALL SELECT {head}, {M['referrals']}, NULL, n, n FROM refs
  -- month-end list: the month's net change (dn, d18); _complete_months takes the running sums
  UNION ALL SELECT {head}, {M['waiting_list']}, NULL, dn, NULL FROM steps
  UNION ALL SELECT {head}, {M['waiting_over_18']}, d18, dn, NULL FROM steps
),
res_typed AS (
  SELECT {prov}m AS month, specialty, dimension, grp AS "group", measure,
         CAST(numerator AS DOUBLE) AS numerator, CAST(denominator AS DOUBLE) AS denominator,
         CAST(value AS DOUBLE) AS value
  FROM res
)
-- only the months with pathways: every series is completed to every month by _complete_months
SELECT * FROM res_typed
"""


def monthly_measures_duckdb(path: str | Path, census_date, months: int = 36, by_specialty: bool = False,
                            by_provider: bool = True, memory_limit: str = "600MB", threads: int | None = None,
                            batch_rows: int = 900_000) -> pd.DataFrame:
    """The aggregate form computed by DuckDB from a Parquet/CSV file, folder or glob.

    Same columns and values as :func:`qi_equity.measures.monthly_measures` for the
    dimensions ``all, sex_age, ethnic_group, imd_quintile``; one block per provider.

    Parameters
    ----------
    memory_limit : str
        DuckDB's memory limit (it spills to disk beyond it where it can).
    batch_rows : int
        Pathways aggregated per query: medians and the pathways of a batch are held in
        memory, so large extracts are processed whole providers at a time, packed into batches
        of about this many rows (a larger provider is a batch of its own). With one Parquet row
        group per provider each batch reads only its own rows. The defaults keep a
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

        def finish(part, done):
            part = pd.concat([part, _completed_measures(done, win, labels, by_specialty, by_provider, part)],
                             ignore_index=True)
            # batches hold whole providers in code order, so completing each batch on its own
            # keeps the global row order with small temporaries
            return _complete_months(part, win, labels, by_provider)

        # numpy finishes a batch (completed-pathway measures, completion) in a thread while DuckDB runs the next
        # batch's queries: both release the GIL, and one batch at most waits to be finished
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="qi-equity-batch") as pool:
            pending = None
            for batch in batches:
                sub = src if batch is None else (
                    f"(SELECT * FROM {src} WHERE provider_code IN ({', '.join(_quote(p) for p in batch)}))")
                part = con.execute(_sql(sub, census, win, by_specialty, cols, by_provider, labels)).df()
                done = con.execute(_sql(sub, census, win, by_specialty, cols, by_provider, labels,
                                        completed_only=True)).fetchnumpy()
                if pending is not None:
                    parts.append(pending.result())
                pending = pool.submit(finish, part, done)
                del part, done
            if pending is not None:
                parts.append(pending.result())
    finally:
        con.close()
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    del parts
    if not by_provider:
        out.insert(1, "provider_code", pd.Categorical([provs[0] if len(provs) == 1 else ""] * len(out)))
    return out[AGGREGATE_COLUMNS]


def _completed_measures(done: dict, months: pd.DatetimeIndex, labels: dict, by_specialty: bool, by_provider: bool,
                        like: pd.DataFrame) -> pd.DataFrame:
    """Rows of the completed-pathway measures (median wait, % over 18 and over 52 weeks) from
    the completed pathways of a batch (arrays ``provider_code`` (ENUM code), ``specialty``
    (ENUM code), ``sex_age``, ``ethnic_group``, ``imd_quintile`` (group codes), ``t`` (month
    index) and ``days`` waited).

    For each grouping set (overall and each dimension; by specialty and for all specialties) the
    pathways are sorted once by series key and wait. Each series is a run: its size is the
    denominator; its median the middle value, or the mean of the two middle values, exactly as
    pandas' median (waits in weeks are days / 7, as :func:`qi_equity.data.contract.derive`
    computes them); over 18 / 52 weeks are the waits of more than 126 / 364 days. The rows come
    in the columns and dtypes of ``like`` (the query's other measures).
    """
    code = {k: {v: i for i, v in enumerate(vals)} for k, vals in labels.items()}
    G, D, M = code["qi_group"], code["qi_dimension"], code["qi_measure"]
    n_t, n_g, n_s = len(months), len(labels["qi_group"]), len(labels["qi_specialty"])
    days = np.asarray(done["days"], dtype=np.int64)
    n = len(days)
    prov = np.asarray(done["provider_code"], dtype=np.int64) if by_provider else np.zeros(n, dtype=np.int64)
    spec = np.asarray(done["specialty"], dtype=np.int64)
    t = np.asarray(done["t"], dtype=np.int64)
    lo = int(days.min()) if n else 0
    span = (int(days.max()) - lo + 1) if n else 1
    parts = []
    specs = [spec, np.full(n, code["qi_specialty"]["all"])] if by_specialty else [np.full(n, code["qi_specialty"]["all"])]
    groups = {"all": np.full(n, G["All"]), "sex_age": np.asarray(done["sex_age"], dtype=np.int64),
              "ethnic_group": np.asarray(done["ethnic_group"], dtype=np.int64),
              "imd_quintile": np.asarray(done["imd_quintile"], dtype=np.int64)}
    for sp in specs:
        for dim, grp in groups.items():
            key = ((prov * n_s + sp) * n_g + grp) * n_t + t
            order = np.sort(key * span + (days - lo))
            skey, sdays = order // span, order % span + lo
            starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]]) if n else np.array([], dtype=np.int64)
            counts = np.diff(np.r_[starts, n])
            weeks = sdays / 7.0
            med = (weeks[starts + (counts - 1) // 2] + weeks[starts + counts // 2]) / 2
            ends = starts + counts  # waits are sorted within a run: the long ones are at its end
            k = skey[starts]
            frame = {"t": k % n_t, "group": (k // n_t) % n_g, "specialty": (k // (n_t * n_g)) % n_s,
                     "provider_code": k // (n_t * n_g * n_s), "dimension": D[dim], "denominator": counts.astype(float)}
            parts.append(pd.DataFrame({**frame, "measure": M["completed_median_wait"], "numerator": np.nan,
                                       "value": med}))
            for name, limit in (("completed_over_18", 126), ("completed_over_52", 364)):
                csum = np.r_[0, np.cumsum(sdays > limit)]
                parts.append(pd.DataFrame({**frame, "measure": M[name], "numerator": (csum[ends] - csum[starts]).astype(float),
                                           "value": np.nan}))
    out = pd.concat(parts, ignore_index=True)
    res = pd.DataFrame({"month": months.to_numpy()[out["t"].to_numpy()]})
    for c in like.columns:
        if c == "month":
            res[c] = res[c].astype(like[c].dtype)
        elif c in ("provider_code", "specialty") and isinstance(like[c].dtype, pd.CategoricalDtype):
            res[c] = pd.Categorical.from_codes(out[c].to_numpy(), dtype=like[c].dtype)
        elif c in out:
            res[c] = out[c].to_numpy().astype(like[c].dtype)
    return res[list(like.columns)]


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
    first = months[0].year * 12 + months[0].month - 1
    when = pd.DatetimeIndex(res["month"])
    t = (when.year.to_numpy() * 12 + when.month.to_numpy() - 1 - first).astype(np.int64)
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


def aggregate_extract(path: str | Path, census_date, months: int = 36, by_specialty: bool = False,
                      engine: str = "auto", threshold_mb: float = 200.0) -> pd.DataFrame:
    """Monthly aggregates of an extract by the cheapest adequate path.

    ``engine="auto"`` uses DuckDB for folders, globs and files over ``threshold_mb``, pandas
    (with full great-expectations validation) otherwise; ``"pandas"`` or ``"duckdb"`` force one.
    Returns the aggregate form for every provider in the extract.
    """
    p = Path(path)
    if engine == "auto":
        big = p.is_dir() or any(ch in str(path) for ch in "*?[") or (p.exists() and p.stat().st_size > threshold_mb * 2**20)
        engine = "duckdb" if big else "pandas"
    if engine == "duckdb":
        return monthly_measures_duckdb(path, census_date, months, by_specialty)
    if engine != "pandas":
        raise ValueError("engine must be 'auto', 'pandas' or 'duckdb'")
    from qi_equity.data.io import load_extract

    derived = C.derive(load_extract(path, census_date=census_date), census_date)
    parts = [measures.monthly_measures(g, census_date, months, DIMENSIONS, by_specialty)
             for _, g in derived.groupby("provider_code", sort=True)]
    return pd.concat(parts, ignore_index=True)


def write_metrics_from_aggregate(agg: pd.DataFrame, out_dir: str | Path, census_date, names: dict | None = None,
                                 threshold: int = 5) -> list[Path]:
    """Metrics files for every provider of a (national) aggregate, without notebooks or HTML.

    Suppresses the aggregate (per provider x month x specialty x measure x dimension), computes
    every headline series' icons in one vectorised SPC call, and writes one metrics file per
    provider with the monthly table and icons (no pathway-level equity table: that needs the
    extract). Returns the paths written.
    """
    from qi_equity.reports.provider import HEADLINE, _records, publishable_monthly, write_metrics
    from qi_equity.variation import spc

    pub = publishable_monthly(agg, threshold)
    heads = (HEADLINE, "completed_over_18", "dna_rate")
    sel = pub[(pub["specialty"] == "all") & (pub["dimension"] == "all") & pub["measure"].isin(heads)].copy()
    sel.loc[~(sel["denominator"] > 0), "value"] = float("nan")
    sel["improvement"] = sel["measure"].map({k: measures.MEASURES[k].improvement for k in heads})
    icons = spc(sel, value="value", date="month", by=["provider_code", "measure"], improvement="improvement").icons()
    out = Path(out_dir)
    paths = []
    for code, part in pub[pub["specialty"] == "all"].groupby("provider_code", sort=True):
        ic = icons[icons["provider_code"] == code][["measure", "variation", "assurance"]]
        payload = {"schema": "qi_equity.metrics/1", "provider_code": code,
                   "provider_name": (names or {}).get(code, code), "census_date": str(pd.Timestamp(census_date).date()),
                   "suppression_threshold": threshold, "monthly": _records(part), "icons": _records(ic),
                   "equity_table": None, "data_quality": None}
        path = out / f"{code}.json"
        write_metrics(path, payload)
        paths.append(path)
    return paths


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
