"""The package's floors: each imports only those below it (README, Architecture), no import circles.

data/ -> statistics (variation/, equity/, measures.py, ingest.py) -> lenses (system/, psychology/,
knowledge/, assessment/) -> findings/ -> publication (publication/, disclosure.py) -> reports/ ->
cli.py; plotting/ draws results and is imported lazily (inside a function, by ``.plot()``)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "qi_equity"
FLOOR = {"data": 0, "parallel": 0, "variation": 1, "equity": 1, "measures": 1, "ingest": 1,
         "system": 2, "psychology": 2, "knowledge": 2, "assessment": 2, "findings": 3,
         "publication": 4, "disclosure": 4, "plotting": 5, "reports": 5, "cli": 6, "__init__": 6}
#: Imports inside a function that reach up a floor, on purpose: the sample generator writes the lens
#: files through the lens contracts, so the sample always meets them.
LAZY_UPWARD_ALLOWED = {("data/sample.py", "psychology"), ("data/sample.py", "assessment")}


def _imports(tree):
    """(module-level?, imported qi_equity module) for every import of a module."""
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "qi_equity"]
        for n in names:
            if n.startswith("qi_equity."):
                yield id(node) in top, n.split(".")[1]


def _modules():
    for f in sorted(ROOT.rglob("*.py")):
        rel = f.relative_to(ROOT)
        first = rel.parts[0][:-3] if rel.parts[0].endswith(".py") else rel.parts[0]
        yield rel.as_posix(), first, ast.parse(f.read_text(encoding="utf-8"))


def test_every_module_belongs_to_a_floor():
    assert {first for _, first, _ in _modules()} <= set(FLOOR)


def test_module_level_imports_only_reach_down():
    bad = [(rel, t) for rel, first, tree in _modules() for top, t in _imports(tree)
           if top and t in FLOOR and t != first and FLOOR[t] > FLOOR[first]]
    assert bad == []


def test_lazy_imports_reach_up_only_to_plotting_or_where_allowed():
    bad = [(rel, t) for rel, first, tree in _modules() for top, t in _imports(tree)
           if not top and t in FLOOR and t != first and FLOOR[t] > FLOOR[first]
           and t != "plotting" and (rel, t) not in LAZY_UPWARD_ALLOWED]
    assert bad == []


def test_nothing_below_reports_imports_reports():
    bad = [(rel, t) for rel, first, tree in _modules() for _, t in _imports(tree)
           if t == "reports" and FLOOR[first] < FLOOR["reports"]]
    assert bad == []
