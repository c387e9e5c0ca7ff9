"""The provider report's Core20PLUS5 section (qi_equity.reports.core20plus5)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qi_equity.reports import core20plus5 as K
from qi_equity.reports import findings as F
from qi_equity.reports import provider as R
from qi_equity.reports.config import Collaborative

SAMPLE = Path(__file__).resolve().parents[2] / "data_samples"
CENSUS = "2026-03-31"


def _run(code):
    d = R.load_provider(SAMPLE / "providers" / f"{code}.csv", CENSUS)
    found = F.provider_findings(d, CENSUS, str(SAMPLE), code)
    areas = K.areas_in(d)
    rel = R.release(d, None, CENSUS, found, months=12, areas=areas)
    return d, found, areas, rel


@pytest.fixture(scope="module")
def xqf():
    return _run("XQF")


@pytest.fixture(scope="module")
def xqc():
    return _run("XQC")


def test_the_areas_are_found_from_the_extract_itself(xqf):
    # nobody names the areas: they come from the treatment functions the extract holds
    _, _, areas, rel = xqf
    assert areas["area_id"].tolist() == ["chronic_respiratory_disease", "hypertension", "cyp_asthma",
                                         "cyp_oral_health"]
    assert (rel.protected.system.kinds == "area").sum() > 0


def test_the_table_counts_what_the_raw_extract_holds(xqf):
    # counted here straight from the CSV with pandas, not through the kit's derive()
    d, found, areas, rel = xqf
    raw = pd.read_csv(SAMPLE / "providers" / "XQF.csv", dtype={"specialty": str})
    raw = raw[raw["specialty"] == "340"]
    stop = pd.to_datetime(raw["clock_stop_date"])
    first = pd.to_datetime(raw["first_appointment_date"])
    lo, hi = pd.Timestamp("2025-04-01"), pd.Timestamp("2026-03-31")
    done = raw["outcome"].isin(["treated", "removed"]) & stop.between(lo, hi)
    seen = first.between(lo, hi)
    core20 = raw["imd_decile"].isin([1, 2])
    expect = {"All": (done.sum(), seen.sum(), (seen & (raw["dna_count"] > 0)).sum()),
              "Core20": ((done & core20).sum(), (seen & core20).sum(), (seen & core20 & (raw["dna_count"] > 0)).sum()),
              "Not Core20": ((done & ~core20 & raw["imd_decile"].notna()).sum(),
                             (seen & ~core20 & raw["imd_decile"].notna()).sum(), None)}
    a = areas.set_index("area_id").loc["chronic_respiratory_disease"]
    a = a.to_frame().T.assign(area_id="chronic_respiratory_disease").iloc[0]
    t = K.area_table(d, CENSUS, a, rel, 12, K.area_dimensions(found, d), K.plus_flags(found)).data
    rows = t[t["dimension"].isin(["all", "core20"])].set_index("group")
    compared = 0
    for g, (n_done, n_seen, n_dna) in expect.items():
        for col, want in (("completed", n_done), ("dna_denominator", n_seen), ("dna", n_dna)):
            got = rows.loc[g, col]
            if want is not None and not np.isnan(got):  # published (not suppressed)
                assert got == want, (g, col)
                compared += 1
    assert rows.loc["All", "completed"] == expect["All"][0] and compared >= 5
    assert set(t["dimension"]) == {"all", "core20", "learning_disability", "interpreter_needed"}


def test_a_quiet_trust_gets_no_alarm_in_any_area(xqf):
    d, found, areas, rel = xqf
    pub = F.published_findings(found, rel)
    for a in areas.itertuples(index=False):
        text = K.area_text(a, K.area_findings(pub, a, K.area_dimensions(found, d)))
        assert "found no gap and no change in these services" in text
        assert "Across all services" not in text and "\n- " not in text


def test_a_deprived_trusts_areas_carry_its_finding_for_the_core20(xqc):
    # XQC: DNA doubles for the most deprived in every service (planted); the scan finds it for all
    # services together, and each area's text carries it
    d, found, areas, rel = xqc
    pub = F.published_findings(found, rel)
    a = next(areas.itertuples(index=False))
    f = K.area_findings(pub, a, K.area_dimensions(found, d))
    wide = f[f["specialty"] == "all"]
    assert len(wide) and wide["sentence"].str.contains("deprived|Core20").any()
    assert "Across all services together" in K.area_text(a, f)


def test_every_shown_count_is_a_release_cell_and_small_counts_are_hidden(xqc):
    d, found, areas, rel = xqc
    for a in areas.itertuples(index=False):
        pub = K.area_table(d, CENSUS, a, rel, 12, K.area_dimensions(found, d), K.plus_flags(found))
        shown = K.area_display(pub)
        assert set(shown.attrs["cells"]) == {"Completed (12 m)", "First appts", "With a DNA"}
        for col in ("completed", "dna_denominator", "dna"):
            v = pub.data[col].dropna()
            assert not ((v >= 1) & (v < 5)).any()
            assert all(k.split("|")[2] == a.key for k in pub.keys[col])


def test_a_collaborative_may_give_its_own_mapping(tmp_path):
    cfg = (SAMPLE / "collaborative.yaml").read_text()
    base = f"lens_data: {SAMPLE}\npopulation: {SAMPLE / 'population.csv'}\n"
    providers = cfg[cfg.index("providers:"):].replace("extract: providers/", f"extract: {SAMPLE}/providers/")
    good = tmp_path / "map.csv"
    good.write_text("treatment_function_code,treatment_function_name,area_id\n100,General Surgery,early_cancer_diagnosis\n")
    f = tmp_path / "c.yaml"
    f.write_text(f"name: t\ncensus_date: '{CENSUS}'\ncore20plus5_mapping: map.csv\n{base}{providers}")
    c = Collaborative.load(f)
    assert c.core20plus5_mapping == str(good.resolve())
    d = R.load_provider(SAMPLE / "providers" / "XQE.csv", CENSUS)
    assert K.areas_in(d, c.core20plus5_mapping)["area_id"].tolist() == ["early_cancer_diagnosis"]
    good.write_text("treatment_function_code,treatment_function_name,area_id\n100,General Surgery,surgery\n")
    with pytest.raises(ValueError, match=r"(?s)c.yaml: core20plus5_mapping: .*map.csv.*area_id: must be one of"):
        Collaborative.load(f)
