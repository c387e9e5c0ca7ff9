"""Driver diagram contract (errors name their path), tidy frame, drawing."""

import copy

import pytest
import yaml

from _support import SAMPLE
from qi_equity.data.validation import ContractError
from qi_equity.knowledge.driver import driver_frame, load_driver_diagram, plot_driver_diagram, validate_driver_diagram

GOOD = yaml.safe_load((SAMPLE / "driver_diagrams" / "XQB.yaml").read_text())


def test_every_sample_diagram_is_valid():
    for p in (SAMPLE / "driver_diagrams").glob("*.yaml"):
        assert validate_driver_diagram(yaml.safe_load(p.read_text())).ok, p.name


def test_frame_links_every_change_idea_to_a_measure():
    t = driver_frame(GOOD)
    assert t["level"].tolist().count("aim") == 1
    ideas = t[t.level == "change_idea"]
    assert len(ideas) == 5 and ideas["measure"].notna().all()
    assert set(ideas["parent"]) <= set(t[t.level == "secondary"]["id"])


@pytest.mark.parametrize("edit,path,rule", [
    (lambda d: d["aim"].update(measure="joy"), "aim.measure", "must be one of"),
    (lambda d: d["aim"].update(by="next year"), "aim.by", "must be a date YYYY-MM-DD"),
    (lambda d: d["primary_drivers"][1]["secondary_drivers"][0].update(id="S1"),
     "primary_drivers[1].secondary_drivers[0].id", "id 'S1' must be unique"),
    (lambda d: d["primary_drivers"][0]["secondary_drivers"][1]["change_ideas"][0].update(measure=None),
     "primary_drivers[0].secondary_drivers[1].change_ideas[0].measure", "must link to one of"),
    (lambda d: d["primary_drivers"][0].update(secondary_drivers=[]), "primary_drivers[0].secondary_drivers",
     "needs at least one secondary driver"),
    (lambda d: d.pop("aim"), "aim", "is required"),
])
def test_errors_name_the_path_and_rule(edit, path, rule):
    d = copy.deepcopy(GOOD)
    edit(d)
    rep = validate_driver_diagram(d)
    assert any(f.column == path and f.rule.startswith(rule) for f in rep.failures), rep.format()


def test_load_raises_and_plot_has_alt_text(tmp_path):
    bad = copy.deepcopy(GOOD)
    bad["aim"]["measure"] = "joy"
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(bad))
    with pytest.raises(ContractError, match="aim.measure"):
        load_driver_diagram(p)
    fig = plot_driver_diagram(GOOD)
    assert "C5: Ethnicity and deprivation recorded at booking" in fig.qi_alt_text


def test_driver_diagram_fits_in_its_figure():
    from _support import SAMPLE, assert_text_inside_figure

    assert_text_inside_figure(plot_driver_diagram(load_driver_diagram(SAMPLE / "driver_diagrams" / "XQB.yaml")))


def test_an_aim_may_be_a_group_or_a_gap_and_says_what_it_needs():
    from qi_equity.knowledge.driver import validate_driver_diagram

    d = {"provider_code": "XQC", "aim": {"statement": "Halve the DNA gap between IMD Q1 and Q5", "measure": "dna_rate",
                                         "target": 4, "by": "2027-03-31", "dimension": "imd_quintile",
                                         "group": "Q1 most deprived", "reference_group": "Q5 least deprived"},
         "primary_drivers": [{"id": "P1", "statement": "Access", "secondary_drivers": [
             {"id": "S1", "statement": "Times", "change_ideas": [{"id": "C1", "statement": "Evening clinics",
                                                                   "measure": "dna_rate"}]}]}]}
    assert validate_driver_diagram(d).ok
    no_dim = {**d, "aim": {k: v for k, v in d["aim"].items() if k != "dimension"}}
    assert [(f.column, f.rule) for f in validate_driver_diagram(no_dim).failures] == [("aim.group", "needs aim.dimension")]
    no_group = {**d, "aim": {k: v for k, v in d["aim"].items() if k != "group"}}
    assert ("aim.reference_group", "needs aim.group") in [(f.column, f.rule) for f in validate_driver_diagram(no_group).failures]
