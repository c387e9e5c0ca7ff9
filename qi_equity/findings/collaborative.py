"""Collaborative findings: which provider is unusual, and who to learn from.

Built only from what providers publish (their suppressed metrics files and findings), never
from pathways:

- **collaborative outlier**: each provider's last-12-month rate of every percentage measure
  (all patients) against the *other* providers, on a leave-one-out funnel, so that an outlier
  cannot inflate its own limits -- standardised for the provider's mix of patients by IMD quintile
  (indirect standardisation from the published equity tables,
  :func:`qi_equity.equity.funnel.loo_funnel_standardised`): a trust serving more deprived areas
  is not "unusual" for the DNA its case mix predicts. Quintiles suppressed at any provider are
  merged, for every provider, into one stratum (the published total minus the published
  quintiles); with fewer than two quintiles left the crude rates are compared, and the finding
  says which (standardising on each provider's own published cells would keep its zeros and drop
  its small counts, biasing it down). The p-values of all providers x measures are one family under Benjamini-Hochberg. A
  provider worse than the others is a finding of concern; one better is positive deviance, listed in
  who to learn from. However many providers, at least ``MIN_BETWEEN_SD`` (10%) variation between
  trusts is assumed: with four providers it cannot be estimated at all, and with large
  denominators a trust would otherwise stand out for the ordinary differences between trusts.
- **who to learn from**: providers whose gaps narrowed or whose groups improved (their
  ``improvement`` and improving ``group_changing`` findings) and positive outliers, each matched
  with the providers that have a finding of concern on the same measure family.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qi_equity.equity.funnel import MIN_BETWEEN_SD, FunnelResult, loo_funnel, loo_funnel_standardised  # noqa: F401
from qi_equity.equity.multiplicity import adjust
from qi_equity.findings.build import FINDING_COLUMNS, MEASURE_FAMILY, finding_id
from qi_equity.findings.words import sentence

#: Percentage measures compared across providers: (equity-table count, denominator).
OUTLIER_MEASURES = {
    "dna_rate": ("dna", "dna_denominator"),
    "completed_over_18": ("over_18", "completed"),
    "completed_over_52": ("over_52", "completed"),
    "removed_other": ("removed", "completed"),
}


@dataclass
class CollaborativeResult:
    """Result of :func:`scan_collaborative`.

    Attributes
    ----------
    data : pandas.DataFrame
        Collaborative findings (the provider findings columns, plus ``provider_name``, ``limit``
        (95% or 99.8%) and ``method``), strongest first.
    funnels : dict
        Measure -> the leave-one-out :class:`~qi_equity.equity.funnel.FunnelResult`.
    learn_from : pandas.DataFrame
        ``provider_code, provider_name, kind, measure, dimension, group, sentence, could_help``:
        what improved where, and the providers with a concern on the same measure family.
    excluded : dict
        Measure -> providers that could not be placed (suppressed or missing counts), never
        dropped silently.
    """

    data: pd.DataFrame
    funnels: dict
    learn_from: pd.DataFrame
    excluded: dict = field(default_factory=dict)


def _equity(metrics: list[dict], dimension: str = "all") -> pd.DataFrame:
    parts = []
    for m in metrics:
        t = m.get("equity_table")
        if not t:
            continue
        e = pd.DataFrame(t["data"], columns=t["columns"])
        e = e[e["dimension"] == dimension].copy()
        e["provider_code"] = m["provider_code"]
        e["provider_name"] = m.get("provider_name", m["provider_code"])
        parts.append(e)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _equity_all(metrics: list[dict]) -> pd.DataFrame:
    return _equity(metrics, "all")


def scan_collaborative(metrics: list[dict], provider_findings: pd.DataFrame | None = None, q: float = 0.05,
                       fdr_method: str = "fdr_bh", window_months: int = 12) -> CollaborativeResult:
    """Collaborative findings from the providers' metrics (and their findings, for who to learn from).

    Parameters
    ----------
    metrics : list of dict
        The providers' metrics files (``qi_equity.metrics/1``).
    provider_findings : pandas.DataFrame, optional
        Every provider's published findings (``findings.json`` rows).
    """
    e = _equity_all(metrics)
    funnels, excluded, tests = {}, {}, []
    for measure, (x, n) in OUTLIER_MEASURES.items():
        if e.empty or x not in e or n not in e:
            continue
        d = e[["provider_code", "provider_name", x, n]].rename(columns={x: "numerator", n: "denominator"})
        bad = d["numerator"].isna() | ~(pd.to_numeric(d["denominator"], errors="coerce") > 0)
        excluded[measure] = d.loc[bad, "provider_code"].tolist()
        d = d[~bad]
        if len(d) < 3:
            continue
        quint = _equity(metrics, "imd_quintile")
        quint = quint[quint["provider_code"].isin(d["provider_code"])] if len(quint) else quint
        # Standardise by IMD quintile. Quintiles suppressed at any provider are merged, for every
        # provider, into one stratum whose counts are the published all-patients total minus the
        # published quintiles (exactly what suppression leaves derivable). Keeping each provider's
        # own published cells instead would keep its zeros and drop its small counts.
        complete = False
        if len(quint) and set(quint["provider_code"]) == set(d["provider_code"]) and x in quint and n in quint:
            ok = quint.assign(_ok=quint[x].notna() & quint[n].notna()).groupby("group")["_ok"].all()
            kept = quint[quint["group"].isin(ok[ok].index)][["provider_code", "group", x, n]]
            totals = d.set_index("provider_code")[["numerator", "denominator"]]
            rest = totals.sub(kept.groupby("provider_code")[[x, n]].sum().set_axis(["numerator", "denominator"], axis=1),
                              fill_value=0)
            rest = rest.reset_index().rename(columns={"numerator": x, "denominator": n}).assign(group="other quintiles")
            if not ok.all():
                kept = pd.concat([kept, rest[["provider_code", "group", x, n]]], ignore_index=True)
            complete = bool(ok.sum() >= 2) and (rest[x] >= 0).all() and (rest[n] >= 0).all()
        if complete:
            strata = kept.rename(columns={x: "numerator", n: "denominator", "group": "stratum"})
        else:  # crude: one stratum, on the same scale and with the same floor of between-trust variation
            strata = d.assign(stratum="all")[["provider_code", "stratum", "numerator", "denominator"]]
        res = loo_funnel_standardised(strata, group="provider_code", multiplier=100)
        res.options["standardised"] = bool(complete)
        res.options["label"] = measure
        funnels[measure] = res
        t = res.data.assign(measure=measure, provider_name=d["provider_name"].to_numpy())
        tests.append(t)
    rows, better = [], []
    if tests:
        t = pd.concat(tests, ignore_index=True)
        t["q_value"] = adjust(t["p_value"], fdr_method)
        for r in t[(t["q_value"] <= q)].itertuples():
            worse = r.z > 0  # every compared measure: higher is worse
            if not worse:  # better than the others: positive deviance, for who to learn from
                better.append(dict(provider_code=r.group, provider_name=r.provider_name, kind="collaborative_outlier",
                                   measure=r.measure, dimension="all", group="All", direction="better",
                                   sentence=f"{r.provider_name}'s {_short(r.measure)} over the last {window_months} "
                                            f"months ({r.value:.1f}%) is below the other trusts' ({r.target:.1f}%), "
                                            f"beyond their {'99.8%' if abs(r.z) > 3.090232 else '95%'} limits."))
                continue
            rows.append(dict(provider_code=r.group, provider_name=r.provider_name, kind="collaborative_outlier",
                             measure=r.measure, dimension="all", group="All", reference_group="the other providers",
                             specialty="all", direction="worse" if worse else "better", value_group=r.value,
                             value_reference=r.target, size=r.value - r.target, z=r.z, statistic=r.z,
                             strength=abs(r.z), p_value=r.p_value, q_value=r.q_value, grain=0,
                             limit="99.8%" if abs(r.z) > 3.090232 else "95%", window_months=window_months,
                             method=_method_words(funnels[r.measure], r.n_others),
                             standardised=bool(funnels[r.measure].options.get("standardised")),
                             test="leave-one-out random-effects funnel (Ohlssen, Sharples and Spiegelhalter 2007)",
                             evidence="Funnel plot: this provider against the others", headline=True))
    data = pd.DataFrame(rows)
    if len(data):
        data["finding_id"] = [finding_id(p, "collaborative_outlier", m, "all", "All", "all")
                              for p, m in zip(data["provider_code"], data["measure"])]
        data["chart_id"] = "chart-" + data["finding_id"]
        data["sentence"] = [sentence(r) for _, r in data.iterrows()]
        data = data.sort_values("strength", ascending=False).reset_index(drop=True)
    for c in FINDING_COLUMNS + ["provider_name", "limit", "method", "standardised"]:
        if c not in data:
            data[c] = np.nan if len(data) else pd.Series(dtype=object)
    return CollaborativeResult(data, funnels, learn_from(provider_findings, pd.DataFrame(better), data), excluded)


def _short(measure: str) -> str:
    from qi_equity.data import vocabulary as V

    return V.measure(measure, "short")


def _method_words(res: FunnelResult, n_others: int) -> str:
    mix = bool(res.options.get("standardised"))
    words = "each provider against the others" + (", allowing for the deprivation of its patients" if mix else
                                                  " (crude rates: no deprivation breakdown for every provider)")
    return words + (", allowing for the variation between trusts" if n_others >= 4 else
                    ", allowing for at least 10% variation between trusts (too few to estimate it)")


def learn_from(provider_findings: pd.DataFrame | None, better: pd.DataFrame | None = None,
               worse: pd.DataFrame | None = None) -> pd.DataFrame:
    """Who to learn from: improvements (narrowing gaps, improving groups) and better-than-others
    providers (``better``), each with the providers whose concerns -- their findings, and the
    collaborative outliers ``worse`` -- are on the same measure family."""
    cols = ["provider_code", "provider_name", "kind", "measure", "dimension", "group", "sentence", "could_help"]
    parts = []
    pf = provider_findings if provider_findings is not None else pd.DataFrame(columns=["kind"])
    if len(pf):
        good = pf[(pf["kind"] == "improvement") | ((pf["kind"] == "group_changing") & (pf["direction"] == "improving"))]
        if "headline" in good:
            good = good[good["headline"].astype(bool)]
        parts.append(good)
    if better is not None and len(better):
        parts.append(better)
    if not parts or all(len(p) == 0 for p in parts):
        return pd.DataFrame(columns=cols)
    good = pd.concat(parts, ignore_index=True)
    concern = pf[pf["kind"].isin(["gap_now", "gap_changing"]) | ((pf["kind"] == "group_changing")
                                                                 & (pf["direction"] == "deteriorating"))] if len(pf) else pf
    if worse is not None and len(worse):
        concern = pd.concat([concern, worse], ignore_index=True)
    fam = lambda m: MEASURE_FAMILY.get(m, m)  # noqa: E731
    out = []
    for r in good.itertuples():
        helps = sorted({c for c, m in zip(concern.get("provider_code", []), concern.get("measure", []))
                        if c != r.provider_code and fam(m) == fam(r.measure)})
        out.append({"provider_code": r.provider_code, "provider_name": getattr(r, "provider_name", "") or "",
                    "kind": r.kind, "measure": r.measure, "dimension": r.dimension, "group": r.group,
                    "sentence": r.sentence, "could_help": ", ".join(helps)})
    return pd.DataFrame(out, columns=cols)


def find_collaborative(metrics: list[dict], provider_findings: pd.DataFrame | None = None, **kw) -> pd.DataFrame:
    """The collaborative findings of :func:`scan_collaborative` as a tidy DataFrame."""
    return scan_collaborative(metrics, provider_findings, **kw).data


__all__ = ["scan_collaborative", "find_collaborative", "learn_from", "CollaborativeResult", "OUTLIER_MEASURES",
           "FunnelResult"]
