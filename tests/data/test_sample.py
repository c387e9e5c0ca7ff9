"""The bundled sample collaborative: regenerates byte-identically, meets the contract, and
the analyses find every planted inequity (data_samples/ground_truth.json)."""

import filecmp
import json

import pandas as pd
import pytest

from _support import CENSUS, SAMPLE
from qi_equity.data import sample
from qi_equity.data.io import read_raw
from qi_equity.data.validation import validate_extract
from qi_equity.measures import data_quality
from qi_equity.reports import provider as R

GT = json.loads((SAMPLE / "ground_truth.json").read_text())
PLANT = {p["id"]: p for p in GT["planted"]}


def test_regeneration_is_byte_identical(tmp_path):
    sample.generate(tmp_path)
    cmp = filecmp.dircmp(SAMPLE, tmp_path)
    for name in ["collaborative.yaml", "population.csv", "ground_truth.json", "GROUND_TRUTH.md"]:
        assert filecmp.cmp(SAMPLE / name, tmp_path / name, shallow=False), name
    for f in (SAMPLE / "providers").glob("*.csv"):
        assert filecmp.cmp(f, tmp_path / "providers" / f.name, shallow=False), f.name
    assert not cmp.left_only or set(cmp.left_only) <= {"metrics"}


def test_sample_shape_and_contract():
    cfg = pd.read_csv(SAMPLE / "population.csv")
    assert set(cfg.columns) == {"provider_code", "sex", "age_band", "ethnic_group", "imd_decile", "population"}
    files = sorted((SAMPLE / "providers").glob("*.csv"))
    assert 4 <= len(files) <= 6
    for f in files:
        raw = read_raw(f)
        assert 3_000 <= len(raw) <= 50_000
        rep = validate_extract(raw, census_date=CENSUS, source=f.name)
        assert rep.ok, rep.format()


def _points(code, measure, dimension, group, specialty="all"):
    from _support import _sample_derived

    agg = R.monthly(_sample_derived(code), CENSUS)
    res = R.measure_spc(agg, measure, dimension, specialty=specialty, groups=[group])
    return res.points.set_index("date"), res


@pytest.mark.parametrize("pid", ["a", "b"])
def test_planted_shift_is_special_cause_concern_from_its_month(pid):
    p = PLANT[pid]
    pts, _ = _points(p["provider_code"], p["measure"], p["dimension"], p["group"], p["specialty"])
    start = pd.Timestamp(p["start_month"])
    concern = pts["point_type"].astype(str) == "special_cause_concern"
    assert not concern[pts.index < start].any()
    assert concern[pts.index >= start].sum() >= 6
    first = concern[concern].index.min()
    assert start <= first <= start + pd.DateOffset(months=3)


def test_planted_shift_a_is_not_in_working_age_men():
    p = PLANT["a"]
    pts, _ = _points(p["provider_code"], p["measure"], "sex_age", "Male 16-64", p["specialty"])
    assert not (pts["point_type"].astype(str) == "special_cause_concern").any()


def test_planted_improvement_c():
    p = PLANT["c"]
    pts, res = _points(p["provider_code"], p["measure"], p["dimension"], p["group"])
    start = pd.Timestamp(p["start_month"])
    improving = pts["point_type"].astype(str) == "special_cause_improvement"
    assert not improving[pts.index < start].any()
    assert improving[pts.index >= start].sum() >= 6
    assert res.summary["variation"].iloc[0] == "improvement_low"


def test_planted_dna_outlier_d():
    from _support import _sample_derived

    from qi_equity.equity import proportion_ci

    ci = {}
    for code in ["XQA", "XQB", "XQC", "XQD", "XQE"]:
        t = R.measures.equity_table(_sample_derived(code), CENSUS, 12, dimensions=("all",))
        ci[code] = proportion_ci(t["dna"], t["dna_denominator"], confidence=0.998).iloc[0]
    outlier = PLANT["d"]["provider_code"]
    assert all(ci[outlier]["lower"] > c["upper"] for k, c in ci.items() if k != outlier)


def test_planted_poor_ethnicity_recording_e():
    from _support import _sample_derived

    shares = {}
    for code in ["XQA", "XQB", "XQC", "XQD", "XQE"]:
        dq = data_quality(_sample_derived(code)).set_index("measure")
        shares[code] = dq.loc["ethnicity_unrecorded", "percent"] / 100
    assert shares[PLANT["e"]["provider_code"]] == pytest.approx(PLANT["e"]["value"], abs=0.03)
    assert all(v < 0.07 for k, v in shares.items() if k != PLANT["e"]["provider_code"])


def test_planted_outlier_d_on_the_collaborative_funnel(tmp_path):
    from qi_equity.reports import collaborative as CR
    from qi_equity.reports.provider import build_metrics

    build_metrics(SAMPLE / "collaborative.yaml", tmp_path, validate=False)
    res = CR.provider_funnel(CR.load(tmp_path), "dna_rate")
    d = res.data.set_index("group")
    code = PLANT["d"]["provider_code"]
    assert res.summary.iloc[0]["effective_method"] == "overdispersed"
    assert d.index[d["outlier95"]].tolist() == [code] and d.loc[code, "direction"] == "high"
    assert d.loc[code, "value"] > d.loc[code, "upper998"]
