"""The run's front page, ``index.html``: each provider's state, what stands out, its report and
what went wrong; whether the run was interrupted; which providers the collaborative report left out."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path

from qi_equity.reports import outputs as O


def _collaborative_sentences(out: Path) -> dict:
    """Provider code -> the collaborative findings about it (from collaborative_findings.json)."""
    try:
        payload = json.loads((out / "collaborative_findings.json").read_text())
        cols = payload["findings"]["columns"]
        rows = [dict(zip(cols, r)) for r in payload["findings"]["data"]]
    except (OSError, ValueError, KeyError):
        return {}
    by: dict = {}
    for r in rows:
        by.setdefault(r.get("provider_code"), []).append(r.get("sentence") or "")
    return by


_STATE_WORDS = {"ok": ("ok", "&#10003; ok"), "interrupted": ("failed", "&#9208; interrupted"),
                "not run": ("failed", "&#8211; not run")}


def write_index(out: Path, collab, statuses: list[dict], collab_status: dict | None,
                interrupted: str | None = None, notes: list[str] | None = None):
    """The run's front page: each provider's state, what stands out, its report, what went wrong."""
    rows = []
    across = _collaborative_sentences(out) if collab_status and collab_status.get("status") == "ok" else {}
    for s in statuses:
        exists = (out / f"{s['code']}.html").exists()
        kept = O.published(s)
        if s["status"] == "ok":
            link = f'<a href="{html.escape(s["code"])}.html">report</a>'
        else:
            when = f" of {html.escape(kept['finished_at'])}" if kept and kept.get("finished_at") else ""
            link = (f'<a href="{html.escape(s["code"])}.html">previous report{when} (not current)</a>' if exists
                    else "no report")
        cls, word = _STATE_WORDS.get(s["status"], ("failed", "&#10007; failed"))
        state = (f'<span class="{cls}">{word}</span>' if s["status"] != "failed" else
                 f'<span class="failed">&#10007; failed at {html.escape(s.get("stage") or "")}</span>')
        err = (f"<details><summary>what went wrong</summary><pre>{html.escape(s.get('error') or '')}</pre></details>"
               if s["status"] != "ok" else "")
        tops = (s.get("top_findings") or []) + [f"Across the collaborative: {t}" for t in across.get(s["code"], [])]
        found = ("<ul class='tops'>" + "".join(f"<li>{html.escape(t)}</li>" for t in tops) + "</ul>" if tops else
                 ("<span class='quiet'>Nothing stands out</span>" if s["status"] == "ok" else ""))
        rows.append(f"<tr><td data-label='Code'>{html.escape(s['code'])}</td>"
                    f"<td data-label='Provider'>{html.escape(s['name'])}</td><td data-label='Status'>{state}</td>"
                    f"<td data-label='What stands out'>{found}</td><td data-label='Report'>{link}</td>"
                    f"<td data-label='Details'>{err}</td></tr>")
    if collab_status and collab_status.get("status") == "ok":
        collab_line = '<p><a href="collaborative.html">Collaborative report: compare the providers</a></p>'
    elif collab_status:
        collab_line = ("<p class='failed'>Collaborative report failed: "
                       f"<pre>{html.escape(collab_status.get('error', ''))}</pre></p>")
    else:
        collab_line = ""
    if notes:
        collab_line += ("<p class='meta'>Not in the collaborative comparison:</p><ul class='meta'>"
                        + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    stop_line = (f"<p class='failed'>This run was interrupted ({html.escape(interrupted)}) before it finished: "
                 "run the same command with <code>--resume</code> to finish what was left.</p>" if interrupted else "")
    n_ok = sum(s["status"] == "ok" for s in statuses)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(collab.title)}: equity reports</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; max-width: 1000px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ text-align: left; padding: 6px 10px; border-bottom: 1px solid #ddd; vertical-align: top; }}
.ok {{ color: #005eb8; font-weight: 600; }} .failed {{ color: #8a4b00; font-weight: 600; }}
pre {{ white-space: pre-wrap; font-size: 12px; background: #f6f6f6; padding: 8px; }}
.meta {{ color: #555; font-size: 13px; }}
ul.tops {{ margin: 0; padding-left: 1.1em; font-size: 14px; }} .quiet {{ color: #555; }}
@media (max-width: 600px) {{  /* phones: each provider a card, its headings beside the values */
  body {{ margin: 1em 10px; }} thead {{ display: none; }}
  table, tbody, tr, td {{ display: block; width: auto; }} tr {{ border-bottom: 2px solid #ccc; padding: 6px 0; }}
  td {{ border: none; padding: 2px 0; }} td:empty {{ display: none; }}
  td::before {{ content: attr(data-label) ": "; font-weight: 600; color: #555; }}
}}
@media print {{ @page {{ size: A4; margin: 14mm 12mm; }} body {{ margin: 0; max-width: none; }} tr {{ break-inside: avoid; }} }}
</style></head><body>
<h1>{html.escape(collab.title)}</h1>
<p class="meta">Equity-of-access reports by provider. Census date {html.escape(collab.census_date)}.
{n_ok} of {len(statuses)} provider reports up to date. Everything published applies small-number suppression.</p>
<p class="meta">Generated at {time.strftime('%Y-%m-%d %H:%M:%S')}</p>
{stop_line}
{collab_line}
<table><thead><tr><th>Code</th><th>Provider</th><th>Status</th><th>What stands out</th><th>Report</th><th>Details</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
</body></html>
"""
    O.publish_unit(out, "index", {"index.html": page})
