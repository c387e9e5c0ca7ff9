"""The ``qi-equity`` command line: validate, report, sample-data."""

from __future__ import annotations

import argparse
import sys


def _validate(args) -> int:
    from qi_equity.data.io import load_aggregate, read_raw
    from qi_equity.data.validation import ContractError, validate_extract

    if args.aggregate:
        try:
            df = load_aggregate(args.file)
        except ContractError as err:
            print(err.report.format())
            return 1
        print(f"{args.file}: {len(df):,} aggregate rows meet the aggregate contract.")
        return 0
    try:
        raw = read_raw(args.file)
    except Exception as exc:
        print(f"{args.file}: could not be read: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    report = validate_extract(raw, census_date=args.census_date, source=args.file)
    print(report.format())
    if report.ok:
        from qi_equity.data.contract import derive
        from qi_equity.data.io import to_typed
        from qi_equity.measures import data_quality

        census = args.census_date or raw["referral_date"].max()
        dq = data_quality(derive(to_typed(raw), census))
        print("\nData quality (reported, not errors):")
        for r in dq.itertuples():
            print(f"  - {r.label}: {r.count:,} of {r.denominator:,} ({r.percent:.1f}%)")
    return 0 if report.ok else 1


def _report(args) -> int:
    from qi_equity.reports.runner import run

    res = run(args.config, args.out, workers=args.workers, providers=args.provider or None,
              only_failed=args.only_failed, progress=not args.no_progress, scheduler=args.scheduler,
              kernel=args.kernel, threshold=args.threshold)
    for s in res["providers"]:
        line = f"{s['code']}: {s['status']}"
        if s["status"] != "ok":
            first = (s.get("error") or "").splitlines()[:1]
            line += f" at {s.get('stage')}: {first[0] if first else ''}"
        print(line)
    if res["collaborative"]:
        print(f"collaborative report: {res['collaborative']['status']}")
    print(f"index: {res['out']}/index.html")
    return 0 if res["ok"] else 1


def _sample(args) -> int:
    from qi_equity.data.sample import SEED, generate

    path = generate(args.out, seed=args.seed if args.seed is not None else SEED)
    print(f"wrote {path}")
    return 0


def _national(args) -> int:
    from qi_equity.data.national import generate

    print(f"wrote {generate(args.out, n_providers=args.providers, pathways=args.pathways)}")
    return 0


def _aggregate(args) -> int:
    from qi_equity.data.ingest import aggregate_extract

    agg = aggregate_extract(args.file, args.census_date, by_specialty=args.by_specialty, engine=args.engine)
    agg.to_parquet(args.out) if str(args.out).endswith(".parquet") else agg.to_csv(args.out, index=False)
    print(f"wrote {len(agg):,} aggregate rows for {agg['provider_code'].nunique()} provider(s) to {args.out}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="qi-equity", description="Equity-of-access kit for NHS provider collaboratives")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="check a provider extract against the data contract")
    v.add_argument("file")
    v.add_argument("--census-date", default=None, help="dates after it fail (YYYY-MM-DD)")
    v.add_argument("--aggregate", action="store_true", help="the file is in the aggregate form")
    v.set_defaults(func=_validate)
    r = sub.add_parser("report", help="run every provider's report and the collaborative report")
    r.add_argument("--config", required=True, help="collaborative YAML (see data_samples/collaborative.yaml)")
    r.add_argument("--out", default="reports", help="output folder (reports/<collaborative>/ is written)")
    r.add_argument("--workers", type=int, default=None, help="parallel provider workers (default: one per core)")
    r.add_argument("--provider", action="append", help="run only this provider (repeatable)")
    r.add_argument("--only-failed", action="store_true", help="re-run only providers that failed last time")
    r.add_argument("--scheduler", default=None, help="Dask distributed scheduler address for national runs")
    r.add_argument("--kernel", default="qi-equity", help="Jupyter kernel name the notebooks run on")
    r.add_argument("--threshold", type=int, default=5, help="suppress counts from 1 to this minus 1")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=_report)
    s = sub.add_parser("sample-data", help="(re)generate the bundled synthetic sample collaborative")
    s.add_argument("--out", default="data_samples")
    s.add_argument("--seed", type=int, default=None)
    s.set_defaults(func=_sample)
    n = sub.add_parser("national-data", help="write a national-scale synthetic extract (Parquet, chunked)")
    n.add_argument("--out", default="national.parquet")
    n.add_argument("--providers", type=int, default=200)
    n.add_argument("--pathways", type=int, default=7_500_000)
    n.set_defaults(func=_national)
    a = sub.add_parser("aggregate", help="monthly aggregates of an extract (DuckDB for large files)")
    a.add_argument("file", help="CSV or Parquet file, a folder of Parquet files, or a glob")
    a.add_argument("--census-date", required=True)
    a.add_argument("--out", required=True, help=".parquet or .csv")
    a.add_argument("--engine", default="auto", choices=["auto", "pandas", "duckdb"])
    a.add_argument("--by-specialty", action="store_true")
    a.set_defaults(func=_aggregate)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
