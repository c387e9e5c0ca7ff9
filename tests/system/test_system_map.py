"""System map contract and rendering."""

import copy

import pytest
import yaml

from _support import SAMPLE
from qi_equity.system.system_map import SECTIONS, system_map_html, validate_system_map

GOOD = yaml.safe_load((SAMPLE / "system_maps" / "XQB.yaml").read_text())


def test_samples_valid_and_rendered_with_the_four_questions():
    for p in (SAMPLE / "system_maps").glob("*.yaml"):
        assert validate_system_map(yaml.safe_load(p.read_text())).ok, p.name
    h = system_map_html(GOOD)
    for q in SECTIONS.values():
        assert q in h
    assert GOOD["issue"] in h


@pytest.mark.parametrize("edit,col,rule", [
    (lambda d: d.pop("culture"), "culture", "needs a list of at least one entry"),
    (lambda d: d["people"].append(""), "people[5]", "must be non-empty text"),
    (lambda d: d.update(weather=["rain"]), "weather", "is not a system-map section"),
    (lambda d: d.update(issue=""), "issue", "is required"),
])
def test_errors(edit, col, rule):
    d = copy.deepcopy(GOOD)
    edit(d)
    rep = validate_system_map(d)
    assert any(f.column == col and f.rule.startswith(rule) for f in rep.failures), rep.format()
