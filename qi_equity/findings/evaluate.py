"""Does a scan find what was planted? Matching findings against a ground truth.

The sample collaborative (``data_samples/ground_truth.json``) and the power benchmark plant
effects of known kind, place and size; a planted row is *found* when some finding has one of
its ``finding_kinds``, its provider, measure, dimension, group and specialty (and, for a stage,
its stage), in its direction. Used by the tests and by ``./kit bench findings``; a collaborative
can use it to check the kit on data simulated to look like its own.
"""

from __future__ import annotations

import pandas as pd

#: The finding directions that report a planted direction.
DIRECTIONS = {"deteriorating": {"deteriorating", "widening", "worse"}, "improving": {"improving", "narrowing"},
              "worse": {"worse", "widening", "deteriorating"}, "above": {"above"}, "below": {"below"}}


def matches(findings: pd.DataFrame, planted: dict, any_kind: bool = False) -> pd.DataFrame:
    """The findings that report one planted row (of any kind but too few, with ``any_kind``: the
    effect found at its place, e.g. a shift that began long ago reported as a gap now)."""
    f = findings
    kind = (f["kind"] != "too_few") if any_kind else f["kind"].isin(planted["finding_kinds"])
    m = (kind & (f["provider_code"] == planted["provider_code"])
         & (f["measure"] == planted["measure"]) & (f["dimension"] == planted["dimension"])
         & (f["group"] == planted["group"]) & (f["specialty"].astype(str) == str(planted.get("specialty", "all"))))
    if planted.get("stage"):
        m &= f["stage"] == planted["stage"]
    want = DIRECTIONS.get(planted.get("direction", ""), None)
    if want and not any_kind:
        m &= f["direction"].isin(want)
    elif want:
        adverse = {"worse", "widening", "deteriorating", "above", "below"}
        m &= f["direction"].isin(adverse if planted["direction"] != "improving" else want)
    return f[m]


def match_ground_truth(findings: pd.DataFrame, truth: dict) -> pd.DataFrame:
    """One row per planted effect: ``id, provider_code, kind, found, found_any_kind, headline,
    finding_id, sentence`` (``headline``: the matching finding heads its cluster)."""
    rows = []
    for p in truth["planted"]:
        hit = matches(findings, p)
        anywhere = len(matches(findings, p, any_kind=True)) > 0
        head = hit[hit["headline"]] if "headline" in hit else hit.iloc[0:0]
        best = head.iloc[0] if len(head) else (hit.iloc[0] if len(hit) else None)
        rows.append({"id": p["id"], "provider_code": p["provider_code"], "kind": p["kind"], "found": len(hit) > 0,
                     "found_any_kind": anywhere,
                     "headline": len(head) > 0, "finding_id": None if best is None else best["finding_id"],
                     "sentence": None if best is None else best["sentence"]})
    return pd.DataFrame(rows)


def false_findings(findings: pd.DataFrame, clean_providers) -> pd.DataFrame:
    """Findings at providers with nothing planted (``too_few`` excepted)."""
    f = findings
    return f[f["provider_code"].isin(list(clean_providers)) & (f["kind"] != "too_few")]
