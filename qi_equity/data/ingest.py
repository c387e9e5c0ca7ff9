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

import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.data.io import AGGREGATE_COLUMNS

DIMENSIONS = ("all", "sex_age", "ethnic_group", "imd_quintile")


def _source(path: str | Path) -> str:
    p = str(path)
    if Path(p).is_dir():
        p = str(Path(p) / "**" / "*.parquet")
    if p.endswith(".csv"):
        return f"read_csv('{p}', header=true, all_varchar=true)"
    return f"read_parquet('{p}', union_by_name=true)"


def _case(expr: str, mapping: dict, default: str) -> str:
    whens = " ".join(f"WHEN {expr} = '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {whens} ELSE '{default}' END"


def _sql(src: str, census: pd.Timestamp, months: pd.DatetimeIndex, by_specialty: bool, columns: set[str],
         by_provider: bool) -> str:
    first, last = months[0].date(), months[-1].date()
    age = "TRY_CAST(age AS INTEGER)" if "age" in columns else "NULL"
    band = "age_band" if "age_band" in columns else "NULL"
    age_part = (f"CASE WHEN {age} IS NOT NULL THEN (CASE WHEN {age} < 16 THEN '0-15' WHEN {age} <= 64 THEN '16-64' "
                f"ELSE '65+' END) WHEN {band} = '0-15' THEN '0-15' WHEN {band} IN ('16-29','30-44','45-64') "
                f"THEN '16-64' ELSE '65+' END")
    sex_label = _case("sex", C.SEX_LABEL, "Not known")
    eth = _case("ethnic_category", C.ETHNIC_CATEGORY_GROUP, "Not known")
    q = "CEIL(TRY_CAST(imd_decile AS DOUBLE) / 2)"
    imd = (f"CASE WHEN {q} IS NULL THEN 'Unmatched' WHEN {q} = 1 THEN 'Q1 most deprived' WHEN {q} = 5 "
           f"THEN 'Q5 least deprived' ELSE 'Q' || CAST(CAST({q} AS INTEGER) AS VARCHAR) END")
    prov = "provider_code, " if by_provider else ""

    def sets(month):
        keys = f"{prov}{month}, dimension, grp"
        return f"GROUPING SETS (({keys}, specialty), ({keys}))" if by_specialty else f"GROUPING SETS (({keys}))"

    spec_col = "CASE WHEN GROUPING(specialty) = 1 THEN 'all' ELSE specialty END" if by_specialty else "'all'"
    head = f"{prov}m, specialty, dimension, grp"
    gprov = "g.provider_code, " if by_provider else ""
    join_keys = (["provider_code"] if by_provider else []) + ["specialty", "dimension", "grp", "measure"]
    join = " AND ".join(f"g.{k} = r.{k}" for k in join_keys) + " AND g.m = r.m"
    percent = ", ".join(f"'{k}'" for k, m in measures.MEASURES.items() if m.kind == "percent")
    count = ", ".join(f"'{k}'" for k, m in measures.MEASURES.items() if m.kind == "count")
    order = " ".join(f"WHEN '{k}' THEN {i}" for i, k in enumerate(measures.MEASURES))
    return f"""
WITH base AS (
  SELECT provider_code, CAST(specialty AS VARCHAR) AS specialty,
         CAST(referral_date AS DATE) AS ref, CAST(first_appointment_date AS DATE) AS fa,
         CAST(clock_stop_date AS DATE) AS cs, outcome, TRY_CAST(dna_count AS INTEGER) AS dna,
         {sex_label} || ' ' || {age_part} AS sex_age, {eth} AS ethnic_group, {imd} AS imd_quintile
  FROM {src}
),
d AS (
  SELECT *, date_diff('day', ref, COALESCE(cs, DATE '{census.date()}')) / 7.0 AS wait,
         outcome IN ('treated', 'removed') AS completed
  FROM base
),
long AS (
  SELECT *, 'all' AS dimension, 'All' AS grp FROM d
  UNION ALL SELECT *, 'sex_age', sex_age FROM d
  UNION ALL SELECT *, 'ethnic_group', ethnic_group FROM d
  UNION ALL SELECT *, 'imd_quintile', imd_quintile FROM d
),
comp AS (
  SELECT {prov}date_trunc('month', cs) AS m, dimension, grp, {spec_col} AS specialty,
         COUNT(*) AS n, MEDIAN(wait) AS med, SUM(CASE WHEN wait > 18 THEN 1 ELSE 0 END) AS o18,
         SUM(CASE WHEN wait > 52 THEN 1 ELSE 0 END) AS o52
  FROM long WHERE completed AND cs >= DATE '{first}' AND cs < DATE '{last}' + INTERVAL 1 MONTH
  GROUP BY {sets("date_trunc('month', cs)")}
),
dna AS (
  SELECT {prov}date_trunc('month', fa) AS m, dimension, grp, {spec_col} AS specialty, COUNT(*) AS n,
         SUM(CASE WHEN dna > 0 THEN 1 ELSE 0 END) AS k
  FROM long WHERE fa >= DATE '{first}' AND fa < DATE '{last}' + INTERVAL 1 MONTH
  GROUP BY {sets("date_trunc('month', fa)")}
),
refs AS (
  SELECT {prov}date_trunc('month', ref) AS m, dimension, grp, {spec_col} AS specialty, COUNT(*) AS n
  FROM long WHERE ref >= DATE '{first}' AND ref < DATE '{last}' + INTERVAL 1 MONTH
  GROUP BY {sets("date_trunc('month', ref)")}
),
month_ends AS (
  SELECT CAST(generate_series AS DATE) AS m, CAST(generate_series + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS e
  FROM generate_series(DATE '{first}', DATE '{last}', INTERVAL 1 MONTH)
),
snap AS (
  SELECT {prov}me.m AS m, dimension, grp, {spec_col} AS specialty, COUNT(*) AS n,
         SUM(CASE WHEN date_diff('day', ref, me.e) / 7.0 > 18 THEN 1 ELSE 0 END) AS o18
  FROM long JOIN month_ends me ON long.ref <= me.e AND (long.cs IS NULL OR long.cs > me.e)
  GROUP BY {sets("me.m")}
),
res AS (
  SELECT {head}, 'completed_median_wait' AS measure, NULL AS numerator, n AS denominator, med AS value FROM comp
  UNION ALL SELECT {head}, 'completed_over_18', o18, n, NULL FROM comp
  UNION ALL SELECT {head}, 'completed_over_52', o52, n, NULL FROM comp
  UNION ALL SELECT {head}, 'dna_rate', k, n, NULL FROM dna
  UNION ALL SELECT {head}, 'referrals', NULL, n, n FROM refs
  UNION ALL SELECT {head}, 'waiting_list', NULL, n, n FROM snap
  UNION ALL SELECT {head}, 'waiting_over_18', o18, n, NULL FROM snap
),
series AS (SELECT DISTINCT {prov}specialty, dimension, grp, measure FROM res),
grid AS (SELECT series.*, month_ends.m FROM series CROSS JOIN month_ends)
-- every series gets every month: empty months count 0 (as measures._complete does)
SELECT {gprov}g.m AS month, g.specialty, g.dimension, g.grp AS "group", g.measure,
       CASE WHEN r.denominator IS NULL AND g.measure IN ({percent}) THEN 0 ELSE r.numerator END AS numerator,
       COALESCE(r.denominator, 0) AS denominator,
       CASE WHEN g.measure IN ({percent}) THEN 100.0 * r.numerator / NULLIF(r.denominator, 0)
            WHEN r.denominator IS NULL AND g.measure IN ({count}) THEN 0 ELSE r.value END AS value
FROM grid g LEFT JOIN res r ON {join}
ORDER BY {gprov}CASE g.measure {order} END, g.specialty, g.dimension, g.grp, g.m
"""


def monthly_measures_duckdb(path: str | Path, census_date, months: int = 36, by_specialty: bool = False,
                            by_provider: bool = True, memory_limit: str = "600MB", threads: int | None = None,
                            batch_providers: int = 25) -> pd.DataFrame:
    """The aggregate form computed by DuckDB from a Parquet/CSV file, folder or glob.

    Same columns and values as :func:`qi_equity.measures.monthly_measures` for the
    dimensions ``all, sex_age, ethnic_group, imd_quintile``; one block per provider.

    Parameters
    ----------
    memory_limit : str
        DuckDB's memory limit (it spills to disk beyond it where it can).
    batch_providers : int
        Providers aggregated per query: medians are held in memory per group, so large
        extracts are processed a batch of providers at a time (bounded memory; with one
        Parquet row group per provider each batch reads only its own rows).
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
        missing = set(C.REQUIRED_COLUMNS) - cols
        if missing:
            raise ValueError(f"{path}: required column(s) missing: {sorted(missing)}")
        provs = [r[0] for r in con.execute(f"SELECT DISTINCT provider_code FROM {src} ORDER BY 1").fetchall()]
        parts = []
        batches = [provs[i:i + batch_providers] for i in range(0, len(provs), batch_providers)] if by_provider \
            else [None]
        for batch in batches:
            sub = src if batch is None else (
                f"(SELECT * FROM {src} WHERE provider_code IN ({', '.join(repr(str(p)) for p in batch)}))")
            part = con.execute(_sql(sub, census, win, by_specialty, cols, by_provider)).df()
            for c in ("provider_code", "specialty", "dimension", "group", "measure"):
                if c in part:
                    part[c] = part[c].astype("category")
            parts.append(part)
        res = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        for c in ("provider_code", "specialty", "dimension", "group", "measure"):
            if c in res and not isinstance(res[c].dtype, pd.CategoricalDtype):
                res[c] = res[c].astype("category")
    finally:
        con.close()
    res = res.rename(columns={"grp": "group"}) if "grp" in res else res
    res["month"] = pd.to_datetime(res["month"])
    for c in ("numerator", "denominator", "value"):
        res[c] = pd.to_numeric(res[c], errors="coerce").astype(float)
    if not by_provider:
        res.insert(1, "provider_code", provs[0] if len(provs) == 1 else "")
    # rows come ordered from SQL (provider, measure, specialty, dimension, group, month); string
    # columns are categoricals to keep millions of rows small
    return res[AGGREGATE_COLUMNS].reset_index(drop=True)


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
