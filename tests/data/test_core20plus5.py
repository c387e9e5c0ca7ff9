"""Core20PLUS5's clinical areas as data, and the treatment-function mapping (qi_equity.data.core20plus5)."""

import pandas as pd
import pytest

from qi_equity.data import core20plus5 as C5
from qi_equity.data.validation import ContractError


def test_the_ten_areas_are_nhs_englands():
    # NHS England's lists (adults, November 2021; children and young people, 2023), checked by hand
    a = C5.areas()
    adults = a[a["cohort"] == "adults"]["name"].tolist()
    cyp = a[a["cohort"] == "children_and_young_people"]["name"].tolist()
    assert adults == ["Maternity", "Severe mental illness", "Chronic respiratory disease", "Early cancer diagnosis",
                      "Hypertension case-finding"]
    assert cyp == ["Asthma", "Diabetes", "Epilepsy", "Oral health", "Mental health"]
    assert a["area_id"].is_unique
    assert a["source_url"].str.startswith("https://www.england.nhs.uk/").all()
    assert a["focus"].str.len().between(20, 160).all()


def test_the_default_mapping_is_valid_and_covers_every_area():
    m = C5.load_mapping()
    assert set(m["area_id"]) == set(C5.areas()["area_id"])
    assert m["treatment_function_code"].str.fullmatch(r"\d{3}").all() and m["treatment_function_code"].is_unique
    # children's areas map only to services for children (NHS Data Dictionary paediatric codes)
    cyp = m[m["area_id"].str.startswith("cyp_")]["treatment_function_name"]
    assert cyp.str.contains("Paediatric|Child").all()
    # hand-checked codes (NHS Data Dictionary treatment function codes)
    by = dict(zip(m["treatment_function_code"], m["area_id"]))
    assert by["340"] == "chronic_respiratory_disease" and by["320"] == "hypertension" and by["501"] == "maternity"
    assert by["258"] == "cyp_asthma" and by["263"] == "cyp_diabetes" and by["711"] == "cyp_mental_health"


@pytest.mark.parametrize("rows, column, rule", [
    ([("340", "Respiratory Medicine", "chronic_respiratory_disease"), ("340", "Again", "hypertension")],
     "treatment_function_code", "must appear once"),
    ([("34", "Respiratory Medicine", "chronic_respiratory_disease")], "treatment_function_code", "three-digit"),
    ([("340", "Respiratory Medicine", "copd")], "area_id", "must be one of"),
    ([("340", "", "chronic_respiratory_disease")], "treatment_function_name", "must not be empty"),
])
def test_a_bad_mapping_is_refused_naming_file_column_rule_and_rows(tmp_path, rows, column, rule):
    f = tmp_path / "my_mapping.csv"
    pd.DataFrame(rows, columns=C5.MAPPING_COLUMNS).to_csv(f, index=False)
    with pytest.raises(ContractError) as e:
        C5.load_mapping(f)
    msg = str(e.value)
    assert "my_mapping.csv" in msg and column in msg and rule in msg
    assert ("2 of 2 rows" in msg) if "once" in rule else ("1 of 1 row" in msg)


def test_a_mapping_without_its_columns_or_file_is_refused(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("code,area\n340,chronic_respiratory_disease\n")
    with pytest.raises(ContractError, match="treatment_function_code.*required column is missing"):
        C5.load_mapping(f)
    with pytest.raises(ValueError, match="no such file"):
        C5.load_mapping(tmp_path / "none.csv")


def test_a_collaborative_mapping_can_add_a_service():
    m = pd.concat([C5.load_mapping(), pd.DataFrame([("100", "General Surgery", "early_cancer_diagnosis")],
                                                   columns=C5.MAPPING_COLUMNS)])
    spec = pd.Series(["100", "100", "110", "503", "340", "999"])
    p = C5.areas_present(spec, m).set_index("area_id")
    assert list(p.index) == ["chronic_respiratory_disease", "early_cancer_diagnosis"]
    assert p.loc["early_cancer_diagnosis", "codes"] == ["100", "503"] and p.loc["early_cancer_diagnosis", "pathways"] == 3
    assert p.loc["early_cancer_diagnosis", "key"] == "c20p5:early_cancer_diagnosis:100+503"
    assert p.loc["early_cancer_diagnosis", "code_names"] == "100 General Surgery; 503 Gynaecological Oncology"


def test_area_keys_round_trip():
    k = C5.area_key("cyp_epilepsy", ["421", "223"])
    assert k == "c20p5:cyp_epilepsy:223+421"
    assert C5.parse_area_key(k) == ("cyp_epilepsy", ["223", "421"])
    assert C5.parse_area_key("110") is None and C5.parse_area_key("all") is None
