"""The bundled sample collaborative: regenerates byte-identically, meets the contract, and its
generator plants what ground_truth.json says. (That the kit *finds* every planted effect by
scanning, and nothing at the clean provider, is tests/findings/test_ground_truth.py.)"""

import filecmp
import json

import pandas as pd
import pytest

from _support import CENSUS, PROVIDERS, SAMPLE
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
    assert 3 <= len(files) <= 10  # a provider collaborative has 3-10 trusts
    for f in files:
        raw = read_raw(f)
        assert 3_000 <= len(raw) <= 50_000
        rep = validate_extract(raw, census_date=CENSUS, source=f.name)
        assert rep.ok, rep.format()


def test_generator_plants_the_dna_outlier_d():
    from _support import _sample_derived

    from qi_equity.equity import proportion_ci

    ci = {}
    for code in PROVIDERS:
        t = R.measures.equity_table(_sample_derived(code), CENSUS, 12, dimensions=("all",))
        ci[code] = proportion_ci(t["dna"], t["dna_denominator"], confidence=0.998).iloc[0]
    outlier = PLANT["d"]["provider_code"]
    assert all(ci[outlier]["lower"] > c["upper"] for k, c in ci.items() if k != outlier)


def test_generator_plants_poor_ethnicity_recording_e():
    from _support import _sample_derived

    shares = {}
    for code in PROVIDERS:
        dq = data_quality(_sample_derived(code)).set_index("measure")
        shares[code] = dq.loc["ethnicity_unrecorded", "percent"] / 100
    assert shares[PLANT["e"]["provider_code"]] == pytest.approx(PLANT["e"]["value"], abs=0.03)
    assert all(v < 0.07 for k, v in shares.items() if k != PLANT["e"]["provider_code"])


def test_the_sample_lens_logs_meet_their_contracts():
    from qi_equity.assessment.nasss import NASSS_COLUMNS, load_nasss
    from qi_equity.knowledge.actions import ACTION_COLUMNS, load_actions

    assert list(sample.action_log().columns) == ACTION_COLUMNS
    assert list(sample.nasss().columns) == NASSS_COLUMNS
    assert len(load_actions(SAMPLE / "action_log.csv")) == len(sample.ACTIONS)
    assert len(load_nasss(SAMPLE / "nasss.csv")) == len(sample.NASSS_ROWS)
