"""Write the result of a mutation run (mutmut's ``mutants/**/*.meta``) into docs/testing.md.

Usage: ``python tools/mutation_report.py MUTANTS_DIR DOCS_FILE`` (``./kit mutate`` calls it).
The section between the ``<!-- mutation:begin -->`` and ``<!-- mutation:end -->`` markers is
replaced: the date and machine, the kill rate per file and overall, and every surviving mutant
by name with the explanation recorded for it in ``tools/mutation_survivors.yaml`` (equivalent,
or the test that answers it) -- a survivor without one is listed as "not yet explained".
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from pathlib import Path

KILLED = {1, 3, -24}
SURVIVED = {0}
TIMEOUT = {36, 24, 152, 255}
BEGIN, END = "<!-- mutation:begin -->", "<!-- mutation:end -->"


def _status(code) -> str:
    """mutmut's own reading of an exit code (``mutmut.stats``), else ours."""
    try:
        from mutmut.stats import status_by_exit_code

        return status_by_exit_code[code]
    except ImportError:
        return ("killed" if code in KILLED else "survived" if code in SURVIVED
                else "timeout" if code in TIMEOUT else "no tests" if code in (5, 33) else f"exit {code}")


def collect(mutants: Path) -> list[tuple[str, str, str]]:
    """``(file, mutant name, status)`` for every mutant that was checked."""
    rows = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        src = str(meta.relative_to(mutants))[: -len(".meta")]
        for name, code in data.get("exit_code_by_key", {}).items():
            if code is None:
                continue
            rows.append((src, name, _status(code)))
    return rows


def explanations() -> dict:
    p = Path(__file__).with_name("mutation_survivors.yaml")
    if not p.exists():
        return {}
    import yaml

    return yaml.safe_load(p.read_text()) or {}


def render(rows, notes: dict) -> str:
    from collections import Counter

    by_file: dict[str, Counter] = {}
    for f, _, s in rows:
        by_file.setdefault(f, Counter())[s] += 1
    total = Counter(s for _, _, s in rows)
    # a timeout is a kill (the mutant made the tests hang); "no tests" counts against the rate
    caught = total["killed"] + total["timeout"]
    n = sum(total.values())
    out = [f"Last run: {dt.datetime.now():%Y-%m-%d %H:%M} on {platform.node()} ({platform.machine()}, "
           f"Python {platform.python_version()}). Mutants checked: {n:,}; killed {total['killed']:,}, "
           f"timed out {total['timeout']:,}, survived {total['survived']:,}, with no test {total['no tests']:,}. "
           f"**Kill rate {100 * caught / n:.1f}%**." if n else "No mutants were checked.", "",
           "| file | mutants | killed | survived | no test | kill rate |", "|---|---:|---:|---:|---:|---:|"]
    for f, c in sorted(by_file.items()):
        m = sum(c.values())
        out.append(f"| `{f}` | {m} | {c['killed'] + c['timeout']} | {c['survived']} | {c['no tests']} | "
                   f"{100 * (c['killed'] + c['timeout']) / m:.0f}% |")
    surv = [(f, name) for f, name, s in rows if s in ("survived", "no tests")]
    out += ["", f"Survivors ({len(surv)}), with their explanation (`tools/mutation_survivors.yaml`; "
                "`mutmut show NAME` prints the mutation):", ""]
    for f, name in surv:
        out.append(f"- `{name}`: {notes.get(name, 'not yet explained')}")
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    mutants, docs = Path(argv[0]), Path(argv[1])
    rows = collect(mutants)
    text = docs.read_text() if docs.exists() else f"# Testing\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    docs.write_text(f"{head}{BEGIN}\n{render(rows, explanations())}\n{END}{tail}")
    print(f"[kit] mutation results written to {docs} ({len(rows):,} mutants)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
