"""Building blocks of the collaborative report. They read only the providers' metrics
files (suppressed aggregates), never patient-level data, so each trust can run its own
provider report and share just its metrics file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.measures import MEASURES
from qi_equity.reports.provider import build_metrics, read_metrics, table

SAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "data_samples" / "collaborative.yaml"


def sample_metrics(cache_dir: str | Path | None = None) -> Path:
    """Metrics of the bundled sample collaborative, built once into a cache folder."""
    import tempfile

    folder = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "qi-equity-sample-metrics"
    if not list(folder.glob("*.json")):
        build_metrics(SAMPLE_CONFIG, folder, validate=False)
    return folder
from qi_equity.variation import spc


def load(metrics_dir: str | Path) -> dict:
    """All metrics files of a folder as DataFrames.

    Returns
    -------
    dict
        ``providers`` (provider_code, provider_name, census_date), ``monthly`` (aggregate form
        plus provider_name), ``equity`` (equity tables), ``data_quality`` and ``icons``.
    """
    files = read_metrics(metrics_dir or sample_metrics())
    if not files:
        raise FileNotFoundError(f"no metrics files (*.json) in {metrics_dir}")
    prov = pd.DataFrame([{k: f[k] for k in ("provider_code", "provider_name", "census_date")} for f in files])

    def frame(key):
        parts = []
        for f in files:
            d = table(f[key])
            d.insert(0, "provider_name", f["provider_name"])
            if "provider_code" not in d:
                d.insert(0, "provider_code", f["provider_code"])
            parts.append(d)
        return pd.concat(parts, ignore_index=True)

    monthly = frame("monthly")
    monthly["month"] = pd.to_datetime(monthly["month"])
    return {"providers": prov, "monthly": monthly, "equity": frame("equity_table"),
            "data_quality": frame("data_quality"), "icons": frame("icons")}


def headline_table(m: dict) -> pd.DataFrame:
    """One row per provider: the last-12-month 'All patients' row of each equity table."""
    e = m["equity"]
    e = e[e["dimension"] == "all"]
    return pd.DataFrame({
        "Provider": e["provider_code"], "Name": e["provider_name"],
        "Completed (12 m)": e["completed"], "Median wait (wk)": e["median_wait"].round(1),
        "% over 18 wk": e["over_18_pct"].round(1), "% over 52 wk": e["over_52_pct"].round(1),
        "DNA %": e["dna_rate"].round(1), "Waiting now": e["waiting"],
    }).reset_index(drop=True)


def provider_spc(m: dict, measure: str = "completed_median_wait", dimension: str = "all", group: str = "All"):
    """SPC of one measure for every provider (small multiples)."""
    d = m["monthly"]
    d = d[(d["measure"] == measure) & (d["dimension"] == dimension) & (d["group"] == group)].copy()
    d.loc[~(d["denominator"] > 0), "value"] = np.nan
    return spc(d, value="value", date="month", by=["provider_code"], improvement=MEASURES[measure].improvement)


def icon_matrix(m: dict, measures=("completed_median_wait", "completed_over_18", "dna_rate")) -> pd.DataFrame:
    """Rows providers, columns measures, cells variation icons (from the full monthly series)."""
    cols = {}
    for name in measures:
        r = provider_spc(m, name)
        cols[MEASURES[name].label] = r.icons().set_index("provider_code")["variation"]
    out = pd.DataFrame(cols)
    out.index.name = "Provider"
    return out.reset_index()


def learning_from(matrix: pd.DataFrame) -> pd.DataFrame:
    """Providers whose latest point shows special-cause improvement on any measure."""
    long = matrix.melt(id_vars="Provider", var_name="Measure", value_name="Variation")
    return long[long["Variation"].astype(str).str.startswith("improvement")].reset_index(drop=True)


def recording_quality(m: dict) -> pd.DataFrame:
    """Ethnicity and IMD recording by provider (percent of pathways)."""
    dq = m["data_quality"]
    dq = dq[dq["label"].isin(["Ethnicity not recorded (Z or 99)", "IMD decile unmatched"])]
    return dq.pivot(index="provider_code", columns="label", values="percent").round(1).reset_index().rename(
        columns={"provider_code": "Provider"})


FUNNEL_MEASURES = {  # name: (label, count column, denominator column in the equity table)
    "dna_rate": ("Pathways with a DNA (%), last 12 months", "dna", "dna_denominator"),
    "completed_over_18": ("Completed pathways over 18 weeks (%), last 12 months", "over_18", "completed"),
}


def provider_funnel(m: dict, measure: str = "dna_rate", highlight=None):
    """Funnel of one measure across providers (12-month 'All patients' counts).

    Providers whose counts were suppressed cannot be placed: they are listed in
    ``result.options['excluded']``, never dropped silently.
    """
    from qi_equity.equity import funnel

    label, xcol, ncol = FUNNEL_MEASURES[measure]
    e = m["equity"]
    e = e[e["dimension"] == "all"][["provider_code", xcol, ncol]].rename(columns={xcol: "numerator", ncol: "denominator"})
    bad = e["numerator"].isna() | ~(e["denominator"] > 0)
    res = funnel(e[~bad], group="provider_code", kind="proportion", multiplier=100, highlight=highlight)
    res.options["excluded"] = e.loc[bad, "provider_code"].tolist()
    res.options["label"] = label
    return res


def plot_funnels_highlighting_each(m: dict, measure: str = "dna_rate", ncols: int = 3):
    """Small multiples: the same funnel once per provider, that provider highlighted."""
    import math

    from qi_equity.plotting import new_figure, plot_funnel
    from qi_equity.plotting.spc import fixed_margins

    base = provider_funnel(m, measure)
    codes = base.data["group"].tolist()
    nrows = math.ceil(len(codes) / ncols)
    fig, axes = new_figure(width=4.2 * min(ncols, len(codes)), height=3.3 * nrows + 0.3, nrows=nrows,
                           ncols=min(ncols, len(codes)), layout=None)
    alts = []
    for i, code in enumerate(codes):
        ax = axes.ravel()[i]
        plot_funnel(base, ax=ax, highlight=code, title=f"{code}", label_outliers=False)
        alts.append(ax.figure.qi_alt_text)
        if ax.get_legend() and i:
            ax.get_legend().remove()
    for j in range(len(codes), axes.size):
        axes.ravel()[j].set_visible(False)
    fig.suptitle(base.options["label"], fontsize=11, x=0.01, ha="left")
    fixed_margins(fig, left=0.6, top=0.7, bottom=0.5, wspace=0.55, hspace=0.85)
    excluded = base.options["excluded"]
    fig.qi_alt_text = base.options["label"] + ". " + " ".join(alts) + (
        f" Not placed (suppressed counts): {', '.join(excluded)}." if excluded else "")
    return fig, base


def provider_gaps(m: dict, measure: str = "dna_rate", dimension: str = "imd_quintile",
                  group: str = "Q1 most deprived", reference: str = "Q5 least deprived"):
    """The gap between a group and its reference, charted per provider (widening = concern)."""
    from qi_equity.variation import gap

    d = m["monthly"]
    d = d[(d["measure"] == measure) & (d["dimension"] == dimension) & d["group"].isin([group, reference])].copy()
    d.loc[~(d["denominator"] > 0), "value"] = np.nan
    return gap(d, reference=reference, groups=[group], by=["provider_code"],
               higher_is_worse=MEASURES[measure].improvement != "increase")
