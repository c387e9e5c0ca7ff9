"""Notebooks: committed without outputs; one tagged parameters cell of typed literals, each
commented; thin cells (logic lives in the library)."""

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"provider_report.ipynb", "collaborative_report.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_is_typed_literals_with_comments(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "qi-equity"
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1
    src = "".join(params[0]["source"])
    tree = ast.parse(src)
    assert tree.body
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), ast.dump(node)
        assert isinstance(node.value, ast.Constant)
        assert node.annotation.id in ("str", "int", "float", "bool")
        assert type(node.value.value).__name__ == node.annotation.id
    for line in src.splitlines():
        if line.strip():
            assert "  # " in line, f"parameter without a comment: {line}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_are_thin(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        tree = ast.parse(src)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defs, "define functions in the library, not in notebooks"
        assert len(src.splitlines()) <= 15
