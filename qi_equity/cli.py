"""The ``qi-equity`` command line: validate, report, aggregate, audit, sample and national data,
engagement forms.

Exit codes (documented in ``docs/running.md``):

- 0: everything asked for was done;
- 1: a provider's report, a validation or an audit failed (the others were still done);
- 2: a usage, config or input error, or an output folder that cannot be used (nothing was run);
- 3: an unexpected internal error (a bug: ``--debug`` shows the traceback);
- 130 / 143: stopped by SIGINT / SIGTERM (``report --resume`` finishes what was left).

Every error is a line or a few, never a traceback (unless ``--debug``).
"""

from __future__ import annotations

import argparse
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _iso(option: str):
    def parse(value: str) -> str:
        from qi_equity.data.contract import iso_date

        try:
            return iso_date(value, option)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[1]) from None
    parse.__name__ = "date"
    return parse


def _say(*lines, err=False):
    print(*lines, sep="\n", file=sys.stderr if err else sys.stdout, flush=True)


def _engagement_forms(args) -> int:
    from qi_equity.psychology.forms import write_forms
    from qi_equity.psychology.questionnaire import load_questionnaire

    q = load_questionnaire(args.questionnaire)  # a bad file: every problem listed (exit 2), nothing written
    paths = write_forms(q, args.out)
    _say(f"{q.title} ({len(q.questions)} questions): wrote to {args.out}",
         *(f"  {p.name}" for p in paths.values()))
    return EXIT_OK


def _engagement_merge(args) -> int:
    from pathlib import Path

    from qi_equity.psychology.questionnaire import load_questionnaire
    from qi_equity.psychology.responses import Source, merge_responses

    q = load_questionnaire(args.questionnaire)
    sources = [Source(f) for f in args.sources] + [Source(f, m) for f, m in (args.survey or [])]
    if not sources:
        raise ValueError("give at least one source: data-entry files, or --survey EXPORT MAPPING")
    result = merge_responses(sources, q)  # a failing source: every rule it fails (exit 1), nothing written
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    result.responses.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(out)
    _say(result.summary.to_string(index=False), f"{len(result.responses)} respondent(s) written to {out}")
    return EXIT_OK


def _validate(args) -> int:
    from pathlib import Path

    from qi_equity.data.io import load_aggregate, read_raw
    from qi_equity.data.validation import ContractError, validate_extract

    if args.aggregate:
        try:
            df = load_aggregate(args.file)
        except ContractError as err:
            _say(err.report.format())
            return EXIT_FAILED
        _say(f"{args.file}: {len(df):,} aggregate rows meet the aggregate contract.")
        return EXIT_OK
    size_mb = Path(args.file).stat().st_size / 2**20 if Path(args.file).is_file() else 0
    large = size_mb > 20
    t0 = time.time()
    if large:
        _say(f"reading {args.file} ({size_mb:,.0f} MB)...", err=True)
    raw = read_raw(args.file)  # an unreadable file raises a ValueError naming the problem (exit 2)
    if large:
        _say(f"  {len(raw):,} rows read in {time.time() - t0:.0f} s; checking {len(raw.columns)} columns against "
             "the contract...", err=True)
    report = validate_extract(raw, census_date=args.census_date, source=args.file, provider_code=args.provider_code,
                              one_provider=not args.several_providers)
    if large:
        _say(f"  checked in {time.time() - t0:.0f} s", err=True)
    _say(report.format())
    if report.ok:
        from qi_equity.data.contract import derive
        from qi_equity.data.io import to_typed
        from qi_equity.measures import data_quality

        census = args.census_date or raw["referral_date"].max()
        dq = data_quality(derive(to_typed(raw), census))
        _say("\nData quality (reported, not errors):")
        for r in dq.itertuples():
            _say(f"  - {r.label}: {r.count:,} of {r.denominator:,} ({r.percent:.1f}%)")
    return EXIT_OK if report.ok else EXIT_FAILED


def _report(args) -> int:
    from qi_equity.reports.runner import run

    res = run(args.config, args.out, workers=args.workers, providers=args.provider or None,
              only_failed=args.only_failed or args.resume, progress=not args.no_progress, scheduler=args.scheduler,
              kernel=args.kernel, threshold=args.threshold, min_median=args.min_median, hes=args.hes)
    states: dict = {}
    for s in res["providers"]:
        states[s["status"]] = states.get(s["status"], 0) + 1
    if args.no_progress:  # otherwise each provider's line was printed as it finished
        for s in res["providers"]:
            line = f"  {s['code']:<6} {s['status']}"
            if s["status"] != "ok":
                first = (s.get("error") or "").splitlines()[:1]
                line += f" at {s.get('stage')}: {first[0] if first else ''}"
            _say(line)
    _say(", ".join(f"{n} {k}" for k, n in states.items()) + " (of the collaborative's providers)")
    if res["collaborative"]:
        _say(f"collaborative report: {res['collaborative']['status']}"
             + (f" ({len(res['left_out'])} provider(s) not compared: see the index)" if res.get("left_out") else ""))
    _say(f"index: {res['out']}/index.html")
    if res.get("interrupted"):
        _say(f"interrupted by {res['interrupted']}: run the same command with --resume to finish", err=True)
        import signal

        return 128 + int(getattr(signal, res["interrupted"]))
    return EXIT_OK if res["ok"] else EXIT_FAILED


def _sample(args) -> int:
    from qi_equity.data.sample import SEED, generate

    path = generate(args.out, seed=args.seed if args.seed is not None else SEED)
    _say(f"wrote {path}")
    return EXIT_OK


def _national(args) -> int:
    from qi_equity.data.national import generate

    _say(f"wrote {generate(args.out, n_providers=args.providers, pathways=args.pathways)}")
    return EXIT_OK


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
    from qi_equity.ingest import aggregate_extract
    from qi_equity.data.io import write_frame

    agg = aggregate_extract(args.file, args.census_date, by_specialty=args.by_specialty, engine=args.engine)
    if args.internal:
        out = internal_path(args.out)
        what = "UNSUPPRESSED internal aggregate (not for publication or sharing)"
    else:
        from qi_equity.reports.provider import disclosure_rule, publishable_monthly

        out = args.out
        rule = disclosure_rule(args.threshold, args.min_median, args.hes)
        agg = publishable_monthly(agg, rule=rule)
        what = f"suppressed, publishable aggregate ({rule.describe().split('.')[0].lower()})"
    write_frame(agg, out)
    _say(f"wrote {len(agg):,} rows of the {what} for {agg['provider_code'].nunique()} provider(s) to {out}")
    return EXIT_OK


def _audit(args) -> int:
    from qi_equity.disclosure import audit, audit_summary

    issues = audit(args.folder, threshold=args.threshold, min_median=args.min_median, workers=args.workers)
    _say(audit_summary(issues))
    if args.csv:
        issues.to_csv(args.csv, index=False)
        _say(f"issues written to {args.csv}")
    return EXIT_FAILED if len(issues) else EXIT_OK


def _rule_args(p):
    p.add_argument("--threshold", type=int, default=5, help="suppress counts from 1 to this minus 1")
    p.add_argument("--min-median", type=int, default=10, help="no median on fewer pathways (at least 10)")
    p.add_argument("--hes", action="store_true", help="NHS Digital's HES rule: hide 1-7, round other counts to 5")


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _sub(sub, name, summary, description, examples):
    return sub.add_parser(name, help=summary, description=f"{summary}.\n\n{description}",
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in examples), formatter_class=_Help)


def parser() -> argparse.ArgumentParser:
    from qi_equity import __version__

    p = argparse.ArgumentParser(
        prog="qi-equity", formatter_class=_Help,
        description="Equity-of-access kit for NHS provider collaboratives: validate extracts, run every "
                    "provider's report and the collaborative's, publish suppressed aggregates, audit what is "
                    "published.",
        epilog="exit codes: 0 done; 1 a report, validation or audit failed; 2 usage, config, input or output-folder "
               "error (nothing run); 3 internal error; 130/143 interrupted (report --resume finishes).\n"
               "'qi-equity COMMAND --help' describes each command. docs/running.md covers schedules and signals.")
    p.add_argument("--version", action="version", version=f"qi-equity {__version__}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    v = _sub(sub, "validate", "check a provider extract against the data contract",
             "Reads a CSV (UTF-8, comma delimited) or Parquet extract and checks every contract rule, naming the "
             "column, the rule, how many rows fail and sample values. Nothing is dropped.",
             ["qi-equity validate data_samples/providers/XQA.csv --census-date 2026-03-31",
              "qi-equity validate XQA.csv --provider-code XQA",
              "qi-equity validate national.parquet --several-providers"])
    v.add_argument("file", help="the extract (CSV or Parquet)")
    v.add_argument("--census-date", type=_iso("--census-date"), default=None,
                   help="dates after it fail (YYYY-MM-DD)")
    v.add_argument("--provider-code", default=None, help="the code the extract must hold")
    v.add_argument("--several-providers", action="store_true",
                   help="the file holds several providers' rows by design (a national extract)")
    v.add_argument("--aggregate", action="store_true", help="the file is in the aggregate form")
    v.set_defaults(func=_validate)
    r = _sub(sub, "report", "run every provider's report and the collaborative report",
             "Each provider is validated, its notebook run and its report, metrics and findings published together "
             "into OUT/<collaborative>/ (one run at a time per folder). SIGTERM or SIGINT stops the run cleanly; "
             "--resume then runs exactly what did not finish.",
             ["qi-equity report --config data_samples/collaborative.yaml --out reports/",
              "qi-equity report --config collab.yaml --out reports/ --resume",
              "qi-equity report --config collab.yaml --provider XQC --threshold 8"])
    r.add_argument("--config", required=True, help="collaborative YAML (see data_samples/collaborative.yaml)")
    r.add_argument("--out", default="reports", help="output folder (OUT/<collaborative>/ is written)")
    r.add_argument("--workers", type=int, default=None, help="parallel provider workers (default: one per core)")
    r.add_argument("--provider", action="append", help="run only this provider (repeatable)")
    r.add_argument("--resume", action="store_true",
                   help="run only providers whose outputs are not current (failed, interrupted, not started)")
    r.add_argument("--only-failed", action="store_true", help="the same as --resume")
    r.add_argument("--scheduler", default=None, help="Dask distributed scheduler address for national runs")
    r.add_argument("--kernel", default="qi-equity", help="Jupyter kernel name the notebooks run on")
    _rule_args(r)
    r.add_argument("--no-progress", action="store_true", help="no line per provider as it finishes")
    r.set_defaults(func=_report)
    s = _sub(sub, "sample-data", "(re)generate the bundled synthetic sample collaborative",
             "Writes the six-provider synthetic collaborative (extracts, config, lens data).",
             ["qi-equity sample-data --out data_samples"])
    s.add_argument("--out", default="data_samples", help="folder to write")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: the bundled sample's)")
    s.set_defaults(func=_sample)
    n = _sub(sub, "national-data", "write a national-scale synthetic extract (Parquet, chunked)",
             "Synthetic pathways for many providers, written in chunks with bounded memory.",
             ["qi-equity national-data --out national.parquet"])
    n.add_argument("--out", default="national.parquet", help="Parquet file to write")
    n.add_argument("--providers", type=int, default=200, help="number of providers")
    n.add_argument("--pathways", type=int, default=7_500_000, help="number of pathways")
    n.set_defaults(func=_national)
    a = _sub(sub, "aggregate", "monthly aggregates of an extract, suppressed for publication",
             "The aggregate form (month x provider x specialty x dimension x group x measure) of a pathway extract. "
             "The engine is chosen by the input's rows and format (DuckDB for large or many-file inputs). What is "
             "written is suppressed unless --internal.",
             ["qi-equity aggregate national.parquet --census-date 2026-03-31 --by-specialty --out agg.parquet",
              "qi-equity aggregate XQA.csv --census-date 2026-03-31 --out XQA_agg.csv --threshold 8"])
    a.add_argument("file", help="CSV or Parquet file, a folder of Parquet files, or a glob")
    a.add_argument("--census-date", type=_iso("--census-date"), required=True, help="month-end census date, YYYY-MM-DD")
    a.add_argument("--out", required=True, help=".parquet or .csv")
    a.add_argument("--engine", default="auto", choices=["auto", "pandas", "duckdb"],
                   help="auto: DuckDB for folders, globs and inputs over a million rows; pandas (full validation) "
                        "otherwise")
    a.add_argument("--by-specialty", action="store_true", help="also every specialty's series")
    _rule_args(a)
    a.add_argument("--internal", action="store_true",
                   help="write the UNSUPPRESSED form instead, for use inside the trust only; its file name "
                        f"gets '{INTERNAL_SUFFIX}'")
    a.set_defaults(func=_aggregate)
    au = _sub(sub, "audit", "read published outputs back and report any suppressed count that can be worked out",
              "Reads every metrics and findings file and every HTML table of a report folder and checks that no "
              "hidden count can be recovered or narrowly bounded from what is published.",
              ["qi-equity audit reports/north_weald", "qi-equity audit reports/north_weald --threshold 8 --csv issues.csv"])
    au.add_argument("folder", help="a folder of published outputs (e.g. reports/<collaborative>)")
    au.add_argument("--threshold", type=int, default=None, help="audit against this threshold (default: the files')")
    au.add_argument("--min-median", type=int, default=None, help="fewest pathways a median may rest on")
    au.add_argument("--workers", type=int, default=None,
                    help="providers audited at once (default: the machine's cores)")
    au.add_argument("--csv", default=None, help="also write the issues to this CSV file")
    au.set_defaults(func=_audit)
    e = sub.add_parser("engagement", help="engagement tools: paper forms, tally sheets, data-entry workbooks",
                       description="Tools for hearing from the people a trust serves (docs/engagement.md).",
                       formatter_class=_Help)
    esub = e.add_subparsers(dest="engagement_command", required=True, metavar="TOOL")
    ef = _sub(esub, "forms", "write the offline tools of a questionnaire",
              "A printable A4 paper form (and a large-print one), a tally sheet for community events, and a "
              "data-entry workbook (.xlsx with drop-down validation, plus a CSV twin and the answer codes) for "
              "typing paper answers in. QUESTIONNAIRE is a YAML file (docs/engagement.md) or 'default' / "
              "'easy_read' for the kit's own.",
              ["qi-equity engagement forms default --out forms/",
               "qi-equity engagement forms easy_read --out forms_easy_read/",
               "qi-equity engagement forms my_questionnaire.yaml --out forms/"])
    ef.add_argument("questionnaire", help="a questionnaire YAML file, or 'default' or 'easy_read'")
    ef.add_argument("--out", required=True, help="folder to write the forms into")
    ef.set_defaults(func=_engagement_forms)
    em = _sub(esub, "merge", "check and merge questionnaire responses from every channel into one table",
              "Each source is checked against the questionnaire first (file, column, rule and rows named; nothing "
              "is written when one fails). Rows without consent are set aside, rows sharing a respondent reference "
              "are merged, and every row is accounted for in the summary (docs/engagement.md).",
              ["qi-equity engagement merge default paper.xlsx online.csv --out responses.csv",
               "qi-equity engagement merge default paper.xlsx --survey forms_export.xlsx msforms.yaml --out responses.csv"])
    em.add_argument("questionnaire", help="a questionnaire YAML file, or 'default' or 'easy_read'")
    em.add_argument("sources", nargs="*", help="data-entry files (.xlsx or .csv) and online responses")
    em.add_argument("--survey", nargs=2, action="append", metavar=("EXPORT", "MAPPING"),
                    help="a survey tool's export and its column mapping (repeatable)")
    em.add_argument("--out", required=True, help="the merged responses (CSV)")
    em.set_defaults(func=_engagement_merge)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        from qi_equity.data.validation import ContractError

        if not isinstance(exc, ContractError) or args.debug:
            return _error(args, exc)
        _say(exc.report.format(), err=True)  # a file that fails the contract: the rules it fails
        return EXIT_FAILED
    except KeyboardInterrupt:
        _say(f"qi-equity {args.command}: interrupted", err=True)
        return 130


def _error(args, exc: BaseException) -> int:
    if args.debug:
        raise exc
    if isinstance(exc, (ValueError, OSError)):
        # a user's error (a config, an input, a path, an output folder): said plainly
        _say(f"qi-equity {args.command}: error: {_plain(exc)}", err=True)
        return EXIT_USAGE
    _say(f"qi-equity {args.command}: internal error: {type(exc).__name__}: {exc}",  # a bug
         "(this is a bug in qi-equity; run again with --debug for the traceback and report it)", err=True)
    return EXIT_INTERNAL


def _plain(exc: BaseException) -> str:
    """An OS error as one sentence (``[Errno 2] No such file or directory: 'x'`` -> ``x: no such file ...``)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{where}: {exc.strerror.lower()}" if where else exc.strerror.lower()
    return str(exc)


if __name__ == "__main__":
    sys.exit(main())
