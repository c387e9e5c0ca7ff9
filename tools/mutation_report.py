"""Write the result of a mutation run (mutmut's ``mutants/**/*.meta``) into docs/testing.md.

Usage: ``python tools/mutation_report.py MUTANTS_DIR DOCS_FILE`` (``./kit mutate`` calls it).
Each run's results are merged into ``tools/mutation_record.json``, per file: the files a run
checked are replaced, the others kept with the date they were last measured. A run over a few
files (``./kit mutate 'qi_equity.variation.rules*'``) therefore adds to the record instead of
replacing it. A file the run checked only in part (a run stopped before the end) keeps its last
full measurement. The section between the ``<!-- mutation:begin -->`` and ``<!-- mutation:end -->``
markers is then rewritten from the whole record: the kill rate per file (with the date it was
measured) and overall, and every surviving mutant by name with the explanation recorded for it in
``tools/mutation_survivors.yaml`` (equivalent, or the test that answers it). A survivor without
one is listed as "not yet explained".
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
    """``(file, mutant name, status)`` for every mutant that was checked, and ``(file, name,
    "unchecked")`` for the mutants of a file that a run checked only in part (a stopped run)."""
    rows = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text())
        src = str(meta.relative_to(mutants))[: -len(".meta")]
        codes = data.get("exit_code_by_key", {})
        checked = [(name, code) for name, code in codes.items() if code is not None]
        rows += [(src, name, _status(code)) for name, code in checked]
        if checked and len(checked) < len(codes):
            rows += [(src, name, "unchecked") for name, code in codes.items() if code is None]
    return rows


def explanations() -> dict:
    p = Path(__file__).with_name("mutation_survivors.yaml")
    if not p.exists():
        return {}
    import yaml

    return yaml.safe_load(p.read_text()) or {}


RECORD = Path(__file__).with_name("mutation_record.json")


def merge(record: dict, rows, when: str) -> dict:
    """``record`` (file -> ``{"measured", "killed", "timeout", "survived": [names], "no tests": [names]}``)
    with the files of this run's ``rows`` replaced by what it found."""
    out = dict(record)
    fresh: dict = {}
    partial = {f for f, _, s in rows if s == "unchecked"}  # a stopped run: keep the last full measurement
    for f, name, s in rows:
        if f in partial:
            continue
        e = fresh.setdefault(f, {"measured": when, "killed": 0, "timeout": 0, "survived": [], "no tests": []})
        if s in ("killed", "timeout"):
            e[s] += 1
        elif s in ("survived", "no tests"):
            e[s].append(name)
    out.update(fresh)
    return dict(sorted(out.items()))


def _equivalent(name: str, notes: dict) -> bool:
    return str(notes.get(name, "")).startswith("equivalent")


def render(record: dict, notes: dict, unmeasured=()) -> str:
    """The record as markdown: the kill rate (killed / mutants) and the mutation score, which leaves
    out the survivors explained as equivalent (killed / (mutants - equivalent), the usual
    definition: Jia Y, Harman M (2011), An analysis and survey of the development of mutation
    testing, IEEE TSE 37(5): 649-678, section II), per file and overall; every survivor with its
    explanation; and the files in scope that no run has measured yet (``unmeasured``)."""
    killed = sum(e["killed"] for e in record.values())
    timeout = sum(e["timeout"] for e in record.values())
    survived = sum(len(e["survived"]) for e in record.values())
    no_tests = sum(len(e["no tests"]) for e in record.values())
    equivalent = sum(_equivalent(x, notes) for e in record.values() for x in e["survived"] + e["no tests"])
    n = killed + timeout + survived + no_tests
    # a timeout is a kill (the mutant made the tests hang); "no tests" counts against the rate
    head = (f"Record as of {dt.datetime.now():%Y-%m-%d %H:%M} on {platform.node()} ({platform.machine()}, "
            f"Python {platform.python_version()}); each file as last measured. Mutants checked: {n:,}; "
            f"killed {killed:,}, timed out {timeout:,}, survived {survived:,}, with no test {no_tests:,}. "
            f"**Kill rate {100 * (killed + timeout) / n:.1f}%**. Of the survivors, {equivalent:,} are explained "
            f"as equivalent and {survived + no_tests - equivalent:,} are not: **mutation score "
            f"{100 * (killed + timeout) / max(n - equivalent, 1):.1f}%** (killed / (mutants - equivalent))."
            if n else "No mutants were checked.")
    out = [head, ""]
    if unmeasured:
        out += ["In scope but not yet measured: " + ", ".join(f"`{f}`" for f in unmeasured) + ".", ""]
    out += ["| file | measured | mutants | killed | survived | of them equivalent | no test | kill rate | score |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for f, e in record.items():
        m = e["killed"] + e["timeout"] + len(e["survived"]) + len(e["no tests"])
        k = e["killed"] + e["timeout"]
        eq = sum(_equivalent(x, notes) for x in e["survived"] + e["no tests"])
        out.append(f"| `{f}` | {e['measured']} | {m} | {k} | {len(e['survived'])} | {eq} | "
                   f"{len(e['no tests'])} | {100 * k / m:.0f}% | {100 * k / max(m - eq, 1):.0f}% |")
    surv = [name for e in record.values() for name in e["survived"] + e["no tests"]]
    out += ["", f"Survivors ({len(surv)}), with their explanation (`tools/mutation_survivors.yaml`; "
                "`mutmut show NAME` prints the mutation):", ""]
    for name in surv:
        out.append(f"- `{name}`: {notes.get(name, 'not yet explained')}")
    return "\n".join(out)


def scope(root: Path) -> list[str]:
    """The files ``./kit mutate`` covers, as ``[tool.mutmut]`` in ``pyproject.toml`` sets them: the
    Python files under ``source_paths`` not matched by ``do_not_mutate``."""
    import fnmatch
    import tomllib

    cfg = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
    files = sorted({str(p.relative_to(root)) for src in cfg["source_paths"] for p in (root / src).rglob("*.py")})
    return [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in cfg.get("do_not_mutate", []))]


def unmeasured(files, record: dict) -> list[str]:
    """The files in scope that no run has measured (not in the record)."""
    return [f for f in files if f not in record]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    mutants, docs = Path(argv[0]), Path(argv[1])
    rows = collect(mutants)
    record = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    record = merge(record, rows, f"{dt.date.today():%Y-%m-%d}")
    RECORD.write_text(json.dumps(record, indent=1) + "\n")
    text = docs.read_text() if docs.exists() else f"# Testing\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    docs.write_text(f"{head}{BEGIN}\n{render(record, explanations(), unmeasured(scope(Path(__file__).resolve().parents[1]), record))}\n{END}{tail}")
    partial = sorted({f for f, _, s in rows if s == "unchecked"})
    if partial:
        print(f"[kit] checked only in part (the run stopped), so kept as last measured: {', '.join(partial)}")
    done = sum(1 for f, _, s in rows if f not in partial)
    print(f"[kit] mutation results of {done:,} mutants merged into {RECORD.name} and written to {docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
