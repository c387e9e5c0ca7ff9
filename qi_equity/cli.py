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
              kernel=args.kernel, threshold=args.threshold, min_median=args.min_median, hes=args.hes)
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


INTERNAL_SUFFIX = ".INTERNAL-unsuppressed"


def internal_path(out: str) -> str:
    """Where the unsuppressed form is written: its name says what it is
    (``agg.csv`` -> ``agg.INTERNAL-unsuppressed.csv``)."""
    from pathlib import Path

    p = Path(out)
    if INTERNAL_SUFFIX in p.name:
        return str(p)
    return str(p.with_name(p.stem + INTERNAL_SUFFIX + p.suffix))


def _aggregate(args) -> int:
    from qi_equity.data.ingest import aggregate_extract
    from qi_equity.reports.provider import disclosure_rule, publishable_monthly

    agg = aggregate_extract(args.file, args.census_date, by_specialty=args.by_specialty, engine=args.engine)
    if args.internal:
        out = internal_path(args.out)
        what = "UNSUPPRESSED internal aggregate (not for publication or sharing)"
    else:
        out = args.out
        rule = disclosure_rule(args.threshold, args.min_median, args.hes)
        agg = publishable_monthly(agg, rule=rule)
        what = f"suppressed, publishable aggregate ({rule.describe().split('.')[0].lower()})"
    agg.to_parquet(out) if str(out).endswith(".parquet") else agg.to_csv(out, index=False)
    print(f"wrote {len(agg):,} rows of the {what} for {agg['provider_code'].nunique()} provider(s) to {out}")
    return 0


def _audit(args) -> int:
    from qi_equity.disclosure import audit, audit_summary

    issues = audit(args.folder, threshold=args.threshold, min_median=args.min_median)
    print(audit_summary(issues))
    if args.csv:
        issues.to_csv(args.csv, index=False)
        print(f"issues written to {args.csv}")
    return 1 if len(issues) else 0


def _rule_args(p):
    p.add_argument("--threshold", type=int, default=5, help="suppress counts from 1 to this minus 1 (default 5)")
    p.add_argument("--min-median", type=int, default=10, help="no median on fewer pathways (at least 10)")
    p.add_argument("--hes", action="store_true", help="NHS Digital's HES rule: hide 1-7, round other counts to 5")


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
    _rule_args(r)
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
    _rule_args(a)
    a.add_argument("--internal", action="store_true",
                   help="write the UNSUPPRESSED form instead, for use inside the trust only; its file name "
                        f"gets '{INTERNAL_SUFFIX}'")
    a.set_defaults(func=_aggregate)
    au = sub.add_parser("audit", help="read published outputs back and report any suppressed count that can be "
                                      "worked out or narrowly bounded")
    au.add_argument("folder", help="a folder of published outputs (e.g. reports/<collaborative>)")
    au.add_argument("--threshold", type=int, default=None, help="audit against this threshold (default: the files')")
    au.add_argument("--min-median", type=int, default=None, help="fewest pathways a median may rest on")
    au.add_argument("--csv", default=None, help="also write the issues to this CSV file")
    au.set_defaults(func=_audit)
    args = p.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        # a user's error (a config, a path, a setting): said plainly, no traceback
        print(f"qi-equity {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
