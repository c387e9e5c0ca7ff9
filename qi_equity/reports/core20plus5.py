"""The provider report's Core20PLUS5 section: one part per clinical area present in the extract.

For each area (:mod:`qi_equity.data.core20plus5`: NHS England's five adult and five children's
areas, present through the treatment functions the mapping names), the waits and did-not-attend
of the last 12 months for the **Core20** (IMD deciles 1-2) against the rest, and for each PLUS
group the provider's extract flags (learning disability, interpreter needed and the
collaborative's own flags) against those without the flag, with 95% Wilson intervals; and what
the findings scan found in the area's treatment functions. Every count is a cell of the
provider's release (the area's specialty key carries its treatment functions, so the area is
checked for disclosure as their sum: :mod:`qi_equity.publication.cells`).

The table describes; it does not test. Whether a gap in an area stands out is the scan's to say,
with its control of false discoveries across every group, measure and specialty (the scan looks
at each treatment function with enough pathways), so the section lists the scan's findings in
the area's services rather than marking intervals that do not overlap.

References
----------
.. [1] NHS England (2021, 2023). Core20PLUS5 for adults and for children and young people (see
       :mod:`qi_equity.data.core20plus5`).
.. [2] Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
       *JASA* 22:209-212 (the intervals; as PHE's technical guide recommends).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qi_equity import measures
from qi_equity.data import contract as C
from qi_equity.data import core20plus5 as C5
from qi_equity.publication import release as REL
from qi_equity.publication.tables import Published, mask_table
from qi_equity.reports.provider import with_intervals

#: Dimensions always in an area's table; the PLUS flags the scan found are added after them.
BASE_DIMENSIONS = ("all", "core20")
TABLE_COLUMNS = ["dimension", "dimension_label", "group", "completed", "median_wait", "over_18", "over_18_pct",
                 "over_18_lower", "over_18_upper", "dna_denominator", "dna", "dna_rate", "dna_lower", "dna_upper"]
LIMITS = ("Secondary-care waiting lists hold only part of each area: hypertension case-finding and health "
          "checks for severe mental illness happen mostly in general practice, and early cancer diagnosis runs "
          "through urgent suspected-cancer pathways that a treatment function does not identify. An area here is "
          "the pathways of the services that treat it (the mapping is editable: docs/core20plus5.md).")


def areas_in(derived: pd.DataFrame, mapping_path: str = "") -> pd.DataFrame:
    """The Core20PLUS5 areas of an extract (:func:`qi_equity.data.core20plus5.areas_present`),
    with the kit's mapping or the file at ``mapping_path``."""
    return C5.areas_present(derived["specialty"], C5.load_mapping(mapping_path or None))


def plus_flags(found) -> dict:
    """The PLUS-group flags the scan used, ``{column: label}`` (contract and local flags)."""
    if found is None or getattr(found, "cells", None) is None:
        return {c: d.label for c, d in C.DIMENSIONS.items() if d.kind == "flag"}
    return {name: d.label for name, d in found.cells.dimensions.items() if d.kind == "flag"}


def area_dimensions(found, derived: pd.DataFrame | None = None) -> tuple[str, ...]:
    """``all``, ``core20`` and the PLUS flags (those the scan used; without a scan, the contract's
    flags the extract has)."""
    flags = plus_flags(found)
    if derived is not None:
        flags = {f: v for f, v in flags.items() if f in derived.columns}
    return BASE_DIMENSIONS + tuple(flags)


def area_table(derived: pd.DataFrame, census_date, area, release: REL.Release, months: int = 12,
               dimensions=BASE_DIMENSIONS, flags: dict | None = None, confidence: float = 0.95) -> Published:
    """One area's waits and DNA by group, as the release publishes them.

    Parameters
    ----------
    area : a row of :func:`areas_in` (``key``, ``codes``).
    release : the provider's release, built with these areas (:func:`qi_equity.reports.provider.release`).

    Returns
    -------
    Published
        Columns ``dimension, dimension_label, group, completed`` (pathways completed in the
        window), ``median_wait`` (weeks), ``over_18, over_18_pct, over_18_lower, over_18_upper``,
        ``dna_denominator`` (first appointments in the window), ``dna, dna_rate, dna_lower,
        dna_upper`` (percentages 0-100, Wilson intervals at ``confidence``).
    """
    sub = derived[derived["specialty"].astype(str).isin(area.codes).to_numpy()]
    t = with_intervals(measures.equity_table(sub, census_date, months, dimensions=tuple(dimensions), flags=flags),
                       confidence)
    # an unrecorded group with no pathways at all says nothing (zeros are published anyway)
    unrec = np.array([g in C.get_dimension(d, flags).unrecorded for d, g in zip(t["dimension"], t["group"])], bool)
    t = t[~(unrec & (t["completed"] == 0).to_numpy() & (t["dna_denominator"] == 0).to_numpy())]
    t = t[TABLE_COLUMNS].reset_index(drop=True)
    win = measures.window(census_date, months)
    period = REL.run_label(win[0], win[-1])

    def k(base):
        return pd.DataFrame({"measure": base, "period": period, "specialty": area.key, "dimension": t["dimension"],
                             "group": t["group"]})

    counts = {col: k(base) for col, base in REL.AREA_BASES.items()}
    o18, dna = ["over_18", "completed"], ["dna", "dna_denominator"]
    derived_cols = {"over_18_pct": o18, "over_18_lower": o18, "over_18_upper": o18,
                    "dna_rate": dna, "dna_lower": dna, "dna_upper": dna}
    return mask_table(release, t, counts, derived=derived_cols, medians={"median_wait": "completed"})


def area_display(pub: Published) -> pd.DataFrame:
    """Report layout of :func:`area_table`: intervals joined to their values; ``attrs["cells"]``
    keeps the count columns' release keys (for the audit)."""
    d = pub.display(1)

    def with_ci(v, lo, hi):
        return [a if (a in ("*", "") or b in ("*", "")) else f"{a} ({b}-{c})" for a, b, c in zip(d[v], d[lo], d[hi])]

    labels = np.select([d["dimension"] == "all", d["dimension"] == "core20"],
                       ["All patients in these services", "Deprivation (Core20)"], d["dimension_label"])
    out = pd.DataFrame({
        "Compared by": labels, "Group": np.where(d["dimension"] == "all", "All", d["group"]),
        "Completed (12 m)": d["completed"], "Median wait (wk)": d["median_wait"],
        "% over 18 wk (95% CI)": with_ci("over_18_pct", "over_18_lower", "over_18_upper"),
        "First appts": d["dna_denominator"], "With a DNA": d["dna"],
        "DNA % (95% CI)": with_ci("dna_rate", "dna_lower", "dna_upper"),
    })
    cells = d.attrs.get("cells", {})
    out.attrs["cells"] = {disp: cells[src] for disp, src in (("Completed (12 m)", "completed"),
                          ("First appts", "dna_denominator"), ("With a DNA", "dna")) if src in cells}
    return out


FINDING_FIELDS = ["finding_id", "sentence", "chart_id", "headline", "specialty"]


def area_findings(published_findings: pd.DataFrame, area, dimensions=BASE_DIMENSIONS) -> pd.DataFrame:
    """The published findings that bear on an area: those about its treatment functions (any
    group), then the headline findings about all services together for the area's dimensions
    (Core20 / IMD quintile and the PLUS flags), which hold for the area's patients too.

    Returns
    -------
    pandas.DataFrame
        ``finding_id, sentence, chart_id, headline, specialty`` (``all`` for the second kind).
    """
    f = published_findings
    if f is None or not len(f):
        return pd.DataFrame(columns=FINDING_FIELDS)
    real = f["kind"] != "too_few"
    own = f[real & f["specialty"].astype(str).isin(area.codes)]
    dims = set(dimensions) | {"imd_quintile"} if "core20" in dimensions else set(dimensions)
    wide = f[real & (f["specialty"].astype(str) == "all") & f["dimension"].isin(dims - {"all"})
             & f["headline"].astype(bool)]
    return pd.concat([own, wide])[FINDING_FIELDS].reset_index(drop=True)


def area_text(area, findings: pd.DataFrame, most: int = 5) -> str:
    """Markdown for one area: its heading, focus, services and what the scan found there (or,
    where it found nothing in the area's services, across all services for the same groups)."""
    lines = [f"### {area.cohort_label}: {area.name}", "",
             f"Core20PLUS5 focus: {area.focus} Services in this extract: {area.code_names}.", ""]
    own = findings[findings["specialty"].astype(str) != "all"]
    wide = findings[findings["specialty"].astype(str) == "all"]
    if len(own):
        lines.append("What the findings scan found in these services:")
        lines += [f"- {s}" for s in own["sentence"].head(most)]
        if len(own) > most:
            lines.append(f"- ... and {len(own) - most} more in *What stands out*.")
    else:
        lines.append("The findings scan found no gap and no change in these services on their own (it looks at "
                     "each service with enough pathways, every group and measure, and controls false alarms).")
        if len(wide):
            lines += ["", "Across all services together, for the same groups, it found:"]
            lines += [f"- {s}" for s in wide["sentence"].head(3)]
    return "\n".join(lines)


def show_core20plus5(derived: pd.DataFrame, census_date, areas: pd.DataFrame, found, release: REL.Release,
                     months: int = 12):
    """Display the section: for each area present, its text (:func:`area_text`) and table."""
    from qi_equity.reports.display import show_markdown, show_table
    from qi_equity.reports.findings import published_findings

    if areas is None or not len(areas):
        show_markdown("None of the Core20PLUS5 clinical areas' services is in this extract (the treatment "
                      "functions the mapping names: docs/core20plus5.md).")
        return
    pub = published_findings(found, release) if found is not None else None
    dims = area_dimensions(found, derived)
    flags = plus_flags(found)
    for a in areas.itertuples(index=False):
        show_markdown(area_text(a, area_findings(pub, a, dims)))
        t = area_table(derived, census_date, a, release, months, dims, flags)
        show_table(area_display(t), caption=f"{a.name}: waits and DNA by Core20 and PLUS group, last {months} months",
                   note=t.note)
    show_markdown(LIMITS)


__all__ = ["areas_in", "area_dimensions", "plus_flags", "area_table", "area_display", "area_findings", "area_text",
           "show_core20plus5"]
