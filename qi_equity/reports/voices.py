"""The provider report's "what people told us" part of the psychology-of-change section: who
answered the questionnaire (and who not), what they told us by group (themes and quotes), how far
two coders agreed, and what the co-design workshop did with it.

It reads the provider's folder ``<lens_data>/engagement_responses/<code>/`` (docs/engagement.md):
the sources to merge (data-entry files and online answers as ``*.csv`` / ``*.xlsx``; a survey
tool's export ``<name>.csv`` with its mapping ``<name>_mapping.yaml``), ``coded_sheet.csv`` and
``workshop.csv``. Counts of people are protected together by the disclosure rule
(:func:`qi_equity.publication.protect.protect`): respondents by group, and the respondents of each
group raising each theme (part of the group's respondents); a share is shown only where the counts
it rests on are. Quotes come only from groups at or above the threshold, scrubbed of identifiers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qi_equity.publication.protect import Rule, protect
from qi_equity.publication.release import Release
from qi_equity.publication.tables import mask_table

SPECIAL = ("coded_sheet", "workshop")
PERIOD = "questionnaire"
TOP_THEMES = 3
KIND_WORDS = {"barrier": "Barrier", "asset": "What works", "idea": "Idea", "other": "Other"}


def responses_folder(lens_data: str, provider_code: str) -> Path | None:
    p = Path(lens_data) / "engagement_responses" / provider_code if lens_data else None
    return p if p is not None and p.is_dir() else None


def sources_in(folder: Path) -> list:
    """The sources of a provider's folder, in name order (a file with a ``<stem>_mapping.yaml`` is
    a survey tool's export)."""
    from qi_equity.psychology.responses import Source

    files = [f for f in sorted(folder.iterdir()) if f.suffix.lower() in (".csv", ".xlsx") and f.stem not in SPECIAL]
    mapped = {f: f.with_name(f"{f.stem}_mapping.yaml") for f in files}
    # data-entry files and online answers first (their answers stand), survey-tool exports after
    return ([Source(f) for f in files if not mapped[f].is_file()]
            + [Source(f, mapped[f]) for f in files if mapped[f].is_file()])


def _release(cells: pd.DataFrame, rule: Rule) -> Release:
    p = protect(cells, rule, links=())
    return Release(p.cells, rule, (), p)


def voices_tables(responses: pd.DataFrame, q, population: pd.DataFrame | None, provider_code: str, rule: Rule,
                  coded: pd.DataFrame | None = None, sheet: pd.DataFrame | None = None, frame=None) -> dict:
    """The published tables: ``reach`` (group, respondents, share %, catchment %, under-represented)
    and ``themes`` (group, theme, kind, raised, share % of the group's respondents), both
    :class:`~qi_equity.publication.tables.Published`, protected together."""
    from qi_equity.data import contract as C
    from qi_equity.psychology.coding import consensus
    from qi_equity.psychology.responses import respondent_groups

    groups = respondent_groups(responses)["sex_age"]
    names = [g for g in C.DIMENSIONS["sex_age"].groups if not g.startswith("Not known")]
    n = groups.value_counts()
    cells = [("q:respondents", PERIOD, "all", "sex_age", g, float(n.get(g, 0)), True, None) for g in names]
    cells.append(("q:respondents", PERIOD, "all", "all", "All", float(len(responses)), True, None))
    theme_rows = []
    if coded is not None and sheet is not None and frame is not None and len(coded):
        c = consensus(coded).merge(sheet[["item_id", "respondent", "sex_age"]], on="item_id")
        per = c[c["sex_age"] != ""].groupby(["sex_age", "respondent"])["codes"].agg(lambda s: set().union(*map(set, s)))
        label, kind = dict(zip(frame["code"], frame["label"])), dict(zip(frame["code"], frame["kind"]))
        for g in names:
            if g not in per.index.get_level_values(0):
                continue
            sets = per.loc[g]
            counts = pd.Series({code: sum(code in s for s in sets) for code in frame["code"]})
            for code, x in counts[counts > 0].sort_values(ascending=False, kind="stable").head(TOP_THEMES).items():
                cells.append((f"q:raised:{code}", PERIOD, "all", "sex_age", g, float(x), True, "q:respondents"))
                theme_rows.append({"group": g, "theme": label[code], "kind": KIND_WORDS.get(kind[code], kind[code]),
                                   "code": code, "raised": x})
    cdf = pd.DataFrame(cells, columns=["measure", "period", "specialty", "dimension", "group", "value", "shown",
                                       "parent"])
    rel = _release(cdf, rule)
    reach = pd.DataFrame({"group": names, "respondents": [float(n.get(g, 0)) for g in names]})
    total = float(len(responses))
    reach["share"] = 100 * reach["respondents"] / total if total else np.nan
    if population is not None:
        from qi_equity.psychology.engagement import population_by

        pop = population_by(population[population["provider_code"] == provider_code], "sex_age").reindex(names)
        reach["catchment"] = (100 * pop / pop.sum()).to_numpy()
        from qi_equity.equity.intervals import wilson

        _, hi = wilson(reach["respondents"].to_numpy(float), np.full(len(reach), total), 0.95)
        reach["under_represented"] = np.where(100 * hi < reach["catchment"], "Under-represented", "")
    keys = pd.DataFrame({"measure": "q:respondents", "period": PERIOD, "specialty": "all", "dimension": "sex_age",
                         "group": reach["group"]})
    out = {"reach": mask_table(rel, reach, {"respondents": keys}, derived={"share": ["respondents"]})}
    t = pd.DataFrame(theme_rows, columns=["group", "theme", "kind", "code", "raised"])
    if len(t):
        t["share"] = [100 * x / n.get(g, np.nan) for g, x in zip(t["group"], t["raised"])]
        t["respondents"] = [float(n.get(g, 0)) for g in t["group"]]
        tk = pd.DataFrame({"measure": "q:raised:" + t["code"], "period": PERIOD, "specialty": "all",
                           "dimension": "sex_age", "group": t["group"]})
        rk = pd.DataFrame({"measure": "q:respondents", "period": PERIOD, "specialty": "all", "dimension": "sex_age",
                           "group": t["group"]})
        pub = mask_table(rel, t, {"raised": tk, "respondents": rk}, derived={"share": ["raised", "respondents"]})
        out["themes"] = pub
    return out


def voices_data(lens_data: str, provider_code: str, rule: Rule, questionnaire: str = "default", names=()) -> dict | None:
    """Everything the part shows, or None when the provider has no responses. A provider's folder
    may hold its own ``questionnaire.yaml`` and ``coding_frame.yaml`` (else the kit's defaults,
    or ``questionnaire``)."""
    from qi_equity.psychology.coding import coding_sheet, load_coded, load_coding_frame
    from qi_equity.psychology.questionnaire import load_questionnaire
    from qi_equity.psychology.responses import merge_responses

    folder = responses_folder(lens_data, provider_code)
    if folder is None or not sources_in(folder):
        return None
    own_q, own_f = folder / "questionnaire.yaml", folder / "coding_frame.yaml"
    q = load_questionnaire(own_q if own_q.is_file() else questionnaire)
    merged = merge_responses(sources_in(folder), q)
    frame = load_coding_frame(own_f if own_f.is_file() else "default")
    sheet = coding_sheet(merged.responses, q, names)
    coded = load_coded(folder / "coded_sheet.csv", frame, sheet) if (folder / "coded_sheet.csv").is_file() else None
    if coded is not None:  # the texts and groups as the coders saw them
        sheet = coded.drop_duplicates("item_id")[["item_id", "respondent", "question_id", "text", "sex_age",
                                                  "ethnic_group"]]
    pop_path = Path(lens_data) / "population.csv"
    population = pd.read_csv(pop_path, dtype={"provider_code": str}) if pop_path.is_file() else None
    t = voices_tables(merged.responses, q, population, provider_code, rule, coded, sheet, frame)
    return {"questionnaire": q, "merged": merged, "frame": frame, "sheet": sheet, "coded": coded, "tables": t,
            "folder": folder}


def voices_metrics(lens_data: str, provider_code: str, rule: Rule | None = None) -> dict | None:
    """What the provider's metrics file carries for the collaborative report: the published reach
    and themes tables (hidden values as null) and the number of respondents."""
    from qi_equity.publication.metrics import records

    d = voices_data(lens_data, provider_code, rule or Rule())
    if d is None:
        return None
    out = {"title": d["questionnaire"].title, "respondents": int(len(d["merged"].responses)),
           "reach": records(d["tables"]["reach"].data)}
    if "themes" in d["tables"]:
        out["themes"] = records(d["tables"]["themes"].data.drop(columns=["respondents"]))
    return out


def show_voices(lens_data: str, provider_code: str, rule: Rule | None = None, questionnaire: str = "default",
                names=()):
    """Display the part (see the module docstring); says so when the provider has no responses."""
    from qi_equity.psychology.codesign import change_ideas_of, ideas_table, load_workshop
    from qi_equity.psychology.coding import agreement, quotes
    from qi_equity.reports.display import show_markdown, show_table

    rule = rule or Rule()
    show_markdown("### What people told us")
    d = voices_data(lens_data, provider_code, rule, questionnaire, names)
    if d is None:
        show_markdown("No questionnaire responses for this provider yet (docs/engagement.md).")
        return
    q, merged, frame, sheet, coded, t, folder = (d[k] for k in ("questionnaire", "merged", "frame", "sheet", "coded",
                                                                  "tables", "folder"))
    s = merged.summary.set_index("source").loc["total"]
    show_markdown(f"{q.title}: {int(s['kept']):,} people answered on paper, at events or online "
                  f"({int(s['rows']):,} forms; {int(s['no_consent'])} without consent set aside, "
                  f"{int(s['merged'])} from people who answered twice counted once).")
    reach = t["reach"]
    show_table(_relabel(reach, {"group": "Group", "respondents": "Respondents", "share": "Share of respondents (%)",
                                "catchment": "Share of the catchment (%)", "under_represented": "Heard from enough?"}),
               caption="Who answered, by sex and working age", note=reach.note)
    if "themes" in t:
        show_table(_relabel(t["themes"], {"group": "Group", "theme": "Theme", "kind": "Kind", "raised": "Raised it",
                                          "share": "% of the group's respondents"}, drop=("code", "respondents")),
                   caption="What each group told us most (coded free text)", note=t["themes"].note)
        k = agreement(coded, frame)
        if len(k):
            pooled = k.iloc[-1]
            show_markdown(f"Two coders coded {int(pooled['items'])} of the answers; they agreed on "
                          f"{100 * pooled['observed']:.0f}% of the coding decisions (Cohen's kappa "
                          f"{pooled['kappa']:.2f}).")
        qs = quotes(coded, sheet, frame, threshold=rule.threshold, names=names)
        if len(qs):
            show_markdown("In their words (only from groups of at least "
                          f"{rule.threshold} people; names, numbers and addresses removed):\n\n"
                          + "\n".join(f'- "{r.quote}" ({r.group}; {r.label})'
                                      for r in qs.groupby("group", sort=False).head(2).head(8).itertuples()))
    wf = folder / "workshop.csv"
    if wf.is_file():
        from qi_equity.knowledge.driver import load_driver_diagram

        dd = Path(lens_data) / "driver_diagrams" / f"{provider_code}.yaml"
        ci = change_ideas_of(load_driver_diagram(dd)) if dd.is_file() else {}
        w = load_workshop(wf, frame, {provider_code: set(ci)} if ci else None, provider_code)
        if len(w):
            show_table(ideas_table(w, frame, ci).rename(columns={"idea": "Idea", "votes": "Votes", "themes": "Answers",
                                                                   "status": "Status", "became": "Became the change idea"}),
                       caption="Co-design workshop: the ideas, their votes and what was done with them")


def _relabel(pub, names: dict, drop=()):
    """A Published table with report column names (its keys follow, for the audit)."""
    from qi_equity.publication.tables import Published

    keep = [c for c in pub.data.columns if c not in drop]
    data, mask = pub.data[keep].rename(columns=names), pub.mask[keep].rename(columns=names)
    keys = {names.get(c, c): v for c, v in pub.keys.items() if c in keep}
    return Published(data, mask, pub.threshold, keys, pub.min_median)


__all__ = ["show_voices", "voices_data", "voices_metrics", "voices_tables", "sources_in", "responses_folder"]
