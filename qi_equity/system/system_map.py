"""System maps: the people, culture, structures and key processes around the chosen issue,
answering IHI's questions, one YAML file per provider, validated and rendered readably.

Contract::

    provider_code: XQB
    issue: text
    people: [text, ...]          # who are the people (patients, staff, partners)?
    culture: [text, ...]         # what is the culture (beliefs, history, power)?
    structures: [text, ...]      # what are the structures (teams, contracts, IT, money)?
    key_processes: [text, ...]   # what are the key processes (booking, referral, ...)?

References
----------
.. [1] Institute for Healthcare Improvement (2017). Appreciation of a system: who are the
       people, what is the culture, what are the structures, what are the key processes.
"""

from __future__ import annotations

import html
from pathlib import Path

import yaml

from qi_equity.data.validation import Failure, ValidationReport, raise_if_invalid

SECTIONS = {
    "people": "Who are the people?",
    "culture": "What is the culture?",
    "structures": "What are the structures?",
    "key_processes": "What are the key processes?",
}


def validate_system_map(d: dict, source: str = "system map") -> ValidationReport:
    f: list[Failure] = []
    if not isinstance(d, dict):
        return ValidationReport(source, 0, [Failure("(file)", "must be a YAML mapping", -1, 0)])
    for k in ("provider_code", "issue"):
        if not isinstance(d.get(k), str) or not d.get(k, "").strip():
            f.append(Failure(k, "is required (non-empty text)", 1, 1, [d.get(k)]))
    for k in SECTIONS:
        items = d.get(k)
        if not isinstance(items, list) or not items:
            f.append(Failure(k, "needs a list of at least one entry", 1, 1, [items]))
            continue
        for i, it in enumerate(items):
            if not isinstance(it, str) or not it.strip():
                f.append(Failure(f"{k}[{i}]", "must be non-empty text", 1, 1, [it]))
    extra = set(d) - set(SECTIONS) - {"provider_code", "issue"}
    for k in sorted(extra):
        f.append(Failure(k, "is not a system-map section (" + ", ".join(SECTIONS) + ")", 1, 1, [k]))
    return ValidationReport(source, 1, f)


def load_system_map(path: str | Path) -> dict:
    d = yaml.safe_load(Path(path).read_text())
    raise_if_invalid(validate_system_map(d, str(path)))
    return d


def system_map_html(d: dict) -> str:
    """A readable rendering: the issue, then the four IHI questions with their answers."""
    parts = [f"<p><strong>Issue:</strong> {html.escape(d['issue'])}</p>", "<div class='qi-system-map'>"]
    for k, q in SECTIONS.items():
        items = "".join(f"<li>{html.escape(x)}</li>" for x in d[k])
        parts.append(f"<div><h4>{html.escape(q)}</h4><ul>{items}</ul></div>")
    parts.append("</div>")
    return "".join(parts)
