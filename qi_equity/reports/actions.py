"""Report blocks for the action log (:mod:`qi_equity.knowledge.actions`): each finding with what is
being done about it, or "No action recorded"; actions across the collaborative.

Action texts are written by staff (what, who by role, when): they carry no patient counts, so
they are published as written, every text escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from qi_equity.data import vocabulary as V
from qi_equity.knowledge.actions import ACTION_COLUMNS, actions_without_findings, load_actions, status_summary

ACTION_LOG = "action_log.csv"


def provider_actions(lens_data: str, provider_code: str) -> pd.DataFrame:
    """The provider's actions from ``<lens_data>/action_log.csv`` (validated: a bad file raises a
    ContractError naming file, column, rule and rows); an empty log when there is no file."""
    path = Path(lens_data) / ACTION_LOG if lens_data else None
    if path is None or not path.exists():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ACTION_COLUMNS})
    return load_actions(path, provider_code)


def _date(v) -> str:
    return "" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%d %b %Y}".lstrip("0")


def cluster_actions(actions: pd.DataFrame, finding_ids) -> pd.DataFrame:
    """The actions naming any of ``finding_ids`` (a headline finding and its related findings)."""
    ids = set(finding_ids)
    if actions.empty:
        return actions
    return actions[actions["finding_ids"].map(lambda xs: bool(ids & set(xs)))]


def action_line_html(finding_id: str, acts: pd.DataFrame) -> str:
    """One finding's actions as a line of the report ("Actions: ... (in progress; owner ...; due ...)"),
    or "No action recorded", with the finding's id (what an action log names)."""
    fid = f"<span class='qi-fid'>finding {html.escape(finding_id)}</span>"
    if acts.empty:
        return f"<div class='qi-actions qi-no-action'>No action recorded ({fid}).</div>"
    parts = []
    for a in acts.itertuples():
        when = f"; due {_date(a.due_date)}" if _date(a.due_date) else ""
        parts.append(f"<strong>{html.escape(str(a.action_id))}</strong> {html.escape(str(a.action))} "
                     f"(<span class='qi-status qi-status-{html.escape(str(a.status)).replace(' ', '-')}'>"
                     f"{html.escape(str(a.status))}</span>; owner: {html.escape(str(a.owner_role))}{html.escape(when)})")
    return f"<div class='qi-actions'>Actions ({fid}): " + "; ".join(parts) + "</div>"


def actions_table(actions: pd.DataFrame, findings: pd.DataFrame) -> pd.DataFrame:
    """The provider's actions for the report: one row per action, the findings it answers in words.

    Columns: ``Action, What, Answers, Owner, Started, Due, Status, Change idea, PDSA cycles``."""
    words = {}
    if len(findings):
        for r in findings.itertuples():
            words[r.finding_id] = f"{V.kind(r.kind)}: {V.sentence_case(V.group(r.dimension, r.group))} ({r.finding_id})"
    rows = []
    for a in actions.itertuples():
        rows.append({"Action": a.action_id, "What": a.action,
                     "Answers": "; ".join(words.get(f, f"{f} (not found by this run)") for f in a.finding_ids),
                     "Owner": a.owner_role, "Started": _date(a.start_date), "Due": _date(a.due_date) or "not set",
                     "Status": a.status, "Change idea": a.change_idea if isinstance(a.change_idea, str) else "",
                     "PDSA cycles": ", ".join(str(c) for c in a.pdsa_cycles)})
    return pd.DataFrame(rows, columns=["Action", "What", "Answers", "Owner", "Started", "Due", "Status", "Change idea",
                                       "PDSA cycles"])


def actions_section_html(actions: pd.DataFrame, findings: pd.DataFrame) -> str:
    """The report's "Actions on the findings": the actions table, the headline findings no action
    answers, and actions naming findings this run did not make (listed, never dropped)."""
    from qi_equity.reports.display import table_html

    heads = findings[findings["headline"].astype(bool) & (findings["kind"] != "too_few")] if len(findings) else findings
    out = []
    if actions.empty:
        out.append("<p>No action is recorded for this provider yet. Record one in the collaborative's action "
                   "log against the finding's id (how: docs/lenses.md).</p>")
    else:
        out.append(table_html(actions_table(actions, findings), caption="Actions recorded against the findings"))
    if len(heads):
        bare = []
        for r in heads.itertuples():
            cluster = [r.finding_id] + [x for x in str(getattr(r, "also", "") or "").split() if x]
            if cluster_actions(actions, cluster).empty:
                bare.append(f"<li>{html.escape(str(r.sentence))} <span class='qi-fid'>({html.escape(r.finding_id)})"
                            "</span></li>")
        if bare:
            out.append("<p class='qi-caption'><strong>Findings with no action recorded</strong></p><ul>"
                       + "".join(bare) + "</ul>")
    if not actions.empty and len(findings):
        gone = actions_without_findings(findings, actions)
        if len(gone):
            out.append("<p class='qi-note'>" + html.escape(
                "Actions naming findings this run did not make (the gap may have closed, or the data changed): "
                + "; ".join(f"{a} ({f}, {s})" for a, f, s in gone.itertuples(index=False))) + ".</p>")
    return "".join(out)


def show_actions(actions: pd.DataFrame, findings: pd.DataFrame):
    """Display :func:`actions_section_html`."""
    from IPython.display import display

    display({"text/html": actions_section_html(actions, findings),
             "text/plain": actions_table(actions, findings).to_string()}, raw=True)


def collaborative_actions(path: str, census_date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Actions across the collaborative from an action log: ``(summary, table)``; the summary has a
    row per provider (counts by status and overdue at ``census_date``), the table a row per action
    (``Provider, Action, What, Owner, Due, Status``)."""
    acts = load_actions(path)
    summary = status_summary(acts, census_date).rename(columns={"provider_code": "Provider", "planned": "Planned",
                                                                 "in progress": "In progress", "done": "Done",
                                                                 "stopped": "Stopped", "overdue": "Overdue"})
    table = pd.DataFrame({"Provider": acts["provider_code"], "Action": acts["action_id"], "What": acts["action"],
                          "Owner": acts["owner_role"], "Due": acts["due_date"].map(lambda v: _date(v) or "not set"),
                          "Status": acts["status"],
                          "Findings": acts["finding_ids"].map(lambda xs: "; ".join(xs))})
    return summary, table


__all__ = ["provider_actions", "action_line_html", "actions_table", "actions_section_html", "show_actions",
           "collaborative_actions", "cluster_actions"]
