"""Metrics files: what a provider sends to the collaborative (``metrics/<code>.json``).

A metrics file is written from a release (:mod:`qi_equity.publication.release`): its ``cells``
(every published count with its key -- what the disclosure audit reads back), the monthly
aggregate and the tables as the release publishes them, the rule it was protected by and the
dimension links that hold on the data. The national path (:func:`write_metrics_from_aggregate`)
publishes an aggregate form the same way, one release per provider.

Schema ``qi_equity.metrics/2``: ``provider_code, provider_name, census_date,
suppression_threshold, rule {threshold, min_median, rounding}, links, cells, monthly,
equity_table, data_quality, icons`` (tables as ``{"columns": [...], "data": [[...], ...]}``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data.io import atomic_write
from qi_equity.publication.protect import Rule
from qi_equity.publication.release import Release, aggregate_release

SCHEMA = "qi_equity.metrics/2"
HEADLINE = "completed_median_wait"
HEADLINES = (HEADLINE, "completed_over_18", "dna_rate")


def clean(v):
    """A JSON-safe scalar (NaN -> None, numpy -> Python, timestamps -> dates)."""
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(f"{float(v):.10g}")
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if v is pd.NA or v is None:
        return None
    return v


def records(df: pd.DataFrame) -> dict:
    """A table as ``{"columns": [...], "data": [[...], ...]}`` (compact, deterministic)."""
    return {"columns": list(df.columns),
            "data": [[clean(v) for v in row] for row in df.itertuples(index=False, name=None)]}


def table(payload: dict) -> pd.DataFrame:
    """Inverse of :func:`records`."""
    return pd.DataFrame(payload["data"], columns=payload["columns"])


def write_metrics(path: str | Path, payload: dict):
    """Write a metrics file deterministically (sorted keys, fixed float precision), atomically."""
    atomic_write(path, json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")


def read_metrics(folder: str | Path) -> list[dict]:
    """All providers' metrics files in a folder, sorted by provider code."""
    return [json.loads(f.read_text()) for f in sorted(Path(folder).glob("*.json"))]


def payload(release: Release, provider_code: str, provider_name: str, census_date, monthly: pd.DataFrame,
            icons: pd.DataFrame, equity_table: pd.DataFrame | None = None,
            data_quality: pd.DataFrame | None = None) -> dict:
    """A metrics file's content. ``monthly`` is the full-data aggregate (all specialties): it is
    published through the release; ``equity_table`` and ``data_quality`` are already views of it."""
    return {
        "schema": SCHEMA,
        "provider_code": provider_code,
        "provider_name": provider_name,
        "census_date": str(pd.Timestamp(census_date).date()),
        "suppression_threshold": release.rule.threshold,
        "rule": {"threshold": release.rule.threshold, "min_median": release.rule.min_median,
                 "rounding": release.rule.rounding},
        "links": list(release.links),
        "cells": records(release.shown_cells()),
        "monthly": records(release.aggregate(monthly)),
        "equity_table": records(equity_table) if equity_table is not None else None,
        "data_quality": records(data_quality) if data_quality is not None else None,
        "icons": records(icons),
    }


def _release_one(args):
    part, rule = args
    return aggregate_release(part, rule)


def publishable_aggregate(agg: pd.DataFrame, rule: Rule | None = None, workers: int = 1) -> tuple[pd.DataFrame, dict]:
    """The aggregate form as published: one release per provider (every relation between its
    rows protected together). Returns the published rows (hidden counts and the values resting
    on them NaN) and the releases by provider code. ``workers > 1`` protects providers in
    parallel processes."""
    rule = rule or Rule()
    groups = [(code, part) for code, part in agg.groupby("provider_code", sort=True)]
    if workers > 1 and len(groups) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as ex:
            rels = list(ex.map(_release_one, [(p, rule) for _, p in groups], chunksize=4))
    else:
        rels = [aggregate_release(p, rule) for _, p in groups]
    releases = {code: r for (code, _), r in zip(groups, rels)}
    parts = [releases[code].aggregate(part) for code, part in groups]
    return (pd.concat(parts) if parts else agg.iloc[0:0]), releases


def headline_icons(agg: pd.DataFrame) -> pd.DataFrame:
    """Variation and assurance icons of the headline measures for all patients, every provider in
    one vectorised SPC call, on full data (an icon is a symbol, not a number): ``provider_code,
    measure, variation, assurance``."""
    from qi_equity.variation import spc

    sel = agg[(agg["specialty"] == "all") & (agg["dimension"] == "all") & agg["measure"].isin(HEADLINES)].copy()
    sel.loc[~(sel["denominator"] > 0), "value"] = float("nan")
    sel["improvement"] = sel["measure"].map({k: measures.MEASURES[k].improvement for k in HEADLINES})
    ic = spc(sel, value="value", date="month", by=["provider_code", "measure"], improvement="improvement").icons()
    return ic[["provider_code", "measure", "variation", "assurance"]]


def write_metrics_from_aggregate(agg: pd.DataFrame, out_dir: str | Path, census_date, names: dict | None = None,
                                 rule: Rule | None = None, threshold: int | None = None, workers: int = 1) -> list[Path]:
    """Metrics files for every provider of a (national) aggregate, without notebooks or HTML: the
    all-specialty rows of each provider protected as its release, icons from full data. Returns
    the paths written."""
    rule = rule or Rule(threshold=threshold or 5)
    allspec = agg[agg["specialty"] == "all"]
    _, releases = publishable_aggregate(allspec, rule, workers)
    icons = headline_icons(allspec)
    out = Path(out_dir)
    paths = []
    for code, part in allspec.groupby("provider_code", sort=True):
        ic = icons[icons["provider_code"] == code][["measure", "variation", "assurance"]]
        path = out / f"{code}.json"
        write_metrics(path, payload(releases[code], code, (names or {}).get(code, code), census_date, part, ic))
        paths.append(path)
    return paths
